"""What runs inside a Dask worker process: train one run, report its progress as events, obey a stop.

The web server never imports this module's work into its own process; it only submits `train_in_worker` to the
cluster. In the worker:

1. A stop `distributed.Event` that is already set means the run was stopped while queued: it ends at once.
   A second attempt of the same run (a cluster with `allowed-failures` above 0 retrying it after its worker died)
   ends at once too, as "failed": a run that killed one worker must not be given a second.
2. It publishes "started" (pid, worker address, memory limit), makes the data unless the server sent it (a
   `ValueError` from the data ends the run "failed" with its one sentence and no traceback), and trains with
   `rnnlab.training.Trainer`, exactly as in-process training does.
3. `_Reporter`, a `TrainerCallback`, publishes with `Worker.log_event` on the engine's topic: "begin" (model size,
   probes at initialisation), "batch" (every batch point since the last event, at most `BATCH_EVENT_SECONDS`
   apart; the first batch and a divergence go at once), "epoch" (at once: the history row, the epoch's seconds and
   its probes). Payloads are pickled to bytes because events must be msgpack-serialisable.
4. `_StopWatcher`, a thread, waits on the stop event. When it is set it calls `trainer.stop()` (a clean stop after
   the batch in progress, weights returned). If no batch ends within `STOP_GRACE_SECONDS` (a long batch, graph
   tracing, data generation) it ends this process with `os._exit`, and the nanny starts a fresh, warm worker. A run
   that did reach the end of a batch gets `STOP_FINISH_SECONDS` to validate, evaluate its test set and hand back
   its weights: a learner's stopped run keeps its model even on a busy machine, where that takes over a second.
5. It returns the final record's fields and `model.get_weights()`.

Pause, step and resume (issue 21) reach the trainer's gate through `rnnlab/engine/remote_pause.py`; a run stopped
while paused is at a batch boundary, so it gets `STOP_FINISH_SECONDS` to finish cleanly like any other.

`WarmWorker` is the worker plugin that imports TensorFlow, Keras and the trainer (and sets TensorFlow's thread
pools) when a worker starts, so the first run on a new or restarted worker does not pay for the imports. The local
cluster's workers are forks of a forkserver that imported them already (rnnlab/engine/local.py): there the imports
are instant and only the thread pools are set.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import threading
import time
from typing import Any

from distributed import Event, WorkerPlugin, get_client, get_worker

from rnnlab.config import RunConfig
from rnnlab.engine.base import make_dataset
from rnnlab.engine.remote_pause import PauseReporter, PauseWatcher
from rnnlab.records import RunRecord, Status

# Batch events go at most this often (the points of every batch in between ride along), so a fast run costs the
# scheduler a few messages a second, not hundreds, and the chart still shows every batch.
BATCH_EVENT_SECONDS = 0.25
# After a stop, how long a run may take to reach the end of its batch in progress before its worker process is
# ended (a long batch, graph tracing, data generation, a probe).
STOP_GRACE_SECONDS = 1.0
# Once it has reached it, how long it may take to finish cleanly (Keras validates the cut epoch, the trainer
# evaluates the test set, the weights are copied) before its worker process is ended all the same.
STOP_FINISH_SECONDS = 10.0
# The topic on which a worker says it has imported TensorFlow (WarmWorker.setup), so the engine counts it ready.
WARM_TOPIC = "rnnlab-warm"
# How often the stop watcher re-checks whether its run has ended on its own (each check is a scheduler call).
_WATCH_SECONDS = 0.5


def stop_event_name(run_id: str) -> str:
    return f"rnnlab-stop-{run_id}"


def attempt_event_name(run_id: str) -> str:
    return f"rnnlab-attempt-{run_id}"


def record_fields(record: RunRecord) -> dict[str, Any]:
    """The record's fields as they are (NaN stays NaN, probes stay float32 arrays), the config as a dict.

    Sent instead of `record.to_dict()`, whose JSON-ready form turns a diverged run's NaN losses into None.
    """
    fields = {spec.name: getattr(record, spec.name) for spec in dataclasses.fields(record)}
    fields["config"] = record.config.to_dict()
    return fields


def record_from_fields(fields: dict[str, Any]) -> RunRecord:
    return RunRecord(**{**fields, "config": RunConfig.from_dict(fields["config"])})


def train_in_worker(run_id: str, config_values: dict, dataset, options: dict, topic: str) -> dict:
    """The Dask task: train `config_values` in this worker, publishing progress on `topic`; see the module docstring.

    Returns {"record": fields of the final record, "weights": list of arrays or None, "pid", "worker_memory"}.
    """
    from rnnlab.engine.warm_graphs import worker_cache  # start-up time: imports Keras, which the web server skips
    from rnnlab.training import Trainer  # imported by WarmWorker already; cheap here

    worker = get_worker()
    client = get_client()
    config = RunConfig.from_dict(config_values)
    publish = _publisher(worker, topic, run_id)
    reporter = _Reporter(publish)
    # A graph this worker traced before is reused, with the run's own fresh weights (issue 19).
    trainer = Trainer(config, callbacks=[reporter], model_maker=worker_cache().model_for, **options)
    record = trainer.record
    record.run_id = run_id  # the server's id, so events and the final record find their handle

    def result(weights=None) -> dict:
        return {"record": record_fields(record), "weights": weights, "pid": os.getpid(),
                "worker_memory": _resident_bytes()}

    stop = Event(stop_event_name(run_id), client=client)
    attempt = Event(attempt_event_name(run_id), client=client)
    if stop.is_set():
        record.status = Status.STOPPED
        return result()
    if attempt.is_set():
        record.status = Status.FAILED
        record.message = "This run's first worker stopped while training it, so it was not tried again."
        return result()
    attempt.set()

    record.created = time.time()
    record.status = Status.RUNNING
    publish("started", {"pid": os.getpid(), "worker": worker.address, "created": record.created,
                        "memory_limit": worker.memory_manager.memory_limit})
    ended = threading.Event()
    _StopWatcher(stop, trainer, reporter, ended).start()  # from here on, a stop ends the run within about 1 s
    trainer.pause_gate.watchers.append(PauseReporter(publish, reporter))  # pause, step, resume (issue 21)
    PauseWatcher(client, run_id, trainer.pause_gate, ended).start()
    try:
        if dataset is None:
            try:
                dataset = make_dataset(config)
            except ValueError as error:  # the learner's sentence: absurd sizes, an unreadable file
                record.status = Status.FAILED
                record.message = str(error)
                return result()
        trainer.dataset = dataset
        try:
            trainer.run()
        except Exception:  # noqa: BLE001 - the trainer wrote the reason into the record; the server reads it.
            pass
    finally:
        ended.set()
    weights = None
    if trainer.model is not None and record.status in (Status.FINISHED, Status.STOPPED, Status.DIVERGED):
        weights = trainer.model.get_weights()
    return result(weights)


def _publisher(worker, topic: str, run_id: str):
    def publish(kind: str, payload: dict) -> None:
        worker.log_event(topic, {"run": run_id, "kind": kind, "data": pickle.dumps(payload, protocol=5)})

    return publish


class _Reporter:
    """A `TrainerCallback` that publishes the record's progress to the server as events."""

    def __init__(self, publish) -> None:
        self.publish = publish
        self.sent_batches = 0  # batch points already published
        self.last_sent = -math.inf
        self.batches_ended = 0  # read by the stop watcher: has a batch ended since the stop?

    def _new_batches(self, record: RunRecord) -> dict:
        start, self.sent_batches = self.sent_batches, len(record.batch_loss)
        self.last_sent = time.monotonic()
        return {"batch_progress": record.batch_progress[start:], "batch_loss": record.batch_loss[start:],
                "wall_seconds": record.wall_seconds, "first_batch_seconds": record.first_batch_seconds,
                "status": record.status, "message": record.message}

    def on_train_begin(self, record: RunRecord) -> None:
        self.publish("begin", {name: getattr(record, name) for name in (
            "params", "layers", "baseline_loss", "majority", "steps_per_epoch", "grad_norms_at_init", "gates_at_init")})

    def on_batch_end(self, record: RunRecord) -> None:
        self.batches_ended += 1
        first = self.sent_batches == 0
        if first or record.status != Status.RUNNING or time.monotonic() - self.last_sent >= BATCH_EVENT_SECONDS:
            self.publish("batch", self._new_batches(record))

    def on_epoch_end(self, record: RunRecord) -> None:
        epoch = record.epochs_done - 1
        payload = self._new_batches(record)
        payload.update(
            epoch=epoch, history={key: values[epoch] for key, values in record.history.items()},
            epoch_seconds=record.epoch_seconds[epoch],
            grad_norms=record.grad_norms[epoch] if len(record.grad_norms) > epoch else None,
            gates=record.gates[epoch] if len(record.gates) > epoch else None)
        self.publish("epoch", payload)

    def on_train_end(self, record: RunRecord) -> None:
        pass  # the task's result carries the final record


