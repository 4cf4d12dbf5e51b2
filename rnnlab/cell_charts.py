"""Plotly figures of what happens inside a recurrent cell: gates and states over time, one step's maths, saturation.

The Inside the cell page draws these, and a notebook can too:

    from rnnlab.introspect import trace
    gates = trace(model, x[:1])["lstm_1"]["forward"]
    gates_figure(gates, x[0], feature_names=dataset.feature_names).show()

Time steps on every axis count from 1 (step 1 is the first input), as the page's sliders do. Gates, which a sigmoid
keeps between 0 and 1, share one sequential colour scale fixed to [0, 1]; states and candidates are diverging
around 0, fixed to [-1, 1] (where tanh keeps them) unless their values leave it (a cell state, or a relu cell),
in which case the scale widens symmetrically to the largest value, so 0 always stays white.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.introspect.steps import GRU_CANDIDATE, QUANTITIES, SIGMOID_GATES, CellStep

GATE_SCALE = "Viridis"  # sequential, for values in [0, 1]
STATE_SCALE = "RdBu_r"  # diverging: negative blue, 0 white, positive red
UNIT_COLORS = ["#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#12b5cb", "#5f6368", "#b06000"]
INPUT_COLORS = ["#202124", "#d93025", "#1a73e8", "#188038"]


def quantity_title(quantity: str, kind: str) -> str:
    """'forget gate f_t', 'candidate h̃_t' (GRU), 'hidden state h_t', ..."""
    name, symbol, _ = GRU_CANDIDATE if (kind == "GRU" and quantity == "candidate") else QUANTITIES[quantity]
    return f"{name} {symbol}"


def colour_range(quantity: str, values: np.ndarray) -> tuple[float, float]:
    """The fixed colour range of a quantity: [0, 1] for gates, [-1, 1] for states unless the values exceed it."""
    if quantity in SIGMOID_GATES:
        return 0.0, 1.0
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    bound = 1.0 if largest <= 1.0 else math.ceil(largest * 10.0) / 10.0  # widen only when needed
    return -bound, bound


def gates_figure(direction_gates: dict, x: np.ndarray, *, kind: str, sample: int = 0,
                 feature_names: tuple[str, ...] = (), token_names: list[str] | None = None,
                 step: int | None = None, title: str = "Gates and states over time") -> go.Figure:
    """The input sequence on top, then one heatmap (units × time steps) per gate and state, on one time axis.

    `direction_gates` is one direction of a trace, {quantity: (batch, T, units)}; `x` is the model's input for the
    same sequence, (T, features) values or (T,) token ids; `step` (0-based) draws a line at the step being read.
    """
    quantities = list(direction_gates)
    titles = ["input sequence"] + [quantity_title(quantity, kind) for quantity in quantities]
    figure = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=0.045,
                           subplot_titles=titles, row_heights=[1.2] + [1.0] * len(quantities))
    _add_input(figure, np.asarray(x), feature_names, token_names)
    for row, quantity in enumerate(quantities, start=2):
        values = np.asarray(direction_gates[quantity][sample], dtype=np.float64).T  # (units, T)
        units, steps = values.shape
        low, high = colour_range(quantity, values)
        domain = figure.get_subplot(row, 1).yaxis.domain
        ticks = dict(tickvals=[0, 0.5, 1], ticktext=["0 shut", "0.5", "1 open"]) if quantity in SIGMOID_GATES \
            else dict(tickvals=[low, 0, high], ticktext=[f"{low:g}", "0", f"{high:g}"])
        figure.add_trace(go.Heatmap(
            z=values, x=np.arange(1, steps + 1), y=np.arange(1, units + 1), name=quantity,
            colorscale=GATE_SCALE if quantity in SIGMOID_GATES else STATE_SCALE, zmin=low, zmax=high,
            colorbar=dict(len=domain[1] - domain[0], y=(domain[0] + domain[1]) / 2, yanchor="middle",
                          thickness=12, x=1.01, **ticks),
            hovertemplate=f"{quantity_title(quantity, kind)}<br>time step %{{x}}, unit %{{y}}: %{{z:.3f}}"
                          "<extra></extra>"),
            row=row, col=1)
        figure.update_yaxes(title_text="unit", row=row, col=1, dtick=max(1, units // 8))
    # Each heatmap cell spans its step ± 0.5: pin the shared axis there so the input line sits over its cells.
    figure.update_xaxes(range=[0.5, len(x) + 0.5])
    figure.update_xaxes(title_text="time step", row=len(titles), col=1)
    if step is not None:
        figure.add_vline(x=step + 1, line=dict(color="#202124", width=1.5, dash="dot"), row="all", col=1)
    figure.update_layout(title=title, template="plotly_white", height=150 + 135 * len(titles),
                         margin=dict(l=60, r=90, t=80, b=50),
                         legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1))
    return figure


def _add_input(figure: go.Figure, x: np.ndarray, feature_names: tuple[str, ...],
               token_names: list[str] | None) -> None:
    steps = np.arange(1, len(x) + 1)
    if x.ndim == 1:  # token ids: where each word sits in the vocabulary, with the word on hover
        words = token_names if token_names is not None else [str(int(token)) for token in x]
        figure.add_trace(go.Scatter(x=steps, y=x, mode="markers", name="token", text=words,
                                    marker=dict(color=INPUT_COLORS[0], size=6),
                                    hovertemplate="time step %{x}: %{text} (id %{y})<extra></extra>"), row=1, col=1)
        figure.update_yaxes(title_text="token id", row=1, col=1)
        return
    names = list(feature_names) or [f"feature {index + 1}" for index in range(x.shape[1])]
    if x.shape[1] > 2:  # one-hot tokens (recall) or wide inputs read best as a strip of cells
        figure.add_trace(go.Heatmap(z=x.T, x=steps, y=names, colorscale="Greys", showscale=False, name="sequence",
                                    hovertemplate="time step %{x}, %{y}: %{z:.2f}<extra></extra>"), row=1, col=1)
        return
    for index, name in enumerate(names):
        figure.add_trace(go.Scatter(x=steps, y=x[:, index], mode="lines+markers", name=name,
                                    line=dict(color=INPUT_COLORS[index % len(INPUT_COLORS)], width=1.5),
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
                showlegend=row == 1, line=dict(color=UNIT_COLORS[number % len(UNIT_COLORS)], width=2),
                hovertemplate=f"unit {unit + 1}, time step %{{x}}: %{{y:.3f}}<extra></extra>"), row=row, col=1)
        if quantity in SIGMOID_GATES:
            figure.update_yaxes(range=[-0.02, 1.02], title_text="gate (0–1)", row=row, col=1)
        else:
            figure.update_yaxes(title_text="value", row=row, col=1)
    figure.update_xaxes(title_text="time step", row=len(quantities), col=1)
    if step is not None:
        figure.add_vline(x=step + 1, line=dict(color="#202124", width=1, dash="dot"), row="all", col=1)
    figure.update_layout(title="Chosen units over time", template="plotly_white", hovermode="x unified",
                         height=120 + 200 * len(quantities), margin=dict(l=60, r=20, t=80, b=50),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    return figure


def saturation_figure(rows: list[dict], low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Stacked shares of each gate's values: nearly shut (< low), in between, nearly open (> high)."""
    names = [row["name"] for row in rows]
    figure = go.Figure()
    for key, label, color in (("below", f"nearly shut (< {low:g})", "#440154"),
                              ("between", f"in between ({low:g}–{high:g})", "#c7c7c7"),
                              ("above", f"nearly open (> {high:g})", "#fde725")):
        shares = [row[key] for row in rows]
        figure.add_trace(go.Bar(y=names, x=shares, orientation="h", name=label, marker=dict(color=color),
                                text=[f"{share:.0%}" for share in shares], textposition="inside",
                                hovertemplate=f"%{{y}}: %{{x:.1%}} {label}<extra></extra>"))
    figure.update_layout(title="How often each gate is saturated", barmode="stack", template="plotly_white",
                         xaxis=dict(title="share of the gate's values (all units and time steps)", range=[0, 1],
                                    tickformat=".0%"),
                         yaxis=dict(title="gate", autorange="reversed"), height=140 + 55 * max(len(rows), 1),
                         margin=dict(l=60, r=20, t=80, b=50),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0,
                                     traceorder="normal"))
    return figure


