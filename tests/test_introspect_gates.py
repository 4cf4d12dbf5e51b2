"""Tests for rnnlab.introspect.gates: trace() against hand-written gate equations and Keras itself.

The reference below is deliberately naive and shares no code with the implementation: it reads
`layer.get_weights()`, loops over samples and time steps in float64, and writes each gate's
textbook equation separately. Every weight, biases included, is set to random values first, so a
swapped gate block or a misplaced bias changes the numbers. Run with:

    cd /work/main && .venv/bin/pytest -q tests/test_introspect_gates.py
"""

import numpy as np
import pytest

import keras

from rnnlab.introspect.gates import mean_forget_gate, spectral_radius, trace
from rnnlab.introspect.layers import recurrent_layer_names

BATCH, TIMESTEPS, FEATURES, UNITS = 3, 6, 4, 5
VOCABULARY = 20


# ---------- independent reference ----------


def sigmoid(value):
    return 1.0 / (1.0 + np.exp(-value))


ACTIVATIONS = {"tanh": np.tanh, "relu": lambda value: np.maximum(value, 0.0), "sigmoid": sigmoid}


def reference_direction(kind, config, weights, inputs, backward):
    """Per-sample, per-step gate equations for one direction; returns {gate: (batch, timesteps, units)}."""
    activation = ACTIVATIONS[config["activation"]]
    gate = ACTIVATIONS[config.get("recurrent_activation", "sigmoid")]
    kernel, recurrent_kernel = weights[0].astype(np.float64), weights[1].astype(np.float64)
    units = recurrent_kernel.shape[0]
    bias = weights[2].astype(np.float64) if config["use_bias"] else None
    batch, timesteps, _ = inputs.shape
    names = {
        "SimpleRNN": ["hidden"],
        "LSTM": ["input", "forget", "candidate", "output", "cell", "hidden"],
        "GRU": ["update", "reset", "candidate", "hidden"],
    }[kind]
    out = {name: np.zeros((batch, timesteps, units)) for name in names}
    order = range(timesteps - 1, -1, -1) if backward else range(timesteps)
    for sample in range(batch):
        h = np.zeros(units)
        c = np.zeros(units)
        for t in order:
            x = inputs[sample, t].astype(np.float64)
            if kind == "SimpleRNN":
                b = bias if bias is not None else np.zeros(units)
                h = activation(x @ kernel + h @ recurrent_kernel + b)
            elif kind == "LSTM":
                b = bias if bias is not None else np.zeros(4 * units)
                W_i, W_f, W_c, W_o = np.split(kernel, 4, axis=1)
                U_i, U_f, U_c, U_o = np.split(recurrent_kernel, 4, axis=1)
                b_i, b_f, b_c, b_o = np.split(b, 4)
                i = gate(x @ W_i + h @ U_i + b_i)
                f = gate(x @ W_f + h @ U_f + b_f)
                g = activation(x @ W_c + h @ U_c + b_c)
                o = gate(x @ W_o + h @ U_o + b_o)
                c = f * c + i * g
                h = o * activation(c)
                out["input"][sample, t], out["forget"][sample, t] = i, f
                out["candidate"][sample, t], out["output"][sample, t] = g, o
                out["cell"][sample, t] = c
            else:
                W_z, W_r, W_h = np.split(kernel, 3, axis=1)
                U_z, U_r, U_h = np.split(recurrent_kernel, 3, axis=1)
                if config["reset_after"]:
                    b = bias if bias is not None else np.zeros((2, 3 * units))
                    bx_z, bx_r, bx_h = np.split(b[0], 3)
                    bh_z, bh_r, bh_h = np.split(b[1], 3)
                    z = gate(x @ W_z + bx_z + h @ U_z + bh_z)
                    r = gate(x @ W_r + bx_r + h @ U_r + bh_r)
                    candidate = activation(x @ W_h + bx_h + r * (h @ U_h + bh_h))
                else:
                    b = bias if bias is not None else np.zeros(3 * units)
                    b_z, b_r, b_h = np.split(b, 3)
                    z = gate(x @ W_z + h @ U_z + b_z)
                    r = gate(x @ W_r + h @ U_r + b_r)
                    candidate = activation(x @ W_h + (r * h) @ U_h + b_h)
                h = z * h + (1.0 - z) * candidate
                out["update"][sample, t], out["reset"][sample, t] = z, r
                out["candidate"][sample, t] = candidate
            out["hidden"][sample, t] = h
    return out


