"""The run store (`rnnlab.store`): round trips, learners kept apart, classes, links, restarts, and many writers."""

import multiprocessing
import threading

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.records import INTERRUPTED_MESSAGE, RunRecord
from rnnlab.store import Store, StoreError
from rnnlab.training import Trainer, TrainerCallback


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "home"))


def hand_record(epochs: int = 3, steps: int = 4, units: int = 3, seq_len: int = 5, **config) -> RunRecord:
    """A record with every per-epoch list filled in, probes as float32 arrays, as the trainer writes them."""
    rng = np.random.default_rng(epochs)
    record = RunRecord(RunConfig(seq_len=seq_len, units=units, **config), status="running", created=100.0,
                       steps_per_epoch=steps, baseline_loss=0.5, params=99)
    probe = lambda: {"lstm_1": {"forward": rng.random(seq_len).astype(np.float32)}}  # noqa: E731
    gates = lambda: {"lstm_1": {"forward": {"forget": rng.random((1, seq_len, units)).astype(np.float32)}}}  # noqa
    record.grad_norms_at_init, record.gates_at_init = probe(), gates()
    for epoch in range(1, epochs + 1):
        for batch in range(1, steps + 1):
            record.batch_progress.append(epoch - 1 + batch / steps)
            record.batch_loss.append(float(rng.random()))
        record.history.setdefault("loss", []).append(float(rng.random()))
        record.history.setdefault("val_loss", []).append(float(rng.random()))
        record.epoch_seconds.append(float(rng.random()))
        record.grad_norms.append(probe())
        record.gates.append(gates())
    return record


def assert_same(again: RunRecord, record: RunRecord) -> None:
    assert again.run_id == record.run_id and again.config == record.config and again.status == record.status
    assert again.history.keys() == record.history.keys()
    for key in record.history:
        np.testing.assert_allclose(again.history[key], record.history[key], rtol=1e-12)
    np.testing.assert_allclose(again.batch_progress, record.batch_progress)
    np.testing.assert_allclose(again.batch_loss, record.batch_loss)
    np.testing.assert_allclose(again.epoch_seconds, record.epoch_seconds)
    assert len(again.grad_norms) == len(record.grad_norms) and len(again.gates) == len(record.gates)
    for ours, theirs in zip([again.grad_norms_at_init, *again.grad_norms], [record.grad_norms_at_init,
                                                                            *record.grad_norms]):
        np.testing.assert_array_equal(ours["lstm_1"]["forward"], theirs["lstm_1"]["forward"])
    for ours, theirs in zip([again.gates_at_init, *again.gates], [record.gates_at_init, *record.gates]):
        np.testing.assert_array_equal(ours["lstm_1"]["forward"]["forget"], theirs["lstm_1"]["forward"]["forget"])
    assert (again.params, again.baseline_loss, again.steps_per_epoch) == \
        (record.params, record.baseline_loss, record.steps_per_epoch)


def save_as_it_trains(store: Store, token: str, record: RunRecord) -> None:
    """What the web server does: the run's row at the start, an epoch row at each epoch end, the row at the end."""
    store.save_run(token, record)
    for epoch in range(1, record.epochs_done + 1):
        store.save_epoch(record, epoch)
    store.save_run(token, record)


def test_the_store_is_created_on_first_use_in_rnnlab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_HOME", str(tmp_path / "fresh"))
    store = Store()
    assert (tmp_path / "fresh" / "runs.db").exists() and (tmp_path / "fresh" / "models").is_dir()
    journal = store._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"
    assert store.counts() == {"learners": 0, "classes": 0, "runs": 0, "epochs": 0, "predictions": 0}


def test_a_record_round_trips_with_its_probes(store):
    learner = store.new_learner("Ada")
    record = hand_record()
    record.status, record.test_loss, record.wall_seconds = "finished", 0.25, 3.5
    save_as_it_trains(store, learner.token, record)
    (again,) = store.runs(learner.token)
    assert_same(again, record)
    assert again.test_loss == 0.25 and again.wall_seconds == 3.5
    lean = store.runs(learner.token, include_probes=False)[0]
    assert lean.gates == [] and lean.grad_norms_at_init is None and lean.history == again.history


