"""Where the IMDB reviews come from: Keras's download, a local imdb.npz, or a CSV of raw reviews.

`load_dataset(config)` reads real reviews labelled positive or negative (Maas et al. 2011) from the first source
that is set, in this order:

1. `config.imdb_csv`: a CSV of raw reviews with a review column and a sentiment column (the layout of the widely
   shared 50,000-review file; `positive`/`negative` or `1`/`0`). Words are found by Keras's `TextVectorization`,
   whose vocabulary is learned from the training split only.
2. `config.imdb_path`, else the environment variable `RNNLAB_IMDB_PATH`: a local `imdb.npz` laid out as Keras
   caches it (raw word ranks; `load_data` adds the start token 1 and shifts words by 3, as done here). Words come
   from an `imdb_word_index.json` in the same folder; without one, words show as their ids ("#123").
3. Otherwise `keras.datasets.imdb.load_data`, which downloads once and caches under `~/.keras/datasets/`.

    dataset = load_reviews(config, "csv")        # one source only, as the page picks it
    texts, labels = read_reviews_csv("reviews.csv")
    source_of(config), data_key(config, "npz")

Every source gives int32 token ids `(reviews, seq_len)`, padded and truncated at the front as in the Keras IMDB
example (0 is padding; the end of a long review is kept), and float32 labels `(reviews,)` with 1 = positive.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import zipfile

import keras
import numpy as np
import pandas as pd

from rnnlab import settings
from rnnlab.config import RunConfig
from rnnlab.data import files
from rnnlab.data.base import Dataset, baseline_loss
from rnnlab.data.imdb.base import (CLASS_NAMES, DESCRIPTION, ENV_VAR, KERAS_INDEX_FROM, KERAS_START_ID,
                                   OFFLINE_WAYS_OUT, TITLE, WORD_INDEX_FILE, ImdbDataError, ImdbOffline, counted,
                                   local_npz_path, one_line, shorten, shown)
from rnnlab.data.imdb.encoding import keras_ids, keras_vocabulary, pad_reviews, strip_html, vectorize
from rnnlab.settings import MB

# Column names accepted in a reviews CSV, compared without case or surrounding spaces.
REVIEW_COLUMNS = ("review", "text", "reviews", "review_text", "content", "sentence")


SENTIMENT_COLUMNS = ("sentiment", "label", "labels", "polarity", "target", "class")


POSITIVE_LABELS = frozenset({"positive", "pos", "1", "1.0", "true"})


NEGATIVE_LABELS = frozenset({"negative", "neg", "0", "0.0", "false"})


COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")  # pandas reads these; they are binary on disk


# Where the reviews can come from, as the page offers them.
SOURCES = {
    "keras": "Keras's IMDB (downloaded once, then cached)",
    "npz": "A local imdb.npz",
    "csv": "A CSV of raw reviews",
}


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
    local_path = local_npz_path(config)
    if local_path:
        return _dataset_from_npz(config, local_path)
    if source == "npz":
        raise ImdbDataError(f"Give the path of a Keras-layout imdb.npz file (or set {ENV_VAR}).")
    return _dataset_from_keras(config)


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


def source_of(config: RunConfig) -> str:
    """Which source a configuration names: its CSV, else its npz (or $RNNLAB_IMDB_PATH), else Keras's download."""
    if config.imdb_csv.strip():
        return "csv"
    if local_npz_path(config):
        return "npz"
    return "keras"


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


def keras_cached() -> bool:
    """Whether Keras's imdb.npz is already in the Keras cache, so choosing Keras's IMDB needs no download."""
    return os.path.isfile(keras_cache_path())


