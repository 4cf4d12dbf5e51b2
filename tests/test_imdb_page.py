"""Tests for the IMDB sentiment page (`pages/imdb.py`, through AppTest), for `rnnlab.sentiment`, the sizes that fit
a file (`rnnlab.data.imdb`), uploads and server paths (`rnnlab.data.files`), the sentiment charts, and
for the command line's IMDB paths (in subprocesses: a CSV and an npz end to end, and an offline machine with nothing
cached, which must fail in one line with exit code 1).

All data is made here in tmp folders: a tiny reviews CSV of a few distinct positive, negative and neutral words
(some reviews mixed, with a coin-flip label, so a trained model makes a few mistakes), and a tiny Keras-layout
imdb.npz with its word list. Nothing here reaches the network: in this process the Keras download runs with
`urlretrieve` replaced by a function that fails as an offline machine does; the CLI's child process gets an empty
KERAS_HOME and a proxy on a closed local port. Package functions are checked against computations written out
independently here (hand-built prefixes, a Keras sub-model's hidden states, counts by loops).

    .venv/bin/pytest -q tests/test_imdb_page.py
"""

from __future__ import annotations

import base64
import csv
import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import lab_runs
from rnnlab import sentiment
from rnnlab.config import RunConfig, defaults_for_task
from rnnlab.data import files, imdb
from rnnlab.plots import sentiment as sentiment_charts
from rnnlab.plots.runs import confusion_figure
from rnnlab.introspect import trace
from rnnlab.models import build_model

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "imdb.py")
TIMEOUT = 90

# --- Data made here ---------------------------------------------------------------------------------------------

POSITIVE = ("great", "wonderful", "superb", "loved", "brilliant")
NEGATIVE = ("awful", "terrible", "boring", "hated", "dreadful")
NEUTRAL = ("the", "movie", "film", "plot", "acting", "was", "and", "story")
N_REVIEWS = 120
# Small enough to train in a second or two: the point is the plumbing, and that the numbers shown are the model's.
TINY = dict(task="imdb", seq_len=12, vocab_size=100, embedding_dim=8, units=8, batch_size=16, learning_rate=0.01,
            epochs=3, seed=1)


def make_reviews(count: int = N_REVIEWS, seed: int = 0) -> list[tuple[str, int]]:
    """Reviews of 5 neutral words and 2 sentiment words; every fourth one mixed, with a coin-flip label."""
    rng = np.random.default_rng(seed)
    reviews = []
    for number in range(count):
        label = number % 2
        if number % 4 == 3:
            verdict = [rng.choice(POSITIVE), rng.choice(NEGATIVE)]
            label = int(rng.integers(2))
        else:
            verdict = list(rng.choice(POSITIVE if label else NEGATIVE, 2))
        words = list(rng.choice(NEUTRAL, 5)) + verdict
        rng.shuffle(words)
        reviews.append((" ".join(str(word) for word in words).capitalize() + ".<br />", label))
    return reviews


