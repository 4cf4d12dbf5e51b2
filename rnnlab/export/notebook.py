"""A configuration as a Jupyter notebook: the Python script's code (`python.py`), one step per cell, each step
introduced by a Markdown cell saying what it does, then the loss curve and the gates of the trained network.

    from rnnlab.export import notebook
    text = notebook(RunConfig(cell="gru", layers=2))          # the .ipynb file's JSON
    python -m rnnlab export --lang ipynb --cell gru > model.ipynb

The code cells are the very sections of the Python script (same seed, same data, same starting weights), so the
notebook's last printed loss is the script's. The curve is drawn with Plotly (a requirement of RNN Lab; Matplotlib is
not); the gates come from RNN Lab's own probe (`rnnlab.introspect.gates.trace`), which the notebook uses when
`rnnlab` is installed (`pip install` of the project's folder) and says how to get when it is not.
"""

from __future__ import annotations

import nbformat
from nbformat import v4

from rnnlab import budget
from rnnlab.config import CELL_TITLES, CHOICE_TITLES, RunConfig
from rnnlab.data import get_task
from rnnlab.export.python import _training, keras_sections

# What each cell's gates do, for the Markdown before the gates' cell.
_GATES = {
    "lstm": "an LSTM has an input gate (how much of the new candidate enters the cell), a forget gate (how much of "
            "the cell state it keeps: near 1 it remembers) and an output gate (how much of the cell it shows as "
            "its hidden state)",
    "gru": "a GRU has an update gate (how much of its hidden state it replaces with the candidate: near 0 it "
           "keeps its memory) and a reset gate (how much of the old state the candidate may read)",
    "simplernn": "a SimpleRNN has no gates: its hidden state is the whole of its memory, rewritten at every step",
}

_CURVE = '''\
# The loss after every epoch, on the training and the validation sequences.
epochs = list(range(1, len(history.history["loss"]) + 1))
try:
    import plotly.graph_objects as go
except ImportError:  # no Plotly: the numbers themselves
    for key in ("loss", "val_loss"):
        print(key, [round(value, 6) for value in history.history[key]])
else:
    figure = go.Figure([go.Scatter(x=epochs, y=history.history[key], mode="lines+markers", name=key)
                        for key in ("loss", "val_loss")])
    figure.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="loss")
    figure.show()'''

_GATE_CODE = '''\
# RNN Lab's probe recomputes every gate of every recurrent layer from the layer's own weights, for one
# validation sequence (Keras only returns the hidden states).
try:
    from rnnlab.introspect.gates import trace
except ImportError:
    print("Install RNN Lab (pip install of its folder) to see the gates; the network above needs only Keras.")
else:
    for layer, directions in trace(model, x_val[:1]).items():
        for direction, values in directions.items():
            for name, array in values.items():  # (1 sequence, time steps, units)
                print(f"{layer} {direction} {name:>9}: mean {array.mean():.3f}, "
                      f"shut (< 0.1) {(array < 0.1).mean():.0%}, open (> 0.9) {(array > 0.9).mean():.0%}")'''


def notebook(config: RunConfig) -> str:
    """The notebook for `config`, as the text of an .ipynb file (nbformat 4)."""
    return nbformat.writes(notebook_node(config))


def notebook_node(config: RunConfig) -> nbformat.NotebookNode:
    """The notebook for `config` as an nbformat node (for running it with nbclient, or writing it)."""
    task = get_task(config.task)
    sections = keras_sections(config)
    cells = [
        v4.new_markdown_cell(f"# {config.label()}\n\nExported from RNN Lab: the same network, data and seed as the "
                             "dashboard's run and the exported Python script. Run the cells from the top."),
        v4.new_markdown_cell("## Set-up\n\nKeras and NumPy, and the seed every random draw below starts from "
                             f"(`SEED = {config.seed}`)."),
        v4.new_code_cell(sections["setup"]),
        v4.new_markdown_cell(f"## The data\n\n**{task.title}.** {task.description}\n\n"
                             "The next cell makes the training and validation sets (`x_train`, `y_train`, `x_val`, "
                             "`y_val`) exactly as RNN Lab does, and prints their shapes."),
        v4.new_code_cell(sections["data"].rstrip() + "\n\nprint(\"x_train\", x_train.shape, \"y_train\", "
                                                      "y_train.shape, \"x_val\", x_val.shape)"),
        v4.new_markdown_cell(f"## The model\n\n{_model_text(config)}"),
        v4.new_code_cell(sections["model"].rstrip() + "\n\nmodel.summary()"),
        v4.new_markdown_cell(f"## Training\n\n{config.epochs} epoch{'s' if config.epochs != 1 else ''} of "
                             f"`model.fit` in batches of {config.batch_size}, with "
                             f"{CHOICE_TITLES[config.optimizer]} at a learning rate of {config.learning_rate:g}"
                             f"{f', gradients clipped to a norm of {config.clipnorm:g}' if config.clipnorm > 0 else ''}"
                             ". Keras prints one line per epoch; the last line is the final training loss."),
        v4.new_code_cell(_training(config, verbose=2)),
        v4.new_markdown_cell("## The curve\n\nThe training loss falls as the network fits its sequences; the "
                             "validation loss, on sequences it never trained on, says whether what it learned "
                             "carries over. The two drifting apart is overfitting."),
        v4.new_code_cell(_CURVE),
        v4.new_markdown_cell(f"## The gates\n\nInside the trained network: {_GATES[config.cell]}. The next cell "
                             "shows, for one validation sequence, each gate's mean and how often it is nearly shut "
                             "(below 0.1) or nearly open (above 0.9): a saturated gate acts as a switch."),
        v4.new_code_cell(_GATE_CODE),
    ]
    for number, cell in enumerate(cells, start=1):  # ids from the order, so one configuration gives one file
        cell.id = f"step-{number}"
    node = v4.new_notebook(cells=cells)
    node.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    node.metadata["language_info"] = {"name": "python"}
    return node


def _model_text(config: RunConfig) -> str:
    cell = CELL_TITLES[config.cell]
    layers = f"{config.layers} {cell} layer{'s' if config.layers != 1 else ''} of {config.units} units"
    if config.bidirectional:
        layers += ", each reading the sequence both ways (Bidirectional)"
    text = (f"{layers}, starting from the weights `keras.utils.set_random_seed(SEED)` draws (the same as RNN "
            f"Lab's).")
    count = _parameter_count(config)
    if count is not None:
        text += f" It has **{count:,} parameters**, as `model.summary()` below counts them."
    else:
        text += " `model.summary()` below counts its parameters (they depend on the data's vocabulary)."
    return text


def _parameter_count(config: RunConfig) -> int | None:
    """The model's parameter count in closed form (`rnnlab.budget`, no data needed); None for next-token tasks,
    whose vocabulary (and so their embedding and head) is only known once the text has been read."""
    task = get_task(config.task)
    if task.kind == "next_token":
        return None
    return budget.parameter_count(config, task.budget_shape(config))[0]
