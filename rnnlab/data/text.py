"""Text generation as a task: read a text one token at a time and predict the next token at every step.

Where the text comes from (`config.corpus`):

- `grammar` (the default; offline, instant): a seeded toy language of short sentences in the manner of Elman's
  "Finding structure in time" (1990): nouns of four kinds (animals, people, food, objects) and places, verbs that
  take some kinds and not others ("the dog chased the girl", never "the cup chased the girl"), articles, "on the"
  and "and". Every word has a category (`WORD_CATEGORIES`), so the lab can show that the network discovers them.
  The language itself lives in `rnnlab.data.grammar`.
- `shakespeare`: tiny-shakespeare (about 1.1 MB of plays), downloaded once with `keras.utils.get_file` from the
  address the TensorFlow text-generation tutorial uses and cached under the Keras cache (`~/.keras/datasets/`).
- `imdb`: the IMDB reviews as running text, from whichever source `rnnlab.data.imdb` finds (a reviews CSV, a local
  imdb.npz with its word list, or Keras's cache), one review per line, the first `IMDB_TEXT_CHARACTERS`.
- `file`: a plain-text file (`config.text_file`).

Tokens (`config.level`) are characters or words, found by Keras's own `TextVectorization` layer, whose vocabulary
is learned from the training part of the text only: index 0 is padding (""), index 1 is "[UNK]" (a word beyond the
vocabulary size, or a character the training part never had). The grammar is read in lower case with its full stop
as a word; other texts keep every character at the character level, and at the word level go through Keras's
standard lower-casing and punctuation stripping. The layer travels with the data (`Dataset.vectorizer`) and with a
saved model (`rnnlab.saving`), so a prompt is always read exactly as the training text was. The `Vocabulary` that
wraps it lives in `rnnlab.data.vocabulary` (generation uses it too); its names are re-exported here.

Windows: the text is cut by characters into a training part (the first 90%), a validation part (the next 5%) and a
test part (the last 5%). `config.samples` training windows of `config.seq_len` tokens start at random places of the
training part, and `config.eval_samples` validation and test windows at random places of theirs (seeded, with
replacement); each window's targets are its inputs shifted by one token. The baseline (a model that learned nothing)
answers every token's share of the training text: its loss is that unigram model's cross-entropy on the validation
tokens.

    dataset = load_dataset(RunConfig(task="text"))        # x_train (3000, 20) word ids, y_train the next words
    vocabulary = Vocabulary(dataset.vectorizer)
    vocabulary.encode("The cat sat on the")               # array([ 2, 10, 25, 11,  2], dtype=int32)
    vocabulary.decode([2, 10])                            # 'the cat'

Every problem with the data raises `TextDataError` (a `DataError`) with one sentence saying what to do.
"""

from __future__ import annotations

import inspect
import os

import keras
import numpy as np

from rnnlab.budget import Shape
from rnnlab.config import RunConfig
from rnnlab.data import files, grammar, imdb
from rnnlab.data.base import DataError, Dataset, DownloadUnavailable, Task, baseline_loss
# The toy grammar and the vocabulary have modules of their own; their names are re-exported here, where they lived.
from rnnlab.data.grammar import (CATEGORIES, GRAMMAR_AND, GRAMMAR_VERBS, GRAMMAR_WORDS, WORD_CATEGORIES,  # noqa: F401
                                 GrammarError, grammar_sentences, sentence_categories)
from rnnlab.data.synthetic import MAX_VALUES
from rnnlab.data.vocabulary import (LEVEL_NAMES, MAX_PROMPT_TOKENS, PAD, UNKNOWN, Vocabulary,  # noqa: F401
                                    make_vectorizer, token_label, vocabulary_of)
# Generation stands above the vocabulary and below this task, which writes a sample after every epoch with it.
from rnnlab.generate import generate, softmax, top_k

TITLE = "Next word"
DESCRIPTION = ("Read a text one word (or character) at a time and predict the next one at every step; then let "
               "the network write.")

# tiny-shakespeare, as the TensorFlow text-generation tutorial downloads it.
SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
SHAKESPEARE_FILE = "shakespeare.txt"
# The IMDB reviews as running text: about the size of tiny-shakespeare, so the two compare.
IMDB_TEXT_CHARACTERS = 1_100_000
# The share of the text held out at its end: half for validation, half for the test.
HELD_OUT = 0.10
# More distinct characters than this is not an alphabet (each one gets its own output unit).
MAX_CHARACTERS = 1000
# The largest text file read (a server keeps the whole text, and its windows, in memory).
MAX_TEXT_BYTES = 50_000_000
# At the word level, refuse a vocabulary that leaves more than this share of the training words unknown.
MAX_UNKNOWN_SHARE = 0.5


