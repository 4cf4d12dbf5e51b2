"""Build the Keras model a configuration describes, and explain its parameters.

The model is plain Keras: an input, an `Embedding` for token inputs, one to four `SimpleRNN`/`LSTM`/`GRU` layers
(each optionally wrapped in `Bidirectional`, each but the last returning its whole sequence), optional `Dropout`,
and a `Dense` head that fits the task. A next-token model (text generation) answers at every step: every recurrent
layer returns its whole sequence, and the head gives logits over the vocabulary at each step, trained with sparse
categorical cross-entropy from logits (nats per token). Its perplexity, exp(loss), joins Keras's logs through a
callback (`history_callbacks`) rather than a metric, which would compute the softmax cross-entropy a second time
(measured: a metric cost about 30% of the training speed of a character-level LSTM(128) on two cores).

    model = build_model(config, dataset)
    layer_table(model)                       # rows of name, kind, output shape, parameters
    parameter_formula(config, dataset)       # the closed-form count, layer by layer
    model, dataset = untrained_model(config) # the network before training, and the data it reads
    describe_layers(config)                  # the layer table with each layer's formula
    summary_text(model)                      # what model.summary() prints
"""

from __future__ import annotations

import contextlib
import math
import random
import threading

import keras
import numpy as np
from keras.src.random import seed_generator as keras_seed_generator

from rnnlab.config import CELL_TITLES, RunConfig
from rnnlab.introspect import layers as introspect_layers
from rnnlab.data import Dataset, make_dataset

_CELL_CLASSES = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}

# How many weight blocks (gates plus candidate) each cell has: its parameter count is that many SimpleRNNs.
GATE_BLOCKS = {"simplernn": 1, "lstm": 4, "gru": 3}

# Keras seeds weights from process-wide random state, so two learners building models at the same moment on
# one server could interleave draws. Building under this lock keeps every model a function of its own seed.
_BUILD_LOCK = threading.Lock()


class Perplexity(keras.callbacks.Callback):
    """Adds `perplexity` and `val_perplexity` to Keras's logs after every epoch: exp of the epoch's mean
    cross-entropy per token, i.e. how many equally likely tokens the model's uncertainty is worth. Callbacks after
    it in the same `fit` (the History, RNN Lab's trainer) see them as if Keras had reported them."""

    def on_epoch_end(self, epoch, logs=None) -> None:
        if logs is None:
            return
        for name in ("loss", "val_loss"):
            if name in logs:
                loss = float(logs[name])
                logs[name.replace("loss", "perplexity")] = math.exp(loss) if loss < 700 else math.inf


def history_callbacks(dataset: Dataset) -> list[keras.callbacks.Callback]:
    """Keras callbacks that complete the history of a model built for `dataset` (a next-token model's perplexity);
    pass them to `fit` before any callback that reads the logs."""
    return [Perplexity()] if dataset.kind == "next_token" else []


def build_model(config: RunConfig, dataset: Dataset) -> keras.Model:
    """A compiled Keras model for `config`, with weights drawn from `config.seed`."""
    with _BUILD_LOCK, _private_python_random(config.seed):
        keras.utils.set_random_seed(config.seed)
        model = _assemble(config, dataset)
        _apply_initial_scales(model, config)
    model.compile(optimizer=make_optimizer(config), loss=_loss(dataset), metrics=_metrics(dataset))
    return model


def _loss(dataset: Dataset):
    if dataset.kind == "next_token":  # the head gives logits: the softmax is part of the loss
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return dataset.loss_name


def _metrics(dataset: Dataset) -> list:
    return ["accuracy"] if dataset.is_classification else []


@contextlib.contextmanager
def _private_python_random(seed: int):
    """While a model is built, Keras draws its initializers' seeds from a private `random.Random(seed)`.

    Keras gives every initializer without a seed one drawn from Python's process-wide `random`. Any other thread
    drawing from it during a build (Dask's event loop in a worker process, Tornado in the web server) changed the
    weights: measured, 10 builds of 10 differed while a thread called `random.random()`. A private generator seeded
    as `set_random_seed` seeds the global one draws the same numbers an undisturbed build drew, whatever else runs.
    """
    original = keras_seed_generator.python_random
    keras_seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        keras_seed_generator.python_random = original


