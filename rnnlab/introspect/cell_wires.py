"""Which wire of the cell diagram carries which number: one unit of one direction at one step, read off `cell_step`.

The Inside the cell page draws the chosen cell in the familiar layout of colah's "Understanding LSTMs" (inputs
x_t and h_(t-1), a block per gate, the ⊙ and + junctions, the outputs) and labels every wire with its value. This
module says what those values are; `rnnlab.plots.cell_diagram` only draws them:

    from rnnlab.introspect.steps import replay, cell_step
    from rnnlab.introspect.cell_wires import cell_wires, sequence_wires
    seen = replay(model, x)
    wires = cell_wires(cell_step(model, seen, "lstm_1", "forward", step=4, unit=0))
    wires.value("forget"), wires.input_text          # 0.692, 'x_t = 0.312'
    frames = sequence_wires(model, seen, "lstm_1", "forward", unit=0, steps=range(10))   # {step: CellWires}

Nothing is computed here: every wire's value is a number `cell_step` already holds (a gate's value, a term of a
state update, a factor of one), so the diagram cannot disagree with the equations under it. The gates of unit j
read the whole vectors x_t and h_(t-1); the h_(t-1) and c_(t-1) wires carry unit j's own entries, which are the ones
the state updates use. x_t is a vector, so its wire carries what can be said of it honestly in one number or two
(`input_summary`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from rnnlab.introspect.steps import CellStep, Replay, cell_step

# Scales the wires are coloured on (`rnnlab.plots.style`): gates 0–1, states diverging around 0; the input's own.
GATE, STATE, INPUT = "gate", "state", "input"
# The input vector is written out entry by entry up to this many entries, else as its norm.
SHOWN_INPUT_ENTRIES = 3


@dataclasses.dataclass(frozen=True)
class Wire:
    """One labelled wire: its name in `CellWires.wires`, the symbol written on it, its value and its colour scale."""

    name: str  # "forget", "kept", "h_previous", ...
    symbol: str  # "f_t", "f_t·c_(t−1)", ...: plain text, as the diagram writes it
    value: float
    scale: str  # GATE, STATE or INPUT


@dataclasses.dataclass(frozen=True, eq=False)
class CellWires:
    """Every wire of one unit's cell at one step (see `cell_wires`); `wires` is in drawing order."""

    kind: str  # "SimpleRNN", "LSTM" or "GRU"
    layer: str
    direction: str  # "forward" or "backward"
    step: int  # 0-based input time step
    unit: int  # 0-based
    previous_step: int | None  # where h_(t-1) came from (backward: t+1); None: the zero initial state
    previous_symbol: str  # "t−1" or "t+1"
    activation: str  # the cell's activation as the equations write it ("tanh", "relu", ...)
    gate_activation: str  # its recurrent activation ("σ")
    reset_after: bool | None  # GRU: Keras's reset_after (r_t scales W_hh·h + b_hh); None for the other cells
    x: np.ndarray  # (features,): what the layer read at this step
    input_text: str  # how the x_t wire is labelled, saying what it shows
    input_short: str  # the same in a few characters, for the unrolled strip
    input_note: str  # what the x_t label shows, in words ("its one entry", "its length (Euclidean norm)...")
    wires: dict[str, Wire]

    def value(self, name: str) -> float:
        return self.wires[name].value


def input_summary(x: np.ndarray) -> tuple[str, str, str, float | None]:
    """The x_t wire's label, a short form of it (under each step of the unrolled strip), what it shows in words, and
    its one number (None when x_t has several entries).

    One entry: its value. A one-hot vector (recall's tokens): which entry is on. Up to `SHOWN_INPUT_ENTRIES`
    entries: each of them. A longer vector (an embedding, or the layer below's states): its Euclidean norm, said so.
    """
    x = np.asarray(x, dtype=np.float64)  # (features,)
    if x.size == 1:
        return f"x_t = {significant(x[0])}", significant(x[0]), "its one entry", float(x[0])
    if np.count_nonzero(x == 1.0) == 1 and np.count_nonzero(x) == 1:
        entry = int(np.argmax(x)) + 1
        return (f"x_t: one-hot, entry {entry} of {x.size} on", f"entry {entry}", "which entry of the one-hot vector is on",
                None)
    if x.size <= SHOWN_INPUT_ENTRIES:
        entries = "(" + ", ".join(significant(value) for value in x) + ")"
        return f"x_t = {entries}", entries, "each of its entries", None
    norm = significant(float(np.linalg.norm(x)))
    return (f"‖x_t‖ = {norm} (the norm of its {x.size} entries)", f"‖x‖ {norm}",
            "its length (Euclidean norm), as one number cannot show its entries", None)


def significant(value: float, figures: int = 3) -> str:
    """`value` to three significant figures with a true minus sign: 0.692, −0.0123, 1.00, 2.35×10⁻⁵; zero is "0"
    (the initial state is exactly zero, and "0.00" would claim figures it has not)."""
    if value == 0:
        return "0"
    text = f"{float(value):#.{figures}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        text = f"{mantissa}×10{superscript}"
    text = text.rstrip(".")
    return text.replace("-", "−")


