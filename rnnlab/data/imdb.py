"""IMDB movie reviews as a task: where the reviews come from, sizes that fit them, and encoding a learner's review.

`load_dataset(config)` reads real reviews labelled positive or negative (Maas et al. 2011) from the first source
that is set, in this order:

1. `config.imdb_csv`: a CSV of raw reviews with a review column and a sentiment column (the layout of the widely
   shared 50,000-review file; `positive`/`negative` or `1`/`0`). Words are found by Keras's `TextVectorization`,
   whose vocabulary is learned from the training split only.
2. `config.imdb_path`, else the environment variable `RNNLAB_IMDB_PATH`: a local `imdb.npz` laid out as Keras
   caches it (raw word ranks; `load_data` adds the start token 1 and shifts words by 3, as done here). Words come
   from an `imdb_word_index.json` in the same folder; without one, words show as their ids ("#123").
3. Otherwise `keras.datasets.imdb.load_data`, which downloads once and caches under `~/.keras/datasets/`.

Every source gives int32 token ids `(reviews, seq_len)`, padded and truncated at the front as in the Keras IMDB
example (0 is padding; the end of a long review is kept), and float32 labels `(reviews,)` with 1 = positive.
`dataset.vocabulary` maps id -> word and also tells the helpers how the reviews were encoded: Keras sources start
with ("", "[START]", "[UNK]"), CSV sources with ("", "[UNK]").

    config, note = fit_to_source(defaults_for_task("imdb").replace(imdb_csv="reviews.csv"), "csv", "reviews.csv")
    dataset = load_reviews(config, "csv")        # note: "This CSV has 2,500 reviews ... training on 1,500 ..."
    tokens = encode_review("Not bad at all.", dataset)   # (1, seq_len), exactly as the reviews were encoded
    review_words("Not bad at all.", dataset)              # ['not', 'bad', 'at', 'all']

What a trained model says about reviews lives in `rnnlab.sentiment`. Every data problem raises `ImdbDataError` (a
`DataError`) with one sentence saying what is wrong and what to do.
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import re
import zipfile

import keras
import numpy as np
import pandas as pd

from rnnlab.budget import Shape
from rnnlab.config import RunConfig, field_info
from rnnlab.data import files
from rnnlab.data.base import DataError, Dataset, DownloadUnavailable, Task, baseline_loss

ENV_VAR = "RNNLAB_IMDB_PATH"  # a local imdb.npz to use when the configuration names none
WORD_INDEX_FILE = "imdb_word_index.json"  # Keras caches the word list under this name, next to imdb.npz
CLASS_NAMES = ("negative", "positive")  # label 0, label 1
TITLE = "IMDB sentiment"
DESCRIPTION = ("Read a movie review word by word and say whether it is positive or negative "
               "(IMDB reviews, Maas et al. 2011).")

# Reserved vocabulary entries. Id 0 is padding in every source; the Keras data also reserves 1 for the start of a
# review and 2 for words outside the vocabulary, and `TextVectorization` uses 1 for those.
PAD = ""
START = "[START]"
OOV = "[UNK]"
KERAS_START_ID, KERAS_OOV_ID, KERAS_INDEX_FROM = 1, 2, 3

# Column names accepted in a reviews CSV, compared without case or surrounding spaces.
REVIEW_COLUMNS = ("review", "text", "reviews", "review_text", "content", "sentence")
SENTIMENT_COLUMNS = ("sentiment", "label", "labels", "polarity", "target", "class")
POSITIVE_LABELS = frozenset({"positive", "pos", "1", "1.0", "true"})
NEGATIVE_LABELS = frozenset({"negative", "neg", "0", "0.0", "false"})
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")  # pandas reads these; they are binary on disk

# HTML tags such as the `<br />` line breaks the reviews were scraped with; they are markup, not words.
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*\s*/?\s*>")
# The Keras word list keeps apostrophes inside words ("don't", "everyone's") and drops other punctuation.
_KERAS_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


class ImdbDataError(DataError):
    """The IMDB reviews could not be read or do not fit the request; the message says what to do."""


class ImdbOffline(DownloadUnavailable, ImdbDataError):
    """Keras's IMDB download failed and nothing is cached: a `DownloadUnavailable` that is also an IMDB data error."""


# Where else the reviews can come from, said where the learner reads an offline message.
OFFLINE_WAYS_OUT = {
    "python": f"set imdb_path to a local imdb.npz (or {ENV_VAR}) or imdb_csv to a CSV of raw reviews",
    "cli": f"pass --imdb-path FILE (a local imdb.npz; or set {ENV_VAR}) or --imdb-csv FILE (a CSV of raw reviews)",
    "app": "choose “A local imdb.npz” or “A CSV of raw reviews” above",
}


# --- Loading ---------------------------------------------------------------------------------------------------


