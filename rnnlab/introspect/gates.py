"""Gate values and hidden states of every recurrent layer, recomputed from the layer's own weights.

Keras only returns a recurrent layer's hidden states; the gates that produced them stay inside the
cell. `trace(model, x)` re-runs the model's chain of layers on a batch and, for each SimpleRNN,
LSTM or GRU (plain or Bidirectional), recomputes every gate with NumPy from the layer's kernels:

    from rnnlab.introspect.gates import trace
    result = trace(model, x_batch)
    result["lstm"]["forward"]["forget"]  # (batch, timesteps, units)

The equations follow Keras exactly (gate order and bias layout are in layers.CellWeights), so
`hidden` reproduces the layer's own output. Summaries for the dashboard sit at the end: `mean_forget_gate`,
`forget_gate_by_epoch` (over a run's recorded traces), `forget_gate_units`, `spectral_radius` and
`spectral_radii`.
"""

import math

import keras
import numpy as np

from rnnlab.introspect import layers

# The arrays `trace` returns for each cell type, in the order the dashboard lists them.
GATE_NAMES = {
    "SimpleRNN": ("hidden",),
    "LSTM": ("input", "forget", "candidate", "output", "cell", "hidden"),
    "GRU": ("update", "reset", "candidate", "hidden"),
}


def _sigmoid(values):
    # Written with tanh because 1 / (1 + exp(-x)) overflows (and warns) for large negative x.
    return 0.5 * (np.tanh(0.5 * values) + 1.0)


def _relu(values):
    return np.maximum(values, 0.0)


def numpy_activation(activation):
    """A NumPy version of a Keras activation; unusual ones fall back to Keras itself."""
    known = {
        keras.activations.tanh: np.tanh,
        keras.activations.sigmoid: _sigmoid,
        keras.activations.relu: _relu,
        keras.activations.linear: lambda values: values,
    }
    if activation in known:
        return known[activation]
    return lambda values: keras.ops.convert_to_numpy(activation(values)).astype(np.float32)


