"""One recurrent cell, one time step, one unit: its equations filled in with the numbers that went through them.

`trace` (gates.py) gives every gate and state of every unit at every step. This module explains one of those numbers,
the way CNN Explainer steps through a convolution: for unit j at input time step t it splits each gate's
pre-activation into the part that comes from the layer's input x_t, the part from the previous hidden state and the
bias, and writes the state updates (c_t = f_t·c_{t-1} + i_t·g_t, h_t = o_t·tanh(c_t), ...) with the real values:

    from rnnlab.introspect.steps import replay, cell_step
    seen = replay(model, x)                                    # trace + what each layer read + the model's answer
    step = cell_step(model, seen, "lstm_1", "forward", step=4, unit=0)
    for row in step.rows:
        print(row["text"])                                     # f_t = σ(0.120 − 0.310 + 1.000) = σ(0.810) = 0.692

Nothing is computed a second way. Gate values, states and each layer's input come from `trace` and the layer chain
(`layers.run_chain`), weights from `layers.cell_weights`; only the split of each pre-activation into its parts and
the products of the state updates are computed here, so a test can hold every part against the trace.

Time steps are 0-based input positions, as in `trace`. A backward direction reads the sequence from the end, so at
input step t its "previous" state is the one at t+1 (and the state before its first step, t = T-1, is zero).
A summary for the Inside the cell page closes the module: `saturation`.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from rnnlab.introspect import layers
from rnnlab.introspect.gates import numpy_activation, trace

# Gates squashed by the recurrent activation (a sigmoid, so between 0 and 1): the ones that can saturate.
SIGMOID_GATES = ("input", "forget", "output", "update", "reset")

# How each quantity of `trace` reads on screen: a name, and its symbol in text and in LaTeX.
QUANTITIES = {
    "input": ("input gate", "i_t", "i_t"),
    "forget": ("forget gate", "f_t", "f_t"),
    "candidate": ("candidate", "g_t", "g_t"),
    "output": ("output gate", "o_t", "o_t"),
    "cell": ("cell state", "c_t", "c_t"),
    "hidden": ("hidden state", "h_t", "h_t"),
    "update": ("update gate", "z_t", "z_t"),
    "reset": ("reset gate", "r_t", "r_t"),
}
# The GRU writes its candidate as h̃_t; the LSTM's is g_t.
GRU_CANDIDATE = ("candidate", "h̃_t", r"\tilde{h}_t")

# Keras activation names, as the equations write them.
_ACTIVATION_SYMBOLS = {"sigmoid": ("σ", r"\sigma"), "tanh": ("tanh", r"\tanh"), "relu": ("relu", r"\mathrm{relu}"),
                       "linear": ("", ""), "hard_sigmoid": ("hard σ", r"\sigma_{\mathrm{hard}}")}

# Dot products up to this many terms are written out in full in a term's `detail`.
_DETAIL_TERMS = 4


@dataclasses.dataclass
class Replay:
    """A model run on a batch, seen from inside: gates, what each recurrent layer read, and the model's answer."""

    gates: dict  # trace(model, x): {layer: {direction: {quantity: (batch, T, units)}}}
    inputs: dict[str, np.ndarray]  # {layer: (batch, T, features)}: the sequence each recurrent layer reads
    output: np.ndarray  # (batch, outputs): the model's answer, from the same chain of layers


