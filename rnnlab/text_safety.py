"""Learner-written text drawn as text: escaped for Markdown (st.markdown, st.table, st.subheader all render it) and
for Plotly's hover labels (which take a subset of HTML), so a name such as `![](https://host/p.png)` or
`[Sign in](https://host)` shows as those characters on a teacher's projector, never as an image or a link.

    >>> markdown_literal("[Sign in](https://host)")
    '\\\\[Sign in\\\\]\\\\(https\\\\:\\\\/\\\\/host\\\\)'
    >>> hover_literal("<a href='x'>me</a>")
    '&lt;a href=&#x27;x&#x27;&gt;me&lt;/a&gt;'
"""

from __future__ import annotations

import html
import re
import string

# CommonMark lets a backslash escape any ASCII punctuation and then shows the character itself; escaping all of it
# also breaks GitHub-style bare links ("https://..."), raw HTML ("<img ...>") and Streamlit's ":material/...:" and
# colour directives, whose markers are all punctuation.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def markdown_literal(text: object) -> str:
    """`text` as Markdown that renders exactly those characters (line breaks become spaces: one cell, one line)."""
    flat = " ".join(str(text).split())
    return _PUNCTUATION.sub(r"\\\1", flat)


def hover_literal(text: object) -> str:
    """`text` for a Plotly hover label or trace name: tags of Plotly's HTML subset (<b>, <br>, <a href=...>) show
    as characters; Plotly turns the entities back into the characters themselves."""
    return html.escape(" ".join(str(text).split()), quote=True)
