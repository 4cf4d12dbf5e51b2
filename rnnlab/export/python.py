"""A configuration as a standalone Python script for Keras: the export's first language (`r.py` is the other).

The script needs only Keras and NumPy. It carries the task's data (each task writes its own: a synthetic task copies
in the very generator RNN Lab uses), builds the same layers with the same seed, and trains with `model.fit`.

    from rnnlab.export import keras_script
    print(keras_script(RunConfig(cell="gru", layers=2)))
    python -m rnnlab export --cell gru --layers 2 > model.py
"""

from __future__ import annotations

import textwrap

from rnnlab.config import CELL_TITLES, RunConfig
from rnnlab.data import get_task
from rnnlab.export.names import file_name
from rnnlab.models import recurrent_layer_name

_INITIALIZERS = {
    "orthogonal": "keras.initializers.Orthogonal(gain={gain})",
    "identity": "keras.initializers.Identity(gain={gain})",
    "glorot_uniform": 'keras.initializers.VarianceScaling(scale={gain}**2, mode="fan_avg", distribution="uniform")',
}
_OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
_LOSSES = {"regression": '"mse"', "binary": '"binary_crossentropy"', "multiclass": '"sparse_categorical_crossentropy"',
           "next_token": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"}  # logits, nats per token


def keras_script(config: RunConfig) -> str:
    """A runnable Python script that builds and trains `config` with plain Keras."""
    sections = keras_sections(config)
    training = textwrap.indent("model.summary()\n" + sections["training"], "    ")
    parts = [_docstring(config), sections["setup"], sections["data"], sections["model"],
             f'if __name__ == "__main__":\n{training}']
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


def keras_sections(config: RunConfig) -> dict[str, str]:
    """The script's code, step by step: "setup" (imports, seed), "data", "model", "training" (fit, then the final
    loss printed in full). The notebook export (`notebook.py`) puts each in a cell of its own."""
    return {"setup": _setup(config), "data": _data(config), "model": _model(config), "training": _training(config)}


def _docstring(config: RunConfig) -> str:
    return textwrap.dedent(f'''\
        """{config.label()}: exported from RNN Lab.

        Plain Keras and NumPy; run it with `python {file_name(config, "python")}`.
        """''')


def _setup(config: RunConfig) -> str:
    return textwrap.dedent(f'''\
        import keras
        import numpy as np

        SEED = {config.seed}
        SEQ_LEN = {config.seq_len}  # time steps per sequence''')


def _data(config: RunConfig) -> str:
    return get_task(config.task).keras_data_code(config)


def _model(config: RunConfig) -> str:
    task = get_task(config.task)
    kind = task.kind
    lines = task.keras_input_code(config)
    initializer = _INITIALIZERS[config.recurrent_initializer].format(gain=f"{config.recurrent_gain:g}")
    for index in range(config.layers):
        sequences = index < config.layers - 1 or kind == "next_token"  # a next-token model answers at every step
        layer = (f"keras.layers.{CELL_TITLES[config.cell]}({config.units}, activation=\"{config.activation}\", "
                 f"recurrent_initializer={initializer}, return_sequences={sequences}, "
                 f"name=\"{recurrent_layer_name(config, index)}\")")
        if config.bidirectional:
            layer = f"keras.layers.Bidirectional({layer}, name=\"{recurrent_layer_name(config, index)}\")"
        lines.append(layer)
        if config.dropout > 0:
            lines.append(f"keras.layers.Dropout({config.dropout:g})")
    lines.append({"regression": "keras.layers.Dense(1)",
                  "binary": 'keras.layers.Dense(1, activation="sigmoid")',
                  "multiclass": f'keras.layers.Dense({len(task.class_names)}, activation="softmax")',
                  "next_token": "keras.layers.Dense(VOCAB_SIZE)"}[kind])
    body = "".join(f"    {line},\n" for line in lines)
    script = f"keras.utils.set_random_seed(SEED)  # the same seed gives the same starting weights\n" \
             f"model = keras.Sequential([\n{body}])"
    if config.cell == "lstm" and config.forget_bias != 1.0:
        script += textwrap.dedent(f'''

            # Start every LSTM forget gate at a bias of {config.forget_bias:g} (Keras's own option sets 1).
            # The bias holds four blocks of {config.units}: input, forget, candidate, output.
            for layer in model.layers:
                for inner in ([layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]):
                    if isinstance(inner, keras.layers.LSTM):
                        bias = inner.cell.bias.numpy()
                        bias[{config.units}:{2 * config.units}] = {config.forget_bias:g}
                        inner.cell.bias.assign(bias)''')
    clip = f", clipnorm={config.clipnorm:g}" if config.clipnorm > 0 else ""
    metrics = ', metrics=["accuracy"]' if kind in ("binary", "multiclass") else ""
    script += (f"\nmodel.compile(optimizer=keras.optimizers.{_OPTIMIZERS[config.optimizer]}("
               f"learning_rate={config.learning_rate:g}{clip}), loss={_LOSSES[kind]}{metrics})")
    return script


def _training(config: RunConfig, verbose: int = 1) -> str:
    shown = "" if verbose == 1 else f", verbose={verbose}"
    return textwrap.dedent(f'''\
        history = model.fit(x_train, y_train, batch_size={config.batch_size}, epochs={config.epochs},
                            validation_data=(x_val, y_val){shown})
        print(f"final training loss: {{history.history['loss'][-1]:.8f}}")''')
