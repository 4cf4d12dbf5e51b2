"""The thread engine: every run trains on its own daemon thread in this process (`RNNLAB_WORKERS=0`).

This is how the dashboard trained before it had worker processes, and what suits a small host or a notebook: no
extra processes, no extra memory, the trained model is the very object the trainer built. Its limits, measured on
two cores (see `rnnlab/engine/__init__.py`): every run shares this process's GIL and memory, so three learners
training at once each wait seconds for their first loss point, a run too large for the machine takes the whole
process (the web server) with it, and `stop()` takes effect only between two batches: a 30 s batch runs to its end.

A `TrainingJob` owns a `Trainer` and runs it on its own thread. The front end keeps the job, reads
`job.record.snapshot()` whenever it redraws, and calls `job.stop()` from a button. Nothing here knows about any
particular front end; the thread only ever writes to the run record.

    job = TrainingJob(config, record_grad_norms=True).start()
    while not job.done:
        time.sleep(0.5); print(job.record.snapshot().steps_done)

Jobs can queue: `TrainingJob(other_config, after=job).start()` waits for `job` to end before it trains, so a
race of three cells on one task runs one after the other without anything else to schedule them. Jobs never wait
for each other otherwise, so `queue_position` is always None here.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

import keras

from rnnlab.config import RunConfig
from rnnlab.engine.base import Engine, RunHandle, SafeListeners, make_dataset
from rnnlab.pausing import PausedWeights
from rnnlab.records import RunRecord, Status, interrupt
from rnnlab.training import Trainer, TrainerCallback

# How often a chained job checks whether it was stopped while it waits for the job before it.
_WAIT_POLL_SECONDS = 0.1


class TrainingJob(RunHandle):
    """One run on its own daemon thread: start it, poll its record, stop it, and keep its model afterwards."""

    def __init__(self, config: RunConfig, dataset=None, *, after: RunHandle | None = None,
                 listeners: Iterable[Any] = (), on_end: Callable[["TrainingJob"], None] | None = None,
                 **trainer_options) -> None:
        # First in line, so that listeners told the run has ended can already have its model.
        self._ended_marker = _EndedMarker()
        callbacks = [self._ended_marker, *trainer_options.pop("callbacks", ())]
        listeners = list(listeners)
        if listeners:
            callbacks.append(SafeListeners(listeners))
        self.trainer = Trainer(config, dataset, callbacks=callbacks, **trainer_options)
        self.after = after
        self._on_end = on_end
        self._training = False
        self._thread = threading.Thread(target=self._run, name=f"rnnlab-train-{self.record.run_id}", daemon=True)
        self._paused = PausedWeights()  # the weights of the latest pause, a copy: the trainer's model goes on later
        self.trainer.pause_gate.watchers.append(self._paused)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def _run(self) -> None:
        record = self.trainer.record
        try:
            if self.after is not None:
                while not self.after.join(_WAIT_POLL_SECONDS) and not self._stop_requested:
                    pass
            if self._stop_requested:  # stopped while it waited: it never starts
                record.status = Status.STOPPED
                self._end_untrained()
                return
            if self.trainer.dataset is None:
                record.created = time.time()
                try:
                    self.trainer.dataset = make_dataset(self.config)
                except ValueError as error:  # the learner's sentence (absurd sizes, a bad file), no traceback
                    record.status = Status.FAILED
                    record.message = str(error)
                    self._end_untrained()
                    return
            self._training = True
            try:
                self.trainer.run()
            except Exception:  # noqa: BLE001 - the trainer has already written the reason into the record.
                pass
        finally:
            if self._on_end is not None:
                self._on_end(self)

    def _end_untrained(self) -> None:
        # Not through the trainer: it never ran. The same callbacks hear the end, the marker first.
        for callback in self.trainer.callbacks:
            callback.on_train_end(self.trainer.record)

    @property
    def _stop_requested(self) -> bool:
        return self.trainer._stop_requested.is_set()

    def stop(self) -> None:
        """End the run after the batch in progress (a thread cannot be interrupted mid-batch)."""
        self.trainer.stop()

    def pause(self) -> bool:
        return self._control(self.trainer.pause_gate.pause)

    def step(self) -> bool:
        return self._control(self.trainer.pause_gate.step)

    def resume(self) -> bool:
        return self._control(self.trainer.pause_gate.resume)

    def _control(self, action) -> bool:
        if not self._training or self.done or self.record.status != Status.RUNNING:
            return False
        action()
        return True

    @property
    def paused(self) -> bool:
        return self.record.paused and self._paused.held and not self.done

    @property
    def paused_model(self) -> keras.Model | None:
        return self._paused.model(self.config, self.dataset) if self.paused else None

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.ident is None:  # not started yet
            return False
        self._thread.join(timeout)
        return self.done

    @property
    def done(self) -> bool:
        """True once the thread has finished: the record is final and the model (if any) is trained."""
        return self._thread.ident is not None and not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True while training or waiting in a queue to train."""
        return self._thread.is_alive()

    @property
    def waiting_for(self) -> RunHandle | None:
        if self.after is not None and not self._training and not self.after.done and not self.done:
            return self.after
        return None

    @property
    def record(self) -> RunRecord:
        return self.trainer.record

    @property
    def config(self) -> RunConfig:
        return self.trainer.config

    @property
    def model(self) -> keras.Model | None:
        """The trained model once training is over, from `on_train_end` on (None before, or if none was built)."""
        return self.trainer.model if self.done or self._ended_marker.ended else None

    @property
    def dataset(self):
        return self.trainer.dataset


class _EndedMarker(TrainerCallback):
    """The trainer's first callback: notes that training is over before any listener hears it."""

    ended = False
    interrupted = False  # set when the engine closes under the run: it ends "interrupted", not "stopped"

    def on_train_end(self, record: RunRecord) -> None:
        self.ended = True
        if self.interrupted and record.status == "stopped":
            interrupt(record)  # before any listener (the store) hears how it ended


class ThreadEngine(Engine):
    """Runs train on threads of this process, all at once; see the module docstring for when that suits."""

    def submit(self, config: RunConfig, dataset=None, *, record_grad_norms: bool = True, record_gates: bool = True,
               listeners: Iterable[Any] = (), after: RunHandle | None = None, run_id: str | None = None) -> TrainingJob:
        job = TrainingJob(config, dataset, after=after, listeners=listeners, on_end=self._ended, run_id=run_id,
                          record_grad_norms=record_grad_norms, record_gates=record_gates)
        self._remember(job)
        return job.start()

    def describe(self) -> str:
        return "threads in this process"

    def close(self) -> None:
        for handle in self._active_handles():
            handle._ended_marker.interrupted = True
            handle.stop()