@dataclasses.dataclass
class CellStep:
    """The equations of one unit of one direction at one input time step, with numbers (see `cell_step`).

    Each row of `rows` is a plain dict:
        quantity: the `trace` key it explains ("forget", "cell", ...); name: "forget gate"; symbol: "f_t";
        formula / latex_formula: the equation in symbols; text / latex: the same with this step's numbers;
        terms: [{"label", "latex", "value", "detail", "factors"}] whose values add up to the pre-activation (gates)
            or to the new state (state rows, where each term is the product of its `factors`);
        pre_activation: the sum of the terms for a gate (None for state rows); activation: "σ", "tanh", ...;
        value: the trace's value of this quantity for this unit at this step.
    """

    kind: str  # "SimpleRNN", "LSTM" or "GRU"
    layer: str
    direction: str  # "forward" or "backward"
    step: int  # the input time step t, 0-based
    previous_step: int | None  # where h_{t-1} (backward: h_{t+1}) comes from; None: the zero initial state
    unit: int  # j, 0-based
    x: np.ndarray  # (features,): what the layer read at step t
    h_previous: np.ndarray  # (units,): the previous hidden state (zeros before the first step)
    c_previous: np.ndarray | None  # (units,): the previous cell state, LSTM only
    previous_symbol: str  # "t-1" or "t+1"
    rows: list[dict]

    def row(self, quantity: str) -> dict:
        return next(row for row in self.rows if row["quantity"] == quantity)

    def latex(self) -> str:
        """Every equation as one LaTeX `aligned` block: the symbols on one line, this step's numbers on the next."""
        lines = []
        for row in self.rows:
            left, symbols = row["latex_formula"].split(" = ", 1)
            numbers = row["latex"].split(" = ", 1)[1]
            lines.append(rf"{left} &= {symbols} \\ &= {numbers}")
        return r"\begin{aligned}" + r" \\[6pt] ".join(lines) + r"\end{aligned}"

    def table(self) -> list[dict]:
        """One line per gate (and SimpleRNN state) with its pre-activation's parts in fixed columns, for a table.

        Columns: what comes from the input x_t, from the previous state, and from the bias(es), their sum (the
        pre-activation), the squashing function and the value. State updates (c_t, h_t) are in `rows` and `latex`.
        """
        lines = []
        for row in self.rows:
            if row["pre_activation"] is None:
                continue
            parts = {role: sum(term["value"] for term in row["terms"] if term["role"] == role)
                     for role in ("input", "recurrent", "bias")}
            # A tiny negative shown at the page's decimals reads "-0.0000": it is 0 at that precision.
            shown = lambda value: 0.0 if round(float(value), TABLE_DECIMALS) == 0 else value  # noqa: E731
            lines.append({"quantity": f"{row['symbol']} ({row['name']})", "from the input": shown(parts["input"]),
                          "from the previous state": shown(parts["recurrent"]), "bias": shown(parts["bias"]),
                          "pre-activation": shown(row["pre_activation"]), "function": row["activation"],
                          "value": shown(row["value"])})
        return lines


# The decimals Inside the cell shows the table with: a number that rounds to 0 there is written as 0 (not -0.0000).
TABLE_DECIMALS = 4


def replay(model, x) -> Replay:
    """Trace `model` on the batch `x`, and record each recurrent layer's input and the model's output.

    Works for any sequence length: `trace` and the chain run the layers one by one, so the fixed length of the
    model's Input does not apply (a learner's typed sequence may be longer or shorter than the training ones).
    """
    gates = trace(model, x)
    inputs = {}

    def run_direction(layer, direction, rnn_layer, values):
        # The hidden states come from the trace, so the chain only merges directions and runs the other layers.
        inputs[layer.name] = keras.ops.convert_to_numpy(values).astype(np.float32, copy=False)  # (batch, T, features)
        return gates[layer.name][direction]["hidden"]

    output = layers.run_chain(layers.model_chain(model), np.asarray(x), run_direction)
    return Replay(gates=gates, inputs=inputs, output=keras.ops.convert_to_numpy(output).astype(np.float32))


def recurrent_layer(model, layer_name: str):
    """The model's recurrent layer (or Bidirectional wrapper) called `layer_name`."""
    for layer in layers.model_chain(model):
        if layers.is_recurrent(layer) and layer.name == layer_name:
            return layer
    names = ", ".join(layers.recurrent_layer_names(model))
    raise ValueError(f"The model has no recurrent layer called {layer_name!r}; its recurrent layers are: {names}.")


def layer_directions(model, layer_name: str) -> list[str]:
    """["forward"] or ["forward", "backward"] for a recurrent layer of the model."""
    return [name for name, _ in layers.directions(recurrent_layer(model, layer_name))]


def layer_kind(model, layer_name: str) -> str:
    """"SimpleRNN", "LSTM" or "GRU" for a recurrent layer of the model."""
    return layers.cell_kind(layers.directions(recurrent_layer(model, layer_name))[0][1])


