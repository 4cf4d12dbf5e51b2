"""Four synthetic sequence tasks, generated with NumPy from a seed; each small enough to train in seconds on two CPU
cores and each showing something about recurrent networks:

- `sine`: forecast the next value of a sine wave from a noisy window (time-series forecasting);
- `count`: continue an arithmetic sequence, [1, 2, 3, 4] -> 5, scaled to about [-1, 1];
- `adding`: the adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values in a long sequence;
- `recall`: name the token a sequence began with, after T-1 distractor tokens (long-range memory).

Each task also reads sequences a learner types (Inside the cell), says the network's answer in its own terms, and
writes its generator into the exported scripts: the very NumPy function below (copied by `inspect`) into the Python
one, and the same generator written in base R (`_R_GENERATORS`) into the R one. R's random numbers cannot reproduce
NumPy's, so the R data are sequences of the same kind, shape and meaning, not the same numbers.

    task = TASKS["adding"]
    dataset = task.make(RunConfig(task="adding", seq_len=50))   # x_train (6000, 50, 2)
    task.parse("0.3:0 0.9:1 0.2:0 0.5:1", dataset)              # (1, 4, 2) values and markers

What to type, per task:

- `sine`: readings separated by commas or spaces, e.g. `0, 0.5, 0.9, 1, 0.8` (the training waves stay within ±1.1).
- `count`: whole numbers as you would count, e.g. `1, 3, 5, 7`. The network never sees raw integers: the task
  divides every value by 9 + 5·T (T = the training sequence length), and so does the parser, so `7` becomes
  exactly what the network was trained on for 7.
- `adding`: `value:marker` pairs, e.g. `0.3:0 0.9:1 0.2:0 0.5:1` (a number alone is unmarked), or two lines: the
  values on the first and the 0/1 markers on the second.
- `recall`: the tokens A B C D, e.g. `A B C D A` or `ABCDA`.

Every typing problem raises ValueError with one sentence saying what is wrong and what to type instead.
"""

from __future__ import annotations

import inspect
import math
import re
from typing import Callable

import numpy as np

from rnnlab.budget import Shape
from rnnlab.config import RunConfig, field_info
from rnnlab.data.base import DataError, Dataset, Task, baseline_loss

# The largest training array we agree to build, in float32 values (about 1.6 GB), so an absurd request gets a
# clear message instead of exhausting the machine's memory.
MAX_VALUES = 400_000_000
# A typed sequence's length limits: the same as the configuration's sequence length (`RunConfig.seq_len`).
MIN_STEPS, MAX_STEPS = int(field_info("seq_len")["low"]), int(field_info("seq_len")["high"])

_SEPARATORS = re.compile(r"[\s,;]+")


# --- The generators (copied verbatim into exported scripts: NumPy only) -----------------------------------------

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


# --- The same generators in base R (for the R export) -----------------------------------------------------------
# Each defines `<task>_data(n, timesteps)` returning list(x = (n, T, features) array, y = targets) with the NumPy
# generator's shapes and meaning. R indexes from 1, so time steps run 1..T; recall's class indices stay 0..3, as
# Keras's sparse cross-entropy expects. `tests/test_export_r.py` runs them with Rscript and checks the meaning.