def _trace_direction(rnn_layer, inputs, reverse):
    """Run one direction's recurrence in NumPy, returning {gate name: (batch, timesteps, units)}."""
    weights = layers.cell_weights(rnn_layer)
    batch, timesteps, features = inputs.shape
    if features != weights.kernel.shape[0]:
        raise ValueError(
            f"Layer '{rnn_layer.name}' expects {weights.kernel.shape[0]} features per time step "
            f"but received {features}."
        )
    units = weights.units
    activation = numpy_activation(rnn_layer.cell.activation)
    gate = numpy_activation(getattr(rnn_layer.cell, "recurrent_activation", keras.activations.sigmoid))
    if reverse:
        inputs = inputs[:, ::-1]
    # The input's contribution to every gate does not depend on the recurrence, so one matrix
    # product covers all time steps; the time loop below then only multiplies by the small
    # recurrent kernel. Time-major so each step reads a contiguous block.
    projected = np.swapaxes(inputs, 0, 1).reshape(timesteps * batch, features) @ weights.kernel
    projected = (projected + weights.input_bias).reshape(timesteps, batch, -1)  # (timesteps, batch, blocks * units)
    recurrent_kernel = weights.recurrent_kernel
    recurrent_bias = weights.recurrent_bias
    names = GATE_NAMES[weights.kind]
    results = {name: np.empty((timesteps, batch, units), dtype=np.float32) for name in names}
    hidden = np.zeros((batch, units), dtype=np.float32)
    cell_state = np.zeros((batch, units), dtype=np.float32)

    for step in range(timesteps):
        step_input = projected[step]  # (batch, blocks * units)
        if weights.kind == "SimpleRNN":
            hidden = activation(step_input + hidden @ recurrent_kernel)
        elif weights.kind == "LSTM":
            pre_activation = step_input + hidden @ recurrent_kernel  # (batch, 4 * units)
            input_gate = gate(pre_activation[:, :units])
            forget_gate = gate(pre_activation[:, units : 2 * units])
            candidate = activation(pre_activation[:, 2 * units : 3 * units])
            output_gate = gate(pre_activation[:, 3 * units :])
            cell_state = forget_gate * cell_state + input_gate * candidate
            hidden = output_gate * activation(cell_state)
            results["input"][step] = input_gate
            results["forget"][step] = forget_gate
            results["candidate"][step] = candidate
            results["output"][step] = output_gate
            results["cell"][step] = cell_state
        elif weights.reset_after:
            recurrent_part = hidden @ recurrent_kernel + recurrent_bias  # (batch, 3 * units)
            update_gate = gate(step_input[:, :units] + recurrent_part[:, :units])
            reset_gate = gate(step_input[:, units : 2 * units] + recurrent_part[:, units : 2 * units])
            # reset_after=True: the reset gate scales the recurrent term after the matrix product.
            candidate = activation(step_input[:, 2 * units :] + reset_gate * recurrent_part[:, 2 * units :])
            hidden = update_gate * hidden + (1.0 - update_gate) * candidate
            results["update"][step] = update_gate
            results["reset"][step] = reset_gate
            results["candidate"][step] = candidate
        else:
            recurrent_part = hidden @ recurrent_kernel[:, : 2 * units]  # (batch, 2 * units)
            update_gate = gate(step_input[:, :units] + recurrent_part[:, :units])
            reset_gate = gate(step_input[:, units : 2 * units] + recurrent_part[:, units:])
            # reset_after=False (the original GRU): reset the state before the matrix product.
            candidate = activation(step_input[:, 2 * units :] + (reset_gate * hidden) @ recurrent_kernel[:, 2 * units :])
            hidden = update_gate * hidden + (1.0 - update_gate) * candidate
            results["update"][step] = update_gate
            results["reset"][step] = reset_gate
            results["candidate"][step] = candidate
        results["hidden"][step] = hidden

    # Back to (batch, timesteps, units), and for the backward direction back to input time order.
    time_order = slice(None, None, -1) if reverse else slice(None)
    return {
        name: np.ascontiguousarray(np.swapaxes(values[time_order], 0, 1), dtype=np.float32)
        for name, values in results.items()
    }


def trace(model, x):
    """Recompute the gates and hidden states of every recurrent layer of `model` on the batch `x`.

    Args:
        model: a built Keras Sequential or functional model whose layers form one chain, with
            SimpleRNN, LSTM or GRU layers (optionally Bidirectional with merge_mode="concat").
        x: a batch the model accepts, e.g. (batch, timesteps, features) floats, or
            (batch, timesteps) integer tokens for a model that starts with an Embedding.

    Returns:
        {recurrent layer name: {"forward": {...}, "backward": {...}}} ("backward" only for
        Bidirectional layers). Each inner dict maps gate names to float32 arrays
        (batch, timesteps, units) indexed by input time step:
        SimpleRNN: hidden; LSTM: input, forget, candidate, output, cell, hidden;
        GRU: update, reset, candidate, hidden.
    """
    chain = layers.model_chain(model)
    x = np.asarray(x)
    layers.check_batch(x)
    traces = {}

    def run_direction(layer, direction, rnn_layer, inputs):
        inputs = keras.ops.convert_to_numpy(inputs).astype(np.float32, copy=False)
        result = _trace_direction(rnn_layer, inputs, reverse=direction == "backward")
        traces.setdefault(layer.name, {})[direction] = result
        return result["hidden"]

    # Layers above the last recurrent layer (the head) cannot change any gate, so stop there.
    layers.run_chain(chain, x, run_direction, stop_after_last_recurrent=True)
    return traces


