"""A server that trusts no link (issue 17): hostile links, uploads and floods get one sentence, never a file or a crash.

Every test here plays the learner in a served class who tries to read the server's files, to make it build or
unpack something huge, to queue without end or to fill its disk, and asserts a sentence, no exception, nothing
stored, and bounded growth of this process (the web server). Run with:

    cd /work/wt/trust && .venv/bin/pytest -q tests/test_hostile.py -m "not slow"
"""

import io
import json
import lzma
import math
import os
import time
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnlab import settings
from rnnlab.config import RunConfig, from_link
from rnnlab.data import DataError, files, imdb, make_dataset
from rnnlab.lab import BudgetError, Lab, UploadError
from rnnlab.records import RUN_ID_PATTERN, RunRecord
from rnnlab.saving import save_model
from rnnlab.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=2, batch_size=16)
SECRET = "QZXSECRETWORD"


@pytest.fixture
def confined(tmp_path, monkeypatch):
    """A server as a class gets it: a data folder with one good text file, and confinement on."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "book.txt").write_text("the cat sat on the mat. " * 400)
    monkeypatch.setenv(files.DATA_DIR_VAR, str(data))
    files.confine()
    yield data
    files.unconfine()


@pytest.fixture
def secret(tmp_path) -> Path:
    """A server file no learner may read (outside the data folder)."""
    path = tmp_path / "private" / "secret.txt"
    path.parent.mkdir()
    path.write_text(f"{SECRET} alpha beta gamma. " * 300)
    return path


@pytest.fixture
def lab(tmp_path) -> Lab:
    from rnnlab.engine.threads import ThreadEngine

    return Lab(Store(str(tmp_path / "home")), ThreadEngine())


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / settings.MB


# --- Item 1: no server file through a link, an uploaded run, a preset or a page ---------------------------------

def hostile_paths(secret: Path, data: Path, home: str) -> list[str]:
    (data / "out").symlink_to(secret)  # a link inside the data folder pointing out of it
    return ["/etc/passwd", str(secret), "../private/secret.txt", "../../../../etc/passwd", "out", str(data / "out"),
            str(secret.parent), "/nonexistent/file.txt", os.path.join(home, "runs.db"), "~/.bashrc", "",
            "/proc/self/environ", "a" * 5000, "x\x00y"]


def test_a_text_file_link_reads_no_server_file_and_says_one_sentence(confined, secret, lab):
    sentences = set()
    for path in hostile_paths(secret, confined, lab.store.home):
        if not path.strip():
            continue
        config = from_link({"task": "text", "corpus": "file", "text_file": path, "level": "char", "seq_len": "40",
                            "samples": "16", "eval_samples": "16"})
        with pytest.raises(DataError) as refused:
            make_dataset(config)
        sentences.add(str(refused.value))
    # One sentence for all: it never tells whether a path exists, is a folder, or how big it is.
    assert sentences == {files.REFUSED}
    dataset = make_dataset(from_link({"task": "text", "corpus": "file", "text_file": "book.txt", "level": "char",
                                      "seq_len": "40", "samples": "16", "eval_samples": "16"}))
    assert set("catm") <= set(dataset.vectorizer.get_vocabulary())  # the data folder's own file still reads


def test_imdb_fields_read_neither_server_files_nor_the_run_store(confined, secret, lab, monkeypatch, tmp_path):
    runs_db = os.path.join(lab.store.home, "runs.db")
    monkeypatch.setenv(files.DATA_DIR_VAR, str(tmp_path))  # a careless data folder that holds the store too
    files.confine(lab.store.home)
    for field in ("imdb_csv", "imdb_path"):
        for path in (runs_db, "home/runs.db", "/etc/passwd", os.path.join(files.home_path(), "runs.db")):
            with pytest.raises(DataError) as refused:
                make_dataset(RunConfig(task="imdb", samples=16, eval_samples=16, **{field: path}))
            assert str(refused.value) == files.REFUSED
    with pytest.raises(DataError, match="reads only files uploaded here"):
        imdb.read_reviews_csv(runs_db)
    assert files.file_stamp(runs_db) is None  # a cache key tells nothing either
    assert files.resolve(str(secret))  # inside that data folder: readable, as its owner chose


def test_a_run_started_with_a_server_path_fails_with_the_sentence(confined, secret, lab):
    token = lab.store.new_learner().token
    config = RunConfig(task="text", corpus="file", text_file=str(secret), level="char", seq_len=16, samples=16,
                       eval_samples=16, epochs=1, units=4)
    try:
        (handle,) = lab.start(token, [config])
        assert handle.join(60)
        record = handle.record
        assert record.status == "failed" and files.REFUSED in record.message and SECRET not in record.message
    except (BudgetError, DataError) as refused:
        assert files.REFUSED in str(refused)


def test_an_uploaded_run_naming_a_server_path_is_refused(lab, secret):
    token = lab.store.new_learner().token
    record = RunRecord(TINY.replace(task="text", corpus="file", text_file=str(secret), level="char"))
    with pytest.raises(UploadError, match="data file this server does not have"):
        lab.upload_run(token, record.to_json().encode())
    assert lab.store.runs(token) == []


def test_an_upload_is_named_by_its_upload_never_by_a_server_path(confined, lab):
    token = lab.store.new_learner().token
    name = lab.take_upload(token, "my book.txt", b"the dog ran in the park. " * 300)
    assert "/" not in name and name.endswith("my_book.txt") and files.display_name(name) == "my_book.txt"
    config = RunConfig(task="text", corpus="file", text_file=name, level="char", seq_len=16, samples=16,
                       eval_samples=16, epochs=1, units=4)
    assert files.uploads_dir() not in RunRecord(config).to_json()  # run JSON carries no server path (item 10)
    from rnnlab.export import script

    assert files.uploads_dir() not in script(config) and "my_book.txt" in script(config)
    assert set("dogrk") <= set(make_dataset(config).vectorizer.get_vocabulary())


PAGES = ["app.py", "pages/inside_cell.py", "pages/next_word.py", "pages/imdb.py", "pages/gradients.py"]


def hostile_links(secret: Path) -> list[dict]:
    return [
        {"task": "text", "corpus": "file", "text_file": str(secret), "level": "char", "seq_len": "40",
         "samples": "16", "eval_samples": "16"},
        {"task": "imdb", "imdb_csv": str(secret), "samples": "16", "eval_samples": "16"},
        {"task": "imdb", "imdb_path": "../../../../etc/passwd"},
        {"task": "adding", "seq_len": "999999999", "samples": "-5", "units": "many", "epochs": "1e309",
         "learning_rate": "nan", "layers": "[1,2]", "cell": "<script>"},
    ]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opened_by_hostile_links_shows_no_file_and_no_traceback(page, secret, tmp_path, monkeypatch):
    monkeypatch.setenv(files.DATA_DIR_VAR, str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    before = rss_mb()
    for link in hostile_links(secret):
        at = AppTest.from_file(str(ROOT / page), default_timeout=120)
        for name, value in link.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, [error.value for error in at.exception]
        shown = "\n".join(rendered(at._tree, []))
        assert SECRET not in shown and str(secret) not in shown and "Traceback" not in shown
    assert rss_mb() - before < 400  # the web server stays bounded by hostile links


def rendered(node, found: list[str]) -> list[str]:
    """Every element's protobuf text in an AppTest tree: whatever a browser would be sent."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        found.append(str(proto))
    for child in getattr(node, "children", {}).values():
        rendered(child, found)
    return found


