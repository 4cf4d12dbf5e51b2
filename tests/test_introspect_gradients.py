"""Tests for rnnlab.introspect.gradients: gradient_norms() against an independent unrolled tape.

The reference below shares no code with the implementation: it unrolls each cell BY HAND from
`layer.get_weights()` in float64 TensorFlow (not Keras's cell), adds a zero probe to every h_t,
computes the loss with a hand-written formula and reads dL/d(probe_t) from a GradientTape. All
weights, biases included, are random, so wrong gate maths or time order changes the numbers. Run:

    cd /work/main && .venv/bin/pytest -q tests/test_introspect_gradients.py
"""

import numpy as np
import pytest
import tensorflow as tf

import keras

from rnnlab.introspect.gradients import gradient_norms

BATCH, TIMESTEPS, FEATURES, UNITS = 4, 6, 3, 5
VOCABULARY, CLASSES = 15, 3


# ---------- independent reference ----------


def act(name, value):
    return {"tanh": tf.tanh, "relu": tf.nn.relu, "sigmoid": tf.sigmoid, "linear": tf.identity,
            "softmax": tf.nn.softmax}[name](value)


def reference_direction(kind, config, weights, inputs, probes, backward):
    """Hand-unrolled cell in float64; probes[t] (batch, units) is added to h_t. Returns (batch, T, units)."""
    W = tf.constant(weights[0], tf.float64)
    U = tf.constant(weights[1], tf.float64)
    units = weights[1].shape[0]
    if config["use_bias"]:
        b = tf.constant(weights[2], tf.float64)
    else:
        b = tf.zeros((2, 3 * units) if kind == "GRU" and config["reset_after"] else (weights[1].shape[1],), tf.float64)
    h = tf.zeros((inputs.shape[0], units), tf.float64)
    c = tf.zeros_like(h)
    hidden = [None] * inputs.shape[1]
    order = range(inputs.shape[1] - 1, -1, -1) if backward else range(inputs.shape[1])
    for t in order:
        x = inputs[:, t]
        if kind == "SimpleRNN":
            h = act(config["activation"], x @ W + h @ U + b)
        elif kind == "LSTM":
            i = tf.sigmoid(x @ W[:, :units] + h @ U[:, :units] + b[:units])
            f = tf.sigmoid(x @ W[:, units:2 * units] + h @ U[:, units:2 * units] + b[units:2 * units])
            g = act(config["activation"], x @ W[:, 2 * units:3 * units] + h @ U[:, 2 * units:3 * units] + b[2 * units:3 * units])
            o = tf.sigmoid(x @ W[:, 3 * units:] + h @ U[:, 3 * units:] + b[3 * units:])
            c = f * c + i * g
            h = o * act(config["activation"], c)
        elif config["reset_after"]:
            z = tf.sigmoid(x @ W[:, :units] + b[0, :units] + h @ U[:, :units] + b[1, :units])
            r = tf.sigmoid(x @ W[:, units:2 * units] + b[0, units:2 * units] + h @ U[:, units:2 * units] + b[1, units:2 * units])
            candidate = act(config["activation"], x @ W[:, 2 * units:] + b[0, 2 * units:] + r * (h @ U[:, 2 * units:] + b[1, 2 * units:]))
            h = z * h + (1.0 - z) * candidate
        else:
            z = tf.sigmoid(x @ W[:, :units] + h @ U[:, :units] + b[:units])
            r = tf.sigmoid(x @ W[:, units:2 * units] + h @ U[:, units:2 * units] + b[units:2 * units])
            candidate = act(config["activation"], x @ W[:, 2 * units:] + (r * h) @ U[:, 2 * units:] + b[2 * units:])
            h = z * h + (1.0 - z) * candidate
        h = h + probes[t]
        hidden[t] = h
    return tf.stack(hidden, axis=1)