def cell_step(model, seen: Replay, layer_name: str, direction: str, step: int, unit: int,
              sample: int = 0) -> CellStep:
    """The equations of unit `unit` of `layer_name`'s `direction` at input time step `step`, with numbers.

    `seen` is `replay(model, x)` for the example being looked at (pass the same one for every step, it is the
    expensive part). Raises ValueError, in one sentence, for a layer, direction, step or unit that does not exist.
    """
    pairs = dict(layers.directions(recurrent_layer(model, layer_name)))
    if direction not in pairs:
        raise ValueError(f"Layer {layer_name!r} has no {direction} direction; it has: {', '.join(pairs)}.")
    weights = layers.cell_weights(pairs[direction])
    states = seen.gates[layer_name][direction]
    batch, timesteps, units = states["hidden"].shape
    if not 0 <= sample < batch:
        raise ValueError(f"The example has {batch} sequence(s); sequence {sample} does not exist.")
    if not 0 <= step < timesteps:
        raise ValueError(f"Time step {step} is outside the sequence, which has steps 0 to {timesteps - 1}.")
    if not 0 <= unit < units:
        raise ValueError(f"Unit {unit} does not exist; layer {layer_name!r} has units 0 to {units - 1}.")

    backward = direction == "backward"
    previous = step + 1 if backward else step - 1
    has_previous = 0 <= previous < timesteps
    x_t = seen.inputs[layer_name][sample, step].astype(np.float64)  # (features,)
    h_previous = states["hidden"][sample, previous] if has_previous else np.zeros(units, np.float32)  # (units,)
    c_previous = None
    if weights.kind == "LSTM":
        c_previous = states["cell"][sample, previous] if has_previous else np.zeros(units, np.float32)  # (units,)
    cell = pairs[direction].cell
    context = _Context(
        weights=weights, unit=unit, x=x_t, h=h_previous.astype(np.float64),
        values={name: float(array[sample, step, unit]) for name, array in states.items()},
        reset=states["reset"][sample, step].astype(np.float64) if "reset" in states else None,
        prev="t+1" if backward else "t-1",
        activation=_activation_name(cell.activation),
        gate=_activation_name(getattr(cell, "recurrent_activation", keras.activations.sigmoid)),
        squash=numpy_activation(cell.activation))
    if weights.kind == "LSTM":
        rows = _lstm_rows(context, float(c_previous[unit]))
    elif weights.kind == "GRU":
        rows = _gru_rows(context)
    else:
        rows = [_gate_row(context, "hidden", 0, "", context.activation)]
    return CellStep(kind=weights.kind, layer=layer_name, direction=direction, step=step,
                    previous_step=previous if has_previous else None, unit=unit,
                    x=x_t.astype(np.float32), h_previous=h_previous, c_previous=c_previous,
                    previous_symbol=context.prev, rows=rows)


# --- Summaries for the page ---------------------------------------------------------------------------------------


def saturation(direction_gates: dict, low: float = 0.1, high: float = 0.9) -> list[dict]:
    """Share of each sigmoid gate's values below `low` (nearly shut) and above `high` (nearly open).

    `direction_gates` is one direction of a trace, e.g. `trace(model, x)["lstm_1"]["forward"]`; the shares are over
    every unit and time step (and sequence) in it. A gate near 0 or 1 acts as a switch: a forget gate near 1 keeps
    the cell state almost unchanged from step to step. A SimpleRNN has no gates and gives [].
    """
    rows = []
    for name in SIGMOID_GATES:
        if name in direction_gates:
            values = np.asarray(direction_gates[name], dtype=np.float64)
            below, above = float(np.mean(values < low)), float(np.mean(values > high))
            rows.append({"gate": name, "name": QUANTITIES[name][0], "below": below, "above": above,
                         "between": 1.0 - below - above, "mean": float(np.mean(values))})
    return rows


# --- Building the rows --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Context:
    """What every row of one step needs: the weights, the unit, and the numbers read from the trace."""

    weights: layers.CellWeights
    unit: int
    x: np.ndarray  # (features,) float64: the layer's input at t
    h: np.ndarray  # (units,) float64: the previous hidden state
    values: dict[str, float]  # the trace's value of each quantity for this unit at this step
    reset: np.ndarray | None  # (units,) GRU: every unit's reset gate at this step (the original GRU needs them all)
    prev: str  # "t-1", or "t+1" going backward
    activation: str  # Keras name of the cell's activation, e.g. "tanh"
    gate: str  # Keras name of its recurrent activation, e.g. "sigmoid"
    squash: object  # NumPy version of the activation, for tanh(c_t) in the LSTM's output

    def column(self, block: int) -> int:
        """Column of this unit in gate block `block` of the kernels (blocks of `units` columns side by side)."""
        return block * self.weights.units + self.unit


def _gate_row(context: _Context, quantity: str, block: int, letter: str, function: str,
              symbols: tuple[str, str, str] | None = None) -> dict:
    """A gate, or a SimpleRNN's hidden state: value = function(W_x·x_t + W_h·h_prev + bias)."""
    weights, prev = context.weights, context.prev
    column = context.column(block)
    terms = [
        _dot_term("input", f"W_x{letter}·x_t", rf"W_{{x{letter}}}\,x_t", weights.kernel[:, column], context.x,
                  "x_t"),
        _dot_term("recurrent", f"W_h{letter}·h_{{{prev}}}", rf"W_{{h{letter}}}\,h_{{{prev}}}",
                  weights.recurrent_kernel[:, column], context.h, f"h_{{{prev}}}"),
    ]
    if weights.kind == "GRU" and weights.reset_after:
        # Keras's GRU keeps a second bias for the recurrent product; both are added before the sigmoid.
        terms.append(_term("bias", f"b_x{letter}", rf"b_{{x{letter}}}", weights.input_bias[column]))
        terms.append(_term("bias", f"b_h{letter}", rf"b_{{h{letter}}}", weights.recurrent_bias[column]))
    else:
        terms.append(_term("bias", f"b_{letter}" if letter else "b", rf"b_{{{letter}}}" if letter else "b",
                           weights.input_bias[column]))
    return _squashed_row(context, quantity, function, terms, symbols)