def load_dataset(config: RunConfig, source: str | None = None) -> Dataset:
    """Training, validation and test reviews for `config`, from the CSV, the local npz, or the Keras download.

    By default the first source that is set wins: `imdb_csv`, then `imdb_path` (or $RNNLAB_IMDB_PATH), then Keras.
    `source` ("csv", "npz" or "keras") asks for one source only, as when a learner picks Keras's data on the page
    while the environment variable names a local file.
    """
    if source == "keras":
        return _dataset_from_keras(config)
    if source == "csv" or (source is None and config.imdb_csv.strip()):
        return _dataset_from_csv(config)
    local_path = config.imdb_path.strip() or os.environ.get(ENV_VAR, "").strip()
    if local_path:
        return _dataset_from_npz(config, local_path)
    if source == "npz":
        raise ImdbDataError(f"Give the path of a Keras-layout imdb.npz file (or set {ENV_VAR}).")
    return _dataset_from_keras(config)


def keras_cache_path(name: str = "imdb.npz") -> str:
    """Where `keras.datasets.imdb` caches `name`: `$KERAS_HOME/datasets/`, else `~/.keras/datasets/`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = "/tmp/.keras"  # Keras falls back here when the home folder is read-only
    return os.path.join(home, "datasets", name)


def read_reviews_csv(path: str) -> tuple[list[str], np.ndarray]:
    """The review texts (HTML tags removed) and their labels (int8, 1 = positive) from a raw-text reviews CSV."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise ImdbDataError(f"There is no reviews CSV at {_shown(path)}; check the path, or clear the setting to use the "
                            "Keras IMDB data.")
    if os.path.isdir(path):
        raise ImdbDataError(f"{_shown(path)} is a folder, not a CSV file; give the path of the reviews CSV inside it.")
    if os.path.getsize(path) == 0:
        raise ImdbDataError(f"The reviews CSV {_shown(path)} is empty; it needs a header line and one review per row.")
    if not path.lower().endswith(COMPRESSED_SUFFIXES):
        with open(path, "rb") as handle:
            if b"\x00" in handle.read(8192):  # text files never contain zero bytes; binary files nearly always do
                raise ImdbDataError(f"{_shown(path)} is not a text CSV file (it contains binary data); give a CSV with "
                                    "review and sentiment columns.")
    try:
        # Only empty fields are missing: a review that says "NA" or "null" is still text. "utf-8-sig" also reads
        # the byte-order mark that spreadsheet programs put before the first column's name.
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                            encoding_errors="replace", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ImdbDataError(f"The reviews CSV {_shown(path)} is empty; it needs a header line and one review per "
                            "row.") from None
    except pd.errors.ParserError as error:
        reason = " ".join(str(error).split())
        raise ImdbDataError(f"{_shown(path)} could not be read as a CSV ({reason}); check that it is a comma-separated "
                            "file with quoted reviews.") from error
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
        reason = " ".join(str(error).split())
        raise ImdbDataError(f"{_shown(path)} could not be read as a CSV ({reason}); give an uncompressed or intact "
                            "CSV file.") from error
    review_column = _find_column(table, REVIEW_COLUMNS, "review", path)
    sentiment_column = _find_column(table, SENTIMENT_COLUMNS, "sentiment", path)
    if len(table) == 0:
        raise ImdbDataError(f"The reviews CSV {_shown(path)} has a header but no reviews; add one review per row.")
    reviews = table[review_column]
    # A column of empty cells reads as NaN, a number: that is "empty", said below, not "holds numbers".
    if reviews.notna().any() and (pd.api.types.is_numeric_dtype(reviews) or pd.api.types.is_bool_dtype(reviews)):
        raise ImdbDataError(f"The review column {review_column!r} of {_shown(path)} holds numbers, not text; it must hold "
                            "the review texts.")
    texts = [_strip_html(str(text)) if not pd.isna(text) else "" for text in reviews]
    empty = [row for row, text in enumerate(texts, start=1) if not re.search(r"\w", text)]
    if empty:
        raise ImdbDataError(f"{_count(len(empty), 'review')} in {_shown(path)} {'is' if len(empty) == 1 else 'are'} empty "
                            f"(first at data row {empty[0]}); remove those rows or fill them in.")
    return texts, _labels(table[sentiment_column], sentiment_column, path)


def _find_column(table: pd.DataFrame, candidates: tuple[str, ...], role: str, path: str) -> str:
    by_name = {}
    for column in table.columns:
        by_name.setdefault(str(column).strip().lower(), column)
    for name in candidates:
        if name in by_name:
            return by_name[name]
    found = ", ".join(repr(_shorten(str(column))) for column in table.columns[:8])
    raise ImdbDataError(f"The reviews CSV {_shown(path)} has no {role} column (columns found: {found}); its first line "
                        f"must name the columns, with the {role} column called {candidates[0]!r} or "
                        f"{candidates[1]!r}.")


