"""The run configuration: one object that describes a training run.

`RunConfig` is the single source of truth for a run. The dashboard's sidebar returns one, the URL encodes one, the
command line parses into one, the exported Keras script is generated from one, and every run record stores one.
Each field carries its own label, help text and limits, so the views never repeat them.

    config = RunConfig(task="adding", cell="gru", seq_len=50)
    config.replace(units=64).to_query()   # {'task': 'adding', 'seq_len': '50', 'cell': 'gru', 'units': '64'}
"""

from __future__ import annotations

import dataclasses
import math
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping

TASK_NAMES = ("sine", "count", "adding", "recall", "imdb", "text")
CELLS = ("simplernn", "lstm", "gru")
CELL_TITLES = {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
ACTIVATIONS = ("tanh", "relu")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
RECURRENT_INITIALIZERS = ("orthogonal", "glorot_uniform", "identity")
# The languages a configuration can be exported to as a script (`rnnlab.export`); the first is the default.
# "ipynb" is the Python script as a Jupyter notebook.
EXPORT_LANGUAGES = ("python", "r", "ipynb")
CORPORA = ("grammar", "shakespeare", "imdb", "file")  # text generation: where the text comes from
LEVELS = ("char", "word")  # text generation: what one token is
# Tasks whose network answers at every step with the next token: it may only read the past, so a backward
# direction (which reads the future, including the very token it must predict) is refused for them.
NEXT_TOKEN_TASKS = ("text",)
# How choices read on screen (the values stay what Keras calls them).
CHOICE_TITLES = {**CELL_TITLES, "adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD", "orthogonal": "Orthogonal",
                 "glorot_uniform": "Glorot uniform", "identity": "Identity", "char": "Characters", "word": "Words",
                 "grammar": "A toy grammar", "shakespeare": "Tiny Shakespeare", "imdb": "IMDB reviews",
                 "file": "A text file"}


def _field(default: Any, label: str, help: str, *, low: float | None = None, high: float | None = None,
           choices: tuple[str, ...] | None = None, flag: str | None = None, short: str | None = None,
           path: bool = False, file_field: str | None = None) -> Any:
    """A dataclass field that also records how people see it: a label, a help sentence, its limits, `short`, a
    phrase that names its value where two runs must be told apart ("forget bias {}"), and whether it names a file
    (`path`: shown by the file's own name, never where a server keeps it). `file_field` marks a choice whose
    "file" value reads the path in that other field, so the command line can take a path in its place
    (`--corpus notes.txt`)."""
    metadata = {"label": label, "help": help, "low": low, "high": high, "choices": choices, "flag": flag,
                "short": short, "path": path, "file_field": file_field}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run trains and how. Invalid values raise `ValueError` on construction."""

    # The data.
    task: str = _field("sine", "Task",
                       "What the network learns: a synthetic sequence task, IMDB reviews, or the next word of a text.",
                       choices=TASK_NAMES)
    seq_len: int = _field(30, "Sequence length (time steps)",
                          "Time steps in each input sequence; for IMDB, the words kept per review; for text, the "
                          "tokens in each training window.",
                          low=2, high=2000)
    samples: int = _field(2000, "Training sequences", "How many sequences (or reviews) the network trains on.",
                          low=16, high=200_000, short="{:,} training")
    eval_samples: int = _field(500, "Validation and test sequences",
                               "Size of the held-out validation set, and of the separate test set.",
                               low=16, high=50_000, short="{:,} held out")
    # The network.
    cell: str = _field("lstm", "Cell", "The recurrent cell: SimpleRNN, LSTM or GRU.", choices=CELLS)
    units: int = _field(32, "Units per layer", "Size of the hidden state h_t in each recurrent layer.",
                        low=1, high=512)
    layers: int = _field(1, "Stacked layers", "Recurrent layers stacked on top of each other.", low=1, high=4)
    bidirectional: bool = _field(False, "Bidirectional",
                                 "Also read each sequence backwards and join both directions' states.")
    activation: str = _field("tanh", "Activation", "The squashing function for the hidden state (and candidate).",
                             choices=ACTIVATIONS, short="{}")
    dropout: float = _field(0.0, "Dropout", "Share of each recurrent layer's outputs zeroed during training.",
                            low=0.0, high=0.9, short="dropout {:g}")
    recurrent_initializer: str = _field(
        "orthogonal", "Recurrent initializer",
        "How the recurrent weight matrix W_hh starts: orthogonal (Keras's default), Glorot uniform, or identity.",
        choices=RECURRENT_INITIALIZERS, short="{} init")
    recurrent_gain: float = _field(1.0, "Recurrent initial scale",
                                   "Multiplies the initial recurrent matrix; above 1 invites exploding gradients.",
                                   low=0.01, high=10.0, short="init ×{:g}")
    forget_bias: float = _field(1.0, "LSTM forget-gate bias",
                                "Starting bias of the LSTM forget gate (Keras uses 1); large values keep memory.",
                                low=-10.0, high=10.0, short="forget bias {:g}")
    # The optimisation.
    optimizer: str = _field("adam", "Optimizer", "The update rule.", choices=OPTIMIZERS, short="{}")
    learning_rate: float = _field(3e-3, "Learning rate", "Step size of the optimizer.", low=1e-6, high=1.0,
                                  short="lr {:g}")
    clipnorm: float = _field(0.0, "Gradient clipping (norm)",
                             "Rescale each gradient whose norm exceeds this; 0 turns clipping off.",
                             low=0.0, high=100.0, short="clip {:g}")
    batch_size: int = _field(64, "Batch size", "Sequences per gradient step.", low=1, high=4096, short="batch {}")
    epochs: int = _field(10, "Epochs", "Passes over the training sequences.", low=1, high=1000, short="{} epochs")
    seed: int = _field(0, "Seed", "Same configuration and seed give the same data, weights and curve.",
                       low=0, high=2**31 - 1, short="seed {}")
    # IMDB and text.
    vocab_size: int = _field(2000, "Vocabulary size",
                             "IMDB and text at the word level: keep the most frequent words; the rest become "
                             "'unknown' ([UNK]).",
                             low=100, high=100_000, flag="vocab", short="vocabulary {:,}")
    embedding_dim: int = _field(32, "Embedding size",
                                "IMDB and text: length of the vector learned for each word (or character).",
                                low=1, high=512, short="embedding {}")
    imdb_path: str = _field("", "Local imdb.npz", "IMDB: a Keras-layout imdb.npz to read instead of downloading.",
                            path=True)
    imdb_csv: str = _field("", "Reviews CSV", "IMDB: a CSV of raw reviews (review and sentiment columns).",
                           path=True)
    # Text generation only.
    corpus: str = _field("grammar", "Text",
                         "Text: what the network reads: a toy grammar of short sentences (offline, instant), "
                         "tiny-shakespeare (downloaded once), the IMDB reviews as running text, or a .txt file.",
                         choices=CORPORA, short="{}", file_field="text_file")
    text_file: str = _field("", "Text file", "Text: a plain-text (.txt) file to read when the text is 'file'.",
                            path=True)
    level: str = _field("word", "Tokens", "Text: read and write the text word by word, or character by character.",
                        choices=LEVELS, short="{}")

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            _check(spec, getattr(self, spec.name))
        if self.bidirectional and self.task in NEXT_TOKEN_TASKS:
            raise ValueError("Bidirectional is off for text generation: its backward direction would read the "
                             "future, including the very token the network must predict, so it would learn to "
                             "copy it instead of predicting it.")

    # --- Derived views -------------------------------------------------------------------------------------

    @property
    def cell_title(self) -> str:
        return CELL_TITLES[self.cell]

    def label(self) -> str:
        """A short human name for the run, used in legends: 'LSTM 32×2 bi · adding T=50'. Runs that differ only in
        other settings share it; `rnnlab.records.distinct_names` tells those apart with `phrase`."""
        shape = f"{self.units}×{self.layers}" if self.layers > 1 else f"{self.units}"
        bidirectional = " bi" if self.bidirectional else ""
        return f"{self.cell_title} {shape}{bidirectional} · {self.task} T={self.seq_len}"

    def phrase(self, name: str) -> str | None:
        """A few words naming this run's value of setting `name` ("forget bias 5", "RMSprop"), or None for settings
        that the label already names or that never tell runs apart (file paths)."""
        spec = next(spec for spec in dataclasses.fields(self) if spec.name == name)
        short = spec.metadata["short"]
        if short is None or (name == "forget_bias" and self.cell != "lstm"):  # only an LSTM has a forget gate
            return None
        value = getattr(self, name)
        return short.format(CHOICE_TITLES.get(value, value) if isinstance(value, str) else value)

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with some fields changed (validated like any other)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RunConfig":
        """Build from a mapping such as a run record's `config`; unknown keys are an error, missing ones default."""
        names = {spec.name for spec in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown setting {unknown[0]!r}; the settings are: {', '.join(sorted(names))}.")
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})

    def to_query(self) -> dict[str, str]:
        """The fields that differ from the defaults, as strings, for a shareable URL."""
        default = RunConfig()
        query = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if value != getattr(default, spec.name):
                query[spec.name] = _format(value)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str], base: "RunConfig | None" = None) -> "RunConfig":
        """Read a URL's query parameters; parameters that are not settings are ignored (other pages use them)."""
        names = {spec.name for spec in dataclasses.fields(cls)}
        changes = {name: _coerce(cls, name, value) for name, value in query.items() if name in names}
        return dataclasses.replace(base or cls(), **changes)


