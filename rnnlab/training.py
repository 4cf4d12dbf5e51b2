"""Train a configuration with Keras's own `model.fit`, streaming progress into a run record.

The trainer knows nothing of screens. It fills in a `RunRecord` batch by batch (under the record's lock, so another
thread can draw it) and tells subscribers (`TrainerCallback`) when a batch or an epoch ends. It can be stopped
between two batches from any thread, it stops by itself when the loss stops being a number, and the same
configuration and seed give the same curve.

    trainer = Trainer(config, record_grad_norms=True)
    record = trainer.run()            # blocks; call trainer.stop() from elsewhere to end it early
    trainer.model.predict(trainer.dataset.x_test)

Optional probes record what the inside of the network looks like on a fixed validation batch, before training and
after every epoch: the gate activations of one sequence (`rnnlab.introspect.trace`) and the gradient norms through
time (`rnnlab.introspect.gradient_norms`). A task may also ask for its own record after every epoch
(`Task.epoch_probes`: text generation stores a short sample of text in `record.generated`); the trainer runs them
without knowing what they are.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from rnnlab.config import RunConfig
from rnnlab.data import Dataset, get_task, make_dataset
from rnnlab.introspect.gates import trace
from rnnlab.introspect.gradients import gradient_norms
from rnnlab.models import build_model, history_callbacks, layer_table
from rnnlab.pausing import PauseGate
from rnnlab.records import RunRecord, Status, TrainerCallback  # TrainerCallback lived here: still importable

# Sequences in the gradient probe batch: enough for a stable norm, few enough to cost little each epoch.
GRADIENT_PROBE_SIZE = 32


class Trainer:
    """Builds the model for a configuration and trains it, recording everything in `self.record`."""

    def __init__(self, config: RunConfig, dataset: Dataset | None = None, *,
                 callbacks: Iterable[TrainerCallback] = (), record_grad_norms: bool = False,
                 record_gates: bool = False, run_id: str | None = None, model_maker=None,
                 pause_limit: float | None = None) -> None:
        self.config = config
        # How the model is made: `build_model`, or a warm worker's `GraphCache.model_for` (the same weights, a
        # graph it traced before: rnnlab/engine/warm_graphs.py).
        self.model_maker = model_maker or build_model
        self.dataset = dataset
        self.callbacks = list(callbacks)
        self.record_grad_norms = record_grad_norms
        self.record_gates = record_gates
        self.record = RunRecord(config, run_id=run_id) if run_id else RunRecord(config)
        self.model: keras.Model | None = None
        self._stop_requested = threading.Event()
        self._epoch_probes: dict = {}
        # A served app (and its workers) ends a run that trains past RNNLAB_MAX_RUN_MINUTES; the command line does not.
        from rnnlab import settings

        current = settings.current()
        self.time_limit = current.max_run_minutes * 60 if current.confined else math.inf
        # Pause, step, resume (rnnlab/pausing.py); `pause_limit` (seconds) comes from the server that submitted the
        # run, else from this process's RNNLAB_MAX_PAUSE_MINUTES.
        self.pause_gate = PauseGate(current.max_pause_minutes * 60 if pause_limit is None else pause_limit)

    def stop(self) -> None:
        """Ask the run to end after the batch in progress; safe to call from any thread."""
        self._stop_requested.set()
        self.pause_gate.release()

    def run(self) -> RunRecord:
        """Train to the end (or until stopped, or diverged) and return the finished record."""
        record = self.record
        record.created = time.time()
        record.status = Status.RUNNING
        started = time.perf_counter()
        try:
            if self.dataset is None:
                self.dataset = make_dataset(self.config)
            dataset = self.dataset
            self.model = self.model_maker(self.config, dataset)
            self._epoch_probes = get_task(self.config.task).epoch_probes(self.config, dataset)
            record.params = int(self.model.count_params())
            record.layers = layer_table(self.model)
            record.baseline_loss = dataset.baseline_loss
            if dataset.kind in ("binary", "multiclass"):
                record.majority = {part: [float(np.bincount(np.asarray(y, dtype=np.int64).ravel()).max() / len(y)),
                                          len(y)] for part, y in (("validation", dataset.y_val),
                                                                  ("test", dataset.y_test)) if len(y)}
            record.steps_per_epoch = math.ceil(len(dataset.x_train) / self.config.batch_size)
            bridge = _ProgressBridge(self, started)
            self.model.fit(
                _training_batches(dataset, self.config), epochs=self.config.epochs,
                validation_data=(dataset.x_val, dataset.y_val), callbacks=[*history_callbacks(dataset), bridge],
                shuffle=False, verbose=0)
            if record.status == Status.RUNNING:
                record.status = Status.STOPPED if self._stop_requested.is_set() else Status.FINISHED
            if record.status in (Status.FINISHED, Status.STOPPED) and record.epochs_done:
                self._evaluate_test_set()
        except Exception as error:
            record.status = Status.FAILED
            record.message = f"Training failed: {error}"
            raise
        finally:
            record.wall_seconds = time.perf_counter() - started - record.paused_seconds  # training time alone
            record.samples_per_second = throughput(len(self.dataset.x_train) if self.dataset else 0,
                                                    record.epoch_seconds)
            for callback in self.callbacks:
                callback.on_train_end(record)
        return record

    def _evaluate_test_set(self) -> None:
        results = self.model.evaluate(self.dataset.x_test, self.dataset.y_test, verbose=0, return_dict=True)
        self.record.test_loss = float(results["loss"])
        if "accuracy" in results:
            self.record.test_accuracy = float(results["accuracy"])

    # --- Probes -----------------------------------------------------------------------------------------

    def probe_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed validation sequences the probes look at, the same every epoch."""
        return self.dataset.x_val[:GRADIENT_PROBE_SIZE], self.dataset.y_val[:GRADIENT_PROBE_SIZE]

    def _probe(self) -> tuple[dict | None, dict | None]:
        x_probe, y_probe = self.probe_batch()
        grad_norms = gates = None
        if self.record_grad_norms:
            grad_norms = gradient_norms(self.model, x_probe, y_probe)
        if self.record_gates:
            gates = trace(self.model, x_probe[:1])
        return grad_norms, gates


