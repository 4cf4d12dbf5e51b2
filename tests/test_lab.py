"""The web server's lab (`rnnlab.lab`): runs saved as they train, reattached, read back after a restart, costed
before they start, and uploaded back. Trained on threads here; tests/test_engine.py covers the Dask workers."""

import json

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.engine.threads import ThreadEngine
from rnnlab.lab import BudgetError, Lab, StoredRun, UploadError
from rnnlab.records import INTERRUPTED_MESSAGE
from rnnlab.saving import save_model
from rnnlab.store import Store, StoreError

TINY = RunConfig(task="adding", seq_len=6, samples=64, eval_samples=32, units=3, epochs=2, batch_size=16)


@pytest.fixture
def lab(tmp_path):
    engine = ThreadEngine()
    yield Lab(Store(str(tmp_path / "home")), engine)
    engine.close()


def trained(lab: Lab, config: RunConfig = TINY) -> tuple[str, object]:
    token = lab.store.new_learner().token
    (handle,) = lab.start(token, [config])
    assert handle.join(120), "a tiny run did not end within 120 s"
    return token, handle


def test_a_run_is_saved_as_it_trains_and_read_back_with_its_model(lab):
    token, handle = trained(lab)
    (stored,) = lab.store.runs(token)
    assert stored.run_id == handle.run_id and stored.status == "finished" and stored.epochs_done == 2
    assert stored.history == handle.record.history and len(stored.grad_norms) == 2 and len(stored.gates) == 2
    # A fresh lab over the same store (a server restart) reads it back, model included, from its .keras file.
    again = Lab(Store(lab.store.home), ThreadEngine())
    run = again.runs(token)[handle.run_id]
    assert isinstance(run, StoredRun) and run.done and run.has_model
    x = run.dataset.x_val[:8]
    np.testing.assert_allclose(run.model.predict(x, verbose=0), handle.model.predict(x, verbose=0), atol=1e-6)


def test_a_run_still_training_is_reattached_to_its_live_handle(lab):
    token = lab.store.new_learner().token
    (handle,) = lab.start(token, [TINY.replace(epochs=200)])
    try:
        runs = lab.runs(token)  # what a reload or a new tab asks for
        assert runs[handle.run_id] is handle and handle.running
    finally:
        handle.stop()
        assert handle.join(60)
    assert lab.store.run(handle.run_id).status == "stopped"


def test_a_restart_in_the_middle_of_a_run_marks_it_interrupted(tmp_path):
    home = str(tmp_path / "home")
    engine = ThreadEngine()
    first = Lab(Store(home), engine)
    token = first.store.new_learner().token
    (handle,) = first.start(token, [TINY.replace(epochs=500)])
    while handle.record.epochs_done < 1:
        assert handle.running, handle.record.message
        handle.join(0.2)
    # The server dies here: nothing tells the store the run ended. A new server starts on the same store.
    restarted = Lab(Store(home), ThreadEngine())
    assert restarted.interrupted == 1
    run = restarted.runs(token)[handle.run_id]
    assert run.record.status == "interrupted" and run.record.epochs_done >= 1
    assert run.record.message == INTERRUPTED_MESSAGE  # issue 18.13: one sentence everywhere
    handle.stop()
    handle.join(60)
    engine.close()


def test_a_run_over_the_budget_is_refused_before_it_starts(lab, monkeypatch):
    token = lab.store.new_learner().token
    huge = RunConfig(units=512, layers=4, bidirectional=True, seq_len=2000)
    with pytest.raises(BudgetError, match="Reduce the sequence length, the batch size or the units: this run needs "
                                          r"about \d+ GB, the limit is"):
        lab.start(token, [huge])
    monkeypatch.setenv("RNNLAB_MAX_RUN_MB", "300")  # below what TensorFlow alone takes: every run is refused
    with pytest.raises(BudgetError, match="lets a run use 300 MB, less than TensorFlow itself needs .*raise "
                                          "RNNLAB_MAX_RUN_MB"):
        lab.start(token, [TINY])
    assert lab.store.runs(token) == []  # nothing was started or saved


def test_a_learner_queues_at_most_three_runs(lab):
    token = lab.store.new_learner().token
    handles = lab.start(token, [TINY.replace(epochs=300, cell=cell) for cell in ("simplernn", "lstm", "gru")])
    try:
        assert [handle.waiting_for for handle in handles[1:]] == handles[:2]  # one after another
        with pytest.raises(BudgetError, match="You have 3 runs training or waiting"):
            lab.start(token, [TINY])
    finally:
        for handle in handles:
            handle.stop()
        for handle in handles:
            assert handle.join(60)
    assert [record.status for record in lab.store.runs(token)] == ["stopped"] * 3


def test_an_unknown_learner_cannot_start_runs(lab):
    with pytest.raises(StoreError, match="not known on this server"):
        lab.start("not-a-learner", [TINY])


