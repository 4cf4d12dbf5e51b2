"""The Dask engine: runs train in worker processes (a `LocalCluster`, or a cluster given by address).

Why processes: on two cores, three learners' runs on threads of the web server queued for one GIL (graph tracing
is Python work) and waited 5 s for their first loss point, and one allowed but huge configuration took the server
to 23.5 GB and killed it. In a worker process a run has its own interpreter, its own memory limit, and can be ended
at once; the web server only keeps each run's record and, once it has ended, its weights.

    engine = DaskEngine()                                # 2 warm local workers on a 2-core machine
    engine = DaskEngine("tcp://scheduler:8786")          # an existing cluster
    handle = engine.submit(config, listeners=[store])    # see rnnlab.engine.base for the handle

How it works (each choice measured in benchmarks/bench_learners.py):

- Queue. The engine keeps its own first-come queue and hands Dask a run only when a worker thread is free, so a
  waiting run never sits behind another on a busy worker, never dies with a worker it never ran on, is stopped by
  simply leaving the queue, and knows its place (`queue_position`). A run chained with `after=` joins the back of
  the queue when the run before it ends.
- Progress. The worker publishes events with `Worker.log_event` on one topic per engine; `Client.subscribe_topic`
  delivers them, in order, on the client's event loop, which only puts them in an inbox. One dispatcher thread
  applies them to each handle's mirror `RunRecord` under the record's lock and then calls the run's listeners, so
  listeners run in this process, one at a time, in order, never in a worker. The task's result (the final record
  and the weights) arrives through the same dispatcher after the run's last event, and replaces the mirror's fields.
- Stop. A `distributed.Event` per run; a queued run leaves the queue, a dispatched one is stopped in its worker
  (rnnlab/engine/worker.py): cleanly after the batch in progress, or by ending the worker process one second later.
  A run whose worker was ended this way ends "stopped" with the history it had streamed and without weights.
- Faults. `allowed-failures` is 0, so a run whose worker died (its memory limit passed, a crash) is not retried on
  another worker; it ends "failed" with `WORKER_DIED`, the nanny restarts the worker, the queue carries on.

The local cluster (`threads_per_worker=1`: one run per worker; `processes=True`; `dashboard_address=None`; a memory
limit per worker, past 95% of which the nanny ends the worker) runs in a process of its own, never in the web
server: see rnnlab/engine/local.py for why and for its Dask settings. Workers import TensorFlow and the trainer when
they start (`WarmWorker`), restarted ones too; the local cluster's are forked from a forkserver that has imported
them already (local.py), so for them that costs nothing.

A cluster given by address must have `rnnlab` (and its requirements) importable on every worker, the same
versions as here. Start its scheduler with `DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0` and, if runs record
large probes, `DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH=100`, and its workers with
`DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False` (see rnnlab/engine/local.py). A run is never trained twice even
without the first (a retried run ends "failed" at once), but a retry would take a second worker's time.
"""

from __future__ import annotations

import logging
import math
import pickle
import queue
import threading
import time
import uuid
from concurrent.futures import CancelledError
from typing import Any, Iterable

import distributed

from rnnlab import settings
from rnnlab.settings import GB, default_worker_count
from rnnlab.config import RunConfig
from rnnlab.engine.base import Engine, RunHandle, make_dataset, notify
from rnnlab.engine import queueing
from rnnlab.engine import remote_pause
from rnnlab.engine.local import LocalClusterHost
from rnnlab.engine.routing import TrainedGraphs, route_key
from rnnlab.engine.startup import FAILED, READY, STARTING, EngineState
from rnnlab.engine.worker import (WARM_TOPIC, WarmWorker, attempt_event_name, record_from_fields, stop_event_name,
                                  train_in_worker)
from rnnlab.pausing import PausedWeights
from rnnlab.records import INTERRUPTED_MESSAGE, RunRecord, Status, interrupt

logger = logging.getLogger(__name__)

WORKER_DIED = ("The worker training this run stopped: it {cause} or crashed. Everyone else's runs carry on; "
               "try fewer units, fewer layers or shorter sequences.")
