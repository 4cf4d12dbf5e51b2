"""What the IMDB page computes: where the reviews come from, sizes that fit them, and what a trained model says.

`rnnlab.imdb` reads the reviews and encodes text; this module holds the rest of the sentiment lesson, so a notebook
gets the same numbers the dashboard draws:

    config, note = fit_sizes(defaults_for_task("imdb").replace(imdb_csv="reviews.csv"), 2500)
    dataset = load_reviews(config, "csv")               # note: "This CSV has 2,500 reviews ... using 1,500 ..."
    model = Trainer(config, dataset).run() and ...      # any trained Embedding -> RNN -> Dense(1, sigmoid) model
    probabilities = predict_probabilities(model, dataset.x_test)   # (reviews,)
    confusion_matrix(dataset.y_test, probabilities)     # [[true neg, false pos], [false neg, true pos]]
    review_table(dataset, probabilities)                # test reviews as text, with the verdict and whether it is right
    word_trace(model, dataset, "Not bad at all.")       # P(positive) after each word, and the gates over the words

Figures of these live in `rnnlab.sentiment_charts`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from rnnlab import imdb
from rnnlab.config import RunConfig, field_info
from rnnlab.introspect.gates import trace
from rnnlab.tasks import Dataset

# Where the reviews can come from, as the page offers them.
SOURCES = {
    "keras": "Keras's IMDB (downloaded once, then cached)",
    "npz": "A local imdb.npz",
    "csv": "A CSV of raw reviews",
}
# Keras's imdb.npz always holds these many training and test reviews (Maas et al. 2011).
KERAS_REVIEWS = (25_000, 25_000)
# What a learner should look at first in each cell: the gates that decide what the memory keeps.
FIRST_GATES = {"lstm": ("forget", "input"), "gru": ("update", "reset"), "simplernn": ("hidden",)}
# Keras's binary accuracy counts a review as positive when P(positive) is strictly above this.
THRESHOLD = 0.5

_SMALLEST = int(field_info("samples")["low"])  # RunConfig's smallest training and held-out sets
_SMALLEST_HELD_OUT = int(field_info("eval_samples")["low"])


# --- Choosing and loading the data ------------------------------------------------------------------------------


def source_config(config: RunConfig, source: str, path: str = "") -> RunConfig:
    """`config` with its data fields naming `source`, so the run record says where the reviews came from."""
    path = path.strip()
    if source == "keras":
        return config.replace(imdb_path="", imdb_csv="")
    if source == "npz":
        return config.replace(imdb_path=path, imdb_csv="")
    if source == "csv":
        return config.replace(imdb_path="", imdb_csv=path)
    raise ValueError(f"Unknown data source {source!r}; choose one of: {', '.join(SOURCES)}.")


def load_reviews(config: RunConfig, source: str) -> Dataset:
    """The `Dataset` for `config` from `source`; every data problem raises `ImdbDataError` with one sentence."""
    if source == "keras":
        # A learner who picked Keras's data gets Keras's data, even when RNNLAB_IMDB_PATH names a local file.
        return imdb.load_dataset(source_config(config, "keras"), source="keras")
    if source == "npz" and not config.imdb_path.strip():
        raise imdb.ImdbDataError("Give the path of a Keras-layout imdb.npz file.")
    if source == "csv" and not config.imdb_csv.strip():
        raise imdb.ImdbDataError("Upload a reviews CSV or give its path.")
    return imdb.load_dataset(source_config(config, source, config.imdb_path if source == "npz" else config.imdb_csv))


def available_reviews(source: str, path: str = "") -> tuple[int, int | None] | None:
    """How many reviews `source` holds: (training, test) for Keras layouts, (all, None) for a CSV, whose splits
    share one pool; None when a local npz cannot be counted cheaply (loading it then says what is wrong).

    A CSV is read in full (raising `ImdbDataError` if it is malformed); an npz only has its label arrays read.
    """
    if source == "keras":
        return KERAS_REVIEWS
    if source == "csv":
        texts, _ = imdb.read_reviews_csv(path.strip())
        return len(texts), None
    try:
        with zipfile.ZipFile(os.path.expanduser(path.strip())) as archive:
            counts = []
            for name in ("y_train.npy", "y_test.npy"):
                with archive.open(name) as stream:
                    labels = np.lib.format.read_array(io.BytesIO(stream.read()), allow_pickle=False)
                counts.append(len(labels))
        return counts[0], counts[1]
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def fit_sizes(config: RunConfig, available_reviews: int,
              test_reviews: int | None = None) -> tuple[RunConfig, str | None]:
    """`config` with training and held-out sizes shrunk to fit the data, and one sentence saying what changed.

    `available_reviews` alone means one shared pool (a CSV: training, validation and test all come from it);
    with `test_reviews`, a Keras layout (validation comes from the training reviews, test from the test reviews).
    Sizes that fit are left alone (note None). Otherwise the held-out sets keep at most a fifth of the pool each,
    the training set gets the rest, and the largest asked-for sizes win where they fit.
    Raises `ImdbDataError` when even the smallest sets (16 reviews each) do not fit.
    """
    samples, held_out = config.samples, config.eval_samples
    if test_reviews is None:  # one pool: training + validation + test
        pool, what = available_reviews, f"This CSV has {available_reviews:,} reviews"
        if samples + 2 * held_out <= pool:
            return config, None
        held_out = min(held_out, max(_SMALLEST_HELD_OUT, pool // 5))
        samples = min(samples, pool - 2 * held_out)
        asked = f"{config.samples:,} training + {config.eval_samples:,} validation + {config.eval_samples:,} test"
        smallest = _SMALLEST + 2 * _SMALLEST_HELD_OUT
    else:  # training + validation from the training reviews, test from the test reviews
        pool = available_reviews
        what = f"This imdb.npz has {available_reviews:,} training and {test_reviews:,} test reviews"
        if samples + held_out <= pool and held_out <= test_reviews:
            return config, None
        held_out = min(held_out, test_reviews, max(_SMALLEST_HELD_OUT, pool // 5))
        samples = min(samples, pool - held_out)
        asked = f"{config.samples:,} training + {config.eval_samples:,} validation and test"
        smallest = _SMALLEST + _SMALLEST_HELD_OUT
    if samples < _SMALLEST or held_out < _SMALLEST_HELD_OUT:
        raise imdb.ImdbDataError(f"{what}; at least {smallest} are needed ({_SMALLEST} training, "
                                 f"{_SMALLEST_HELD_OUT} validation and {_SMALLEST_HELD_OUT} test); use a bigger file.")
    fitted = config.replace(samples=samples, eval_samples=held_out)
    return fitted, (f"{what}, too few for the {asked} asked for: training on {samples:,} reviews, with "
                    f"{held_out:,} for validation and {held_out:,} for the test.")


def data_key(config: RunConfig, source: str) -> tuple:
    """What decides the `Dataset` `load_reviews(config, source)` returns, including the data file's stamp, so a
    cache keyed by it reloads when the file changes."""
    path = {"keras": imdb.keras_cache_path(), "npz": config.imdb_path, "csv": config.imdb_csv}[source]
    return (source, path.strip(), file_stamp(path), config.vocab_size, config.seq_len, config.samples,
            config.eval_samples, config.seed)


def file_stamp(path: str) -> tuple[int, int] | None:
    """(modification time in ns, size in bytes) of a file, or None if there is none."""
    try:
        status = os.stat(os.path.expanduser(path.strip()))
    except (OSError, ValueError):
        return None
    return status.st_mtime_ns, status.st_size


def save_upload(data: bytes, name: str, folder: str) -> str:
    """Write an uploaded file into `folder` and return its path; the same content always gets the same path.

    The name keeps the learner's file name (made safe) after a hash of the content, so the run record names a file
    a person recognises, and uploading the same file again does not make a second copy.
    """
    os.makedirs(folder, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name or "reviews.csv")).strip("._") or "reviews.csv"
    path = os.path.join(folder, f"{hashlib.sha256(data).hexdigest()[:12]}-{stem}")
    if not os.path.exists(path):
        with open(path, "wb") as handle:
            handle.write(data)
    return path


# --- What a trained model says about the test reviews ----------------------------------------------------------


def predict_probabilities(model: keras.Model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """P(positive) `(reviews,)` for encoded reviews `(reviews, seq_len)`."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32).reshape(len(x))