def cell_wires(cell: CellStep) -> CellWires:
    """The wires of `cell` (a `steps.cell_step`), each with the number `cell` holds for it."""
    prev = "t+1" if cell.previous_symbol == "t+1" else "t−1"
    unit = cell.unit
    wires: list[Wire] = []
    input_text, input_short, input_note, input_value = input_summary(cell.x)
    wires.append(Wire("x", "x_t", float("nan") if input_value is None else input_value, INPUT))
    wires.append(Wire("h_previous", f"h_({prev})", float(cell.h_previous[unit]), STATE))
    activation = cell.row("hidden")["activation"] if cell.kind == "SimpleRNN" else cell.row("candidate")["activation"]
    gate_activation = "σ"
    reset_after = None
    if cell.kind == "LSTM":
        gate_activation = cell.row("forget")["activation"]
        wires.append(Wire("c_previous", f"c_({prev})", float(cell.c_previous[unit]), STATE))
        for quantity in ("forget", "input", "candidate", "output"):
            row = cell.row(quantity)
            wires.append(Wire(quantity, row["symbol"], row["value"], STATE if quantity == "candidate" else GATE))
        kept, written = cell.row("cell")["terms"]
        wires.append(Wire("kept", f"f_t·c_({prev})", kept["value"], STATE))
        wires.append(Wire("written", "i_t·g_t", written["value"], STATE))
        wires.append(Wire("cell", "c_t", cell.row("cell")["value"], STATE))
        (output,) = cell.row("hidden")["terms"]
        wires.append(Wire("squashed_cell", f"{activation}(c_t)", output["factors"][1], STATE))
    elif cell.kind == "GRU":
        gate_activation = cell.row("update")["activation"]
        for quantity in ("update", "reset"):
            row = cell.row(quantity)
            wires.append(Wire(quantity, row["symbol"], row["value"], GATE))
        gated = next(term for term in cell.row("candidate")["terms"] if term["role"] == "recurrent")
        reset_after = gated["factors"] is not None  # cell_step keeps r_t's factors only for Keras's reset_after
        if reset_after:
            wires.append(Wire("recurrent", f"W_hh·h_({prev}) + b_hh", gated["factors"][1], STATE))
            wires.append(Wire("gated", "r_t·(W_hh·h + b_hh)", gated["value"], STATE))
        else:
            wires.append(Wire("gated", f"W_hh·(r_t ⊙ h_({prev}))", gated["value"], STATE))
        candidate = cell.row("candidate")
        wires.append(Wire("candidate", candidate["symbol"], candidate["value"], STATE))
        kept, written = cell.row("hidden")["terms"]
        wires.append(Wire("keep_share", "1 − z_t", written["factors"][0], GATE))
        wires.append(Wire("kept", f"z_t·h_({prev})", kept["value"], STATE))
        wires.append(Wire("written", "(1 − z_t)·h̃_t", written["value"], STATE))
    wires.append(Wire("hidden", "h_t", cell.row("hidden")["value"], STATE))
    return CellWires(kind=cell.kind, layer=cell.layer, direction=cell.direction, step=cell.step, unit=unit,
                     previous_step=cell.previous_step, previous_symbol=prev, activation=activation,
                     gate_activation=gate_activation, reset_after=reset_after, x=cell.x, input_text=input_text,
                     input_short=input_short, input_note=input_note,
                     wires={wire.name: wire for wire in wires})


def reading_order(timesteps: int, direction: str) -> list[int]:
    """The input steps in the order `direction` reads them: 0, 1, ... forward; T−1, T−2, ... backward."""
    order = list(range(timesteps))
    return order[::-1] if direction == "backward" else order


def sequence_wires(model, seen: Replay, layer: str, direction: str, unit: int,
                   steps: Iterable[int]) -> dict[int, CellWires]:
    """{step: cell_wires(cell_step(...))} for each of `steps`, in the order given (the diagram's animation)."""
    return {step: cell_wires(cell_step(model, seen, layer, direction, step, unit)) for step in steps}


def frame_window(step: int, timesteps: int, direction: str, frames: int) -> list[int]:
    """At most `frames` steps in reading order, holding `step`: every step when the sequence is that short."""
    order = reading_order(timesteps, direction)
    if timesteps <= frames:
        return order
    position = order.index(step)
    start = max(0, min(position - frames // 2, timesteps - frames))
    return order[start:start + frames]


def diagram_steps(step: int, timesteps: int, direction: str, frames: int, strip: int) -> tuple[list[int], list[int]]:
    """(the animation's steps, every step whose wires the figure needs: those and the strip's lead-in before them)."""
    window = frame_window(step, timesteps, direction, frames)
    needed = strip_steps(window[0], timesteps, direction, strip)[:-1] + window
    return window, needed


def strip_steps(step: int, timesteps: int, direction: str, length: int) -> list[int]:
    """The last `length` steps read up to and including `step`, in reading order (fewer near the start)."""
    order = reading_order(timesteps, direction)
    position = order.index(step)
    return order[max(0, position - length + 1):position + 1]
