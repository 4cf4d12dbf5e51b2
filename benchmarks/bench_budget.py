"""How close `rnnlab.budget`'s estimates come to what runs really cost on this machine.

    python benchmarks/bench_budget.py                    # memory and time tables, about 15 minutes on two cores
    python benchmarks/bench_budget.py --only memory      # the memory table alone, about 2 minutes
    python benchmarks/bench_budget.py --fit              # also least-squares fit the time constants and print them
    python benchmarks/bench_budget.py --save runs.json   # keep the measurements; --load a.json b.json pools saved
                                                         # runs and refits without measuring again

Every shape runs in a fresh process (`benchmarks/budget_measure.py`), so TensorFlow starts cold and each peak is that
run's own. Memory: two training batches and the validation set, peak resident memory (`VmHWM`), two
processes at a time. Time: whole epochs (validation included) one process at a time; a shape's figure is the
median of epochs 2..N (the first also traces the graph), and with `--repeats` the fastest of the repeats, since a
shared machine only ever makes a run slower. The machine's load average is printed with every run: with other
work on the two cores, times can double.

The calibration shapes vary one thing at a time (cell, units, batch, layers, directions, inputs, tokens, a head at
every step, a large embedding); the two check shapes are the IMDB page's default (Embedding(10000, 32) → LSTM(32),
T=200, 20,000 reviews) and the coming text task (Embedding(65, 32) → LSTM(128) → Dense(65) at every step, T=100,
10,000 windows), which are not used for fitting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnlab import budget  # noqa: E402
from rnnlab.budget import Shape  # noqa: E402
from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.settings import MB  # noqa: E402

from budget_measure import Measurement, measure_memory, measure_time  # noqa: E402  (this folder)


def sequences(features: int = 1, outputs: int = 1, train: int = 2048, held_out: int = 1024) -> Shape:
    return Shape(features=features, tokens=False, vocab=0, outputs=outputs, every_step=False, train_items=train,
                 eval_items=held_out)


def tokens(embedding: int, vocab: int, outputs: int = 1, every_step: bool = False, train: int = 2048,
           held_out: int = 1024) -> Shape:
    return Shape(features=embedding, tokens=True, vocab=vocab, outputs=outputs, every_step=every_step,
                 train_items=train, eval_items=held_out)


C = RunConfig
# name, configuration, shape, used for fitting the time constants
SHAPES: list[tuple[str, RunConfig, Shape, bool]] = [
    ("SimpleRNN 8, T=100", C(cell="simplernn", seq_len=100, units=8), sequences(), True),
    ("LSTM 8, T=100", C(seq_len=100, units=8), sequences(), True),
    ("GRU 8, T=100", C(cell="gru", seq_len=100, units=8), sequences(), True),
    ("SimpleRNN 256, T=50", C(cell="simplernn", seq_len=50, units=256), sequences(), True),
    ("LSTM 256, T=50", C(seq_len=50, units=256), sequences(), True),
    ("GRU 256, T=50", C(cell="gru", seq_len=50, units=256), sequences(), True),
    ("LSTM 512, T=20", C(seq_len=20, units=512), sequences(train=1024, held_out=512), True),
    ("GRU 128, T=100", C(cell="gru", seq_len=100, units=128), sequences(), True),
    ("LSTM 64, T=100, batch 16", C(seq_len=100, units=64, batch_size=16), sequences(train=1024, held_out=512), True),
    ("LSTM 64, T=100, batch 256", C(seq_len=100, units=64, batch_size=256), sequences(train=4096), True),
    ("LSTM 32 ×3, T=50", C(seq_len=50, units=32, layers=3), sequences(), True),
    ("GRU 64 bi ×2, T=50", C(cell="gru", seq_len=50, units=64, layers=2, bidirectional=True), sequences(), True),
    ("LSTM 64, T=50, 128 features", C(seq_len=50, units=64), sequences(features=128), True),
    ("Emb(10000,32) → LSTM 32, T=200", C(seq_len=200, units=32), tokens(32, 10000, train=4096), True),
    ("Emb(100000,128) → LSTM 16, T=20", C(seq_len=20, units=16), tokens(128, 100_000, train=4096), True),
    ("Emb(65,32) → LSTM 128 every step, T=100", C(seq_len=100, units=128),
     tokens(32, 65, outputs=65, every_step=True, train=2048, held_out=512), True),
    ("Emb(2000,32) → LSTM 64 every step, T=50", C(seq_len=50, units=64),
     tokens(32, 2000, outputs=2000, every_step=True, train=2048, held_out=512), True),
    # Memory-heavy shapes: activations dominate (long sequences), or the data does.
    ("LSTM 128, T=1000", C(seq_len=1000, units=128), sequences(train=512, held_out=256), False),
    ("GRU 128 bi, T=1000", C(cell="gru", seq_len=1000, units=128, bidirectional=True),
     sequences(train=512, held_out=256), False),
    ("recall data 20000 × T=2000 × 4", C(seq_len=2000, units=4), sequences(features=4, train=20000, held_out=2000),
     False),
    ("SimpleRNN 128 ×3, T=800", C(cell="simplernn", seq_len=800, units=128, layers=3),
     sequences(train=512, held_out=128), False),
    ("Emb(8000,32) → LSTM 64 → Dense(8000) every step, T=100", C(seq_len=100, units=64),
     tokens(32, 8000, outputs=8000, every_step=True, train=512, held_out=128), False),
    ("the issue's LSTM 512 ×4 bi, at T=100 (not 2000)", C(seq_len=100, units=512, layers=4, bidirectional=True),
     sequences(features=2, train=256, held_out=64), False),
    # The checks.
    ("IMDB page: Emb(10000,32) → LSTM 32, T=200, 20,000", C(seq_len=200, units=32),
     tokens(32, 10000, train=20000, held_out=5000), False),
    ("text: Emb(65,32) → LSTM 128 → Dense(65) every step, T=100", C(seq_len=100, units=128),
     tokens(32, 65, outputs=65, every_step=True, train=10000, held_out=2000), False),
]
# Shapes too slow to time every time (minutes per epoch): memory only.
MEMORY_ONLY = {"LSTM 128, T=1000", "GRU 128 bi, T=1000", "recall data 20000 × T=2000 × 4", "SimpleRNN 128 ×3, T=800",
               "Emb(8000,32) → LSTM 64 → Dense(8000) every step, T=100",
               "the issue's LSTM 512 ×4 bi, at T=100 (not 2000)"}


def measure_all_memory() -> dict[str, Measurement]:
    with ThreadPoolExecutor(2) as pool:
        found = pool.map(lambda row: (row[0], measure_memory(row[1], row[2])), SHAPES)
        results = {}
        for name, measured in found:
            results[name] = measured
            print(f"  memory  {name:58s} {measured.peak_bytes / MB:7,.0f} MB   load {measured.load_average:.1f}",
                  flush=True)
    return results


def measure_all_time(repeats: int) -> dict[str, list[Measurement]]:
    results: dict[str, list[Measurement]] = {}
    for _ in range(repeats):  # interleaved, so a busy spell on the machine hurts every shape alike
        for name, config, shape, _ in SHAPES:
            if name in MEMORY_ONLY:
                continue
            epochs = 3 if shape.train_items > 5000 else 4
            measured = measure_time(config, shape, epochs=epochs)
            results.setdefault(name, []).append(measured)
            print(f"  time    {name:58s} {measured.seconds_per_epoch:7.2f} s/epoch  first +"
                  f"{measured.epoch_seconds[0] - measured.seconds_per_epoch:.1f} s   load {measured.load_average:.1f}",
                  flush=True)
    return results


def fastest(runs: list[Measurement]) -> Measurement:
    return min(runs, key=lambda run: run.seconds_per_epoch)


def nonnegative_least_squares(matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient at least 0: refit without those that come out negative."""
    scale = np.abs(matrix).max(axis=0)
    scale[scale == 0] = 1.0
    active = list(range(matrix.shape[1]))
    while True:
        solution, *_ = np.linalg.lstsq(matrix[:, active] / scale[active], target, rcond=None)
        if (solution >= 0).all():
            break
        active = [index for index, value in zip(active, solution) if value >= 0]
    coefficients = np.zeros(matrix.shape[1])
    coefficients[active] = solution / scale[active]
    return coefficients


