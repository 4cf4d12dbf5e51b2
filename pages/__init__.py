"""The dashboard's pages (one short script each) and their shared helpers: session.py, widgets.py, progress.py,
streamlit_fixes.py.

Every page imports this package first, so the code below runs once per server process, before any page draws.

Deep links. Streamlit treats a folder named `pages/` beside the main script as an old-style multipage app until the
main script calls `st.navigation`. On a freshly started server, a first visitor who follows a deep link (a teacher's
`.../runs?...`) would have that page run on its own, without app.py, with every module here listed as a page. The
first such run switches Streamlit to app.py's navigation and reruns; app.py then opens the same page, because each
page's URL path is its file name. (Keras's state across reruns is app.py's business: see streamlit_fixes.py.)

Why this cannot go (checked with Streamlit 1.67): Streamlit decides once per server, when the first session starts,
that an app with a `pages/` folder is an old-style one (`PagesManager.uses_pages_directory`, pages_manager.py), and
until some script calls `st.navigation` it runs the page the address names in place of app.py (`_mpa_v1`,
script_runner.py). No option turns that off, and nothing of ours runs earlier than the deep-linked page itself, whose
first import is this package. Without it, `/runs?learner=…` on a fresh server opened Compare runs on its own, with
every module here listed as a page (tests/test_browser.py's deep-link tests). Renaming the folder would end it, but
`pages/` is the app's documented layout.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