def _labels(column: pd.Series, name: str, path: str) -> np.ndarray:
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise ImdbDataError(f"{_count(missing.size, 'row')} of {_shown(path)} {'has' if missing.size == 1 else 'have'} no "
                            f"{name} label (first at data row {missing[0] + 1}); fill them in or remove them.")
    labels = column.astype(str).str.strip().str.lower()
    counts = labels.value_counts()
    unknown = [value for value in counts.index if value not in POSITIVE_LABELS | NEGATIVE_LABELS]
    if unknown:
        found = ", ".join(f"{_shorten(value)!r} ({count:,})" for value, count in counts.head(6).items())
        raise ImdbDataError(f"The {name} column of {_shown(path)} must hold exactly two classes, positive/negative or 1/0, "
                            f"but it holds {len(counts)} different values: {found}; keep only positive and "
                            "negative reviews.")
    positive = labels.isin(POSITIVE_LABELS).to_numpy()
    if positive.all() or not positive.any():
        only = "positive" if positive.all() else "negative"
        raise ImdbDataError(f"The {name} column of {_shown(path)} holds only {only} reviews; a sentiment classifier needs "
                            "both positive and negative ones.")
    return positive.astype(np.int8)


def _dataset_from_csv(config: RunConfig) -> Dataset:
    path = os.path.abspath(os.path.expanduser(config.imdb_csv.strip()))
    texts, labels = read_reviews_csv(path)
    _check_counts(len(texts), len(texts), config, f"The reviews CSV {_shown(path)}", shared=True)
    # One seeded shuffle; test and validation come first so they stay the same when only `samples` changes.
    order = np.random.default_rng(config.seed).permutation(len(texts))
    test_rows = order[:config.eval_samples]
    val_rows = order[config.eval_samples:2 * config.eval_samples]
    train_rows = order[2 * config.eval_samples:2 * config.eval_samples + config.samples]
    texts_array = np.array(texts, dtype=object)
    vectorizer = keras.layers.TextVectorization(max_tokens=config.vocab_size, ragged=True)
    vectorizer.adapt(texts_array[train_rows], batch_size=512)  # the vocabulary sees the training reviews only
    vocabulary = tuple(str(word) for word in vectorizer.get_vocabulary())  # ("", "[UNK]", most frequent, ...)

    def split(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _pad(_vectorize(vectorizer, texts_array[rows]), config.seq_len), labels[rows].astype(np.float32)

    x_train, y_train = split(train_rows)  # (samples, seq_len), (samples,)
    x_val, y_val = split(val_rows)  # (eval_samples, seq_len), (eval_samples,)
    x_test, y_test = split(test_rows)
    return _dataset(x_train, y_train, x_val, y_val, x_test, y_test, vocabulary, f"CSV {_shown(path)}, {len(texts):,} reviews")


def _dataset_from_npz(config: RunConfig, path: str) -> Dataset:
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise ImdbDataError(f"There is no imdb.npz at {_shown(path)}; check the path (setting imdb_path, --imdb-path or "
                            f"{ENV_VAR}), or clear it to download the Keras IMDB data.")
    arrays = _read_npz(path)
    raw = not _looks_shifted([*arrays["x_train"], *arrays["x_test"]])
    word_index_path = os.path.join(os.path.dirname(path), WORD_INDEX_FILE)
    word_index = _read_word_index(word_index_path) if os.path.isfile(word_index_path) else None
    words = (f"words from {WORD_INDEX_FILE}" if word_index is not None
             else f"no {WORD_INDEX_FILE} beside it, so words show as #ids")
    layout = "" if raw else ", already shifted as load_data returns it"
    return _dataset_from_keras_arrays(config, arrays, word_index, f"local file {_shown(path)} ({words}{layout})", raw=raw)


def _dataset_from_keras(config: RunConfig) -> Dataset:
    cache = keras_cache_path()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=config.vocab_size)
    except Exception as error:  # Keras's downloader raises a bare `Exception("URL fetch failure ...")` offline
        if os.path.exists(cache):
            raise ImdbDataError(f"The cached Keras IMDB file {cache} could not be read ({_reason(error)}); delete "
                                "it to download it again, or use a local copy instead.") from error
        raise ImdbOffline("The IMDB reviews", cache, OFFLINE_WAYS_OUT) from error
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    try:
        word_index = keras.datasets.imdb.get_word_index()
        words = "words from imdb_word_index.json"
    except Exception:  # The reviews alone can train a model; only their display needs the word list.
        word_index = None
        words = "the word list could not be downloaded, so words show as #ids"
    return _dataset_from_keras_arrays(config, arrays, word_index, f"Keras IMDB cache ({cache}; {words})",
                                      raw=False)


