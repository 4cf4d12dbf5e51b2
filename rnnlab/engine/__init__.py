"""The training engine: where the dashboard's runs train, chosen by configuration, behind one small interface.

    from rnnlab.engine import get_engine
    engine = get_engine()                      # one per process, made on first use
    handle = engine.submit(config, listeners=[store], after=previous)
    handle.record.snapshot(); handle.queue_position; handle.stop(); handle.join(10); handle.model
    engine.live(run_id); engine.describe()

`rnnlab/engine/base.py` defines the handle and the listener protocol. Which engine `get_engine()` makes depends on
the environment, read once when it is first called:

- default: a local Dask cluster of warm worker processes (`rnnlab/engine/cluster.py`). `RNNLAB_WORKERS` workers
  (default: one more than the cores: a third learner of three on two cores starts at once instead of waiting
  for a whole run), one run at a time each; runs beyond that wait in a first-come queue. Each worker has a
  memory limit of `RNNLAB_WORKER_MEMORY_MB` megabytes (default: 80% of the machine's memory shared between the
  workers); a run that passes it ends "failed" and takes nobody else's run with it. `RNNLAB_WORKER_TF_THREADS` sets
  TensorFlow's thread pool in each worker (default: TensorFlow's own, one thread per core; see
  benchmarks/bench_learners.py for the measurement behind that choice).
- `RNNLAB_SCHEDULER=tcp://host:8786`: connect to an existing Dask cluster instead. Its workers must be able to
  import `rnnlab` with the same requirements (see `rnnlab/engine/cluster.py` for the scheduler settings to use).
- `RNNLAB_WORKERS=0`: train on threads of this process (`rnnlab/engine/threads.py`), as the dashboard did before;
  for small hosts. Stop then acts only between batches, and a run too large for the machine takes the process
  with it.

The engine is closed when the interpreter exits, so no worker process outlives the server. `import rnnlab`, the
`Trainer` and the command line never use an engine: they train in the calling process.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Mapping

from rnnlab import settings
from rnnlab.settings import MB  # megabytes as the budget counts them (2**20 bytes), so both read the same limit

if TYPE_CHECKING:
    from rnnlab.engine.base import Engine, RunHandle

__all__ = ["Engine", "RunHandle", "create_engine", "engine_settings", "get_engine"]

_engine: Engine | None = None
_engine_lock = threading.Lock()


def __getattr__(name: str):
    # Imported on first use, so that the local cluster's host process (python -m rnnlab.engine.local) stays light.
    if name in ("Engine", "RunHandle"):
        from rnnlab.engine import base  # start-up time: the host process never needs the handle (see above)

        return getattr(base, name)
    raise AttributeError(f"module 'rnnlab.engine' has no attribute {name!r}")


def get_engine() -> Engine:
    """This process's engine, made from the environment on first use (thread-safe); closed at interpreter exit."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = create_engine()
            atexit.register(_engine.close)
        return _engine


def create_engine(environ: Mapping[str, str] | None = None) -> Engine:
    """A new engine as the environment (`RNNLAB_*`, see the module docstring) describes."""
    chosen = engine_settings(environ)
    if chosen["kind"] == "threads":
        # Start-up time: the thread engine imports Keras and the trainer; only the engine chosen is imported.
        from rnnlab.engine.threads import ThreadEngine

        return ThreadEngine()
    # Start-up time: the Dask engine imports distributed; only the engine chosen is imported.
    from rnnlab.engine.cluster import DaskEngine

    return DaskEngine(chosen["address"], n_workers=chosen["n_workers"], memory_limit=chosen["memory_limit"],
                      tf_threads=chosen["tf_threads"])


def engine_settings(environ: Mapping[str, str] | None = None) -> dict:
    """What the environment (default: this process's) asks for, as `rnnlab.settings` reads it: kind ("threads",
    "local" or "cluster"), address, n_workers, memory_limit (bytes), tf_threads; None where the engine's default
    applies. Raises `settings.SettingsError` (a `ValueError`) with one sentence for a value that cannot be used."""
    current = settings.current(environ)
    workers = current.workers
    kind = "threads" if workers == 0 else "cluster" if current.scheduler else "local"
    return {"kind": kind, "address": current.scheduler, "n_workers": workers or None,
            "memory_limit": current.worker_memory_mb * MB if current.worker_memory_mb else None,
            "tf_threads": current.worker_tf_threads}