def reference_loss(name, y, y_pred):
    """The textbook losses, averaged over the batch as Keras does."""
    y = tf.constant(y)
    if name == "mse":
        return tf.reduce_mean(tf.square(tf.cast(y, tf.float64) - y_pred))
    if name == "binary_crossentropy":
        y = tf.cast(y, tf.float64)
        return -tf.reduce_mean(y * tf.math.log(y_pred) + (1.0 - y) * tf.math.log(1.0 - y_pred))
    if name == "sparse_categorical_crossentropy":
        picked = tf.gather(y_pred, tf.cast(tf.reshape(y, [-1]), tf.int32), axis=1, batch_dims=1)
        return -tf.reduce_mean(tf.math.log(picked))
    raise AssertionError(name)


def reference_norms(model, x, y, loss_name):
    """Walk a Sequential model by hand; return {layer: {direction: (T,)}} norms of dL/d(probe_t)."""
    probes = {}
    with tf.GradientTape() as tape:
        values = None
        for layer in model.layers:
            weights = layer.get_weights()
            if isinstance(layer, keras.layers.Embedding):
                values = tf.gather(tf.constant(weights[0], tf.float64), x)  # (batch, T, embedding)
            elif values is None:
                values = tf.constant(x, tf.float64)
            if isinstance(layer, keras.layers.Embedding) or isinstance(layer, keras.layers.Dropout):
                continue
            if isinstance(layer, keras.layers.Dense):
                values = act(layer.get_config()["activation"], values @ weights[0].astype(np.float64) + weights[1])
                continue
            if isinstance(layer, keras.layers.Bidirectional):
                config = layer.forward_layer.get_config()
                kind = type(layer.forward_layer).__name__
                parts = {"forward": weights[: len(weights) // 2], "backward": weights[len(weights) // 2 :]}
            else:
                config = layer.get_config()
                kind = type(layer).__name__
                parts = {"forward": weights}
            outputs = []
            probes[layer.name] = {}
            for direction, direction_weights in parts.items():
                probe = [tf.zeros((x.shape[0], UNITS), tf.float64) for _ in range(x.shape[1])]
                tape.watch(probe)
                probes[layer.name][direction] = probe
                sequence = reference_direction(kind, config, direction_weights, values, probe, direction == "backward")
                if not config["return_sequences"]:
                    sequence = sequence[:, -1] if direction == "forward" else sequence[:, 0]
                outputs.append(sequence)
            values = tf.concat(outputs, axis=-1)
        loss = reference_loss(loss_name, y, values)
    gradients = tape.gradient(loss, probes)
    return {
        name: {direction: np.array([np.linalg.norm(g.numpy()) for g in steps]) for direction, steps in by_direction.items()}
        for name, by_direction in gradients.items()
    }


# ---------- helpers ----------


def randomize(model, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


CELLS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
HEADS = {
    "mse": (2, "linear"),
    "binary_crossentropy": (1, "sigmoid"),
    "sparse_categorical_crossentropy": (CLASSES, "softmax"),
}


def build(cell, layers=1, bidirectional=False, embedding=False, loss="mse", **cell_kwargs):
    def recurrent(return_sequences):
        layer = CELLS[cell](UNITS, return_sequences=return_sequences, **cell_kwargs)
        return keras.layers.Bidirectional(layer) if bidirectional else layer

    front = (
        [keras.Input((TIMESTEPS,), dtype="int32"), keras.layers.Embedding(VOCABULARY, FEATURES)]
        if embedding
        else [keras.Input((TIMESTEPS, FEATURES))]
    )
    stack = []
    for index in range(layers):
        stack += [recurrent(index < layers - 1), keras.layers.Dropout(0.5)]
    outputs, activation = HEADS[loss]
    model = keras.Sequential(front + stack + [keras.layers.Dense(outputs, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    return randomize(model)


def batch(embedding=False, loss="mse", seed=1):
    rng = np.random.default_rng(seed)
    if embedding:
        x = rng.integers(0, VOCABULARY, size=(BATCH, TIMESTEPS))
    else:
        x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype(np.float32)
    if loss == "mse":
        y = rng.normal(size=(BATCH, 2)).astype(np.float32)
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, size=(BATCH, 1)).astype(np.float32)
    else:
        y = rng.integers(0, CLASSES, size=(BATCH,))
    return x, y


def check(model, x, y, loss="mse"):
    actual = gradient_norms(model, x, y)
    expected = reference_norms(model, x, y, loss)
    assert list(actual) == list(expected)
    for name, by_direction in expected.items():
        assert list(actual[name]) == list(by_direction)
        for direction, norms in by_direction.items():
            assert actual[name][direction].shape == (TIMESTEPS,)
            assert np.all(norms > 0)
            np.testing.assert_allclose(actual[name][direction], norms, rtol=1e-3, err_msg=f"{name}/{direction}")
    return actual


# ---------- tests ----------


@pytest.mark.parametrize(
    "cell, cell_kwargs",
    [
        ("SimpleRNN", {}),
        ("SimpleRNN", {"activation": "relu"}),
        ("LSTM", {}),
        ("GRU", {}),
        ("GRU", {"reset_after": False}),
    ],
)
def test_single_layer_matches_hand_unrolled_tape(cell, cell_kwargs):
    model = build(cell, **cell_kwargs)
    check(model, *batch())


def test_stacked_two_layers():
    model = build("LSTM", layers=2)
    check(model, *batch())


def test_stacked_bidirectional():
    model = build("GRU", layers=2, bidirectional=True)
    result = check(model, *batch())
    assert all(list(by_direction) == ["forward", "backward"] for by_direction in result.values())


def test_embedding_front_with_tokens():
    model = build("LSTM", embedding=True)
    check(model, *batch(embedding=True))


@pytest.mark.parametrize("loss", ["binary_crossentropy", "sparse_categorical_crossentropy"])
def test_classification_heads(loss):
    model = build("SimpleRNN", loss=loss)
    check(model, *batch(loss=loss), loss=loss)


def test_last_step_equals_direct_gradient_of_keras_submodel():
    # Many-to-one: only h_T reaches the head, so dL/dh_T is the plain gradient at the split.
    model = build("LSTM")
    x, y = batch()
    recurrent, head = model.layers[0], model.layers[-1]
    final_hidden = keras.Model(model.inputs[0], recurrent.output)(x)  # (batch, units)
    with tf.GradientTape() as tape:
        tape.watch(final_hidden)
        loss = model.compute_loss(x=x, y=y, y_pred=head(final_hidden), training=False)
    direct = np.linalg.norm(tape.gradient(loss, final_hidden).numpy())
    assert gradient_norms(model, x, y)[recurrent.name]["forward"][-1] == pytest.approx(direct, rel=1e-4)


def test_follows_weight_changes():
    # The trainer calls this after every epoch: new weights must be seen by the cached function.
    model = build("GRU")
    x, y = batch()
    before = check(model, x, y)
    randomize(model, seed=5)
    after = check(model, x, y)
    name = model.layers[0].name
    assert not np.allclose(before[name]["forward"], after[name]["forward"], rtol=1e-2)


def test_recompiling_with_another_loss_changes_the_result():
    model = build("SimpleRNN", loss="binary_crossentropy")
    x, y = batch(loss="binary_crossentropy")
    check(model, x, y, loss="binary_crossentropy")
    model.compile(optimizer="adam", loss="mse")
    mse_norms = gradient_norms(model, x, y)
    expected = reference_norms(model, x, y, "mse")
    name = model.layers[0].name
    np.testing.assert_allclose(mse_norms[name]["forward"], expected[name]["forward"], rtol=1e-3)


def test_cell_dropout_is_inactive_and_left_untouched():
    model = build("LSTM", dropout=0.5, recurrent_dropout=0.5)
    check(model, *batch())
    cell = model.layers[0].cell
    assert (cell.dropout, cell.recurrent_dropout) == (0.5, 0.5)


def test_bad_input_is_rejected():
    model = keras.Sequential([keras.Input((TIMESTEPS, FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)])
    x, y = batch()
    with pytest.raises(ValueError, match="Compile it first"):
        gradient_norms(model, x, y)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="must match"):
        gradient_norms(model, x, y[:2])
    dense_only = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    dense_only.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="no recurrent layer"):
        gradient_norms(dense_only, x[:, 0], y)
