"""Shared test settings: quiet TensorFlow, and the smallest configurations that still exercise a feature."""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Pages tested in this process train on threads (quick to start); tests/test_engine.py starts Dask workers itself, and
# the browser tests serve the app as a user would, with its default Dask engine.
os.environ["RNNLAB_WORKERS"] = "0"
# The run store of this test session: never the user's ~/.rnnlab.
os.environ["RNNLAB_HOME"] = tempfile.mkdtemp(prefix="rnnlab-tests-")

import pytest  # noqa: E402

from rnnlab.config import RunConfig  # noqa: E402


# pytest's own entry point, captured before any test (or module-scoped fixture) runs a page through AppTest.
_REAL_MAIN = sys.modules.get("__main__")


@pytest.fixture(autouse=True)
def keep_main_module():
    """Streamlit's AppTest runs a page as `__main__` and leaves it there; a process started afterwards with the
    "spawn" method (the store's writers, Dask's workers) would re-run that page. Put the real `__main__` back, before
    the test (a module-scoped fixture may have run a page) and after it."""
    sys.modules["__main__"] = _REAL_MAIN
    yield
    sys.modules["__main__"] = _REAL_MAIN


@pytest.fixture(autouse=True)
def unconfined_after():
    """A page run through AppTest confines file settings as the web server does (`files.confine`, set at each
    `get_lab()`); the next test reads paths as the command line does unless it opens a page again."""
    yield
    from rnnlab.data import files

    files.unconfine()


@pytest.fixture
def tiny_config() -> RunConfig:
    """A run that trains in about a second: the point is the plumbing, not the learning."""
    return RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=2, batch_size=16)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, for Keras's downloader and for `imdb.keras_cache_path`, and no local-file setting."""
    import keras
    from rnnlab.data import imdb

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(home))  # read once when Keras was imported
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    return home
