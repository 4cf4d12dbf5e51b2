"""Tests for `rnnlab.imdb`: every data source end to end, malformed files, encoding, and prefix probabilities.

All data is made here in `tmp_path`: a tiny Keras-layout imdb.npz (raw word ranks, as Keras caches it) with its
word list, and tiny review CSVs. Each review carries a code made of words or ids that identify it, so a test can
tell which source review every row came from and check its label, its encoding and which split it landed in.
Nothing here touches the network: the download path runs Keras's real `get_file` with `urlretrieve` replaced.

    .venv/bin/pytest -q tests/test_imdb.py
"""

from __future__ import annotations

import gzip
import json
import urllib.error

import keras
import numpy as np
import pytest

from rnnlab import sentiment
from rnnlab.data import imdb
from rnnlab.config import RunConfig
from rnnlab.data import make_dataset

# --- A tiny Keras-layout imdb.npz -----------------------------------------------------------------------------

SEQ_LEN = 12
VOCAB = 100  # RunConfig's smallest vocabulary
# Raw frequency ranks as in Keras's imdb_word_index.json (1 = most frequent); the file stores ranks, and load_data
# adds the start token 1 and shifts every rank by 3.
WORD_RANKS = {"the": 1, "movie": 2, "was": 3, "great": 4, "awful": 5, "not": 6, "bad": 7, "at": 8, "all": 9,
              "don't": 10, **{f"tens{digit}": 20 + digit for digit in range(10)},
              **{f"ones{digit}": 30 + digit for digit in range(10)}, "zebra": 150}
RARE_RANK = 150  # shifted to 153, beyond a vocabulary of 100, so it must become the OOV id 2
N_TRAIN, N_TEST = 50, 20


