"""Figures for "Gradients through time": how much of the loss's gradient reaches each time step.

A run records the norm of dL/dh_t for every time step of every recurrent layer and direction, on a fixed batch of
validation sequences, before training and after each epoch (`RunRecord.grad_norm_history()`). These figures draw
those numbers; the sentences beside them come from `rnnlab.explain`, computed from the same numbers.

    norm_curve_figure(record, epoch=record.epochs_done).show()
    race_norm_figure([simple_rnn, lstm, gru], when="after").show()

Norms are indexed by input time step (array index 0 is step 1), and every y axis is a log axis with one tick per
power of ten.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnnlab.explain import curve_label, epoch_label
from rnnlab.introspect.gradients import curves, main_curve
from rnnlab.plots import style
from rnnlab.plots.runs import compare_figure
from rnnlab.records import RunRecord, distinct_names

X_TITLE = "time step t"
Y_TITLE = "‖∂L/∂h_t‖ (log scale)"


# --- Figures ------------------------------------------------------------------------------------------------------

def _positive(values) -> list[float | None]:
    """Values a log axis can draw; zeros, negatives, NaN and infinity become gaps."""
    return [float(v) if math.isfinite(v) and v > 0 else None for v in np.asarray(values, dtype=np.float64)]


def _log10(values) -> list[float | None]:
    return [None if v is None else math.log10(v) for v in _positive(values)]


def line_colors(record: RunRecord, count: int) -> list[str]:
    """Colours for several curves of one run (its layers and directions): its cell's colour first."""
    palette = [style.CELL_COLORS[record.config.cell], *style.EXTRA_COLORS]
    return [palette[index % len(palette)] for index in range(count)]


def norm_curve_figure(record: RunRecord, epoch: int) -> go.Figure:
    """‖dL/dh_t‖ against t for every layer and direction: dotted before training, solid after `epoch`."""
    recorded = record.grad_norm_history()
    figure = go.Figure()
    if recorded:
        epoch = min(max(epoch, 0), len(recorded) - 1)
        shown = [0] if epoch == 0 else [0, epoch]
        lines = curves(recorded[0])
        directions = len({direction for _, direction, _ in lines})
        for color, (layer, direction, _) in zip(line_colors(record, len(lines)), lines):
            name = curve_label(layer, direction, directions)
            for index in shown:
                values = recorded[index][layer][direction]
                steps = np.arange(1, len(values) + 1)
                after = index > 0
                figure.add_trace(go.Scatter(
                    x=steps, y=_positive(values), mode="lines", name=f"{name} · {epoch_label(index)}",
                    line=dict(color=color, width=2.5 if after else 1.5, dash="solid" if after else "dot"),
                    hovertemplate="step %{x}: %{y:.3g}<extra>%{fullData.name}</extra>"))
    return style.layout(figure, "Gradient reaching each step", X_TITLE, Y_TITLE, log_y=True, height=480,
                        legend="below")


def norm_heatmap(record: RunRecord, layer: str, direction: str = "forward") -> go.Figure:
    """Time step × epoch coloured by log10 ‖dL/dh_t‖: how the vanishing-gradient profile changes as a run trains."""
    rows = [norms[layer][direction] for norms in record.grad_norm_history()]
    z = [_log10(values) for values in rows]  # (epochs + 1, T)
    steps = np.arange(1, len(rows[0]) + 1) if rows else []
    figure = go.Figure(go.Heatmap(
        z=z, x=steps, y=np.arange(len(rows)), colorscale=style.GRADIENT_SCALE,
        colorbar=dict(title=dict(text="log₁₀ ‖∂L/∂h_t‖", side="right")),
        hovertemplate="step %{x}, epoch %{y}: log₁₀ norm %{z:.2f}<extra></extra>"))
    figure.update_yaxes(dtick=1)
    return style.layout(figure, f"Epoch by epoch · {layer} ({direction})", X_TITLE, "epoch (0 = before training)",
                        height=360, legend=None)


def race_norm_figure(records: list[RunRecord], when: str = "after",
                     names: dict[str, str] | None = None) -> go.Figure:
    """Each run's bottom-layer forward curve on one log axis, before training (`when="before"`) or after its last
    recorded epoch (`when="after"`). `names` (by run id) are the page's names for the runs, as its selector shows
    them."""
    figure = go.Figure()
    colors = style.run_colors(records)
    names = {**distinct_names(records), **(names or {})}
    for record in records:
        recorded = record.grad_norm_history()
        if not recorded:
            continue
        norms = recorded[0] if when == "before" else recorded[-1]
        layer, direction, values = main_curve(norms)
        epoch = 0 if when == "before" else len(recorded) - 1
        name = names[record.run_id]
        figure.add_trace(go.Scatter(
            x=np.arange(1, len(values) + 1), y=_positive(values), mode="lines",
            # A run that stopped or diverged early says how far it got; the title covers the rest.
            name=name if when == "before" or epoch == record.config.epochs else f"{name} · {epoch_label(epoch)}",
            line=dict(color=colors[record.run_id], width=2.5),
            hovertemplate="step %{x}: %{y:.3g}<extra>%{fullData.name}</extra>"))
    title = "Gradient through time, before training" if when == "before" else \
        "Gradient through time, after training"
    return style.layout(figure, title, X_TITLE, Y_TITLE, log_y=True, height=480, legend="below")


def race_loss_figure(records: list[RunRecord], names: dict[str, str] | None = None) -> go.Figure:
    """`compare_figure` of the validation loss, its legend under the plot like the curve beside it."""
    figure = compare_figure(records, "val_loss", names=names)
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
                         margin=dict(t=60, b=90), height=480)
    return figure
