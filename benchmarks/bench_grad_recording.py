"""Benchmark: what recording gradient norms through time costs the trainer, against bare `model.fit`.

Run from the repository root (about two minutes on two CPU cores):

    .venv/bin/python benchmarks/bench_grad_recording.py

Same model and data for every variant: LSTM(64) on the adding problem, T=100, 4000 training sequences, batch 64,
4 epochs, built by `rnnlab.models.build_model` from one seed. Variants:

- bare `model.fit` on the NumPy arrays, timed by a small Keras callback;
- the `Trainer` without probes;
- the `Trainer` with `record_grad_norms=True` (one `gradient_norms` call on 32 sequences per epoch);
- the `Trainer` with gradient norms and gates, as every run started from the dashboard records them.

Two throughputs, both over epochs 2..N (epoch 1 also pays for graph tracing):

- "training batches": sequences per second while the training batches run, from an epoch's start to its last
  batch. This is exactly the trainer's `samples_per_second`; probes run after the last batch, so it leaves them out.
- "whole epochs": sequences per second from the end of one epoch to the end of the next, so validation and the
  probes count. This is what a learner waits for.

Each variant runs twice, interleaved with the others, and keeps its faster run: the machine is shared, and a
neighbour's burst should not be charged to the code. Targets: 0.9x bare for the trainer without probes, 0.8x with
gradient recording.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.models import build_model  # noqa: E402
from rnnlab.data import make_dataset  # noqa: E402
from rnnlab.training import Trainer, TrainerCallback, throughput  # noqa: E402
from timing import EpochTimer  # noqa: E402

CONFIG = RunConfig(task="adding", cell="lstm", units=64, seq_len=100, samples=4000, eval_samples=500,
                   batch_size=64, epochs=4)
TARGETS = {"trainer, no probes": 0.9, "trainer, gradient norms": 0.8, "trainer, gradient norms + gates": 0.8}


class EpochEnds(TrainerCallback):
    """When each of the trainer's epochs ended, validation and probes included."""

    def __init__(self):
        self.epoch_ends = []

    def on_epoch_end(self, record):
        self.epoch_ends.append(time.perf_counter())


def throughputs(samples, batch_seconds, epoch_ends):
    """(training-batch, whole-epoch) sequences per second over epochs 2..N."""
    whole = epoch_ends[-1] - epoch_ends[0]
    return throughput(samples, batch_seconds), samples * (len(epoch_ends) - 1) / whole


def bare_fit(dataset):
    model = build_model(CONFIG, dataset)
    clock = EpochTimer()
    model.fit(dataset.x_train, dataset.y_train, batch_size=CONFIG.batch_size, epochs=CONFIG.epochs,
              validation_data=(dataset.x_val, dataset.y_val), shuffle=True, verbose=0, callbacks=[clock])
    return throughputs(len(dataset.x_train), clock.seconds, clock.ends)


def trainer(dataset, **probes):
    ends = EpochEnds()
    record = Trainer(CONFIG, dataset, callbacks=[ends], **probes).run()
    if record.status != "finished":
        raise RuntimeError(f"The trainer ended with status {record.status}: {record.message}")
    batch, whole = throughputs(len(dataset.x_train), record.epoch_seconds, ends.epoch_ends)
    assert abs(batch - record.samples_per_second) < 1e-6 * batch  # the same measure as the record's own
    return batch, whole


def main(repeats: int):
    dataset = make_dataset(CONFIG)
    variants = {
        "bare model.fit": lambda: bare_fit(dataset),
        "trainer, no probes": lambda: trainer(dataset),
        "trainer, gradient norms": lambda: trainer(dataset, record_grad_norms=True),
        "trainer, gradient norms + gates": lambda: trainer(dataset, record_grad_norms=True, record_gates=True),
    }
    best = {name: (0.0, 0.0) for name in variants}
    started = time.perf_counter()
    for _ in range(repeats):  # every variant once per round, so a slow stretch of the machine hits all
        for name, run in variants.items():
            batch, whole = run()
            best[name] = (max(best[name][0], batch), max(best[name][1], whole))

    print(f"LSTM({CONFIG.units}), adding T={CONFIG.seq_len}, {CONFIG.samples} sequences, batch {CONFIG.batch_size}, "
          f"{CONFIG.epochs} epochs; sequences/s over epochs 2..{CONFIG.epochs}, best of {repeats} "
          f"({time.perf_counter() - started:.0f} s in all)\n")
    bare_batch, bare_whole = best["bare model.fit"]
    print(f"| {'variant':<32} | training batches | × bare | whole epochs | × bare | target |")
    print(f"| {'-' * 32} | ---------------- | ------ | ------------ | ------ | ------ |")
    for name, (batch, whole) in best.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else \
            f"≥ {target}: {'met' if min(batch / bare_batch, whole / bare_whole) >= target else 'MISSED'}"
        print(f"| {name:<32} | {batch:16,.0f} | {batch / bare_batch:6.2f} | {whole:12,.0f} | "
              f"{whole / bare_whole:6.2f} | {verdict} |")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4, help="rounds; each variant's best round is reported")
    main(parser.parse_args().repeats)
