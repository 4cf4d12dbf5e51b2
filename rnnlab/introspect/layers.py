"""Find, check and re-run the recurrent layers of a Keras model, for rnnlab.introspect.

`gates.trace` recomputes every gate from a layer's weights, and `gradients.gradient_norms`
unrolls every recurrent layer step by step. Both need the same groundwork, which lives here:

- `model_chain(model)` turns a Sequential or functional model into the list of layers that
  data flows through, one after the other, and rejects models RNN Lab cannot read.
- `directions(layer)` splits a recurrent layer into its directions ("forward", and "backward"
  for a `Bidirectional` wrapper), each a plain SimpleRNN, LSTM or GRU.
- `cell_weights(rnn_layer)` reads a direction's kernel, recurrent kernel and biases.
- `run_chain(chain, x, run_direction)` pushes a batch through the chain, letting the caller
  compute each recurrent direction its own way and merging directions as Keras does.

Typical use:

    from rnnlab.introspect.layers import recurrent_layer_names
    recurrent_layer_names(model)  # ["lstm", "lstm_1"]
"""

import dataclasses

import keras
import numpy as np

# The recurrent layer types whose equations RNN Lab knows. Subclasses keep the same maths.
RECURRENT_TYPES = (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)

# How many blocks of `units` columns each cell type stacks side by side in its kernels.
GATE_BLOCKS = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}

SUPPORTED_SENTENCE = (
    "RNN Lab can look inside SimpleRNN, LSTM and GRU layers, optionally wrapped in "
    "Bidirectional(merge_mode='concat')."
)


@dataclasses.dataclass
class CellWeights:
    """One direction's weights as float32 arrays, with absent biases filled with zeros.

    Columns come in blocks of `units`: LSTM i, f, c, o; GRU z (update), r (reset), h (candidate).
    """

    kind: str  # "SimpleRNN", "LSTM" or "GRU"
    units: int
    kernel: np.ndarray  # (features, blocks * units)
    recurrent_kernel: np.ndarray  # (units, blocks * units)
    input_bias: np.ndarray  # (blocks * units,) added to inputs @ kernel
    recurrent_bias: np.ndarray  # (blocks * units,) added to h @ recurrent_kernel; GRU reset_after only
    reset_after: bool  # GRU only: reset gate applied after the recurrent matrix product


def cell_kind(rnn_layer):
    """Return "SimpleRNN", "LSTM" or "GRU" for a plain recurrent layer."""
    for layer_type in RECURRENT_TYPES:
        if isinstance(rnn_layer, layer_type):
            return layer_type.__name__
    raise ValueError(f"Layer '{rnn_layer.name}' is a {type(rnn_layer).__name__}. {SUPPORTED_SENTENCE}")


def is_recurrent(layer):
    """True for SimpleRNN, LSTM, GRU, and any Bidirectional wrapper (checked later by `directions`)."""
    return isinstance(layer, RECURRENT_TYPES + (keras.layers.Bidirectional,))