def reference_trace(model, x):
    """Walk a Sequential model's layers by hand, up to its last recurrent layer."""
    values = np.asarray(x)
    result = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            values = layer.get_weights()[0][values]  # (batch, timesteps, embedding)
        elif isinstance(layer, keras.layers.Dropout):
            pass
        elif isinstance(layer, keras.layers.Bidirectional):
            config = layer.forward_layer.get_config()
            kind = type(layer.forward_layer).__name__
            weights = layer.get_weights()
            half = len(weights) // 2
            forward = reference_direction(kind, config, weights[:half], values, backward=False)
            backward = reference_direction(kind, config, weights[half:], values, backward=True)
            result[layer.name] = {"forward": forward, "backward": backward}
            if config["return_sequences"]:
                values = np.concatenate([forward["hidden"], backward["hidden"]], axis=-1)
            else:
                values = np.concatenate([forward["hidden"][:, -1], backward["hidden"][:, 0]], axis=-1)
        elif isinstance(layer, (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)):
            config = layer.get_config()
            forward = reference_direction(type(layer).__name__, config, layer.get_weights(), values, False)
            result[layer.name] = {"forward": forward}
            values = forward["hidden"] if config["return_sequences"] else forward["hidden"][:, -1]
        else:
            break  # the head
    return result


# ---------- model builders ----------


def randomize(model, seed=0, scale=0.5):
    """Give every weight (biases included) random values, so gate order and bias layout matter."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


def float_batch(seed=1):
    return np.random.default_rng(seed).normal(size=(BATCH, TIMESTEPS, FEATURES)).astype(np.float32)


def token_batch(seed=1):
    return np.random.default_rng(seed).integers(0, VOCABULARY, size=(BATCH, TIMESTEPS))


CELLS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}


def single_layer(cell, activation="tanh", return_sequences=True, **kwargs):
    return keras.Sequential(
        [
            keras.Input((TIMESTEPS, FEATURES)),
            CELLS[cell](UNITS, activation=activation, return_sequences=return_sequences, **kwargs),
            keras.layers.Dense(1),
        ]
    )


def stacked(cell, bidirectional=False, embedding=False):
    def recurrent(return_sequences):
        layer = CELLS[cell](UNITS, return_sequences=return_sequences)
        return keras.layers.Bidirectional(layer) if bidirectional else layer

    front = (
        [keras.Input((TIMESTEPS,), dtype="int32"), keras.layers.Embedding(VOCABULARY, FEATURES)]
        if embedding
        else [keras.Input((TIMESTEPS, FEATURES))]
    )
    return keras.Sequential(
        front + [recurrent(True), keras.layers.Dropout(0.5), recurrent(False), keras.layers.Dense(2)]
    )


def keras_hidden(model, layer_name, x):
    """The recurrent layer's own output, from a Keras sub-model, split into directions."""
    layer = model.get_layer(layer_name)
    output = np.asarray(keras.Model(model.inputs[0], layer.output)(x))
    if isinstance(layer, keras.layers.Bidirectional):
        return {"forward": output[..., :UNITS], "backward": output[..., UNITS:]}
    return {"forward": output}


def check_against_references(model, x):
    """trace() must match the hand equations for every gate, and Keras for `hidden`."""
    result = trace(model, x)
    expected = reference_trace(model, x)
    assert list(result) == recurrent_layer_names(model) == list(expected)
    for name, by_direction in expected.items():
        assert list(result[name]) == list(by_direction)
        for direction, gates in by_direction.items():
            assert list(result[name][direction]) == list(gates)
            for gate, values in gates.items():
                actual = result[name][direction][gate]
                assert actual.dtype == np.float32
                assert actual.shape == (BATCH, TIMESTEPS, UNITS)
                np.testing.assert_allclose(actual, values, atol=1e-5, err_msg=f"{name}/{direction}/{gate}")
        own = keras_hidden(model, name, x)
        return_sequences = model.get_layer(name).return_sequences
        for direction, output in own.items():
            hidden = result[name][direction]["hidden"]
            if not return_sequences:
                hidden = hidden[:, -1] if direction == "forward" else hidden[:, 0]
            np.testing.assert_allclose(hidden, output, atol=1e-5, err_msg=f"{name}/{direction} vs Keras")
    return result


