"""The app served for a benchmark as a teacher would start it (`python serve.py`: the training
engine starts with the server), and Chromium's flags.

    server, url = serve({"RNNLAB_WORKERS": "0"})   # a free port, a run store of its own, these settings
    ...
    stop(server)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Headless Chromium as this machine runs it (../shared/FACTS.md; the same as tests/test_browser.py).
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def add_settings_option(parser) -> None:
    """`--set RNNLAB_VARIABLE=VALUE` (repeatable) on a benchmark's command line: a setting for the served app."""
    parser.add_argument("--set", action="append", default=[], metavar="RNNLAB_VARIABLE=VALUE",
                        help="a setting for the served app, to compare (e.g. RNNLAB_WORKER_TF_THREADS=2); repeatable")


def chosen_settings(parser, arguments, base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` with every `--set` of `arguments` on top; a bad one ends the benchmark with argparse's message."""
    chosen = dict(base or {})
    for setting in arguments.set:
        variable, _, value = setting.partition("=")
        if not variable.startswith("RNNLAB_") or not value:
            parser.error(f"--set takes RNNLAB_VARIABLE=VALUE, not {setting!r}")
        chosen[variable] = value
    return chosen


def serve(settings: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start the app on a free port with its own RNNLAB_HOME (unless `settings` names one) and the environment's
    other RNNLAB_ settings replaced by `settings`; wait until it answers its health check."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("RNNLAB_")}
    environment.update(RNNLAB_HOME=tempfile.mkdtemp(prefix="rnnlab-bench-"), TF_CPP_MIN_LOG_LEVEL="2")
    environment.update(settings or {})
    server = subprocess.Popen([sys.executable, "serve.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1"], cwd=ROOT, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("The app did not start within two minutes.")


def stop(server: subprocess.Popen) -> None:
    """End the app (it closes its worker processes on the way out)."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