def directions(layer):
    """Split a recurrent layer into [("forward", rnn_layer)] or [("forward", ...), ("backward", ...)].

    Raises ValueError for recurrent set-ups whose outputs RNN Lab would not reproduce.
    """
    if isinstance(layer, keras.layers.Bidirectional):
        if layer.merge_mode != "concat":
            raise ValueError(
                f"Bidirectional layer '{layer.name}' uses merge_mode='{layer.merge_mode}'. "
                "RNN Lab can only separate the two directions again when they are concatenated "
                "(merge_mode='concat', the default)."
            )
        if layer.forward_layer.go_backwards or not layer.backward_layer.go_backwards:
            raise ValueError(
                f"Bidirectional layer '{layer.name}' wraps a layer with go_backwards=True. "
                "Wrap a forward-running layer; Bidirectional adds the backward copy itself."
            )
        pairs = [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
    elif isinstance(layer, RECURRENT_TYPES):
        if layer.go_backwards:
            raise ValueError(
                f"Layer '{layer.name}' runs with go_backwards=True on its own. "
                "Use Bidirectional to read a sequence backwards; RNN Lab supports that."
            )
        pairs = [("forward", layer)]
    else:
        raise ValueError(f"Layer '{layer.name}' is a {type(layer).__name__}. {SUPPORTED_SENTENCE}")
    for _, rnn_layer in pairs:
        cell_kind(rnn_layer)
        if rnn_layer.stateful:
            raise ValueError(
                f"Layer '{rnn_layer.name}' is stateful, so its output depends on earlier batches. "
                "RNN Lab starts every sequence from a zero state; use stateful=False."
            )
        if rnn_layer.return_state:
            raise ValueError(
                f"Layer '{rnn_layer.name}' returns its states as extra outputs (return_state=True). "
                "RNN Lab needs one output per layer; use return_state=False."
            )
    return pairs


def _functional_chain(model):
    """Walk a functional model from its output back to its input, one layer per step."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"Model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs. "
            "RNN Lab needs a model with one input and one output whose layers form a single chain."
        )
    chain = []
    tensor = model.outputs[0]
    while True:
        operation, node_index, _ = tensor._keras_history
        if isinstance(operation, keras.layers.InputLayer):
            break
        if not isinstance(operation, keras.layers.Layer):
            raise ValueError(
                f"Model '{model.name}' applies the operation '{operation.name}' directly to a tensor. "
                "RNN Lab can only re-run models built from layers; wrap it in a layer."
            )
        node = operation._inbound_nodes[node_index]
        if len(node.arguments.keras_tensors) != 1 or len(node.outputs) != 1:
            raise ValueError(
                f"Layer '{operation.name}' in model '{model.name}' takes or gives more than one tensor, "
                "so the model is not a single chain of layers. RNN Lab can only read chains "
                "(Input, layer, layer, ..., output), such as Sequential models."
            )
        chain.append(operation)
        tensor = node.arguments.keras_tensors[0]
    if tensor is not model.inputs[0]:
        raise ValueError(f"Model '{model.name}' does not start from its own input, so it is not a single chain.")
    return chain[::-1]


def layer_chain(model):
    """List the layers a batch flows through, in order, unpacking nested Sequential/functional models."""
    if isinstance(model, keras.Sequential):
        top_level = model.layers
    elif isinstance(model, keras.Model):
        try:
            outputs = model.outputs
        except AttributeError:
            outputs = None
        if outputs is None:
            raise ValueError(
                f"Model '{model.name}' is a subclassed model (it defines its own call), so RNN Lab "
                "cannot see how its layers connect. Build it with keras.Sequential or the functional API."
            )
        top_level = _functional_chain(model)
    else:
        raise ValueError(f"Expected a Keras model, got {type(model).__name__}.")
    chain = []
    for layer in top_level:
        if isinstance(layer, keras.Model):
            chain.extend(layer_chain(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            chain.append(layer)
    return chain


def model_chain(model):
    """Return the layer chain of a model that RNN Lab can read, or raise a ValueError saying why not."""
    chain = layer_chain(model)
    seen_names = set()
    for layer in chain:
        if isinstance(layer, keras.layers.Masking) or getattr(layer, "mask_zero", False):
            raise ValueError(
                f"Layer '{layer.name}' masks time steps (Masking or mask_zero=True), which changes how "
                "recurrent layers step through time. RNN Lab only reads unmasked models; pad and keep "
                "mask_zero=False."
            )
        if isinstance(layer, keras.layers.RNN) and not isinstance(layer, RECURRENT_TYPES):
            raise ValueError(f"Layer '{layer.name}' is a {type(layer).__name__}. {SUPPORTED_SENTENCE}")
        if is_recurrent(layer):
            directions(layer)  # Raises on unsupported set-ups before any work is done.
            if layer.name in seen_names:
                raise ValueError(
                    f"Recurrent layer '{layer.name}' is used twice in the chain; RNN Lab names results "
                    "by layer, so each recurrent layer must appear once."
                )
            seen_names.add(layer.name)
    if not seen_names:
        raise ValueError(
            f"Model '{model.name}' has no recurrent layer, so there are no gates or hidden states to "
            f"show. {SUPPORTED_SENTENCE}"
        )
    return chain


def recurrent_layer_names(model):
    """Names of the model's recurrent layers (Bidirectional wrappers count once), bottom to top."""
    return [layer.name for layer in model_chain(model) if is_recurrent(layer)]


def cell_weights(rnn_layer):
    """Read a plain SimpleRNN/LSTM/GRU layer's weights as float32 arrays (see `CellWeights`)."""
    kind = cell_kind(rnn_layer)
    cell = rnn_layer.cell
    if not cell.built:
        raise ValueError(
            f"Layer '{rnn_layer.name}' has no weights yet. Build the model first "
            "(give it an Input, or call it once on a batch)."
        )
    kernel = keras.ops.convert_to_numpy(cell.kernel).astype(np.float32)  # (features, blocks * units)
    recurrent_kernel = keras.ops.convert_to_numpy(cell.recurrent_kernel).astype(np.float32)  # (units, blocks * units)
    width = recurrent_kernel.shape[1]
    input_bias = np.zeros(width, dtype=np.float32)
    recurrent_bias = np.zeros(width, dtype=np.float32)
    reset_after = kind == "GRU" and cell.reset_after
    if cell.use_bias:
        bias = keras.ops.convert_to_numpy(cell.bias).astype(np.float32)
        if reset_after:
            input_bias, recurrent_bias = bias[0], bias[1]  # bias is (2, 3 * units)
        else:
            input_bias = bias
    return CellWeights(
        kind=kind,
        units=cell.units,
        kernel=kernel,
        recurrent_kernel=recurrent_kernel,
        input_bias=input_bias,
        recurrent_bias=recurrent_bias,
        reset_after=reset_after,
    )


def layer_output(layer, sequences):
    """Merge per-direction hidden sequences into what the Keras layer itself outputs.

    `sequences` holds one (batch, timesteps, units) array or tensor per direction, indexed by input
    time step. A layer without return_sequences outputs the state after its last step: the last
    input step going forward, the first input step going backward.
    """
    pairs = directions(layer)
    if not pairs[0][1].return_sequences:
        sequences = [
            sequence[:, -1] if name == "forward" else sequence[:, 0]
            for (name, _), sequence in zip(pairs, sequences)
        ]
    if len(sequences) == 1:
        return sequences[0]
    return keras.ops.concatenate(sequences, axis=-1)  # (batch, [timesteps,] 2 * units)


def run_chain(chain, x, run_direction, stop_after_last_recurrent=False):
    """Push a batch through a layer chain, computing each recurrent direction with `run_direction`.

    `run_direction(layer, direction, rnn_layer, inputs)` receives the recurrent layer (possibly the
    Bidirectional wrapper), "forward" or "backward", the plain layer of that direction and the input
    sequence (batch, timesteps, features) in input time order; it returns that direction's hidden
    states (batch, timesteps, units) indexed by input time step. Other layers are called as Keras
    layers with training=False, so Dropout passes values through unchanged.
    """
    last_recurrent = max(index for index, layer in enumerate(chain) if is_recurrent(layer))
    values = x
    for index, layer in enumerate(chain):
        if is_recurrent(layer):
            if len(values.shape) != 3:
                raise ValueError(
                    f"Recurrent layer '{layer.name}' received input of shape {tuple(values.shape)}; "
                    "it needs (batch, timesteps, features)."
                )
            sequences = [
                run_direction(layer, name, rnn_layer, values) for name, rnn_layer in directions(layer)
            ]
            values = layer_output(layer, sequences)
        else:
            values = layer(values, training=False)
        if stop_after_last_recurrent and index == last_recurrent:
            break
    return values


def check_batch(x: np.ndarray) -> None:
    """Raise a ValueError a learner understands unless `x` is a non-empty batch of sequences."""
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"x has shape {x.shape}; it must be a non-empty batch of sequences, "
            "(batch, timesteps) tokens or (batch, timesteps, features) values."
        )
