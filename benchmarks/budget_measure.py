"""Measure what a run really costs, in a fresh process: its peak memory and its seconds per epoch.

This is the yardstick `rnnlab.budget` is calibrated against (`bench_budget.py`) and tested with
(`tests/test_budget.py`); it lives beside the benchmarks because nothing in the app uses it. Each measurement runs in its own
Python process, so one run's memory high-water mark never includes another's, and TensorFlow starts cold as it
does in a worker. The child builds random data of the requested shape, the model the configuration describes
and the training pipeline the trainer uses, then trains:

- `measure_memory`: a couple of training batches, then the validation set; it reports the resident memory after
  importing TensorFlow and making the data (`baseline_bytes`) and the process's peak (`peak_bytes`,
  `VmHWM`, which covers everything the process ever held, data and tracing included).
- `measure_time`: a few whole epochs (validation included); it reports each epoch's wall time.

    from budget_measure import measure_memory        # from benchmarks/ (tests: benchmarks.budget_measure)
    shape = Shape(features=2, tokens=False, vocab=0, outputs=1, every_step=False, train_items=512, eval_items=256)
    measure_memory(RunConfig(task="adding", seq_len=400, units=64), shape).peak_bytes

The model and pipeline mirror `rnnlab.models` and `rnnlab.training` layer for layer (Input, optional Embedding,
1-4 recurrent layers, optionally Bidirectional, all but the last returning sequences, optional Dropout, a Dense
head; `from_tensor_slices` → full shuffle → batch → prefetch), and they also build the coming text-generation
shape (every layer returns sequences; a Dense(vocab) head answers at every step). They are rebuilt here from
plain Keras, so this module, like `rnnlab.budget`, depends on no data module and survives their reorganisation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

# Run as a script (the child process) this folder is first on the path, not the repository that holds `rnnlab`.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from rnnlab.budget import Shape  # noqa: E402
from rnnlab.config import RunConfig  # noqa: E402


@dataclass(frozen=True)
class Measurement:
    """What one measured run cost. Bytes are resident memory; seconds are wall time per whole epoch."""

    baseline_bytes: int  # resident after importing TensorFlow and making the data, before any model exists
    peak_bytes: int  # the process's high-water mark, training included
    epoch_seconds: tuple[float, ...] = ()  # each epoch's wall time, validation included (time mode only)
    load_average: float = 0.0  # the machine's 1-minute load average when the run ended, to judge the noise

    @property
    def seconds_per_epoch(self) -> float:
        """Median of epochs 2..N (the first also traces the graph)."""
        timed = sorted(self.epoch_seconds[1:] or self.epoch_seconds)
        return timed[len(timed) // 2] if len(timed) % 2 else (timed[len(timed) // 2 - 1] + timed[len(timed) // 2]) / 2


def measure_memory(config: RunConfig, shape, *, batches: int = 2, timeout: float = 600) -> Measurement:
    """Peak memory of `config` on data of `shape` over a few training batches, measured in a fresh process."""
    return _run_child({"config": config.to_dict(), "shape": asdict(shape), "mode": "memory", "batches": batches},
                      timeout)


def measure_time(config: RunConfig, shape, *, epochs: int = 3, timeout: float = 1800) -> Measurement:
    """Wall seconds of each of `epochs` whole epochs of `config` on data of `shape`, in a fresh process."""
    return _run_child({"config": config.to_dict(), "shape": asdict(shape), "mode": "time", "epochs": epochs},
                      timeout)


def _run_child(request: dict, timeout: float) -> Measurement:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), json.dumps(request)],
                               capture_output=True, text=True, timeout=timeout, env=environment, cwd=str(ROOT))
    if completed.returncode != 0:
        raise RuntimeError(f"The measuring process failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["epoch_seconds"] = tuple(result["epoch_seconds"])
    return Measurement(**result)


# --- The child process ------------------------------------------------------------------------------------------


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # reported in kB
    return 0


def _resident_bytes() -> int:
    return _status_bytes("VmRSS")


def _peak_bytes() -> int:
    """The high-water mark of this process's own memory (VmHWM). Not `getrusage().ru_maxrss`: Linux carries that
    over from the parent through fork and exec, so a child of a 1.2 GB test process reported 1.2 GB whatever it
    trained."""
    return _status_bytes("VmHWM")


def _make_data(config: RunConfig, shape, items: int, rng):
    """Random inputs and targets of the shape a data source would give, made without float64 temporaries."""
    import numpy as np

    steps = config.seq_len
    if shape.tokens:
        x = rng.integers(0, shape.vocab, size=(items, steps), dtype=np.int32)  # (items, T)
    else:
        x = rng.random((items, steps, shape.features), dtype=np.float32)  # (items, T, features)
    if shape.every_step:
        y = rng.integers(0, shape.outputs, size=(items, steps), dtype=np.int32)  # (items, T): the next token
    elif shape.outputs > 1:
        y = rng.integers(0, shape.outputs, size=(items,), dtype=np.int32)  # (items,): a class index
    else:
        y = rng.random((items, 1), dtype=np.float32)  # (items, 1): a number to regress
    return x, y


def _build(config: RunConfig, shape):
    import keras

    keras.utils.set_random_seed(config.seed)
    cells = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if shape.tokens:
        layers = [keras.Input(shape=(config.seq_len,), dtype="int32"),  # (batch, T)
                  keras.layers.Embedding(shape.vocab, shape.features)]  # (batch, T, embedding)
    else:
        layers = [keras.Input(shape=(config.seq_len, shape.features))]  # (batch, T, features)
    for index in range(config.layers):
        recurrent = cells[config.cell](config.units, activation=config.activation,
                                       return_sequences=shape.every_step or index < config.layers - 1)
        layers.append(keras.layers.Bidirectional(recurrent) if config.bidirectional else recurrent)
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout))
    if shape.every_step:
        layers.append(keras.layers.Dense(shape.outputs))  # (batch, T, vocab) logits
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    elif shape.outputs > 1:
        layers.append(keras.layers.Dense(shape.outputs, activation="softmax"))  # (batch, classes)
        loss = "sparse_categorical_crossentropy"
    else:
        layers.append(keras.layers.Dense(1))  # (batch, 1)
        loss = "mse"
    model = keras.Sequential(layers)
    optimizer = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
                 "sgd": keras.optimizers.SGD}[config.optimizer](learning_rate=config.learning_rate)
    model.compile(optimizer=optimizer, loss=loss)
    return model


class _EpochClock:
    """A Keras callback (made lazily, so importing this module does not import Keras) timing whole epochs."""

    def __new__(cls):
        import time

        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.started)

        return Clock()


def _child(request: dict) -> dict:
    config = RunConfig.from_dict(request["config"])
    shape = Shape(**request["shape"])
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(config.seed)
    validation_items = max(shape.eval_items // 2, 1)
    x_train, y_train = _make_data(config, shape, shape.train_items, rng)
    x_val, y_val = _make_data(config, shape, validation_items, rng)
    x_test, y_test = _make_data(config, shape, shape.eval_items - validation_items, rng)  # held, as the app holds it
    baseline = _resident_bytes()

    model = _build(config, shape)
    # The trainer's pipeline (rnnlab.training._training_batches): a full shuffle buffer, then batches.
    batches = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    batches = batches.shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True)
    batches = batches.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)
    clock = _EpochClock()
    if request["mode"] == "memory":
        # The whole validation set, as the trainer validates: Keras's array adapter copies it. (Limiting it with
        # validation_steps is no shortcut: with a step limit Keras held hundreds of MB more, which the app never does.)
        model.fit(batches.repeat(), epochs=1, steps_per_epoch=request["batches"], validation_data=(x_val, y_val),
                  verbose=0)
    else:
        model.fit(batches, epochs=request["epochs"], validation_data=(x_val, y_val), callbacks=[clock], verbose=0)
    del x_test, y_test
    return {"baseline_bytes": baseline, "peak_bytes": _peak_bytes(), "epoch_seconds": clock.seconds,
            "load_average": os.getloadavg()[0]}


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