def recurrent_layer_name(config: RunConfig, index: int) -> str:
    """Name of the index-th recurrent layer (0-based) in a model built here: 'lstm_1', 'lstm_2', ..."""
    return f"{config.cell}_{index + 1}"


def _recurrent_initializer(config: RunConfig) -> keras.initializers.Initializer:
    gain = config.recurrent_gain
    if config.recurrent_initializer == "orthogonal":
        return keras.initializers.Orthogonal(gain=gain)
    if config.recurrent_initializer == "identity":
        # Keras's Identity works on the non-square (units, blocks*units) matrix: each gate block's first columns.
        return keras.initializers.Identity(gain=gain)
    # Glorot uniform is VarianceScaling(1, fan_avg, uniform); multiplying the weights by `gain` scales variance by gain².
    return keras.initializers.VarianceScaling(scale=gain**2, mode="fan_avg", distribution="uniform")


def _assemble(config: RunConfig, dataset: Dataset) -> keras.Model:
    if dataset.is_tokens:
        inputs = keras.Input(shape=(dataset.seq_len,), dtype="int32", name="tokens")  # (batch, T)
        layers = [keras.layers.Embedding(dataset.vocab_size, config.embedding_dim, name="embedding")]
    else:
        inputs = keras.Input(shape=(dataset.seq_len, dataset.n_features), name="sequence")  # (batch, T, features)
        layers = []
    cell_class = _CELL_CLASSES[config.cell]
    for index in range(config.layers):
        name = recurrent_layer_name(config, index)
        # A next-token model answers at every step, so its top layer returns its whole sequence too.
        options = dict(units=config.units, activation=config.activation,
                       recurrent_initializer=_recurrent_initializer(config),
                       return_sequences=index < config.layers - 1 or dataset.kind == "next_token", name=name)
        recurrent = cell_class(**options)
        if config.bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, name=name)
        layers.append(recurrent)
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{index + 1}"))
    layers.append(_head(dataset))
    return keras.Sequential([inputs, *layers], name=f"{config.cell}_{dataset.task}")


def _head(dataset: Dataset) -> keras.layers.Layer:
    if dataset.kind == "regression":
        return keras.layers.Dense(1, name="output")
    if dataset.kind == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name="output")
    if dataset.kind == "next_token":  # logits over the vocabulary at every step: (batch, T, vocabulary)
        return keras.layers.Dense(dataset.outputs, name="output")
    return keras.layers.Dense(dataset.n_classes, activation="softmax", name="output")


