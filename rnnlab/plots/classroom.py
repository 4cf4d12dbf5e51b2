"""The figure of a class: every learner's runs of one task overlaid, made to be read on a projector.

Each run is one curve of its validation loss (or accuracy) by epoch, coloured by its cell, with one legend entry per
cell so thirty learners' runs stay readable; hovering a curve names the learner and the run (both written by learners, so escaped for Plotly's HTML).

    class_figure(store.class_runs(class_id, task="adding"), hide_names=True).show()
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnlab.config import CELL_TITLES
from rnnlab.data import LOSS_LABELS, task_kind
from rnnlab.plots import style
from rnnlab.plots.runs import HISTORY_NAMES
from rnnlab.text_safety import hover_literal


def learner_names(pairs: list[tuple], hide_names: bool) -> dict[str, str]:
    """A name per learner token: their display name, or "learner 1", "learner 2", ... in order of first run (also
    for learners who gave no name)."""
    names: dict[str, str] = {}
    for learner, _ in pairs:
        if learner.token not in names:
            names[learner.token] = (learner.name if learner.name and not hide_names
                                    else f"learner {len(names) + 1}")
    return names


def class_figure(pairs: list[tuple], key: str = "val_loss", hide_names: bool = False) -> go.Figure:
    """One curve per run of the class (`pairs` of learner and record, one task), coloured by cell."""
    figure = go.Figure()
    names = learner_names(pairs, hide_names)
    shown_cells = set()
    baselines = set()
    for learner, record in pairs:
        values = [value if value is not None and np.isfinite(value) else None for value in record.history.get(key, [])]
        if not any(value is not None for value in values):
            continue
        cell = record.config.cell
        figure.add_trace(go.Scatter(
            x=np.arange(1, len(values) + 1), y=values, mode="lines", legendgroup=cell, name=CELL_TITLES[cell],
            showlegend=cell not in shown_cells, line=dict(color=style.CELL_COLORS[cell], width=1.5), opacity=0.7,
            text=[hover_literal(f"{names[learner.token]} · {record.name}")] * len(values),
            hovertemplate="%{text}<br>epoch %{x}: %{y:.4g}<extra></extra>"))
        shown_cells.add(cell)
        if np.isfinite(record.baseline_loss):
            baselines.add(round(record.baseline_loss, 3))
    kind = task_kind(pairs[0][1].config.task) if pairs else "regression"
    loss = key.endswith("loss")
    y_title = f"{HISTORY_NAMES.get(key, key)}: {LOSS_LABELS[kind]}" if loss else HISTORY_NAMES.get(key, key)
    if not loss:
        figure.update_yaxes(tickformat=".0%")
    style.layout(figure, f"The class's runs: {HISTORY_NAMES.get(key, key)} by epoch", "epoch", y_title, height=520)
    if loss and len(baselines) == 1:
        style.add_baseline(figure, baselines.pop())
    return figure
