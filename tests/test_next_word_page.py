"""The Next word page (`pages/next_word.py`) through AppTest: a tiny run of the default text trained on the page, then
what the page shows checked against the trained model itself (`model.predict` and a softmax written here), the
samples in order, step-by-step writing, Elman's map, and the messages for an offline download, a bad file and a
bidirectional network. Nothing reaches the network: the download runs Keras's real `get_file` with `urlretrieve`
replaced by a function that fails as an offline machine does.

    .venv/bin/pytest -q tests/test_next_word_page.py
"""

from __future__ import annotations

import base64
import json
import math
import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import lab_runs
from rnnlab import explain
from rnnlab.config import defaults_for_task
from rnnlab.data import files, make_dataset
from rnnlab.data import text as text_data
from rnnlab.introspect import word_map
from rnnlab.models import untrained_model
from rnnlab.records import RunRecord

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "next_word.py")
TIMEOUT = 120
# The default text (the toy grammar, word by word) with a network small enough to train in a few seconds.
TINY = dict(seq_len=12, samples=384, eval_samples=32, units=16, embedding_dim=8, epochs=3, batch_size=32,
            learning_rate=0.01)


def chart(at: AppTest, key: str) -> dict:
    for element in at.get("plotly_chart"):
        if element.key == key:
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart {key!r}; charts: {[element.key for element in at.get('plotly_chart')]}")