def fit_time(times: dict[str, list[Measurement]]) -> None:
    """Fit the time constants on the calibration shapes (least squares on relative error, each shape weighted by
    1/measured, every constant non-negative), print them, and use them for the table that follows."""
    rows, trace_rows, trace_targets = [], [], []
    for name, config, shape, used in SHAPES:
        if not used or name not in times:
            continue
        terms = budget.cost_terms(config, shape)
        loops = [terms["loop_steps"] if config.cell == cell else 0.0 for cell in ("simplernn", "lstm", "gru")]
        row = np.array(loops + [terms["flops"], terms["values"], terms["logits"], terms["batches"],
                                terms["parameter_updates"]])
        measured = fastest(times[name])
        rows.append(row / measured.seconds_per_epoch)
        recurrent_layers = config.layers * (2 if config.bidirectional else 1)
        trace_rows.append(np.array([1.0, recurrent_layers]))
        trace_targets.append(measured.epoch_seconds[0] - measured.seconds_per_epoch)
    (loop_simplernn, loop_lstm, loop_gru, flops, values, logits, batches,
     parameters) = nonnegative_least_squares(np.array(rows), np.ones(len(rows)))
    trace, per_layer = nonnegative_least_squares(np.array(trace_rows), np.array(trace_targets))
    budget.STEP_SECONDS = {"simplernn": loop_simplernn, "lstm": loop_lstm, "gru": loop_gru}
    budget.SECONDS_PER_FLOP, budget.SECONDS_PER_VALUE, budget.SECONDS_PER_LOGIT = flops, values, logits
    budget.BATCH_SECONDS, budget.SECONDS_PER_PARAMETER = batches, parameters
    budget.TRACE_SECONDS, budget.TRACE_SECONDS_PER_LAYER = trace, per_layer
    print("\nFitted time constants (paste into rnnlab/budget.py; the table below uses them):")
    print(f"STEP_SECONDS = {{\"simplernn\": {loop_simplernn:.2e}, \"lstm\": {loop_lstm:.2e}, \"gru\": {loop_gru:.2e}}}")
    print(f"SECONDS_PER_FLOP = {flops:.2e}")
    print(f"SECONDS_PER_VALUE = {values:.2e}")
    print(f"SECONDS_PER_LOGIT = {logits:.2e}")
    print(f"BATCH_SECONDS = {batches:.2e}")
    print(f"SECONDS_PER_PARAMETER = {parameters:.2e}")
    print(f"TRACE_SECONDS = {trace:.2f}")
    print(f"TRACE_SECONDS_PER_LAYER = {per_layer:.2f}")


