"""How much the trainer costs over bare Keras, and how soon a learner sees the first loss point.

    python benchmarks/bench_training.py            # about a minute on two cores

1. Throughput: the `Trainer` (tf.data pipeline, per-batch callback, run record) against bare `model.fit` on the
   same model and data: LSTM(64), T=100, batch 64, the adding task. Both are timed over epochs 2..N, so graph
   tracing is not counted, and the two are interleaved (bare, trainer, bare, trainer) so that a busy machine
   hurts both alike. The goal is at least 0.9x.
2. Time to the first loss point with the app's defaults: from `TrainingJob.start()` (what the Train button
   calls) to the first batch in the run record, plus the page's polling interval, which is the worst case
   before the point is drawn. The goal is under 5 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.engine.threads import TrainingJob  # noqa: E402
from rnnlab.models import build_model  # noqa: E402
from rnnlab.data import make_dataset  # noqa: E402
from rnnlab.training import Trainer, throughput  # noqa: E402
from timing import EpochTimer  # noqa: E402

POLL_SECONDS = 1.0  # pages/session.py


def bare_fit(config: RunConfig, data) -> float:
    model = build_model(config, data)
    timer = EpochTimer()
    model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(data.x_val, data.y_val), callbacks=[timer], verbose=0)
    return throughput(len(data.x_train), timer.seconds)


def trainer_fit(config: RunConfig, data, **options) -> float:
    return Trainer(config, data, **options).run().samples_per_second


def compare_throughput(repeats: int = 2) -> None:
    config = RunConfig(task="adding", seq_len=100, samples=4096, eval_samples=512, cell="lstm", units=64,
                       batch_size=64, epochs=4)
    data = make_dataset(config)
    bare, ours = [], []
    for _ in range(repeats):
        bare.append(bare_fit(config, data))
        ours.append(trainer_fit(config, data))
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    print("Throughput, LSTM(64), T=100, batch 64, adding task, 4096 sequences, epochs 2-4")
    print(f"  bare model.fit   {bare_median:8,.0f} sequences/s   (runs: {', '.join(f'{v:,.0f}' for v in bare)})")
    print(f"  rnnlab Trainer   {ours_median:8,.0f} sequences/s   (runs: {', '.join(f'{v:,.0f}' for v in ours)})")
    print(f"  ratio            {ours_median / bare_median:8.2f}x   (goal: at least 0.90x)")


def first_point() -> None:
    config = RunConfig()  # the app's defaults
    job = TrainingJob(config, record_grad_norms=True, record_gates=True)  # as the app starts it
    started = time.perf_counter()
    job.start()
    while not job.record.batch_loss:
        time.sleep(0.005)
    first = time.perf_counter() - started
    job.stop()
    job.join()
    print("Time to the first loss point, app defaults (LSTM 32, sine, T=30, 2000 sequences)")
    print(f"  first batch recorded   {first:5.2f} s after Train")
    print(f"  drawn at the latest    {first + POLL_SECONDS:5.2f} s (plus one {POLL_SECONDS:.1f} s poll)"
          "   (goal: under 5 s)")


if __name__ == "__main__":
    compare_throughput()
    first_point()
