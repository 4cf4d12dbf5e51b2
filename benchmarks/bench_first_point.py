"""Where the first second goes: from a click on Train to the first loss point, phase by phase (issue 19).

    python benchmarks/bench_first_point.py            # in this process, then through a warm local Dask engine
    python benchmarks/bench_first_point.py --no-engine

In this process, for the app's default run (sine, LSTM 32, T=30, 2,000 sequences): making the data, building the
model (weights from the seed, no tracing), the probes at initialisation (gates and gradient norms, on_train_begin),
then tracing and the first batch (from `fit` to the first batch's end), first with a fresh model and then with a
graph reused by `rnnlab.engine.warm_graphs.GraphCache` (the second run of the same configuration, another seed).
Through the engine (a local cluster of warm workers, as the web server has): from `submit` to the first point in
the server's mirror record, the first time and again (reused graph), and what the page's poll adds on average
(half its interval: `pages/progress.py`'s NEWS_CHECK_SECONDS while a panel waits for a first point,
POLL_SECONDS after). The browser's own draw is in benchmarks/bench_learners_browser.py (click to drawn chart).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rnnlab.config import RunConfig  # noqa: E402


class Clock:
    """Timestamps of the trainer's phases, from its callbacks and the model maker."""

    def __init__(self, maker) -> None:
        self.maker = maker
        self.marks: dict[str, float] = {}

    def make(self, config, dataset):
        self.marks["data made"] = time.perf_counter()
        model = self.maker(config, dataset)
        self.marks["model built"] = time.perf_counter()
        return model

    def on_train_begin(self, record) -> None:
        self.marks["probes at initialisation"] = time.perf_counter()

    def on_batch_end(self, record) -> None:
        self.marks.setdefault("tracing and the first batch", time.perf_counter())

    def on_epoch_end(self, record) -> None:
        pass

    def on_train_end(self, record) -> None:
        pass


def in_process(config: RunConfig) -> None:
    from rnnlab.engine.warm_graphs import GraphCache
    from rnnlab.models import build_model
    from rnnlab.training import Trainer

    cache = GraphCache()
    for label, maker, seed in (("fresh model (build_model)", build_model, 0), ("fresh graph, cached", cache.model_for, 1),
                               ("reused graph", cache.model_for, 2)):
        clock = Clock(maker)
        trainer = Trainer(config.replace(seed=seed, epochs=1), callbacks=[clock], record_grad_norms=True,
                          record_gates=True, model_maker=clock.make)
        started = time.perf_counter()
        trainer.run()
        previous, parts = started, []
        for name, at in clock.marks.items():
            parts.append(f"{name} {at - previous:.2f} s")
            previous = at
        print(f"{label:28} first point {previous - started:.2f} s: " + ", ".join(parts), flush=True)


def through_engine(config: RunConfig) -> None:
    from rnnlab.engine.cluster import DaskEngine

    made = time.perf_counter()
    engine = DaskEngine()
    try:
        engine.wait_until_ready()
        print(f"engine: every worker warm {time.perf_counter() - made:.1f} s after it was made "
              f"({engine.describe()})", flush=True)
        for label, seed in (("first run of this graph on a worker", 0), ("again", 1), ("again", 2), ("again", 3)):
            handle = engine.submit(config.replace(seed=seed, epochs=2))
            started = time.perf_counter()
            while handle.record.steps_done == 0 and not handle.done:
                time.sleep(0.005)
            print(f"{label:36} submit to the first point in the server: {time.perf_counter() - started:.2f} s",
                  flush=True)
            handle.join(120)
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-engine", action="store_true", help="only the phases in this process")
    arguments = parser.parse_args()
    config = RunConfig()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    in_process(config)
    if not arguments.no_engine:
        through_engine(config)
    from rnnlab import settings

    from pages.progress import NEWS_CHECK_SECONDS

    print(f"the page adds half its interval on average: {NEWS_CHECK_SECONDS / 2:.3f} s while a panel waits for a "
          f"first point (pages/progress.py NEWS_CHECK_SECONDS), {settings.current().poll_seconds / 2:.2f} s after")


if __name__ == "__main__":
    main()