class _ProgressBridge(keras.callbacks.Callback):
    """Keras callback that copies Keras's logs into the run record and relays them to the trainer's subscribers."""

    def __init__(self, trainer: Trainer, started: float) -> None:
        super().__init__()
        self.trainer = trainer
        self.record = trainer.record
        self.started = started
        self.epoch = 0
        self.epoch_started = 0.0
        self.last_batch_done = 0.0
        self.batches_this_epoch = 0

    def on_train_begin(self, logs=None) -> None:
        grad_norms, gates = self.trainer._probe()
        with self.record.locked():
            self.record.grad_norms_at_init = grad_norms
            self.record.gates_at_init = gates
        for callback in self.trainer.callbacks:
            callback.on_train_begin(self.record)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch = epoch
        self.batches_this_epoch = 0
        self.epoch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = float(logs["loss"])
        now = time.perf_counter()
        self.last_batch_done = now
        self.batches_this_epoch += 1
        record = self.record
        with record.locked():
            record.batch_progress.append(self.epoch + self.batches_this_epoch / record.steps_per_epoch)
            record.batch_loss.append(loss)
            record.wall_seconds = now - self.started
            if len(record.batch_loss) == 1:
                record.first_batch_seconds = record.wall_seconds
        if not math.isfinite(loss):
            record.status = Status.DIVERGED
            record.message = (
                f"The loss became {'NaN' if math.isnan(loss) else 'infinite'} in epoch {self.epoch + 1} "
                f"(batch {self.batches_this_epoch}): the gradients exploded and the weights overflowed. "
                "Try a smaller learning rate, gradient clipping (clipnorm 1), tanh instead of relu, "
                "or a recurrent initial scale of 1 or less.")
            self.model.stop_training = True
        elif now - self.started > self.trainer.time_limit and record.status == "running":
            record.status = "stopped"
            record.message = (f"This run was ended after {self.trainer.time_limit / 60:g} minutes, the longest a run "
                              "may train on this server; what it learned so far is kept. Train fewer epochs or "
                              "sequences to finish within it.")
            self.model.stop_training = True
        for callback in self.trainer.callbacks:
            callback.on_batch_end(record)
        if self.batches_this_epoch < record.steps_per_epoch:  # an epoch's last batch is held after its validation
            self._hold()
        # Checked after the subscribers, so a stop asked for by one of them takes effect at this batch.
        if self.trainer._stop_requested.is_set():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None) -> None:
        record = self.record
        # Keras validates and reports an epoch even when it was cut short; only whole, finite epochs are history.
        if self.batches_this_epoch < record.steps_per_epoch or record.status == Status.DIVERGED:
            return
        epoch_seconds = self.last_batch_done - self.epoch_started
        grad_norms, gates = self.trainer._probe()
        probed = {name: probe(self.model) for name, probe in self.trainer._epoch_probes.items()}
        with record.locked():
            for key, value in logs.items():
                record.history.setdefault(key, []).append(float(value))
            record.epoch_seconds.append(epoch_seconds)
            if grad_norms is not None:
                record.grad_norms.append(grad_norms)
            if gates is not None:
                record.gates.append(gates)
            for name, value in probed.items():  # the task's own per-epoch lists, e.g. record.generated
                getattr(record, name).append(value)
            record.wall_seconds = time.perf_counter() - self.started
        for callback in self.trainer.callbacks:
            callback.on_epoch_end(record)
        if epoch + 1 < self.trainer.config.epochs:
            self._hold()
        if self.trainer._stop_requested.is_set():  # stopped while it was held here: no batch of the next epoch
            self.model.stop_training = True

    def _hold(self) -> None:
        """Wait here while the run is paused (rnnlab/pausing.py). Time paused is not training time: the clocks move
        on by it, so the run's seconds, its epochs' seconds and the time limit count training alone."""
        record = self.record
        if record.status != Status.RUNNING or self.model.stop_training or self.trainer._stop_requested.is_set():
            return
        held = self.trainer.pause_gate.boundary(record, self.model)
        self.started += held
        self.epoch_started += held
        if self.trainer.pause_gate.expired and record.status == Status.RUNNING:
            record.status = Status.STOPPED
            record.message = self.trainer.pause_gate.limit_message()
            self.model.stop_training = True


def _training_batches(dataset: Dataset, config: RunConfig) -> tf.data.Dataset:
    # An explicitly seeded shuffle, so the batch order (and so the curve) depends on the seed alone, not on
    # whatever else this process has drawn from TensorFlow's global random state.
    batches = tf.data.Dataset.from_tensor_slices((dataset.x_train, dataset.y_train))
    batches = batches.shuffle(len(dataset.x_train), seed=config.seed, reshuffle_each_iteration=True)
    return batches.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)


def throughput(samples: int, epoch_seconds: list[float]) -> float:
    """Training sequences (reviews, text windows) per second over epochs 2..N: the first epoch also pays for graph
    tracing."""
    timed = epoch_seconds[1:] or epoch_seconds
    total = sum(timed)
    return samples * len(timed) / total if total > 0 else math.nan


def train(config: RunConfig, dataset: Dataset | None = None, **options) -> RunRecord:
    """Train `config` and return its record; `options` go to `Trainer` (callbacks, record_grad_norms, ...)."""
    return Trainer(config, dataset, **options).run()
