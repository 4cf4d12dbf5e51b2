"""What a trained sentiment model says: P(positive) for the test reviews, the table of reviews with their verdicts,
and a learner's own review read word by word.

Loading and encoding the reviews is `rnnlab.data.imdb`; figures of what is computed here live in
`rnnlab.plots.sentiment`. A notebook gets the same numbers the IMDB page draws:

    probabilities = predict_probabilities(model, dataset.x_test)   # (reviews,)
    confusion_matrix(dataset.y_test, probabilities)     # [[true neg, false pos], [false neg, true pos]]
    review_table(dataset, probabilities)                # test reviews as text, with the verdict and whether it is right
    word_trace(model, dataset, "Not bad at all.")       # P(positive) after each word, and the gates over the words

A review counts as positive when P(positive) is strictly above 0.5 (`rnnlab.data.BINARY_THRESHOLD`), as Keras's
accuracy counts it, so the counts here add up to the accuracy Keras reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from rnnlab.data import base
from rnnlab.data.base import Dataset
from rnnlab.data.imdb import OOV, START, ImdbDataError, decode_review, encode_review, one_review, review_words
from rnnlab.introspect.gates import trace

# What a learner should look at first in each cell: the gates that decide what the memory keeps.
FIRST_GATES = {"lstm": ("forget", "input"), "gru": ("update", "reset"), "simplernn": ("hidden",)}


def predict_probabilities(model: keras.Model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """P(positive) `(reviews,)` for encoded reviews `(reviews, seq_len)`."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32).reshape(len(x))


def is_positive(probabilities: np.ndarray) -> np.ndarray:
    """The verdict for each probability, by the one rule every page uses (strictly above 0.5 is positive)."""
    return base.predicted_classes("binary", np.asarray(probabilities).reshape(-1, 1)).astype(bool)


def confusion_matrix(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Counts `(2, 2)`: rows the true class (0 negative, 1 positive), columns the predicted one; the diagonal over
    the total equals the test accuracy Keras reports."""
    return base.confusion_matrix("binary", labels, np.asarray(probabilities).reshape(-1, 1), 2)


def review_table(dataset: Dataset, probabilities: np.ndarray) -> pd.DataFrame:
    """One row per test review: its words as the model reads them, the truth, P(positive), the verdict, and
    whether the verdict is right."""
    if len(probabilities) != len(dataset.x_test):
        raise ValueError(f"{len(probabilities)} probabilities for {len(dataset.x_test)} test reviews; predict on "
                         "dataset.x_test.")
    names = np.array(dataset.class_names)
    truth = np.asarray(dataset.y_test).astype(np.int64)
    guessed = is_positive(probabilities).astype(np.int64)
    return pd.DataFrame({
        "review": [decode_review(tokens, dataset) for tokens in dataset.x_test],
        "truth": names[truth],
        "P(positive)": np.asarray(probabilities, dtype=np.float64),
        "verdict": names[guessed],
        "correct": truth == guessed,
    })


# --- What the model does with a learner's own review -----------------------------------------------------------


@dataclass
class WordTrace:
    """One review read by one model, word by word.

    `probabilities[k]` is the model's verdict on the review's first k+1 words alone (`prefix_probabilities`);
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

    @property
    def verdict(self) -> str:
        return "positive" if is_positive(np.array([self.probability]))[0] else "negative"

    @property
    def known_words(self) -> int:
        """How many of the review's words the model has a vector for (not "[UNK]", not the start token)."""
        return sum(1 for word in self.words if word not in (OOV, START))


def word_trace(model: keras.Model, dataset: Dataset, text: str) -> WordTrace:
    """Encode `text` as `dataset`'s reviews were, and read it with `model`; `ImdbDataError` if it has no words."""
    tokens = encode_review(text, dataset)  # (1, seq_len), padding first
    words = review_words(text, dataset)
    probabilities = prefix_probabilities(model, tokens)  # (words,)
    count = len(words)
    gates = {layer: {direction: {gate: values[0, -count:, :] for gate, values in by_gate.items()}  # (words, units)
                     for direction, by_gate in by_direction.items()}
             for layer, by_direction in trace(model, tokens).items()}
    return WordTrace(words=words, probabilities=probabilities, gates=gates)


def prefix_probabilities(model: keras.Model, tokens: np.ndarray) -> np.ndarray:
    """P(positive) `(words,)` after each real token of one encoded review, from the model run on every prefix.

    Prefix k is the review's first k tokens, padded at the front to the same length as the full review, so the
    last value is the model's verdict on the whole review. All prefixes go through one batched `predict` call.
    """
    tokens = one_review(tokens)  # (seq_len,)
    real = np.flatnonzero(tokens)
    if real.size == 0:
        raise ImdbDataError("The review has no words, only padding; encode a review with encode_review first.")
    if real[0] != tokens.size - real.size:
        raise ImdbDataError("The review's padding must come first, as encode_review makes it; re-encode the "
                            "review instead of building the tokens by hand.")
    words = tokens[real]  # (words,)
    steps = np.arange(1, words.size + 1)  # prefix lengths 1..words
    columns = np.arange(tokens.size)[None, :]  # (1, seq_len)
    start = tokens.size - steps[:, None]  # (words, 1): where each prefix begins after its padding
    source = np.clip(columns - start, 0, words.size - 1)  # (words, seq_len): which word fills each position
    prefixes = np.where(columns >= start, words[source], 0).astype(np.int32)  # (words, seq_len)
    probabilities = np.asarray(model.predict(prefixes, batch_size=256, verbose=0))  # (words, 1)
    if probabilities.size != words.size:
        raise ImdbDataError("The model must give one probability per review (a Dense(1, sigmoid) output); this one "
                            f"gave {probabilities.size // words.size} values per review.")
    return probabilities.reshape(words.size).astype(np.float32)  # (words,)


def first_gate(cell: str, gates: list[str]) -> str:
    """The gate to show first for `cell`, among the `gates` a trace holds."""
    return next((gate for gate in FIRST_GATES.get(cell, ()) if gate in gates), gates[0])
