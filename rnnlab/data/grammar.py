"""The toy grammar: a seeded language of short sentences whose every word has a category (after Elman 1990).

    grammar_sentences(3, seed=0)           # ['the dog chased the girl .', 'a man slept on the bed .', ...]
    sentence_categories("the cat slept .") # ['article', 'animal', 'verb, no object', 'function word']
    WORD_CATEGORIES["cat"], CATEGORIES     # 'animal', ('article', 'animal', ...)
    export_code(5000)                      # the grammar as Python source, for an exported script

Nouns of four kinds (animals, people, food, objects) and places, verbs that take some kinds and not others ("the
dog chased the girl", never "the cup chased the girl"), articles, "on the" and "and". NumPy only: `_grammar_sentences`
and the constants are copied verbatim into exported scripts. The text task (`rnnlab.data.text`) reads this language
as its default corpus; the word map (`rnnlab.introspect.word_map`) shows that a network discovers its categories.
"""

from __future__ import annotations

import inspect
import pprint

import numpy as np

from rnnlab.data.base import DataError


class GrammarError(DataError):
    """A sentence with a word that is not in the toy grammar; the message names it and the grammar's words."""


# Every word of the grammar, by category. No word belongs to two categories.
GRAMMAR_WORDS = {
    "article": ("the", "a"),
    "animal": ("cat", "dog", "mouse", "bird"),
    "person": ("man", "woman", "boy", "girl"),
    "food": ("bread", "cheese", "cake", "soup"),
    "object": ("ball", "book", "cup", "box"),
    "place": ("mat", "table", "chair", "bed"),
    "verb, no object": ("slept", "sat", "waited"),
    "verb with object": ("ate", "chased", "saw", "dropped", "liked"),
    "function word": ("on", "and", "."),
}
# What each verb takes: the kinds of noun that can do it, the kinds it can be done to (None: no object), and how
# often "on <a place>" follows it.
GRAMMAR_VERBS = {
    "slept": (("animal", "person"), None, 0.5),
    "sat": (("animal", "person"), None, 0.7),
    "waited": (("animal", "person"), None, 0.3),
    "ate": (("animal", "person"), ("food",), 0.2),
    "chased": (("animal",), ("animal", "person"), 0.0),
    "saw": (("animal", "person"), ("animal", "person", "food", "object"), 0.2),
    "dropped": (("person",), ("food", "object"), 0.4),
    "liked": (("person",), ("animal", "person", "food", "object"), 0.0),
}
GRAMMAR_AND = 0.2  # the share of sentences whose subject is two noun phrases joined by "and"


def _grammar_sentences(count, rng):
    # Each sentence: article noun [and article noun] verb [article noun] [on article place] .
    # The verb is drawn first; its subject and object are drawn from the kinds of noun it takes.
    def noun_phrase(kinds):
        nouns = GRAMMAR_WORDS[kinds[rng.integers(len(kinds))]]
        return [GRAMMAR_WORDS["article"][rng.integers(2)], nouns[rng.integers(len(nouns))]]

    verbs = list(GRAMMAR_VERBS)
    sentences = []
    for _ in range(count):
        verb = verbs[rng.integers(len(verbs))]
        subjects, objects, place = GRAMMAR_VERBS[verb]
        words = noun_phrase(subjects)
        if rng.random() < GRAMMAR_AND:
            words += ["and"] + noun_phrase(subjects)
        words.append(verb)
        if objects is not None:
            words += noun_phrase(objects)
        if rng.random() < place:
            words += ["on"] + noun_phrase(("place",))
        sentences.append(" ".join(words) + " .")
    return sentences


WORD_CATEGORIES: dict[str, str] = {word: category for category, words in GRAMMAR_WORDS.items() for word in words}
CATEGORIES = tuple(GRAMMAR_WORDS)


def grammar_sentences(count: int, seed) -> list[str]:
    """`count` sentences of the toy grammar from `seed` (an int or a list such as [seed, 4])."""
    return _grammar_sentences(count, np.random.default_rng(seed))


def sentence_categories(sentence: str) -> list[str]:
    """The category of each word of a sentence of the grammar; GrammarError naming a word that is not in it."""
    unknown = [word for word in sentence.split() if word not in WORD_CATEGORIES]
    if unknown:
        raise GrammarError(f"'{unknown[0]}' is not a word of the toy grammar; its words are: "
                            f"{', '.join(WORD_CATEGORIES)}.")
    return [WORD_CATEGORIES[word] for word in sentence.split()]


def export_code(sentences: int) -> str:
    """The grammar as Python an exported script runs: its constants and `_grammar_sentences`, then `text`, the
    given number of sentences from the script's `SEED` (as `rnnlab.data.text` makes them)."""
    constants = "".join(f"{name} = {pprint.pformat(value, width=110, sort_dicts=False)}\n" for name, value in
                        (("GRAMMAR_WORDS", GRAMMAR_WORDS), ("GRAMMAR_VERBS", GRAMMAR_VERBS),
                         ("GRAMMAR_AND", GRAMMAR_AND))) + "\n\n"
    return ("# Data: the toy grammar of short sentences (after Elman 1990), generated from the seed.\n"
            f"{constants}{inspect.getsource(_grammar_sentences)}\n\n"
            f"text = \" \".join(_grammar_sentences({sentences}, np.random.default_rng([SEED, 3])))")