# --- Item 3: an uploaded .keras never decides how big a network the server builds -----------------------------

def trained(lab: Lab, config: RunConfig = TINY):
    token = lab.store.new_learner().token
    (handle,) = lab.start(token, [config])
    assert handle.join(120)
    return token, handle


def edited_keras(path: Path, old: bytes, new: bytes) -> bytes:
    """The .keras file at `path` with its config.json edited, its weights left as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            target.writestr(member, data.replace(old, new) if member.filename == "config.json" else data)
    return out.getvalue()


def test_a_keras_file_asking_for_2000_units_builds_only_the_runs_network(lab, tmp_path, monkeypatch):
    import keras

    _, handle = trained(lab)
    good = tmp_path / "good.keras"
    save_model(handle.model, handle.dataset, good)
    huge = edited_keras(good, b'"units": 4', b'"units": 2000')
    built = []
    original = keras.layers.LSTM.__init__

    def spy(self, units, *args, **kwargs):
        built.append(units)
        original(self, units, *args, **kwargs)

    monkeypatch.setattr(keras.layers.LSTM, "__init__", spy)
    learner = lab.store.new_learner().token
    record = lab.upload_run(learner, handle.record.to_json().encode(), huge, "huge.keras")
    assert max(built) == TINY.units  # the run's own network, from its validated configuration
    (stored,) = lab.runs(learner).values()
    x = handle.dataset.x_val[:4]
    np.testing.assert_allclose(stored.model.predict(x, verbose=0), handle.model.predict(x, verbose=0), atol=1e-6)
    assert max(built) == TINY.units and record.run_id != handle.run_id


def test_a_keras_archive_that_unpacks_past_its_weights_is_refused_unread(lab, tmp_path):
    _, handle = trained(lab)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * (64 * settings.MB))  # a bomb: 64 MB of zeros in 64 KB
    learner = lab.store.new_learner().token
    before = rss_mb()
    with pytest.raises(UploadError, match="unpacks to 64.0 MB, more than this run's weights could take"):
        lab.upload_run(learner, handle.record.to_json().encode(), out.getvalue(), "bomb.keras")
    assert rss_mb() - before < 60 and lab.store.runs(learner) == []


# --- Item 4: a compressed CSV cannot unpack without end -------------------------------------------------------

def reviews_csv(rows: int) -> bytes:
    lines = ["review,sentiment"] + [f'"A {"good" if row % 2 else "bad"} film, number {row}.",'
                                    f'{"positive" if row % 2 else "negative"}' for row in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_csv_bomb_is_refused_past_the_unpacked_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_UNPACKED_MB", "1")
    bomb = tmp_path / "bomb.csv.xz"
    bomb.write_bytes(lzma.compress(reviews_csv(10) + b"x" * (20 * settings.MB)))
    assert bomb.stat().st_size < 10_000
    before = rss_mb()
    with pytest.raises(imdb.ImdbDataError, match=r"more than 1 MB once unpacked"):
        imdb.read_reviews_csv(str(bomb))
    assert rss_mb() - before < 50


def npz_bomb(path: Path, megabytes: int) -> None:
    """An imdb.npz of the right four arrays whose x_train unpacks to `megabytes` MB of zeros (a few KB on disk)."""
    small = {"y_train": np.zeros(2, dtype=np.int64), "x_test": np.zeros((2, 3), dtype=np.int32),
             "y_test": np.zeros(2, dtype=np.int64)}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in small.items():
            with archive.open(f"{name}.npy", "w") as stream:
                np.lib.format.write_array(stream, array)
        with archive.open("x_train.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array_header_1_0(stream, {"descr": "<i4", "fortran_order": False,
                                                          "shape": (megabytes * settings.MB // 4 // 8, 8)})
            chunk = bytes(settings.MB)
            for _ in range(megabytes):
                stream.write(chunk)


def test_an_npz_bomb_is_refused_past_the_unpacked_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_UNPACKED_MB", "1")
    bomb = tmp_path / "imdb.npz"
    npz_bomb(bomb, 40)
    assert bomb.stat().st_size < 200_000
    config = RunConfig(task="imdb", imdb_path=str(bomb), samples=16, eval_samples=16)
    before = rss_mb()
    with pytest.raises(imdb.ImdbDataError, match=r"more than 1 MB once unpacked"):
        make_dataset(config)
    assert rss_mb() - before < 30


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zip", ".xz"])
def test_every_compressed_kind_is_capped_in_rows(tmp_path, monkeypatch, suffix):
    import bz2
    import gzip

    monkeypatch.setenv("RNNLAB_MAX_CSV_ROWS", "50")
    path = tmp_path / f"reviews.csv{suffix}"
    data = reviews_csv(80)
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("reviews.csv", data)
    else:
        path.write_bytes({".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix](data))
    with pytest.raises(imdb.ImdbDataError, match="more than 50 rows"):
        imdb.read_reviews_csv(str(path))
    monkeypatch.setenv("RNNLAB_MAX_CSV_ROWS", "80")
    assert len(imdb.read_reviews_csv(str(path))[0]) == 80


# --- Item 5: time is budgeted, and the queue has an end --------------------------------------------------------

def test_a_run_of_192_days_is_refused_with_what_to_change(lab):
    config = RunConfig(task="sine", seq_len=500, samples=200_000, batch_size=1, epochs=1000)
    _, verdict = lab.plan(config)
    assert verdict.level == "refuse" and "epochs" in verdict.sentence and "30 min" in verdict.sentence
    with pytest.raises(BudgetError, match="at most 30 min"):
        lab.start(lab.store.new_learner().token, [config])
    assert lab.plan(TINY)[1].level != "refuse"


def test_a_run_past_the_time_limit_is_ended_with_its_own_message(lab, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_RUN_MINUTES", "0.01")  # 0.6 s
    monkeypatch.setenv(files.CONFINED_VAR, "1")
    token = lab.store.new_learner().token
    with pytest.raises(BudgetError, match="at most 0.01 min"):
        lab.start(token, [TINY.replace(epochs=1000)])
    from rnnlab.training import Trainer

    trainer = Trainer(TINY.replace(epochs=1000))
    record = trainer.run()
    assert record.status == "stopped" and "longest a run may train on this server" in record.message
    assert record.steps_done >= 1 and record.epochs_done < 1000


def test_tabs_without_a_token_cannot_queue_without_end(lab, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_QUEUE", "2")
    long = TINY.replace(epochs=500)
    handles = []
    try:
        for _ in range(2):
            handles += lab.start(lab.store.new_learner().token, [long])  # two tabs, two new learners
        with pytest.raises(BudgetError, match=r"This server already has 2 runs training or waiting, its most \(2\)"):
            lab.start(lab.store.new_learner().token, [TINY])
        monkeypatch.setenv("RNNLAB_MAX_QUEUE", "50")
        monkeypatch.setenv("RNNLAB_MAX_CLASS_QUEUE", "2")
        with pytest.raises(BudgetError, match="Your class already has 2 runs"):
            lab.start(lab.store.new_learner().token, [TINY])
    finally:
        for handle in handles:
            handle.stop()
        for handle in handles:
            assert handle.join(60)


# --- Item 6: an uploaded run is checked in full before anything is stored --------------------------------------

@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> dict:
    from rnnlab.training import Trainer

    record = Trainer(TINY).run()
    return json.loads(record.to_json())


def hostile_runs(good: dict) -> list[tuple[bytes, str]]:
    def changed(**values) -> bytes:
        return json.dumps({**good, **values}).encode()

    steps = good["steps_per_epoch"]
    return [
        (changed(epoch_seconds=[0.1, "NaN"]), "epoch_seconds"),
        (json.dumps(good).replace('"epoch_seconds": [', '"epoch_seconds": [NaN, ').encode(), "not a number"),
        (changed(run_id=""), "run id"),
        (changed(run_id="../x"), "run id"),
        (changed(run_id=12345678), "run id"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (changed(layers=[{"a": [[[[[[[[[1]]]]]]]]]}]), "nested deeper"),
        (changed(history={"loss": [0.1] * 20_000}), "at most 2"),
        (changed(batch_loss=[0.1] * (2 * steps + 1), batch_progress=[1.0] * (2 * steps + 1)), "allow at most"),
        (changed(status="hacked"), "status"),
        (changed(history={"loss": ["a", "b"]}), "finite number"),
        (changed(history={"loss<img>": [0.1]}), "series whose name"),
        (changed(params="1e309"), "finite number"),
        (changed(batch_progress=good["batch_progress"][::-1]), "run forward"),
        (changed(config={"units": 10**9}), "could not be read"),
        (changed(config="not a config"), "no settings and history"),
        (json.dumps(good).encode()[: len(json.dumps(good)) // 2], "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b" " * (50 * settings.MB + 1), "at most 50 MB"),
    ]


def test_every_hostile_run_file_gets_one_sentence_and_stores_nothing(lab, good_run):
    learner = lab.store.new_learner().token
    counts = lab.store.counts()
    before = rss_mb()
    for payload, words in hostile_runs(good_run):
        with pytest.raises(UploadError, match=words) as refused:
            lab.upload_run(learner, payload)
        assert "\n" not in str(refused.value) and str(refused.value).count(". ") <= 1, str(refused.value)
        assert lab.store.counts() == counts, words  # not a row, not an epoch
    assert rss_mb() - before < 300


def test_a_run_name_from_a_file_never_reaches_other_screens(lab, good_run):
    learner = lab.store.new_learner().token
    record = lab.upload_run(learner, json.dumps({**good_run, "name": "![](https://host/p.png) [Sign in](https://h)"})
                            .encode())
    (stored,) = lab.store.runs(learner)
    assert stored.name == record.name == RunConfig.from_dict(good_run["config"]).label()
    assert stored.uploaded and record.uploaded and not lab.store.runs(learner)[0].name.startswith("!")
    assert lab.store._read("SELECT uploaded FROM runs WHERE run_id = ?", (record.run_id,)) == [(1,)]


def test_batches_are_sliced_once_not_once_per_epoch(tmp_path):
    """150,000 batch points took 14.5 s when every epoch scanned the list from its start (quadratic)."""
    class Counting(list):
        reads = 0

        def __getitem__(self, index):
            Counting.reads += 1
            return super().__getitem__(index)

        def __iter__(self):
            for item in super().__iter__():
                Counting.reads += 1
                yield item

    epochs, steps = 100, 1500
    config = RunConfig(task="sine", samples=steps * 16, batch_size=16, epochs=epochs)
    record = RunRecord(config, status="finished", steps_per_epoch=steps)
    record.history = {"loss": [0.1] * epochs}
    record.epoch_seconds = [0.1] * epochs
    record.batch_loss = [0.1] * (epochs * steps)
    record.batch_progress = Counting((index + 1) / steps for index in range(epochs * steps))
    store = Store(str(tmp_path / "home"))
    learner = store.new_learner().token
    Counting.reads = 0
    store.save_uploaded(learner, record)
    assert Counting.reads < 20 * epochs * math.log2(epochs * steps) + epochs * steps  # n log n, not n²
    assert len(store.run(record.run_id).batch_progress) == epochs * steps


# --- Item 9: the disk does not fill -----------------------------------------------------------------------------

def test_streamlit_caps_uploads_at_the_labs_size_and_shows_no_traceback():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == settings.Settings().max_upload_mb == 50
    assert config["client"]["showErrorDetails"] == "none"  # item 10: `false` would mean "stacktrace"


def test_quotas_say_a_sentence_when_reached(lab, good_run, monkeypatch):
    learner = lab.store.new_learner().token
    monkeypatch.setenv("RNNLAB_MAX_LEARNER_RUNS", "1")
    lab.upload_run(learner, json.dumps(good_run).encode())
    with pytest.raises(UploadError, match=r"You keep 1 runs, the most one learner may keep here \(1\)"):
        lab.upload_run(learner, json.dumps({**good_run, "run_id": "0123456789abcdef"}).encode())
    with pytest.raises(BudgetError, match="the most one learner may keep"):
        lab.start(learner, [TINY])
    monkeypatch.setenv("RNNLAB_MAX_LEARNER_UPLOAD_MB", "0.01")
    lab.take_upload(learner, "a.txt", b"x" * 8000)
    with pytest.raises(UploadError, match="one learner may upload here"):
        lab.take_upload(learner, "b.txt", b"y" * 8000)
    with pytest.raises(UploadError, match="at most 50 MB can be uploaded"):
        lab.take_upload(learner, "c.txt", b"z" * (50 * settings.MB + 1))


def test_deleted_runs_and_unused_uploads_are_purged(lab, tmp_path):
    token, handle = trained(lab)
    model = lab.store.model_path(handle.run_id)
    assert os.path.isfile(model)
    lab.delete(token, handle.run_id)
    assert lab.purge(force=True)[0] == [] and os.path.isfile(model)  # still restorable: kept
    lab.store._connection().execute("UPDATE runs SET deleted_at = ? WHERE run_id = ?", (time.time() - 2 * 86400,
                                                                                      handle.run_id))
    used = lab.take_upload(token, "used.txt", b"the cat sat. " * 200)
    unused = lab.take_upload(token, "unused.txt", b"the dog ran. " * 200)
    lab.store.save_run(token, RunRecord(TINY.replace(task="text", corpus="file", text_file=used, level="char"),
                                        status="finished"))
    for name in (used, unused):
        os.utime(files.resolve_upload(name), (time.time() - 2 * 86400,) * 2)
    runs, uploads = lab.purge(force=True)
    assert runs == [handle.run_id] and not os.path.exists(model) and lab.store.run(handle.run_id) is None
    assert uploads == [unused] and files.resolve_upload(used) and not files.resolve_upload(unused)
    assert lab.store.upload_bytes(token) == len(b"the cat sat. " * 200)


# --- Item 10: the smaller holes --------------------------------------------------------------------------------

def test_run_ids_have_64_bits_and_the_format_uploads_accept():
    import re

    ids = {RunRecord(TINY).run_id for _ in range(1000)}
    assert len(ids) == 1000 and all(len(run_id) == 16 and re.match(RUN_ID_PATTERN, run_id) for run_id in ids)


def test_delete_checks_the_owner_before_stopping_a_run(lab):
    owner = lab.store.new_learner().token
    (handle,) = lab.start(owner, [TINY.replace(epochs=500)])
    try:
        with pytest.raises(StoreError, match="no such run of yours"):
            lab.delete(lab.store.new_learner().token, handle.run_id)
        assert not handle.done and handle.record.status in ("pending", "running")
    finally:
        handle.stop()
        assert handle.join(60)


def test_the_store_is_readable_by_its_owner_only(tmp_path):
    store = Store(str(tmp_path / "home"))
    store.new_learner()
    assert os.stat(store.home).st_mode & 0o777 == 0o700
    assert os.stat(store.path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.join(store.home, "models")).st_mode & 0o777 == 0o700


def test_a_deleted_run_uploads_back(lab, good_run):
    learner = lab.store.new_learner().token
    record = lab.upload_run(learner, json.dumps(good_run).encode())
    with pytest.raises(UploadError, match="already among your runs"):
        lab.upload_run(learner, json.dumps(good_run).encode())
    lab.delete(learner, record.run_id)
    again = lab.upload_run(learner, json.dumps(good_run).encode())
    assert [run.run_id for run in lab.store.runs(learner)] == [again.run_id]