# Task-specific starting points: what the sidebar switches to when a learner picks a task. Each trains in
# seconds on two CPU cores and shows the task's point (adding at T=50 is Hochreiter & Schmidhuber's setting).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "sine": {"seq_len": 30, "samples": 2000, "epochs": 10},
    "count": {"seq_len": 10, "samples": 2000, "epochs": 15},
    "adding": {"seq_len": 50, "samples": 6000, "epochs": 10},
    "recall": {"seq_len": 20, "samples": 6000, "epochs": 10},  # with 3,000 an LSTM stalls near 45% at T=20
    # Full Keras IMDB: ~50 s of training on two cores. A smaller CSV gets sizes that fit it on the IMDB page.
    "imdb": {"seq_len": 200, "samples": 20000, "eval_samples": 2500, "epochs": 3, "vocab_size": 10000},
    # The toy grammar word by word: windows of about three sentences; an LSTM(32) learns which words may follow
    # which in about 10 s (see the README's Next word section for the figures).
    "text": {"seq_len": 20, "samples": 3000, "eval_samples": 300, "epochs": 10, "embedding_dim": 16},
}


# What picking a text's tokens loads: characters need longer windows to hold as many words (lesson 8 reads characters
# in windows of 60, about 15 words; the word level's 20 tokens are about three of the grammar's sentences).
LEVEL_DEFAULTS: dict[str, dict[str, Any]] = {"word": {"seq_len": TASK_DEFAULTS["text"]["seq_len"]},
                                             "char": {"seq_len": 60}}