def _gru_candidate_row(context: _Context) -> dict:
    """The GRU candidate h̃_t; with reset_after=True (Keras's default) r_t scales the recurrent part after W_hh."""
    weights, prev = context.weights, context.prev
    column = context.column(2)
    reset = context.values["reset"]
    terms = [_dot_term("input", "W_xh·x_t", r"W_{xh}\,x_t", weights.kernel[:, column], context.x, "x_t"),
             _term("bias", "b_xh", r"b_{xh}", weights.input_bias[column])]
    if weights.reset_after:
        recurrent = float(np.dot(weights.recurrent_kernel[:, column].astype(np.float64), context.h))
        recurrent_bias = float(weights.recurrent_bias[column])
        gated = _term("recurrent", f"r_t·(W_hh·h_{{{prev}}} + b_hh)", rf"r_t\,(W_{{hh}}\,h_{{{prev}}} + b_{{hh}})",
                      reset * (recurrent + recurrent_bias))
        gated["factors"] = [reset, recurrent + recurrent_bias]
        gated["detail"] = (f"r_t × (W_hh·h_{{{prev}}} + b_hh) = {_number(reset)} × "
                           f"({_number(recurrent)} {_signed(recurrent_bias)})")
    else:
        # The original GRU (reset_after=False) resets the whole previous state before the product, so this term
        # needs every unit's reset gate at this step; the trace holds them.
        gated = _dot_term("recurrent", f"W_hh·(r_t ⊙ h_{{{prev}}})", rf"W_{{hh}}\,(r_t \odot h_{{{prev}}})",
                          weights.recurrent_kernel[:, column], context.reset * context.h, f"r_t ⊙ h_{{{prev}}}")
    terms.append(gated)
    return _squashed_row(context, "candidate", context.activation, terms, GRU_CANDIDATE)


def _lstm_rows(context: _Context, c_previous: float) -> list[dict]:
    values, prev = context.values, context.prev
    rows = [_gate_row(context, "input", 0, "i", context.gate), _gate_row(context, "forget", 1, "f", context.gate),
            _gate_row(context, "candidate", 2, "g", context.activation),
            _gate_row(context, "output", 3, "o", context.gate)]
    i, f, g, o = values["input"], values["forget"], values["candidate"], values["output"]
    rows.append(_state_row("cell", f"c_t = f_t·c_{{{prev}}} + i_t·g_t", rf"c_t = f_t\,c_{{{prev}}} + i_t\,g_t", [
        _factors_term("kept", f"f_t·c_{{{prev}}}", rf"f_t\,c_{{{prev}}}", [f, c_previous]),
        _factors_term("written", "i_t·g_t", r"i_t\,g_t", [i, g]),
    ], values["cell"]))
    text, latex = _activation_symbols(context.activation)
    squashed_cell = float(context.squash(np.asarray(values["cell"], dtype=np.float32)))
    rows.append(_state_row("hidden", f"h_t = o_t·{text}(c_t)", rf"h_t = o_t\,{latex}(c_t)", [
        _factors_term("output", f"o_t·{text}(c_t)", rf"o_t\,{latex}(c_t)", [o, squashed_cell]),
    ], values["hidden"]))
    return rows


def _gru_rows(context: _Context) -> list[dict]:
    values, prev = context.values, context.prev
    rows = [_gate_row(context, "update", 0, "z", context.gate), _gate_row(context, "reset", 1, "r", context.gate),
            _gru_candidate_row(context)]
    z = values["update"]
    rows.append(_state_row("hidden", f"h_t = z_t·h_{{{prev}}} + (1 − z_t)·h̃_t",
                           rf"h_t = z_t\,h_{{{prev}}} + (1 - z_t)\,\tilde{{h}}_t", [
                               _factors_term("kept", f"z_t·h_{{{prev}}}", rf"z_t\,h_{{{prev}}}",
                                             [z, float(context.h[context.unit])]),
                               _factors_term("written", "(1 − z_t)·h̃_t", r"(1 - z_t)\,\tilde{h}_t",
                                             [1.0 - z, values["candidate"]]),
                           ], values["hidden"]))
    return rows