def forget_gate_figure(series: dict[str, list[float]], epoch: int | None = None) -> go.Figure:
    """Mean forget gate per epoch (0 = before training), one line per direction; `epoch` is marked."""
    figure = go.Figure()
    for number, (direction, values) in enumerate(series.items()):
        figure.add_trace(go.Scatter(x=np.arange(len(values)), y=values, mode="lines+markers", name=direction,
                                    line=dict(color=UNIT_COLORS[number], width=2.5),
                                    hovertemplate=f"{direction}, epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
    if epoch is not None:
        figure.add_vline(x=epoch, line=dict(color="#202124", width=1, dash="dot"))
    figure.update_layout(title="Mean forget gate over training", template="plotly_white", height=300,
                         xaxis=dict(title="epoch (0 = before training)", dtick=1),
                         yaxis=dict(title="mean forget gate f_t (0–1)", range=[0, 1]),
                         margin=dict(l=60, r=20, t=60, b=50), showlegend=len(series) > 1,
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    return figure


def step_terms_figure(step: CellStep) -> go.Figure:
    """Where each gate's pre-activation comes from at one step: the input, the previous state, the bias."""
    rows = [row for row in step.rows if row["pre_activation"] is not None]
    labels = [row["symbol"] for row in rows]
    previous = f"h_{{{step.previous_symbol}}}"
    figure = go.Figure()
    for role, label, color in (("input", "from the input x_t", "#1a73e8"),
                               ("recurrent", f"from the previous state {previous}", "#e8710a"),
                               ("bias", "bias", "#9aa0a6")):
        values = [sum(term["value"] for term in row["terms"] if term["role"] == role) for row in rows]
        figure.add_trace(go.Bar(x=labels, y=values, name=label, marker=dict(color=color),
                                hovertemplate=f"%{{x}} {label}: %{{y:.3f}}<extra></extra>"))
    figure.add_trace(go.Scatter(x=labels, y=[row["pre_activation"] for row in rows], mode="markers",
                                name="pre-activation (the sum)", marker=dict(symbol="diamond", size=12,
                                                                             color="#202124"),
                                hovertemplate="%{x} pre-activation: %{y:.3f}<extra></extra>"))
    figure.add_hline(y=0, line=dict(color="#5f6368", width=1))
    figure.update_layout(title=f"Unit {step.unit + 1}, time step {step.step + 1}: parts of each pre-activation",
                         barmode="relative", template="plotly_white", height=420,
                         xaxis_title="gate", yaxis_title="contribution to the pre-activation",
                         margin=dict(l=60, r=20, t=50, b=40),
                         legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    return figure