# ---------- tests ----------


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_single_layer_matches_hand_equations_and_keras(cell, activation):
    check_against_references(randomize(single_layer(cell, activation)), float_batch())


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_stacked_layers_with_dropout(cell):
    check_against_references(randomize(stacked(cell)), float_batch())


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_stacked_bidirectional(cell):
    result = check_against_references(randomize(stacked(cell, bidirectional=True)), float_batch())
    assert all(set(by_direction) == {"forward", "backward"} for by_direction in result.values())


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_embedding_front_with_tokens(cell):
    check_against_references(randomize(stacked(cell, embedding=True)), token_batch())


def test_last_layer_without_return_sequences():
    check_against_references(randomize(single_layer("LSTM", return_sequences=False)), float_batch())


def test_gru_reset_before_matrix_product():
    check_against_references(randomize(single_layer("GRU", reset_after=False)), float_batch())


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_layers_without_bias(cell):
    check_against_references(randomize(single_layer(cell, use_bias=False)), float_batch())


def test_gates_stay_in_their_ranges():
    model = randomize(single_layer("LSTM"))
    result = trace(model, float_batch())[model.layers[0].name]["forward"]
    for gate in ("input", "forget", "output"):
        assert 0.0 < result[gate].min() and result[gate].max() < 1.0
    assert np.abs(result["candidate"]).max() < 1.0


def test_functional_chain_and_non_recurrent_layers_in_between():
    inputs = keras.Input((TIMESTEPS, FEATURES))
    values = keras.layers.Conv1D(3, 1)(inputs)  # not recurrent: just passed through
    values = keras.layers.LSTM(UNITS, return_sequences=True, name="first")(values)
    values = keras.layers.Dropout(0.3)(values)
    values = keras.layers.Bidirectional(keras.layers.GRU(UNITS), name="second")(values)
    model = randomize(keras.Model(inputs, keras.layers.Dense(1)(values)))
    x = float_batch()
    result = trace(model, x)
    assert list(result) == ["first", "second"]
    first, second = keras_hidden(model, "first", x), keras_hidden(model, "second", x)
    np.testing.assert_allclose(result["first"]["forward"]["hidden"], first["forward"], atol=1e-5)
    # Without return_sequences the layer outputs the last step going forward, the first going backward.
    np.testing.assert_allclose(result["second"]["forward"]["hidden"][:, -1], second["forward"], atol=1e-5)
    np.testing.assert_allclose(result["second"]["backward"]["hidden"][:, 0], second["backward"], atol=1e-5)


def test_model_loaded_from_keras_file(tmp_path):
    model = randomize(stacked("GRU", bidirectional=True, embedding=True))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = token_batch()
    check_against_references(loaded, x)
    original = trace(model, x)
    reloaded = trace(loaded, x)
    for name in original:
        np.testing.assert_array_equal(reloaded[name]["backward"]["update"], original[name]["backward"]["update"])


def test_long_sequences_still_match_keras():
    # 200 steps: small float32 differences must not build up along the sequence.
    model = randomize(
        keras.Sequential([keras.Input((200, 2)), keras.layers.LSTM(8, return_sequences=True, name="long")]), scale=0.3
    )
    x = np.random.default_rng(2).normal(size=(2, 200, 2)).astype(np.float32)
    np.testing.assert_allclose(trace(model, x)["long"]["forward"]["hidden"], np.asarray(model(x)), atol=1e-5)


# ---------- bad input ----------


def test_model_that_is_not_a_chain_is_rejected():
    inputs = keras.Input((TIMESTEPS, FEATURES))
    sequence = keras.layers.LSTM(UNITS, return_sequences=True)(inputs)
    merged = keras.layers.Add()([keras.layers.Dense(UNITS)(sequence), keras.layers.Dense(UNITS)(sequence)])
    model = keras.Model(inputs, keras.layers.GRU(2)(merged))
    with pytest.raises(ValueError, match="single chain"):
        trace(model, float_batch())