class TextDataError(DataError):
    """The text could not be read, or does not fit the request; the message says what to do."""


class ShakespeareOffline(DownloadUnavailable, TextDataError):
    """tiny-shakespeare could not be downloaded and is not cached."""


OFFLINE_WAYS_OUT = {
    "python": "set corpus to 'grammar', or to 'file' with text_file naming a local copy of shakespeare.txt (or any "
              "other .txt)",
    "cli": "pass --corpus grammar, or --corpus FILE.txt with a local copy of shakespeare.txt (or any other text "
           "file)",
    "app": "choose “A toy grammar” above, or “A text file” and upload a copy of shakespeare.txt (or any other "
           ".txt)",
}


# --- The toy grammar as a corpus (the language itself: rnnlab.data.grammar) ---------------------------------------

# How many sentences of the toy grammar make its text (about 35,000 words), unless long windows need more.
GRAMMAR_SENTENCES = 5000


def grammar_sentence_count(seq_len: int) -> int:
    """Sentences for a grammar text long enough for windows of `seq_len` tokens in each part (a sentence has at
    least 4 words and 13 characters)."""
    return max(GRAMMAR_SENTENCES, -(-_shortest_text(seq_len) // 4))


# --- Reading texts --------------------------------------------------------------------------------------------

def read_text_file(path: str) -> str:
    """The text of a plain-text file; TextDataError with one sentence if there is none, or it is not text."""
    path = os.path.abspath(os.path.expanduser(path.strip()))
    shown = files.display_name(path)
    if not os.path.exists(path):
        raise TextDataError(f"There is no text file at {shown}; check the path.")
    if os.path.isdir(path):
        raise TextDataError(f"{shown} is a folder, not a text file; give the path of a .txt file inside it.")
    size = os.path.getsize(path)
    if size > MAX_TEXT_BYTES:
        raise TextDataError(f"The text file {shown} is {size / 1e6:,.0f} MB, more than RNN Lab reads "
                            f"({MAX_TEXT_BYTES / 1e6:.0f} MB); give a part of it.")
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.strip():
        raise TextDataError(f"The text file {shown} is empty; give a file with some text in it.")
    text = data.decode("utf-8-sig", errors="replace")
    # Text never contains zero bytes, and a file that is mostly not UTF-8 is not the text it claims to be.
    if b"\x00" in data[:65536] or text.count("\ufffd") > 0.1 * len(text):
        raise TextDataError(f"{shown} is not a text file (it holds binary data); give a plain-text .txt file.")
    return text


def shakespeare_text() -> tuple[str, str]:
    """tiny-shakespeare from the Keras cache (downloaded on first use), and where it came from."""
    cache = imdb.keras_cache_path(SHAKESPEARE_FILE)
    try:
        path = keras.utils.get_file(SHAKESPEARE_FILE, SHAKESPEARE_URL)
    except Exception as error:  # Keras's downloader raises a bare `Exception("URL fetch failure ...")` offline
        if os.path.exists(cache):
            raise TextDataError(f"The cached file {cache} could not be read ({_reason(error)}); delete it to download "
                                "it again, or use a local copy as a text file.") from error
        raise ShakespeareOffline("The tiny-shakespeare plays", cache, OFFLINE_WAYS_OUT) from error
    return read_text_file(path), f"tiny-shakespeare ({path})"


def imdb_text(config: RunConfig) -> tuple[str, str]:
    """The IMDB reviews of the source `config` names as running text, one review per line, and where they came
    from; only the first IMDB_TEXT_CHARACTERS are kept."""
    reviews, source = imdb.review_texts(config)
    text, length = [], 0
    for review in reviews:
        text.append(" ".join(review.split()))  # one line per review
        length += len(text[-1]) + 1
        if length >= IMDB_TEXT_CHARACTERS:
            break
    joined = "\n".join(text)[:IMDB_TEXT_CHARACTERS]
    return joined, f"IMDB reviews as running text from {source} (the first {len(text):,}, {len(joined):,} characters)"


def corpus_text(config: RunConfig) -> tuple[str, str]:
    """The whole text `config.corpus` names, and a few words saying where it came from."""
    if config.corpus == "grammar":
        count = grammar_sentence_count(config.seq_len)
        sentences = grammar_sentences(count, [config.seed, 3])
        return " ".join(sentences), f"the toy grammar, {count:,} sentences from seed {config.seed}"
    if config.corpus == "shakespeare":
        return shakespeare_text()
    if config.corpus == "imdb":
        return imdb_text(config)
    if not config.text_file.strip():
        raise TextDataError("Give a text file to read (a plain-text .txt file).")
    text = read_text_file(files.resolve(config.text_file))  # an upload or a data-folder file on a server
    return text, f"the text file {files.display_name(config.text_file)}"


def standardize_rule(config: RunConfig) -> str | None:
    """How `TextVectorization` standardizes this text before splitting it: the grammar is lower-cased (its full
    stop is a word of its own); other texts keep every character, or lose case and punctuation as words."""
    if config.corpus == "grammar":
        return "lower"
    return None if config.level == "char" else "lower_and_strip_punctuation"


def split_text(text: str) -> tuple[str, str, str]:
    """(training, validation, test) parts: the first 90% of the characters, the next 5%, the last 5%."""
    first = int(len(text) * (1 - HELD_OUT))
    second = int(len(text) * (1 - HELD_OUT / 2))
    return text[:first], text[first:second], text[second:]


def _windows(ids, count, seq_len, rng):
    # `count` windows of `seq_len` tokens from random places of `ids`; each target is the input shifted by one.
    starts = rng.integers(0, len(ids) - seq_len, size=count)[:, None]  # (count, 1)
    positions = starts + np.arange(seq_len)[None, :]  # (count, seq_len)
    return ids[positions].astype(np.int32), ids[positions + 1].astype(np.int32)


# --- The dataset ------------------------------------------------------------------------------------------------

def load_dataset(config: RunConfig) -> Dataset:
    """Training, validation and test windows of the text `config` names, at its level; TextDataError if the text
    cannot be had or is too short, or its vocabulary too large."""
    tokens_name = LEVEL_NAMES[config.level][1]
    size = 2 * (config.samples + 2 * config.eval_samples) * config.seq_len
    if size > MAX_VALUES:
        raise TextDataError(f"{config.samples:,} training windows of {config.seq_len} {tokens_name} would need about "
                            f"{size * 4 / 1e9:.1f} GB; use fewer windows or shorter ones.")
    text, source = corpus_text(config)
    what = _what(config)
    train_text, val_text, test_text = split_text(text)
    if config.level == "char":
        distinct = len(set(train_text))
        if distinct > MAX_CHARACTERS:
            raise TextDataError(f"{what} has {distinct:,} different characters, too many for the character level "
                                f"(at most {MAX_CHARACTERS:,}, one output each); use the word level.")
    vectorizer = make_vectorizer(config.level, standardize_rule(config),
                                 max_tokens=config.vocab_size if config.level == "word" else None)
    vectorizer.adapt([train_text])  # the vocabulary sees the training part only
    vocabulary = Vocabulary(make_vectorizer(config.level, standardize_rule(config),
                                            vocabulary=list(vectorizer.get_vocabulary())))
    parts = [vocabulary.encode(part) for part in (train_text, val_text, test_text)]  # (tokens,) each
    shortest = min(len(part) for part in parts)
    if shortest < config.seq_len + 1:
        total = sum(len(part) for part in parts)
        raise TextDataError(
            f"{what} has {total:,} {tokens_name}; windows of {config.seq_len} need at least "
            f"{_shortest_text(config.seq_len):,} (the last tenth is held out, and each half of it must hold one "
            f"window and the {LEVEL_NAMES[config.level][0]} after it); use a longer text or shorter windows.")
    train_ids = parts[0]
    if config.level == "word":
        unknown = float(np.mean(train_ids == 1))
        if unknown > MAX_UNKNOWN_SHARE:
            raise TextDataError(f"With a vocabulary of {config.vocab_size:,} words, {unknown:.0%} of the words of "
                                f"{what} are outside it and read as [UNK]; raise the vocabulary size or use the "
                                "character level.")
    x_train, y_train = _windows(train_ids, config.samples, config.seq_len, np.random.default_rng([config.seed, 0]))
    x_val, y_val = _windows(parts[1], config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 1]))
    x_test, y_test = _windows(parts[2], config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 2]))
    baseline, baseline_description = baseline_loss("next_token", train_ids, y_val, len(vocabulary))
    return Dataset(
        task="text", title=TITLE, description=DESCRIPTION, kind="next_token",
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
        baseline_loss=baseline, baseline_description=baseline_description, vocabulary=vocabulary.tokens,
        source=f"{source}, read as {tokens_name}: {len(train_ids):,} training {tokens_name} and a vocabulary of "
               f"{len(vocabulary):,}",
        vectorizer=vocabulary.vectorizer, categories=WORD_CATEGORIES if config.corpus == "grammar" else None)