_R_GENERATORS = {
    "sine": """\
sine_data <- function(n, timesteps) {
  # Each sequence has its own frequency and phase, so the network must read them off the window.
  frequency <- runif(n, 0.03, 0.1)  # cycles per time step
  phase <- runif(n, 0, 2 * pi)
  wave <- sin(2 * pi * outer(frequency, 0:timesteps) + phase)  # (n, T+1); row i gets phase[i]
  readings <- wave[, 1:timesteps, drop = FALSE] + rnorm(n * timesteps, 0, 0.1)  # noisy observations
  list(x = array(readings, dim = c(n, timesteps, 1)),  # (n, T, 1)
       y = wave[, timesteps + 1, drop = FALSE])  # (n, 1): the clean next value
}""",
    "count": """\
# What the whole numbers are divided by: the largest magnitude a sequence of this length reaches (start up to 9,
# step up to 5), so inputs and targets stay within [-1, 1] at any length.
count_scale <- function(timesteps) 9 + 5 * timesteps

count_data <- function(n, timesteps) {
  start <- sample(-9:9, n, replace = TRUE)
  step <- sample(c(-5:-1, 1:5), n, replace = TRUE)  # never 0, so every sequence counts
  values <- start + outer(step, 0:timesteps)  # (n, T+1); row i starts at start[i]
  scale <- count_scale(timesteps)
  list(x = array(values[, 1:timesteps, drop = FALSE] / scale, dim = c(n, timesteps, 1)),  # (n, T, 1)
       y = values[, timesteps + 1, drop = FALSE] / scale)  # (n, 1)
}""",
    "adding": """\
adding_data <- function(n, timesteps) {
  values <- matrix(runif(n * timesteps), n, timesteps)
  # One marked value in each half of the sequence, as in Hochreiter & Schmidhuber's setting.
  half <- max(timesteps %/% 2, 1)
  first <- sample.int(half, n, replace = TRUE)  # a step in 1..half
  second <- half + sample.int(timesteps - half, n, replace = TRUE)  # a step in (half + 1)..T
  rows <- seq_len(n)
  markers <- matrix(0, n, timesteps)
  markers[cbind(rows, first)] <- 1
  markers[cbind(rows, second)] <- 1
  list(x = array(c(values, markers), dim = c(n, timesteps, 2)),  # (n, T, 2): values, then markers
       y = matrix(values[cbind(rows, first)] + values[cbind(rows, second)], ncol = 1))  # (n, 1)
}""",
    "recall": """\
recall_data <- function(n, timesteps) {
  # Tokens 1..4 stand for A, B, C, D; step 1 is the one to remember.
  tokens <- matrix(sample.int(4, n * timesteps, replace = TRUE), n, timesteps)  # (n, T)
  x <- array(0, dim = c(n, timesteps, 4))  # (n, T, 4) one-hot
  for (token in 1:4) x[, , token] <- tokens == token
  list(x = x, y = tokens[, 1] - 1L)  # (n,): class indices 0..3, as sparse categorical cross-entropy expects
}""",
}


# --- The tasks ------------------------------------------------------------------------------------------------

class SyntheticTask(Task):
    """A task whose sequences a seeded NumPy generator makes; training, validation and test use separate streams."""

    generate: Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
    typing_example: str = ""

    def make(self, config: RunConfig) -> Dataset:
        width = len(self.feature_names)
        size = (config.samples + 2 * config.eval_samples) * config.seq_len * width
        if size > MAX_VALUES:
            raise DataError(
                f"{config.samples:,} training sequences of {config.seq_len} steps would need about "
                f"{size * 4 / 1e9:.1f} GB; use fewer sequences or shorter ones.")
        # Separate, seeded streams: the validation and test sets never depend on how many training sequences exist.
        generate = type(self).generate
        x_train, y_train = generate(config.samples, config.seq_len, np.random.default_rng([config.seed, 0]))
        x_val, y_val = generate(config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 1]))
        x_test, y_test = generate(config.eval_samples, config.seq_len, np.random.default_rng([config.seed, 2]))
        baseline, baseline_description = baseline_loss(self.kind, y_train, y_val, len(self.class_names))
        return Dataset(
            task=self.name, title=self.title, description=self.description, kind=self.kind,
            x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
            baseline_loss=baseline, baseline_description=baseline_description,
            feature_names=self.feature_names, class_names=self.class_names)

    # --- Typing ------------------------------------------------------------------------------------------------

    @property
    def can_type(self) -> bool:
        return True

    def _limits(self) -> str:
        return f"{MIN_STEPS} to {MAX_STEPS:,} steps"

    def parse(self, text: str, dataset: Dataset) -> np.ndarray:
        """Read a typed sequence into float32 `(1, T, features)`; see the module docstring."""
        text = (text or "").strip()
        if not text:
            raise ValueError(f"The sequence is empty. {self.typing_help(dataset)}")
        x = self._read(text, dataset)  # (T, features)
        steps = len(x)
        if steps < MIN_STEPS:
            raise ValueError(f"The sequence has {steps} step{'' if steps == 1 else 's'}; type at least {MIN_STEPS}.")
        if steps > MAX_STEPS:
            raise ValueError(f"The sequence has {steps:,} steps; type at most {MAX_STEPS:,}.")
        return x.astype(np.float32)[None]  # (1, T, features)

    def _read(self, text: str, dataset: Dataset) -> np.ndarray:
        raise NotImplementedError

    # --- Export ------------------------------------------------------------------------------------------------

    def keras_data_code(self, config: RunConfig) -> str:
        generate = type(self).generate
        return (f"# Data: {self.title}. {self.description}\n{self._export_constants()}{inspect.getsource(generate)}\n\n"
                f"x_train, y_train = {generate.__name__}({config.samples}, SEQ_LEN, "
                f"np.random.default_rng([SEED, 0]))\n"
                f"x_val, y_val = {generate.__name__}({config.eval_samples}, SEQ_LEN, "
                f"np.random.default_rng([SEED, 1]))")

    def _export_constants(self) -> str:
        """What the generator uses besides NumPy, written before it in the exported script."""
        return ""

    def keras_input_code(self, config: RunConfig) -> list[str]:
        return [f"keras.Input(shape=(SEQ_LEN, {len(self.feature_names)}))"]

    def budget_shape(self, config: RunConfig) -> Shape:
        return Shape.for_sequences(config, features=len(self.feature_names), outputs=max(len(self.class_names), 1))

    def r_data_code(self, config: RunConfig) -> str:
        if self.name not in _R_GENERATORS:  # a new task written for Python first
            raise NotImplementedError(f"{self.name} has no R generator")
        return (f"# Data: {self.title}. {self.description}\n"
                "# R's random numbers are not NumPy's: R cannot draw the very sequences RNN Lab and its Python export\n"
                "# draw, so these are sequences of the same kind, shape and meaning, made by the same rules.\n"
                f"{_R_GENERATORS[self.name]}\n\n"
                "# Training and validation sequences come from streams of their own, so the validation set never\n"
                "# depends on how many training sequences there are.\n"
                f"set.seed(SEED)\n"
                f"train <- {self.name}_data({config.samples}, SEQ_LEN)\n"
                f"set.seed(SEED - 1L)\n"
                f"val <- {self.name}_data({config.eval_samples}, SEQ_LEN)\n"
                "x_train <- train$x\n"
                "y_train <- train$y\n"
                "x_val <- val$x\n"
                "y_val <- val$y")

    def r_input_code(self, config: RunConfig) -> list[str]:
        return [f"keras_model_sequential(input_shape = c(SEQ_LEN, {len(self.feature_names)}))"]