def review_texts(config: RunConfig) -> tuple[list[str], str]:
    """Every review of the source `config` names (as `load_dataset` picks it) as text, labels dropped, and where
    they came from: for reading the reviews as running text (`rnnlab.data.text`).

    A CSV gives the reviews as written (HTML tags removed); Keras's data and a local npz give their words, lower-case
    and without punctuation, which needs the word list (`imdb_word_index.json`); reviews come in file order,
    training reviews first.
    """
    source = source_of(config)
    if source == "csv":
        path = os.path.abspath(os.path.expanduser(config.imdb_csv.strip()))
        texts, _ = read_reviews_csv(path)
        return texts, f"CSV {_shown(path)}, {len(texts):,} reviews"
    if source == "npz":
        path = os.path.abspath(os.path.expanduser(config.imdb_path.strip() or os.environ.get(ENV_VAR, "").strip()))
        if not os.path.isfile(path):
            raise ImdbDataError(f"There is no imdb.npz at {_shown(path)}; check the path (setting imdb_path, "
                                f"--imdb-path or {ENV_VAR}).")
        arrays = _read_npz(path)
        word_index_path = os.path.join(os.path.dirname(path), WORD_INDEX_FILE)
        if not os.path.isfile(word_index_path):
            raise ImdbDataError(f"Reading {_shown(path)} as text needs its words: put Keras's {WORD_INDEX_FILE} in "
                                "the same folder, or use a CSV of raw reviews.")
        word_index = _read_word_index(word_index_path)
        raw = not _looks_shifted([*arrays["x_train"], *arrays["x_test"]])
        what = f"local file {_shown(path)}"
    else:
        cache = keras_cache_path()
        try:
            (x_train, _), (x_test, _) = keras.datasets.imdb.load_data()
            word_index = keras.datasets.imdb.get_word_index()
        except Exception as error:  # Keras's downloader raises a bare `Exception("URL fetch failure ...")` offline
            if os.path.exists(cache) and os.path.exists(keras_cache_path(WORD_INDEX_FILE)):
                raise ImdbDataError(f"The cached Keras IMDB files in {os.path.dirname(cache)} could not be read "
                                    f"({_reason(error)}); delete them to download them again.") from error
            missing = cache if not os.path.exists(cache) else keras_cache_path(WORD_INDEX_FILE)
            raise ImdbOffline("The IMDB reviews and their word list", missing, OFFLINE_WAYS_OUT) from error
        arrays, raw, what = {"x_train": x_train, "x_test": x_test}, False, f"Keras IMDB cache ({cache})"
    words = {rank + (0 if raw else KERAS_INDEX_FROM): word for word, rank in word_index.items()}
    texts = []
    for name in ("x_train", "x_test"):
        for row, review in enumerate(arrays[name]):
            ids = _keras_ids(review, np.iinfo(np.int64).max, raw=False, row=row, name=name, source=what)
            texts.append(" ".join(words[token] for token in ids if token in words))
    return texts, f"{what}, {len(texts):,} reviews"


