"""What every data source gives a model (`Dataset`), what every task must be able to do (`Task`), and the rules that
hold for all of them: the baseline loss of a network that learned nothing, and when a probability counts as "yes".

A task is one kind of data a run can train on (the sine forecast, the adding problem, IMDB reviews, ...). It owns
everything that depends on which task it is: making its data, reading a sequence a learner types, saying the
network's answer in the task's own terms, naming its time steps, and writing its data as code for the export. The
rest of RNN Lab asks the task instead of testing task names, so a new data source is one new module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # only for annotations: importing config here would not cycle, but nothing else needs it
    from rnnlab.budget import Shape
    from rnnlab.config import RunConfig

# Keras's binary accuracy counts an example as positive when its probability is strictly above this; every page,
# chart and table of RNN Lab uses the same rule (`predicted_classes`), so the counts on screen add up to Keras's
# accuracy.
BINARY_THRESHOLD = 0.5

# How each kind of task's loss reads on a chart axis.
LOSS_LABELS = {"regression": "mean squared error", "binary": "binary cross-entropy (nats)",
               "multiclass": "cross-entropy (nats)", "next_token": "cross-entropy (nats per token)"}
KINDS = tuple(LOSS_LABELS)


class DataError(ValueError):
    """The data could not be made or read as asked; the message is one sentence saying what to do instead."""


class DownloadUnavailable(DataError):
    """A data set that downloads on first use (Keras's IMDB, tiny-shakespeare) could not be fetched and is not
    cached. The way out depends on where the learner reads the message, so the task gives one per place:
    `ways_out = {"python": ..., "cli": ..., "app": ...}`; `str(error)` is the Python one."""

    def __init__(self, what: str, cache: str, ways_out: dict[str, str]) -> None:
        self.what, self.cache, self.ways_out = what, cache, ways_out
        super().__init__(self.sentence("python"))

    def sentence(self, where: str) -> str:
        return (f"{self.what} could not be downloaded (there is no internet connection here) and are not cached at "
                f"{self.cache}; {self.ways_out[where]}.")


@dataclass
class Dataset:
    """Training, validation and test arrays plus what a chart or a model needs to know about them.

    Continuous inputs are float32 `(samples, timesteps, features)`; token inputs (IMDB, text) are int32
    `(samples, timesteps)`. Targets are float32 `(samples, 1)` for regression, float32 `(samples,)` of 0/1 for
    binary classification, int32 `(samples,)` class indices for multi-class classification, and int32
    `(samples, timesteps)` next-token ids for text generation.
    """

    task: str
    title: str
    description: str
    kind: str  # one of KINDS
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
    # Text generation: the Keras `TextVectorization` layer that turned the text into these ids (its vocabulary is
    # `vocabulary`; its split says whether a token is a word or a character), so a learner's prompt is read exactly
    # as the training text was.
    vectorizer: Any = None
    # Where the data source knows what kind of word each word is (the toy grammar: "animal", "verb, no object",
    # ...): word -> category, for showing what the hidden state learned about them.
    categories: dict[str, str] | None = None

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
        return {"regression": "mse", "binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy",
                "next_token": "sparse_categorical_crossentropy"}[self.kind]

    @property
    def outputs(self) -> int:
        """Width of the network's answer: 1 for regression and binary tasks, else one per class or word."""
        if self.kind == "multiclass":
            return self.n_classes
        if self.kind == "next_token":
            return self.vocab_size
        return 1


class Task:
    """One data source: its data, and everything about it that differs from task to task.

    Subclasses set the class attributes and implement `make`; the other methods have defaults that fit a task whose
    examples cannot be typed by hand.
    """

    name: str = ""
    title: str = ""
    description: str = ""
    kind: str = "regression"
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    items: str = "sequences"  # what one example is called, in the plural: "sequences", "reviews", "windows"
    steps: str = "time steps"  # what one position of a sequence is called: "time steps", "words", "tokens"
    answer_chart: str = "scatter"  # how its answers are drawn: "forecast", "scatter" or "confusion"
    field_labels: dict[str, str] = {}  # how this task names some settings, e.g. {"samples": "Training reviews"}

    @property
    def is_classification(self) -> bool:
        return self.kind in ("binary", "multiclass")

    def field_label(self, name: str, default: str) -> str:
        """The label of setting `name` for this task ("Training reviews" rather than "Training sequences")."""
        return self.field_labels.get(name, default)

    def make(self, config: "RunConfig") -> Dataset:
        """Training, validation and test data for `config`; raises `DataError` with a sentence if it cannot."""
        raise NotImplementedError

    def budget_shape(self, config: "RunConfig") -> "Shape":
        """What `rnnlab.budget` needs to know of this task's data for `config`, without making the data."""
        raise NotImplementedError

    def fit(self, config: "RunConfig") -> tuple["RunConfig", str | None]:
        """`config` with sizes shrunk to what the data holds, and one sentence saying what changed (None if
        nothing did). Generated data always fits; a file may be smaller than the defaults ask for."""
        return config, None

    # --- Sequences a learner types, and answers in the task's terms ---------------------------------------------

    @property
    def can_type(self) -> bool:
        """Whether a learner can type an example of this task by hand (Inside the cell)."""
        return False

    def typing_help(self, dataset: Dataset) -> str:
        return f"Typed sequences are not offered for {self.title}; pick a validation example instead."

    def parse(self, text: str, dataset: Dataset) -> np.ndarray:
        """A typed example as the model's input `(1, T, ...)`; raises ValueError with a sentence if it is not one."""
        raise ValueError(self.typing_help(dataset))

    def example_text(self, dataset: Dataset, sequence: np.ndarray) -> str:
        """One example written the way `parse` reads it back."""
        raise ValueError(self.typing_help(dataset))

    def answer_text(self, dataset: Dataset, output: np.ndarray, target=None) -> str:
        """The network's answer `output` `(outputs,)` in the task's terms, with the true answer when it is known."""
        output = np.asarray(output, dtype=np.float64).ravel()
        if self.kind in ("multiclass", "binary"):
            names = dataset.class_names
            best = int(predicted_classes(self.kind, output[None])[0])
            shown = output[best] if self.kind == "multiclass" else output[0]
            what = "probability" if self.kind == "multiclass" else f"probability of {names[1]}"
            text = f"**{names[best]}** ({what} {shown:.2f})"
            if target is not None:
                text += f"; the true answer is **{names[int(np.ravel(target)[0])]}**"
            return text
        text = f"**{float(output[0]):.3f}**"
        if target is not None:
            text += f"; the true answer is **{float(np.ravel(target)[0]):.3f}**"
        return text

    def true_answer(self, sequence: np.ndarray):
        """The right answer for one typed sequence `(T, features)` when the sequence alone decides it (the adding
        problem's sum, recall's first token); None when it does not (a forecast's next value is not in it)."""
        return None

    def step_labels(self, dataset: Dataset, sequence: np.ndarray) -> list[str] | None:
        """A label per time step of one input sequence (the words of a review), or None for plain numbers."""
        return None

    # --- What a run records of the model after every epoch ---------------------------------------------------

    def epoch_probes(self, config: "RunConfig", dataset: Dataset) -> dict[str, Callable[[Any], Any]]:
        """Functions of the model that the trainer calls after every epoch, by the `RunRecord` list each value is
        appended to (text generation: {"generated": a short sample of text}). Most tasks record nothing extra."""
        return {}

    # --- The data as Keras code, for the export --------------------------------------------------------------

    def keras_data_code(self, config: "RunConfig") -> str:
        """Python that defines `x_train, y_train, x_val, y_val` for this task (NumPy and Keras only)."""
        raise NotImplementedError

    def keras_input_code(self, config: "RunConfig") -> list[str]:
        """The model's first layers in the exported script: the input, and an embedding for token inputs."""
        raise NotImplementedError

    def r_data_code(self, config: "RunConfig") -> str:
        """R that defines `x_train, y_train, x_val, y_val` for this task, for the R export (base R and keras3 only,
        using the script's `SEED` and `SEQ_LEN`). Raises NotImplementedError for a task the R export does not cover."""
        raise NotImplementedError

    def r_input_code(self, config: "RunConfig") -> list[str]:
        """The start of the model in the R export: a `keras_model_sequential(...)` call with the input's shape, then
        any layers before the recurrent stack (an embedding for token inputs), each an R call the script pipes on."""
        raise NotImplementedError


def predicted_classes(kind: str, outputs: np.ndarray) -> np.ndarray:
    """The class each row of `outputs` `(examples, outputs)` predicts: argmax, or above BINARY_THRESHOLD."""
    outputs = np.asarray(outputs)
    if kind == "binary":
        return (outputs.reshape(len(outputs), -1)[:, 0] > BINARY_THRESHOLD).astype(np.int64)
    return outputs.argmax(axis=-1).astype(np.int64)


def confusion_matrix(kind: str, labels: np.ndarray, outputs: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts `(classes, classes)`: rows the true class, columns the predicted one (`predicted_classes`)."""
    truth = np.asarray(labels).astype(np.int64).ravel()
    guessed = predicted_classes(kind, outputs)
    if truth.shape != guessed.shape:
        raise ValueError(f"{truth.size} labels but {guessed.size} predictions; give one of each per example.")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (truth, guessed), 1)
    return matrix


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
    if kind == "next_token":
        return float(entropy), "always answering each token's share of the training text (the unigram model)"
    return float(entropy), "always answering each class's share of the training set"
