"""How strongly the loss depends on each time step's hidden state: the vanishing-gradient curve.

`gradient_norms(model, x, y)` returns, for every recurrent layer and direction, the L2 norm of
dL/dh_t (over the batch and the units) for each input time step t, where L is the model's compiled
loss on the batch. It is the total derivative: every path from h_t to the loss counts, through
later time steps and through the layers above.

    from rnnlab.introspect.gradients import gradient_norms
    norms = gradient_norms(model, x_batch, y_batch)
    norms["lstm"]["forward"]  # (timesteps,)

Method: the model's chain is re-run with each recurrent layer unrolled step by step through the
layer's own Keras cell. A zero "probe" is added to h_t right after the cell makes it, before
anything uses it, so dL/d(probe_t) equals the total dL/dh_t. The unrolled computation is a
`tf.function` (a `tf.while_loop` over time) cached per model: the first call traces it (about
half a second), later calls on the same shapes only run it.
"""

import math
import weakref

import numpy as np
import tensorflow as tf

from rnnlab.introspect import layers

# One traced function per model. Weak keys let a model be garbage-collected; the function itself
# holds only a weak reference to its model so the cache entry does not keep the model alive.
_FUNCTION_CACHE = weakref.WeakKeyDictionary()


def _unroll_direction(cell, inputs, probe, reverse):
    """Run one direction with the layer's own cell, adding probe[t] to h_t; returns (batch, timesteps, units).

    `inputs` is (batch, timesteps, features) and `probe` (timesteps, batch, units), both in input
    time order; the backward direction walks them from the last input step to the first.
    """
    inputs_by_time = tf.transpose(inputs, [1, 0, 2])  # (timesteps, batch, features)
    if reverse:
        inputs_by_time = tf.reverse(inputs_by_time, axis=[0])
        probe = tf.reverse(probe, axis=[0])
    timesteps = tf.shape(inputs_by_time)[0]
    # TensorArrays give each step its own slice, so the backward pass scatters gradients per step
    # instead of adding a full (timesteps, batch, ...) tensor at every iteration.
    input_steps = tf.TensorArray(inputs.dtype, size=timesteps).unstack(inputs_by_time)
    probe_steps = tf.TensorArray(probe.dtype, size=timesteps).unstack(probe)
    hidden_steps = tf.TensorArray(probe.dtype, size=timesteps)
    initial_states = cell.get_initial_state(batch_size=tf.shape(inputs)[0])  # [h] or [h, c] for LSTM

    def step(time, hidden_steps, *states):
        hidden, new_states = cell(input_steps.read(time), list(states), training=False)
        hidden = hidden + probe_steps.read(time)  # (batch, units)
        # Only h is probed; the LSTM cell state c carries on untouched.
        new_states = [hidden] + list(new_states)[1:]
        return (time + 1, hidden_steps.write(time, hidden), *new_states)

    _, hidden_steps, *_ = tf.while_loop(
        lambda time, *_: time < timesteps,
        step,
        (tf.constant(0), hidden_steps, *initial_states),
        maximum_iterations=timesteps,
    )
    hidden_by_time = hidden_steps.stack()  # (timesteps, batch, units)
    if reverse:
        hidden_by_time = tf.reverse(hidden_by_time, axis=[0])
    return tf.transpose(hidden_by_time, [1, 0, 2])  # (batch, timesteps, units)


def _without_cell_dropout(chain):
    """Zero every cell's dropout rates while tracing; returns a function that restores them.

    At inference the cells ignore their dropout masks, but they would still draw them, which adds
    random-number ops to the graph and moves the layer's seed generator. Tracing with rates of zero
    keeps the graph free of both; the rates are only read while tracing.
    """
    saved = []
    for layer in chain:
        if layers.is_recurrent(layer):
            for _, rnn_layer in layers.directions(layer):
                cell = rnn_layer.cell
                saved.append((cell, cell.dropout, cell.recurrent_dropout))
                cell.dropout = 0.0
                cell.recurrent_dropout = 0.0

    def restore():
        for cell, dropout, recurrent_dropout in saved:
            cell.dropout = dropout
            cell.recurrent_dropout = recurrent_dropout

    return restore


