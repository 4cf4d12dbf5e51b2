"""How one cell step is written: the names and symbols of each quantity, its equations in text and LaTeX, and the
numbers as the equations print them. `rnnlab.introspect.steps` does the maths and asks this module for the words.

    from rnnlab.introspect import step_text
    step_text.number(-0.0004), step_text.sum_text([0.12, -0.31, 1.0])   # '0.000', '0.120 − 0.310 + 1.000'
    step_text.latex(cell)            # every equation of a `steps.CellStep` as one LaTeX `aligned` block
    step_text.table(cell)            # one line per gate: its pre-activation's parts in fixed columns

Nothing here reads a model or computes a value: every number comes in from the step, so the text cannot disagree
with the maths it writes down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rnnlab.introspect.steps import CellStep

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
DETAIL_TERMS = 4


# --- The symbols of each term ---------------------------------------------------------------------------------------


def gate_labels(letter: str, prev: str, two_biases: bool) -> dict[str, tuple[str, str]]:
    """(text, LaTeX) of a gate's terms: "input" W_x·x_t, "recurrent" W_h·h_prev, and "bias" (or "input bias" and
    "recurrent bias" for Keras's GRU, which keeps one for each product)."""
    labels = {"input": (f"W_x{letter}·x_t", rf"W_{{x{letter}}}\,x_t"),
              "recurrent": (f"W_h{letter}·h_{{{prev}}}", rf"W_{{h{letter}}}\,h_{{{prev}}}")}
    if two_biases:
        labels["input bias"] = (f"b_x{letter}", rf"b_{{x{letter}}}")
        labels["recurrent bias"] = (f"b_h{letter}", rf"b_{{h{letter}}}")
    else:
        labels["bias"] = (f"b_{letter}" if letter else "b", rf"b_{{{letter}}}" if letter else "b")
    return labels


def gru_candidate_labels(prev: str, reset_after: bool) -> dict[str, tuple[str, str]]:
    """(text, LaTeX) of the GRU candidate's terms; with reset_after r_t scales the recurrent part after W_hh."""
    labels = {"input": ("W_xh·x_t", r"W_{xh}\,x_t"), "bias": ("b_xh", r"b_{xh}")}
    if reset_after:
        labels["recurrent"] = (f"r_t·(W_hh·h_{{{prev}}} + b_hh)", rf"r_t\,(W_{{hh}}\,h_{{{prev}}} + b_{{hh}})")
    else:
        labels["recurrent"] = (f"W_hh·(r_t ⊙ h_{{{prev}}})", rf"W_{{hh}}\,(r_t \odot h_{{{prev}}})")
    return labels


def gru_gated_detail(prev: str, reset: float, recurrent: float, recurrent_bias: float) -> str:
    return f"r_t × (W_hh·h_{{{prev}}} + b_hh) = {number(reset)} × ({number(recurrent)} {signed(recurrent_bias)})"


def lstm_state_labels(prev: str, activation: str) -> dict[str, tuple]:
    """For the LSTM's two state rows: (formula, LaTeX formula, {term role: (text, LaTeX)})."""
    text, latex = activation_symbols(activation)
    return {
        "cell": (f"c_t = f_t·c_{{{prev}}} + i_t·g_t", rf"c_t = f_t\,c_{{{prev}}} + i_t\,g_t",
                 {"kept": (f"f_t·c_{{{prev}}}", rf"f_t\,c_{{{prev}}}"), "written": ("i_t·g_t", r"i_t\,g_t")}),
        "hidden": (f"h_t = o_t·{text}(c_t)", rf"h_t = o_t\,{latex}(c_t)",
                   {"output": (f"o_t·{text}(c_t)", rf"o_t\,{latex}(c_t)")}),
    }


def gru_state_labels(prev: str) -> tuple:
    """For the GRU's hidden state row: (formula, LaTeX formula, {term role: (text, LaTeX)})."""
    return (f"h_t = z_t·h_{{{prev}}} + (1 − z_t)·h̃_t", rf"h_t = z_t\,h_{{{prev}}} + (1 - z_t)\,\tilde{{h}}_t",
            {"kept": (f"z_t·h_{{{prev}}}", rf"z_t\,h_{{{prev}}}"),
             "written": ("(1 − z_t)·h̃_t", r"(1 - z_t)\,\tilde{h}_t")})


def dot_detail(weights: np.ndarray, vector: np.ndarray, vector_name: str) -> str:
    """Σ_k W[k, j]·v[k] written out in full when it is short, else said in words."""
    if len(vector) <= DETAIL_TERMS:
        return " + ".join(f"{factor(w)} × {factor(v)}" for w, v in zip(weights, vector))
    return f"a sum of {len(vector)} products, one per entry of {vector_name}"


# --- The equations of a row ----------------------------------------------------------------------------------------


