"""The model builder: every knob changes the model, and parameter counts match the closed-form formulas."""

import keras
import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.models import build_model, layer_table, parameter_formula, recurrent_layers, summary_text
from rnnlab.data import make_dataset


def closed_form(cell: str, units: int, inputs: int) -> int:
    """Parameters of one direction of one recurrent layer, from the textbook formulas."""
    return {"simplernn": units * (units + inputs + 1),
            "lstm": 4 * units * (units + inputs + 1),
            "gru": 3 * units * (units + inputs + 2)}[cell]  # reset_after=True keeps a second bias


@pytest.mark.parametrize("cell", ["simplernn", "lstm", "gru"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (2, True), (3, True)])
def test_parameter_counts_match_the_formulas(cell, layers, bidirectional):
    config = RunConfig(task="adding", seq_len=6, samples=16, eval_samples=16, cell=cell, units=5, layers=layers,
                       bidirectional=bidirectional)
    data = make_dataset(config)
    model = build_model(config, data)
    directions = 2 if bidirectional else 1
    inputs = 2
    for layer in recurrent_layers(model):
        assert layer.count_params() == directions * closed_form(cell, 5, inputs)
        inputs = 5 * directions
    rows = parameter_formula(config, data)
    assert [row["parameters"] for row in rows] == [layer.count_params() for layer in model.layers]
    assert sum(row["parameters"] for row in rows) == model.count_params()
    assert [row["parameters"] for row in layer_table(model)] == [layer.count_params() for layer in model.layers]


def test_stack_returns_sequences_on_all_but_the_last_and_fits_the_task_head():
    config = RunConfig(task="recall", seq_len=7, samples=16, eval_samples=16, cell="gru", units=3, layers=3,
                       bidirectional=True, dropout=0.2)
    model = build_model(config, make_dataset(config))
    table = layer_table(model)
    assert [row["kind"] for row in table] == ["Bidirectional(GRU)", "Dropout"] * 3 + ["Dense"]
    assert [row["output shape"] for row in table][:4] == ["(batch, 7, 6)"] * 4
    assert table[4]["output shape"] == table[5]["output shape"] == "(batch, 6)"  # the last layer ends the sequence
    assert table[-1]["output shape"] == "(batch, 4)" and model.layers[-1].activation.__name__ == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"


def test_summary_text_shows_every_layers_parameters_as_the_layer_table_does():
    # Keras cut its table at 80 columns when asked for a wider one off a terminal, dropping the "Param #" column.
    config = RunConfig(task="sine", seq_len=30, samples=16, eval_samples=16, units=32, layers=2, bidirectional=True)
    model = build_model(config, make_dataset(config))
    text = summary_text(model)
    assert "Param #" in text and max(len(line) for line in text.splitlines()) <= 80
    for row in layer_table(model):
        assert f"{row['parameters']:,}" in text
    assert f"Total params: {model.count_params():,}" in text


def test_regression_head_is_linear_with_mse():
    config = RunConfig(task="sine", seq_len=5, samples=16, eval_samples=16, units=3)
    model = build_model(config, make_dataset(config))
    assert model.layers[-1].activation.__name__ == "linear" and model.loss == "mse"


def test_knobs_reach_the_layers():
    config = RunConfig(task="sine", seq_len=5, samples=16, eval_samples=16, cell="simplernn", units=4,
                       activation="relu", recurrent_initializer="identity", recurrent_gain=0.5,
                       optimizer="rmsprop", learning_rate=0.02, clipnorm=1.5)
    model = build_model(config, make_dataset(config))
    layer = model.layers[0]
    assert layer.activation.__name__ == "relu"
    np.testing.assert_allclose(layer.cell.recurrent_kernel.numpy(), 0.5 * np.eye(4))
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.optimizer.clipnorm == 1.5
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.02)


def test_orthogonal_and_glorot_initializers_scale_with_the_gain():
    base = RunConfig(task="sine", seq_len=5, samples=16, eval_samples=16, cell="simplernn", units=8)
    data = make_dataset(base)
    kernel = build_model(base.replace(recurrent_gain=2.0), data).layers[0].cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(kernel.T @ kernel, 4.0 * np.eye(8), atol=1e-5)  # 2 × an orthogonal matrix
    glorot = base.replace(recurrent_initializer="glorot_uniform")
    small = build_model(glorot, data).layers[0].cell.recurrent_kernel.numpy()
    large = build_model(glorot.replace(recurrent_gain=3.0), data).layers[0].cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(large, 3.0 * small, rtol=1e-5)  # same seed, same draw, three times the scale


@pytest.mark.parametrize("forget_bias", [1.0, 5.0, -2.0])
def test_lstm_forget_bias_is_set_in_every_direction(forget_bias):
    config = RunConfig(task="sine", seq_len=5, samples=16, eval_samples=16, units=3, layers=2, bidirectional=True,
                       forget_bias=forget_bias)
    model = build_model(config, make_dataset(config))
    for layer in recurrent_layers(model):
        for direction in (layer.forward_layer, layer.backward_layer):
            bias = direction.cell.bias.numpy()
            np.testing.assert_allclose(bias[3:6], forget_bias)
            np.testing.assert_allclose(np.r_[bias[:3], bias[6:]], 0.0)


def test_same_seed_same_weights_different_seed_different_weights():
    config = RunConfig(task="sine", seq_len=5, samples=16, eval_samples=16, units=3)
    data = make_dataset(config)
    first, again = build_model(config, data), build_model(config, data)
    other = build_model(config.replace(seed=1), data)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_weights_depend_on_the_seed_alone_whatever_other_threads_draw(tiny_config):
    # Dask's event loop in a worker process, or Tornado in the web server, may draw from Python's `random` while
    # a model is built; Keras seeds unseeded initializers from it.
    import random
    import threading

    data = make_dataset(tiny_config)
    reference = build_model(tiny_config, data).get_weights()
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            for expected, weights in zip(reference, build_model(tiny_config, data).get_weights()):
                np.testing.assert_array_equal(weights, expected)
    finally:
        stop.set()
        thread.join(10)