def write_csv(path: Path, reviews=None, columns=("review", "sentiment")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for text, label in reviews or make_reviews():
            writer.writerow([text, "positive" if label else "negative"])
    return path


WORD_RANKS = {word: rank for rank, word in enumerate(NEUTRAL + POSITIVE + NEGATIVE, start=1)}
N_TRAIN, N_TEST = 50, 20


def make_npz(folder: Path) -> Path:
    """A Keras-layout imdb.npz of raw word ranks, and its imdb_word_index.json."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, count, seed in (("train", N_TRAIN, 1), ("test", N_TEST, 2)):
        reviews = make_reviews(count, seed)
        x = np.empty(count, dtype=object)
        x[:] = [[WORD_RANKS[word] for word in text.lower().replace(".<br />", "").split()] for text, _ in reviews]
        arrays[f"x_{name}"] = x
        arrays[f"y_{name}"] = np.array([label for _, label in reviews], dtype=np.int64)
    np.savez(folder / "imdb.npz", **arrays)
    (folder / imdb.WORD_INDEX_FILE).write_text(json.dumps(WORD_RANKS))
    return folder / "imdb.npz"


@pytest.fixture
def csv_path(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """The server's data folder: the only place whose files the page reads by path."""
    monkeypatch.setenv(files.DATA_DIR_VAR, str(tmp_path))
    return tmp_path


@pytest.fixture
def offline(keras_home, monkeypatch):
    """An empty Keras cache and no network: Keras's real get_file runs and fails where it would connect."""
    home = keras_home
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", no_network)
    return home, attempts


# --- Reading the page -------------------------------------------------------------------------------------------


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure the page drew under `key`, as a dict."""
    for element in at.get("plotly_chart"):
        if element.key == key:
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart {key!r}; charts: {[element.key for element in at.get('plotly_chart')]}")


def values(data) -> np.ndarray:
    """A figure array, which Plotly may store as base64-encoded binary."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        shape = data.get("shape")
        if shape:
            array = array.reshape([int(size) for size in str(shape).split(",")])
        return array.astype(np.float64)
    return np.asarray(data, dtype=np.float64)


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def reviews_table(at: AppTest):
    return next(frame.value for frame in at.dataframe if "P(positive)" in frame.value.columns)


def new_app(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at


# --- The page ---------------------------------------------------------------------------------------------------


def test_offline_keras_source_gives_one_message_and_the_page_keeps_working(offline):
    home, attempts = offline
    at = new_app().run()
    # Nothing cached: the page says so and offers the download, the local file or a CSV; it fetches nothing yet.
    assert not at.exception and not at.error and attempts == []
    assert any(str(home / "datasets" / "imdb.npz") in info.value for info in at.info)
    assert not any("Press **Train**" in info.value for info in at.info)  # Train cannot be pressed here
    assert at.button(key="imdb_train").disabled
    at.button(key="imdb_download").click().run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "\n" not in message and str(home / "datasets" / "imdb.npz") in message
    # A web learner is pointed at the page's own options, not at command-line flags.
    assert "A local imdb.npz" in message and "A CSV of raw reviews" in message and "--imdb" not in message
    assert at.sidebar.number_input(key="imdb_vocab_size").value == 10000  # the knobs are still there
    assert len(attempts) == 1
    at.sidebar.number_input(key="imdb_units").set_value(16).run()  # a click does not download again
    assert not at.exception and len(attempts) == 1 and len(at.error) == 1
    at.button(key="imdb_retry").click().run()  # unless the learner asks to
    assert not at.exception and len(attempts) == 2


def test_csv_too_small_for_the_defaults_is_shrunk_to_fit(csv_path, data_dir, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    at = new_app(imdb_source="csv", imdb_csv_path=str(csv_path)).run()
    assert not at.exception and not at.error
    note = next(info.value for info in at.info if "too few" in info.value)
    assert f"{N_REVIEWS:,} reviews" in note
    assert at.sidebar.number_input(key="imdb_samples").value == 72  # 120 - 2 × 24
    assert at.sidebar.number_input(key="imdb_eval_samples").value == 24  # a fifth of 120
    source = next(caption.value for caption in at.caption if caption.value.startswith("From CSV"))
    assert "72 training, 24 validation and 24 test reviews" in source
    assert "CSV reviews.csv" in source and str(data_dir) not in source  # named inside the data folder
    assert at.session_state["imdb_config"].imdb_csv == str(csv_path)
    at.session_state["imdb_config"] = at.session_state["imdb_config"].replace(**TINY)
    at.session_state["imdb__reload"] = True  # as widgets.reload_widgets does
    at.run()
    assert not at.exception
    # The cost beside Train is the budget's estimate for these settings, before anything trains.
    from rnnlab import budget
    from rnnlab.data import get_task

    config = at.session_state["imdb_config"]
    expected = budget.estimate(config, get_task("imdb").budget_shape(config)).summary()
    cost = next(caption for caption in at.caption if caption.value == f"This run needs {expected} on this server's "
                "workers.")
    assert cost.help.endswith("Runs on this server train on threads in this process.")  # tests set RNNLAB_WORKERS=0


@pytest.mark.parametrize("contents", [
    "text_body,stars\nA fine film,5\n",  # no review column
    "review,sentiment\nGood,positive\nBad,meh\nFine,so-so\n",  # labels that are not two classes
])
def test_malformed_csv_shows_its_message(tmp_path, data_dir, contents, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    path = tmp_path / "bad.csv"
    path.write_text(contents)
    with pytest.raises(imdb.ImdbDataError) as expected:
        imdb.read_reviews_csv(str(path))
    at = new_app(imdb_source="csv", imdb_csv_path="bad.csv").run()  # relative to the data folder
    assert not at.exception
    assert [error.value for error in at.error] == [str(expected.value)]
    assert "bad.csv" in at.error[0].value and str(data_dir) not in at.error[0].value
    assert at.button(key="imdb_train").disabled


def test_npz_from_the_environment_variable_loads_and_fits(tmp_path, monkeypatch):
    path = make_npz(tmp_path / "npz")
    monkeypatch.setenv(imdb.ENV_VAR, str(path))
    at = new_app().run()
    assert not at.exception and not at.error
    assert at.radio(key="imdb_source").value == "npz"
    assert any(caption.value == "Using the imdb.npz this server was started with." for caption in at.caption)
    assert not at.text_input  # no data folder: no box to type server paths into
    source = next(caption.value for caption in at.caption if caption.value.startswith("From local file"))
    # 50 training and 20 test reviews: validation takes 16 (the smallest set) of the 50, training the other 34.
    assert str(path) in source and "34 training, 16 validation and 16 test reviews" in source
    config = at.session_state["imdb_config"]
    vocabulary, embedding, units = config.vocab_size, config.embedding_dim, config.units
    expected = vocabulary * embedding + 4 * units * (units + embedding + 1) + units + 1
    assert metrics(at)["Trainable parameters"] == f"{expected:,}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The page after training a tiny LSTM on the tiny CSV to the end: (app, job, csv path, reviews)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(imdb.ENV_VAR, raising=False)
        folder = tmp_path_factory.mktemp("trained")
        patch.setenv(files.DATA_DIR_VAR, str(folder))
        reviews = make_reviews()
        path = write_csv(folder / "reviews.csv", reviews)
        config = RunConfig(**TINY, samples=72, eval_samples=24, imdb_csv=str(path))
        at = new_app(imdb_config=config, imdb_source="csv", imdb_csv_path=str(path)).run()
        assert not at.exception
        at.button(key="imdb_train").click().run()
        assert not at.exception
        job = lab_runs(at)[at.session_state["imdb_shown"]]
        job.join(TIMEOUT)
        assert job.done and job.record.status == "finished", job.record.message
        at.run()  # the polling panel sees the end and redraws the page with the results
        assert not at.exception
        yield at, job, path, reviews


def test_training_ends_with_test_accuracy_and_a_confusion_matrix(trained):
    at, job, path, _ = trained
    record, dataset = job.record, job.dataset
    assert record.config.imdb_csv == str(path)  # the run record names the file it trained on
    assert metrics(at)["Test accuracy"] == f"{record.test_accuracy:.1%}"
    for key in ("loss", "accuracy"):
        assert len(chart(at, f"imdb_{key}_{job.run_id}")["data"]) >= 2  # training and validation curves
    guessed = job.model.predict(dataset.x_test, verbose=0)[:, 0] > 0.5
    truth = dataset.y_test.astype(int)
    expected = [[sum(1 for t, g in zip(truth, guessed) if t == row and int(g) == column) for column in (0, 1)]
                for row in (0, 1)]
    shown = values(chart(at, f"imdb_confusion_{job.run_id}")["data"][0]["z"])
    assert shown.tolist() == expected
    assert (expected[0][0] + expected[1][1]) / len(truth) == pytest.approx(record.test_accuracy, abs=1e-6)


def test_reviews_table_shows_text_and_filters_to_the_mistakes(trained):
    at, job, _, reviews = trained
    at.toggle(key="imdb_mistakes_only").set_value(False).run()
    table = reviews_table(at)
    dataset = job.dataset
    assert len(table) == len(dataset.x_test)
    # Each row is the tail of one of the reviews written to the CSV, lower-cased, and carries that review's label.
    originals = [(text.lower().replace(".<br />", "").split(), label) for text, label in reviews]
    for text, truth in zip(table["review"], table["truth"]):
        words = text.split()
        labels = {imdb.CLASS_NAMES[label] for original, label in originals if original[-len(words):] == words}
        assert truth in labels, text
    probabilities = job.model.predict(dataset.x_test, verbose=0)[:, 0]
    np.testing.assert_allclose(table["P(positive)"], probabilities, atol=1e-6)
    mistakes = int(((probabilities > 0.5) != dataset.y_test.astype(bool)).sum())
    assert 0 < mistakes < len(table)  # a quarter of the reviews are mixed, with coin-flip labels

    at.toggle(key="imdb_mistakes_only").set_value(True).run()
    assert not at.exception
    only = reviews_table(at)
    assert len(only) == mistakes and not only["correct"].any()
    assert (only["truth"] != only["verdict"]).all()


def test_own_review_shows_the_prediction_and_the_per_word_trace(trained):
    at, job, _, _ = trained
    text = "The plot was GREAT, not awful... zebra!"
    at.text_area(key="imdb_own_review").input(text).run()
    assert not at.exception
    tokens = imdb.encode_review(text, job.dataset)
    words = imdb.review_words(text, job.dataset)
    assert words == ["the", "plot", "was", "great", "[UNK]", "awful", "[UNK]"]  # "not" never occurs in training
    expected = sentiment.prefix_probabilities(job.model, tokens)
    opinion = chart(at, f"imdb_opinion_{job.run_id}")
    np.testing.assert_allclose(values(opinion["data"][0]["y"]), expected, atol=1e-6)
    assert opinion["layout"]["xaxis"]["ticktext"] == words
    verdict = "positive" if expected[-1] > 0.5 else "negative"
    assert metrics(at)["The model says"] == verdict and metrics(at)["P(positive)"] == f"{expected[-1]:.3f}"

    at.selectbox(key="imdb_gate").set_value("input").run()
    assert not at.exception
    gates = trace(job.model, tokens)["lstm_1"]["forward"]["input"][0, -len(words):, :]  # (words, units)
    shown = values(chart(at, f"imdb_gates_{job.run_id}")["data"][0]["z"])  # (units, words)
    np.testing.assert_allclose(shown, gates.T, atol=1e-6)

    assert metrics(at)["Words it knows"] == "5 of 7"  # "not" and "zebra" read as [UNK]
    assert not any("knows none of these words" in warning.value for warning in at.warning)

    at.text_area(key="imdb_own_review").input("Zebra qwerty xylophone").run()  # nothing it has ever seen
    assert not at.exception
    assert metrics(at)["Words it knows"] == "0 of 3"
    assert any("The model knows none of these words" in warning.value for warning in at.warning)

    at.text_area(key="imdb_own_review").input("...").run()  # no words: one line, not a traceback
    assert not at.exception
    assert any("no words" in info.value for info in at.info)


# --- rnnlab.sentiment -------------------------------------------------------------------------------------------


def test_fit_sizes_shrinks_only_what_does_not_fit():
    config = defaults_for_task("imdb")  # 20,000 training, 2,500 validation and test
    fitted, note = imdb.fit_sizes(config, 2500)  # the 2,500-review sample CSV
    assert (fitted.samples, fitted.eval_samples) == (1500, 500)
    assert "2,500 reviews" in note and "1,500" in note and "500" in note
    assert imdb.fit_sizes(config, 25000, 25000) == (config, None)  # Keras's IMDB holds them all
    small = config.replace(samples=1000, eval_samples=100)
    assert imdb.fit_sizes(small, 2500) == (small, None)
    fitted, _ = imdb.fit_sizes(config.replace(eval_samples=100), 2500)
    assert (fitted.samples, fitted.eval_samples) == (2300, 100)  # held-out sets that fit are kept
    fitted, note = imdb.fit_sizes(config, N_TRAIN, N_TEST)
    assert (fitted.samples, fitted.eval_samples) == (34, 16) and "imdb.npz" in note
    fitted, _ = imdb.fit_sizes(config, 25000, 300)  # few test reviews: held-out sets shrink to them
    assert (fitted.samples, fitted.eval_samples) == (20000, 300)
    with pytest.raises(imdb.ImdbDataError, match="at least 48"):
        imdb.fit_sizes(config, 40)
    with pytest.raises(imdb.ImdbDataError, match="at least 32"):
        imdb.fit_sizes(config, 30, 30)


@pytest.mark.parametrize("pool", [48, 61, 120, 2500])
def test_fitted_sizes_are_what_the_loader_accepts(tmp_path, pool):
    path = write_csv(tmp_path / "reviews.csv", make_reviews(pool))
    assert imdb.available_reviews("csv", str(path)) == (pool, None)
    config = imdb.source_config(defaults_for_task("imdb").replace(seq_len=12), "csv", str(path))
    fitted, _ = imdb.fit_sizes(config, pool)
    assert fitted.samples + 2 * fitted.eval_samples <= pool
    dataset = imdb.load_reviews(fitted, "csv")
    assert len(dataset.x_train) == fitted.samples and len(dataset.x_test) == fitted.eval_samples


def test_sources_counts_and_data_keys(tmp_path, monkeypatch):
    path = make_npz(tmp_path / "npz")
    assert imdb.available_reviews("npz", str(path)) == (N_TRAIN, N_TEST)
    assert imdb.available_reviews("npz", str(tmp_path / "missing.npz")) is None  # loading will say why
    assert imdb.available_reviews("keras") == (25000, 25000)
    with pytest.raises(imdb.ImdbDataError, match="no reviews CSV"):
        imdb.available_reviews("csv", str(tmp_path / "missing.csv"))

    config = RunConfig(task="imdb", imdb_path="old.npz", imdb_csv="old.csv")
    assert (imdb.source_config(config, "keras").imdb_path, imdb.source_config(config, "keras").imdb_csv) \
        == ("", "")
    npz_config = imdb.source_config(config, "npz", f" {path} ")
    assert (npz_config.imdb_path, npz_config.imdb_csv) == (str(path), "")
    with pytest.raises(ValueError, match="Unknown data source"):
        imdb.source_config(config, "web")

    # A learner who picks Keras's data gets it even when RNNLAB_IMDB_PATH names a local file.
    monkeypatch.setenv(imdb.ENV_VAR, str(path))
    monkeypatch.setattr(keras.src.datasets.imdb, "get_file", lambda fname, **kwargs: str(path.parent / fname))
    small = RunConfig(task="imdb", seq_len=12, samples=30, eval_samples=16, vocab_size=100)
    assert imdb.load_reviews(small, "keras").source.startswith("Keras IMDB cache")
    assert imdb.load_reviews(imdb.source_config(small, "npz", str(path)), "npz").source.startswith(
        "local file")

    key = imdb.data_key(npz_config, "npz")
    assert imdb.data_key(npz_config.replace(units=64), "npz") == key  # the network does not change the data
    assert imdb.data_key(npz_config.replace(vocab_size=500), "npz") != key
    path.write_bytes(path.read_bytes() + b"\0")  # the file changed: cached data must be read again
    assert imdb.data_key(npz_config, "npz") != key


def test_save_upload_keeps_the_name_and_never_duplicates(tmp_path):
    data = write_csv(tmp_path / "r.csv").read_bytes()
    folder = tmp_path / "uploads"
    first = files.save_upload(data, "../My reviews (1).csv", str(folder))
    again = files.save_upload(data, "../My reviews (1).csv", str(folder))
    assert first == again and Path(first).parent == folder and Path(first).name.endswith("My_reviews_1_.csv")
    assert Path(first).read_bytes() == data and len(list(folder.iterdir())) == 1
    assert files.save_upload(data + b"x", "other.csv", str(folder)) != first
    config = RunConfig(task="imdb", seq_len=12, samples=60, eval_samples=24, vocab_size=100, imdb_csv=first)
    assert imdb.load_reviews(config, "csv").source.startswith(f"CSV {first}")


def test_uploads_are_named_by_the_learners_file_never_the_servers_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(files.HOME_VAR, str(tmp_path / "home"))
    saved = files.save_upload(b"review,sentiment\n", "my reviews.csv", files.uploads_dir())
    # The upload's name, never the server's folder (issue 17 item 10); `files.resolve` finds the file in it.
    assert "/" not in saved and files.is_upload(saved)
    assert files.resolve(saved).startswith(str(tmp_path / "home" / "uploads"))
    assert files.display_name(saved) == "my_reviews.csv"
    config = RunConfig(task="imdb", imdb_csv=saved)
    assert files.display_settings(config)["imdb_csv"] == "my_reviews.csv"
    with pytest.raises(imdb.ImdbDataError) as error:
        imdb.read_reviews_csv(saved)
    assert "my_reviews.csv" in str(error.value) and str(tmp_path) not in str(error.value)


def test_server_paths_are_read_only_inside_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(files.DATA_DIR_VAR, raising=False)
    with pytest.raises(files.DataError, match="reads no files by path .*RNNLAB_DATA_DIR.*upload the file instead"):
        files.server_path("/etc/hostname")
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "reviews.csv").write_text("review,sentiment\n")
    (folder / "escape").symlink_to("/etc")
    monkeypatch.setenv(files.DATA_DIR_VAR, str(folder))
    assert files.server_path("sub/reviews.csv") == str(folder / "sub" / "reviews.csv")
    assert files.server_path(str(folder / "sub" / "reviews.csv")) == str(folder / "sub" / "reviews.csv")
    for outside in ("/etc/hostname", "../../etc/hostname", "escape/hostname"):
        with pytest.raises(files.DataError, match="Only files inside the server's data folder"):
            files.server_path(outside)


def test_the_page_refuses_a_server_path_outside_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    monkeypatch.setenv(files.DATA_DIR_VAR, str(tmp_path))
    at = new_app(imdb_source="csv", imdb_csv_path="/etc/hostname").run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        f"Only files inside the server's data folder can be read; give a path inside {tmp_path.resolve()}."]
    assert not any("columns found" in error.value for error in at.error)  # the file was never opened


def test_confusion_matrix_and_review_table_against_counts(csv_path):
    dataset = imdb.load_reviews(RunConfig(task="imdb", seq_len=12, samples=60, eval_samples=24, vocab_size=100,
                                               imdb_csv=str(csv_path)), "csv")
    probabilities = np.random.default_rng(3).uniform(size=len(dataset.y_test)).astype(np.float32)
    probabilities[:2] = 0.5  # exactly undecided counts as negative, as Keras's accuracy counts it
    matrix = sentiment.confusion_matrix(dataset.y_test, probabilities)
    expected = np.zeros((2, 2), dtype=int)
    for truth, probability in zip(dataset.y_test, probabilities):
        expected[int(truth), int(probability > 0.5)] += 1
    assert matrix.tolist() == expected.tolist()
    accuracy = keras.metrics.BinaryAccuracy()
    accuracy.update_state(dataset.y_test, probabilities)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(float(accuracy.result()), abs=1e-6)

    table = sentiment.review_table(dataset, probabilities)
    assert list(table.columns) == ["review", "truth", "P(positive)", "verdict", "correct"]
    for row, tokens in enumerate(dataset.x_test):
        assert table["review"][row] == " ".join(dataset.vocabulary[token] for token in tokens if token)
        assert table["truth"][row] == ("positive" if dataset.y_test[row] == 1 else "negative")
        assert table["verdict"][row] == ("positive" if probabilities[row] > 0.5 else "negative")
        assert table["correct"][row] == (table["truth"][row] == table["verdict"][row])
    with pytest.raises(ValueError, match="test reviews"):
        sentiment.review_table(dataset, probabilities[:3])


@pytest.mark.parametrize("cell, bidirectional", [("simplernn", False), ("lstm", True)])
def test_word_trace_against_hand_built_prefixes_and_the_layer_itself(csv_path, cell, bidirectional):
    config = RunConfig(task="imdb", seq_len=12, samples=60, eval_samples=24, vocab_size=100, embedding_dim=4,
                       units=3, cell=cell, bidirectional=bidirectional, imdb_csv=str(csv_path), seed=2)
    dataset = imdb.load_reviews(config, "csv")
    model = build_model(config, dataset)  # untrained: the numbers only have to be this model's
    text = "The film was wonderful and qwerty"
    result = sentiment.word_trace(model, dataset, text)
    assert result.words == ["the", "film", "was", "wonderful", "and", "[UNK]"]
    ids = [dataset.vocabulary.index(word) for word in result.words]
    prefixes = np.array([[0] * (12 - k) + ids[:k] for k in range(1, len(ids) + 1)], dtype=np.int32)
    expected = model.predict(prefixes, verbose=0)[:, 0]
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-6)
    assert result.probability == pytest.approx(float(model.predict(prefixes[-1:], verbose=0)[0, 0]), abs=1e-6)

    layer = model.get_layer(f"{cell}_1")
    directions = ("forward", "backward") if bidirectional else ("forward",)
    assert set(result.gates) == {f"{cell}_1"} and tuple(result.gates[f"{cell}_1"]) == directions
    hidden = keras.Model(model.inputs, layer.output).predict(prefixes[-1:], verbose=0)[0]  # (units × directions,)
    # The forward hidden state at the last word is what the layer outputs; a SimpleRNN has only that to show.
    np.testing.assert_allclose(result.gates[f"{cell}_1"]["forward"]["hidden"][-1], hidden[:3], atol=1e-5)
    for gate_values in result.gates[f"{cell}_1"]["forward"].values():
        assert gate_values.shape == (len(ids), 3)
    gates = list(result.gates[f"{cell}_1"]["forward"])
    assert sentiment.first_gate(cell, gates) == {"simplernn": "hidden", "lstm": "forget"}[cell]
    with pytest.raises(imdb.ImdbDataError, match="no words"):
        sentiment.word_trace(model, dataset, " ?! ")


def test_charts_draw_exactly_the_numbers_given():
    words = ["not", "bad", "at", "all", "bad"]
    probabilities = np.array([0.4, 0.1, 0.2, 0.15, 0.3], dtype=np.float32)
    figure = sentiment_charts.opinion_figure(words, probabilities)
    np.testing.assert_allclose(figure.data[0].y, probabilities)
    assert list(figure.layout.xaxis.ticktext) == words and list(figure.data[0].x) == [1, 2, 3, 4, 5]
    assert any(shape.y0 == shape.y1 == 0.5 for shape in figure.layout.shapes)  # the undecided line
    gate_values = np.arange(15, dtype=np.float32).reshape(5, 3) / 15  # (words, units)
    heatmap = sentiment_charts.gate_heatmap(words, gate_values, "forget", "lstm_1")
    np.testing.assert_allclose(heatmap.data[0].z, gate_values.T)
    assert (heatmap.data[0].zmin, heatmap.data[0].zmax) == (0, 1)
    with pytest.raises(ValueError, match="do not match"):
        sentiment_charts.gate_heatmap(words[:2], gate_values, "forget", "lstm_1")
    with pytest.raises(ValueError, match="one per word"):
        sentiment_charts.opinion_figure(words[:2], probabilities)
    confusion = confusion_figure(np.array([[5, 1], [2, 4]]), imdb.CLASS_NAMES, "test reviews")
    assert np.asarray(confusion.data[0].z).tolist() == [[5, 1], [2, 4]]
    assert "83%" in confusion.data[0].text[0][0]  # 5 of the 6 negative reviews


# --- The command line -------------------------------------------------------------------------------------------


def run_cli(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != imdb.ENV_VAR}
    return subprocess.run([sys.executable, "-m", "rnnlab", "train", "--task", "imdb", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**environment, **(env or {})})


TINY_FLAGS = ("--vocab", "100", "--maxlen", "12", "--units", "8", "--embedding-dim", "8", "--epochs", "2",
              "--batch-size", "16", "--learning-rate", "0.01")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["csv", "npz"])
