"""Shared test settings: quiet TensorFlow, and the smallest configurations that still exercise a feature."""

import contextlib
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


# --- One served app and one Chromium for every browser test that can share them ------------------------------------
# Each served app starts Streamlit, imports TensorFlow on its first page and starts its Dask workers (which import
# TensorFlow again): about half a minute on two cores, more under load. Every browser test that needs no fresh server
# uses this one (`server`); the tests that start their own say why. A test on the shared server makes its own learner
# (a new browser context), so runs never mix. The server ends after the last test that uses it, not at the end of
# the session: its workers would otherwise hold memory and cores through the rest of the suite.

_SHARED_CLOSERS: list = []


class ServedApp:
    """The shared server's address and its run store's folder (a test may write runs there for the server to read)."""

    def __init__(self, url: str, home: str):
        self.url, self.home = url, home


@pytest.fixture(scope="session")
def shared_app():
    from helpers import serve

    home = tempfile.mkdtemp(prefix="rnnlab-browser-shared-")
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve(home))
    _SHARED_CLOSERS.append(stack.close)
    yield ServedApp(url, home)
    stack.close()


@pytest.fixture(scope="session")
def server(shared_app) -> str:
    return shared_app.url


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python driver is not installed")
    from helpers import CHROMIUM, CHROMIUM_FLAGS

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    stack = contextlib.ExitStack()
    playwright = stack.enter_context(playwright_api.sync_playwright())
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    stack.callback(chromium.close)
    _SHARED_CLOSERS.append(stack.close)
    yield chromium
    stack.close()


# Modules whose tests share what they train (a cache of ended trainers kept by the module: lesson 10's sweep and its
# quiz train the same runs): each runs in one pytest-xdist process, so a run is trained once, not once a process.
SHARED_TRAINING_MODULES = ("test_lesson_claims.py",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Every test that uses the shared server or Chromium goes to one pytest-xdist process (`--dist loadgroup`),
    so the suite's second process never starts a second served app and browser, and the served app's tests run in
    the order they are written; each module of `SHARED_TRAINING_MODULES` goes to one process too."""
    for item in items:
        if item.get_closest_marker("browser") or {"shared_app", "server", "browser"} & set(
                getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif item.path.name in SHARED_TRAINING_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))


def pytest_collection_finish(session):
    """Remember the last selected test that uses the shared server or Chromium, to end them right after it; and,
    in a pytest-xdist process, refuse to run if the groups did not reach the test ids, which is how pytest-xdist
    sends a group to one process: with pytest 9.2 and pytest-xdist 3.8 they silently did not, and both processes
    started their own served app and Chromium on the same two cores (slower, and a browser test timed out)."""
    if getattr(session.config.option, "loadgroup", False):  # set in a pytest-xdist process under --dist loadgroup
        ungrouped = [item.nodeid for item in session.items
                     if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if ungrouped:
            raise pytest.UsageError(f"pytest-xdist did not group {ungrouped[0]} (and {len(ungrouped) - 1} more): "
                                    "use the pytest and pytest-xdist versions requirements.txt pins")
    users = [item for item in session.items if {"shared_app", "browser"} & set(getattr(item, "fixturenames", ()))]
    session.config._rnnlab_last_browser_test = users[-1].nodeid if users else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if item.nodeid == getattr(item.config, "_rnnlab_last_browser_test", None):
        while _SHARED_CLOSERS:  # ExitStack.close runs once: the fixtures' own close at the end is then a no-op
            _SHARED_CLOSERS.pop()()
