"""Sequence tasks, generated with NumPy from a seed, and the `Dataset` every model trains on.

Four synthetic tasks, each small enough to train in seconds on two CPU cores and each showing something about
recurrent networks:

- `sine`: forecast the next value of a sine wave from a noisy window (time-series forecasting);
- `count`: continue an arithmetic sequence, [1, 2, 3, 4] -> 5, scaled to about [-1, 1];
- `adding`: the adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values in a long sequence;
- `recall`: name the token a sequence began with, after T-1 distractor tokens (long-range memory).

The fifth task, `imdb`, reads real movie reviews; it lives in `rnnlab.imdb`.

    dataset = make_dataset(RunConfig(task="adding", seq_len=50))
    dataset.x_train.shape   # (2000, 50, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rnnlab.config import RunConfig

# The largest training array we agree to build, in float32 values (about 1.6 GB), so an absurd request gets a
# clear message instead of exhausting the machine's memory.
MAX_VALUES = 400_000_000


@dataclass
class Dataset:
    """Training, validation and test arrays plus what a chart or a model needs to know about them.

    Continuous inputs are float32 `(samples, timesteps, features)`; token inputs (IMDB) are int32
    `(samples, timesteps)`. Targets are float32 `(samples, 1)` for regression, float32 `(samples,)` of 0/1 for
    binary classification, int32 `(samples,)` class indices for multi-class classification.
    """

    task: str
    title: str
    description: str
    kind: str  # "regression", "binary" or "multiclass"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    baseline_loss: float  # loss of a model that learned nothing (predicts the training mean or class shares)
    baseline_description: str
    feature_names: tuple[str, ...] = ()  # one per input channel, for continuous inputs
    class_names: tuple[str, ...] = ()  # one per class, for classification
    vocabulary: tuple[str, ...] | None = None  # index -> word, for token inputs
    source: str = "generated with NumPy from the seed"

    @property
    def is_tokens(self) -> bool:
        return self.x_train.ndim == 2

    @property
    def is_classification(self) -> bool:
        return self.kind in ("binary", "multiclass")

    @property
    def seq_len(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_features(self) -> int:
        """Input channels per time step (1 for token inputs, whose width the embedding decides)."""
        return 1 if self.is_tokens else int(self.x_train.shape[2])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary) if self.vocabulary is not None else 0

    @property
    def loss_name(self) -> str:
        return {"regression": "mse", "binary": "binary_crossentropy",
                "multiclass": "sparse_categorical_crossentropy"}[self.kind]


@dataclass(frozen=True)
class Task:
    """A synthetic task: how to make its sequences, and what they are for."""

    name: str
    title: str
    description: str
    kind: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    generate: Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _sine(n: int, seq_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Each sequence has its own frequency and phase, so the network must read them off the window.
    frequency = rng.uniform(0.03, 0.1, size=(n, 1))  # cycles per time step
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1))
    steps = np.arange(seq_len + 1)[None, :]  # (1, T+1)
    wave = np.sin(2.0 * np.pi * frequency * steps + phase)  # (n, T+1)
    window = wave[:, :seq_len] + rng.normal(0.0, 0.1, size=(n, seq_len))  # noisy observations
    x = window[:, :, None].astype(np.float32)  # (n, T, 1)
    y = wave[:, seq_len:].astype(np.float32)  # (n, 1): the clean next value
    return x, y


def count_scale(seq_len: int) -> float:
    """What the counting task divides its whole numbers by: the largest magnitude a sequence of this length reaches
    (start up to 9, step up to 5), so inputs and targets stay within [-1, 1] at any length."""
    return 9.0 + 5.0 * seq_len


def _count(n: int, seq_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    start = rng.integers(-9, 10, size=(n, 1))
    step = rng.choice(np.r_[-5:0, 1:6], size=(n, 1))  # never 0, so every sequence counts
    values = start + step * np.arange(seq_len + 1)[None, :]  # (n, T+1)
    scale = count_scale(seq_len)
    x = (values[:, :seq_len, None] / scale).astype(np.float32)  # (n, T, 1)
    y = (values[:, seq_len:] / scale).astype(np.float32)  # (n, 1)
    return x, y


def _adding(n: int, seq_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    values = rng.uniform(0.0, 1.0, size=(n, seq_len))
    markers = np.zeros((n, seq_len))
    # One marked value in each half of the sequence, as in Hochreiter & Schmidhuber's setting.
    half = max(seq_len // 2, 1)
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, seq_len, size=n)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)  # (n, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)  # (n, 1)
    return x, y


RECALL_TOKENS = ("A", "B", "C", "D")


def _recall(n: int, seq_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tokens = rng.integers(0, len(RECALL_TOKENS), size=(n, seq_len))  # (n, T): step 0 is the one to remember
    x = np.eye(len(RECALL_TOKENS), dtype=np.float32)[tokens]  # (n, T, 4) one-hot
    y = tokens[:, 0].astype(np.int32)  # (n,)
    return x, y


TASKS: dict[str, Task] = {
    "sine": Task("sine", "Sine forecast",
                 "Forecast the next value of a sine wave from a window of noisy readings.",
                 "regression", ("reading",), (), _sine),
    "count": Task("count", "Counting",
                  "Continue an arithmetic sequence: [1, 2, 3, 4] → 5 (values scaled to about ±1).",
                  "regression", ("value",), (), _count),
    "adding": Task("adding", "Adding problem",
                   "Add the two marked values in a long sequence of random numbers (Hochreiter & Schmidhuber 1997).",
                   "regression", ("value", "marker"), (), _adding),
    "recall": Task("recall", "Recall the first token",
                   "Name the token a sequence began with, after many distractor tokens (long-range memory).",
                   "multiclass", tuple(f"token {t}" for t in RECALL_TOKENS), RECALL_TOKENS, _recall),
}


def make_dataset(config: RunConfig) -> Dataset:
    """The data for `config`: training, validation and test sets, each from its own stream of the same seed."""
    if config.task == "imdb":
        from rnnlab import imdb  # Imported here: it pulls in text processing that synthetic runs never need.

        return imdb.load_dataset(config)
    task = TASKS[config.task]
    width = len(task.feature_names)
    size = (config.samples + 2 * config.eval_samples) * config.seq_len * width
    if size > MAX_VALUES:
        raise ValueError(
            f"{config.samples:,} training sequences of {config.seq_len} steps would need about "
            f"{size * 4 / 1e9:.1f} GB; use fewer sequences or shorter ones.")
    # Separate, seeded streams: the validation and test sets never depend on how many training sequences exist.
    x_train, y_train = task.generate(config.samples, config.seq_len, np.random.default_rng([config.seed, 0]))
    x_val, y_val = task.generate(config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 1]))
    x_test, y_test = task.generate(config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 2]))
    baseline, baseline_description = baseline_loss(task.kind, y_train, y_val, len(task.class_names))
    return Dataset(
        task=task.name, title=task.title, description=task.description, kind=task.kind,
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
        baseline_loss=baseline, baseline_description=baseline_description,
        feature_names=task.feature_names, class_names=task.class_names)


def baseline_loss(kind: str, y_train: np.ndarray, y_val: np.ndarray, n_classes: int) -> tuple[float, str]:
    """Validation loss of a model that learned nothing but the training targets' average, and what that means."""
    if kind == "regression":
        mean = float(np.mean(y_train))
        mse = float(np.mean((y_val - mean) ** 2))
        return mse, f"always answering the average target ({mean:.3f})"
    counts = np.bincount(np.asarray(y_train, dtype=np.int64).ravel(), minlength=max(n_classes, 2))
    shares = np.clip(counts / counts.sum(), 1e-7, 1.0)
    if kind == "binary":
        p = shares[1]
        y = np.asarray(y_val, dtype=np.float64).ravel()
        entropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return float(entropy), f"always answering the share of positive examples ({p:.2f})"
    entropy = -np.mean(np.log(shares[np.asarray(y_val, dtype=np.int64).ravel()]))
    return float(entropy), "always answering each class's share of the training set"


# How each kind of task's loss reads on a chart axis.
LOSS_LABELS = {"regression": "mean squared error", "binary": "binary cross-entropy (nats)",
               "multiclass": "cross-entropy (nats)"}


def task_kind(task: str) -> str:
    """'regression', 'binary' or 'multiclass', without generating any data."""
    return "binary" if task == "imdb" else TASKS[task].kind