def _dataset_from_keras_arrays(config: RunConfig, arrays: dict[str, np.ndarray], word_index: dict | None,
                               source: str, raw: bool) -> Dataset:
    """Seeded subsets of Keras-layout reviews; `raw` says whether the ids still need load_data's shift by 3."""
    x_train_all, y_train_all = arrays["x_train"], _npz_labels(arrays["y_train"], "y_train", source)
    x_test_all, y_test_all = arrays["x_test"], _npz_labels(arrays["y_test"], "y_test", source)
    for x, y, name in ((x_train_all, y_train_all, "train"), (x_test_all, y_test_all, "test")):
        if len(x) != len(y):
            raise ImdbDataError(f"The IMDB data in {source} has {len(x):,} x_{name} reviews but {len(y):,} y_{name} "
                                "labels; each review needs exactly one label.")
    _check_counts(len(x_train_all), len(x_test_all), config, f"The IMDB data in {source}", shared=False)
    order = np.random.default_rng([config.seed, 0]).permutation(len(x_train_all))
    val_rows = order[:config.eval_samples]  # validation is held out of the training split, disjoint from training
    train_rows = order[config.eval_samples:config.eval_samples + config.samples]
    test_rows = np.random.default_rng([config.seed, 1]).permutation(len(x_test_all))[:config.eval_samples]

    def split(x_all: np.ndarray, y_all: np.ndarray, rows: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        reviews = [_keras_ids(x_all[row], config.vocab_size, raw, row, name, source) for row in rows]
        return _pad(reviews, config.seq_len), y_all[rows].astype(np.float32)

    x_train, y_train = split(x_train_all, y_train_all, train_rows, "x_train")  # (samples, seq_len), (samples,)
    x_val, y_val = split(x_train_all, y_train_all, val_rows, "x_train")  # (eval_samples, seq_len)
    x_test, y_test = split(x_test_all, y_test_all, test_rows, "x_test")  # (eval_samples, seq_len)
    vocabulary = _keras_vocabulary(word_index, config.vocab_size)
    return _dataset(x_train, y_train, x_val, y_val, x_test, y_test, vocabulary, source)


def _looks_shifted(reviews: list) -> bool:
    """Whether the reviews were saved from `load_data()` output rather than from Keras's raw file.

    Keras's own file holds raw word ranks; `load_data()` starts every review with the start token 1, which raw
    text never does (it would mean every review begins with "the").
    """
    try:
        return all(len(review) > 0 and int(review[0]) == KERAS_START_ID for review in reviews)
    except (TypeError, ValueError, IndexError):
        return False  # malformed reviews are reported, with their row, when they are read


def _keras_ids(review, vocab_size: int, raw: bool, row: int, name: str, source: str) -> np.ndarray:
    """One review as `load_data(num_words=vocab_size)` returns it: start token, words shifted by 3, rare -> OOV."""
    try:
        ids = np.asarray(review, dtype=np.int64)  # (words,)
    except (TypeError, ValueError):
        ids = None
    if ids is None or ids.ndim != 1 or (ids.size and ids.min() < (1 if raw else 0)):
        raise ImdbDataError(f"Review {row} of {name} in {source} is not a list of word ids; the file must hold "
                            "lists of positive integers, as Keras's imdb.npz does.")
    if raw:
        ids = np.concatenate([[KERAS_START_ID], ids + KERAS_INDEX_FROM])
    return np.where(ids < vocab_size, ids, KERAS_OOV_ID)


def _keras_vocabulary(word_index: dict | None, vocab_size: int) -> tuple[str, ...]:
    # Ids without a word (id 3, which no rank maps to, or every id when the word list is missing) show as "#id".
    vocabulary = [PAD, START, OOV] + [f"#{index}" for index in range(KERAS_INDEX_FROM, vocab_size)]
    for word, rank in (word_index or {}).items():
        index = rank + KERAS_INDEX_FROM
        if index < vocab_size and vocabulary[index] == f"#{index}":
            vocabulary[index] = word
    return tuple(vocabulary)


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        arrays = _load_npz_safely(path)
    except zipfile.BadZipFile:
        raise ImdbDataError(f"{_shown(path)} is not an .npz archive; give Keras's imdb.npz (x_train, y_train, x_test, "
                            "y_test).") from None
    except (pickle.UnpicklingError, ValueError, EOFError, OSError) as error:
        raise ImdbDataError(f"{_shown(path)} could not be read as Keras's imdb.npz ({_reason(error)}); download a fresh "
                            "copy.") from error
    missing = [key for key in ("x_train", "y_train", "x_test", "y_test") if key not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "none"
        raise ImdbDataError(f"{_shown(path)} has no {missing[0]} array (arrays found: {found}); it must hold x_train, "
                            "y_train, x_test and y_test like Keras's imdb.npz.")
    for key in ("x_train", "x_test"):
        if np.ndim(arrays[key]) == 0:
            raise ImdbDataError(f"{key} in {_shown(path)} is a single value, not a list of reviews; give Keras's imdb.npz, "
                                "which holds one list of word ids per review.")
    return arrays


# numpy rebuilds the ragged review arrays from a pickle stream; these are the only globals that stream may name, so
# a tampered file cannot run code (the same rule Keras's own loader applies).
_ALLOWED_PICKLE_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"),
                                     ("numpy.core.multiarray", "_reconstruct"),
                                     ("numpy._core.multiarray", "_reconstruct")})


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks to rebuild {module}.{name}, which is not an array")


def _load_npz_safely(path: str) -> dict[str, np.ndarray]:
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as stream:
                buffer = io.BytesIO(stream.read())
            try:
                array = np.lib.format.read_array(buffer, allow_pickle=False)  # numbers: no pickle at all
            except ValueError:  # an object array (the ragged reviews): rebuild it, allowing arrays only
                buffer.seek(0)
                version = np.lib.format.read_magic(buffer)
                if version == (1, 0):
                    np.lib.format.read_array_header_1_0(buffer)
                else:  # versions 2 and 3 share the header layout; 3 only changes its text encoding
                    np.lib.format.read_array_header_2_0(buffer)
                array = _ArraysOnlyUnpickler(buffer).load()
            arrays[member[:-len(".npy")]] = array
    return arrays


def _read_word_index(path: str) -> dict[str, int]:
    try:
        with open(path, encoding="utf-8") as handle:
            word_index = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImdbDataError(f"The word list {_shown(path)} is not valid JSON ({_reason(error)}); replace it with Keras's "
                            f"{WORD_INDEX_FILE} or delete it to show words as #ids.") from error
    if not isinstance(word_index, dict) or not all(
            isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 for rank in word_index.values()):
        raise ImdbDataError(f"The word list {_shown(path)} must map each word to its positive frequency rank, as Keras's "
                            f"{WORD_INDEX_FILE} does; replace it or delete it to show words as #ids.")
    return word_index


