"""Pause, step, resume (issue 21.1): on the Dask engine's workers (the app's own path) and on threads; the paused
network's weights in the web server; the pause limit; paused time left out of the time limit; only the owner presses;
the buttons on Build & Train, and the paused run on Inside the cell.

One small local cluster (one worker) serves the module's Dask tests; every wait is bounded and polled.
"""

import os
import threading
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import lab_runs
from rnnlab.config import RunConfig
from rnnlab.engine.cluster import DaskEngine
from rnnlab.engine.threads import ThreadEngine
from rnnlab.lab import Lab
from rnnlab.pausing import PAUSE_LIMIT_MESSAGE, pause_position, paused_text
from rnnlab.records import RunRecord
from rnnlab.store import Store, StoreError
from rnnlab.training import Trainer

# Four batches an epoch; long enough that a pause always lands before the end.
LONG = RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=200, batch_size=16)
NO_PROBES = {"record_grad_norms": False, "record_gates": False}
WAIT = 120  # seconds: the bound on every wait, far above what any of them takes
APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app.py")


@pytest.fixture(scope="module")
def dask_engine():
    engine = DaskEngine(n_workers=1, memory_limit=2 * 2**30)
    assert engine.wait_until_ready(WAIT) and engine.client is not None, engine.describe()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def thread_engine():
    engine = ThreadEngine()
    yield engine
    engine.close()


def wait_until(predicate, timeout=WAIT):
    """Poll `predicate` until it holds; fail the test (instead of hanging) if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def pause_once_started(handle):
    wait_until(lambda: handle.record.steps_done >= 1 or handle.done)
    assert handle.pause(), "a training run takes a pause"
    wait_until(lambda: handle.paused)
    return handle.record.snapshot()


def test_the_position_reads_as_the_page_says_it():
    record = RunRecord(LONG)
    record.steps_per_epoch = 32
    record.batch_loss = [1.0] * 64
    assert pause_position(record) == (2, 32, 32) and paused_text(record) == "Paused after epoch 2, batch 32 of 32"
    record.batch_loss = [1.0] * 69
    assert paused_text(record) == "Paused after epoch 3, batch 5 of 32"


# --- On the Dask engine's workers --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_paused_run_holds_still_steps_one_epoch_and_hands_its_weights_over(dask_engine):
    handle = dask_engine.submit(LONG, **NO_PROBES)
    at_pause = pause_once_started(handle)
    steps, epochs = at_pause.steps_done, at_pause.epochs_done
    assert at_pause.status == "running" and at_pause.paused_since > 0
    # The issue asks for 5 s without a move: watched the whole time, not slept through.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert handle.record.steps_done == steps and handle.record.epochs_done == epochs and handle.paused
        time.sleep(0.1)

    assert handle.step()
    wait_until(lambda: handle.record.steps_done > steps and handle.paused)
    after = handle.record.snapshot()
    assert after.epochs_done == epochs + 1 and after.steps_done == steps + after.steps_per_epoch
    assert handle.record.paused_seconds >= 5

    # The web server's paused network is the worker's: stopped now, without a batch more, its final model agrees.
    x = handle.dataset.x_val
    paused = handle.paused_model.predict(x, verbose=0)
    handle.stop()
    assert handle.join(WAIT)
    assert handle.record.status == "stopped" and handle.record.steps_done == after.steps_done
    assert handle.paused_model is None and not handle.paused
    np.testing.assert_array_equal(handle.model.predict(x, verbose=0), paused)


@pytest.mark.slow
def test_a_paused_and_resumed_run_trains_as_an_uninterrupted_one(dask_engine):
    config = LONG.replace(epochs=5)
    straight = dask_engine.submit(config, **NO_PROBES)
    assert straight.join(WAIT) and straight.record.status == "finished"

    interrupted = dask_engine.submit(config, **NO_PROBES)
    pause_once_started(interrupted)
    assert interrupted.step()
    wait_until(lambda: interrupted.record.steps_done > 4 and interrupted.paused or interrupted.done)
    assert interrupted.resume()
    assert interrupted.join(WAIT) and interrupted.record.status == "finished"
    assert interrupted.record.paused_seconds > 0
    # The pause draws nothing and moves no batch: the same losses, batch by batch.
    np.testing.assert_allclose(interrupted.record.batch_loss, straight.record.batch_loss, rtol=1e-6)
    np.testing.assert_allclose(interrupted.record.history["val_loss"], straight.record.history["val_loss"],
                               rtol=1e-6)


@pytest.mark.slow
def test_a_run_paused_past_the_limit_is_stopped_with_a_sentence(dask_engine, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_PAUSE_MINUTES", "0.02")  # 1.2 s, read by the server when the run is submitted
    handle = dask_engine.submit(LONG, **NO_PROBES)
    at_pause = pause_once_started(handle)
    assert handle.join(WAIT)
    record = handle.record
    assert record.status == "stopped" and record.message == PAUSE_LIMIT_MESSAGE.format(minutes=0.02)
    assert record.steps_done == at_pause.steps_done  # nothing trained after the pause
    assert handle.has_model  # what it learned is kept


# --- On threads, and in the Lab ----------------------------------------------------------------------------------


class _SlowOnce:
    """The presses' Variable of a scheduler too busy to answer the first read in time."""

    def __init__(self, presses: list[str]) -> None:
        self.presses, self.reads = presses, 0

    def get(self, timeout=None):
        self.reads += 1
        if self.reads == 1:
            raise TimeoutError("the scheduler did not answer in time")
        return list(self.presses)


