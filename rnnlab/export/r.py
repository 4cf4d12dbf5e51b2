"""A configuration as a standalone R script for the `keras3` package: the same network, built with
`keras_model_sequential() |> layer_lstm(...)` pipes, trained with `fit`.

Every setting the Python export honours appears here: cell, units, stacked layers (`return_sequences = TRUE` on all
but the last), bidirectional, activation, dropout, recurrent initializer and its scale, the LSTM forget-gate bias,
optimizer, learning rate and clipping, loss and metrics by task kind, batch size, epochs and seed. Each task writes
its own data in R (`Task.r_data_code`) and its own input layers (`Task.r_input_code`); a task that cannot yet makes
`r_script` raise `ValueError` with one sentence.

R's random numbers are not NumPy's, so a synthetic task's R data are sequences of the same kind, shape and meaning
as RNN Lab's, never the very same numbers; the script says so where it makes them.

The function names and arguments are the keras3 package's own, checked against its reference and source:
`layer_simple_rnn`, `layer_lstm`, `layer_gru` (`units`, `activation`, `recurrent_initializer`,
`return_sequences`, `name`), `layer_bidirectional(object, layer, merge_mode = "concat", ...)`
(https://search.r-project.org/CRAN/refmans/keras3/html/layer_bidirectional.html; keras3 1.2.0's reference keeps
`bidirectional()` as an alias, the only spelling of the first keras3 releases, rstudio/keras3 R/layers-rnn.R),
`initializer_orthogonal(gain, seed)`, `initializer_identity(gain)`,
`initializer_variance_scaling(scale, mode, distribution, seed)` (rstudio/keras3 R/initializers.R),
`optimizer_adam|rmsprop|sgd(learning_rate, ..., clipnorm)`, `keras_model_sequential(input_shape, ...,
input_dtype)`, `set_random_seed(seed)` (seeds R, Python, NumPy and TensorFlow), `get_layer`, `get_weights`,
`set_weights`, `dataset_imdb(num_words)` (returns `train$x`, `train$y`, `test$x`, `test$y`) and `pad_sequences`
(exports of rstudio/keras3's NAMESPACE).

    print(r_script(RunConfig(cell="gru", layers=2, bidirectional=True)))
    python -m rnnlab export --lang r --cell gru --layers 2 --bidirectional > model.R
"""

from __future__ import annotations

from rnnlab.config import RunConfig
from rnnlab.data import Task, get_task
from rnnlab.export.names import file_name
from rnnlab.models import recurrent_layer_name

_CELLS = {"simplernn": "layer_simple_rnn", "lstm": "layer_lstm", "gru": "layer_gru"}
# The same starting recurrent matrices as the Python export: Glorot uniform is variance scaling over the average
# fan with a uniform distribution, and multiplying its weights by `gain` multiplies the variance by gain².
_INITIALIZERS = {
    "orthogonal": "initializer_orthogonal(gain = {gain})",
    "identity": "initializer_identity(gain = {gain})",
    "glorot_uniform": 'initializer_variance_scaling(scale = {gain}^2, mode = "fan_avg", distribution = "uniform")',
}
_OPTIMIZERS = {"adam": "optimizer_adam", "rmsprop": "optimizer_rmsprop", "sgd": "optimizer_sgd"}
_LOSSES = {"regression": '"mse"', "binary": '"binary_crossentropy"',
           "multiclass": '"sparse_categorical_crossentropy"'}


def r_script(config: RunConfig) -> str:
    """An R script that builds and trains `config` with the keras3 package.

    Raises ValueError ("The R export does not cover <task> yet; use --lang python.") for a task that cannot write
    its data or its input in R.
    """
    task = get_task(config.task)
    uncovered = f"The R export does not cover {task.name} yet; use --lang python."
    if task.kind not in _LOSSES:
        raise ValueError(uncovered)
    try:
        data, inputs = task.r_data_code(config), task.r_input_code(config)
    except NotImplementedError:
        raise ValueError(uncovered) from None
    parts = [_header(config), data, _model(config, task, inputs), _training(config)]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