def _npz_labels(labels: np.ndarray, name: str, source: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "biuf" or not np.isin(labels, (0, 1)).all():
        raise ImdbDataError(f"{name} in {source} must be a list of 0/1 labels (1 = positive); check that the file "
                            "is Keras's imdb.npz.")
    return labels.astype(np.int8)


def _check_counts(train_available: int, test_available: int, config: RunConfig, what: str, shared: bool) -> None:
    """Refuse requests the data cannot fill, saying what to ask for instead."""
    if shared:  # training, validation and test all come from the same rows
        needed = config.samples + 2 * config.eval_samples
        if needed > train_available:
            most = train_available - 2 * config.eval_samples
            advice = (f"ask for at most {most:,} training reviews" if most >= 16
                      else f"ask for at most {train_available // 3:,} training and validation reviews each")
            raise ImdbDataError(f"{what} has {train_available:,} reviews, but {config.samples:,} training + "
                                f"{config.eval_samples:,} validation + {config.eval_samples:,} test = {needed:,} "
                                f"are needed; {advice}, or use a bigger file.")
        return
    needed = config.samples + config.eval_samples
    if needed > train_available:
        most = train_available - config.eval_samples
        advice = (f"ask for at most {most:,} training reviews" if most >= 16
                  else f"ask for at most {train_available // 2:,} training and validation reviews each")
        raise ImdbDataError(f"{what} has {train_available:,} training reviews, but {config.samples:,} training + "
                            f"{config.eval_samples:,} validation = {needed:,} are needed; {advice}.")
    if config.eval_samples > test_available:
        raise ImdbDataError(f"{what} has {test_available:,} test reviews, but {config.eval_samples:,} are needed; "
                            f"ask for at most {test_available:,} validation and test reviews.")


def _dataset(x_train, y_train, x_val, y_val, x_test, y_test, vocabulary, source) -> Dataset:
    baseline, baseline_description = baseline_loss("binary", y_train, y_val, len(CLASS_NAMES))
    return Dataset(task="imdb", title=TITLE, description=DESCRIPTION, kind="binary",
                   x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
                   baseline_loss=baseline, baseline_description=baseline_description,
                   class_names=CLASS_NAMES, vocabulary=vocabulary, source=source)


# --- Choosing a source, and sizes that fit it -------------------------------------------------------------------

# Where the reviews can come from, as the page offers them.
SOURCES = {
    "keras": "Keras's IMDB (downloaded once, then cached)",
    "npz": "A local imdb.npz",
    "csv": "A CSV of raw reviews",
}
# Keras's imdb.npz always holds these many training and test reviews (Maas et al. 2011).
KERAS_REVIEWS = (25_000, 25_000)
_SMALLEST = int(field_info("samples")["low"])  # RunConfig's smallest training and held-out sets
_SMALLEST_HELD_OUT = int(field_info("eval_samples")["low"])


def keras_cached() -> bool:
    """Whether Keras's imdb.npz is already in the Keras cache, so choosing Keras's IMDB needs no download."""
    return os.path.isfile(keras_cache_path())


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
        return load_dataset(source_config(config, "keras"), source="keras")
    if source == "npz" and not config.imdb_path.strip():
        raise ImdbDataError("Give the path of a Keras-layout imdb.npz file.")
    if source == "csv" and not config.imdb_csv.strip():
        raise ImdbDataError("Upload a reviews CSV or give its path.")
    return load_dataset(source_config(config, source, config.imdb_path if source == "npz" else config.imdb_csv))


def available_reviews(source: str, path: str = "") -> tuple[int, int | None] | None:
    """How many reviews `source` holds: (training, test) for Keras layouts, (all, None) for a CSV, whose splits
    share one pool; None when a local npz cannot be counted cheaply (loading it then says what is wrong).

    A CSV is read in full (raising `ImdbDataError` if it is malformed); an npz only has its label arrays read.
    """
    if source == "keras":
        return KERAS_REVIEWS
    if source == "csv":
        texts, _ = read_reviews_csv(path.strip())
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
        raise ImdbDataError(f"{what}; at least {smallest} are needed ({_SMALLEST} training, "
                            f"{_SMALLEST_HELD_OUT} validation and {_SMALLEST_HELD_OUT} test); use a bigger file.")
    fitted = config.replace(samples=samples, eval_samples=held_out)
    return fitted, (f"{what}, too few for the {asked} asked for: training on {samples:,} reviews, with "
                    f"{held_out:,} for validation and {held_out:,} for the test.")


def fit_to_source(config: RunConfig, source: str, path: str = "") -> tuple[RunConfig, str | None]:
    """`fit_sizes` for whatever `source` holds (nothing to fit when it cannot be counted cheaply)."""
    available = available_reviews(source, path)
    if available is None:
        return config, None
    return fit_sizes(config, *available)


def data_key(config: RunConfig, source: str) -> tuple:
    """What decides the `Dataset` `load_reviews(config, source)` returns, including the data file's stamp, so a
    cache keyed by it reloads when the file changes."""
    path = {"keras": keras_cache_path(), "npz": config.imdb_path, "csv": config.imdb_csv}[source]
    return (source, path.strip(), files.file_stamp(path), config.vocab_size, config.seq_len, config.samples,
            config.eval_samples, config.seed)


def source_of(config: RunConfig) -> str:
    """Which source a configuration names: its CSV, else its npz (or $RNNLAB_IMDB_PATH), else Keras's download."""
    if config.imdb_csv.strip():
        return "csv"
    if config.imdb_path.strip() or os.environ.get(ENV_VAR, "").strip():
        return "npz"
    return "keras"


# --- Encoding a learner's review -------------------------------------------------------------------------------


def encode_review(text: str, dataset: Dataset) -> np.ndarray:
    """`text` as int32 ids `(1, seq_len)`, encoded exactly as `dataset`'s reviews were (words, ids, padding)."""
    if not isinstance(text, str) or not re.search(r"\w", _strip_html(text)):
        raise ImdbDataError("The review has no words; type a sentence or two.")
    vocabulary = _vocabulary(dataset)
    if vocabulary[1] == START:
        word_ids = _keras_word_ids(vocabulary)
        if not word_ids:
            raise ImdbDataError("This dataset has no word list (its vocabulary shows ids as #123), so text cannot "
                                f"be encoded; put Keras's {WORD_INDEX_FILE} next to imdb.npz.")
        # Words missing from the Keras word list become "unknown", like words beyond the vocabulary size.
        words = _KERAS_WORD.findall(_strip_html(text).lower())
        ids = [KERAS_START_ID] + [word_ids.get(word, KERAS_OOV_ID) for word in words]
    else:
        ids = _vectorize(_text_vectorizer(vocabulary), np.array([_strip_html(text)], dtype=object))[0]
    return _pad([ids], dataset.seq_len)  # (1, seq_len)


def review_words(text: str, dataset: Dataset) -> list[str]:
    """The words of `text` as the model sees them: standardized, unknown ones as "[UNK]", only the last seq_len.

    One entry per real (non-padding) token of `encode_review(text, dataset)`, including "[START]" for the Keras
    sources, so it lines up with `prefix_probabilities`.
    """
    tokens = encode_review(text, dataset)[0]
    return [dataset.vocabulary[token] for token in tokens if token != 0]


def decode_review(tokens: np.ndarray, dataset: Dataset) -> str:
    """One encoded review (`(seq_len,)` or `(1, seq_len)`) as text, padding dropped, for showing a test review."""
    tokens = one_review(tokens)
    vocabulary = _vocabulary(dataset)
    if tokens.size and tokens.max() >= len(vocabulary):
        raise ImdbDataError(f"Token {tokens.max()} is outside this dataset's vocabulary of {len(vocabulary):,} "
                            "words; decode with the dataset the review came from.")
    return " ".join(vocabulary[token] for token in tokens if token != 0)


# --- Shared pieces ---------------------------------------------------------------------------------------------


def _strip_html(text: str) -> str:
    return _HTML_TAG.sub(" ", text)


def _pad(reviews: list, seq_len: int) -> np.ndarray:
    # Pad and cut at the front, as the Keras IMDB example does: the last words, nearest the verdict, are kept,
    # and a recurrent layer reads the padding first and the words last.
    return keras.utils.pad_sequences(reviews, maxlen=seq_len, dtype="int32", padding="pre", truncating="pre",
                                     value=0)  # (reviews, seq_len)


def _vectorize(vectorizer: keras.layers.TextVectorization, texts: np.ndarray) -> list[np.ndarray]:
    """Each text's token ids, in batches so a large CSV never becomes one dense (reviews, longest) matrix."""
    reviews = []
    for start in range(0, len(texts), 1024):
        ragged = vectorizer(texts[start:start + 1024])  # (batch, None) ragged ids
        values = ragged.flat_values.numpy()
        reviews.extend(np.split(values, ragged.row_splits.numpy()[1:-1]))
    return reviews


@functools.lru_cache(maxsize=8)
def _text_vectorizer(vocabulary: tuple[str, ...]) -> keras.layers.TextVectorization:
    # The same layer class with the same vocabulary standardizes and splits text exactly as the CSV reviews were
    # (including its ASCII-only lower-casing), which a hand-written copy of its rules would not guarantee.
    return keras.layers.TextVectorization(vocabulary=list(vocabulary), ragged=True)


@functools.lru_cache(maxsize=8)
def _keras_word_ids(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {word: index for index, word in enumerate(vocabulary)
            if index >= KERAS_INDEX_FROM and word != f"#{index}"}


def _vocabulary(dataset: Dataset) -> tuple[str, ...]:
    vocabulary = dataset.vocabulary
    if not vocabulary or len(vocabulary) < 3 or vocabulary[0] != PAD or OOV not in vocabulary[1:3]:
        raise ImdbDataError("This dataset has no IMDB vocabulary; load it with rnnlab.imdb.load_dataset.")
    return tuple(vocabulary)


def one_review(tokens: np.ndarray) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim == 2 and tokens.shape[0] == 1:
        tokens = tokens[0]
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu" or (tokens.size and tokens.min() < 0):
        raise ImdbDataError(f"Expected one encoded review of token ids, shape (seq_len,) or (1, seq_len), not an "
                            f"array of shape {tokens.shape} and type {tokens.dtype}.")
    return tokens.astype(np.int64)


def _shorten(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _shown(path: str) -> str:
    """A data file as messages name it: never the server folder where an upload is kept."""
    return files.display_name(path)


def _reason(error: BaseException) -> str:
    """An exception's message on one line, for quoting inside a sentence."""
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


# --- The task ---------------------------------------------------------------------------------------------------

class ImdbTask(Task):
    """IMDB sentiment as a task of the registry: words in, positive or negative out."""

    name, title, description = "imdb", TITLE, DESCRIPTION
    kind, class_names, answer_chart = "binary", CLASS_NAMES, "confusion"
    items, steps = "reviews", "words"
    field_labels = {"seq_len": "Words kept per review", "samples": "Training reviews",
                    "eval_samples": "Validation and test reviews"}

    def make(self, config: RunConfig) -> Dataset:
        return load_dataset(config)

    def fit(self, config: RunConfig) -> tuple[RunConfig, str | None]:
        """Sizes that fit the file the configuration names (Keras's own data holds 25,000 + 25,000 reviews)."""
        source = source_of(config)
        path = {"csv": config.imdb_csv, "npz": config.imdb_path.strip() or os.environ.get(ENV_VAR, "")}.get(source, "")
        return fit_to_source(config, source, path)

    def budget_shape(self, config: RunConfig) -> Shape:
        return Shape.for_tokens(config, vocab=config.vocab_size)

    def step_labels(self, dataset: Dataset, sequence: np.ndarray) -> list[str]:
        """The word at each position of one encoded review (padding shows as "" and ids without a word as #id)."""
        vocabulary = dataset.vocabulary or ()
        return [vocabulary[int(token)] if int(token) < len(vocabulary) else f"#{int(token)}"
                for token in np.asarray(sequence).ravel()]

    def keras_input_code(self, config: RunConfig) -> list[str]:
        return ['keras.Input(shape=(SEQ_LEN,), dtype="int32")',
                f"keras.layers.Embedding(VOCAB_SIZE, {config.embedding_dim})"]

    def keras_data_code(self, config: RunConfig) -> str:
        return (
            "# IMDB reviews as word ids (downloads once to ~/.keras/datasets/), padded to SEQ_LEN words.\n"
            f"VOCAB_SIZE = {config.vocab_size}\n"
            "(x_all, y_all), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=VOCAB_SIZE)\n"
            "rng = np.random.default_rng(SEED)\n"
            "order = rng.permutation(len(x_all))\n"
            f"train, val = order[:{config.samples}], order[{config.samples}:{config.samples + config.eval_samples}]\n"
            "pad = lambda reviews: keras.utils.pad_sequences(reviews, maxlen=SEQ_LEN)\n"
            'x_train, y_train = pad(x_all[train]), y_all[train].astype("float32")\n'
            'x_val, y_val = pad(x_all[val]), y_all[val].astype("float32")')

    def r_input_code(self, config: RunConfig) -> list[str]:
        return ['keras_model_sequential(input_shape = c(SEQ_LEN), input_dtype = "int32")',
                f"layer_embedding(input_dim = VOCAB_SIZE, output_dim = {config.embedding_dim})"]

    def r_data_code(self, config: RunConfig) -> str:
        samples, held_out = config.samples, config.eval_samples
        return (
            "# IMDB reviews as word ids (downloads once to ~/.keras/datasets/), padded and cut at the front to\n"
            "# SEQ_LEN words. Training and validation reviews are drawn from Keras's 25,000 training reviews, as in\n"
            "# RNN Lab.\n"
            f"VOCAB_SIZE <- {config.vocab_size}L\n"
            "imdb <- dataset_imdb(num_words = VOCAB_SIZE)\n"
            "set.seed(SEED)\n"
            "shuffled <- sample.int(length(imdb$train$x))\n"
            f"train <- shuffled[seq_len({samples})]\n"
            f"val <- shuffled[{samples} + seq_len({held_out})]\n"
            "x_train <- pad_sequences(imdb$train$x[train], maxlen = SEQ_LEN)  # (reviews, SEQ_LEN) word ids\n"
            "y_train <- as.numeric(imdb$train$y[train])\n"
            "x_val <- pad_sequences(imdb$train$x[val], maxlen = SEQ_LEN)\n"
            "y_val <- as.numeric(imdb$train$y[val])")


TASK = ImdbTask()
