"""The web server's heavy imports, made once in the background as it starts, then kept out of the garbage
collector's way (issue 19).

    preload.start()        # in serve.py: returns at once; idempotent

Two costs it takes out of a class's first minutes:

- The first page a learner opens imports TensorFlow, Keras, Plotly and pandas through the package (2.5-4 s on two
  cores). Started with the server, that import is done, or under way, before the first browser connects.
- Python's collector walks every object the process holds at each full collection: with TensorFlow, Keras,
  Plotly, pandas and Streamlit imported that is about 371,000 objects, 0.19 s a collection with the GIL held
  (0.42 s beside the test suite),
  during which no page runs and the health check does not answer. `gc.freeze()` after the imports moves them to a
  generation the collector never walks (they live as long as the process anyway): a full collection then walks
  only what the pages made since. `benchmarks/bench_gc_pause.py` measures both.

Nothing here imports Streamlit.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time

log = logging.getLogger(__name__)

# What the pages import, and through it TensorFlow, Keras, Plotly and pandas (the start page's own modules first).
MODULES = ("rnnlab.models", "rnnlab.data", "rnnlab.export", "rnnlab.plots.runs", "rnnlab.explain",
           "rnnlab.introspect", "rnnlab.introspect.gradients", "rnnlab.introspect.steps", "rnnlab.plots.classroom",
           "rnnlab.plots.sweep", "rnnlab.lessons", "pandas", "plotly.graph_objects")

_started: threading.Thread | None = None
_lock = threading.Lock()


def preload(modules: tuple[str, ...] = MODULES) -> float:
    """Import `modules`, then freeze every object the process holds; the seconds it took."""
    began = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    gc.collect()  # what the imports left as garbage is freed, not frozen for good
    gc.freeze()
    seconds = time.perf_counter() - began
    log.info("Preloaded %d modules in %.1f s; %d objects frozen out of the collector's walks", len(modules),
             seconds, gc.get_freeze_count())
    return seconds


def start(modules: tuple[str, ...] = MODULES) -> threading.Thread:
    """Preload on a thread of its own, once per process; the thread (join it to wait)."""
    global _started
    with _lock:
        if _started is None:
            _started = threading.Thread(target=_preload_logged, args=(modules,), name="rnnlab-preload", daemon=True)
            _started.start()
        return _started


def _preload_logged(modules: tuple[str, ...]) -> None:
    try:
        preload(modules)
    except Exception:  # noqa: BLE001 - the pages import what they need themselves; only the head start is lost
        log.exception("Preloading the web server's modules failed; pages import them as they open")
