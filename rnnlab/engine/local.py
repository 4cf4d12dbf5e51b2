"""The local cluster, hosted in a process of its own that the Dask engine starts and that dies with it.

    host = LocalClusterHost.start(n_workers=1, memory_limit=9_600_000_000)   # returns once its worker is up
    Client(host.address) ...
    host.scale(3)                                   # two more workers, started in the background
    host.close()

Why not a `LocalCluster` inside the web server: Streamlit runs every page as a module called `__main__` whose
`__file__` is the page, and multiprocessing's "spawn" (how Dask's nannies start workers) re-runs the `__main__`
file in each new process. Every worker would run a page, import Streamlit and try to start a cluster of its own.
Here the nannies and the scheduler live in `python -m rnnlab.engine.local`, whose `__main__` is this module, so
workers start clean. It also keeps the scheduler's and nannies' event loops (the memory monitor polls every
100 ms) off the web server's GIL.

The host prints one line of JSON on stdout once its workers are up ({"address": ...} or {"error": ...}), then
reads stdin line by line: a line `{"scale": n}` asks for n workers (the engine starts one worker first, so the
first learner's run can train while the others import TensorFlow, then asks for the rest once that worker is warm
or as soon as a second run waits: issue 19). The engine keeps that pipe open; when the engine closes it, or the web
server dies however abruptly, the read ends, the host closes the cluster and exits, and the workers (who watch
their nanny) exit too.

Dask settings (`LOCAL_DASK_CONFIG`, set for the whole host, so restarted workers get them too):
`allowed-failures` 0 (a run whose worker died is not retried on another); spilling, pausing and the memory target
off (a run's memory is TensorFlow's, not Dask data, and a paused worker would hold its queue forever); the nanny
ends a worker past 95% of its memory limit; Dask's event and message logs keep 100 entries, not 1,000, since
progress events carry probe arrays; Dask's sampling profiler is off in the workers (it slowed small runs ~15%).

Workers are forked from a forkserver that has imported TensorFlow (issue 19). With "spawn", each new worker (and
each one the nanny restarts after a crash) started a fresh interpreter and imported Dask, TensorFlow, Keras and the
trainer, about 4 s of a core each, and workers 2 and 3 began only once the first was warm: on the two-core machine
(load 1.3-2.8, no browser) every worker was warm 9.6-12.9 s after the engine was made, the cluster's processes
having used 12.9-14.1 s of CPU. Here the host starts the forkserver first thing (`start_forkserver`), so it imports
`WORKER_PRELOAD` while the host imports Dask and starts the scheduler, and every worker is a fork of it with nothing
left to import: every worker warm 4.4-5.5 s after the engine was made, 4.9-5.6 s of CPU in all. Safe because
the forkserver only imports: TensorFlow makes its thread pools and its eager context at its first operation, not
at import (checked in tests/test_first_minutes.py: the forkserver's children set TensorFlow's thread pools, which
fails once an operation has run, and train the same losses as a run in this process). A module that fails to
import in the forkserver is skipped by multiprocessing, and the worker imports it in `WarmWorker.setup` as before.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

LOCAL_DASK_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": 0.95,
    "distributed.admin.low-level-log-length": 100,
    # Dask's sampling profiler walks every thread's stack 100 times a second; on the app's small models (Python
    # work between short TensorFlow calls) switching it off made runs ~15% faster (8,023 against 6,958
    # sequences/s, four runs each, taking turns).
    "distributed.worker.profile.enabled": False,
}
# How the host's nannies start workers: forks of a forkserver that imported `WORKER_PRELOAD` (see the docstring).
# Not in LOCAL_DASK_CONFIG, which holds the settings a cluster given by address needs too (tests/test_cluster.py).
HOST_DASK_CONFIG = {"distributed.worker.multiprocessing-method": "forkserver"}
# What a worker imports anyway (WarmWorker.setup, train_in_worker): imported once, in the forkserver.
WORKER_PRELOAD = ["distributed", "tensorflow", "keras", "rnnlab.training", "rnnlab.introspect.gates",
                  "rnnlab.introspect.gradients", "rnnlab.engine.worker", "rnnlab.engine.warm_graphs"]


class LocalClusterHost:
    """The process hosting the local cluster; see the module docstring."""

    def __init__(self, process: subprocess.Popen, address: str) -> None:
        self.process = process
        self.address = address

    @classmethod
    def start(cls, n_workers: int, memory_limit: int, timeout: float = 120.0) -> "LocalClusterHost":
        """Start the host and wait (at most `timeout` seconds) until its workers are up; raise `RuntimeError` if
        they do not come up."""
        package_root = str(Path(__file__).resolve().parents[2])
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [package_root, *[entry for entry in sys.path if entry and os.path.isdir(entry)]])
        settings = json.dumps({"n_workers": n_workers, "memory_limit": memory_limit})
        process = subprocess.Popen([sys.executable, "-m", "rnnlab.engine.local", settings], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, env=environment, start_new_session=False)
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else b""
        try:
            answer = json.loads(line or b"{}")
        except json.JSONDecodeError:
            answer = {}
        if "address" not in answer:
            cls._end(process)
            raise RuntimeError(answer.get("error") or f"the local cluster did not start within {timeout:.0f} s")
        process.stdout.close()  # nothing more comes this way: the host sends later output to stderr
        return cls(process, answer["address"])

    def scale(self, n_workers: int) -> None:
        """Ask the host for `n_workers` workers in all; returns at once (the new workers start in the background).
        Raises `OSError` if the host has gone."""
        self.process.stdin.write(json.dumps({"scale": int(n_workers)}).encode() + b"\n")
        self.process.stdin.flush()

    def close(self, timeout: float = 30.0) -> None:
        """Ask the host to close the cluster (by closing its stdin) and wait for it; kill it if it does not exit."""
        self._end(self.process, timeout)

    @staticmethod
    def _end(process: subprocess.Popen, timeout: float = 30.0) -> None:
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def start_forkserver() -> None:
    """Start this process's forkserver now, importing `WORKER_PRELOAD`; returns at once (it imports in its own
    process). Dask's nanny sets its own preload list when it starts the first worker (`get_mp_context`), but a
    forkserver already running keeps the modules it was started with."""
    import multiprocessing
    import multiprocessing.forkserver

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by the forkserver and every worker
    multiprocessing.get_context("forkserver").set_forkserver_preload(WORKER_PRELOAD)
    multiprocessing.forkserver.ensure_running()


def main(settings: dict) -> None:
    start_forkserver()  # first: its TensorFlow import overlaps the host's Dask import and the scheduler's start
    import dask

    dask.config.set({**LOCAL_DASK_CONFIG, **HOST_DASK_CONFIG})
    import distributed

    try:
        cluster = distributed.LocalCluster(
            n_workers=settings["n_workers"], threads_per_worker=1, processes=True,
            memory_limit=settings["memory_limit"], host="127.0.0.1", scheduler_port=0, dashboard_address=None,
            # No dashboard; the scheduler's small HTTP server (health checks) on any free port, not on 8787,
            # which another cluster on the machine may hold.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    except Exception as error:  # noqa: BLE001 - reported to the engine in one line
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
        return
    print(json.dumps({"address": cluster.scheduler_address}), flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # later output (and the workers') goes to the log
    try:
        for line in sys.stdin.buffer:  # until the engine closes the pipe or its process ends
            try:
                wanted = int(json.loads(line)["scale"])
            except (ValueError, KeyError, TypeError):
                continue
            cluster.scale(wanted)  # returns once the nannies are asked for; they start in the background
    except KeyboardInterrupt:
        pass
    started = time.monotonic()
    try:
        cluster.close(timeout=20)
    finally:
        if time.monotonic() - started > 20:
            os._exit(0)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
