"""Text generation in the package and on the command line: the texts and their windows, the vocabulary, sampling,
saving and loading, the CLI contract, the export and Elman's map (the toy grammar itself: test_data_grammar.py).

References share no code with what they check: probabilities are held against `model.predict` and a softmax written here; greedy text
against a loop of `model.predict` calls; the map's PCA against NumPy's eigendecomposition of the covariance, its
distance ratio against distances summed pair by pair. Nothing reaches the network: tiny-shakespeare is either put in
an empty Keras cache by the test or fails to download through Keras's real `get_file` with `urlretrieve` replaced.

    .venv/bin/pytest -q tests/test_text.py
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import urllib.error
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest

from rnnlab import cli, explain, generate, saving
from rnnlab.config import RunConfig, defaults_for_task
from rnnlab.data import make_dataset
from rnnlab.data import text as text_data
from rnnlab.introspect import word_map
from rnnlab.models import build_model

ROOT = Path(__file__).resolve().parents[1]
# A grammar run that builds in well under a second.
TINY = dict(task="text", seq_len=10, samples=64, eval_samples=16, units=8, embedding_dim=4, epochs=2,
            batch_size=32)

# --- Texts, windows and the vocabulary -------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["word", "char"])
def test_windows_targets_and_the_vocabulary_round_trip(level):
    config = RunConfig(**{**TINY, "level": level})
    dataset = make_dataset(config)
    vocabulary = text_data.vocabulary_of(dataset)
    assert dataset.kind == "next_token" and dataset.x_train.shape == dataset.y_train.shape == (64, 10)
    assert dataset.x_train.dtype == np.int32 and tuple(dataset.vectorizer.get_vocabulary()) == dataset.vocabulary
    assert dataset.vocabulary[:2] == ("", "[UNK]") and vocabulary.level == level
    np.testing.assert_array_equal(dataset.x_train[:, 1:], dataset.y_train[:, :-1])  # targets: inputs shifted by one
    # Every window is a stretch of the text, and reads back to the same ids.
    text, _ = text_data.corpus_text(config)
    for window, target in zip(dataset.x_train[:8], dataset.y_train[:8]):
        written = vocabulary.decode(np.r_[window, target[-1:]])
        assert written in text
        np.testing.assert_array_equal(vocabulary.encode(written), np.r_[window, target[-1:]])
    assert vocabulary.decode(vocabulary.encode("the cat sat on the mat .")) == "the cat sat on the mat ."
    assert vocabulary.encode("The Cat")[0] == vocabulary.encode("the cat")[0]  # the grammar reads in lower case
    # The baseline: the unigram model of the training part, counted here, scored on the validation targets.
    train_text = text[:int(len(text) * 0.9)]
    counts = Counter(train_text.split() if level == "word" else train_text)
    total = sum(counts.values())
    expected = -np.mean([math.log(counts[vocabulary.tokens[token]] / total) for token in dataset.y_val.ravel()])
    assert dataset.baseline_loss == pytest.approx(expected, rel=1e-6)


def test_labels_answers_and_typing_speak_in_tokens():
    dataset = make_dataset(RunConfig(**{**TINY, "level": "char"}))
    task = text_data.TASK
    space = dataset.vocabulary.index(" ")
    assert task.step_labels(dataset, np.array([space]))[0] == "␣"
    assert text_data.token_label("\n") == "⏎" and text_data.token_label("") == "[pad]"
    assert task.parse("the cat", dataset).shape == (1, 7)
    with pytest.raises(ValueError, match="no characters to read"):
        task.parse("", dataset)
    logits = np.full(len(dataset.vocabulary), -5.0)
    logits[space] = 5.0
    answer = task.answer_text(dataset, logits[None], target=np.array([space]))
    assert answer.startswith("**␣ (1.00)** as the next character") and answer.endswith("goes on with **␣**")


def test_imdb_reviews_become_running_text(tmp_path, keras_home):
    csv = tmp_path / "reviews.csv"
    csv.write_text("review,sentiment\n\"A <br />fine film, truly.\",positive\n\"Dull.\",negative\n")
    text, source = text_data.imdb_text(RunConfig(task="text", corpus="imdb", imdb_csv=str(csv)))
    assert text == "A fine film, truly.\nDull." and "reviews.csv" in source
    # A Keras-layout npz of raw word ranks, with its word list beside it.
    folder = tmp_path / "npz"
    folder.mkdir()
    reviews = np.empty(2, dtype=object)
    reviews[:] = [[1, 2], [2, 3, 1]]
    np.savez(folder / "imdb.npz", x_train=reviews, y_train=np.array([1, 0]), x_test=reviews[:1], y_test=np.array([1]))
    (folder / "imdb_word_index.json").write_text(json.dumps({"good": 1, "film": 2, "dull": 3}))
    text, _ = text_data.imdb_text(RunConfig(task="text", corpus="imdb", imdb_path=str(folder / "imdb.npz")))
    assert text.splitlines() == ["good film", "film dull good", "good film"]


def write(path: Path, data: bytes | str) -> str:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


@pytest.mark.parametrize("name, contents, settings, words", [
    ("missing.txt", None, {}, "There is no text file at"),
    ("empty.txt", "  \n\n ", {}, "is empty; give a file with some text in it"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, {}, "is not a text file"),
    ("short.txt", "To be or not to be. " * 20, {"seq_len": 100, "level": "char"}, "windows of 100 need at least 2,020"),
    ("alphabet.txt", "".join(chr(0x4E00 + index) for index in range(3000)) * 3, {"level": "char"},
     "3,000 different characters, too many for the character level"),
    ("words.txt", " ".join(f"w{index}" for index in range(5000)), {"level": "word", "vocab_size": 100},
     "are outside it and read as [UNK]"),
])
def test_every_bad_file_gets_one_sentence(tmp_path, name, contents, settings, words):
    path = str(tmp_path / name) if contents is None else write(tmp_path / name, contents)
    config = RunConfig(**{**TINY, "corpus": "file", "text_file": path, **settings})
    with pytest.raises(text_data.TextDataError) as error:
        make_dataset(config)
    message = str(error.value)
    assert words in message and "\n" not in message and message.count(". ") == 0 and message.endswith(".")
    assert name in message or "outside it" in message or "different characters" in message
    folder = tmp_path / "a folder.txt"
    folder.mkdir(exist_ok=True)
    with pytest.raises(text_data.TextDataError, match="is a folder, not a text file"):
        make_dataset(config.replace(text_file=str(folder)))


@pytest.fixture
def offline(keras_home, monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    # Keras's real get_file runs, finds nothing cached, and fails where it would open the connection.
    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", no_network)
    return keras_home, attempts


def test_shakespeare_offline_names_the_cache_and_the_way_out_in_each_place(offline, capsys):
    home, attempts = offline
    cache = str(home / "datasets" / "shakespeare.txt")
    config = RunConfig(**{**TINY, "corpus": "shakespeare", "level": "char"})
    with pytest.raises(text_data.ShakespeareOffline) as error:
        make_dataset(config)
    assert len(attempts) == 1 and not Path(cache).exists()
    for place, hint in (("python", "text_file"), ("cli", "--corpus FILE.txt"), ("app", "“A text file”")):
        sentence = error.value.sentence(place)
        assert cache in sentence and hint in sentence and "\n" not in sentence
    assert "--" not in error.value.sentence("app")
    # The command line: one line on stderr, exit code 1, the command-line way out.
    with pytest.raises(SystemExit) as exit_code:
        cli.main(["train", "--task", "text", "--corpus", "shakespeare", "--level", "char", "--epochs", "1"])
    assert exit_code.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and cache in lines[0] and "--corpus grammar" in lines[0]


def test_shakespeare_from_the_keras_cache(offline):
    home, attempts = offline
    (home / "datasets").mkdir(exist_ok=True)
    play = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n" * 60
    (home / "datasets" / "shakespeare.txt").write_text(play)
    dataset = make_dataset(RunConfig(**{**TINY, "corpus": "shakespeare", "level": "char", "seq_len": 40}))
    assert attempts == [] and dataset.source.startswith("tiny-shakespeare")
    vocabulary = text_data.vocabulary_of(dataset)
    assert "\n" in vocabulary.tokens and "F" in vocabulary.tokens  # every character kept, capitals too
    assert vocabulary.decode(dataset.x_train[0]) in play


# --- Sampling ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    config = RunConfig(**{**TINY, "layers": 2, "cell": "gru"})
    dataset = make_dataset(config)
    model = build_model(config, dataset)
    rng = np.random.default_rng(0)  # weights far from uniform, so the distribution has a clear shape
    model.set_weights([rng.normal(0, 0.8, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model, dataset, text_data.vocabulary_of(dataset)


def reference_softmax(logits):
    exponentials = np.exp(np.asarray(logits, dtype=np.float64) - np.max(logits))
    return exponentials / exponentials.sum()


def test_the_next_token_distribution_is_the_models_softmax_and_sums_to_1(tiny_model):
    model, _, vocabulary = tiny_model
    prompt = "the dog chased a"
    probabilities = generate.next_token_distribution(model, vocabulary, prompt)
    assert probabilities.shape == (len(vocabulary),) and probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    logits = model.predict(vocabulary.encode(prompt)[None], verbose=0)[0, -1]
    np.testing.assert_allclose(probabilities, reference_softmax(logits), atol=1e-5)
    best = generate.top_k(probabilities, 4)
    assert [token for token, _ in best] == list(np.argsort(-probabilities, kind="stable")[:4])
    assert all(first[1] >= second[1] for first, second in zip(best, best[1:]))


def test_temperature_towards_0_gives_the_argmax(tiny_model):
    model, _, vocabulary = tiny_model
    probabilities = generate.next_token_distribution(model, vocabulary, "a girl")
    best = int(np.argmax(probabilities))
    np.testing.assert_array_equal(generate.with_temperature(probabilities, 0), np.eye(len(probabilities))[best])
    np.testing.assert_allclose(generate.with_temperature(probabilities, 1.0), probabilities, atol=1e-12)
    cold = [generate.with_temperature(probabilities, t)[best] for t in (1.0, 0.5, 0.1, 0.01)]
    assert cold == sorted(cold) and cold[-1] > 0.99
    with pytest.raises(ValueError, match="0 or more"):
        generate.with_temperature(probabilities, -1)
    # Greedy text against a loop of model.predict calls on the whole text so far.
    greedy = generate.generate(model, vocabulary, "a girl", length=6, temperature=0)
    ids = list(vocabulary.encode("a girl"))
    for step in greedy.steps:  # the most likely token that is text: never padding or [UNK] (issue 18.11)
        logits = np.asarray(model(np.array([ids]), training=False))[0, -1].astype(np.float64)
        logits[generate.never_drawn(vocabulary)] = -np.inf
        ids.append(int(np.argmax(logits)))
        assert step.token == ids[-1] and step.drawn_from[step.token] == 1.0
    assert greedy.text == vocabulary.decode(ids)


def test_the_same_seed_gives_the_same_text(tiny_model):
    model, _, vocabulary = tiny_model
    first = generate.generate(model, vocabulary, "the cat", length=25, temperature=1.2, seed=3)
    again = generate.generate(model, vocabulary, "the cat", length=25, temperature=1.2, seed=3)
    other = generate.generate(model, vocabulary, "the cat", length=25, temperature=1.2, seed=4)
    assert first.text == again.text and first.tokens != other.tokens
    assert first.text.startswith("the cat ") and len(first.steps) == 25
    for step in first.steps:  # each step keeps the distribution it drew from, and its token is in it
        assert step.drawn_from.sum() == pytest.approx(1.0) and step.drawn_from[step.token] > 0


def test_the_sampler_never_draws_padding_or_unknown_and_carries_the_prompts_state(tiny_model):
    model, _, vocabulary = tiny_model
    banned = generate.never_drawn(vocabulary)
    assert [vocabulary.tokens[index] for index in banned] == ["", "[UNK]"]
    # Random weights give padding and [UNK] a share of the probability; the sampler still writes only text.
    result = generate.generate(model, vocabulary, "the cat", length=40, temperature=2.0, seed=1)
    assert not set(result.tokens) & set(banned.tolist()) and "\ufffd" not in result.text
    assert sum(step.probabilities[banned].sum() for step in result.steps) > 0.5  # a draw or more expected
    for step in result.steps:
        assert step.drawn_from[banned].sum() == 0 and step.drawn_from.sum() == pytest.approx(1.0)
    # The state is carried from the prompt through generation: each step's distribution is the one a full re-read
    # of the prompt and the tokens drawn so far gives (the continuation depends on the prompt, not only on itself).
    ids = list(vocabulary.encode("the cat"))
    for step in result.steps:
        logits = np.asarray(model(np.array([ids]), training=False))[0, -1]
        np.testing.assert_allclose(step.probabilities, reference_softmax(logits), atol=1e-5)
        ids.append(step.token)
    other = generate.generate(model, vocabulary, "a girl", length=40, temperature=2.0, seed=1)
    assert not np.allclose(other.steps[0].probabilities, result.steps[0].probabilities)


# --- Training, records, configuration -------------------------------------------------------------------------

def test_bidirectional_text_is_refused_with_a_reason(capsys):
    with pytest.raises(ValueError, match="would read the future"):
        defaults_for_task("text").replace(bidirectional=True)
    with pytest.raises(SystemExit) as exit_code:
        cli.main(["train", "--task", "text", "--bidirectional"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_code.value.code == 2 and len(lines) == 1 and "future" in lines[0]


def test_corpus_takes_a_name_or_the_path_of_a_text_file():
    parse_args = cli.build_parser().parse_args
    config = cli.config_from_args(parse_args(["train", "--task", "text", "--corpus", "notes/book.txt"]))
    assert (config.corpus, config.text_file) == ("file", "notes/book.txt")
    assert cli.config_from_args(parse_args(["train", "--task", "text", "--corpus", "grammar"])).corpus == "grammar"
    with pytest.raises(ValueError, match="Text must be one of grammar, .* or the path of a .txt file; 'shakespear'"):
        cli.config_from_args(parse_args(["train", "--task", "text", "--corpus", "shakespear"]))


# --- Saving, loading and the command line ------------------------------------------------------------------------

def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlab", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_train_save_load_and_generate_round_trip_through_the_command_line(tmp_path, capsys):
    model_file, out = tmp_path / "grammar.keras", tmp_path / "run.json"
    result = run_cli("train", "--task", "text", "--corpus", "grammar", "--seq-len", "10", "--samples", "128",
                     "--eval-samples", "16", "--units", "8", "--embedding-dim", "4", "--epochs", "2",
                     "--save-model", str(model_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert set(record["history"]) >= {"loss", "val_loss", "val_perplexity"}
    assert len(record["history"]["val_perplexity"]) == 2 and isinstance(record["val_perplexity"], float)
    assert record["val_perplexity"] == pytest.approx(math.exp(record["history"]["val_loss"][-1]), rel=1e-5)
    assert record["baseline_loss"] > 0 and record["samples_per_second"] > 0 and len(record["generated"]) == 2

    saved = saving.load_model(model_file)  # the vocabulary came along in the file
    assert saved.is_text and saved.vocabulary.level == "word" and "chased" in saved.vocabulary.tokens
    arguments = ["generate", "--model", str(model_file), "--prompt", "The cat sat on the", "--top-k", "3",
                 "--length", "8", "--temperature", "0.7", "--seed", "5"]
    result = run_cli(*arguments)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    probabilities = generate.next_token_distribution(saved.model, saved.vocabulary, "The cat sat on the")
    for line, (token, probability) in zip(lines[:3], generate.top_k(probabilities, 3)):
        assert line == f"{saved.vocabulary.label(token)}\t{probability:.4f}"
    expected = generate.generate(saved.model, saved.vocabulary, "The cat sat on the", length=8, temperature=0.7,
                                 seed=5)
    assert lines[3:] == [saved.vocabulary.decode(expected.tokens)] and len(lines[3].split()) == 8
    assert cli.main(arguments) == 0  # the same seed writes the same text again
    assert capsys.readouterr().out == result.stdout


def test_save_model_works_for_a_synthetic_task_and_generate_refuses_it(tmp_path, capsys):
    model_file = tmp_path / "sine.keras"
    assert cli.main(["train", "--task", "sine", "--seq-len", "6", "--samples", "32", "--eval-samples", "16",
                     "--units", "3", "--epochs", "1", "--save-model", str(model_file)]) == 0
    assert "saved the model to" in capsys.readouterr().out
    saved = saving.load_model(model_file)
    assert not saved.is_text and saved.model.output_shape == (None, 1)
    assert saved.model.predict(np.zeros((2, 6, 1), np.float32), verbose=0).shape == (2, 1)
    with pytest.raises(SystemExit) as exit_code:
        cli.main(["generate", "--model", str(model_file), "--prompt", "the"])
    error = capsys.readouterr().err.strip().splitlines()
    assert exit_code.value.code == 2 and len(error) == 1 and "not a text model" in error[0]


def test_a_saved_model_predicts_what_the_original_did(tmp_path, tiny_model):
    model, dataset, vocabulary = tiny_model
    saving.save_model(model, dataset, tmp_path / "tiny.keras")
    saved = saving.load_model(tmp_path / "tiny.keras")
    ids = vocabulary.encode("the dog chased a cat")[None]
    np.testing.assert_allclose(saved.model.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)
    assert saved.vocabulary.tokens == vocabulary.tokens


@pytest.mark.parametrize("arguments, words", [
    (["--top-k", "0"], "--top-k must be at least 1"),
    (["--temperature", "-0.5"], "--temperature must be 0 or more"),
    (["--length", "-1"], "--length must be 0 or more"),
    (["--prompt", "  "], "--prompt is empty"),
])
def test_bad_generate_arguments_are_one_line_and_exit_2(tmp_path, capsys, arguments, words):
    model_file = tmp_path / "missing.keras"
    base = {"--model": str(model_file), "--prompt": "the cat"}
    flags = dict(zip(arguments[::2], arguments[1::2]))
    argv = ["generate"] + [item for flag, value in {**base, **flags}.items() for item in (flag, value)]
    with pytest.raises(SystemExit) as exit_code:
        cli.main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_code.value.code == 2 and len(lines) == 1 and words in lines[0]


def test_files_that_are_not_safe_keras_models_are_refused_in_one_sentence(tmp_path):
    (tmp_path / "notes.keras").write_text("not a model")
    with pytest.raises(saving.ModelFileError, match="is not a Keras model file"):
        saving.load_model(tmp_path / "notes.keras")
    inputs = keras.Input(shape=(3,))
    unsafe = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    unsafe.save(tmp_path / "lambda.keras")
    with pytest.raises(saving.ModelFileError, match="safe mode") as error:
        saving.load_model(tmp_path / "lambda.keras")
    assert "\n" not in str(error.value)
    with pytest.raises(saving.ModelFileError, match="must end in .keras"):
        saving.check_path(tmp_path / "model.h5")


# --- The export ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["word", "char"])
def test_the_exported_script_builds_the_same_network_on_the_same_windows(level):
    config = RunConfig(**{**TINY, "level": level, "layers": 2})
    from rnnlab.export import keras_script

    namespace = {"__name__": "exported"}
    exec(compile(keras_script(config), "exported.py", "exec"), namespace)
    dataset = make_dataset(config)
    ours = build_model(config, dataset)
    for theirs, mine in zip(namespace["model"].get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(theirs, mine)
    np.testing.assert_array_equal(namespace["x_train"], dataset.x_train)
    np.testing.assert_array_equal(namespace["y_val"], dataset.y_val)
    assert namespace["VOCAB_SIZE"] == len(dataset.vocabulary)
    assert namespace["model"].output_shape == (None, config.seq_len, len(dataset.vocabulary))


# --- Elman's map -----------------------------------------------------------------------------------------------------

def test_pca_and_the_distance_ratio_against_references():
    rng = np.random.default_rng(1)
    states = rng.normal(size=(40, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    points, shares = word_map.project(states)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(states.T))
    order = np.argsort(eigenvalues)[::-1]
    for axis in range(2):
        direction = eigenvectors[:, order[axis]]
        np.testing.assert_allclose(np.abs(points[:, axis]), np.abs((states - states.mean(0)) @ direction), atol=1e-9)
    np.testing.assert_allclose(shares, eigenvalues[order[:2]] / eigenvalues.sum(), rtol=1e-9)

    words = [f"w{index % 8}" for index in range(40)]
    kinds = ["animal" if index % 8 < 4 else "food" for index in range(40)]
    mapped = word_map.WordStates(words=words, categories=kinds, states=states, layer="lstm_1")
    within, between = [], []
    for i in range(40):
        for j in range(40):
            distance = math.dist(states[i], states[j])
            if kinds[i] != kinds[j]:
                between.append(distance)
            elif words[i] != words[j]:
                within.append(distance)
    assert word_map.separation(mapped) == pytest.approx(np.mean(between) / np.mean(within), rel=1e-9)


@pytest.mark.parametrize("level", ["word", "char"])
def test_word_states_are_the_layers_own_states_after_each_word(tiny_model, level):
    config = RunConfig(**{**TINY, "level": level})
    dataset = make_dataset(config)
    model = build_model(config, dataset)
    sentences = ["the dog chased a cat .", "a girl slept ."]
    states = word_map.word_states(model, dataset, sentences)
    assert states.words == "the dog chased a cat . a girl slept .".split()
    assert states.categories[:3] == ["article", "animal", "verb with object"]
    vocabulary = text_data.vocabulary_of(dataset)
    ids = vocabulary.encode(" ".join(sentences))[None]
    # Keras's own layers on an input of any length: the reference for what the layer outputs after each token.
    reader = keras.Sequential([keras.Input((None,), dtype="int32"), model.get_layer("embedding"),
                               model.get_layer("lstm_1")])
    hidden = np.asarray(reader(ids))[0]  # (tokens, units)
    ends = np.cumsum([len(word) + 1 for word in states.words]) - 2 if level == "char" else np.arange(10)
    np.testing.assert_allclose(states.states, hidden[ends], atol=1e-5)


def test_the_maps_sentence_follows_its_numbers():
    assert "pulled the words of each kind together" in explain.describe_map(0.98, 2.7)[1]
    assert "a little, not strongly" in explain.describe_map(0.95, 1.14)[1]
    assert "about where it started" in explain.describe_map(1.0, 1.05)[1]
    assert "less grouped" in explain.describe_map(1.5, 1.1)[1]
    assert explain.describe_map(1.0, 2.0)[0].startswith("After training, a hidden state lies on average 2.00 times")
    assert "not enough words" in explain.describe_map(float("nan"), 2.0)[0]
