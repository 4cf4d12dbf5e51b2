"""Training in a background thread, for front ends that must keep answering while a model trains.

A `TrainingJob` owns a `Trainer` and runs it on its own thread. The front end keeps the job (the dashboard keeps it
in the learner's session), reads `job.record.snapshot()` whenever it redraws, and calls `job.stop()` from a button.
Nothing here knows about any particular front end; the thread only ever writes to the run record.

    job = TrainingJob(config, record_grad_norms=True).start()
    while not job.done:
        time.sleep(0.5); print(job.record.snapshot().steps_done)

Jobs can queue: `TrainingJob(other_config, after=job).start()` waits for `job` to end before it trains, so a
race of three cells on one task runs one after the other without anything else to schedule them.
"""

from __future__ import annotations

import threading

import keras

from rnnlab.config import RunConfig
from rnnlab.records import RunRecord
from rnnlab.data import Dataset
from rnnlab.training import Trainer


class TrainingJob:
    """One run on its own daemon thread: start it, poll its record, stop it, and keep its model afterwards."""

    def __init__(self, config: RunConfig, dataset: Dataset | None = None, *, after: "TrainingJob | None" = None,
                 **trainer_options) -> None:
        self.trainer = Trainer(config, dataset, **trainer_options)
        self.after = after
        self._thread = threading.Thread(target=self._run, name=f"rnnlab-train-{self.record.run_id}", daemon=True)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def _run(self) -> None:
        if self.after is not None:
            self.after.join()
            if self.trainer._stop_requested.is_set():  # stopped while it waited: it never starts
                self.trainer.record.status = "stopped"
                return
        try:
            self.trainer.run()
        except Exception:  # noqa: BLE001 - the trainer has already written the reason into the record.
            pass

    def stop(self) -> None:
        self.trainer.stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def done(self) -> bool:
        """True once the thread has finished: the record is final and the model (if any) is trained."""
        return self._thread.ident is not None and not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True while training or waiting in a queue to train."""
        return self._thread.is_alive()

    @property
    def record(self) -> RunRecord:
        return self.trainer.record

    @property
    def config(self) -> RunConfig:
        return self.trainer.config

    @property
    def run_id(self) -> str:
        return self.trainer.record.run_id

    @property
    def model(self) -> keras.Model | None:
        """The trained model, once training is over (None before, or if it could not be built)."""
        return self.trainer.model if self.done else None

    @property
    def dataset(self) -> Dataset | None:
        return self.trainer.dataset
