"""The toy grammar (`rnnlab.data.grammar`): seeded, every sentence one the grammar allows, every word in one category.

The reference shares no code with it: the grammar is parsed by a pattern and a table of what each verb takes,
written out here. The grammar's names are read through `rnnlab.data.text`, which re-exports them, so both doors
are held.

    .venv/bin/pytest -q tests/test_data_grammar.py
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from rnnlab.data import DataError, grammar
from rnnlab.data import text as text_data

# The toy grammar, written out again here.
KINDS = {
    "the": "A", "a": "A",
    **dict.fromkeys(("cat", "dog", "mouse", "bird"), "animal"),
    **dict.fromkeys(("man", "woman", "boy", "girl"), "person"),
    **dict.fromkeys(("bread", "cheese", "cake", "soup"), "food"),
    **dict.fromkeys(("ball", "book", "cup", "box"), "object"),
    **dict.fromkeys(("mat", "table", "chair", "bed"), "place"),
    **dict.fromkeys(("slept", "sat", "waited"), "VI"),
    **dict.fromkeys(("ate", "chased", "saw", "dropped", "liked"), "VT"),
    "on": "on", "and": "and", ".": ".",
}
# verb: (who can do it, what it can be done to); intransitive verbs take no object.
TAKES = {
    "slept": ({"animal", "person"}, set()), "sat": ({"animal", "person"}, set()),
    "waited": ({"animal", "person"}, set()), "ate": ({"animal", "person"}, {"food"}),
    "chased": ({"animal"}, {"animal", "person"}), "saw": ({"animal", "person"}, {"animal", "person", "food", "object"}),
    "dropped": ({"person"}, {"food", "object"}), "liked": ({"person"}, {"animal", "person", "food", "object"}),
}
SENTENCE = re.compile(r"A (\w+)(?: and A (\w+))? (VI|VT A (\w+))(?: on A place)? \.")


def parse(sentence: str) -> None:
    """Fail unless `sentence` is one the grammar allows."""
    words = sentence.split()
    tags = " ".join(KINDS[word] for word in words)
    match = SENTENCE.fullmatch(tags)
    assert match, f"{sentence!r} does not parse ({tags})"
    verb = next(word for word in words if KINDS[word] in ("VI", "VT"))
    subjects, objects = TAKES[verb]
    assert match.group(1) in subjects and (match.group(2) or match.group(1)) in subjects, sentence
    if KINDS[verb] == "VT":
        assert match.group(4) in objects, sentence
    else:
        assert not objects, sentence


def test_the_grammar_is_seeded_and_every_sentence_parses_back_into_categories():
    sentences = text_data.grammar_sentences(2000, [7, 3])
    assert sentences == text_data.grammar_sentences(2000, [7, 3])
    assert sentences != text_data.grammar_sentences(2000, [8, 3])
    for sentence in sentences:
        parse(sentence)
        categories = text_data.sentence_categories(sentence)
        assert len(categories) == len(sentence.split())
    # Every word and every optional part occurs, and no word sits in two categories.
    used = Counter(word for sentence in sentences for word in sentence.split())
    assert set(used) == set(KINDS) == set(text_data.WORD_CATEGORIES)
    assert any(" and " in sentence for sentence in sentences) and any(" on " in sentence for sentence in sentences)
    with pytest.raises(DataError, match="'zebra' is not a word of the toy grammar"):
        text_data.sentence_categories("the zebra slept .")




def test_the_grammar_module_and_the_text_module_name_the_same_grammar():
    assert text_data.grammar_sentences(50, [1, 3]) == grammar.grammar_sentences(50, [1, 3])
    assert text_data.WORD_CATEGORIES is grammar.WORD_CATEGORIES and text_data.CATEGORIES == grammar.CATEGORIES
    with pytest.raises(grammar.GrammarError):
        grammar.sentence_categories("the zebra slept .")
