"""The training engine: the same handle interface on threads and on Dask worker processes, and what only processes
can do (train elsewhere, stop mid-batch, survive a worker's death).

One small local cluster (2 workers, 2 GB each) serves the whole module; every wait is bounded.
"""

import math
import os
import threading
import time

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.engine import create_engine, engine_settings, get_engine
from rnnlab.engine.cluster import STOPPED_MID_BATCH, DaskEngine
from rnnlab.engine.threads import ThreadEngine
from rnnlab.training import Trainer, TrainerCallback

TINY = RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=2, batch_size=16)
# Trains until stopped: 1,000 epochs of the tiny run, without probes.
ENDLESS = TINY.replace(epochs=1000)
NO_PROBES = {"record_grad_norms": False, "record_gates": False}
# Graph tracing and the first batch take about 10 s: eight recurrent layers over 2,000 steps.
LONG_FIRST_BATCH = RunConfig(task="sine", seq_len=2000, samples=32, eval_samples=16, units=32, layers=4,
                             bidirectional=True, epochs=1, batch_size=16)
# Passes the workers' 2 GB limit within seconds: an LSTM's activations for 128 sequences of 2,000 steps.
TOO_BIG = RunConfig(task="sine", seq_len=2000, samples=128, eval_samples=16, units=512, epochs=1, batch_size=128)
WAIT = 120  # seconds: the bound on every wait, far above what any of them takes


@pytest.fixture(scope="module")
def dask_engine():
    engine = DaskEngine(n_workers=2, memory_limit=2 * 2**30)
    assert engine.wait_until_ready(WAIT) and engine.client is not None, engine.describe()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def thread_engine():
    engine = ThreadEngine()
    yield engine
    engine.close()