def test_a_trained_run_round_trips(store):
    class Saver(TrainerCallback):
        def on_train_begin(self, record):
            store.save_run(token, record)

        def on_epoch_end(self, record):
            store.save_epoch(record)

        def on_train_end(self, record):
            store.save_run(token, record)

    token = store.new_learner().token
    config = RunConfig(task="adding", seq_len=6, samples=64, eval_samples=32, units=3, epochs=2, batch_size=16)
    record = Trainer(config, callbacks=[Saver()], record_grad_norms=True, record_gates=True).run()
    (again,) = store.runs(token)
    ours, theirs = again.to_dict(), record.to_dict()
    for key in ("config", "status", "params", "layers", "history", "epoch_seconds", "batch_progress", "steps_done",
                "test_loss", "steps_per_epoch", "samples_per_second", "wall_seconds", "baseline_loss"):
        assert ours[key] == theirs[key], key
    np.testing.assert_allclose(ours["batch_loss"], theirs["batch_loss"], rtol=1e-12)
    for epoch in range(2):
        np.testing.assert_allclose(ours["grad_norms"][epoch]["lstm_1"]["forward"],
                                   theirs["grad_norms"][epoch]["lstm_1"]["forward"], rtol=1e-6)
        np.testing.assert_allclose(ours["gates"][epoch]["lstm_1"]["forward"]["forget"],
                                   theirs["gates"][epoch]["lstm_1"]["forward"]["forget"], rtol=1e-6)


def test_a_running_run_is_reattached_with_what_it_has_done(store):
    token = store.new_learner().token
    record = hand_record(epochs=2)
    store.save_run(token, record)
    store.save_epoch(record, 1)  # epoch 2 is still training
    (again,) = store.runs(token)
    assert again.status == "running" and again.epochs_done == 1 and len(again.batch_loss) == 4
    assert len(again.grad_norms) == 1


def test_a_restart_marks_training_runs_interrupted_and_keeps_their_epochs(tmp_path):
    home = str(tmp_path / "home")
    first = Store(home)
    token = first.new_learner().token
    training, waiting, done = hand_record(epochs=2), hand_record(epochs=0), hand_record(epochs=1)
    waiting.status, done.status = "pending", "finished"
    record = training
    first.save_run(token, record)
    first.save_epoch(record, 1)
    record.batch_progress.append(2.25)  # a batch of the epoch in progress when the server died
    record.batch_loss.append(0.3)
    first.save_run(token, record)
    for other in (waiting, done):
        save_as_it_trains(first, token, other)
    restarted = Store(home)  # the server starts again
    assert restarted.mark_interrupted() == 2
    runs = {run.run_id: run for run in restarted.runs(token)}
    assert runs[training.run_id].status == runs[waiting.run_id].status == "interrupted"
    assert runs[done.run_id].status == "finished"
    interrupted = runs[training.run_id]
    assert interrupted.epochs_done == 1 and interrupted.message == INTERRUPTED_MESSAGE  # issue 18.13: one sentence
    assert interrupted.batch_progress[-1] == 2.25  # nothing it had done is lost
    assert runs[waiting.run_id].message == INTERRUPTED_MESSAGE
    assert restarted.mark_interrupted() == 0


def test_two_learners_never_see_each_others_runs(store):
    ada, bob = store.new_learner("Ada"), store.new_learner("Bob")
    save_as_it_trains(store, ada.token, hand_record())
    save_as_it_trains(store, bob.token, hand_record(units=4))
    assert [run.config.units for run in store.runs(ada.token)] == [3]
    assert [run.config.units for run in store.runs(bob.token)] == [4]
    record = store.runs(ada.token)[0]
    with pytest.raises(StoreError, match="belongs to another learner"):
        store.save_run(bob.token, record)
    with pytest.raises(StoreError, match="no such run of yours"):
        store.delete_run(bob.token, record.run_id)
    store.delete_run(ada.token, record.run_id)
    assert store.runs(ada.token) == []
    store.restore_run(ada.token, record.run_id)
    assert [run.run_id for run in store.runs(ada.token)] == [record.run_id]