def test_model_without_recurrent_layer_is_rejected():
    model = keras.Sequential(
        [keras.Input((TIMESTEPS, FEATURES)), keras.layers.Conv1D(4, 3), keras.layers.GlobalAveragePooling1D()]
    )
    with pytest.raises(ValueError, match="no recurrent layer"):
        trace(model, float_batch())


@pytest.mark.parametrize(
    "layer, message",
    [
        (keras.layers.Bidirectional(keras.layers.LSTM(UNITS), merge_mode="sum"), "merge_mode"),
        (keras.layers.LSTM(UNITS, go_backwards=True), "go_backwards"),
        (keras.layers.RNN(keras.layers.LSTMCell(UNITS)), "SimpleRNN, LSTM and GRU"),
    ],
)
def test_unsupported_recurrent_layers_are_rejected(layer, message):
    model = keras.Sequential([keras.Input((TIMESTEPS, FEATURES)), layer])
    with pytest.raises(ValueError, match=message):
        trace(model, float_batch())


def test_masking_is_rejected():
    model = keras.Sequential(
        [
            keras.Input((TIMESTEPS,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, FEATURES, mask_zero=True),
            keras.layers.LSTM(UNITS),
        ]
    )
    with pytest.raises(ValueError, match="mask"):
        trace(model, token_batch())


def test_subclassed_model_is_rejected():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.recurrent = keras.layers.LSTM(UNITS)

        def call(self, inputs):
            return self.recurrent(inputs)

    model = Custom()
    model(float_batch())
    with pytest.raises(ValueError, match="subclassed"):
        trace(model, float_batch())


def test_bad_x_is_rejected():
    model = single_layer("GRU")
    with pytest.raises(ValueError, match="batch of sequences"):
        trace(model, np.zeros(TIMESTEPS, dtype=np.float32))
    with pytest.raises(ValueError, match="features"):
        trace(model, np.zeros((BATCH, TIMESTEPS, FEATURES + 1), dtype=np.float32))


# ---------- summaries for the dashboard ----------


def test_spectral_radius_of_known_matrix():
    rng = np.random.default_rng(3)
    rotation, _ = np.linalg.qr(rng.normal(size=(UNITS, UNITS)))
    eigenvalues = np.array([0.5, -0.9, 0.3, 0.1, -0.2])
    recurrent_kernel = (rotation @ np.diag(eigenvalues) @ rotation.T).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((TIMESTEPS, FEATURES)), keras.layers.Bidirectional(keras.layers.SimpleRNN(UNITS))]
    )
    layer = model.layers[0]
    kernel, _, bias, *backward = layer.get_weights()
    layer.set_weights([kernel, recurrent_kernel, bias, backward[0], 2.0 * recurrent_kernel, backward[2]])
    radii = spectral_radius(layer)
    assert list(radii) == ["forward", "backward"]
    assert radii["forward"] == pytest.approx(0.9, rel=1e-5)
    assert radii["backward"] == pytest.approx(1.8, rel=1e-5)
    with pytest.raises(ValueError, match="SimpleRNN"):
        spectral_radius(single_layer("LSTM").layers[0])


def test_mean_forget_gate():
    model = randomize(stacked("LSTM", bidirectional=True))
    result = trace(model, float_batch())
    name = recurrent_layer_names(model)[0]
    means = mean_forget_gate(result[name])
    assert means["forward"] == pytest.approx(float(np.mean(result[name]["forward"]["forget"])))
    assert means["backward"] == pytest.approx(float(np.mean(result[name]["backward"]["forget"])))
    # A large forget-gate bias with zero weights opens the gate fully.
    layer = single_layer("LSTM").layers[0]
    kernel, recurrent_kernel, bias = layer.get_weights()
    bias[UNITS : 2 * UNITS] = 20.0
    layer.set_weights([0 * kernel, 0 * recurrent_kernel, bias])
    wide_open = trace(keras.Sequential([keras.Input((TIMESTEPS, FEATURES)), layer]), float_batch())
    assert mean_forget_gate(wide_open[layer.name])["forward"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="forget gate"):
        gru_model = single_layer("GRU")
        mean_forget_gate(trace(gru_model, float_batch())[gru_model.layers[0].name])
