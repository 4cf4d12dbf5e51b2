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


def test_an_imdb_script_trains_on_exactly_the_reviews_the_app_trained_on(tmp_path, monkeypatch):
    """The exported data code, run, gives the very arrays `make_dataset` gives the run (the split, the shift, the
    cap on rare words, the padding): an exported run is the same experiment."""
    from rnnlab.export.python import keras_sections
    from tests.test_export_notebook import make_imdb_npz

    path = make_imdb_npz(tmp_path)
    monkeypatch.chdir(tmp_path)  # the script names the file as the app does, by its own name
    config = RunConfig(task="imdb", imdb_path=str(path), vocab_size=100, seq_len=8, samples=24, eval_samples=16,
                       seed=5)
    sections = keras_sections(config)
    scope: dict = {}
    exec(sections["setup"] + "\n" + sections["data"], scope)
    dataset = make_dataset(config)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(scope[name], getattr(dataset, name), err_msg=name)


def test_a_csv_imdb_script_trains_on_exactly_the_reviews_words_and_labels_the_app_did(tmp_path, monkeypatch):
    from rnnlab.export.python import keras_sections

    rng = np.random.default_rng(3)
    words = ["good", "bad", "film", "plot", "actor", "dull", "great", "<br />", "the", "a", "Loved", "HATED"]
    rows = [(" ".join(rng.choice(words, size=int(rng.integers(3, 20)))), rng.choice(["Positive", "negative", "1", "0"]))
            for _ in range(80)]
    csv = "Text , Label\n" + "".join(f'"{text}",{label}\n' for text, label in rows)
    (tmp_path / "my_reviews.csv").write_text(csv)
    monkeypatch.chdir(tmp_path)
    config = RunConfig(task="imdb", imdb_csv="my_reviews.csv", vocab_size=100, seq_len=10, samples=32,
                       eval_samples=16, seed=2)
    sections = keras_sections(config)
    assert "keras.datasets.imdb" not in sections["data"]  # the run's own reviews, not Keras's download
    scope: dict = {}
    exec(sections["setup"] + "\n" + sections["data"], scope)
    dataset = make_dataset(config)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(scope[name], getattr(dataset, name), err_msg=name)