def defaults_for_task(task: str, base: RunConfig | None = None) -> RunConfig:
    """`base` (or the defaults) with the task's own sequence length, sample count and epochs."""
    if task not in TASK_DEFAULTS:
        raise ValueError(f"Unknown task {task!r}; choose one of: {', '.join(TASK_NAMES)}.")
    return (base or RunConfig()).replace(task=task, **TASK_DEFAULTS[task])


def from_link(query: Mapping[str, str] | str) -> RunConfig:
    """The configuration a shared link or a lesson's preset describes: its task's own defaults, then its settings.

    `query` is a mapping of parameters or a query string such as "task=adding&cell=simplernn&seq_len=50";
    parameters that are not settings are ignored, and a bad value raises `ValueError` naming the setting.
    """
    if isinstance(query, str):
        query = dict(urllib.parse.parse_qsl(query.lstrip("?")))
    return RunConfig.from_query(query, base=defaults_for_task(query.get("task", RunConfig().task)))


def read_link(query: Mapping[str, str] | str) -> tuple[RunConfig, list[str]]:
    """Like `from_link`, but a bad value costs only itself: the configuration keeps every valid setting of the link
    (on its task's defaults) and the list names each bad one in a sentence.

        read_link("cell=transformer&seq_len=abc&units=8")
        # (RunConfig(units=8, ...), ["Cell must be one of simplernn, lstm, gru; 'transformer' is not.",
        #                            "Sequence length (time steps) must be a whole number, not 'abc'."])
    """
    if isinstance(query, str):
        query = dict(urllib.parse.parse_qsl(query.lstrip("?")))
    errors = []
    task = query.get("task", RunConfig().task)
    if task not in TASK_DEFAULTS:
        errors.append(f"Task must be one of {', '.join(TASK_NAMES)}; {task!r} is not.")
        task = RunConfig().task
    config = defaults_for_task(task)
    names = {spec.name for spec in dataclasses.fields(RunConfig)} - {"task"}
    for name, value in query.items():
        if name not in names:
            continue  # other pages' parameters (the learner's token, a lesson's name)
        try:
            config = dataclasses.replace(config, **{name: _coerce(RunConfig, name, value)})
        except ValueError as error:
            errors.append(str(error))
    return config, errors


def field_info(name: str) -> Mapping[str, Any]:
    """The label, help text, limits and choices of one setting, for building widgets and CLI flags."""
    for spec in dataclasses.fields(RunConfig):
        if spec.name == name:
            return {**spec.metadata, "default": spec.default, "type": _field_type(spec)}
    raise KeyError(name)


def _field_type(spec: dataclasses.Field) -> type:
    # Annotations are strings under `from __future__ import annotations`; the default's type is the truth.
    return type(spec.default)


def _check(spec: dataclasses.Field, value: Any) -> None:
    info = spec.metadata
    label = info["label"]
    kind = _field_type(spec)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{label} must be true or false, not {value!r}.")
        return
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{label} must be text, not {value!r}.")
        if info["choices"] and value not in info["choices"]:
            raise ValueError(f"{label} must be one of {', '.join(info['choices'])}; {value!r} is not.")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{label} must be a number, not {value!r}.")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"{label} must be a whole number, not {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{label} must be a finite number, not {value!r}.")
    low, high = info["low"], info["high"]
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{label} must be between {_format(low)} and {_format(high)}; {_format(value)} is out of range.")


def _coerce(cls: type, name: str, value: Any) -> Any:
    """Turn text (from a URL or a form) into the field's type; other values pass through to validation."""
    spec = next(spec for spec in dataclasses.fields(cls) if spec.name == name)
    kind = _field_type(spec)
    if not isinstance(value, str) or kind is str:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    text = value.strip()
    label = spec.metadata["label"]
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        return float(text)
    except ValueError:
        expected = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise ValueError(f"{label} must be {expected}, not {value!r}.") from None


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
