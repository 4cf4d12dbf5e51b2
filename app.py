"""RNN Lab: the dashboard's entry point. Run it with `streamlit run app.py`.

Sets up the navigation over `pages/` and opens on Build & Train, ready to press Train. Each page is a short
script of layout and widgets; all model work happens in the `rnnlab` package. A page's URL path is its file
name (`/imdb`, `/runs`, `/classroom`), which pages/__init__.py relies on for deep links. (Not `url_path`: with
Streamlit 1.67 a page given one opened Build & Train when its address was typed or reloaded.)
"""

import streamlit as st

from pages import session, streamlit_fixes
from rnnlab.lab import get_lab

# First of all (issue 19): the training engine starts its workers now, in the background, before the page imports
# TensorFlow for itself (2.5-4 s on two cores, which the workers' start used to wait behind).
get_lab()
streamlit_fixes.keep_keras_state()  # before any page runs: a clear error if this Streamlit lacks the hook
st.set_page_config(page_title="RNN Lab", page_icon=":material/cycle:", layout="wide")

pages = {
    "Train": [
        st.Page("pages/build_train.py", title="Build & Train", icon=":material/model_training:", default=True),
        st.Page("pages/runs.py", title="Compare runs", icon=":material/compare_arrows:"),
        st.Page("pages/imdb.py", title="IMDB sentiment", icon=":material/reviews:"),
        st.Page("pages/next_word.py", title="Next word", icon=":material/edit_note:"),
    ],
    "Look inside": [
        st.Page("pages/inside_cell.py", title="Inside the cell", icon=":material/memory:"),
        st.Page("pages/gradients.py", title="Gradients through time", icon=":material/trending_down:"),
    ],
    "Learn": [
        st.Page("pages/lessons.py", title="Lessons", icon=":material/menu_book:"),
        st.Page("pages/classroom.py", title="Class", icon=":material/groups:"),
    ],
}
page = st.navigation(pages)
session.you_box(here=page.url_path)  # the learner's name and own link, in every page's sidebar
page.run()
