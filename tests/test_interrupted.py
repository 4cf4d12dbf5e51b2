"""A run the server cut off is "interrupted", with one sentence, wherever it shows (issue 18.13): the store marks
the runs it finds unfinished at start, an engine that closes under a run ends it so, and Build & Train and Compare
runs both show that sentence, never "Stopped after 2 epochs" or a sentence of their own."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import fake_record
from rnnlab import explain
from rnnlab.config import RunConfig
from rnnlab.engine.cluster import DaskEngine
from rnnlab.engine.threads import ThreadEngine
from rnnlab.lab import get_lab
from rnnlab.records import INTERRUPTED_MESSAGE, RunRecord
from rnnlab.store import Store

ROOT = Path(__file__).resolve().parents[1]
ENDLESS = RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=1000, batch_size=16)
WAIT = 120  # seconds: the bound on every wait


def test_a_restart_marks_unfinished_runs_with_the_one_sentence(tmp_path):
    store = Store(str(tmp_path))
    token = store.new_learner().token
    for status in ("running", "pending"):
        store.save_run(token, RunRecord(ENDLESS, status=status))
    assert Store(str(tmp_path)).mark_interrupted() == 2
    assert {(record.status, record.message) for record in store.runs(token)} == {("interrupted", INTERRUPTED_MESSAGE)}


def test_the_verdict_of_an_interrupted_run_is_that_sentence():
    record = fake_record("lstm", val_loss=(0.15, 0.05))
    record.status, record.message = "interrupted", INTERRUPTED_MESSAGE
    assert explain.run_verdict(record) == explain.Verdict("warning", INTERRUPTED_MESSAGE)


@pytest.mark.parametrize("make", [ThreadEngine, lambda: DaskEngine(n_workers=1, memory_limit=2 * 2**30)],
                         ids=["thread", "dask"])
def test_an_engine_closing_under_a_run_ends_it_interrupted(make):
    engine = make()
    ended = []

    class Hears:
        def on_train_end(self, record):
            ended.append((record.status, record.message))  # what the store would save

    handle = engine.submit(ENDLESS, listeners=[Hears()], record_grad_norms=False, record_gates=False)
    while handle.record.epochs_done < 1:
        assert not handle.join(0.2) and handle.record.status in ("pending", "running"), handle.record.message
    engine.close()
    assert handle.join(WAIT)
    assert (handle.record.status, handle.record.message) == ("interrupted", INTERRUPTED_MESSAGE)
    assert ended == [("interrupted", INTERRUPTED_MESSAGE)]


def test_build_and_train_and_compare_runs_say_the_same_sentence():
    store = get_lab().store
    learner = store.new_learner()
    record = fake_record("lstm", val_loss=(0.15, 0.05))
    record.status, record.message = "interrupted", INTERRUPTED_MESSAGE
    store.save_run(learner.token, record)
    for epoch in (1, 2):
        store.save_epoch(record, epoch)
    for page in ("app.py", "pages/runs.py"):
        at = AppTest.from_file(str(ROOT / page), default_timeout=90)
        at.query_params["learner"] = learner.token
        at.run()
        assert not at.exception
        said = [element.value for element in (*at.warning, *at.info, *at.success, *at.markdown, *at.caption)]
        assert any(INTERRUPTED_MESSAGE in text for text in said), (page, said)
        assert not any("Stopped after" in text or "engine was closed" in text for text in said), (page, said)
