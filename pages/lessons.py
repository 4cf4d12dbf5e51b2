"""Lessons: short readings from `lessons/`, each with one-click presets that check its claims on a real model."""

import urllib.parse

import streamlit as st

from pages import session, widgets
from rnnlab.lessons import all_lessons

lessons = all_lessons()
if not lessons:
    st.info("No lessons found in the `lessons/` folder.")
    st.stop()
by_name = {lesson.name: lesson for lesson in lessons}
chosen = by_name[st.sidebar.radio("Lesson", list(by_name), format_func=lambda name: by_name[name].title,
                                  key="lessons_chosen")]

for number, block in enumerate(chosen.blocks):
    if block.kind == "markdown":
        st.markdown(block.text)
    elif block.kind == "math":
        st.latex(block.text)
    elif block.kind == "try":
        columns = st.columns([3, 2])
        if columns[0].button(f"▶ Try it: {block.label}", key=f"lessons_try_{chosen.name}_{number}",
                             width="stretch"):
            widgets.open_preset(block.config)
        page = widgets.preset_page(block.config)
        columns[1].caption(f"Share as a link: {session.link_to(page, dict(urllib.parse.parse_qsl(block.query)), here='lessons')}")
