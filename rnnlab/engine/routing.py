"""Which free worker a run should go to: one that has already traced its graph (issue 19).

    trained = TrainedGraphs()
    trained.remember(route_key(config, None), "tcp://127.0.0.1:40001")   # a run of `config` started there
    trained.prefer(route_key(config, None), free={"tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"})
    # -> ["tcp://127.0.0.1:40001"]

A warm worker keeps the models (and traced training functions) of the last `KEEP` graphs it trained
(`rnnlab.engine.warm_graphs`), so a class on one preset skips tracing only if its next run lands on a worker that
traced that preset. Dask picks among idle workers by its own measure, so without a preference the second run of
a preset often went to a worker that had traced nothing. The engine remembers, per worker, the graphs of the runs
it started there (the same last `KEEP`, so this mirrors what the worker keeps) and, when one of those workers is
free, asks Dask for it (a loose restriction: any worker may still take the run).

The key is the server's view of `warm_graphs.graph_key` without building a model (the web server imports no
TensorFlow for this): the configuration without its seed and epochs and, for a dataset the page made, the shapes
and dtypes of its arrays. None where the worker would not reuse the graph (dropout).
"""

from __future__ import annotations

import collections
import json
import threading
from typing import Iterable

from rnnlab.config import RunConfig

# Graphs a worker keeps (warm_graphs imports it): a class tries a few presets, and each kept model holds its
# weights and traced functions (a few MB for the app's sizes).
KEEP = 4
# Settings that change only values or the number of passes, never the graph.
NOT_IN_KEY = ("seed", "epochs")


def route_key(config: RunConfig, dataset=None) -> str | None:
    """What decides whether a worker can reuse a traced graph for `config` (and `dataset`, if the page made it)."""
    if config.dropout:
        return None
    values = {name: value for name, value in config.to_dict().items() if name not in NOT_IN_KEY}
    shapes = ([[list(array.shape[1:]), str(array.dtype)] for array in (dataset.x_train, dataset.y_train)]
              if dataset is not None else None)
    return json.dumps([values, shapes], sort_keys=True, default=str)


class TrainedGraphs:
    """Per worker address, the route keys of the last `keep` runs started there."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._by_worker: dict[str, collections.OrderedDict[str, None]] = {}
        self._lock = threading.Lock()

    def remember(self, key: str | None, worker: str) -> None:
        """A run with `key` started on `worker` (its graph is now the worker's newest)."""
        if key is None or not worker:
            return
        with self._lock:
            keys = self._by_worker.setdefault(worker, collections.OrderedDict())
            keys.pop(key, None)
            keys[key] = None
            while len(keys) > self.keep:
                keys.popitem(last=False)

    def forget(self, worker: str) -> None:
        """`worker` is gone (a restarted worker has an empty cache)."""
        with self._lock:
            self._by_worker.pop(worker, None)

    def prefer(self, key: str | None, free: Iterable[str]) -> list[str]:
        """The workers of `free` that have traced `key`'s graph, sorted; empty when none has (or key is None)."""
        if key is None:
            return []
        with self._lock:
            return sorted(worker for worker in free if key in self._by_worker.get(worker, ()))