def confusion_matrix(labels: np.ndarray, probabilities: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Counts `(2, 2)`: rows the true class (0 negative, 1 positive), columns the predicted one.

    A review is predicted positive when its probability is strictly above `threshold`, as Keras's accuracy counts
    it, so the diagonal over the total equals the test accuracy Keras reports.
    """
    truth = np.asarray(labels).astype(np.int64).ravel()
    guessed = (np.asarray(probabilities).ravel() > threshold).astype(np.int64)
    if truth.shape != guessed.shape:
        raise ValueError(f"{truth.size} labels but {guessed.size} probabilities; give one of each per review.")
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (truth, guessed), 1)
    return matrix


def review_table(dataset: Dataset, probabilities: np.ndarray, threshold: float = THRESHOLD) -> pd.DataFrame:
    """One row per test review: its words as the model reads them, the truth, P(positive), the verdict, and
    whether the verdict is right."""
    if len(probabilities) != len(dataset.x_test):
        raise ValueError(f"{len(probabilities)} probabilities for {len(dataset.x_test)} test reviews; predict on "
                         "dataset.x_test.")
    names = np.array(dataset.class_names or imdb.CLASS_NAMES)
    truth = np.asarray(dataset.y_test).astype(np.int64)
    guessed = (np.asarray(probabilities) > threshold).astype(np.int64)
    return pd.DataFrame({
        "review": [imdb.decode_review(tokens, dataset) for tokens in dataset.x_test],
        "truth": names[truth],
        "P(positive)": np.asarray(probabilities, dtype=np.float64),
        "verdict": names[guessed],
        "correct": truth == guessed,
    })


# --- What the model does with a learner's own review -----------------------------------------------------------


@dataclass
class WordTrace:
    """One review read by one model, word by word.

    `probabilities[k]` is the model's verdict on the review's first k+1 words alone (`imdb.prefix_probabilities`);
    `gates[layer][direction][gate]` is `(words, units)`: the gate values at each word while the model reads the
    whole review (`rnnlab.introspect.trace`, padding positions dropped).
    """

    words: list[str]
    probabilities: np.ndarray  # (words,)
    gates: dict[str, dict[str, dict[str, np.ndarray]]]

    @property
    def probability(self) -> float:
        """P(positive) for the whole review: the last prefix is the review itself."""
        return float(self.probabilities[-1])


def word_trace(model: keras.Model, dataset: Dataset, text: str) -> WordTrace:
    """Encode `text` as `dataset`'s reviews were, and read it with `model`; `ImdbDataError` if it has no words."""
    tokens = imdb.encode_review(text, dataset)  # (1, seq_len), padding first
    words = imdb.review_words(text, dataset)
    probabilities = imdb.prefix_probabilities(model, tokens)  # (words,)
    count = len(words)
    gates = {layer: {direction: {gate: values[0, -count:, :] for gate, values in by_gate.items()}  # (words, units)
                     for direction, by_gate in by_direction.items()}
             for layer, by_direction in trace(model, tokens).items()}
    return WordTrace(words=words, probabilities=probabilities, gates=gates)


def first_gate(cell: str, gates: list[str]) -> str:
    """The gate to show first for `cell`, among the `gates` a trace holds."""
    return next((gate for gate in FIRST_GATES.get(cell, ()) if gate in gates), gates[0])
