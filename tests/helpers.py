"""Small builders the tests share: records made by hand, so every expected word or number follows from them; and
the app served as a learner starts it, for the browser tests."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.records import RunRecord


def fake_record(cell="lstm", first=1e-8, later=(1e-6, 0.2), val_loss=(0.15, 0.01), baseline=0.155, steps=50):
    """A record of an adding run whose bottom-layer curve falls geometrically to `first` (then `later`) at step 1."""
    record = RunRecord(RunConfig(task="adding", cell=cell, seq_len=steps, epochs=len(later)))
    layer = f"{cell}_1"
    record.grad_norms_at_init = {layer: {"forward": np.geomspace(first, 1.0, steps)}}
    record.grad_norms = [{layer: {"forward": np.geomspace(ratio, 1.0, steps)}} for ratio in later]
    record.history = {"loss": list(val_loss), "val_loss": list(val_loss)}
    record.baseline_loss = baseline
    record.status = "finished"
    return record


# --- Runs as the app keeps them: in the lab's store, under a learner's token ---------------------------------------

_LEARNERS: dict[tuple[str, ...], str] = {}


def learner_with(jobs) -> str:
    """A learner whose runs are these ended jobs, saved as the web server saves runs (rows, epochs, `.keras`
    models), so a page reads them back through the store exactly as after a reload. A run belongs to one learner:
    the same jobs again give the same learner."""
    from rnnlab.lab import get_lab
    from rnnlab.saving import save_model

    key = tuple(job.run_id for job in jobs)
    if key and key in _LEARNERS:
        return _LEARNERS[key]
    store = get_lab().store
    token = store.new_learner().token
    _LEARNERS[key] = token
    for job in jobs:
        assert job.done, f"{job.record.name} has not ended"
        store.save_run(token, job.record)
        for epoch in range(1, job.record.epochs_done + 1):
            store.save_epoch(job.record, epoch)
        if job.model is not None and job.dataset is not None:
            save_model(job.model, job.dataset, store.model_path(job.run_id))
    return token


def lab_runs(at) -> dict:
    """The runs of the learner an AppTest session belongs to, as its pages see them."""
    from rnnlab.lab import get_lab

    return get_lab().runs(at.session_state["learner"])


def finish_runs(at, timeout: float = 120):
    """Wait for every run of the AppTest session's learner to end, then rerun the page."""
    for handle in lab_runs(at).values():
        assert handle.join(timeout), f"{handle.record.name} did not end within {timeout} s"
    return at.run()


# --- The app served as a learner starts it (the browser tests) -----------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts (../shared/FACTS.md).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


ARTIFACTS = ROOT / "tests" / "artifacts"


def screenshot(page, name: str, seconds: float = 20) -> None:
    """Save a full-page screenshot to tests/artifacts/`name`.png for a person to look at. The picture is never what
    a test checks: on a machine so busy that the tab cannot paint within `seconds` (a Plotly animation playing on
    two shared cores), it is skipped with a warning, so it can neither fail a test nor hide the error a failing
    test is reporting."""
    import warnings

    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=seconds * 1000)
    except Exception as error:  # Playwright's TimeoutError, or a page already closed
        warnings.warn(f"screenshot {name}.png not saved: {str(error).splitlines()[0]}", stacklevel=2)


# Each served app's output (Streamlit's log, an uncaught page error's traceback, the workers' start), by its address.
SERVER_LOGS: dict[str, Path] = {}


def what_the_pages_showed(url: str, pages: dict, lines: int = 40) -> str:
    """For a failing browser test's message: what each tab's page said and the end of the server's log (on CI the
    artifacts are not kept, so this is all a failure leaves to read)."""
    parts = []
    for name, page in pages.items():
        try:
            text = page.locator("body").inner_text(timeout=5_000)
        except Exception as error:  # a tab closed or crashed
            text = f"(unreadable: {str(error).splitlines()[0]})"
        parts.append(f"--- {name}'s page at {page.url}:\n{text[:1500]}")
    log = SERVER_LOGS.get(url)
    if log is not None and log.exists():
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- the last {len(tail)} lines of {log.name}:\n" + "\n".join(tail))
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve(home: str | None = None, **environment: str):
    """The app served as a teacher starts it (README: `python serve.py`), on a free port: its own run
    store (`home`, a new folder unless given: a restart passes the same one), and the default engine, Dask worker
    processes, unless `environment` says otherwise."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RNNLAB_")}
    env.update(RNNLAB_HOME=home or tempfile.mkdtemp(prefix="rnnlab-browser-"), **environment)
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    SERVER_LOGS[url] = log_path = ARTIFACTS / f"server-{port}.log"  # what the server printed, for a failing test
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port),
             "--server.address", "127.0.0.1"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("streamlit did not start within 60 s\n" + what_the_pages_showed(url, {}))
            time.sleep(0.5)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)  # the server closes its worker processes on the way out
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
