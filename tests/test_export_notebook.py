"""The notebook export: the Python script's code, one step per cell with a note before it, and, run with nbclient,
the same final loss as the script itself."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.config import RunConfig
from rnnlab.export import EXTENSIONS, file_name, keras_script, notebook, script
from rnnlab.export.python import keras_sections
from rnnlab.models import untrained_model

ROOT = Path(__file__).resolve().parents[1]
HEADINGS = ["## Set-up", "## The data", "## The model", "## Training", "## The curve", "## The gates"]
FINAL_LOSS = re.compile(r"final training loss: (\S+)")


def cells(config):
    node = nbformat.reads(script(config, "ipynb"), as_version=4)
    nbformat.validate(node)
    return node.cells


def test_a_note_before_every_step_and_the_scripts_own_code_in_the_cells():
    config = RunConfig(task="adding", seq_len=6, samples=32, eval_samples=16, cell="gru", units=4, layers=2)
    found = cells(config)
    assert found[0].cell_type == "markdown" and found[0].source.startswith(f"# {config.label()}")
    kinds = [cell.cell_type for cell in found[1:]]
    assert kinds == ["markdown", "code"] * len(HEADINGS)  # a note, then its step
    notes = [cell.source for cell in found[1::2]]
    assert [note.split("\n")[0] for note in notes] == HEADINGS
    code = [cell.source for cell in found[2::2]]
    sections = keras_sections(config)
    for text, name in zip(code, ("setup", "data", "model")):
        assert text.startswith(sections[name].strip("\n")), name  # the script's code, not a second copy of it
    assert "validation_data=(x_val, y_val), verbose=2)" in code[3] and "final training loss" in code[3]
    assert "figure.show()" in code[4] and "trace(model, x_val[:1])" in code[5]
    # The parameter count in the model's note is the count of the very model RNN Lab builds.
    count = untrained_model(config)[0].count_params()
    assert f"**{count:,} parameters**" in notes[2]
    assert "update gate" in notes[5] and "reset gate" in notes[5]
    assert script(config, "ipynb") == script(config, "ipynb")  # one configuration, one file
    assert file_name(config, "ipynb") == "rnnlab_gru_adding.ipynb" and EXTENSIONS["ipynb"] == ".ipynb"


def test_text_models_count_their_parameters_in_the_notebook_itself():
    notes = [cell.source for cell in cells(RunConfig(task="text")) if cell.cell_type == "markdown"]
    assert "`model.summary()` below counts its parameters" in notes[3] and "parameters**" not in notes[3]


def test_the_command_line_writes_the_notebook(capsys):
    assert main(["export", "--lang", "ipynb", "--task", "sine", "--cell", "simplernn", "--units", "5"]) == 0
    node = nbformat.reads(capsys.readouterr().out, as_version=4)
    nbformat.validate(node)
    assert "keras.layers.SimpleRNN(5," in "".join(cell.source for cell in node.cells)
    assert "a SimpleRNN has no gates" in node.cells[-2].source


# --- Run: the notebook against the script ------------------------------------------------------------------------


def make_imdb_npz(folder: Path) -> Path:
    """A tiny Keras-layout imdb.npz (raw word ranks, as Keras caches it): 60 training and 20 test reviews."""
    rng = np.random.default_rng(7)
    arrays = {}
    for name, count in (("train", 60), ("test", 20)):
        labels = rng.integers(0, 2, size=count)
        x = np.empty(count, dtype=object)
        for row, label in enumerate(labels):  # a word that says the label, among common words and a rare one
            x[row] = [int(word) for word in rng.integers(1, 40, size=int(rng.integers(3, 15)))] + \
                     [4 if label else 5, 150]
        arrays[f"x_{name}"], arrays[f"y_{name}"] = x, labels.astype(np.int64)
    path = folder / "imdb.npz"
    np.savez(path, **arrays)
    return path


def run_notebook(config: RunConfig, folder: Path):
    """Execute the exported notebook on an IPython kernel (in `folder`, with the project importable, as after
    `pip install`), and return it."""
    from nbclient import NotebookClient

    node = nbformat.reads(notebook(config), as_version=4)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    client = NotebookClient(node, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    return client.execute(env=environment)  # the kernel starts with `environment`, and is shut down after


def printed(cell) -> str:
    """What a cell printed, and the text of what it displayed (Keras's model.summary() is a rich display)."""
    return "".join(output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in cell.outputs
                   if output.output_type in ("stream", "display_data"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["synthetic", "imdb", "text"])
def test_the_notebook_runs_and_ends_with_the_scripts_loss(kind, tmp_path):
    config = {
        "synthetic": RunConfig(task="recall", seq_len=6, samples=64, eval_samples=16, cell="lstm", units=4,
                               epochs=2, batch_size=16),
        "imdb": RunConfig(task="imdb", imdb_path=str(make_imdb_npz(tmp_path)), vocab_size=100, seq_len=12,
                          samples=40, eval_samples=16, embedding_dim=4, cell="gru", units=4, epochs=2,
                          batch_size=16),
        "text": RunConfig(task="text", seq_len=10, samples=64, eval_samples=16, units=8, embedding_dim=4, epochs=2,
                          batch_size=32),
    }[kind]
    # The script runs beside the notebook's kernel: each is a process of its own that imports TensorFlow, and the
    # two together take the time of one (the kernel's cells and the script never share a file).
    exported = tmp_path / "model.py"
    exported.write_text(keras_script(config))
    script = subprocess.Popen([sys.executable, str(exported)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        executed = run_notebook(config, tmp_path)
        stdout, stderr = script.communicate(timeout=300)
    finally:
        if script.poll() is None:
            script.kill()
            script.communicate()
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert "Total params" in printed(code[2])  # model.summary()
    notebook_loss = FINAL_LOSS.findall(printed(code[3]))
    assert len(notebook_loss) == 1 and np.isfinite(float(notebook_loss[0]))
    # The curve: a Plotly figure of both losses, one point per epoch.
    [figure] = [output.data["application/vnd.plotly.v1+json"] for output in code[4].outputs
                if output.output_type == "display_data" and "application/vnd.plotly.v1+json" in output.data]
    assert [trace["name"] for trace in figure["data"]] == ["loss", "val_loss"]
    assert [trace["x"] for trace in figure["data"]] == [list(range(1, config.epochs + 1))] * 2
    gates = printed(code[5])
    assert ("forget" in gates) if config.cell == "lstm" else ("update" in gates) if config.cell == "gru" else gates

    assert script.returncode == 0, stderr[-2000:]
    assert FINAL_LOSS.findall(stdout) == notebook_loss  # same seed, weights and data: the same training
