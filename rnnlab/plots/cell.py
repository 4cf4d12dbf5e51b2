"""Plotly figures of what happens inside a recurrent cell: gates and states over time, one step's maths, saturation,
and the forget gate over training.

The Inside the cell page draws these, and a notebook can too:

    from rnnlab.introspect import trace
    gates = trace(model, x[:1])["lstm_1"]["forward"]
    gates_figure(gates, x[0], kind="LSTM", feature_names=dataset.feature_names).show()

Time steps on every axis count from 1 (step 1 is the first input), as the page's sliders do. Colours follow
`rnnlab.plots.style`: gates on one 0–1 scale, states and candidates diverging around 0 (blue below, red above).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.explain import previous_state
from rnnlab.introspect.steps import GRU_CANDIDATE, QUANTITIES, SIGMOID_GATES, CellStep
from rnnlab.plots import style

# Past this many steps, only every k-th word is written on a time axis (all are in the hover text).
MAX_WORD_LABELS = 60
# At most this many words are written on the input strip (on two lines) and under the heatmaps of Inside the cell,
# which fill a full-width chart of about 1,000 px at 1,400 px: about 30 px a word.
STRIP_WORD_LABELS = 32
INPUT_TITLE = "input sequence"  # the title of `gates_figure`'s top panel, the sequence itself
# Past this many steps the input lines carry no markers: a 4 px dot a step in a chart about 600-1,000 px wide
# overlaps its neighbours from here on, so the dots only thickened the line, and at 2,000 steps their 4,000 SVG
# paths were half the browser's time drawing `gates_figure`. The line still passes through every value, and the
# hover still gives each step's.
INPUT_MARKER_STEPS = 200
# The bottom margin of these figures: room for the time axis's tick labels and title as the app's (Streamlit's)
# theme sets them, 67 px there, so Plotly never has to widen a margin. Widening one redraws the whole figure a
# second time (its automargin), which doubled the browser's time drawing `gates_figure` at 2,000 steps.
BOTTOM_MARGIN = 80


def quantity_title(quantity: str, kind: str) -> str:
    """'forget gate f_t', 'candidate h̃_t' (GRU), 'hidden state h_t', ..."""
    name, symbol, _ = GRU_CANDIDATE if (kind == "GRU" and quantity == "candidate") else QUANTITIES[quantity]
    return f"{name} {symbol}"


def colour_range(quantity: str, values: np.ndarray) -> tuple[float, float]:
    """The fixed colour range of a quantity: [0, 1] for gates, [-1, 1] for states unless the values exceed it."""
    return style.GATE_RANGE if quantity in SIGMOID_GATES else style.state_range(values)


def gates_figure(direction_gates: dict, x: np.ndarray, *, kind: str, sample: int = 0,
                 feature_names: tuple[str, ...] = (), token_names: list[str] | None = None,
                 step: int | None = None, title: str = "Gates and states over time") -> go.Figure:
    """The input sequence on top, then one heatmap (units × time steps) per gate and state, on one time axis.

    `direction_gates` is one direction of a trace, {quantity: (batch, T, units)}; `x` is the model's input for the
    same sequence, (T, features) values or (T,) token ids; `step` (0-based) draws a line at the step being read.
    """
    quantities = list(direction_gates)
    titles = [INPUT_TITLE] + [quantity_title(quantity, kind) for quantity in quantities]
    figure = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=0.045,
                           subplot_titles=titles, row_heights=[1.2] + [1.0] * len(quantities))
    _add_input(figure, np.asarray(x), feature_names, token_names)
    for row, quantity in enumerate(quantities, start=2):
        # float32, as the network computed them: float64 doubled what every render sends (4.8 MB at 2,000 steps).
        values = np.asarray(direction_gates[quantity][sample], dtype=np.float32).T  # (units, T)
        units, steps = values.shape
        gate = quantity in SIGMOID_GATES
        low, high = colour_range(quantity, values)
        domain = figure.get_subplot(row, 1).yaxis.domain
        ticks = style.GATE_TICKS if gate else dict(tickvals=[low, 0, high], ticktext=[f"{low:g}", "0", f"{high:g}"])
        figure.add_trace(go.Heatmap(
            z=values, x=np.arange(1, steps + 1), y=np.arange(1, units + 1), name=quantity,
            **style.heatmap_colours(gate, values),
            colorbar=dict(len=domain[1] - domain[0], y=(domain[0] + domain[1]) / 2, yanchor="middle",
                          thickness=12, x=1.01, **ticks),
            hovertemplate=f"{quantity_title(quantity, kind)}<br>time step %{{x}}, unit %{{y}}: %{{z:.3f}}"
                          "<extra></extra>"),
            row=row, col=1)
        figure.update_yaxes(title_text="unit", row=row, col=1, dtick=max(1, units // 8))
    # Each heatmap cell spans its step ± 0.5: pin the shared axis there so the input line sits over its cells.
    figure.update_xaxes(range=[0.5, len(x) + 0.5])
    figure.update_xaxes(title_text="time step", row=len(titles), col=1)
    if token_names is not None:  # words under the heatmaps, where a learner reads the time axis
        figure.update_xaxes(**word_ticks(token_names, STRIP_WORD_LABELS), title_text="word, in reading order",
                            row=len(titles), col=1)
    style.layout(figure, title, None, None, height=150 + 135 * len(titles))
    figure.update_layout(margin=dict(r=90, b=BOTTOM_MARGIN))  # room for the colour bars and the time axis
    return figure if step is None else mark_step(figure, step)


STEP_MARK = "step being read"  # the name of the shapes `mark_step` draws, so a later call can replace them


def mark_step(figure: go.Figure, step: int) -> go.Figure:
    """`figure` (a `gates_figure` or `units_figure`) with its marks at `step` (0-based) instead of any earlier ones:
    a dotted line across each panel of gates or states, and on `gates_figure`'s input row a frame around the step's
    cell (a line through it hid the token being read, a character).

    Changes `figure` in place and returns it, so a page can keep one figure per example and move only the marks
    when the learner moves the step (building the figure again took 0.1 s of CPU a rerun at 2,000 steps)."""
    has_input = bool(figure.layout.annotations) and figure.layout.annotations[0].text == INPUT_TITLE
    rows = range(2 if has_input else 1, len(list(figure.select_yaxes())) + 1)  # one y axis a panel
    marks = style.step_lines(figure, step + 1, rows, line=dict(color=style.INK, width=1.5 if has_input else 1,
                                                               dash="dot"))
    if has_input:
        marks.append(dict(type="rect", x0=step + 0.5, x1=step + 1.5, y0=0, y1=1, **style.subplot_refs(figure, 1),
                          line=dict(color=style.INK, width=1.5), fillcolor="rgba(0, 0, 0, 0)"))
    kept = [shape for shape in figure.layout.shapes if shape.name != STEP_MARK]
    # Set, not `update_layout`: an update merges each new shape into the old one at its place (a line kept the
    # frame's fill).
    figure.layout.shapes = [*kept, *(dict(mark, name=STEP_MARK) for mark in marks)]
    return figure


def _add_input(figure: go.Figure, x: np.ndarray, feature_names: tuple[str, ...],
               token_names: list[str] | None) -> None:
    steps = np.arange(1, len(x) + 1)
    if x.ndim == 1:  # token ids: the words themselves, in reading order (an id's size means nothing)
        words = token_names if token_names is not None else [f"#{int(token)}" for token in x]
        # The words written on the input row: all of them when they fit, else every k-th on two alternating lines
        # so neighbours do not overlap (200 words in one line were a smear). Under them a strip of one cell per
        # token, with every word in its hover.
        every = max(1, math.ceil(len(words) / STRIP_WORD_LABELS))
        shown = np.arange(0, len(words), every)
        lines = np.zeros(shown.size) if every == 1 else np.where(np.arange(shown.size) % 2, -0.22, 0.22)
        figure.add_trace(go.Scatter(x=steps[shown], y=lines, mode="text", name="word",
                                    text=[words[index] for index in shown], textposition="middle center",
                                    hoverinfo="skip", showlegend=False, textfont=dict(size=11, color=style.INK)),
                         row=1, col=1)
        figure.add_trace(go.Heatmap(z=[np.zeros(len(words))], x=steps, y=[0], showscale=False, xgap=1,
                                    colorscale=[[0, "#f1f3f4"], [1, "#f1f3f4"]], name="tokens",
                                    customdata=[[int(token) for token in x]], text=[words],
                                    hovertemplate="time step %{x}: %{text} (id %{customdata})<extra></extra>"),
                         row=1, col=1)
        figure.update_yaxes(visible=False, range=[-0.5, 0.5], row=1, col=1)
        return
    names = list(feature_names) or [f"feature {index + 1}" for index in range(x.shape[1])]
    if x.shape[1] > 2:  # one-hot tokens (recall) or wide inputs read best as a strip of cells
        figure.add_trace(go.Heatmap(z=x.T, x=steps, y=names, colorscale=style.INPUT_SCALE, showscale=False, name="sequence",
                                    hovertemplate="time step %{x}, %{y}: %{z:.2f}<extra></extra>"), row=1, col=1)
        return
    mode = "lines+markers" if len(x) <= INPUT_MARKER_STEPS else "lines"
    for index, name in enumerate(names):
        figure.add_trace(go.Scatter(x=steps, y=x[:, index], mode=mode, name=name,
                                    line=dict(color=style.INPUT_COLORS[index % len(style.INPUT_COLORS)], width=1.5),
                                    marker=dict(size=4), hovertemplate=f"time step %{{x}}, {name}: %{{y:.3f}}"
                                                                       "<extra></extra>"), row=1, col=1)
    figure.update_yaxes(title_text="value", row=1, col=1)


def units_figure(direction_gates: dict, units: list[int], quantities: list[str], *, kind: str,
                 sample: int = 0, step: int | None = None) -> go.Figure:
    """Chosen units (0-based) over time, one panel per quantity, one colour per unit across panels."""
    figure = make_subplots(rows=len(quantities), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=[quantity_title(quantity, kind) for quantity in quantities])
    for row, quantity in enumerate(quantities, start=1):
        values = np.asarray(direction_gates[quantity][sample])  # (T, units)
        steps = np.arange(1, len(values) + 1)
        for number, unit in enumerate(units):
            figure.add_trace(go.Scatter(
                x=steps, y=values[:, unit], mode="lines", name=f"unit {unit + 1}", legendgroup=f"unit {unit + 1}",
                showlegend=row == 1, line=dict(color=style.UNIT_COLORS[number % len(style.UNIT_COLORS)], width=2),
                hovertemplate=f"unit {unit + 1}, time step %{{x}}: %{{y:.3f}}<extra></extra>"), row=row, col=1)
        if quantity in SIGMOID_GATES:
            figure.update_yaxes(range=[-0.02, 1.02], title_text="gate (0–1)", row=row, col=1)
        else:
            figure.update_yaxes(title_text="value", row=row, col=1)
    figure.update_xaxes(title_text="time step", row=len(quantities), col=1)
    style.layout(figure, "Chosen units over time", None, None, height=120 + 200 * len(quantities),
                 hovermode="x unified")
    # Room for the y axes' titles, the last tick label and the time axis as the app's theme draws them (76, 24 and
    # 67 px there), so Plotly draws the figure once instead of again with wider margins.
    figure.update_layout(margin=dict(l=80, r=30, b=BOTTOM_MARGIN))
    return figure if step is None else mark_step(figure, step)


def saturation_figure(rows: list[dict], low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Stacked shares of each gate's values: nearly shut (< low), in between, nearly open (> high)."""
    names = [row["name"] for row in rows]
    figure = go.Figure()
    for key, label, color in (("below", f"nearly shut (< {low:g})", style.SHUT_COLOR),
                              ("between", f"in between ({low:g}–{high:g})", style.BETWEEN_COLOR),
                              ("above", f"nearly open (> {high:g})", style.OPEN_COLOR)):
        shares = [row[key] for row in rows]
        figure.add_trace(go.Bar(y=names, x=shares, orientation="h", name=label, marker=dict(color=color),
                                text=[f"{share:.0%}" for share in shares], textposition="inside",
                                hovertemplate=f"%{{y}}: %{{x:.1%}} {label}<extra></extra>"))
    figure.update_layout(barmode="stack")
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    style.layout(figure, "How often each gate is saturated",
                 "share of the gate's values (all units and time steps)", "gate",
                 height=140 + 55 * max(len(rows), 1))
    figure.update_layout(legend_traceorder="normal")
    return figure


