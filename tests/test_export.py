"""The exported Keras script builds the very model RNN Lab trains, and runs on its own."""

import subprocess
import sys

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.export import keras_script
from rnnlab.models import build_model
from rnnlab.data import make_dataset


def run_script(config: RunConfig) -> dict:
    """Execute the script as a module would be imported (no training), and return its globals."""
    namespace = {"__name__": "exported"}
    exec(compile(keras_script(config), "exported.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("config", [
    RunConfig(task="sine", seq_len=6, samples=32, eval_samples=16, units=3),
    RunConfig(task="adding", seq_len=6, samples=32, eval_samples=16, cell="gru", units=4, layers=2,
              bidirectional=True, dropout=0.2, optimizer="rmsprop", clipnorm=2.0),
    RunConfig(task="recall", seq_len=6, samples=32, eval_samples=16, cell="lstm", units=3, layers=2,
              forget_bias=4.0, recurrent_initializer="identity", recurrent_gain=0.5, activation="relu"),
    RunConfig(task="count", seq_len=6, samples=32, eval_samples=16, cell="simplernn", units=5,
              recurrent_initializer="glorot_uniform", recurrent_gain=2.0, optimizer="sgd"),
])
def test_script_builds_the_same_model_with_the_same_weights_and_data(config):
    namespace = run_script(config)
    model, data = namespace["model"], make_dataset(config)
    ours = build_model(config, data)
    assert model.count_params() == ours.count_params()
    for theirs, mine in zip(model.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(theirs, mine)
    np.testing.assert_array_equal(namespace["x_train"], data.x_train)
    np.testing.assert_array_equal(namespace["y_val"], data.y_val)
    assert type(model.optimizer).__name__.lower() == config.optimizer
    assert model.loss == ours.loss


@pytest.mark.slow
def test_script_trains_when_run(tmp_path):
    script = tmp_path / "model.py"
    script.write_text(keras_script(RunConfig(task="recall", seq_len=5, samples=32, eval_samples=16, units=3,
                                             epochs=1)))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "val_accuracy" in result.stdout and "Total params" in result.stdout


def test_imdb_script_uses_keras_imdb_and_an_embedding():
    script = keras_script(RunConfig(task="imdb", vocab_size=3000, embedding_dim=16, seq_len=100))
    assert "keras.datasets.imdb.load_data(num_words=VOCAB_SIZE)" in script
    assert "keras.layers.Embedding(VOCAB_SIZE, 16)" in script and 'activation="sigmoid"' in script
    compile(script, "imdb.py", "exec")


@pytest.mark.parametrize("lang, runner", [("python", "python"), ("r", "Rscript")])
def test_the_script_says_to_run_it_by_the_name_it_downloads_as(lang, runner):
    from rnnlab.export import file_name, script

    config = RunConfig(cell="gru", task="sine")
    assert file_name(config, lang) == f"rnnlab_gru_sine{'.py' if lang == 'python' else '.R'}"
    assert f"`{runner} {file_name(config, lang)}`" in script(config, lang)