def _shortest_text(seq_len: int) -> int:
    # Each held-out half (5% of the text) must hold seq_len + 1 tokens.
    return int(np.ceil((seq_len + 1) / (HELD_OUT / 2)))


def _what(config: RunConfig) -> str:
    if config.corpus == "file":
        return f"The text file {files.display_name(config.text_file)}"
    return {"grammar": "The toy grammar's text", "shakespeare": "tiny-shakespeare",
            "imdb": "The IMDB running text"}[config.corpus]


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


def data_key(config: RunConfig) -> tuple:
    """What decides the `Dataset` for `config`, including the stamp of any file it reads, for caching it."""
    if config.corpus == "file":
        where = (config.text_file.strip(), files.file_stamp(config.text_file))
    elif config.corpus == "shakespeare":
        path = imdb.keras_cache_path(SHAKESPEARE_FILE)
        where = (path, files.file_stamp(path))
    elif config.corpus == "imdb":
        path = {"csv": config.imdb_csv, "npz": imdb.local_npz_path(config),
                "keras": imdb.keras_cache_path()}[imdb.source_of(config)]
        where = (imdb.source_of(config), path.strip(), files.file_stamp(path))
    else:
        where = ()
    return (config.corpus, config.level, where, config.vocab_size if config.level == "word" else None,
            config.seq_len, config.samples, config.eval_samples, config.seed)


