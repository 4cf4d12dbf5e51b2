"""A text model's vocabulary: the Keras `TextVectorization` layer that reads text into token ids, and the way back.

    vocabulary = vocabulary_of(dataset)                   # the same object for the same dataset
    vocabulary.encode("The cat sat on the")               # array([ 2, 10, 25, 11,  2], dtype=int32)
    vocabulary.decode([2, 10])                            # 'the cat'
    vocabulary.read("the cat"), vocabulary.label(3), token_label("\n")   # a prompt's ids; '⏎'

Index 0 is padding (""), index 1 is "[UNK]". This module stands below both the text task (`rnnlab.data.text`,
which learns the vocabulary) and generation (`rnnlab.generate`, which reads prompts with it), so neither needs the
other to name a vocabulary.
"""

from __future__ import annotations

import functools

import keras
import numpy as np

from rnnlab.config import field_info
from rnnlab.data.base import Dataset

# A typed prompt's length limit: the configuration's longest sequence.
MAX_PROMPT_TOKENS = int(field_info("seq_len")["high"])

PAD, UNKNOWN = "", "[UNK]"
LEVEL_NAMES = {"char": ("character", "characters"), "word": ("word", "words")}


def make_vectorizer(level: str, standardize: str | None, max_tokens: int | None = None,
                    vocabulary: list[str] | None = None) -> keras.layers.TextVectorization:
    """Keras's `TextVectorization` for a level: characters ("character" split) or words (whitespace split)."""
    return keras.layers.TextVectorization(max_tokens=max_tokens, standardize=standardize,
                                          split="character" if level == "char" else "whitespace",
                                          vocabulary=vocabulary, name="vocabulary")


class Vocabulary:
    """What a text model's tokens are: the `TextVectorization` layer that reads text into ids, and the way back.

    `tokens[i]` is token i ("" for padding, "[UNK]" for unknown); `level` is "char" or "word".
    """

    def __init__(self, vectorizer: keras.layers.TextVectorization) -> None:
        self.vectorizer = vectorizer
        self.tokens = tuple(str(token) for token in vectorizer.get_vocabulary())
        self.level = "char" if vectorizer.get_config()["split"] == "character" else "word"

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def unit(self) -> str:
        """'word' or 'character'."""
        return LEVEL_NAMES[self.level][0]

    def encode(self, text: str) -> np.ndarray:
        """`text` as token ids `(tokens,)`, read as the training text was (unknown tokens become [UNK])."""
        return np.asarray(self.vectorizer([text]), dtype=np.int32)[0]  # (tokens,)

    def decode(self, ids) -> str:
        """Token ids as text: characters joined as they are, words joined by spaces; padding dropped."""
        tokens = [self.tokens[int(token)] for token in np.ravel(ids) if int(token) != 0]
        if self.level == "char":
            return "".join("\ufffd" if token == UNKNOWN else token for token in tokens)
        return " ".join(tokens)

    def label(self, token: int) -> str:
        """One token as a learner can see it: a space, a line break and a tab drawn as ␣, ⏎ and ⇥."""
        return token_label(self.tokens[int(token)])

    def read(self, text: str, limit: int = MAX_PROMPT_TOKENS) -> np.ndarray:
        """A prompt as ids `(tokens,)`; ValueError with a sentence if it has no tokens or too many."""
        ids = self.encode(text or "")
        if ids.size == 0:
            raise ValueError(f"The prompt has no {LEVEL_NAMES[self.level][1]} to read; type a few "
                             f"{LEVEL_NAMES[self.level][1]}, e.g. The cat sat on the.")
        if ids.size > limit:
            raise ValueError(f"The prompt has {ids.size:,} {LEVEL_NAMES[self.level][1]}; type at most {limit:,}.")
        return ids


def token_label(token: str) -> str:
    """A token for a chart or a line of output: whitespace made visible, padding named."""
    if token == PAD:
        return "[pad]"
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


def vocabulary_of(dataset: Dataset) -> Vocabulary:
    if dataset.vectorizer is None:
        raise ValueError("This dataset has no text vocabulary; load it with rnnlab.data.text.load_dataset.")
    return _vocabulary(dataset.vectorizer)


@functools.lru_cache(maxsize=16)
def _vocabulary(vectorizer) -> Vocabulary:
    return Vocabulary(vectorizer)