def _squashed_row(context: _Context, quantity: str, function: str, terms: list[dict],
                  symbols: tuple[str, str, str] | None) -> dict:
    name, symbol, latex_symbol = symbols or QUANTITIES[quantity]
    text_function, latex_function = _activation_symbols(function)
    pre_activation = float(sum(term["value"] for term in terms))
    value = context.values[quantity]
    sum_text = _sum_text([term["value"] for term in terms])
    symbols_latex = " + ".join(term["latex"] for term in terms)
    return {
        "quantity": quantity, "name": name, "symbol": symbol, "activation": text_function or "identity",
        "formula": f"{symbol} = {text_function}({' + '.join(term['label'] for term in terms)})",
        "latex_formula": rf"{latex_symbol} = {latex_function}\left({symbols_latex}\right)",
        "text": f"{symbol} = {text_function}({sum_text}) = {text_function}({_number(pre_activation)}) = "
                f"{_number(value)}",
        "latex": rf"{latex_symbol} = {latex_function}\left({_latex_numbers(sum_text)}\right) = "
                 rf"{latex_function}\left({_latex_numbers(_number(pre_activation))}\right) = "
                 rf"{_latex_numbers(_number(value))}",
        "terms": terms, "pre_activation": pre_activation, "value": value,
    }


def _state_row(quantity: str, formula: str, latex_formula: str, terms: list[dict], value: float) -> dict:
    """A state update: value = the sum of products of numbers already in the trace."""
    name, symbol, latex_symbol = QUANTITIES[quantity]
    products = " + ".join(" × ".join(_factor(number) for number in term["factors"]) for term in terms)
    text = f"{symbol} = {products}"
    if len(terms) > 1:
        text += f" = {_sum_text([term['value'] for term in terms])}"
    text += f" = {_number(sum(term['value'] for term in terms))}"
    latex = f"{latex_symbol} = " + _latex_numbers(text.split(" = ", 1)[1]).replace("×", r"\times")
    return {"quantity": quantity, "name": name, "symbol": symbol, "activation": None, "formula": formula,
            "latex_formula": latex_formula, "text": text, "latex": latex, "terms": terms,
            "pre_activation": None, "value": value}


def _term(role: str, label: str, latex: str, value: float) -> dict:
    return {"role": role, "label": label, "latex": latex, "value": float(value), "factors": None, "detail": ""}


def _dot_term(role: str, label: str, latex: str, weights: np.ndarray, vector: np.ndarray, vector_name: str) -> dict:
    """One unit's share of a matrix product: Σ_k W[k, j]·v[k], written out in full when it is short."""
    weights = np.asarray(weights, dtype=np.float64)  # (inputs,)
    vector = np.asarray(vector, dtype=np.float64)  # (inputs,)
    term = _term(role, label, latex, float(np.dot(weights, vector)))
    if len(vector) <= _DETAIL_TERMS:
        term["detail"] = " + ".join(f"{_factor(w)} × {_factor(v)}" for w, v in zip(weights, vector))
    else:
        term["detail"] = f"a sum of {len(vector)} products, one per entry of {vector_name}"
    return term


def _factors_term(role: str, label: str, latex: str, factors: list[float]) -> dict:
    term = _term(role, label, latex, float(np.prod(np.asarray(factors, dtype=np.float64))))
    term["factors"] = [float(number) for number in factors]
    return term


def _activation_name(function) -> str:
    return getattr(function, "__name__", str(function))


def _activation_symbols(name: str) -> tuple[str, str]:
    return _ACTIVATION_SYMBOLS.get(name, (name, rf"\mathrm{{{name}}}"))


def _number(value: float) -> str:
    """Three decimals with a true minus sign, as the equations print every number."""
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text.replace("-", "−")


def _factor(value: float) -> str:
    """A number inside a product: negative ones in brackets, so "0.5 × (−0.2)" reads unambiguously."""
    text = _number(value)
    return f"({text})" if text.startswith("−") else text


def _signed(value: float) -> str:
    text = _number(value)
    return f"− {text[1:]}" if text.startswith("−") else f"+ {text}"


def _sum_text(values: list[float]) -> str:
    """"0.120 − 0.310 + 1.000": a sum whose negative terms read as subtractions."""
    parts = [_number(values[0])] + [_signed(value) for value in values[1:]]
    return " ".join(parts)


def _latex_numbers(text: str) -> str:
    return text.replace("−", "-")