def test_cli_trains_on_a_local_file_and_writes_test_accuracy(tmp_path, source):
    if source == "csv":
        path, flags = write_csv(tmp_path / "reviews.csv"), ("--imdb-csv", "--samples", "72", "--eval-samples", "24")
    else:
        path, flags = make_npz(tmp_path / "npz"), ("--imdb-path", "--samples", "34", "--eval-samples", "16")
    out = tmp_path / "run.json"
    result = run_cli(flags[0], str(path), *flags[1:], *TINY_FLAGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout.splitlines()[0]  # the first line says where the reviews came from
    record = json.loads(out.read_text())
    assert record["config"]["task"] == "imdb"
    assert record["config"]["imdb_csv" if source == "csv" else "imdb_path"] == str(path)
    assert record["config"]["samples"] == int(flags[2]) and record["config"]["seq_len"] == 12
    assert len(record["history"]["val_accuracy"]) == 2
    assert 0.0 <= record["test_accuracy"] <= 1.0


def test_cli_offline_without_data_fails_in_one_line(tmp_path):
    home = tmp_path / "keras_home"
    home.mkdir()
    # An empty Keras cache, and a proxy on the discard port, so the download fails at once in the child process.
    refused = "http://127.0.0.1:9"
    result = run_cli("--epochs", "1", env={"KERAS_HOME": str(home), "HTTPS_PROXY": refused, "HTTP_PROXY": refused,
                                           "https_proxy": refused, "http_proxy": refused, "NO_PROXY": "",
                                           "no_proxy": ""})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert str(home / "datasets" / "imdb.npz") in lines[0]
    for alternative in ("--imdb-path", imdb.ENV_VAR, "--imdb-csv"):
        assert alternative in lines[0]
    assert not (home / "datasets" / "imdb.npz").exists()


@pytest.mark.slow
def test_cli_fits_default_sizes_to_a_smaller_file_and_says_so(tmp_path):
    # The defaults ask for 20,000 training and 2,500 held-out reviews; this npz has 50 and 20, as in the app.
    path = make_npz(tmp_path / "npz")
    out = tmp_path / "run.json"
    result = run_cli("--imdb-path", str(path), *TINY_FLAGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    note = next(line for line in result.stdout.splitlines() if "too few" in line)
    assert note == ("rnnlab: This imdb.npz has 50 training and 20 test reviews, too few for the 20,000 training + "
                    "2,500 validation and test asked for: training on 34 reviews, with 16 for validation and 16 for "
                    "the test.")
    record = json.loads(out.read_text())
    assert (record["config"]["samples"], record["config"]["eval_samples"]) == (34, 16)