def squashed_strings(quantity: str, function: str, terms: list[dict], pre_activation: float, value: float,
                     symbols: tuple[str, str, str] | None = None) -> dict:
    """A gate's row as words: name, symbol, activation, its formula in symbols and with this step's numbers."""
    name, symbol, latex_symbol = symbols or QUANTITIES[quantity]
    text_function, latex_function = activation_symbols(function)
    summed = sum_text([term["value"] for term in terms])
    symbols_latex = " + ".join(term["latex"] for term in terms)
    return {
        "name": name, "symbol": symbol, "activation": text_function or "identity",
        "formula": f"{symbol} = {text_function}({' + '.join(term['label'] for term in terms)})",
        "latex_formula": rf"{latex_symbol} = {latex_function}\left({symbols_latex}\right)",
        "text": f"{symbol} = {text_function}({summed}) = {text_function}({number(pre_activation)}) = "
                f"{number(value)}",
        "latex": rf"{latex_symbol} = {latex_function}\left({latex_numbers(summed)}\right) = "
                 rf"{latex_function}\left({latex_numbers(number(pre_activation))}\right) = "
                 rf"{latex_numbers(number(value))}",
    }


def state_strings(quantity: str, terms: list[dict]) -> dict:
    """A state update's row as words: the products of its terms, their sum, and the new state."""
    name, symbol, latex_symbol = QUANTITIES[quantity]
    products = " + ".join(" × ".join(factor(value) for value in term["factors"]) for term in terms)
    text = f"{symbol} = {products}"
    if len(terms) > 1:
        text += f" = {sum_text([term['value'] for term in terms])}"
    text += f" = {number(sum(term['value'] for term in terms))}"
    latex = f"{latex_symbol} = " + latex_numbers(text.split(" = ", 1)[1]).replace("×", r"\times")
    return {"name": name, "symbol": symbol, "text": text, "latex": latex}


# --- A whole step ----------------------------------------------------------------------------------------------------


def latex(step: "CellStep") -> str:
    """Every equation as one LaTeX `aligned` block: the symbols on one line, this step's numbers on the next."""
    lines = []
    for row in step.rows:
        left, symbols = row["latex_formula"].split(" = ", 1)
        numbers = row["latex"].split(" = ", 1)[1]
        lines.append(rf"{left} &= {symbols} \\ &= {numbers}")
    return r"\begin{aligned}" + r" \\[6pt] ".join(lines) + r"\end{aligned}"


def table(step: "CellStep") -> list[dict]:
    """One line per gate (and SimpleRNN state) with its pre-activation's parts in fixed columns, for a table.

    Columns: what comes from the input x_t, from the previous state, and from the bias(es), their sum (the
    pre-activation), the squashing function and the value. State updates (c_t, h_t) are in `rows` and `latex`.
    """
    lines = []
    for row in step.rows:
        if row["pre_activation"] is None:
            continue
        parts = {role: sum(term["value"] for term in row["terms"] if term["role"] == role)
                 for role in ("input", "recurrent", "bias")}
        lines.append({"quantity": f"{row['symbol']} ({row['name']})", "from the input": _shown(parts["input"]),
                      "from the previous state": _shown(parts["recurrent"]), "bias": _shown(parts["bias"]),
                      "pre-activation": _shown(row["pre_activation"]), "function": row["activation"],
                      "value": _shown(row["value"])})
    return lines


# The decimals Inside the cell shows the table with: a number that rounds to 0 there is written as 0 (not -0.0000).
TABLE_DECIMALS = 4


def _shown(value: float) -> float:
    """`value`, or 0.0 where it rounds to zero at `TABLE_DECIMALS` (a tiny negative would read "-0.0000")."""
    return 0.0 if round(float(value), TABLE_DECIMALS) == 0 else value


# --- Numbers ---------------------------------------------------------------------------------------------------------


def activation_symbols(name: str) -> tuple[str, str]:
    """(text, LaTeX) of a Keras activation's name: "σ", r"\\sigma" for "sigmoid"."""
    return _ACTIVATION_SYMBOLS.get(name, (name, rf"\mathrm{{{name}}}"))


def number(value: float) -> str:
    """Three decimals with a true minus sign, as the equations print every number."""
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text.replace("-", "−")


def factor(value: float) -> str:
    """A number inside a product: negative ones in brackets, so "0.5 × (−0.2)" reads unambiguously."""
    text = number(value)
    return f"({text})" if text.startswith("−") else text


def signed(value: float) -> str:
    text = number(value)
    return f"− {text[1:]}" if text.startswith("−") else f"+ {text}"


def sum_text(values: list[float]) -> str:
    """"0.120 − 0.310 + 1.000": a sum whose negative terms read as subtractions."""
    parts = [number(values[0])] + [signed(value) for value in values[1:]]
    return " ".join(parts)


def latex_numbers(text: str) -> str:
    return text.replace("−", "-")