class SineTask(SyntheticTask):
    name, title = "sine", "Sine forecast"
    description = "Forecast the next value of a sine wave from a window of noisy readings."
    kind, feature_names, answer_chart = "regression", ("reading",), "forecast"
    generate = _sine

    def typing_help(self, dataset: Dataset) -> str:
        return f"Type readings separated by commas or spaces, e.g. 0, 0.5, 0.9, 1, 0.8 ({self._limits()})."

    def _read(self, text: str, dataset: Dataset) -> np.ndarray:
        return np.asarray(_numbers(_SEPARATORS.split(text), "0, 0.5, 0.9, 1, 0.8"))[:, None]  # (T, 1)

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        return ", ".join(f"{value:.2f}" for value in np.asarray(sequence)[:, 0])


class CountTask(SyntheticTask):
    name, title = "count", "Counting"
    description = "Continue an arithmetic sequence: [1, 2, 3, 4] → 5 (values scaled to about ±1)."
    kind, feature_names, answer_chart = "regression", ("value",), "forecast"
    generate = _count

    @staticmethod
    def scale(dataset: Dataset) -> float:
        """What the task divided its integers by: 9 + 5·T for the *training* length T, so a typed sequence of any
        length is scaled exactly as the sequences the network was trained on."""
        return count_scale(dataset.seq_len)

    def typing_help(self, dataset: Dataset) -> str:
        return (f"Type whole numbers as you would count, e.g. 1, 3, 5, 7 ({self._limits()}); each is divided by "
                f"{self.scale(dataset):g} (9 + 5 × {dataset.seq_len}, the training length), as the task's data is.")

    def _read(self, text: str, dataset: Dataset) -> np.ndarray:
        return (np.asarray(_whole_numbers(_SEPARATORS.split(text))) / self.scale(dataset))[:, None]  # (T, 1)

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        return ", ".join(str(int(round(value * self.scale(dataset)))) for value in np.asarray(sequence)[:, 0])

    def answer_text(self, dataset: Dataset, output: np.ndarray, target=None) -> str:
        value, scale = float(np.ravel(output)[0]), self.scale(dataset)
        text = f"**{value * scale:.2f}** (the network's {value:.3f} × {scale:g})"
        if target is not None:
            text += f"; the true next value is **{float(np.ravel(target)[0]) * scale:.0f}**"
        return text

    def _export_constants(self) -> str:
        return inspect.getsource(count_scale) + "\n\n"


