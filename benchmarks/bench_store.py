"""What saving a run to the store costs, against the time its epochs take.

    python benchmarks/bench_store.py             # about half a minute on two cores

Each default task (sine, count, adding, recall) trains with the app's defaults and both probes on (as the app
trains), with a subscriber that saves the run as the web server does: its row at the start, one epoch row at each
epoch end, its row at the end. The table gives the median seconds of an epoch (its training batches), the median
seconds of saving one epoch, and their ratio. The goal is under 2% of an epoch at the defaults.

A second part times saving epoch 1 and epoch 50 of a long run: the store writes one row per epoch, so the cost must
not grow with the epochs already saved.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnlab.config import defaults_for_task  # noqa: E402
from rnnlab.store import Store  # noqa: E402
from rnnlab.training import Trainer, TrainerCallback  # noqa: E402


class Saver(TrainerCallback):
    """Saves the run as the web server does, and times each epoch's save."""

    def __init__(self, store: Store, token: str) -> None:
        self.store, self.token, self.seconds = store, token, []

    def on_train_begin(self, record) -> None:
        self.store.save_run(self.token, record)

    def on_epoch_end(self, record) -> None:
        started = time.perf_counter()
        self.store.save_epoch(record)
        self.seconds.append(time.perf_counter() - started)

    def on_train_end(self, record) -> None:
        self.store.save_run(self.token, record)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        store = Store(home)
        token = store.new_learner("bench").token
        print(f"{'task':8} {'epoch s':>9} {'save ms':>9} {'share':>7}")
        for task in ("sine", "count", "adding", "recall"):
            saver = Saver(store, token)
            record = Trainer(defaults_for_task(task), callbacks=[saver], record_grad_norms=True,
                             record_gates=True).run()
            epoch = statistics.median(record.epoch_seconds[1:])
            save = statistics.median(saver.seconds)
            print(f"{task:8} {epoch:9.3f} {save * 1000:9.2f} {save / epoch:7.2%}")

        # Does saving slow down as a run grows? Re-save epoch 1, then epoch 50, of a 50-epoch record.
        record = Trainer(defaults_for_task("sine").replace(epochs=50, samples=256), record_grad_norms=True,
                         record_gates=True).run()
        store.save_run(token, record)
        timings = {}
        for epoch in (1, 50):
            runs = []
            for _ in range(20):
                started = time.perf_counter()
                store.save_epoch(record, epoch)
                runs.append(time.perf_counter() - started)
            timings[epoch] = statistics.median(runs)
        print(f"saving epoch 1 of 50: {timings[1] * 1000:.2f} ms; epoch 50 of 50: {timings[50] * 1000:.2f} ms")
        started = time.perf_counter()
        again = store.runs(token)
        print(f"reading back {len(again)} runs with their probes: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