def test_a_slow_scheduler_read_does_not_lose_a_press():
    # The worker's watcher used to end at the first read that timed out, so every later press (the Step after a
    # Pause, on a busy machine) was lost. It reads again, and applies each press once.
    from rnnlab.engine.remote_pause import PauseWatcher
    from rnnlab.pausing import PauseGate

    class Once:  # the run's event: set once by the server
        def __init__(self):
            self.set_ = True

        def wait(self, timeout=None):
            if self.set_:
                return True
            time.sleep(0.01)
            return False

        def clear(self):
            self.set_ = False

    gate, ended = PauseGate(), threading.Event()
    watcher = PauseWatcher.__new__(PauseWatcher)
    threading.Thread.__init__(watcher, daemon=True)
    watcher.event, watcher.presses, watcher.gate, watcher.ended, watcher.applied = (
        Once(), _SlowOnce(["pause", "step"]), gate, ended, 0)
    watcher.start()
    deadline = time.monotonic() + 10  # a passing watcher takes milliseconds
    while watcher.applied < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    ended.set()
    watcher.join(WAIT)
    assert watcher.applied == 2 and watcher.presses.reads == 2
    assert gate._hold and gate._steps == 1  # paused, one epoch asked for


def test_on_threads_step_adds_one_epoch_and_stop_ends_a_paused_run(thread_engine):
    handle = thread_engine.submit(LONG, **NO_PROBES)
    at_pause = pause_once_started(handle)
    assert handle.step()
    wait_until(lambda: handle.record.steps_done > at_pause.steps_done and handle.paused)
    assert handle.record.epochs_done == at_pause.epochs_done + 1
    paused = handle.paused_model.predict(handle.dataset.x_val, verbose=0)
    handle.stop()
    assert handle.join(WAIT) and handle.record.status == "stopped"
    np.testing.assert_array_equal(handle.model.predict(handle.dataset.x_val, verbose=0), paused)


@pytest.mark.slow
def test_paused_time_is_not_counted_against_the_time_limit():
    trainer = Trainer(LONG.replace(epochs=1000, samples=640), **NO_PROBES)  # far longer than the limit below
    thread = threading.Thread(target=trainer.run, daemon=True)
    started = time.monotonic()
    thread.start()
    wait_until(lambda: trainer.record.steps_done >= 1)
    trainer.pause_gate.pause()
    wait_until(lambda: trainer.pause_gate.holding)
    paused_at = time.monotonic()
    # RNNLAB_MAX_RUN_MINUTES as a served app reads it, set here to 2 s more than the run has trained (start-up on a
    # busy machine can take longer than a small limit, so it is set once the run is held).
    trainer.time_limit = trainer.record.wall_seconds + 2.0
    wait_until(lambda: time.monotonic() - paused_at > 4, timeout=10)  # paused longer than the 2 s it has left
    steps = trainer.record.steps_done
    trainer.pause_gate.resume()
    wait_until(lambda: trainer.record.steps_done > steps + 2 or not thread.is_alive())
    assert trainer.record.status == "running"  # the 4 s paused were not counted: it trains on
    thread.join(WAIT)
    record = trainer.record
    assert record.status == "stopped" and "minutes, the longest a run may train" in record.message
    assert record.paused_seconds >= 4 and record.wall_seconds < time.monotonic() - started - 4  # training alone