def _build_function(model, chain):
    """Trace-once function (x, y) -> {layer name: {direction: dL/dh (timesteps, batch, units)}}."""
    model_reference = weakref.ref(model)

    def probe_gradients(x, y):
        probes = {}

        # Called by run_chain inside the `with tf.GradientTape() as tape` block below.
        def run_direction(layer, direction, rnn_layer, inputs):
            shape = tf.stack([tf.shape(inputs)[1], tf.shape(inputs)[0], rnn_layer.cell.units])
            probe = tf.zeros(shape, dtype=rnn_layer.cell.compute_dtype)  # (timesteps, batch, units)
            tape.watch(probe)
            probes.setdefault(layer.name, {})[direction] = probe
            return _unroll_direction(rnn_layer.cell, inputs, probe, reverse=direction == "backward")

        restore_dropout = _without_cell_dropout(chain)
        try:
            with tf.GradientTape() as tape:
                y_pred = layers.run_chain(chain, x, run_direction)
                loss = model_reference().compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        finally:
            restore_dropout()
        return tape.gradient(loss, probes, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    # reduce_retracing: a new batch size or length triggers at most one more, shape-general trace.
    # autograph=False: the code has no tensor-dependent Python control flow, and Keras's own
    # train functions skip AutoGraph too; converting the layers' code tripled the first call's time.
    return tf.function(probe_gradients, reduce_retracing=True, autograph=False)


def _cached_function(model, chain):
    """The traced function for this model, rebuilt if the model was compiled again since."""
    compiled_loss = getattr(model, "_compile_loss", None)
    cached = _FUNCTION_CACHE.get(model)
    # The compiled loss is baked into the traced graph, so a recompile needs a new function.
    if cached is None or cached[0]() is not compiled_loss:
        loss_reference = weakref.ref(compiled_loss) if compiled_loss is not None else (lambda: None)
        cached = (loss_reference, _build_function(model, chain))
        _FUNCTION_CACHE[model] = cached
    return cached[1]


def gradient_norms(model, x, y):
    """Norm of the total derivative dL/dh_t for each time step of every recurrent layer.

    Args:
        model: a compiled Keras Sequential or functional model whose layers form one chain, with
            SimpleRNN, LSTM or GRU layers (optionally Bidirectional with merge_mode="concat").
        x: a batch the model accepts, e.g. (batch, timesteps, features) floats, or
            (batch, timesteps) integer tokens for a model that starts with an Embedding.
        y: the matching targets, as for model.fit.

    Returns:
        {recurrent layer name: {"forward": (timesteps,), "backward": (timesteps,)}} ("backward" only
        for Bidirectional layers): float64 arrays indexed by input time step, each entry the L2 norm
        over batch and units of dL/dh_t, with L the compiled loss averaged over the batch as Keras
        does. Dropout is inactive.
    """
    chain = layers.model_chain(model)
    if not getattr(model, "compiled", False) or model.loss is None:
        raise ValueError(
            f"Model '{model.name}' has no loss yet. Compile it first, e.g. "
            "model.compile(optimizer='adam', loss='mse'); the gradients are taken of that loss."
        )
    for layer in chain:
        for _, rnn_layer in layers.directions(layer) if layers.is_recurrent(layer) else []:
            if rnn_layer.activity_regularizer is not None:
                raise ValueError(
                    f"Layer '{rnn_layer.name}' has an activity regularizer; RNN Lab's gradient view "
                    "re-runs the cells one step at a time and cannot include that extra loss term."
                )
    x = np.asarray(x)
    y = np.asarray(y)
    layers.check_batch(x)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x holds {x.shape[0]} sequences but y holds {y.shape[0]} targets; they must match.")
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
    if np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float32, copy=False)

    gradients = _cached_function(model, chain)(tf.constant(x), tf.constant(y))
    norms = {}
    # Walk the chain rather than the returned dict, to keep the layers' order (bottom first).
    for layer in chain:
        if not layers.is_recurrent(layer):
            continue
        norms[layer.name] = {}
        for direction, _ in layers.directions(layer):
            gradient = gradients[layer.name][direction].numpy().astype(np.float64)  # (timesteps, batch, units)
            # Squared float32 values below ~1e-19 would underflow to zero, so sum in float64.
            norms[layer.name][direction] = np.sqrt(np.sum(gradient * gradient, axis=(1, 2)))
    return norms


# --- Reading the recorded norms ---------------------------------------------------------------------------------

def ends(norms, direction: str) -> tuple[int, int, float, float]:
    """(near step, far step, norm at near step, norm at far step), steps counted from 1 in input order."""
    values = np.asarray(norms, dtype=np.float64).ravel()
    steps = len(values)
    if direction == "backward":
        return 1, steps, float(values[0]), float(values[-1])
    return steps, 1, float(values[-1]), float(values[0])


def gradient_ratio(norms, direction: str = "forward") -> float:
    """Norm at the far end of the sequence over the norm where the gradient enters; NaN if undefined."""
    if np.asarray(norms).size < 2:
        return math.nan
    _, _, near, far = ends(norms, direction)
    if not (math.isfinite(near) and math.isfinite(far)) or near <= 0:
        return math.nan
    return far / near


def curves(norms: dict) -> list[tuple[str, str, np.ndarray]]:
    """(layer, direction, norms) for every recurrent layer (bottom first) and direction of one probe."""
    return [(layer, direction, np.asarray(values, dtype=np.float64))
            for layer, by_direction in norms.items() for direction, values in by_direction.items()]


def main_curve(norms: dict) -> tuple[str, str, np.ndarray]:
    """The bottom layer's forward direction: the one whose gradient has to reach the inputs themselves."""
    return curves(norms)[0]
