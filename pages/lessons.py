"""Lessons: short readings from `lessons/`, each with one-click presets that check its claims on a real model."""

import re
from pathlib import Path

import streamlit as st

from pages import widgets
from rnnlab.config import from_link

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
# A preset in a lesson is a fenced block: ```try, a label line, a query line (as in a shareable link), ```.
TRY_BLOCK = re.compile(r"```try\n(?P<label>[^\n]+)\n(?P<query>[^\n]+)\n```")


def lesson_title(path: Path) -> str:
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    return first.lstrip("# ").strip()


paths = sorted(LESSONS.glob("*.md"))
if not paths:
    st.info("No lessons found in the `lessons/` folder.")
    st.stop()
chosen = st.sidebar.radio("Lesson", paths, format_func=lesson_title, key="lessons_chosen")
text = chosen.read_text(encoding="utf-8")

position = 0
for number, match in enumerate(TRY_BLOCK.finditer(text)):
    st.markdown(text[position:match.start()])
    config = from_link(match["query"])
    columns = st.columns([3, 2])
    if columns[0].button(f"▶ Try it: {match['label']}", key=f"lessons_try_{chosen.stem}_{number}",
                         width="stretch"):
        widgets.open_in_build_train(config)
    columns[1].caption(f"Share as a link: `?{match['query']}`")
    position = match.end()
st.markdown(text[position:])