def forget_gate_figure(series: dict[str, dict[str, list[float]]], epoch: int | None = None,
                       colors: list[str] | None = None) -> go.Figure:
    """Mean forget gate per epoch (0 = before training), one line per LSTM layer and direction; `epoch` is marked.

    `series` is `rnnlab.introspect.forget_gate_by_epoch(record.gate_history())`, or one layer of it. Near 1, the
    cell keeps its memory from step to step.
    """
    figure = go.Figure()
    lines = [(layer, direction, values) for layer, by_direction in series.items()
             for direction, values in by_direction.items()]
    colors = colors or style.UNIT_COLORS
    several_layers = len(series) > 1
    for number, (layer, direction, values) in enumerate(lines):
        name = f"{layer} ({direction})" if several_layers else direction
        figure.add_trace(go.Scatter(x=np.arange(len(values)), y=values, mode="lines+markers", name=name,
                                    line=dict(color=colors[number % len(colors)], width=2.5),
                                    hovertemplate=f"{name}, epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
    if epoch is not None:
        figure.add_vline(x=epoch, line=dict(color=style.INK, width=1, dash="dot"))
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.02])
    return style.layout(figure, "Mean forget gate over training", "epoch (0 = before training)",
                        "mean forget gate f_t (0 = forget, 1 = keep)", height=320,
                        legend="top" if len(lines) > 1 else None)