def _header(config: RunConfig) -> str:
    return "\n".join([
        f"# {config.label()}: exported from RNN Lab.",
        "#",
        "# The same network in R, with the keras3 package (https://keras3.posit.co), which runs Python's Keras through",
        '# reticulate. Install it once with install.packages("keras3") and then keras3::install_keras(); run this file',
        f"# with `Rscript {file_name(config, 'r')}`, or source it in RStudio.",
        "",
        "library(keras3)",
        "",
        f"SEED <- {config.seed}L",
        f"SEQ_LEN <- {config.seq_len}L  # time steps per sequence",
    ])


def _model(config: RunConfig, task: Task, inputs: list[str]) -> str:
    initializer = _INITIALIZERS[config.recurrent_initializer].format(gain=_number(config.recurrent_gain))
    calls = list(inputs[1:])
    for index in range(config.layers):
        name = recurrent_layer_name(config, index)
        sequences = "TRUE" if index < config.layers - 1 else "FALSE"
        cell = _CELLS[config.cell]
        # The recurrent initializer goes on a line of its own, under the first argument, to keep lines short. Each
        # layer gets its own initializer: an unseeded keras3 initializer repeats its values when it is reused.
        layer = (f'{cell}(units = {config.units}, activation = "{config.activation}", '
                 f'return_sequences = {sequences}, name = "{name}",\n'
                 f"{' ' * (len(cell) + 1)}recurrent_initializer = {initializer})")
        if config.bidirectional:
            layer = "layer_bidirectional(\n" + _indent(layer + ",", 2) + f'\n  name = "{name}"\n)'
        calls.append(layer)
        if config.dropout > 0:
            calls.append(f"layer_dropout(rate = {_number(config.dropout)})")
    calls.append({"regression": "layer_dense(units = 1)",
                  "binary": 'layer_dense(units = 1, activation = "sigmoid")',
                  "multiclass": f'layer_dense(units = {len(task.class_names)}, activation = "softmax")'}[task.kind])
    chain = inputs[0] + "".join(" |>\n" + _indent(call, 2) for call in calls)
    lines = ["# Keras draws the starting weights from the seed (set_random_seed also seeds R, Python and NumPy).",
             "set_random_seed(SEED)",
             f"model <- {chain}"]
    if config.cell == "lstm" and config.forget_bias != 1.0:
        units, names = config.units, ", ".join(f'"{recurrent_layer_name(config, i)}"' for i in range(config.layers))
        lines += [
            "",
            f"# Start every LSTM forget gate at a bias of {_number(config.forget_bias)} (Keras's own option sets 1).",
            "# A layer's weights are its kernel, recurrent kernel and bias, once per direction, so every third array",
            f"# is a bias; each bias holds four blocks of {units} values: input, forget, candidate, output.",
            f"for (name in c({names})) {{",
            "  layer <- get_layer(model, name)",
            "  weights <- get_weights(layer)",
            "  for (index in seq(3, length(weights), by = 3)) {",
            f"    weights[[index]][{units + 1}:{2 * units}] <- {_number(config.forget_bias)}",
            "  }",
            "  set_weights(layer, weights)",
            "}",
        ]
    clip = f", clipnorm = {_number(config.clipnorm)}" if config.clipnorm > 0 else ""
    metrics = ',\n  metrics = c("accuracy")' if task.kind != "regression" else ""
    lines += ["",
              "model |> compile(",
              f"  optimizer = {_OPTIMIZERS[config.optimizer]}(learning_rate = {_number(config.learning_rate)}{clip}),",
              f"  loss = {_LOSSES[task.kind]}{metrics}",
              ")"]
    return "\n".join(lines)


def _training(config: RunConfig) -> str:
    return "\n".join([
        "summary(model)",
        f"history <- fit(model, x_train, y_train, batch_size = {config.batch_size}, epochs = {config.epochs},",
        "               validation_data = list(x_val, y_val))",
    ])


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.split("\n"))


def _number(value: float) -> str:
    """A number as R reads it back: 0.003, 1e-05, 2."""
    return f"{value:g}"
