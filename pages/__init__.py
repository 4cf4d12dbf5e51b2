"""The dashboard's pages (one short script each) and their shared helpers: session.py, widgets.py, progress.py.

Every page imports this package first, so the code below runs once per server process, before any page draws.

1. Keep Keras's state across reruns. After every script run, fragments included, Streamlit calls
   `keras.backend.clear_session()` (`_clean_problem_modules` in its script runner; there is no setting for it).
   That resets Keras's global state while learners' models train on other threads, and forces a full garbage
   collection of TensorFlow's heap, up to 0.35 s with the GIL held, at every poll of a training run: measured
   here, it halved the training speed of a run the page was watching (benchmarks/bench_app.py). This app keeps
   each model in its learner's session, so there is nothing for Streamlit to clear; Matplotlib figures are still
   closed as before.
2. Deep links. Streamlit treats a folder named `pages/` beside the main script as an old-style multipage app
   until the main script calls `st.navigation`. On a freshly started server, a first visitor who follows a deep
   link (a teacher's `.../runs?...`) would have that page run on its own, without app.py, with every module here
   listed as a page. The first such run switches Streamlit to app.py's navigation and reruns; app.py then opens
   the same page, because each page's URL path is its file name.
"""

import sys

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner


def _clean_problem_modules_but_keras() -> None:
    """Streamlit's after-run clean-up without `keras.backend.clear_session()` (see the module docstring)."""
    if "matplotlib.pyplot" in sys.modules:
        try:
            sys.modules["matplotlib.pyplot"].close("all")
        except Exception:  # noqa: BLE001 - as Streamlit's own clean-up, never fail a page over it
            pass


script_runner._clean_problem_modules = _clean_problem_modules_but_keras

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