def word_ticks(words: list[str], most: int = MAX_WORD_LABELS) -> dict:
    """x-axis ticks that write each word under its time step (every k-th past `most` words)."""
    positions = np.arange(1, len(words) + 1)
    every = max(1, math.ceil(len(words) / most))
    return dict(tickmode="array", tickvals=positions[::every].tolist(), ticktext=list(words)[::every],
                tickangle=-45 if len(words) > 12 else 0)


def step_terms_figure(step: CellStep) -> go.Figure:
    """Where each gate's pre-activation comes from at one step: the input, the previous state, the bias."""
    rows = [row for row in step.rows if row["pre_activation"] is not None]
    labels = [row["symbol"] for row in rows]
    previous = previous_state(step.previous_symbol)  # plain text, as every label: "h_(t−1)", not "h_{t-1}"
    figure = go.Figure()
    for role, label, color in (("input", "from the input x_t", style.INPUT_PART_COLOR),
                               ("recurrent", f"from the previous state {previous}", style.RECURRENT_PART_COLOR),
                               ("bias", "bias", style.BIAS_PART_COLOR)):
        values = [sum(term["value"] for term in row["terms"] if term["role"] == role) for row in rows]
        figure.add_trace(go.Bar(x=labels, y=values, name=label, marker=dict(color=color),
                                hovertemplate=f"%{{x}} {label}: %{{y:.3f}}<extra></extra>"))
    figure.add_trace(go.Scatter(x=labels, y=[row["pre_activation"] for row in rows], mode="markers",
                                name="pre-activation (the sum)", marker=dict(symbol="diamond", size=12,
                                                                             color=style.INK),
                                hovertemplate="%{x} pre-activation: %{y:.3f}<extra></extra>"))
    figure.add_hline(y=0, line=dict(color=style.BASELINE_COLOR, width=1))
    figure.update_layout(barmode="relative")
    return style.layout(figure, f"Unit {step.unit + 1}, time step {step.step + 1}: parts of each pre-activation",
                        "gate", "contribution to the pre-activation", height=420, legend="below")