def print_tables(memory: dict[str, Measurement], times: dict[str, list[Measurement]]) -> None:
    if memory:
        tensorflow = budget.TENSORFLOW_BYTES / MB
        print("\nPeak memory (two training batches and the validation set, fresh process); 'added' is what the run")
        print(f"holds beyond TensorFlow's own {tensorflow:.0f} MB, the part the configuration decides")
        print("| shape | measured MB | estimated MB | estimate / measured | added: measured | estimated | ratio |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, config, shape, _ in SHAPES:
            if name in memory:
                measured = memory[name].peak_bytes / MB
                estimated = budget.estimate(config, shape).peak_bytes / MB
                added_measured, added_estimated = measured - tensorflow, estimated - tensorflow
                added_ratio = f"{added_estimated / added_measured:.2f}" if added_measured >= 50 else "-"
                print(f"| {name} | {measured:,.0f} | {estimated:,.0f} | {estimated / measured:.2f} | "
                      f"{added_measured:,.0f} | {added_estimated:,.0f} | {added_ratio} |")
    if times:
        print("\nSeconds per epoch (training and validation; median of epochs 2..N, fastest repeat)")
        print("| shape | measured s | estimated s | estimate / measured | repeats (s) | fitted on |\n"
              "| --- | ---: | ---: | ---: | --- | --- |")
        for name, config, shape, used in SHAPES:
            if name in times:
                measured = fastest(times[name]).seconds_per_epoch
                estimated = budget.estimate(config, shape).seconds_per_epoch
                repeats = ", ".join(f"{run.seconds_per_epoch:.2f}" for run in times[name])
                print(f"| {name} | {measured:.2f} | {estimated:.2f} | {estimated / measured:.2f} | {repeats} | "
                      f"{'yes' if used else 'no'} |")


def _save(path: str, memory: dict, times: dict) -> None:
    def plain(run: Measurement) -> dict:
        return {"baseline_bytes": run.baseline_bytes, "peak_bytes": run.peak_bytes,
                "epoch_seconds": list(run.epoch_seconds), "load_average": run.load_average}

    Path(path).write_text(json.dumps({"memory": {name: plain(run) for name, run in memory.items()},
                                      "time": {name: [plain(run) for run in runs] for name, runs in times.items()}},
                                     indent=1))


def _load(path: str) -> tuple[dict, dict]:
    def measurement(values: dict) -> Measurement:
        return Measurement(**{**values, "epoch_seconds": tuple(values["epoch_seconds"])})

    data = json.loads(Path(path).read_text())
    return ({name: measurement(run) for name, run in data["memory"].items()},
            {name: [measurement(run) for run in runs] for name, runs in data["time"].items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("memory", "time"))
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each shape (the fastest counts)")
    parser.add_argument("--fit", action="store_true", help="fit and print the time constants")
    parser.add_argument("--save", help="write the measurements to this JSON file")
    parser.add_argument("--load", nargs="+", help="read measurements from these JSON files instead of measuring "
                                                  "(timed runs are pooled: the fastest repeat of each shape counts)")
    options = parser.parse_args()
    if options.load:
        memory, times = {}, {}
        for path in options.load:
            more_memory, more_times = _load(path)
            memory.update(more_memory)
            for name, runs in more_times.items():
                times.setdefault(name, []).extend(runs)
    else:
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        memory = measure_all_memory() if options.only != "time" else {}
        times = measure_all_time(options.repeats) if options.only != "memory" else {}
        if options.save:
            _save(options.save, memory, times)
    if options.fit and times:
        fit_time(times)
    print_tables(memory, times)


if __name__ == "__main__":
    main()