class _StopWatcher(threading.Thread):
    """Waits for the run's stop event; stops the trainer cleanly, or ends the process if it cannot."""

    def __init__(self, stop: Event, trainer, reporter: _Reporter, ended: threading.Event) -> None:
        super().__init__(name="rnnlab-stop-watcher", daemon=True)
        self.stop_event = stop
        self.trainer = trainer
        self.reporter = reporter
        self.ended = ended

    def run(self) -> None:
        while not self.ended.is_set():
            try:
                if not self.stop_event.wait(timeout=_WATCH_SECONDS):
                    continue
            except Exception:  # noqa: BLE001 - the scheduler went away: the worker is closing anyway.
                return
            batches_at_stop = self.reporter.batches_ended
            paused = self.trainer.pause_gate.holding  # held at a batch boundary: it finishes as cleanly
            self.trainer.stop()
            if self.ended.wait(STOP_GRACE_SECONDS):
                return
            if (paused or self.reporter.batches_ended > batches_at_stop) and self.ended.wait(STOP_FINISH_SECONDS):
                return  # it stopped at the end of a batch and finished cleanly
            # Mid-batch (or mid-trace): the trainer cannot reach a batch boundary soon. Ending the process is the
            # only way to free the core and the memory; the nanny starts a new, warm worker in its place, and the
            # server, which asked for the stop, ends the run "stopped" with what it had streamed.
            os._exit(75)


def _resident_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001 - only a hint for the server
        return 0


class WarmWorker(WorkerPlugin):
    """Imports TensorFlow, Keras and the trainer when a worker starts (new or restarted), before its first run.

    `tf_threads` sets TensorFlow's intra-op thread pool (None: TensorFlow's default, one thread per core). It must
    be set before TensorFlow runs its first operation, which is why it lives here and not in the task.
    """

    name = "rnnlab-warm"

    def __init__(self, tf_threads: int | None = None) -> None:
        self.tf_threads = tf_threads

    def setup(self, worker) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        if self.tf_threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.tf_threads)
                tf.config.threading.set_inter_op_parallelism_threads(self.tf_threads)
            except RuntimeError:  # TensorFlow already ran something in this process: keep what it has
                pass
        import keras  # noqa: F401
        import rnnlab.introspect.gates  # noqa: F401 - the probes, imported lazily by the trainer
        import rnnlab.introspect.gradients  # noqa: F401
        import rnnlab.training  # noqa: F401

        worker.log_event(WARM_TOPIC, {"worker": worker.address})  # the engine counts this worker ready (issue 19)