def test_tokens_are_unguessable_and_links_do_not_cross(store):
    learners = [store.new_learner() for _ in range(50)]
    tokens = {learner.token for learner in learners}
    assert len(tokens) == 50 and all(len(token) >= 22 for token in tokens)  # 128 random bits each
    classroom = store.new_class("Period 3")
    assert len({classroom.join_token, classroom.teacher_token, classroom.class_id}) == 3
    assert store.class_by_teacher(classroom.teacher_token) == classroom
    # A learner's link, a join link or a mistyped link never opens the teacher's view.
    for wrong in (classroom.join_token, learners[0].token, classroom.teacher_token[:-1] + "x", "", None):
        assert store.class_by_teacher(wrong) is None
    assert store.learner("not-a-token") is None
    with pytest.raises(StoreError, match="class link is not valid"):
        store.join(learners[0].token, classroom.teacher_token)


def test_a_class_gathers_its_learners_runs_and_its_pinned_preset(store):
    classroom = store.new_class("Period 3")
    outsider = store.new_learner("Out")
    save_as_it_trains(store, outsider.token, hand_record())
    members = [store.new_learner(name) for name in ("Ada", "Bob", "Cy")]
    save_as_it_trains(store, members[0].token, hand_record(task="adding"))  # trained before joining: shared too
    for member in members:
        store.join(member.token, classroom.join_token)
    for number, member in enumerate(members):
        save_as_it_trains(store, member.token, hand_record(epochs=number + 1, task="adding"))
    runs = store.class_runs(classroom.class_id, task="adding")
    assert [learner.name for learner, _ in runs] == ["Ada", "Ada", "Bob", "Cy"]
    assert [len(run.history["loss"]) for _, run in runs] == [3, 1, 2, 3]
    assert outsider.token not in {learner.token for learner, _ in store.class_runs(classroom.class_id)}
    assert [learner.name for learner in store.members(classroom.class_id)] == ["Ada", "Bob", "Cy"]
    with pytest.raises(StoreError, match="Only the teacher's link"):
        store.pin_preset(classroom.join_token, "task=adding&cell=gru")
    assert store.pin_preset(classroom.teacher_token, "?task=adding&cell=gru").preset == "task=adding&cell=gru"


def test_names_are_cleaned_and_predictions_are_kept(store):
    learner = store.new_learner("  <b>Ada</b>\n **Lovelace** " + "x" * 60)
    assert learner.name.startswith("bAda/b Lovelace") and len(learner.name) <= 40
    store.save_prediction(learner.token, "04_gru", "q1", "GRU")
    store.save_prediction(learner.token, "04_gru", "q1", "LSTM", run_id="abc", correct=False)  # changed their mind
    (prediction,) = store.predictions(learner.token)
    assert (prediction.answer, prediction.correct, prediction.run_id) == ("LSTM", False, "abc")


def test_model_paths_stay_inside_the_store(store):
    assert store.model_path("abc123").endswith("/models/abc123.keras")
    for bad in ("../etc", "a/b", ""):
        with pytest.raises(StoreError):
            store.model_path(bad)


def _save_many(home: str, learners: int, runs: int, epochs: int) -> None:
    store = Store(home)
    for _ in range(learners):
        token = store.new_learner().token
        for _ in range(runs):
            save_as_it_trains(store, token, hand_record(epochs=epochs))


def test_ten_learners_saving_at_once_lose_nothing(tmp_path):
    home = str(tmp_path / "home")
    Store(home)
    # Ten learners at once, as ten server threads would; then two more processes at once (a second app server).
    threads = [threading.Thread(target=_save_many, args=(home, 1, 3, 5)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_save_many, args=(home, 2, 2, 5)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0]
    counts = Store(home).counts()
    assert counts["learners"] == 10 + 4 and counts["runs"] == 30 + 8 and counts["epochs"] == (30 + 8) * 5
