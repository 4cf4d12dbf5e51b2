"""A warm worker keeps the traced training function of the architectures it has trained, and reuses it.

    cache = GraphCache()
    model = cache.model_for(config, dataset)   # a model whose weights and optimizer state are the run's own
    cache.hits, cache.misses

Keras traces `fit`'s training step once per model object (1.2-1.5 s in a worker, ../shared/FACTS.md), so a class
on one preset paid it at every run. Here the run's fresh model is still built (`rnnlab.models.build_model`: its
weights drawn from the run's seed, which takes a few milliseconds and traces nothing), and when this worker
has already trained a model of the same graph, that model is handed back instead, with the fresh model's weights
and a freshly built optimizer's state copied into it: its `train_function` (and validation's `test_function`)
are reused, and the numbers are the fresh model's, bit for bit (tests/test_first_minutes.py).

What the key holds: every setting that changes the graph (the configuration without its seed and its epochs,
which only change values and the number of passes), the shapes and dtypes of the data, and the shape of every
weight. `samples` stays in it too: a different last-batch size would trace again anyway.

What is not reused, and why: a configuration with dropout. Keras's dropout draws its masks from a seed generator
whose state lives beside the weights but not in them: tried, a reused model's losses differed from a fresh one's.
A model is reused only by the run that asks next, never by two at once: a worker trains one run at a time, and
the thread engine (several runs in one process) does not use this.
"""

from __future__ import annotations

import collections
import json
import threading

from rnnlab.config import RunConfig
from rnnlab.engine.routing import KEEP, NOT_IN_KEY  # shared with the engine's routing, which mirrors this cache
from rnnlab.models import build_model


def graph_key(config: RunConfig, dataset, model) -> str | None:
    """What the traced graph of `model` (built for `config` and `dataset`) depends on; None if it must not be
    reused (see the module docstring)."""
    if config.dropout:
        return None
    values = {name: value for name, value in config.to_dict().items() if name not in NOT_IN_KEY}
    shapes = [[list(array.shape[1:]), str(array.dtype)] for array in (dataset.x_train, dataset.y_train)]
    weights = [[variable.path, list(variable.shape), str(variable.dtype)] for variable in model.weights]
    return json.dumps([values, shapes, weights, type(model.optimizer).__name__], sort_keys=True, default=str)


class GraphCache:
    """The models (and traced functions) this process has trained, by `graph_key`, the newest `keep`."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.hits = 0
        self.misses = 0
        self._models: collections.OrderedDict[str, object] = collections.OrderedDict()
        self._lock = threading.Lock()

    def model_for(self, config: RunConfig, dataset):
        """The model to train `config` on: the fresh one, or a kept one of the same graph set to its state."""
        fresh = build_model(config, dataset)
        key = graph_key(config, dataset, fresh)
        with self._lock:
            kept = self._models.pop(key, None) if key is not None else None
        if kept is None or not _take_state(kept, fresh):
            self.misses += 1
            kept = fresh
        else:
            self.hits += 1
        if key is not None:
            with self._lock:
                self._models[key] = kept
                while len(self._models) > self.keep:
                    self._models.popitem(last=False)
        return kept


def _take_state(kept, fresh) -> bool:
    """Copy `fresh`'s weights and a new optimizer state into `kept`; False (nothing changed) if they differ."""
    if [tuple(v.shape) for v in kept.weights] != [tuple(v.shape) for v in fresh.weights]:
        return False
    fresh.optimizer.build(fresh.trainable_variables)  # the optimizer's initial state, as a fresh fit starts it
    if not kept.optimizer.built:
        return False
    targets, sources = kept.optimizer.variables, fresh.optimizer.variables
    if [tuple(v.shape) for v in targets] != [tuple(v.shape) for v in sources]:
        return False
    kept.set_weights(fresh.get_weights())
    for target, source in zip(targets, sources):
        target.assign(source)
    kept.stop_training = False
    return True


_worker_cache: GraphCache | None = None


def worker_cache() -> GraphCache:
    """This worker process's cache (made on first use)."""
    global _worker_cache
    if _worker_cache is None:
        _worker_cache = GraphCache()
    return _worker_cache