def mean_forget_gate(layer_trace):
    """Mean forget-gate value of one LSTM layer, per direction: {"forward": float, ...}.

    `layer_trace` is one entry of `trace(...)`, e.g. `trace(model, x)["lstm"]`. Values near 1 mean
    the cell keeps its memory from step to step, which is what lets gradients survive long spans.
    """
    if not isinstance(layer_trace, dict) or "forward" not in layer_trace:
        raise ValueError("Pass one layer's entry of trace(...), e.g. trace(model, x)['lstm'].")
    if "forget" not in layer_trace["forward"]:
        raise ValueError("Only LSTM layers have a forget gate; this trace has none.")
    return {direction: float(np.mean(gates["forget"])) for direction, gates in layer_trace.items()}


def spectral_radius(layer):
    """Largest |eigenvalue| of a SimpleRNN layer's recurrent kernel, per direction.

    Returns {"forward": float} or {"forward": float, "backward": float}. Above 1 the recurrence can
    amplify a signal (and its gradient) step after step; well below 1 both fade away.
    """
    pairs = layers.directions(layer)
    radii = {}
    for direction, rnn_layer in pairs:
        weights = layers.cell_weights(rnn_layer)
        if weights.kind != "SimpleRNN":
            raise ValueError(
                f"Layer '{layer.name}' is a {weights.kind}. The spectral radius summarises a SimpleRNN's "
                "single recurrent matrix; LSTM and GRU gates mix several matrices, so it would mislead."
            )
        eigenvalues = np.linalg.eigvals(weights.recurrent_kernel.astype(np.float64))
        radii[direction] = float(np.max(np.abs(eigenvalues)))
    return radii


def forget_gate_by_epoch(history: list[dict | None]) -> dict[str, dict[str, list[float]]]:
    """Mean forget gate of every LSTM layer in each of a run's recorded gate traces, per layer and direction.

    `history` is `record.gate_history()`: index 0 before training, index n after epoch n. A missing trace (None) or
    a layer without a forget gate in one trace gives NaN for that epoch, so every list has one value per entry.
    """
    series: dict[str, dict[str, list[float]]] = {}
    for number, snapshot in enumerate(history):
        for layer_name, layer_trace in (snapshot or {}).items():
            if "forget" not in layer_trace.get("forward", {}):
                continue
            for direction, value in mean_forget_gate(layer_trace).items():
                values = series.setdefault(layer_name, {}).setdefault(direction, [])
                values.extend([float("nan")] * (number - len(values)))
                values.append(value)
    for by_direction in series.values():
        for values in by_direction.values():
            values.extend([float("nan")] * (len(history) - len(values)))
    return series


def forget_gate_units(gates: dict, threshold: float = 0.9) -> dict[str, dict[str, tuple[int, int, float]]]:
    """Per LSTM layer and direction of one recorded trace: (units whose mean forget gate over the probe sequence
    exceeds `threshold`, all units, the highest unit's mean). The layer mean can hide a few units near 1."""
    counts = {}
    for layer, layer_trace in gates.items():
        for direction, values in layer_trace.items():
            if "forget" not in values:
                continue
            per_unit = np.asarray(values["forget"], dtype=np.float64).mean(axis=(0, 1))  # (units,)
            counts.setdefault(layer, {})[direction] = (int(np.sum(per_unit > threshold)), per_unit.size,
                                                       float(per_unit.max()))
    return counts


def spectral_radii(model) -> dict[str, dict[str, float]]:
    """Largest |eigenvalue| of each SimpleRNN layer's recurrent matrix per direction (NaN if the weights overflowed)."""
    radii = {}
    for layer in [layer for layer in model.layers if layers.is_recurrent(layer)]:
        try:
            radii[layer.name] = spectral_radius(layer)
        except np.linalg.LinAlgError:  # NaN or infinite weights after a diverged run
            radii[layer.name] = {"forward": math.nan} if not hasattr(layer, "backward_layer") else \
                {"forward": math.nan, "backward": math.nan}
    return radii
