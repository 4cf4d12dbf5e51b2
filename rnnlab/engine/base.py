"""What every training engine offers: submit a run, get a handle, watch its record, stop it, keep its model.

An engine decides *where* runs train (threads in this process, local worker processes, a remote Dask cluster);
code that submits work sees only `Engine` and `RunHandle`, as code that submits to Dask sees one `Client` whether it
talks to a `LocalCluster` or to `tcp://host:8786`.

    handle = engine.submit(config, listeners=[store])
    handle.record.snapshot()      # draw it; the record lives in this process whatever the engine
    handle.stop(); handle.join(10)
    handle.model.predict(handle.dataset.x_val)

Listeners are `rnnlab.training.TrainerCallback`s (any object with some of its four methods will do) and are always
called in the process that submitted the run, with the live record:

- `on_train_begin(record)`: the model is built and the probes at initialisation are in the record;
- `on_batch_end(record)`: new batch points are in the record (an engine may call it once for several batches);
- `on_epoch_end(record)`: once per whole epoch, in order, with that epoch's history row and probes present;
- `on_train_end(record)`: exactly once per submitted run, with its final status, after its weights arrived
  (`engine.live(record.run_id).model` is already there). A run stopped before it started, or whose data could not
  be made, gets this call without `on_train_begin`.

Listeners run on the engine's own thread (the training thread, or the Dask engine's dispatcher): they should return
quickly and must not `join` a run. A listener that raises is logged and skipped: a run store failing to write never
ends a learner's run.
"""

from __future__ import annotations

import abc
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Iterable

from rnnlab.config import RunConfig
from rnnlab.data import make_dataset as _make_dataset
from rnnlab.records import RunRecord

if TYPE_CHECKING:
    import keras

    from rnnlab.data import Dataset

logger = logging.getLogger(__name__)

LISTENER_METHODS = ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def make_dataset(config: RunConfig) -> "Dataset":
    """The data for `config`; raises `ValueError` with a learner's sentence (absurd sizes, unreadable files).

    The engine's one door to the data module.
    """
    return _make_dataset(config)


def notify(listeners: Iterable[Any], method: str, record: RunRecord) -> None:
    """Call `method` on every listener that has it; log and skip one that raises."""
    for listener in listeners:
        callback = getattr(listener, method, None)
        if callback is None:
            continue
        try:
            callback(record)
        except Exception:  # noqa: BLE001 - a subscriber's bug must not end the run or silence the others.
            logger.exception("Run listener %r failed in %s", listener, method)


class SafeListeners:
    """Several listeners seen as one `TrainerCallback`, each call guarded by `notify`."""

    def __init__(self, listeners: Iterable[Any]) -> None:
        self.listeners = list(listeners)

    def on_train_begin(self, record: RunRecord) -> None:
        notify(self.listeners, "on_train_begin", record)

    def on_batch_end(self, record: RunRecord) -> None:
        notify(self.listeners, "on_batch_end", record)

    def on_epoch_end(self, record: RunRecord) -> None:
        notify(self.listeners, "on_epoch_end", record)

    def on_train_end(self, record: RunRecord) -> None:
        notify(self.listeners, "on_train_end", record)