def values(data) -> np.ndarray:
    """A figure array, which Plotly may store as base64-encoded binary."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"])).astype(np.float64)
    return np.asarray(data, dtype=np.float64)


def softmax(logits) -> np.ndarray:
    exponentials = np.exp(np.asarray(logits, dtype=np.float64) - np.max(logits))
    return exponentials / exponentials.sum()


def new_app(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["text_config"] = defaults_for_task("text").replace(**TINY)
    for key, value in state.items():
        at.session_state[key] = value
    return at


@pytest.fixture(scope="module")
def trained():
    """The page after training the tiny default to the end: (app, job)."""
    at = new_app().run()
    assert not at.exception and not at.error
    assert any("Press **Train**" in info.value for info in at.info)
    at.button(key="text_train").click().run()
    assert not at.exception
    job = lab_runs(at)[at.session_state["text_shown"]]
    job.join(TIMEOUT)
    assert job.done and job.record.status == "finished", job.record.message
    at.run()  # the polling panel sees the end and redraws the page with what needs the trained model
    assert not at.exception
    return at, job


@pytest.mark.slow
def test_the_prompt_gives_bars_equal_to_the_models_softmax(trained):
    at, job = trained
    prompt = "The dog chased the"
    at.text_input(key="text_prompt").input(prompt).run()
    assert not at.exception
    vocabulary = text_data.vocabulary_of(job.dataset)
    ids = vocabulary.encode(prompt)
    expected = softmax(job.model.predict(ids[None], verbose=0)[0, -1])  # the trained model's own output
    bars = chart(at, f"text_next_{job.run_id}")["data"][0]
    top = at.slider(key="text_top_k").value
    order = np.argsort(-expected, kind="stable")[:top]
    assert bars["y"] == [vocabulary.tokens[token] for token in order]
    np.testing.assert_allclose(values(bars["x"]), expected[order], atol=1e-5)
    note = next(caption.value for caption in at.caption if caption.value.startswith("The softmax"))
    assert f"each of the {len(vocabulary)} tokens" in note and "together 1.000" in note


@pytest.mark.slow
def test_the_run_records_perplexity_and_a_sample_after_every_epoch(trained):
    _, job = trained
    record = job.record
    assert set(record.history) == {"loss", "perplexity", "val_loss", "val_perplexity"}
    for loss, perplexity in zip(record.history["val_loss"], record.history["val_perplexity"]):
        assert perplexity == pytest.approx(math.exp(loss), rel=1e-6)
    assert len(record.generated) == 3 and all(text.startswith("the cat sat on the") for text in record.generated)
    values = record.to_dict()
    assert values["val_perplexity"] == record.history["val_perplexity"][-1] and values["generated"] == record.generated
    assert RunRecord.from_json(record.to_json()).generated == record.generated


@pytest.mark.slow
def test_the_samples_of_each_epoch_are_shown_newest_first(trained):
    at, job = trained
    generated = job.record.generated
    codes = [code.value for code in at.code]
    positions = [codes.index(text) for text in reversed(generated)]
    assert positions == sorted(positions)
    epochs = [caption.value for caption in at.caption if caption.value.startswith("After epoch")]
    assert epochs == ["After epoch 3", "After epoch 2", "After epoch 1"]
    assert len(chart(at, f"text_loss_{job.run_id}")["data"]) >= 2  # training and validation loss, per epoch
    perplexity = chart(at, f"text_perplexity_{job.run_id}")
    np.testing.assert_allclose(values(perplexity["data"][1]["y"]), job.record.history["val_perplexity"], rtol=1e-6)


@pytest.mark.slow
def test_greedy_writing_and_the_distribution_of_each_step(trained):
    at, job = trained
    vocabulary = text_data.vocabulary_of(job.dataset)
    at.text_input(key="text_prompt").input("a girl").run()
    at.slider(key="text_temperature").set_value(0.0).run()
    at.number_input(key="text_length_word").set_value(5).run()
    assert not at.exception
    ids = list(vocabulary.encode("a girl"))
    for _ in range(5):  # greedy, by hand: the most likely next word of the whole text so far
        ids.append(int(np.argmax(np.asarray(job.model(np.array([ids]), training=False))[0, -1])))
    assert vocabulary.decode(ids) in [code.value for code in at.code]
    at.slider(key="text_step").set_value(3).run()
    assert not at.exception
    bars = chart(at, f"text_step_{job.run_id}")["data"][0]
    assert bars["y"][0] == vocabulary.tokens[ids[2 + 2]] and values(bars["x"])[0] == 1.0  # greedy: all on one
    assert bars["marker"]["color"][0] != bars["marker"]["color"][-1]  # the drawn token stands out


@pytest.mark.slow
def test_elmans_map_before_and_after_training(trained):
    at, job = trained
    figure = chart(at, f"text_map_{job.run_id}")
    names = {trace["name"] for trace in figure["data"]}
    assert {"animal", "person", "place", "verb with object"} <= names
    assert {trace["xaxis"] for trace in figure["data"]} == {"x", "x2"}  # before and after, side by side
    sentences = word_map.map_sentences(job.config.seed)
    before = word_map.word_states(untrained_model(job.config, job.dataset)[0], job.dataset, sentences)
    after = word_map.word_states(job.model, job.dataset, sentences)
    paragraphs = explain.describe_map(word_map.separation(before), word_map.separation(after))
    shown = [element.value for element in at.markdown]
    assert all(paragraph in shown for paragraph in paragraphs)


@pytest.fixture
def offline(keras_home, monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", no_network)
    return keras_home, attempts


def test_offline_shakespeare_says_so_in_one_line_and_fetches_only_when_asked(offline):
    home, attempts = offline
    at = new_app(text_corpus="shakespeare").run()
    cache = str(home / "datasets" / "shakespeare.txt")
    assert not at.exception and attempts == []
    assert any(cache in info.value for info in at.info) and at.button(key="text_train").disabled
    at.button(key="text_download").click().run()
    assert not at.exception and len(attempts) == 1 and len(at.error) == 1
    message = at.error[0].value
    assert cache in message and "“A toy grammar”" in message and "--" not in message and "\n" not in message
    at.sidebar.number_input(key="text_units").set_value(24).run()  # a click does not download again
    assert not at.exception and len(attempts) == 1


def test_a_bad_file_gets_its_sentence_and_the_page_keeps_working(tmp_path, monkeypatch):
    monkeypatch.setenv(files.DATA_DIR_VAR, str(tmp_path))
    (tmp_path / "empty.txt").write_text("\n \n")
    at = new_app(text_corpus="file", text_file_path="empty.txt").run()
    assert not at.exception
    with pytest.raises(text_data.TextDataError) as expected:
        make_dataset(defaults_for_task("text").replace(corpus="file", text_file=str(tmp_path / "empty.txt")))
    assert [error.value for error in at.error] == [str(expected.value)]
    assert str(tmp_path) not in at.error[0].value and at.button(key="text_train").disabled


def test_bidirectional_is_refused_in_the_sidebar_with_the_reason():
    at = new_app().run()
    at.sidebar.toggle(key="text_bidirectional").set_value(True).run()
    assert not at.exception
    assert any("would read the future" in error.value for error in at.sidebar.error)
    assert at.session_state["text_config"].bidirectional is False  # the page keeps the last valid settings


@pytest.mark.slow
def test_a_text_run_opens_on_inside_the_cell_gradients_and_compare_runs(trained):
    _, job = trained
    vocabulary = text_data.vocabulary_of(job.dataset)

    def open_page(name: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
        at.query_params["learner"] = trained[0].session_state["learner"]  # the same learner, on another page
        return at.run()

    at = open_page("inside_cell.py")
    assert not at.exception and not at.error
    heatmap = chart(at, "cell_heatmap")
    bottom = max((key for key in heatmap["layout"] if key.startswith("xaxis")), key=lambda key: int(key[5:] or 1))
    assert heatmap["layout"][bottom]["ticktext"] == [vocabulary.label(token) for token in job.dataset.x_val[0]]
    answer = at.markdown[0].value
    assert "as the next word" in answer and vocabulary.label(int(job.dataset.y_val[0][-1])) in answer
    at.radio(key="cell_example").set_value("typed").run()
    at.text_area(key="cell_text_text").input("the cat sat on the").run()
    assert not at.exception and not at.error and "trained on" not in at.markdown[0].value  # shorter is no caveat

    at = open_page("gradients.py")
    assert not at.exception and not at.error
    assert any("predicts a token at every step" in element.value for element in at.markdown)

    at = open_page("runs.py")
    assert not at.exception
    table = at.table[0].value
    assert table["validation perplexity"][0] == pytest.approx(job.record.history["val_perplexity"][-1])
    at.radio(key="runs_metric").set_value("val_perplexity").run()
    assert not at.exception and chart(at, "runs_compare")["layout"]["yaxis"]["title"]["text"] == \
        "validation perplexity"


def test_switching_to_characters_loads_the_levels_own_window_length():
    # Characters need longer windows to hold as many words: lesson 8 reads them 60 at a time, words 20.
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert at.sidebar.number_input(key="text_seq_len").value == 20
    at.sidebar.selectbox(key="text_level").set_value("char").run()
    assert not at.exception
    assert at.sidebar.number_input(key="text_seq_len").value == 60
    assert at.session_state["text_config"].seq_len == 60
    at.sidebar.selectbox(key="text_level").set_value("word").run()
    assert at.sidebar.number_input(key="text_seq_len").value == 20


def test_a_reopened_learners_link_opens_on_the_text_their_run_trained_on():
    # Reopening the link showed the uploaded file's run under a sidebar and a text chooser set to the toy grammar.
    from rnnlab.lab import get_lab

    lab = get_lab()
    token = lab.store.new_learner().token
    upload = lab.take_upload(token, "notes.txt", ("the cat sat on the mat . " * 400).encode())
    record = RunRecord(defaults_for_task("text").replace(corpus="file", text_file=upload, **TINY))
    record.status = "finished"
    lab.store.save_run(token, record)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["learner"] = token
    at.run()
    assert not at.exception
    assert at.session_state["text_config"].corpus == "file" and at.session_state["text_config"].text_file == upload
    assert at.radio(key="text_corpus").value == "file"
    assert any(caption.value == "Using the uploaded file **notes.txt**." for caption in at.caption)
