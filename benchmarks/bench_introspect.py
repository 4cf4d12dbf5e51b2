"""Benchmark for rnnlab.introspect: how long trace() and gradient_norms() take on dashboard-sized inputs.

Run from the repository root:

    .venv/bin/python benchmarks/bench_introspect.py

Measures trace() on 32 sequences x 200 steps through a 2-layer bidirectional LSTM(64), and
gradient_norms() on 32 x 100 through LSTM(64) (first call, which traces the tf.function, and the
median of later calls). For scale it also times one model.fit epoch on the same LSTM(64) model,
since the trainer calls gradient_norms once per epoch. About 15 seconds on 2 CPU cores.
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from rnnlab.introspect.gates import trace  # noqa: E402
from rnnlab.introspect.gradients import gradient_norms  # noqa: E402

REPEATS = 5  # runs per median: enough to skip a noisy neighbour on a shared machine


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main():
    rng = np.random.default_rng(0)
    rows = []

    trace_model = keras.Sequential(
        [
            keras.Input((200, 8)),
            keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True)),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dense(1),
        ]
    )
    trace_x = rng.normal(size=(32, 200, 8)).astype(np.float32)  # (batch, timesteps, features)
    trace_times = [seconds(lambda: trace(trace_model, trace_x)) for _ in range(REPEATS)]
    rows.append(("trace, 2-layer BiLSTM(64), 32 x 200", "median", statistics.median(trace_times)))

    gradient_model = keras.Sequential([keras.Input((100, 2)), keras.layers.LSTM(64), keras.layers.Dense(1)])
    gradient_model.compile(optimizer="adam", loss="mse")
    gradient_x = rng.normal(size=(32, 100, 2)).astype(np.float32)  # (batch, timesteps, features)
    gradient_y = rng.normal(size=(32, 1)).astype(np.float32)
    first = seconds(lambda: gradient_norms(gradient_model, gradient_x, gradient_y))
    later = [seconds(lambda: gradient_norms(gradient_model, gradient_x, gradient_y)) for _ in range(REPEATS)]
    rows.append(("gradient_norms, LSTM(64), 32 x 100", "first call", first))
    rows.append(("gradient_norms, LSTM(64), 32 x 100", "median later", statistics.median(later)))

    # One training epoch of 2048 sequences on the same model, for the overhead ratio.
    fit_x = rng.normal(size=(2048, 100, 2)).astype(np.float32)
    fit_y = rng.normal(size=(2048, 1)).astype(np.float32)
    gradient_model.fit(fit_x[:128], fit_y[:128], batch_size=64, epochs=1, verbose=0)  # trace fit once
    epoch = seconds(lambda: gradient_model.fit(fit_x, fit_y, batch_size=64, epochs=1, verbose=0))
    rows.append(("model.fit epoch, LSTM(64), 2048 x 100", "one epoch", epoch))

    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'run':<12}  seconds")
    for name, run, value in rows:
        print(f"{name:<{width}}  {run:<12}  {value:7.3f}")
    overhead = statistics.median(later) / epoch
    print(f"\ngradient_norms once per epoch adds {overhead:.1%} to that epoch "
          f"({2048 / epoch:,.0f} samples/s bare fit).")


if __name__ == "__main__":
    main()