class RunHandle(abc.ABC):
    """One submitted run, as the submitting process sees it, wherever it trains."""

    #: The run's configuration and its live record (in this process; `record.snapshot()` to draw it).
    config: RunConfig
    record: RunRecord

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    @abc.abstractmethod
    def done(self) -> bool:
        """True once the run has ended: the record is final, the weights (if any) arrived, listeners were told."""

    @property
    def running(self) -> bool:
        """True while the run waits (for a worker or for the run before it) or trains."""
        return not self.done

    @property
    def queue_position(self) -> int | None:
        """1-based place among this engine's runs waiting for a free worker; None when not waiting for one.

        A run chained with `after=` that still waits for its predecessor is not in that queue: its position is
        None and `waiting_for` names the predecessor. It joins the queue (at the back) when the predecessor ends.
        """
        return None

    @property
    def waiting_for(self) -> "RunHandle | None":
        """The run this one was chained after (`after=`) while it still waits for it to end; else None."""
        return None

    @abc.abstractmethod
    def stop(self) -> None:
        """End the run: a waiting run never starts; a training run ends soon with what it has recorded."""

    @abc.abstractmethod
    def join(self, timeout: float | None = None) -> bool:
        """Wait until the run has ended (at most `timeout` seconds); True if it has."""

    # --- Pause, step, resume (issue 21; rnnlab/pausing.py). An engine that cannot pause leaves these as they are.

    def pause(self) -> bool:
        """Hold the run at its next batch boundary; False if it is not training (waiting, or ended)."""
        return False

    def step(self) -> bool:
        """Train exactly one more epoch, then hold again; False if it is not training."""
        return False

    def resume(self) -> bool:
        """Carry on training after a pause; False if it is not training."""
        return False

    @property
    def paused(self) -> bool:
        """True while the run is held at a batch boundary and its weights of that moment are here."""
        return False

    @property
    def paused_model(self) -> "keras.Model | None":
        """While paused: the network with the weights it has now, rebuilt in this process; else None."""
        return None

    @property
    @abc.abstractmethod
    def model(self) -> "keras.Model | None":
        """The trained Keras model in this process once the run has ended; None before, or if it has no weights."""

    @property
    def has_model(self) -> bool:
        """True once the run has ended with weights: `model` will give a model. Cheap: builds nothing."""
        return self.model is not None

    @property
    @abc.abstractmethod
    def dataset(self) -> "Dataset | None":
        """The run's data in this process: the one given to `submit`, else made from the config when first asked."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.run_id} {self.record.name!r} {self.record.status}>"


class Engine(abc.ABC):
    """Where runs train. One per process (see `rnnlab.engine.get_engine`); every learner's runs go through it."""

    def __init__(self) -> None:
        # Runs that have not ended are held here; ended runs stay findable while anyone (a session) holds them.
        self._registry_lock = threading.Lock()
        self._active: dict[str, RunHandle] = {}
        self._known: "weakref.WeakValueDictionary[str, RunHandle]" = weakref.WeakValueDictionary()

    @abc.abstractmethod
    def submit(self, config: RunConfig, dataset: "Dataset | None" = None, *, record_grad_norms: bool = True,
               record_gates: bool = True, listeners: Iterable[Any] = (),
               after: RunHandle | None = None, run_id: str | None = None) -> RunHandle:
        """Queue `config` to train; return its handle at once.

        `dataset` is trained on if given (an uploaded IMDB file), else made from the config where the run trains.
        `after`: start only once that run has ended (a learner's race queues its runs this way); a run stopped
        while it waits never starts and ends "stopped".
        `run_id`: the id its record takes, when the caller has already stored the run under it (the app writes a
        run's row before it submits, so a run never trains without one); a fresh id otherwise.
        """

    def live(self, run_id: str) -> RunHandle | None:
        """The handle of a run this engine still knows: not yet ended, or ended and still held somewhere."""
        with self._registry_lock:
            return self._active.get(run_id) or self._known.get(run_id)

    @abc.abstractmethod
    def describe(self) -> str:
        """One line saying where runs train, for the interface and the logs."""

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Wait until the engine can start runs (worker processes up); True if it can. Submitting earlier is fine:
        runs wait in the queue."""
        return True

    def state(self):
        """How far the engine has got in starting its workers (`rnnlab.engine.startup.EngineState`); an engine
        without workers is ready at once."""
        from rnnlab.engine.startup import EngineState  # start-up time: none; kept beside its only default (issue 19)

        return EngineState(ready=1, wanted=1)

    def close(self) -> None:
        """Stop every run and release the machinery; the engine cannot be used afterwards."""

    # --- For subclasses ---------------------------------------------------------------------------------

    def _remember(self, handle: RunHandle) -> None:
        with self._registry_lock:
            self._active[handle.run_id] = handle
            self._known[handle.run_id] = handle

    def _ended(self, handle: RunHandle) -> None:
        with self._registry_lock:
            self._active.pop(handle.run_id, None)

    def _active_handles(self) -> list[RunHandle]:
        with self._registry_lock:
            return list(self._active.values())