def keras_cache_path(name: str = "imdb.npz") -> str:
    """Where `keras.datasets.imdb` caches `name`: `$KERAS_HOME/datasets/`, else `~/.keras/datasets/`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = "/tmp/.keras"  # Keras falls back here when the home folder is read-only
    return os.path.join(home, "datasets", name)


def data_key(config: RunConfig, source: str) -> tuple:
    """What decides the `Dataset` `load_reviews(config, source)` returns, including the data file's stamp, so a
    cache keyed by it reloads when the file changes."""
    path = {"keras": keras_cache_path(), "npz": config.imdb_path, "csv": config.imdb_csv}[source]
    return (source, path.strip(), files.file_stamp(path), config.vocab_size, config.seq_len, config.samples,
            config.eval_samples, config.seed)


def read_reviews_csv(path: str) -> tuple[list[str], np.ndarray]:
    """The review texts (HTML tags removed) and their labels (int8, 1 = positive) from a raw-text reviews CSV."""
    path = files.resolve(path)  # an upload's name or a data-folder file on a server; one refusal sentence else
    if not os.path.exists(path):
        raise ImdbDataError(f"There is no reviews CSV at {shown(path)}; check the path, or clear the setting to use the "
                            "Keras IMDB data.")
    if os.path.isdir(path):
        raise ImdbDataError(f"{shown(path)} is a folder, not a CSV file; give the path of the reviews CSV inside it.")
    if os.path.getsize(path) == 0:
        raise ImdbDataError(f"The reviews CSV {shown(path)} is empty; it needs a header line and one review per row.")
    if not path.lower().endswith(COMPRESSED_SUFFIXES):
        with open(path, "rb") as handle:
            if b"\x00" in handle.read(8192):  # text files never contain zero bytes; binary files nearly always do
                raise ImdbDataError(f"{shown(path)} is not a text CSV file (it contains binary data); give a CSV with "
                                    "review and sentiment columns.")
    try:
        # Only empty fields are missing: a review that says "NA" or "null" is still text. "utf-8-sig" also reads
        # the byte-order mark that spreadsheet programs put before the first column's name.
        table = files.read_csv(path, f"The reviews CSV {shown(path)}", ImdbDataError, keep_default_na=False,
                               na_values=[""], encoding="utf-8-sig", encoding_errors="replace", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ImdbDataError(f"The reviews CSV {shown(path)} is empty; it needs a header line and one review per "
                            "row.") from None
    except pd.errors.ParserError as error:
        reason = " ".join(str(error).split())
        raise ImdbDataError(f"{shown(path)} could not be read as a CSV ({reason}); check that it is a comma-separated "
                            "file with quoted reviews.") from error
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
        reason = " ".join(str(error).split())
        raise ImdbDataError(f"{shown(path)} could not be read as a CSV ({reason}); give an uncompressed or intact "
                            "CSV file.") from error
    review_column = _find_column(table, REVIEW_COLUMNS, "review", path)
    sentiment_column = _find_column(table, SENTIMENT_COLUMNS, "sentiment", path)
    if len(table) == 0:
        raise ImdbDataError(f"The reviews CSV {shown(path)} has a header but no reviews; add one review per row.")
    reviews = table[review_column]
    # A column of empty cells reads as NaN, a number: that is "empty", said below, not "holds numbers".
    if reviews.notna().any() and (pd.api.types.is_numeric_dtype(reviews) or pd.api.types.is_bool_dtype(reviews)):
        raise ImdbDataError(f"The review column {review_column!r} of {shown(path)} holds numbers, not text; it must hold "
                            "the review texts.")
    texts = [strip_html(str(text)) if not pd.isna(text) else "" for text in reviews]
    empty = [row for row, text in enumerate(texts, start=1) if not re.search(r"\w", text)]
    if empty:
        raise ImdbDataError(f"{counted(len(empty), 'review')} in {shown(path)} {'is' if len(empty) == 1 else 'are'} empty "
                            f"(first at data row {empty[0]}); remove those rows or fill them in.")
    return texts, _labels(table[sentiment_column], sentiment_column, path)


def _find_column(table: pd.DataFrame, candidates: tuple[str, ...], role: str, path: str) -> str:
    by_name = {}
    for column in table.columns:
        by_name.setdefault(str(column).strip().lower(), column)
    for name in candidates:
        if name in by_name:
            return by_name[name]
    found = ", ".join(repr(shorten(str(column))) for column in table.columns[:8])
    raise ImdbDataError(f"The reviews CSV {shown(path)} has no {role} column (columns found: {found}); its first line "
                        f"must name the columns, with the {role} column called {candidates[0]!r} or "
                        f"{candidates[1]!r}.")


def _labels(column: pd.Series, name: str, path: str) -> np.ndarray:
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise ImdbDataError(f"{counted(missing.size, 'row')} of {shown(path)} {'has' if missing.size == 1 else 'have'} no "
                            f"{name} label (first at data row {missing[0] + 1}); fill them in or remove them.")
    labels = column.astype(str).str.strip().str.lower()
    counts = labels.value_counts()
    unknown = [value for value in counts.index if value not in POSITIVE_LABELS | NEGATIVE_LABELS]
    if unknown:
        found = ", ".join(f"{shorten(value)!r} ({count:,})" for value, count in counts.head(6).items())
        raise ImdbDataError(f"The {name} column of {shown(path)} must hold exactly two classes, positive/negative or 1/0, "
                            f"but it holds {len(counts)} different values: {found}; keep only positive and "
                            "negative reviews.")
    positive = labels.isin(POSITIVE_LABELS).to_numpy()
    if positive.all() or not positive.any():
        only = "positive" if positive.all() else "negative"
        raise ImdbDataError(f"The {name} column of {shown(path)} holds only {only} reviews; a sentiment classifier needs "
                            "both positive and negative ones.")
    return positive.astype(np.int8)


def _dataset_from_csv(config: RunConfig) -> Dataset:
    path = files.resolve(config.imdb_csv)
    texts, labels = read_reviews_csv(path)
    _check_counts(len(texts), len(texts), config, f"The reviews CSV {shown(path)}", shared=True)
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
        return pad_reviews(vectorize(vectorizer, texts_array[rows]), config.seq_len), labels[rows].astype(np.float32)

    x_train, y_train = split(train_rows)  # (samples, seq_len), (samples,)
    x_val, y_val = split(val_rows)  # (eval_samples, seq_len), (eval_samples,)
    x_test, y_test = split(test_rows)
    return _dataset(x_train, y_train, x_val, y_val, x_test, y_test, vocabulary, f"CSV {shown(path)}, {len(texts):,} reviews")


def _dataset_from_npz(config: RunConfig, path: str) -> Dataset:
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise ImdbDataError(f"There is no imdb.npz at {shown(path)}; check the path (setting imdb_path, --imdb-path or "
                            f"{ENV_VAR}), or clear it to download the Keras IMDB data.")
    arrays = _read_npz(path)
    raw = not _looks_shifted([*arrays["x_train"], *arrays["x_test"]])
    word_index_path = os.path.join(os.path.dirname(path), WORD_INDEX_FILE)
    word_index = _read_word_index(word_index_path) if os.path.isfile(word_index_path) else None
    words = (f"words from {WORD_INDEX_FILE}" if word_index is not None
             else f"no {WORD_INDEX_FILE} beside it, so words show as #ids")
    layout = "" if raw else ", already shifted as load_data returns it"
    return _dataset_from_keras_arrays(config, arrays, word_index, f"local file {shown(path)} ({words}{layout})", raw=raw)


def _dataset_from_keras(config: RunConfig) -> Dataset:
    cache = keras_cache_path()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=config.vocab_size)
    except Exception as error:  # Keras's downloader raises a bare `Exception("URL fetch failure ...")` offline
        if os.path.exists(cache):
            raise ImdbDataError(f"The cached Keras IMDB file {cache} could not be read ({one_line(error)}); delete "
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
        path = files.resolve(config.imdb_csv)
        texts, _ = read_reviews_csv(path)
        return texts, f"CSV {shown(path)}, {len(texts):,} reviews"
    if source == "npz":
        path = os.path.abspath(os.path.expanduser(local_npz_path(config)))
        if not os.path.isfile(path):
            raise ImdbDataError(f"There is no imdb.npz at {shown(path)}; check the path (setting imdb_path, "
                                f"--imdb-path or {ENV_VAR}).")
        arrays = _read_npz(path)
        word_index_path = os.path.join(os.path.dirname(path), WORD_INDEX_FILE)
        if not os.path.isfile(word_index_path):
            raise ImdbDataError(f"Reading {shown(path)} as text needs its words: put Keras's {WORD_INDEX_FILE} in "
                                "the same folder, or use a CSV of raw reviews.")
        word_index = _read_word_index(word_index_path)
        raw = not _looks_shifted([*arrays["x_train"], *arrays["x_test"]])
        what = f"local file {shown(path)}"
    else:
        cache = keras_cache_path()
        try:
            (x_train, _), (x_test, _) = keras.datasets.imdb.load_data()
            word_index = keras.datasets.imdb.get_word_index()
        except Exception as error:  # Keras's downloader raises a bare `Exception("URL fetch failure ...")` offline
            if os.path.exists(cache) and os.path.exists(keras_cache_path(WORD_INDEX_FILE)):
                raise ImdbDataError(f"The cached Keras IMDB files in {os.path.dirname(cache)} could not be read "
                                    f"({one_line(error)}); delete them to download them again.") from error
            missing = cache if not os.path.exists(cache) else keras_cache_path(WORD_INDEX_FILE)
            raise ImdbOffline("The IMDB reviews and their word list", missing, OFFLINE_WAYS_OUT) from error
        arrays, raw, what = {"x_train": x_train, "x_test": x_test}, False, f"Keras IMDB cache ({cache})"
    words = {rank + (0 if raw else KERAS_INDEX_FROM): word for word, rank in word_index.items()}
    texts = []
    for name in ("x_train", "x_test"):
        for row, review in enumerate(arrays[name]):
            ids = keras_ids(review, np.iinfo(np.int64).max, raw=False, row=row, name=name, source=what)
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
        reviews = [keras_ids(x_all[row], config.vocab_size, raw, row, name, source) for row in rows]
        return pad_reviews(reviews, config.seq_len), y_all[rows].astype(np.float32)

    x_train, y_train = split(x_train_all, y_train_all, train_rows, "x_train")  # (samples, seq_len), (samples,)
    x_val, y_val = split(x_train_all, y_train_all, val_rows, "x_train")  # (eval_samples, seq_len)
    x_test, y_test = split(x_test_all, y_test_all, test_rows, "x_test")  # (eval_samples, seq_len)
    vocabulary = keras_vocabulary(word_index, config.vocab_size)
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


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        arrays = _load_npz_safely(path)
    except zipfile.BadZipFile:
        raise ImdbDataError(f"{shown(path)} is not an .npz archive; give Keras's imdb.npz (x_train, y_train, x_test, "
                            "y_test).") from None
    except (pickle.UnpicklingError, ValueError, EOFError, OSError) as error:
        raise ImdbDataError(f"{shown(path)} could not be read as Keras's imdb.npz ({one_line(error)}); download a fresh "
                            "copy.") from error
    missing = [key for key in ("x_train", "y_train", "x_test", "y_test") if key not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "none"
        raise ImdbDataError(f"{shown(path)} has no {missing[0]} array (arrays found: {found}); it must hold x_train, "
                            "y_train, x_test and y_test like Keras's imdb.npz.")
    for key in ("x_train", "x_test"):
        if np.ndim(arrays[key]) == 0:
            raise ImdbDataError(f"{key} in {shown(path)} is a single value, not a list of reviews; give Keras's imdb.npz, "
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


# Keras's imdb.npz holds four arrays; an archive of many more is not one, and each member costs a read.
_MAX_NPZ_ARRAYS = 16


def _load_npz_safely(path: str) -> dict[str, np.ndarray]:
    """The arrays of the .npz at `path`, read at most RNNLAB_MAX_UNPACKED_MB in all once unpacked: a deflated
    archive of a few KB cannot become gigabytes in the process reading it (Keras's own imdb.npz is 17 MB)."""
    limit = int(settings.current().max_unpacked_mb * MB)
    left, arrays = limit, {}
    with zipfile.ZipFile(path) as archive:
        members = [member for member in archive.namelist() if member.endswith(".npy")]
        if len(members) > _MAX_NPZ_ARRAYS:
            raise ImdbDataError(f"{shown(path)} holds {len(members):,} arrays; Keras's imdb.npz holds four (x_train, "
                                "y_train, x_test, y_test). Give that file.")
        for member in members:
            with archive.open(member) as stream:
                data = stream.read(left + 1)  # never more than the limit in memory, whatever the member claims
            left -= len(data)
            if left < 0:
                raise ImdbDataError(f"{shown(path)} holds more than {limit / MB:,.0f} MB once unpacked, more than RNN "
                                    "Lab reads (RNNLAB_MAX_UNPACKED_MB); give Keras's imdb.npz or a part of it.")
            buffer = io.BytesIO(data)
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
        raise ImdbDataError(f"The word list {shown(path)} is not valid JSON ({one_line(error)}); replace it with Keras's "
                            f"{WORD_INDEX_FILE} or delete it to show words as #ids.") from error
    if not isinstance(word_index, dict) or not all(
            isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 for rank in word_index.values()):
        raise ImdbDataError(f"The word list {shown(path)} must map each word to its positive frequency rank, as Keras's "
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
