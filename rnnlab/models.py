"""Build the Keras model a configuration describes, and explain its parameters.

The model is plain Keras: an input, an `Embedding` for token inputs, one to four `SimpleRNN`/`LSTM`/`GRU` layers
(each optionally wrapped in `Bidirectional`, each but the last returning its whole sequence), optional `Dropout`,
and a `Dense` head that fits the task. Nothing here is custom, so a model saved from the app loads in any Keras.

    model = build_model(config, dataset)
    layer_table(model)                       # rows of name, kind, output shape, parameters
    parameter_formula(config, dataset)       # the closed-form count, layer by layer
"""

from __future__ import annotations

import contextlib
import random
import threading

import keras
import numpy as np
from keras.src.random import seed_generator as keras_seed_generator

from rnnlab.config import CELL_TITLES, RunConfig
from rnnlab.introspect import layers as introspect_layers
from rnnlab.tasks import Dataset

_CELL_CLASSES = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}

# How many weight blocks (gates plus candidate) each cell has: its parameter count is that many SimpleRNNs.
GATE_BLOCKS = {"simplernn": 1, "lstm": 4, "gru": 3}

# Keras seeds weights from process-wide random state, so two learners building models at the same moment on
# one server could interleave draws. Building under this lock keeps every model a function of its own seed.
_BUILD_LOCK = threading.Lock()


def build_model(config: RunConfig, dataset: Dataset) -> keras.Model:
    """A compiled Keras model for `config`, with weights drawn from `config.seed`."""
    with _BUILD_LOCK, _private_python_random(config.seed):
        keras.utils.set_random_seed(config.seed)
        model = _assemble(config, dataset)
        _apply_initial_scales(model, config)
    model.compile(optimizer=make_optimizer(config), loss=dataset.loss_name,
                  metrics=["accuracy"] if dataset.is_classification else [])
    return model


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
        options = dict(units=config.units, activation=config.activation,
                       recurrent_initializer=_recurrent_initializer(config),
                       return_sequences=index < config.layers - 1, name=name)
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
    outputs = 1 if dataset.kind != "multiclass" else dataset.n_classes
    rows.append({"layer": "output", "formula": "Dense: (inputs + 1) × outputs",
                 "numbers": f"({inputs} + 1) × {outputs}", "parameters": (inputs + 1) * outputs})
    return rows


def count_parameters(model: keras.Model) -> int:
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