def _apply_initial_scales(model: keras.Model, config: RunConfig) -> None:
    """Set the LSTM forget-gate bias, which Keras can only set to 1 (`unit_forget_bias`) by itself."""
    if config.cell != "lstm" or config.forget_bias == 1.0:
        return
    for layer in recurrent_layers(model):
        for _, direction in introspect_layers.directions(layer):
            cell = direction.cell
            bias = cell.bias.numpy()  # (4 * units,) in gate order input, forget, candidate, output
            bias[config.units:2 * config.units] = config.forget_bias
            cell.bias.assign(bias)


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's recurrent layers (Bidirectional wrappers count as one), in order."""
    return [layer for layer in model.layers if introspect_layers.is_recurrent(layer)]


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    options = {"learning_rate": config.learning_rate}
    if config.clipnorm > 0:
        options["clipnorm"] = config.clipnorm
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
            "sgd": keras.optimizers.SGD}[config.optimizer](**options)


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, kind (e.g. 'Bidirectional(LSTM)'), output shape and trainable parameters."""
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, keras.layers.Bidirectional):
            kind = f"Bidirectional({type(layer.forward_layer).__name__})"
        shape = tuple(layer.output.shape) if hasattr(layer, "output") else ()
        rows.append({"layer": layer.name, "kind": kind, "output shape": _shape_text(shape),
                     "parameters": int(layer.count_params())})
    return rows


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("batch" if size is None else str(size) for size in shape) + ")"


def parameter_formula(config: RunConfig, dataset: Dataset) -> list[dict]:
    """The closed-form parameter count of each layer, as a formula, the numbers put in, and the total.

    A SimpleRNN layer with u units reading i inputs has u(u + i + 1) weights: W_xh (i×u), W_hh (u×u) and b (u).
    An LSTM has four such blocks (input, forget, output gates and the candidate): 4u(u + i + 1). A GRU has three
    (update, reset, candidate) and, with Keras's default reset_after=True, a second bias: 3u(u + i + 2).
    Bidirectional layers hold two independent copies.
    """
    rows = []
    inputs = config.embedding_dim if dataset.is_tokens else dataset.n_features
    if dataset.is_tokens:
        rows.append({"layer": "embedding", "formula": "vocabulary × embedding size",
                     "numbers": f"{dataset.vocab_size} × {config.embedding_dim}",
                     "parameters": dataset.vocab_size * config.embedding_dim})
    blocks = GATE_BLOCKS[config.cell]
    bias_terms = 2 if config.cell == "gru" else 1
    prefix = f"{blocks}u" if blocks > 1 else "u"
    directions = 2 if config.bidirectional else 1
    for index in range(config.layers):
        units = config.units
        count = blocks * units * (units + inputs + bias_terms) * directions
        formula = f"{prefix}(u + i + {bias_terms})"
        numbers = f"{blocks} × {units} × ({units} + {inputs} + {bias_terms})" if blocks > 1 else \
            f"{units} × ({units} + {inputs} + {bias_terms})"
        if directions == 2:
            formula, numbers = f"2 × {formula}", f"2 × {numbers}"
        rows.append({"layer": recurrent_layer_name(config, index),
                     "formula": f"{CELL_TITLES[config.cell]}: {formula}",
                     "numbers": numbers, "parameters": count})
        inputs = units * directions
    outputs = dataset.outputs
    # A next-token head is one Dense applied at every step: the same weights, counted once.
    where = ", the same at every step" if dataset.kind == "next_token" else ""
    rows.append({"layer": "output", "formula": f"Dense: (inputs + 1) × outputs{where}",
                 "numbers": f"({inputs} + 1) × {outputs}", "parameters": (inputs + 1) * outputs})
    return rows


def count_parameters(model: keras.Model) -> int:
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def untrained_model(config: RunConfig, dataset: Dataset | None = None) -> tuple[keras.Model, Dataset]:
    """The network `config` describes before any training (weights drawn from its seed, as a run starts), and the
    data it reads. Without `dataset`, the data is made with the fewest training sequences: only the shapes and the
    validation set matter here, and the validation set comes from its own seeded stream."""
    if dataset is None:
        dataset = make_dataset(config.replace(samples=SHAPE_ONLY_SAMPLES))
    return build_model(config, dataset), dataset


# RunConfig's smallest training set: enough to build a model whose shapes match the configuration.
SHAPE_ONLY_SAMPLES = 16


def describe_layers(config: RunConfig, dataset: Dataset | None = None,
                    model: keras.Model | None = None) -> list[dict]:
    """The layer table of `config`'s network, each row with its parameter formula and the numbers put in. A caller
    that has built the network already passes it as `model`, with the `dataset` it was built on."""
    if model is None:
        model, dataset = untrained_model(config, dataset)
    formulas = {row["layer"]: row for row in parameter_formula(config, dataset)}
    rows = []
    for row in layer_table(model):
        formula = formulas.get(row["layer"], {})
        rows.append({**row, "formula": formula.get("formula", "no weights"), "numbers": formula.get("numbers", "")})
    return rows


def validation_answers(model: keras.Model, dataset: Dataset, limit: int = 1000) -> np.ndarray:
    """What `model` answers on the first `limit` validation sequences: `(sequences, outputs)`."""
    return np.asarray(model.predict(dataset.x_val[:limit], batch_size=256, verbose=0))


# The widest table Keras's summary can draw without rich cutting it off (see `summary_text`).
SUMMARY_WIDTH = 80


def summary_text(model: keras.Model) -> str:
    """What `model.summary()` prints, as plain text (the box-drawing table Keras writes to the console)."""
    lines: list[str] = []
    # Keras draws the table on a rich console that is 80 columns wide when it is not a terminal (a server, a test):
    # a wider table is cut at column 80, and the cut took the whole "Param #" column with it.
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=SUMMARY_WIDTH)
    return "\n".join(lines)