def test_only_the_runs_owner_can_pause_it(tmp_path, thread_engine):
    lab = Lab(Store(str(tmp_path / "home")), thread_engine)
    owner, other = lab.store.new_learner().token, lab.store.new_learner().token
    [handle] = lab.start(owner, [LONG])
    wait_until(lambda: handle.record.steps_done >= 1)
    for press in (lab.pause, lab.step, lab.resume):
        with pytest.raises(StoreError):
            press(other, handle.run_id)
    assert lab.paused_run(other, handle.run_id) is None
    assert lab.pause(owner, handle.run_id)
    wait_until(lambda: handle.paused)
    view = lab.paused_run(owner, handle.run_id)
    assert view.done and view.paused and view.model is handle.paused_model
    assert view.record.steps_done == handle.record.steps_done
    handle.stop()
    assert handle.join(WAIT) and lab.paused_run(owner, handle.run_id) is None
    assert not lab.pause(owner, handle.run_id)  # an ended run has nothing to pause


# --- The pages ----------------------------------------------------------------------------------------------------


def test_the_class_page_and_its_queue_show_a_paused_run_as_paused_with_its_place():
    from rnnlab.engine.queueing import class_queue
    from rnnlab.lab import get_lab

    lab = get_lab()  # the app's own lab (threads here): the page reads the same engine
    room = lab.store.new_class("Paused class")
    learner = lab.store.new_learner("Ada", class_id=room.class_id)
    [handle] = lab.start(learner.token, [LONG])
    try:
        wait_until(lambda: handle.record.epochs_done >= 1)  # a row in the store with an epoch
        assert lab.pause(learner.token, handle.run_id)
        wait_until(lambda: handle.paused)
        where = paused_text(handle.record).replace("Paused", "paused", 1)  # "paused after epoch 2, batch 3 of 4"
        at = AppTest.from_file(os.path.join(os.path.dirname(APP), "pages", "classroom.py"), default_timeout=90)
        at.query_params["teacher"] = room.teacher_token
        at.run()
        assert not at.exception
        assert any("1 run of this task · 0 training now · 1 paused" in caption.value for caption in at.caption)
        (every_run,) = [table.value for table in at.table if "status" in table.value.columns]
        assert list(every_run["status"]) == [where]
        # The teacher's queue table (rows as the Dask engine gives them: this run on a worker at port 40123).
        row = {"run_id": handle.run_id, "worker": "tcp://127.0.0.1:40123", "place": None, "wait_seconds": None,
               "after": None}
        pairs = [(learner, handle.record.snapshot())]
        assert class_queue([row], pairs, {learner.token: "Ada"})[0]["where"] == f"{where}, keeping worker 40123"
        assert lab.resume(learner.token, handle.run_id)
        wait_until(lambda: not handle.paused)
        assert class_queue([row], [(learner, handle.record.snapshot())],
                           {learner.token: "Ada"})[0]["where"] == "training on worker 40123"
    finally:
        handle.stop()
        handle.join(WAIT)



@pytest.mark.slow
def test_build_and_train_pauses_steps_and_resumes_and_inside_the_cell_looks_at_the_paused_run():
    at = AppTest.from_file(APP, default_timeout=90)
    for name, value in {"samples": "64", "eval_samples": "32", "seq_len": "8", "units": "4", "epochs": "500",
                        "batch_size": "16"}.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    at.button(key="bt_train").click().run()
    [handle] = lab_runs(at).values()
    wait_until(lambda: handle.record.steps_done >= 1)
    at.run()
    assert not at.button(key="bt_pause").disabled and at.button(key="bt_step").disabled
    at.button(key="bt_pause").click().run()
    wait_until(lambda: handle.paused)
    at.run()
    position = paused_text(handle.record)
    assert any(position in block.proto.text for block in at.get("progress"))
    assert at.button(key="bt_pause").disabled and not at.button(key="bt_resume").disabled
    assert any("keeps its worker until you resume or stop it" in caption.value for caption in at.caption)

    steps = handle.record.steps_done
    at.button(key="bt_step").click().run()
    wait_until(lambda: handle.record.steps_done == steps + handle.record.steps_per_epoch and handle.paused)

    at.switch_page("pages/inside_cell.py").run()
    assert not at.exception
    assert at.selectbox(key="cell_source").value == handle.run_id  # picked like a finished run
    assert any(paused_text(handle.record).replace("Paused", "paused", 1) in info.value for info in at.info)

    at.switch_page("app.py").run()
    at.button(key="bt_resume").click().run()
    wait_until(lambda: not handle.paused and handle.record.steps_done > steps + handle.record.steps_per_epoch)
    at.button(key="bt_stop").click().run()
    assert handle.join(WAIT) and handle.record.status == "stopped"