def raw_review(number: int) -> tuple[list[int], int]:
    """Review `number` as raw ranks, and its label; its last two words encode the number, so it survives cutting."""
    label = number % 2
    filler = [1, 2, 3] * (number % 7)  # 0 to 18 words: some reviews are padded, some cut
    rare = [RARE_RANK] if number % 5 == 0 else []
    return filler + rare + [4 if label else 5, 20 + number // 10, 30 + number % 10], label


def expected_row(ranks: list[int]) -> tuple[int, ...]:
    """What `load_data(num_words=VOCAB)` then front padding and cutting to SEQ_LEN make of a raw review."""
    ids = [1] + [rank + 3 if rank + 3 < VOCAB else 2 for rank in ranks]
    ids = ids[-SEQ_LEN:]
    return tuple([0] * (SEQ_LEN - len(ids)) + ids)


def make_npz(folder, word_index: bool = True, shifted: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, numbers in (("train", range(N_TRAIN)), ("test", range(N_TRAIN, N_TRAIN + N_TEST))):
        reviews = [raw_review(number) for number in numbers]
        # `shifted`: as a learner might save load_data()'s output (start token 1, ranks + 3, no vocabulary cut).
        sequences = [[1] + [rank + 3 for rank in ranks] if shifted else ranks for ranks, _ in reviews]
        x = np.empty(len(sequences), dtype=object)
        x[:] = sequences
        arrays[f"x_{name}"] = x
        arrays[f"y_{name}"] = np.array([label for _, label in reviews], dtype=np.int64)
    path = folder / "imdb.npz"
    np.savez(path, **arrays)
    if word_index:
        (folder / imdb.WORD_INDEX_FILE).write_text(json.dumps(WORD_RANKS))
    return path


def expected_rows() -> dict[tuple[int, ...], tuple[int, int]]:
    """Every expected row -> (review number, label); review numbers below N_TRAIN are from x_train."""
    rows = {}
    for number in range(N_TRAIN + N_TEST):
        ranks, label = raw_review(number)
        rows[expected_row(ranks)] = (number, label)
    assert len(rows) == N_TRAIN + N_TEST  # the codes make every review distinct
    return rows


def npz_config(path="", **changes) -> RunConfig:
    settings = dict(task="imdb", imdb_path=str(path), samples=30, eval_samples=16, vocab_size=VOCAB,
                    seq_len=SEQ_LEN, seed=3)
    return RunConfig(**{**settings, **changes})


@pytest.fixture
def npz_path(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    return make_npz(tmp_path / "keras")


def identify(x: np.ndarray, y: np.ndarray) -> list[int]:
    """The review number behind every row, checking each row is exactly the expected encoding with its label."""
    rows = expected_rows()
    numbers = []
    for row, label in zip(x, y):
        assert tuple(int(token) for token in row) in rows, f"unexpected row {row}"
        number, expected_label = rows[tuple(int(token) for token in row)]
        assert label == expected_label
        numbers.append(number)
    return numbers


def check_keras_dataset(dataset, config: RunConfig) -> None:
    assert dataset.task == "imdb" and dataset.kind == "binary" and dataset.title == "IMDB sentiment"
    assert dataset.class_names == ("negative", "positive")
    assert dataset.x_train.shape == (config.samples, SEQ_LEN) and dataset.x_train.dtype == np.int32
    assert dataset.x_val.shape == dataset.x_test.shape == (config.eval_samples, SEQ_LEN)
    assert dataset.y_train.shape == (config.samples,) and dataset.y_train.dtype == np.float32
    assert dataset.x_val.dtype == dataset.x_test.dtype == np.int32
    assert dataset.y_val.dtype == dataset.y_test.dtype == np.float32
    train = identify(dataset.x_train, dataset.y_train)
    val = identify(dataset.x_val, dataset.y_val)
    test = identify(dataset.x_test, dataset.y_test)
    assert all(number < N_TRAIN for number in train + val) and all(number >= N_TRAIN for number in test)
    assert len(set(train)) == len(train) and len(set(val)) == len(val) and len(set(test)) == len(test)
    assert not set(train) & set(val)  # validation is held out of the training split
    assert set(dataset.y_train) == {0.0, 1.0} and set(dataset.y_val) == {0.0, 1.0}
    assert len(dataset.vocabulary) == VOCAB and dataset.x_train.max() < VOCAB
    assert dataset.vocabulary[:3] == ("", "[START]", "[UNK]")
    assert np.isfinite(dataset.baseline_loss) and 0.6 < dataset.baseline_loss < 0.8  # about ln 2: balanced labels


def test_local_npz_end_to_end(npz_path):
    config = npz_config(npz_path)
    dataset = imdb.load_dataset(config)
    check_keras_dataset(dataset, config)
    assert str(npz_path) in dataset.source and imdb.WORD_INDEX_FILE in dataset.source
    assert dataset.vocabulary[1 + 3] == "the" and dataset.vocabulary[10 + 3] == "don't"
    assert dataset.vocabulary[3] == "#3"  # no word has rank 0, so id 3 has no word
    # Front padding and cutting: a short review ends the row after zeros; the rare word became the OOV id.
    x_all = np.concatenate([dataset.x_train, dataset.x_val])
    assert (x_all[:, 0] == 0).any() and (x_all[:, 0] != 0).any()
    assert (x_all == imdb.KERAS_OOV_ID).any()


def test_local_npz_is_reproducible_and_seeded(npz_path):
    first = imdb.load_dataset(npz_config(npz_path))
    again = imdb.load_dataset(npz_config(npz_path))
    other = imdb.load_dataset(npz_config(npz_path, seed=4))
    for name in ("x_train", "y_train", "x_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.x_train, other.x_train)


def test_local_npz_from_environment_variable(npz_path, monkeypatch):
    monkeypatch.setenv(imdb.ENV_VAR, str(npz_path))
    dataset = imdb.load_dataset(npz_config(""))
    assert str(npz_path) in dataset.source
    check_keras_dataset(dataset, npz_config(""))


def test_npz_saved_from_load_data_output_gives_the_same_rows(npz_path, tmp_path):
    shifted = make_npz(tmp_path / "shifted", shifted=True)
    expected = imdb.load_dataset(npz_config(npz_path))
    dataset = imdb.load_dataset(npz_config(shifted))
    np.testing.assert_array_equal(dataset.x_train, expected.x_train)
    np.testing.assert_array_equal(dataset.x_test, expected.x_test)
    assert "already shifted" in dataset.source


def test_npz_without_word_list_shows_ids(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    path = make_npz(tmp_path / "bare", word_index=False)
    dataset = imdb.load_dataset(npz_config(path))
    check_keras_dataset(dataset, npz_config(path))
    assert "#ids" in dataset.source and dataset.vocabulary[4] == "#4"
    assert imdb.decode_review(np.array([0, 1, 4, 7]), dataset) == "[START] #4 #7"
    with pytest.raises(imdb.ImdbDataError, match="no word list"):
        imdb.encode_review("the movie", dataset)


@pytest.mark.parametrize("contents, message", [
    (None, "There is no imdb.npz at"),
    (b"not a zip archive at all", "is not an .npz archive"),
    ({"x_train": np.zeros(3)}, "has no y_train array (arrays found: x_train)"),
    ({"x_train": np.array(5), "y_train": np.zeros(1), "x_test": np.zeros((1, 3)), "y_test": np.zeros(1)},
     "x_train in"),
])
def test_bad_npz_files(tmp_path, contents, message):
    path = tmp_path / "imdb.npz"
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    elif isinstance(contents, dict):
        np.savez(path, **contents)
    check_error(lambda: imdb.load_dataset(npz_config(path)), message)


def test_npz_too_small_for_the_request(npz_path):
    check_error(lambda: imdb.load_dataset(npz_config(npz_path, samples=40)),
                "has 50 training reviews, but 40 training + 16 validation = 56 are needed; ask for at most 34")
    check_error(lambda: imdb.load_dataset(npz_config(npz_path, samples=16, eval_samples=21)),
                "has 20 test reviews, but 21 are needed")


# --- The Keras download -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [
    urllib.error.URLError(OSError(-2, "Name or service not known")),  # no DNS: what this machine gives
    TimeoutError("The read operation timed out"),  # a firewall that drops packets
])
def test_offline_download_names_the_cache_and_the_alternatives(keras_home, monkeypatch, failure):
    def no_network(*args, **kwargs):
        raise failure

    # Keras's real get_file runs, finds nothing cached, and fails where it would open the connection.
    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", no_network)
    error = check_error(lambda: imdb.load_dataset(npz_config("")), "could not be downloaded")
    message = str(error)
    assert str(keras_home / "datasets" / "imdb.npz") in message
    # Each place names its own way out: Python the settings, the command line its flags, the app its options.
    for alternative in ("imdb_path", imdb.ENV_VAR, "imdb_csv"):
        assert alternative in message
    for alternative in ("--imdb-path", imdb.ENV_VAR, "--imdb-csv"):
        assert alternative in error.sentence("cli")
    assert "A local imdb.npz" in error.sentence("app") and "--" not in error.sentence("app")
    assert not (keras_home / "datasets" / "imdb.npz").exists()


def test_keras_download_path_reads_what_load_data_returns(keras_home, tmp_path, monkeypatch):
    folder = tmp_path / "served"
    make_npz(folder)
    # Stand in for the download: Keras's load_data and get_word_index run for real on the tiny files.
    monkeypatch.setattr(keras.src.datasets.imdb, "get_file", lambda fname, **kwargs: str(folder / fname))
    config = npz_config("")
    dataset = imdb.load_dataset(config)
    check_keras_dataset(dataset, config)
    assert "Keras IMDB cache" in dataset.source and str(keras_home) in dataset.source
    assert dataset.vocabulary[4] == "the"


# --- Review CSVs --------------------------------------------------------------------------------------------------

N_CSV = 60
TENS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
ONES = ("red", "orange", "yellow", "green", "blue", "indigo", "violet", "white")
# Every review names all code words once at its start, so they are in the vocabulary whichever reviews train it;
# only the last two words of a review are its own code.
ROSTER = " ".join(TENS + ONES) + ". "
CSV_SEQ_LEN = 30  # reviews run from 22 words (padded) to 52 (cut)
LABEL_SPELLINGS = {1: (" Positive", "POSITIVE ", "positive"), 0: ("negative", " Negative", "NEGATIVE")}


def csv_review(number: int) -> tuple[str, int]:
    """Review `number` as raw text with HTML breaks, and its label; it ends with its code words and a unique word."""
    label = number % 2
    filler = "The film was long, and the plot was thin. " * (number % 4)
    verdict = "A great movie!" if label else "An awful movie..."
    return f"{ROSTER}{filler}{verdict}<br /><br />{TENS[number // 8]} {ONES[number % 8]} unique{number}", label


def make_csv(path, columns=("review", "sentiment"), numeric_labels=False):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for number in range(N_CSV):
            text, label = csv_review(number)
            spelled = str(label) if numeric_labels else LABEL_SPELLINGS[label][number % 3]
            writer.writerow([text, spelled])
    return path


def csv_config(path, **changes) -> RunConfig:
    settings = dict(task="imdb", imdb_csv=str(path), samples=28, eval_samples=16, vocab_size=VOCAB,
                    seq_len=CSV_SEQ_LEN, seed=5)
    return RunConfig(**{**settings, **changes})


@pytest.fixture
def csv_path(tmp_path):
    return make_csv(tmp_path / "reviews.csv")


def csv_numbers(dataset) -> list[int]:
    """The review number of every row of every split, read back from its code words."""
    numbers = []
    for x in (dataset.x_train, dataset.x_val, dataset.x_test):
        for row in x:
            words = imdb.decode_review(row, dataset).split()
            numbers.append(TENS.index(words[-3]) * 8 + ONES.index(words[-2]))
    return numbers


def test_csv_end_to_end(csv_path):
    config = csv_config(csv_path)
    dataset = imdb.load_dataset(config)
    assert dataset.kind == "binary" and dataset.class_names == ("negative", "positive")
    assert dataset.x_train.shape == (28, CSV_SEQ_LEN) and dataset.x_train.dtype == np.int32
    assert dataset.x_val.shape == dataset.x_test.shape == (16, CSV_SEQ_LEN)
    assert dataset.y_train.shape == (28,) and dataset.y_train.dtype == np.float32
    assert dataset.source == f"CSV {csv_path}, 60 reviews"
    assert dataset.vocabulary[:2] == ("", "[UNK]") and "br" not in dataset.vocabulary  # HTML breaks are not words
    numbers = csv_numbers(dataset)
    assert len(set(numbers)) == 28 + 16 + 16  # train, validation and test are disjoint
    labels = np.concatenate([dataset.y_train, dataset.y_val, dataset.y_test])
    assert [int(label) for label in labels] == [csv_review(number)[1] for number in numbers]
    assert set(dataset.y_train) == {0.0, 1.0}
    # Each row is exactly what encode_review makes of its source text: same words, ids, padding and cutting.
    rows = np.concatenate([dataset.x_train, dataset.x_val, dataset.x_test])
    for row, number in zip(rows, numbers):
        np.testing.assert_array_equal(imdb.encode_review(csv_review(number)[0], dataset)[0], row)
    # The vocabulary was learned from the training reviews only: their unique words are in it, no others are.
    train_numbers, held_out = numbers[:28], numbers[28:]
    assert all(f"unique{number}" in dataset.vocabulary for number in train_numbers)
    assert not any(f"unique{number}" in dataset.vocabulary for number in held_out)
    # Padding comes first: in every row, once a word appears, no padding follows.
    for row in rows:
        words = np.flatnonzero(row)
        assert words.size and (row[words[0]:] != 0).all()
    assert (rows[:, 0] == 0).any() and (rows[:, 0] != 0).any()  # short reviews padded, long ones cut


def test_csv_splits_are_seeded_and_held_out_sets_ignore_samples(csv_path):
    first = imdb.load_dataset(csv_config(csv_path))
    again = imdb.load_dataset(csv_config(csv_path))
    fewer = imdb.load_dataset(csv_config(csv_path, samples=16))
    other = imdb.load_dataset(csv_config(csv_path, seed=6))
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert first.vocabulary == again.vocabulary
    assert csv_numbers(fewer)[16:] == csv_numbers(first)[28:]  # same validation and test reviews
    assert csv_numbers(other) != csv_numbers(first)


def test_csv_with_other_column_names_numeric_labels_and_a_small_vocabulary(tmp_path):
    path = tmp_path / "texts.csv"
    with open(path, "w", encoding="utf-8-sig") as handle:  # with the byte-order mark spreadsheets write
        handle.write("Text , Label\n")
        for number in range(N_CSV):
            # 150 distinct words overall, more than the vocabulary of 100 can hold.
            words = " ".join(f"word{(number * 5 + k) % 150}" for k in range(8))
            handle.write(f"{words},{number % 2}\n")
    dataset = imdb.load_dataset(csv_config(path))
    assert len(dataset.vocabulary) == VOCAB and dataset.x_train.max() == VOCAB - 1
    assert (dataset.x_val == 1).any()  # words beyond the vocabulary are the OOV id
    assert set(dataset.y_train) == {0.0, 1.0}


def test_compressed_csv_is_read(tmp_path, csv_path):
    packed = tmp_path / "reviews.csv.gz"
    packed.write_bytes(gzip.compress(csv_path.read_bytes()))
    texts, labels = imdb.read_reviews_csv(str(packed))
    assert texts == imdb.read_reviews_csv(str(csv_path))[0] and labels.sum() == N_CSV // 2
    assert "<br" not in texts[0]


def test_make_dataset_dispatches_to_imdb(csv_path):
    dataset = make_dataset(csv_config(csv_path))
    assert dataset.source.startswith("CSV ") and dataset.is_tokens and dataset.vocab_size <= VOCAB


def check_error(call, *fragments):
    """`call` raises ImdbDataError with one sentence on one line containing every fragment."""
    with pytest.raises(imdb.ImdbDataError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".") and message.count("; ") <= 3, message
    for fragment in fragments:
        assert fragment in message, message
    return caught.value


@pytest.mark.parametrize("contents, fragments", [
    (None, ["There is no reviews CSV at"]),
    (bytes(range(256)) * 8, ["is not a text CSV file"]),
    (b"", ["is empty"]),
    (b"\n\n  \n", ["is empty"]),
    (b"review,sentiment\n", ["has a header but no reviews"]),
    (b"body,sentiment\nA fine film,positive\n", ["has no review column (columns found: 'body', 'sentiment')"]),
    (b"review,score\nA fine film,9\n", ["has no sentiment column", "'review', 'score'"]),
    (b"review,sentiment\nA fine film,positive\n,negative\n<br />,negative\n",
     ["2 reviews", "are empty (first at data row 2)"]),
    (b"review,sentiment\nA fine film,positive\nA dull film,\n", ["no sentiment label (first at data row 2)"]),
    (b"review,sentiment\nfine,positive\ndull,negative\nmeh,neutral\n",
     ["exactly two classes", "3 different values", "'neutral' (1)"]),
    (b"review,sentiment\nfine,good\ndull,bad\n", ["exactly two classes", "'good'", "'bad'"]),
    (b"review,sentiment\nfine,positive\nlovely,Positive\n", ["holds only positive reviews"]),
    (b"review,sentiment\n7,positive\n3,negative\n", ["holds numbers, not text"]),
    (b"review,sentiment\n,positive\n,negative\n", ["2 reviews", "are empty (first at data row 1)"]),  # not numbers
    (b"review,sentiment\nfine,positive\ndull,negative,extra,fields\n", ["could not be read as a CSV"]),
])
def test_malformed_csv(tmp_path, contents, fragments):
    path = tmp_path / "reviews.csv"
    if contents is not None:
        path.write_bytes(contents)
    check_error(lambda: imdb.load_dataset(csv_config(path)), *fragments)


def test_csv_folder_and_too_few_reviews(tmp_path, csv_path):
    check_error(lambda: imdb.load_dataset(csv_config(tmp_path)), "is a folder, not a CSV file")
    check_error(lambda: imdb.load_dataset(csv_config(csv_path, samples=40)),
                "has 60 reviews, but 40 training + 16 validation + 16 test = 72 are needed; "
                "ask for at most 28 training reviews")
    check_error(lambda: imdb.load_dataset(csv_config(csv_path, samples=16, eval_samples=30)),
                "ask for at most 20 training and validation reviews each")


# --- Encoding, decoding and prefix probabilities -----------------------------------------------------------------


def test_encode_and_decode_with_the_keras_word_list(npz_path):
    dataset = imdb.load_dataset(npz_config(npz_path))
    tokens = imdb.encode_review("The movie was GREAT!<br />Don't miss it, zebra.", dataset)
    assert tokens.shape == (1, SEQ_LEN) and tokens.dtype == np.int32
    # start, the, movie, was, great, don't, miss (unknown), it (unknown), zebra (beyond the vocabulary)
    words = [1, 1 + 3, 2 + 3, 3 + 3, 4 + 3, 10 + 3, 2, 2, 2]
    assert tokens[0].tolist() == [0] * (SEQ_LEN - len(words)) + words
    expected = ["[START]", "the", "movie", "was", "great", "don't", "[UNK]", "[UNK]", "[UNK]"]
    assert imdb.review_words("The movie was GREAT!<br />Don't miss it, zebra.", dataset) == expected
    assert imdb.decode_review(tokens, dataset) == " ".join(expected)
    # A test review decodes to the words its ids stand for, without padding.
    ranks, _ = raw_review(N_TRAIN + 3)
    row = np.array(expected_row(ranks))
    assert imdb.decode_review(row, dataset).split() == [dataset.vocabulary[token] for token in row if token]


def test_encode_keeps_the_end_of_a_long_review(csv_path):
    dataset = imdb.load_dataset(csv_config(csv_path))
    text = "the plot " * 20 + "a great movie"
    words = imdb.review_words(text, dataset)
    assert len(words) == CSV_SEQ_LEN and words[-3:] == ["a", "great", "movie"]
    assert imdb.decode_review(imdb.encode_review(text, dataset), dataset).split() == words
    assert imdb.review_words("A GREAT movie, zzzz!", dataset) == ["a", "great", "movie", "[UNK]"]


def test_encode_and_decode_refuse_bad_input(csv_path):
    dataset = imdb.load_dataset(csv_config(csv_path))
    check_error(lambda: imdb.encode_review("  <br /> ... ", dataset), "The review has no words")
    check_error(lambda: imdb.decode_review(np.array([0, 5, 10_000]), dataset), "outside this dataset's vocabulary")
    check_error(lambda: imdb.decode_review(np.zeros((2, 7), dtype=np.int32), dataset), "shape (2, 7)")


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    # Large initial weights so different prefixes give clearly different outputs even untrained.
    model = keras.Sequential([
        keras.Input(shape=(SEQ_LEN,), dtype="int32"),
        keras.layers.Embedding(VOCAB, 4, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0)),
        keras.layers.LSTM(4),
        keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(stddev=3.0)),
    ])
    return model


def test_prefix_probabilities_match_the_model_on_each_prefix(npz_path):
    dataset = imdb.load_dataset(npz_config(npz_path))
    model = tiny_model()
    text = "the movie was not bad at all"
    tokens = imdb.encode_review(text, dataset)  # (1, SEQ_LEN)
    calls = []
    predict = model.predict
    model.predict = lambda *args, **kwargs: calls.append(1) or predict(*args, **kwargs)
    probabilities = sentiment.prefix_probabilities(model, tokens)
    assert len(calls) == 1  # one batched call
    words = tokens[0][tokens[0] != 0]
    assert probabilities.shape == (len(words),) == (len(imdb.review_words(text, dataset)),)
    for length in range(1, len(words) + 1):
        prefix = np.concatenate([np.zeros(SEQ_LEN - length, dtype=np.int32), words[:length]])[None, :]
        expected = float(keras.ops.convert_to_numpy(model(prefix))[0, 0])
        assert probabilities[length - 1] == pytest.approx(expected, abs=1e-5)
    assert np.ptp(probabilities) > 1e-2  # the prefixes really differ, so a wrong prefix would be caught
    check_error(lambda: sentiment.prefix_probabilities(model, np.zeros(SEQ_LEN, dtype=np.int32)), "only padding")
    check_error(lambda: sentiment.prefix_probabilities(model, np.roll(tokens[0], 3)), "padding must come first")