def shakespeare_cached() -> bool:
    """Whether tiny-shakespeare is already in the Keras cache, so choosing it needs no download."""
    return os.path.isfile(imdb.keras_cache_path(SHAKESPEARE_FILE))


# --- The task --------------------------------------------------------------------------------------------------

# What the trainer writes after every epoch, so a learner watches noise turn into words.
SAMPLE_PROMPT = "the cat sat on the"
SAMPLE_LENGTH = {"word": 30, "char": 150}  # tokens
SAMPLE_TEMPERATURE = 0.8
# The next tokens `answer_text` names.
ANSWER_TOKENS = 3


def default_prompt(dataset: Dataset) -> str:
    """"the cat sat on the" when the vocabulary knows every token of it, else the start of the validation text."""
    vocabulary = vocabulary_of(dataset)
    if (vocabulary.encode(SAMPLE_PROMPT) > 1).all():
        return SAMPLE_PROMPT
    return vocabulary.decode(dataset.x_val[0][:5 if vocabulary.level == "word" else 20])


class TextTask(Task):
    """Text generation as a task of the registry: tokens in, the next token out, at every step."""

    name, title, description = "text", TITLE, DESCRIPTION
    kind, answer_chart = "next_token", "next_token"
    items, steps = "windows", "tokens"
    field_labels = {"seq_len": "Window length (tokens)", "samples": "Training windows",
                    "eval_samples": "Validation and test windows"}

    def make(self, config: RunConfig) -> Dataset:
        return load_dataset(config)

    def budget_shape(self, config: RunConfig) -> Shape:
        """Before the text is read its vocabulary is not known: the word level is capped by `vocab_size`, and the
        character level by the number of distinct characters a text may have (an upper bound: English has ~100)."""
        vocab = config.vocab_size if config.level == "word" else MAX_CHARACTERS
        return Shape.for_tokens(config, vocab=vocab, outputs=vocab, every_step=True)

    # --- Typing, and answers ------------------------------------------------------------------------------------

    @property
    def can_type(self) -> bool:
        return True

    def typing_help(self, dataset: Dataset) -> str:
        vocabulary = vocabulary_of(dataset)
        return (f"Type any text, e.g. {SAMPLE_PROMPT}; the network reads it {vocabulary.unit} by {vocabulary.unit}, "
                f"and {LEVEL_NAMES[vocabulary.level][1]} it never saw read as [UNK] (at most {MAX_PROMPT_TOKENS:,}).")

    def parse(self, text: str, dataset: Dataset) -> np.ndarray:
        return vocabulary_of(dataset).read(text)[None]  # (1, tokens)

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        return vocabulary_of(dataset).decode(sequence)

    def step_labels(self, dataset: Dataset, sequence: np.ndarray) -> list[str]:
        vocabulary = vocabulary_of(dataset)
        return [vocabulary.label(token) for token in np.ravel(sequence)]

    def answer_text(self, dataset: Dataset, output: np.ndarray, target=None) -> str:
        """The most likely next tokens after the last step (`output` is the model's logits, `(T, vocabulary)` or
        `(vocabulary,)`), with the token the text really goes on with when it is known."""
        vocabulary = vocabulary_of(dataset)
        logits = np.asarray(output, dtype=np.float64).reshape(-1, len(vocabulary))[-1]
        best = top_k(softmax(logits), ANSWER_TOKENS)
        first, *others = [f"{vocabulary.label(token)} ({probability:.2f})" for token, probability in best]
        text = f"**{first}** as the next {vocabulary.unit}"
        if others:
            text += f", then {' and '.join(others)}"
        if target is not None:
            text += f"; the text goes on with **{vocabulary.label(int(np.ravel(target)[-1]))}**"
        return text

    # --- What each epoch records --------------------------------------------------------------------------------

    def epoch_probes(self, config: RunConfig, dataset: Dataset) -> dict:
        """A short sample after every epoch, from the same prompt, temperature and seed, so the samples differ
        only because the network learned."""
        vocabulary = vocabulary_of(dataset)
        prompt = default_prompt(dataset)
        length = SAMPLE_LENGTH[vocabulary.level]

        def sample(model) -> str:
            result = generate(model, vocabulary, prompt, length=length, temperature=SAMPLE_TEMPERATURE,
                              seed=config.seed)
            return result.text

        return {"generated": sample}

    # --- Export ---------------------------------------------------------------------------------------------------

    def keras_input_code(self, config: RunConfig) -> list[str]:
        return ['keras.Input(shape=(SEQ_LEN,), dtype="int32")',
                f"keras.layers.Embedding(VOCAB_SIZE, {config.embedding_dim})"]

    def keras_data_code(self, config: RunConfig) -> str:
        return _export_text(config) + "\n\n" + _export_tokens(config)


