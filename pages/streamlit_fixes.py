"""A fix to Streamlit that app.py applies before any page draws: keep Keras's state across reruns.

After every script run, fragments included, Streamlit calls `keras.backend.clear_session()` (`_clean_problem_modules`
in its script runner; there is no setting for it). That resets Keras's global state while models are in use, and
forces a full garbage collection of TensorFlow's heap, up to 0.35 s with the GIL held, at every poll of a training
run: measured here, it halved the training speed of a run the page was watching (benchmarks/bench_app.py). This app
keeps each model in its learner's session, so there is nothing for Streamlit to clear; Matplotlib figures are still
closed as before.

The hook is private to Streamlit. If an upgrade removes or renames it, `keep_keras_state` refuses to start the app
with a sentence saying so, instead of silently doing nothing (and leaving every watched run at half speed).
"""

import sys

from streamlit.runtime.scriptrunner import script_runner

HOOK = "_clean_problem_modules"


def _clean_problem_modules_but_keras() -> None:
    """Streamlit's after-run clean-up without `keras.backend.clear_session()` (see the module docstring)."""
    if "matplotlib.pyplot" in sys.modules:
        try:
            sys.modules["matplotlib.pyplot"].close("all")
        except Exception:  # noqa: BLE001 - as Streamlit's own clean-up, never fail a page over it
            pass


def keep_keras_state() -> None:
    """Replace Streamlit's after-run clean-up; a clear start-up error if the hook it replaces is gone."""
    current = getattr(script_runner, HOOK, None)
    if current is None or not callable(current):
        import streamlit

        raise RuntimeError(
            f"RNN Lab cannot start: Streamlit {streamlit.__version__} has no "
            f"streamlit.runtime.scriptrunner.script_runner.{HOOK}, the clean-up RNN Lab replaces so that Keras's "
            "state survives reruns (pages/streamlit_fixes.py). Install the Streamlit version in requirements.txt, "
            "or update this fix for the new version.")
    setattr(script_runner, HOOK, _clean_problem_modules_but_keras)
