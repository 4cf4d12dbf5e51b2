"""Pause, step and resume a run at a batch boundary: the gate the trainer waits at, wherever it trains.

TensorFlow Playground's best-loved control, for recurrent networks: a teacher pauses a run mid-training, looks
inside the paused network (its current weights), trains one more epoch, and carries on.

    trainer = Trainer(config)                   # every trainer has a gate: trainer.pause_gate
    trainer.pause_gate.pause()                  # from any thread: hold at the next batch boundary
    trainer.pause_gate.step()                   # train exactly one more epoch (as many batches), then hold again
    trainer.pause_gate.resume()                 # carry on
    trainer.stop()                              # still ends it, paused or not

The trainer calls `PauseGate.boundary` after every batch but an epoch's last, and after every epoch but the run's
last (an epoch's last batch is held after Keras has validated it and the probes have run, so a run paused there has
that epoch's history row and probes). While it holds, the training thread waits on a condition; the batch order and
every random draw are those of an uninterrupted run, because nothing is drawn while it waits. When it starts to hold
it copies the weights (`model.get_weights()`) and hands them to its watchers, `on_pause(record, weights)`, so the
paused network can be looked at elsewhere (in the web server) while the trainer waits; `on_resume(record)` follows
when it carries on. A run held longer than `limit_seconds` (the server's `RNNLAB_MAX_PAUSE_MINUTES`) is stopped with
`PAUSE_LIMIT_MESSAGE`, so a forgotten tab cannot keep a worker.

`PausedWeights` is what a run's handle keeps in the web server: the weights of the latest pause, and the model
rebuilt from them when a page first asks (`build_model` with the run's seed, then `set_weights`).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Iterable

from rnnlab.records import RunRecord

if TYPE_CHECKING:
    import keras

    from rnnlab.config import RunConfig
    from rnnlab.data import Dataset

PAUSE_LIMIT_MESSAGE = ("This run was stopped after {minutes:g} minutes paused, the longest a paused run may keep its "
                       "worker on this server; what it learned up to the pause is kept. Train it again to go on.")


def pause_position(record: RunRecord) -> tuple[int, int, int]:
    """(epoch, batch, batches per epoch) of the last batch `record` trained, counting from 1: (2, 32, 32) after the
    second epoch of 32 batches, (3, 5, 32) five batches into the third."""
    per_epoch = record.steps_per_epoch
    if not per_epoch or not record.steps_done:
        return 0, 0, per_epoch
    epoch, batch = divmod(record.steps_done, per_epoch)
    return (epoch, per_epoch, per_epoch) if batch == 0 else (epoch + 1, batch, per_epoch)


def paused_text(record: RunRecord) -> str:
    """'Paused after epoch 2, batch 17 of 32'."""
    epoch, batch, per_epoch = pause_position(record)
    return f"Paused after epoch {epoch}, batch {batch:,} of {per_epoch:,}"


class PauseGate:
    """Where a trainer waits while its run is paused; every method is safe from any thread."""

    def __init__(self, limit_seconds: float = float("inf"), watchers: Iterable[Any] = ()) -> None:
        self.limit_seconds = limit_seconds
        self.watchers = list(watchers)  # objects with on_pause(record, weights) and/or on_resume(record)
        self._condition = threading.Condition()
        self._hold = False  # a pause is wanted
        self._steps = 0  # epochs asked for by Step and not yet handed out as batches
        self._budget = 0  # batch boundaries to pass before holding again
        self._released = False  # the run is ending: never hold again
        self.holding = False  # the trainer is waiting here now
        self.expired = False  # the last hold passed the limit: the trainer stops the run

    def pause(self) -> None:
        """Hold at the next batch boundary (a Step in progress is cancelled: hold at once)."""
        with self._condition:
            self._hold, self._steps, self._budget = True, 0, 0
            self._condition.notify_all()

    def step(self) -> None:
        """Train exactly one more epoch's worth of batches, then hold again (two presses: two epochs)."""
        with self._condition:
            self._hold = True
            self._steps += 1
            self._condition.notify_all()

    def resume(self) -> None:
        """Carry on training."""
        with self._condition:
            self._hold, self._steps, self._budget = False, 0, 0
            self._condition.notify_all()

    def release(self) -> None:
        """The run is stopping: let it through now and never hold it again."""
        with self._condition:
            self._released = True
            self._condition.notify_all()

    def boundary(self, record: RunRecord, model: "keras.Model") -> float:
        """Called by the trainer at a batch boundary: hold here while paused; return the seconds held."""
        with self._condition:
            self._take_steps(record)
            if self._budget:
                self._budget -= 1
            if not self._hold or self._budget or self._released:
                return 0.0
        weights = model.get_weights()  # a copy: the watchers may rebuild the network while training goes on later
        started, since = time.monotonic(), time.time()
        with record.locked():
            record.paused_since = since
        self.holding = True
        self._tell("on_pause", record, weights)
        with self._condition:
            while self._hold and not self._released:
                self._take_steps(record)
                if self._budget:
                    break
                left = self.limit_seconds - (time.monotonic() - started)
                if left <= 0:
                    self.expired = True
                    break
                self._condition.wait(min(left, 3600.0))
        held = time.monotonic() - started
        with record.locked():
            record.paused_since = 0.0
            record.paused_seconds += held
        self.holding = False
        self._tell("on_resume", record)
        return held

    def _take_steps(self, record: RunRecord) -> None:
        # Under the condition: Step's epochs become batch boundaries to pass, once the epoch's length is known.
        if self._steps and record.steps_per_epoch:
            self._budget += self._steps * record.steps_per_epoch
            self._steps = 0

    def _tell(self, method: str, *arguments) -> None:
        for watcher in self.watchers:
            callback = getattr(watcher, method, None)
            if callback is not None:
                callback(*arguments)

    def limit_message(self) -> str:
        return PAUSE_LIMIT_MESSAGE.format(minutes=self.limit_seconds / 60)


class PausedWeights:
    """In the web server: the weights a run sent at its latest pause, and the network rebuilt from them on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._weights: list | None = None
        self._model: "keras.Model | None" = None
        self.steps_done = 0  # where the run was when these weights were taken

    def keep(self, weights: list, steps_done: int) -> None:
        with self._lock:
            self._weights, self._model, self.steps_done = weights, None, steps_done

    def on_pause(self, record: RunRecord, weights: list) -> None:  # as a gate's watcher, in the same process
        self.keep(weights, record.steps_done)

    def on_resume(self, record: RunRecord) -> None:
        self.drop()

    def drop(self) -> None:
        with self._lock:
            self._weights = self._model = None

    @property
    def held(self) -> bool:
        return self._weights is not None

    def model(self, config: "RunConfig", dataset: "Dataset | None") -> "keras.Model | None":
        """The paused network (built once per pause), or None if there are no weights or no data to build it on."""
        with self._lock:
            if self._model is None and self._weights is not None and dataset is not None:
                # Start-up time: Keras is imported by the web server only when it first needs a model.
                from rnnlab.models import build_model

                model = build_model(config, dataset)
                model.set_weights(self._weights)
                self._model = model
            return self._model if self._weights is not None else None