def _export_text(config: RunConfig) -> str:
    if config.corpus == "grammar":
        return grammar.export_code(grammar_sentence_count(config.seq_len))
    if config.corpus == "shakespeare":
        return ("# Data: tiny-shakespeare, downloaded once into ~/.keras/datasets/.\n"
                f"path = keras.utils.get_file({SHAKESPEARE_FILE!r}, {SHAKESPEARE_URL!r})\n"
                'text = open(path, encoding="utf-8-sig", errors="replace").read()')
    if config.corpus == "file":
        # By the learner's own file name: a script never carries where the server keeps an upload.
        return ("# Data: a plain-text file.\n"
                f'text = open({files.display_name(config.text_file)!r}, encoding="utf-8-sig", '
                'errors="replace").read()')
    return ("# Data: the IMDB reviews as running text. RNN Lab reads them from the source you gave it (a reviews CSV,\n"
            "# a local imdb.npz or Keras's cache); this script decodes Keras's IMDB download (lower-case words, no\n"
            "# punctuation), one review per line, the first 1.1 MB. For a CSV, read its review column instead.\n"
            "(x_all, _), (x_more, _) = keras.datasets.imdb.load_data()\n"
            "words = {rank + 3: word for word, rank in keras.datasets.imdb.get_word_index().items()}\n"
            'reviews = [" ".join(words[i] for i in review if i in words) for review in [*x_all, *x_more]]\n'
            f'text = "\\n".join(reviews)[:{IMDB_TEXT_CHARACTERS}]')


def _export_tokens(config: RunConfig) -> str:
    standardize = standardize_rule(config)
    split = "character" if config.level == "char" else "whitespace"
    max_tokens = config.vocab_size if config.level == "word" else None
    return (
        "# Tokens: Keras's TextVectorization learns the vocabulary from the first 90% of the text; the next 5% is\n"
        "# for validation (the last 5% is RNN Lab's test part). Index 0 is padding, 1 is [UNK].\n"
        f"first, second = int(len(text) * {1 - HELD_OUT!r}), int(len(text) * {1 - HELD_OUT / 2!r})\n"
        f"vectorizer = keras.layers.TextVectorization(max_tokens={max_tokens!r}, standardize={standardize!r}, "
        f"split={split!r})\n"
        "vectorizer.adapt([text[:first]])\n"
        "VOCAB_SIZE = len(vectorizer.get_vocabulary())\n"
        "train_ids = np.asarray(vectorizer([text[:first]]), dtype=np.int32)[0]\n"
        "val_ids = np.asarray(vectorizer([text[first:second]]), dtype=np.int32)[0]\n\n\n"
        f"{inspect.getsource(_windows)}\n\n"
        f"x_train, y_train = _windows(train_ids, {config.samples}, SEQ_LEN, np.random.default_rng([SEED, 0]))\n"
        f"x_val, y_val = _windows(val_ids, {config.eval_samples}, SEQ_LEN, np.random.default_rng([SEED, 1]))")


TASK = TextTask()