@pytest.fixture(params=["dask", "thread"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")


class Recorder(TrainerCallback):
    """Remembers every call: its name, the process and the record's progress at that moment."""

    def __init__(self, engine=None):
        self.calls = []
        self.engine = engine
        self.model_at_end = None

    def _note(self, name, record):
        self.calls.append({"call": name, "pid": os.getpid(), "epochs": record.epochs_done,
                           "steps": record.steps_done, "grad_norms": len(record.grad_norms),
                           "gates": len(record.gates), "status": record.status})

    def on_train_begin(self, record):
        self._note("begin", record)

    def on_batch_end(self, record):
        self._note("batch", record)

    def on_epoch_end(self, record):
        self._note("epoch", record)

    def on_train_end(self, record):
        self._note("end", record)
        if self.engine is not None:  # a run store would save the model here
            self.model_at_end = self.engine.live(record.run_id).model

    def names(self, *kinds):
        return [call["call"] for call in self.calls if not kinds or call["call"] in kinds]


def wait_until(predicate, timeout=WAIT):
    """Poll `predicate` until it holds; fail the test (instead of hanging) if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def finish(*handles):
    for handle in handles:
        assert handle.join(WAIT), f"{handle} did not end"


# --- The same interface on both engines -----------------------------------------------------------------------


def test_a_run_trains_streams_and_ends_with_its_model(engine):
    handle = engine.submit(TINY)
    assert engine.live(handle.run_id) is handle and handle.config == TINY
    finish(handle)
    record = handle.record
    assert handle.done and not handle.running and handle.queue_position is None and handle.waiting_for is None
    assert record.status == "finished" and record.epochs_done == 2 and record.steps_done == 8
    assert record.batch_progress == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert record.grad_norms_at_init is not None and record.gates_at_init is not None
    assert len(record.grad_norms) == 2 and len(record.gates) == 2
    assert record.test_loss is not None and record.wall_seconds > 0 and len(record.epoch_seconds) == 2
    assert handle.has_model
    predictions = handle.model.predict(handle.dataset.x_val, verbose=0)
    assert predictions.shape == (32, 1) and np.isfinite(predictions).all()
    assert engine.live(handle.run_id) is handle  # still known while someone holds it
    assert engine.live("no-such-run") is None


def test_listeners_hear_every_epoch_in_order_in_this_process(engine):
    recorder = Recorder(engine)
    finish(engine.submit(TINY.replace(epochs=3), listeners=[recorder]))
    names = recorder.names()
    assert names[0] == "begin" and names[-1] == "end" and names.count("begin") == names.count("end") == 1
    epochs = [call for call in recorder.calls if call["call"] == "epoch"]
    # Once per epoch, in order, each with its history row, its batches and its probes already in the record.
    assert [call["epochs"] for call in epochs] == [1, 2, 3]
    assert [call["steps"] for call in epochs] == [4, 8, 12]
    assert [call["grad_norms"] for call in epochs] == [1, 2, 3] and [call["gates"] for call in epochs] == [1, 2, 3]
    assert "batch" in names and names.index("batch") < names.index("epoch")
    assert recorder.calls[-1]["status"] == "finished" and recorder.calls[-1]["epochs"] == 3
    assert {call["pid"] for call in recorder.calls} == {os.getpid()}
    assert recorder.model_at_end is not None  # the weights arrived before on_train_end


def test_a_listener_that_raises_does_not_end_the_run(engine):
    class Broken(TrainerCallback):
        def on_epoch_end(self, record):
            raise RuntimeError("the run store is full")

    recorder = Recorder()
    handle = engine.submit(TINY, listeners=[Broken(), recorder], **NO_PROBES)
    finish(handle)
    assert handle.record.status == "finished" and recorder.names("epoch") == ["epoch", "epoch"]


def test_a_chained_run_waits_for_the_one_before_and_a_stopped_one_never_starts(engine):
    first = engine.submit(ENDLESS, **NO_PROBES)
    second = engine.submit(TINY, after=first, **NO_PROBES)
    third = engine.submit(TINY, after=second, **NO_PROBES)
    wait_until(lambda: first.record.steps_done > 0)
    assert second.waiting_for is first and second.queue_position is None and second.record.status == "pending"
    third.stop()
    assert third.join(WAIT) and third.record.status == "stopped"  # ends now, not when the runs before it end
    assert not first.done and not second.done
    first.stop()
    finish(first, second)
    assert first.record.status == "stopped" and second.record.status == "finished"
    assert second.record.created >= first.record.created + first.record.wall_seconds - 0.5
    assert third.record.steps_done == 0 and third.model is None and not third.record.created


def test_stop_ends_a_training_run_between_batches_with_its_weights(engine):
    handle = engine.submit(ENDLESS, **NO_PROBES)
    wait_until(lambda: handle.record.epochs_done >= 1)
    handle.stop()
    finish(handle)
    record = handle.record
    assert record.status == "stopped" and record.message == ""
    assert 1 <= record.epochs_done < 1000 and record.test_loss is not None
    assert handle.model is not None  # a clean stop keeps the weights


def test_exploding_gradients_end_diverged_with_the_explanation(engine):
    config = RunConfig(task="adding", seq_len=40, samples=128, eval_samples=32, cell="simplernn", units=8,
                       activation="relu", recurrent_initializer="identity", recurrent_gain=3.0, epochs=5,
                       batch_size=32)
    handle = engine.submit(config, **NO_PROBES)
    finish(handle)
    assert handle.record.status == "diverged" and "gradients exploded" in handle.record.message
    assert math.isnan(handle.record.batch_loss[-1]) or math.isinf(handle.record.batch_loss[-1])
    assert handle.record.to_json()


def test_data_that_cannot_be_made_fails_with_the_learners_sentence(engine, capfd):
    handle = engine.submit(RunConfig(task="adding", seq_len=2000, samples=200_000))
    finish(handle)
    record = handle.record
    assert record.status == "failed" and record.message.endswith("GB; use fewer sequences or shorter ones.")
    assert record.message.startswith("200,000 training sequences") and handle.model is None
    assert "Traceback" not in capfd.readouterr().err


# --- Only worker processes can do this ---------------------------------------------------------------------------


def test_runs_train_in_a_worker_process_and_the_record_lives_here(dask_engine):
    recorder = Recorder()
    handle = dask_engine.submit(TINY, listeners=[recorder], **NO_PROBES)
    finish(handle)
    assert handle.worker_pid is not None and handle.worker_pid != os.getpid()
    assert handle.worker_pid in dask_engine.client.run(os.getpid).values()
    assert {call["pid"] for call in recorder.calls} == {os.getpid()}
    assert dask_engine.describe() == "2 local worker processes, 2.0 GB memory limit each"


def test_the_mirror_record_and_rebuilt_model_match_a_run_in_this_process(dask_engine):
    config = TINY.replace(task="recall", cell="gru")
    handle = dask_engine.submit(config)
    trainer = Trainer(config, record_grad_norms=True, record_gates=True)
    here = trainer.run()
    finish(handle)
    there = handle.record
    assert there.run_id == handle.run_id and there.status == here.status == "finished"
    assert there.history.keys() == here.history.keys()
    for key in here.history:
        np.testing.assert_allclose(there.history[key], here.history[key], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(there.batch_loss, here.batch_loss, rtol=1e-6, atol=1e-7)
    assert there.batch_progress == here.batch_progress
    assert (there.params, there.layers, there.steps_per_epoch) == (here.params, here.layers, here.steps_per_epoch)
    assert there.test_loss == pytest.approx(here.test_loss, rel=1e-6)
    assert there.test_accuracy == pytest.approx(here.test_accuracy)
    assert len(there.grad_norms) == len(there.gates) == 2
    np.testing.assert_allclose(there.grad_norms[-1]["gru_1"]["forward"], here.grad_norms[-1]["gru_1"]["forward"],
                               rtol=1e-5)
    np.testing.assert_allclose(there.gates[-1]["gru_1"]["forward"]["update"],
                               here.gates[-1]["gru_1"]["forward"]["update"], rtol=1e-5, atol=1e-6)
    x_val = trainer.dataset.x_val
    np.testing.assert_allclose(handle.model.predict(x_val, verbose=0), trainer.model.predict(x_val, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_runs_beyond_the_workers_wait_their_turn_and_a_stopped_one_never_starts(dask_engine):
    first, second = (dask_engine.submit(ENDLESS, **NO_PROBES) for _ in range(2))
    third, fourth, fifth = (dask_engine.submit(TINY, **NO_PROBES) for _ in range(3))
    wait_until(lambda: first.record.steps_done > 0 and second.record.steps_done > 0)
    assert (first.queue_position, second.queue_position) == (None, None)
    assert (third.queue_position, fourth.queue_position, fifth.queue_position) == (1, 2, 3)
    assert third.record.status == fourth.record.status == fifth.record.status == "pending"
    fourth.stop()
    assert fourth.join(WAIT) and fourth.record.status == "stopped" and fourth.worker_pid is None
    assert fifth.queue_position == 2
    first.stop()
    finish(first)
    ended = time.time()
    wait_until(lambda: third.record.status == "running")  # the freed worker takes the first in line
    assert third.queue_position is None and fifth.queue_position == 1 and fifth.record.status == "pending"
    assert not second.done and second.record.status == "running"
    second.stop()
    finish(second, third, fifth)
    assert third.record.status == fifth.record.status == "finished"
    assert third.record.created >= ended - 0.5 and fifth.record.created >= third.record.created
    assert fourth.record.steps_done == 0 and not fourth.record.created and fourth.model is None


@pytest.mark.slow
def test_stop_ends_a_run_in_the_middle_of_a_long_first_batch(dask_engine):
    handle = dask_engine.submit(LONG_FIRST_BATCH, **NO_PROBES)
    wait_until(lambda: handle.record.params > 0)  # the model is built: tracing and the first batch take ~10 s
    handle.stop()
    assert handle.join(30)
    record = handle.record
    assert record.status == "stopped" and record.message == STOPPED_MID_BATCH
    assert record.steps_done < record.total_steps and handle.model is None and not handle.has_model
    after = dask_engine.submit(TINY, **NO_PROBES)  # the worker that was ended is replaced by a warm one
    finish(after)
    assert after.record.status == "finished"


@pytest.mark.slow
def test_a_worker_that_dies_ends_only_its_own_run(dask_engine):
    bystander = dask_engine.submit(ENDLESS, **NO_PROBES)
    wait_until(lambda: bystander.record.steps_done > 0)
    too_big = dask_engine.submit(TOO_BIG, **NO_PROBES)
    finish(too_big)
    assert too_big.record.status == "failed" and too_big.model is None
    assert too_big.record.message.startswith("The worker training this run stopped: it passed its 2.0 GB memory "
                                             "limit or crashed. Everyone else's runs carry on")

    crashing = dask_engine.submit(ENDLESS, **NO_PROBES)
    wait_until(lambda: crashing.record.steps_done > 0)  # on the worker the nanny started in the dead one's place
    assert crashing.worker_pid not in (too_big.worker_pid, bystander.worker_pid)
    dask_engine.client.run(os._exit, 1, workers=[crashing.worker_address], on_error="ignore")  # a crash
    finish(crashing)
    assert crashing.record.status == "failed" and "crashed" in crashing.record.message

    steps = bystander.record.steps_done
    wait_until(lambda: bystander.record.steps_done > steps)  # it trained on through both deaths
    bystander.stop()
    finish(bystander)
    assert bystander.record.status == "stopped" and bystander.model is not None
    afterwards = dask_engine.submit(TINY, **NO_PROBES)
    finish(afterwards)
    assert afterwards.record.status == "finished"


# --- Choosing an engine -------------------------------------------------------------------------------------------


def test_the_environment_chooses_the_engine():
    assert engine_settings({}) == {"kind": "local", "address": None, "n_workers": None, "memory_limit": None,
                                   "tf_threads": None}
    assert engine_settings({"RNNLAB_WORKERS": "3", "RNNLAB_WORKER_MEMORY_MB": "1500",
                            "RNNLAB_WORKER_TF_THREADS": "1"}) == {
        "kind": "local", "address": None, "n_workers": 3, "memory_limit": 1500 * 2**20, "tf_threads": 1}
    # The budget reads the same worker limit from the same variables, so its per-run share fits the worker.
    from rnnlab import budget, settings

    assert budget.worker_memory_bytes() == int(0.8 * budget.os.sysconf("SC_PAGE_SIZE") * budget.os.sysconf(
        "SC_PHYS_PAGES") / settings.default_worker_count())
    assert engine_settings({"RNNLAB_SCHEDULER": " tcp://host:8786 "})["address"] == "tcp://host:8786"
    assert engine_settings({"RNNLAB_SCHEDULER": "tcp://host:8786"})["kind"] == "cluster"
    assert engine_settings({"RNNLAB_WORKERS": "0", "RNNLAB_SCHEDULER": "tcp://host:8786"})["kind"] == "threads"
    with pytest.raises(ValueError, match="RNNLAB_WORKERS must be a whole number of 0 or more, not 'lots'"):
        engine_settings({"RNNLAB_WORKERS": "lots"})
    threads = create_engine({"RNNLAB_WORKERS": "0"})
    assert isinstance(threads, ThreadEngine) and threads.describe() == "threads in this process"


def test_an_engine_can_use_a_cluster_it_did_not_start(dask_engine):
    address = dask_engine.client.scheduler.address
    remote = create_engine({"RNNLAB_SCHEDULER": address})
    try:
        assert isinstance(remote, DaskEngine) and remote.wait_until_ready(WAIT)
        # Every worker counts once it is back from a restart an earlier test caused.
        wait_until(lambda: remote.describe() == f"Dask cluster at {address}, 2 workers")
        handle = remote.submit(TINY, **NO_PROBES)
        finish(handle)
        assert handle.record.status == "finished" and handle.worker_pid != os.getpid()
    finally:
        remote.close()
    assert dask_engine.client.status == "running"  # closing a connection leaves the cluster to its owner
    finish(dask_engine.submit(TINY, **NO_PROBES))


def test_get_engine_makes_one_engine_for_the_process(monkeypatch):
    import rnnlab.engine as engine_module

    monkeypatch.setattr(engine_module, "_engine", None)
    monkeypatch.setenv("RNNLAB_WORKERS", "0")
    found = []
    threads = [threading.Thread(target=lambda: found.append(get_engine())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(found) == 4 and all(engine is found[0] for engine in found) and get_engine() is found[0]
    assert isinstance(found[0], ThreadEngine)