STOPPED_MID_BATCH = ("Stopped in the middle of a batch, so its worker was ended to stop it at once: the weights "
                     "of a run stopped mid-batch are not kept. The curves it recorded up to then are.")
CLUSTER_FAILED = "Training could not start: the training cluster {what} ({error})."

# How long the local cluster may take to start its workers (each imports TensorFlow).
START_TIMEOUT_SECONDS = 120
# How often the dispatcher looks again at the queue without news (a restarted worker, a chained run's predecessor
# on another engine), and how stale its count of worker threads may be.
_TICK_SECONDS = 0.2
_SLOTS_MAX_AGE_SECONDS = 0.5


class DaskRun(RunHandle):
    """A run submitted to a `DaskEngine`: its mirror record here, its training in a worker process."""

    def __init__(self, engine: "DaskEngine", config: RunConfig, dataset, options: dict, listeners: Iterable[Any],
                 after: RunHandle | None, run_id: str | None = None) -> None:
        self.config = config
        self.record = RunRecord(config, run_id=run_id) if run_id else RunRecord(config)
        self.worker_pid: int | None = None  # the process training it, once started
        self.worker_address: str | None = None
        self._engine = engine
        self._dataset = dataset
        self._dataset_given = dataset is not None
        self._options = options
        self._listeners = list(listeners)
        self._after = after
        self._ended = threading.Event()  # set once the listeners have had on_train_end
        self._final = False  # the record is final and the weights (if any) are here
        # The fields below are read and written under the engine's lock.
        self._stop_requested = False
        self._dispatched = False
        self._started = False
        self._attempts = 0
        self._route_key = route_key(config, dataset)  # which workers' kept graphs it can reuse (routing.py)
        self._routed_to: str | None = None  # the worker it was sent to for its graph, until it says where it is
        self._future: distributed.Future | None = None
        self._epochs_announced = 0  # epochs whose on_epoch_end the listeners have had
        self._memory_limit: int | None = None
        self._weights: list | None = None
        self._model = None
        self._model_lock = threading.Lock()
        self._dataset_lock = threading.Lock()
        self._presses: list[str] = []  # pause, step, resume, in press order (rnnlab/engine/remote_pause.py)
        self._paused = PausedWeights()  # the weights the worker sent at its latest pause

    @property
    def done(self) -> bool:
        return self._ended.is_set()

    @property
    def queue_position(self) -> int | None:
        return self._engine._queue_position(self)

    @property
    def waiting_for(self) -> RunHandle | None:
        return self._engine._waiting_for(self)

    @property
    def wait_seconds(self) -> float | None:
        """About how long until a worker takes this queued run (`rnnlab.engine.queueing`); None if unknown."""
        return self._engine._wait_seconds(self)

    def stop(self) -> None:
        self._engine._stop(self)

    def join(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def pause(self) -> bool:
        return self._engine._press(self, "pause")

    def step(self) -> bool:
        return self._engine._press(self, "step")

    def resume(self) -> bool:
        return self._engine._press(self, "resume")

    @property
    def paused(self) -> bool:
        return self.record.paused and self._paused.held and not self.done

    @property
    def paused_model(self):
        """The paused network, rebuilt here from the weights its worker sent when it paused."""
        return self._paused.model(self.config, self.dataset) if self.paused else None

    @property
    def model(self):
        """Rebuilt here from the worker's weights (`build_model` then `set_weights`) the first time it is asked for.

        Available from the listeners' `on_train_end` on (the weights have arrived by then)."""
        if not self._final:
            return None
        with self._model_lock:
            if self._model is None and self._weights is not None:
                dataset = self.dataset
                if dataset is None:
                    return None
                # Start-up time: Keras is imported by the web server only when it first needs a trained model.
                from rnnlab.models import build_model

                model = build_model(self.config, dataset)
                model.set_weights(self._weights)
                self._model, self._weights = model, None  # the model holds them now
            return self._model

    @property
    def has_model(self) -> bool:
        return self._final and (self._model is not None or self._weights is not None)

    @property
    def dataset(self):
        """The dataset given to `submit`, else made here from the config (seeded: the same arrays the worker had)."""
        if self._dataset is None and not self._dataset_given:
            with self._dataset_lock:
                if self._dataset is None:
                    try:
                        self._dataset = make_dataset(self.config)
                    except ValueError:
                        return None
        return self._dataset


class DaskEngine(Engine):
    """Trains runs in Dask worker processes; `address=None` starts a local cluster of warm workers."""

    def __init__(self, address: str | None = None, *, n_workers: int | None = None,
                 memory_limit: int | None = None, tf_threads: int | None = None) -> None:
        """`address`: an existing scheduler ("tcp://host:8786"); else a `LocalCluster` with `n_workers` workers
        (default: one more than the cores, `rnnlab.settings.default_worker_count`), `memory_limit` bytes each (default: 80% of this machine's memory shared between
        them), and TensorFlow's intra-op pool set to `tf_threads` in each worker (None: TensorFlow's default).

        Returns at once; the cluster starts on the engine's dispatcher thread, and runs submitted meanwhile wait.
        """
        super().__init__()
        self.address = address
        self.n_workers = n_workers or default_worker_count()
        self.memory_limit = memory_limit or default_memory_limit(self.n_workers)
        self.tf_threads = tf_threads
        self._topic = f"rnnlab-progress-{uuid.uuid4().hex}"
        self._client: distributed.Client | None = None
        self._host: LocalClusterHost | None = None  # the process hosting the local cluster
        self._start_error: str | None = None  # why the cluster could not start, if it could not
        self._start_failure = ""  # the same, as the sentence a run that could not start ends with
        self._ready = threading.Event()
        self._closed = False
        self._lock = threading.RLock()
        self._inbox: queue.Queue = queue.Queue()
        self._runs: dict[str, DaskRun] = {}  # not ended yet
        self._chained: list[DaskRun] = []  # waiting for the run they were chained after
        self._queue: list[DaskRun] = []  # waiting for a worker, in the order they joined; dispatched ones first
        self._training: set[DaskRun] = set()  # handed to Dask and not ended
        self._slots = 0
        self._slots_checked = -math.inf
        # Start-up (issue 19): workers that have imported TensorFlow (WarmWorker says so on WARM_TOPIC), and the
        # workers the scheduler knows, as the dispatcher last counted them. Runs go to warm workers only.
        self._warm: set[str] = set()
        self._live: dict[str, int] = {}
        self._started_all = False
        # Whether the local cluster has been asked for all its workers yet (`_ask_for_every_worker`).
        self._asked_for_all = False
        # The graphs each worker has traced (issue 19): a repeated configuration goes to a free worker that has one.
        self._trained = TrainedGraphs()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="rnnlab-engine", daemon=True)
        self._dispatcher.start()

    # --- The interface ----------------------------------------------------------------------------------

    def submit(self, config: RunConfig, dataset=None, *, record_grad_norms: bool = True, record_gates: bool = True,
               listeners: Iterable[Any] = (), after: RunHandle | None = None, run_id: str | None = None) -> DaskRun:
        if self._closed:
            raise RuntimeError("This training engine has been closed.")
        options = {"record_grad_norms": record_grad_norms, "record_gates": record_gates,
                   # The server's pause limit: a remote cluster's workers do not have the server's environment.
                   "pause_limit": settings.current().max_pause_minutes * 60}
        run = DaskRun(self, config, dataset, options, listeners, after, run_id)
        self._remember(run)
        with self._lock:
            self._runs[run.run_id] = run
            if after is not None and not after.done:
                self._chained.append(run)
            else:
                self._queue.append(run)
        self._ask_for_every_worker_if_runs_wait()  # here, not on the dispatcher: it may be waiting for a warm worker
        self._inbox.put(("poke",))
        return run

    def describe(self) -> str:
        if self.address is None:
            what = (f"{self.n_workers} local worker process{'es' if self.n_workers != 1 else ''}, "
                    f"{gigabytes(self.memory_limit)} memory limit each")
        else:
            workers = self._worker_count()
            what = f"Dask cluster at {self.address}" + (f", {workers} workers" if workers is not None else "")
        if self._start_error:
            return f"{what} (could not start: {self._start_error})"
        return what if self.state().phase == READY else f"{what} (starting)"

    def state(self) -> EngineState:
        """How many workers are ready of those wanted (`rnnlab.engine.startup`); never asks the scheduler (pages
        call it at every redraw): the dispatcher's count, at most half a second old."""
        if self._start_error:
            return EngineState(0, self.n_workers, FAILED, self._start_error)
        with self._lock:
            ready = sum(1 for address in self._live if address in self._warm)
            wanted = self.n_workers if self.address is None else max(len(self._live), 1)
            # Ready once every worker first was: a worker the nanny restarts later is not "starting the workers".
            self._started_all = self._started_all or (self._ready.is_set() and ready >= wanted)
            return EngineState(ready, wanted, READY if self._started_all else STARTING)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._ready.wait(START_TIMEOUT_SECONDS)  # a cluster still starting is closed once it is up, not leaked
        for run in self._active_handles():
            run.stop()
        self._inbox.put(("close",))
        self._dispatcher.join(30)
        client, host = self._client, self._host
        try:
            if client is not None:
                client.close(timeout=10)
            if host is not None:
                host.close()
        except Exception:  # noqa: BLE001 - closing at exit: nothing useful to do with an error
            logger.warning("Closing the training cluster failed", exc_info=True)
        for run in list(self._runs.values()):  # whatever had not ended ends now
            self._end(run, Status.INTERRUPTED, INTERRUPTED_MESSAGE)

    @property
    def client(self) -> distributed.Client | None:
        """The Dask client (None until the cluster has started); for diagnostics and tests."""
        self._ready.wait(START_TIMEOUT_SECONDS)
        return self._client

    def wait_until_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> bool:
        """True once every wanted worker is up and warm (or the cluster has failed to start: see `describe`)."""
        deadline = time.monotonic() + timeout
        if not self._ready.wait(timeout):
            return False
        while self.state().phase == STARTING:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # --- Handles ask these ---------------------------------------------------------------------------------

    def _queue_position(self, run: DaskRun) -> int | None:
        with self._lock:
            return self._queue.index(run) + 1 if run in self._queue else None

    def _wait_seconds(self, run: DaskRun) -> float | None:
        state = self.state()
        with self._lock:
            if run not in self._queue or run._dispatched:
                return None
            ahead = [other for other in self._queue[:self._queue.index(run)] if not other._dispatched]
            training = list(self._training)
        if state.phase != READY:
            return None  # the workers' own start-up has no estimate here: the page says it waits for them
        return queueing.wait_seconds(state.ready, [queueing.seconds_left(other.record) for other in training],
                                     [queueing.run_seconds(other.config) for other in ahead])

    def queue_rows(self) -> list[dict]:
        """Every run the engine has not ended, for the teacher's view: run id, place in the queue (None once a
        worker has it), the worker training it, and the wait estimate of a queued one (None if unknown)."""
        with self._lock:
            queued = [run for run in self._queue if not run._dispatched]
            training = [run for run in self._queue if run._dispatched] + [
                run for run in self._training if run not in self._queue]
            chained = list(self._chained)
        rows = [{"run_id": run.run_id, "place": None, "worker": run.worker_address, "wait_seconds": None,
                 "after": None} for run in training]
        rows += [{"run_id": run.run_id, "place": place, "worker": None, "wait_seconds": run.wait_seconds,
                  "after": None} for place, run in enumerate(queued, 1)]
        rows += [{"run_id": run.run_id, "place": None, "worker": None, "wait_seconds": None,
                  "after": run._after.run_id} for run in chained]
        return rows

    def _waiting_for(self, run: DaskRun) -> RunHandle | None:
        with self._lock:
            return run._after if run in self._chained else None

    def _stop(self, run: DaskRun) -> None:
        with self._lock:
            if run.done or run._stop_requested:
                return
            run._stop_requested = True
            dispatched = run._dispatched
        if dispatched:
            try:
                distributed.Event(stop_event_name(run.run_id), client=self._client).set()
            except Exception:  # noqa: BLE001 - the cluster is gone; the run's result will say so
                logger.warning("Could not signal stop to run %s", run.run_id, exc_info=True)
        else:
            self._inbox.put(("stop", run))

    def _press(self, run: DaskRun, press: str) -> bool:
        """Send a pause, step or resume to the worker training `run` (only a run that has started can be paused)."""
        with self._lock:
            if run.done or run._stop_requested or not run._started or self._client is None:
                return False
            run._presses.append(press)
            presses = list(run._presses)
        try:
            remote_pause.send_presses(self._client, run.run_id, presses)
        except Exception:  # noqa: BLE001 - the cluster is gone; the run's result will say so
            logger.warning("Could not send %s to run %s", press, run.run_id, exc_info=True)
            return False
        return True

    # --- The dispatcher thread ----------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        try:
            self._connect()
        except Exception as error:  # noqa: BLE001 - every queued run will carry the reason
            what = "did not start" if self.address is None else f"at {self.address} could not be used"
            self._start_error = f"{type(error).__name__}: {error}"
            self._start_failure = CLUSTER_FAILED.format(what=what, error=self._start_error)
            logger.error("Training engine: %s", self._start_failure)
        finally:
            self._ready.set()
        while True:
            try:
                item = self._inbox.get(timeout=_TICK_SECONDS)
            except queue.Empty:
                item = ("poke",)
            if item[0] == "close":
                return
            try:
                self._handle(item)
                self._advance()
                if self._start_error is None and self.state().phase == STARTING:
                    self._free_slots()  # keeps the count of ready workers fresh for the pages while they start
            except Exception:  # noqa: BLE001 - one bad message must not stop every learner's progress
                logger.exception("Training engine: could not handle %s", item[0])

    def _connect(self) -> None:
        if self.address is None:
            # One worker first: the first learner's run trains on it while the others import TensorFlow.
            self._host = LocalClusterHost.start(1, self.memory_limit, START_TIMEOUT_SECONDS)
            self._ask_for_every_worker_if_runs_wait()  # a class pressed Train before the first worker was up
            self._client = distributed.Client(self._host.address, set_as_default=False, timeout=30)
        else:
            self._client = distributed.Client(self.address, set_as_default=False, timeout=30)
        self._client.subscribe_topic(WARM_TOPIC, self._receive_warm)
        # Every worker, present and future (a restart after a crash), imports TensorFlow before its first run;
        # this returns once those present have.
        answers = self._client.register_plugin(WarmWorker(self.tf_threads), name=WarmWorker.name)
        with self._lock:
            self._warm.update(address for address, answer in (answers or {}).items()
                              if not isinstance(answer, dict) or answer.get("status", "OK") == "OK")
        self._client.subscribe_topic(self._topic, self._receive)
        self._slots_checked = -math.inf
        self._ask_for_every_worker()

    def _ask_for_every_worker_if_runs_wait(self) -> None:
        """Ask for the local cluster's other workers now if more runs wait than the first worker can take.

        The first worker starts alone so that a learner alone trains sooner; the others are asked for once it is
        warm. But when a class presses Train together on a server just started, the second and third runs waited
        for workers that began importing TensorFlow only after the first had (traced on a busy machine, three
        browsers pressing 12.0 s after the engine was made: the first worker warm at 29.4 s, the others asked for
        then and warm at 64 s, while the first run trained on its own): so a second waiting run asks for them at
        once."""
        with self._lock:
            waiting = len(set(self._queue) | self._training)  # queued, or handed to Dask and not ended
        if waiting > 1:
            self._ask_for_every_worker()

    def _ask_for_every_worker(self) -> None:
        """Ask the local cluster for all `n_workers` (once; they start in the background)."""
        with self._lock:
            if self._host is None or self._asked_for_all or self.n_workers < 2:
                return
            self._asked_for_all = True
            try:
                self._host.scale(self.n_workers)
            except OSError:  # the host has gone: its runs end "failed" through the dispatcher, not in submit
                logger.warning("Could not ask the local cluster for its workers", exc_info=True)

    def _receive_warm(self, event: tuple[float, dict]) -> None:
        """On the client's event loop: a worker (new, or restarted by its nanny) has imported TensorFlow."""
        with self._lock:
            self._warm.add(event[1]["worker"])
        self._slots_checked = -math.inf  # count its slot at the next look

    def _receive(self, event: tuple[float, dict]) -> None:
        """On the client's event loop: only queue the event; the dispatcher thread does the work."""
        self._inbox.put(("event", event[1]))

    def _handle(self, item: tuple) -> None:
        kind = item[0]
        if kind == "event":
            message = item[1]
            run = self._runs.get(message["run"])
            if run is not None and not run.done:
                self._apply_event(run, message["kind"], pickle.loads(message["data"]))
        elif kind == "result":
            self._apply_result(item[1], item[2], item[3])
        elif kind == "stop":
            run = item[1]
            with self._lock:
                waiting = not run._dispatched and not run.done
                if waiting:
                    self._forget_waiting(run)
            if waiting:
                self._end(run, Status.STOPPED, "")

    def _advance(self) -> None:
        """Chained runs whose predecessor ended join the queue; queued runs go to free workers, first come first."""
        if self._start_error is not None:
            with self._lock:
                stranded = [run for run in self._queue if not run._dispatched]
            for run in stranded:
                self._end(run, Status.FAILED, self._start_failure)
        with self._lock:
            for run in [run for run in self._chained if run._after.done]:
                self._chained.remove(run)
                self._queue.append(run)
            waiting = [run for run in self._queue if not run._dispatched]
        if not waiting or self._start_error is not None:
            return
        for run in waiting:
            if self._free_slots() <= 0:
                return
            with self._lock:
                if run._stop_requested or run.done:
                    continue  # its "stop" item ends it
                run._dispatched = True
                self._training.add(run)
            self._dispatch(run)

    def _free_slots(self) -> int:
        now = time.monotonic()
        if now - self._slots_checked > _SLOTS_MAX_AGE_SECONDS:
            try:
                live = dict(self._client.nthreads())
            except Exception:  # noqa: BLE001 - the scheduler is unreachable for now: hand out nothing, ask again
                live = {}
            with self._lock:
                for gone in set(self._live) - set(live):
                    self._trained.forget(gone)  # a restarted worker comes back with an empty cache
                self._live = live
                # Only warm workers' threads: a run sent to a worker still importing TensorFlow would wait for it.
                self._slots = sum(count for address, count in live.items() if address in self._warm)
            self._slots_checked = now
        return self._slots - len(self._training)

    def _dispatch(self, run: DaskRun) -> None:
        run._attempts += 1
        with self._lock:
            warm = sorted(address for address in self._live if address in self._warm)
            busy = {other.worker_address or other._routed_to for other in self._training if other is not run}
        # A free warm worker that has traced this run's graph, if any: it skips tracing (rnnlab/engine/routing.py).
        traced = self._trained.prefer(run._route_key, [address for address in warm if address not in busy])
        run._routed_to = traced[0] if traced else None
        future = self._client.submit(
            train_in_worker, run.run_id, run.config.to_dict(), run._dataset if run._dataset_given else None,
            run._options, self._topic, key=f"rnnlab-train-{run.run_id}-{run._attempts}", pure=False,
            # Loose: that worker, else a warm worker if one is free (not one still importing TensorFlow), any
            # worker otherwise.
            **({"workers": traced[:1] or warm, "allow_other_workers": True} if warm else {}))
        run._future = future
        threading.Thread(target=self._await_result, args=(run, future, run._attempts),
                         name=f"rnnlab-result-{run.run_id}", daemon=True).start()

    def _await_result(self, run: DaskRun, future: distributed.Future, attempt: int) -> None:
        """On its own thread, one per dispatched run: wait for the task, then hand its outcome to the dispatcher."""
        try:
            outcome = ("ok", future.result())
        except distributed.scheduler.KilledWorker as error:
            outcome = ("killed", error)
        except CancelledError:
            outcome = ("cancelled", None)
        except Exception as error:  # noqa: BLE001 - whatever it was, the run ends "failed" with it
            outcome = ("error", error)
        self._inbox.put(("result", run, attempt, outcome))

    # --- Applying what the workers report ------------------------------------------------------------------

    def _apply_event(self, run: DaskRun, kind: str, payload: dict) -> None:
        record = run.record
        if kind == "started":
            with record.locked():
                record.status = Status.RUNNING
                record.created = payload["created"]
            run.worker_pid, run.worker_address = payload["pid"], payload["worker"]
            self._trained.remember(run._route_key, payload["worker"])  # its worker keeps this graph now
            run._memory_limit = payload.get("memory_limit")
            with self._lock:
                run._started = True
                if run in self._queue:
                    self._queue.remove(run)
        elif kind == "begin":
            with record.locked():
                for name, value in payload.items():
                    setattr(record, name, value)
            notify(run._listeners, "on_train_begin", record)
        elif kind == "batch":
            self._apply_batches(record, payload)
            notify(run._listeners, "on_batch_end", record)
        elif kind == "epoch":
            self._apply_epoch(run, payload)
        elif kind == "paused":  # held at a batch boundary, with its weights of that moment
            run._paused.keep(payload.pop("weights"), payload["steps_done"])
            self._apply_batches(record, payload)
            with record.locked():
                record.paused_since = payload["paused_since"]
            notify(run._listeners, "on_batch_end", record)
        elif kind == "resumed":
            with record.locked():
                record.paused_since, record.paused_seconds = 0.0, payload["paused_seconds"]
            run._paused.drop()

    @staticmethod
    def _apply_batches(record: RunRecord, payload: dict) -> None:
        with record.locked():
            record.batch_progress.extend(payload["batch_progress"])
            record.batch_loss.extend(payload["batch_loss"])
            record.wall_seconds = payload["wall_seconds"]
            record.first_batch_seconds = payload.get("first_batch_seconds", record.first_batch_seconds)
            record.status, record.message = payload["status"], payload["message"]

    def _apply_epoch(self, run: DaskRun, payload: dict) -> None:
        record = run.record
        self._apply_batches(record, payload)
        with record.locked():
            for key, value in payload["history"].items():
                record.history.setdefault(key, []).append(value)
            record.epoch_seconds.append(payload["epoch_seconds"])
            if payload["grad_norms"] is not None:
                record.grad_norms.append(payload["grad_norms"])
            if payload["gates"] is not None:
                record.gates.append(payload["gates"])
        run._epochs_announced += 1
        notify(run._listeners, "on_epoch_end", record)

    def _apply_result(self, run: DaskRun, attempt: int, outcome: tuple[str, Any]) -> None:
        kind, value = outcome
        future, run._future = run._future, None
        with self._lock:
            self._training.discard(run)
            if kind == "killed":
                self._slots_checked = -math.inf  # a worker is gone: count again before handing out its slot
            retry = kind == "killed" and not run._started and not run._stop_requested and run._attempts < 2
            if retry:  # its worker died before it began (it was never this run's fault): queue it again, first
                run._dispatched = False
                if run in self._queue:
                    self._queue.remove(run)
                self._queue.insert(0, run)
        if future is not None:
            future.release()
        if retry or run.done or attempt != run._attempts:
            return
        if kind == "ok":
            final = record_from_fields(value["record"])
            self._announce_missing_epochs(run, final)
            run._weights = value["weights"]
            run.worker_pid = value.get("pid", run.worker_pid)
            self._end(run, final=final)
        elif kind == "killed" and run._stop_requested:
            self._end(run, Status.STOPPED, STOPPED_MID_BATCH)
        elif kind == "killed":
            self._end(run, Status.FAILED, worker_died_message(run._memory_limit))
        elif kind == "cancelled":
            self._end(run, Status.STOPPED if run._stop_requested else Status.FAILED,
                      "" if run._stop_requested else "The training cluster dropped this run before it ended.")
        else:
            logger.error("Training engine: run %s could not run in a worker: %r", run.run_id, value)
            self._end(run, Status.FAILED,
                      f"The training worker could not run this run ({type(value).__name__}: {value}).")

    def _announce_missing_epochs(self, run: DaskRun, final: RunRecord) -> None:
        """A guard: events precede the result on one ordered stream, so this finds nothing unless one was lost."""
        steps = final.steps_per_epoch
        for epoch in range(run._epochs_announced, final.epochs_done):
            end = (epoch + 1) * steps
            self._apply_epoch(run, {
                "batch_progress": final.batch_progress[run.record.steps_done:end],
                "batch_loss": final.batch_loss[run.record.steps_done:end],
                "wall_seconds": final.wall_seconds, "status": Status.RUNNING, "message": "",
                "history": {key: values[epoch] for key, values in final.history.items()},
                "epoch_seconds": final.epoch_seconds[epoch],
                "grad_norms": final.grad_norms[epoch] if len(final.grad_norms) > epoch else None,
                "gates": final.gates[epoch] if len(final.gates) > epoch else None})

    def _end(self, run: DaskRun, status: str | None = None, message: str | None = None, *,
             final: RunRecord | None = None) -> None:
        """Make the run's record final, tell its listeners, and let `join` return."""
        if run.done:
            return
        record = run.record
        with record.locked():
            if final is not None:
                for name in RunRecord.__dataclass_fields__:
                    if name != "run_id":
                        setattr(record, name, getattr(final, name))
            else:
                record.status = status
                record.message = message or ""
                if record.created:
                    record.wall_seconds = max(record.wall_seconds, time.time() - record.created)
                if record.epoch_seconds:
                    from rnnlab.training import throughput  # start-up time: training imports TensorFlow

                    samples = len(run._dataset.x_train) if run._dataset_given else record.config.samples
                    record.samples_per_second = throughput(samples, record.epoch_seconds)
            if self._closed and record.status == "stopped":  # stopped by close() (the server going), not a learner
                interrupt(record)
        with self._lock:
            self._runs.pop(run.run_id, None)
            self._forget_waiting(run)
            self._training.discard(run)
        self._release_events(run)
        run._final = True
        notify(run._listeners, "on_train_end", record)
        run._ended.set()
        self._ended(run)

    def _forget_waiting(self, run: DaskRun) -> None:
        if run in self._queue:
            self._queue.remove(run)
        if run in self._chained:
            self._chained.remove(run)

    def _release_events(self, run: DaskRun) -> None:
        if not run._dispatched or self._client is None:
            return
        for name in (stop_event_name(run.run_id), attempt_event_name(run.run_id)):
            try:
                distributed.Event(name, client=self._client).clear()  # a cleared event is dropped by the scheduler
            except Exception:  # noqa: BLE001 - a few bytes left on a scheduler that went away
                pass
        run._paused.drop()
        if run._presses:
            try:
                remote_pause.release(self._client, run.run_id)
            except Exception:  # noqa: BLE001 - as above
                pass

    def _worker_count(self) -> int | None:
        if self._client is None:
            return None
        try:
            return len(self._client.nthreads())  # asks the scheduler now; scheduler_info() can be seconds old
        except Exception:  # noqa: BLE001 - unreachable for now: say nothing rather than something wrong
            return None




def default_memory_limit(n_workers: int) -> int:
    """80% of this machine's memory, shared equally between the workers, in bytes."""
    import psutil

    return int(psutil.virtual_memory().total * 0.8 / max(n_workers, 1))


def worker_died_message(memory_limit: int | None) -> str:
    cause = f"passed its {gigabytes(memory_limit)} memory limit" if memory_limit else "ran out of memory"
    return WORKER_DIED.format(cause=cause)


def gigabytes(size: int | None) -> str:
    return f"{size / GB:.1f} GB" if size else "unknown"