class AddingTask(SyntheticTask):
    name, title = "adding", "Adding problem"
    description = "Add the two marked values in a long sequence of random numbers (Hochreiter & Schmidhuber 1997)."
    kind, feature_names, answer_chart = "regression", ("value", "marker"), "scatter"
    generate = _adding

    def typing_help(self, dataset: Dataset) -> str:
        return (f"Type value:marker pairs, e.g. 0.3:0 0.9:1 0.2:0 0.5:1 (a value alone is unmarked), or the values "
                f"on one line and the 0/1 markers on a second ({self._limits()}).")

    def _read(self, text: str, dataset: Dataset) -> np.ndarray:
        lines = [line for line in text.splitlines() if line.strip()]
        if ":" not in text and len(lines) == 2:
            # Two lines: values on the first, markers on the second.
            values = _numbers(_SEPARATORS.split(lines[0].strip()), "0.3, 0.9, 0.2, 0.5")
            markers = [_marker(token) for token in _SEPARATORS.split(lines[1].strip()) if token]
            if len(values) != len(markers):
                raise ValueError(f"The first line has {len(values)} values but the second has {len(markers)} "
                                 "markers; give one 0/1 marker per value.")
            return np.stack([values, markers], axis=-1)  # (T, 2)
        pairs = []
        for token in _SEPARATORS.split(text):
            if not token:
                continue
            value, _, marker = token.partition(":")
            if not value:
                raise ValueError(f"'{token}' has no value before the colon; type pairs such as 0.3:0 0.9:1.")
            pairs.append((_number(value, "0.3:0 0.9:1 0.2:0 0.5:1"), _marker(marker) if marker else 0.0))
        return np.asarray(pairs, dtype=np.float64).reshape(-1, 2)  # (T, 2)

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        return " ".join(f"{value:.2f}:{int(round(marker))}" for value, marker in np.asarray(sequence))

    def true_answer(self, sequence: np.ndarray) -> np.ndarray:
        """The sum of the marked values of one sequence `(T, 2)`: what the network should answer."""
        sequence = np.asarray(sequence, dtype=np.float64)
        return np.float32([(sequence[:, 0] * (sequence[:, 1] > 0.5)).sum()])  # (1,)


class RecallTask(SyntheticTask):
    name, title = "recall", "Recall the first token"
    description = "Name the token a sequence began with, after many distractor tokens (long-range memory)."
    kind, answer_chart = "multiclass", "confusion"
    feature_names = tuple(f"token {token}" for token in RECALL_TOKENS)
    class_names = RECALL_TOKENS
    generate = _recall

    def typing_help(self, dataset: Dataset) -> str:
        return f"Type the tokens {' '.join(dataset.class_names)}, e.g. A B C D A or ABCDA ({self._limits()})."

    def _read(self, text: str, dataset: Dataset) -> np.ndarray:
        letters = []
        for word in _SEPARATORS.split(text.upper()):
            letters.extend(word)  # "ABCDA" and "A B C D A" read the same
        index = {token: position for position, token in enumerate(dataset.class_names)}
        unknown = next((letter for letter in letters if letter not in index), None)
        if unknown is not None:
            raise ValueError(f"'{unknown}' is not a token; type only the letters {', '.join(dataset.class_names)}, "
                             "e.g. A B C D A.")
        return np.eye(len(dataset.class_names))[[index[letter] for letter in letters]]  # (T, tokens) one-hot

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        return " ".join(dataset.class_names[int(index)] for index in np.asarray(sequence).argmax(axis=-1))

    def true_answer(self, sequence: np.ndarray) -> np.int32:
        """The first token of one sequence `(T, tokens)`: what the network should name."""
        return np.int32(np.asarray(sequence).argmax(axis=-1)[0])

    def _export_constants(self) -> str:
        return f"RECALL_TOKENS = {RECALL_TOKENS!r}\n\n\n"


SYNTHETIC_TASKS: dict[str, SyntheticTask] = {task.name: task for task in
                                             (SineTask(), CountTask(), AddingTask(), RecallTask())}


# --- Reading numbers a learner typed --------------------------------------------------------------------------

def _number(token: str, example: str) -> float:
    try:
        value = float(token.replace("−", "-"))
    except ValueError:
        raise ValueError(f"'{token}' is not a number; type numbers separated by commas or spaces, e.g. {example}.") \
            from None
    if not math.isfinite(value):
        raise ValueError(f"'{token}' is not a finite number; type ordinary numbers, e.g. {example}.")
    return value


def _numbers(tokens: list[str], example: str) -> list[float]:
    return [_number(token, example) for token in tokens if token]


def _whole_numbers(tokens: list[str]) -> list[float]:
    values = _numbers(tokens, "1, 3, 5, 7")
    for token, value in zip([token for token in tokens if token], values):
        if not value.is_integer():
            raise ValueError(f"Counting sequences are whole numbers, and '{token}' is not; type e.g. 1, 3, 5, 7.")
    return values


def _marker(token: str) -> float:
    if token.strip() not in ("0", "1", "0.0", "1.0"):
        raise ValueError(f"A marker must be 0 or 1, not '{token}'; type pairs such as 0.3:0 0.9:1.")
    return float(token)