def test_a_downloaded_run_and_its_model_upload_back(lab, tmp_path):
    token, handle = trained(lab)
    data = handle.record.to_json().encode()
    model_file = tmp_path / "run.keras"
    save_model(handle.model, handle.dataset, model_file)
    other = lab.store.new_learner().token
    record = lab.upload_run(other, data, model_file.read_bytes())
    assert record.run_id != handle.run_id  # someone else's run: a copy becomes theirs, the original stays
    (uploaded,) = lab.runs(other).values()
    assert uploaded.record.history == handle.record.history and uploaded.has_model
    x = uploaded.dataset.x_val[:4]
    np.testing.assert_allclose(uploaded.model.predict(x, verbose=0), handle.model.predict(x, verbose=0), atol=1e-6)
    assert [run.run_id for run in lab.store.runs(token)] == [handle.run_id]
    with pytest.raises(UploadError, match="already among your runs"):
        lab.upload_run(other, json.dumps({**json.loads(data), "run_id": record.run_id}).encode())


def test_every_bad_upload_gets_one_sentence_and_touches_nothing(lab, tmp_path):
    token, handle = trained(lab)
    learner = lab.store.new_learner().token
    data = handle.record.to_json().encode()
    good_model = tmp_path / "good.keras"
    save_model(handle.model, handle.dataset, good_model)
    other_shape = trained(lab, TINY.replace(units=5))[1]
    wrong_model = tmp_path / "wrong.keras"
    save_model(other_shape.model, other_shape.dataset, wrong_model)
    cases = [
        (b"\x89PNG\r\n\x1a\n not json", None, "it is not JSON"),
        (b"[1, 2, 3]", None, "has no settings and history"),
        (json.dumps({"config": {"units": "many"}, "history": {}}).encode(), None, "could not be read: Units per layer"),
        (b" " * (50 * 2**20 + 1), None, "at most 50 MB can be uploaded"),
        (data, good_model.read_bytes()[:2000], "not a Keras model file"),
        (data, zip_of_text(tmp_path), "could not be read as a Keras model"),
        (data, wrong_model.read_bytes(), "does not belong to this run"),
    ]
    for payload, model, words in cases:
        with pytest.raises(UploadError, match=words) as error:
            lab.upload_run(learner, payload, model, model_name="my_model.keras")
        assert "\n" not in str(error.value) and str(tmp_path) not in str(error.value)
        assert model is None or "my_model.keras" in str(error.value) or "does not belong" in str(error.value)
    assert lab.store.runs(learner) == []  # nothing of a refused upload was stored


def zip_of_text(folder) -> bytes:
    """A zip archive that is not a Keras model."""
    import zipfile

    path = folder / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return path.read_bytes()


def test_a_model_that_needs_unsafe_loading_is_refused(lab, tmp_path):
    import keras

    token, handle = trained(lab)
    unsafe = keras.Sequential([keras.Input((6, 2)), keras.layers.Lambda(lambda x: x * 2),
                               keras.layers.LSTM(3), keras.layers.Dense(1)])
    path = tmp_path / "unsafe.keras"
    unsafe.save(path)
    with pytest.raises(UploadError, match="safe mode"):
        lab.upload_run(lab.store.new_learner().token, handle.record.to_json().encode(), path.read_bytes())


class _Watching(ThreadEngine):
    """A thread engine that notes, as each run is submitted, what the store already holds for it."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store, self.seen = store, []

    def submit(self, config, dataset=None, **options):
        stored = self.store.run(options.get("run_id") or "", include_probes=False)
        self.seen.append(None if stored is None else (stored.run_id, stored.status))
        return super().submit(config, dataset, **options)


def test_a_runs_row_is_written_before_it_is_submitted(tmp_path):
    """A server that dies between the two never leaves a run training without a row, and the "pending" write can
    never land after (and undo) the "running" one its listener writes (issue 17.10)."""
    store = Store(str(tmp_path / "home"))
    engine = _Watching(store)
    lab = Lab(store, engine)
    try:
        token = store.new_learner().token
        handles = lab.start(token, [TINY, TINY.replace(seed=1)])
        assert engine.seen == [(handle.run_id, "pending") for handle in handles]
        assert all(handle.join(120) for handle in handles)
        assert [store.run(handle.run_id).status for handle in handles] == ["finished", "finished"]
    finally:
        engine.close()


class _Broken(ThreadEngine):
    def submit(self, config, dataset=None, **options):
        raise RuntimeError("the training cluster is not reachable")


def test_a_run_that_cannot_be_submitted_is_stored_as_failed_with_the_reason(tmp_path):
    store = Store(str(tmp_path / "home"))
    lab = Lab(store, _Broken())
    token = store.new_learner().token
    with pytest.raises(RuntimeError):
        lab.start(token, [TINY])
    (stored,) = store.runs(token)
    assert stored.status == "failed" and "not reachable" in stored.message
