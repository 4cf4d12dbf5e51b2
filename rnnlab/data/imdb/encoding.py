"""Encoding a review: a learner's text as the token ids the reviews were encoded with, and ids back as words.

    tokens = encode_review("Not bad at all.", dataset)   # (1, seq_len), exactly as the reviews were encoded
    review_words("Not bad at all.", dataset)              # ['not', 'bad', 'at', 'all']
    decode_review(dataset.x_test[0], dataset)             # a test review as text, padding dropped

Keras sources' vocabularies start with ("", "[START]", "[UNK]") and are the Keras word list shifted by 3
(`keras_vocabulary`); CSV sources' start with ("", "[UNK]") and are what `TextVectorization` learned.
"""

from __future__ import annotations

import functools
import re

import keras
import numpy as np

from rnnlab.data.base import Dataset
from rnnlab.data.imdb.base import (KERAS_INDEX_FROM, KERAS_OOV_ID, KERAS_START_ID, OOV, PAD, START, WORD_INDEX_FILE,
                                   ImdbDataError)

# HTML tags such as the `<br />` line breaks the reviews were scraped with; they are markup, not words.
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*\s*/?\s*>")


# The Keras word list keeps apostrophes inside words ("don't", "everyone's") and drops other punctuation.
_KERAS_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def encode_review(text: str, dataset: Dataset) -> np.ndarray:
    """`text` as int32 ids `(1, seq_len)`, encoded exactly as `dataset`'s reviews were (words, ids, padding)."""
    if not isinstance(text, str) or not re.search(r"\w", strip_html(text)):
        raise ImdbDataError("The review has no words; type a sentence or two.")
    vocabulary = _vocabulary(dataset)
    if vocabulary[1] == START:
        word_ids = _keras_word_ids(vocabulary)
        if not word_ids:
            raise ImdbDataError("This dataset has no word list (its vocabulary shows ids as #123), so text cannot "
                                f"be encoded; put Keras's {WORD_INDEX_FILE} next to imdb.npz.")
        # Words missing from the Keras word list become "unknown", like words beyond the vocabulary size.
        words = _KERAS_WORD.findall(strip_html(text).lower())
        ids = [KERAS_START_ID] + [word_ids.get(word, KERAS_OOV_ID) for word in words]
    else:
        ids = vectorize(_text_vectorizer(vocabulary), np.array([strip_html(text)], dtype=object))[0]
    return pad_reviews([ids], dataset.seq_len)  # (1, seq_len)


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


def one_review(tokens: np.ndarray) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim == 2 and tokens.shape[0] == 1:
        tokens = tokens[0]
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu" or (tokens.size and tokens.min() < 0):
        raise ImdbDataError(f"Expected one encoded review of token ids, shape (seq_len,) or (1, seq_len), not an "
                            f"array of shape {tokens.shape} and type {tokens.dtype}.")
    return tokens.astype(np.int64)


def keras_ids(review, vocab_size: int, raw: bool, row: int, name: str, source: str) -> np.ndarray:
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


def keras_vocabulary(word_index: dict | None, vocab_size: int) -> tuple[str, ...]:
    # Ids without a word (id 3, which no rank maps to, or every id when the word list is missing) show as "#id".
    vocabulary = [PAD, START, OOV] + [f"#{index}" for index in range(KERAS_INDEX_FROM, vocab_size)]
    for word, rank in (word_index or {}).items():
        index = rank + KERAS_INDEX_FROM
        if index < vocab_size and vocabulary[index] == f"#{index}":
            vocabulary[index] = word
    return tuple(vocabulary)


def strip_html(text: str) -> str:
    return HTML_TAG.sub(" ", text)


def pad_reviews(reviews: list, seq_len: int) -> np.ndarray:
    # Pad and cut at the front, as the Keras IMDB example does: the last words, nearest the verdict, are kept,
    # and a recurrent layer reads the padding first and the words last.
    return keras.utils.pad_sequences(reviews, maxlen=seq_len, dtype="int32", padding="pre", truncating="pre",
                                     value=0)  # (reviews, seq_len)


def vectorize(vectorizer: keras.layers.TextVectorization, texts: np.ndarray) -> list[np.ndarray]:
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
