"""What the hidden state knows about words: Elman's map.

Elman ("Finding structure in time", 1990) trained a small recurrent network to predict the next word of sentences
from a toy grammar, then looked at its hidden state after each word: words of one kind (animals, foods, verbs that
take an object) had similar states, though the network was never told the kinds. This module measures that for any
model trained on RNN Lab's toy grammar (`rnnlab.data.text`), at the word or the character level:

    states = word_states(model, dataset, map_sentences(seed))   # the state after each word of 150 sentences
    points, shares = project(states.states)       # PCA to 2-D with NumPy, and the share of variance each axis keeps
    separation(states)                            # between-category over within-category distance
    before, after = elman_map(untrained, trained, dataset)      # both networks on the same sentences, projected

`separation` compares hidden states after *different* words: the mean distance between states after words of
different categories, over the mean distance between states after different words of the same category. States
after the same word resemble each other in any network with an embedding, trained or not (the word's own vector
goes in), so those pairs are left out: the ratio asks only whether the network put different words of one kind
together. 1 means no grouping; the larger, the tighter the kinds. It is measured in the full hidden state, not on
the 2-D map, which keeps only part of its variance.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rnnlab.data import Dataset
from rnnlab.data.grammar import grammar_sentences
from rnnlab.data.vocabulary import vocabulary_of
from rnnlab.introspect.gates import trace
from rnnlab.introspect.layers import recurrent_layer_names

# Sentences of the toy grammar the map reads (about 1,000 words), from their own seeded stream.
MAP_SENTENCES = 150


@dataclasses.dataclass
class WordStates:
    """The hidden state of one recurrent layer after each word of a stretch of text."""

    words: list[str]
    categories: list[str]
    states: np.ndarray  # (words, units)
    layer: str


def word_states(model, dataset: Dataset, sentences: list[str], layer: str | None = None) -> WordStates:
    """The hidden state of `layer` (default: the top recurrent layer) after each word of `sentences`, read as one
    running text from a zero state, as training windows are. At the character level, a word's state is the one
    after its last character. Every word must have a category in `dataset.categories`."""
    if not dataset.categories:
        raise ValueError("This text has no word categories to map; only the toy grammar has them.")
    vocabulary = vocabulary_of(dataset)
    text = " ".join(sentences)
    words = text.split()
    unknown = [word for word in words if word not in dataset.categories]
    if unknown:
        raise ValueError(f"'{unknown[0]}' has no category; map sentences of the toy grammar.")
    ids = vocabulary.encode(text)  # (tokens,)
    if vocabulary.level == "word":
        positions = np.arange(len(words))
    else:  # the last character of each word: one before each space, and the very last character
        positions = np.flatnonzero(np.array([text[index + 1:index + 2] in (" ", "") and text[index] != " "
                                             for index in range(len(text))]))
    if len(ids) != (len(words) if vocabulary.level == "word" else len(text)) or len(positions) != len(words):
        raise ValueError("The sentences do not read back as one token per word (or character); map sentences of "
                         "the toy grammar with the vocabulary they were trained with.")
    layer = layer or recurrent_layer_names(model)[-1]
    hidden = trace(model, ids[None])[layer]["forward"]["hidden"][0]  # (tokens, units)
    return WordStates(words=words, categories=[dataset.categories[word] for word in words],
                      states=hidden[positions].astype(np.float64), layer=layer)


def project(states: np.ndarray, dimensions: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Principal component analysis with NumPy: the states centred and projected on their `dimensions` directions
    of largest variance `(points, dimensions)`, and the share of the total variance each direction keeps.

    Each direction's sign is fixed so that its largest loading is positive: the same states always give the same
    picture."""
    states = np.asarray(states, dtype=np.float64)
    centred = states - states.mean(axis=0)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)  # directions: (components, units)
    directions = directions[:dimensions]
    signs = np.sign(directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)])
    directions = directions * signs[:, None]
    variance = singular ** 2
    shares = variance[:dimensions] / variance.sum() if variance.sum() > 0 else np.zeros(len(directions))
    return centred @ directions.T, shares


def separation(states: WordStates) -> float:
    """Mean distance between states after words of different categories over the mean distance between states
    after different words of one category (NaN when either kind of pair is missing)."""
    values = np.asarray(states.states, dtype=np.float64)
    squares = (values ** 2).sum(axis=1)
    distances = np.sqrt(np.maximum(squares[:, None] + squares[None, :] - 2 * values @ values.T, 0.0))
    categories = np.asarray(states.categories)
    words = np.asarray(states.words)
    same_category = categories[:, None] == categories[None, :]
    different_word = words[:, None] != words[None, :]
    within = distances[same_category & different_word]
    between = distances[~same_category]
    if within.size == 0 or between.size == 0 or within.mean() == 0:
        return float("nan")
    return float(between.mean() / within.mean())


def map_sentences(seed: int) -> list[str]:
    """The grammar sentences the map reads: MAP_SENTENCES from a stream of the run's seed that training never
    drew from (they may still repeat sentences of the training text: the grammar has only so many short ones)."""
    return grammar_sentences(MAP_SENTENCES, [seed, 4])


@dataclasses.dataclass
class Projection:
    """One network's word states and their 2-D projection: one panel of Elman's map."""

    states: WordStates
    points: np.ndarray  # (words, 2)
    shares: np.ndarray  # (2,): the share of the state's variance each axis keeps

    @property
    def separation(self) -> float:
        return separation(self.states)


def elman_map(untrained, trained, dataset: Dataset, seed: int = 0, layer: str | None = None) -> tuple[Projection,
                                                                                                     Projection]:
    """The same grammar sentences read by a network before and after training (the untrained one built from the
    same seed, `rnnlab.models.untrained_model`), each projected on its own principal components."""
    sentences = map_sentences(seed)
    panels = []
    for model in (untrained, trained):
        states = word_states(model, dataset, sentences, layer)
        points, shares = project(states.states)
        panels.append(Projection(states=states, points=points, shares=shares))
    return panels[0], panels[1]
