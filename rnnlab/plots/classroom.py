"""The figure of a class: every learner's runs of one task overlaid, made to be read on a projector.

Each run is one curve of its validation loss (or accuracy) by epoch, coloured by its cell, with one legend entry per
cell so thirty learners' runs stay readable; hovering a curve names the learner and the run (both written by learners, so escaped for Plotly's HTML).

    class_figure(store.class_runs(class_id, task="adding"), hide_names=True).show()
    class_figure(pairs, smoothing=0.6, by_seed=True, band="stderr").show()  # each configuration's mean and band
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnnlab import curves
from rnnlab.config import CELL_TITLES
from rnnlab.data import LOSS_LABELS, task_kind
from rnnlab.plots import style
from rnnlab.plots.runs import HISTORY_NAMES, add_curve, add_group, room_for_subtitles, smoothed_title
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


def class_figure(pairs: list[tuple], key: str = "val_loss", hide_names: bool = False, smoothing: float = 0.0,
                 by_seed: bool = False, band: str = "minmax") -> go.Figure:
    """One curve per run of the class (`pairs` of learner and record, one task), coloured by cell.

    `smoothing` and `by_seed` as in `rnnlab.plots.runs.compare_figure`: each curve smoothed with the raw one faint
    behind, or the runs that differ only in their seed (learners who trained one configuration) drawn as one mean
    with a band, one legend entry per group, labelled with its number of runs.
    """
    figure = go.Figure()
    names = learner_names(pairs, hide_names)
    shown_cells = set()
    baselines = {round(record.baseline_loss, 3) for _, record in pairs if np.isfinite(record.baseline_loss)
                 and any(np.isfinite(value) for value in record.history.get(key, []))}
    drawn = [(learner, record) for learner, record in pairs
             if any(value is not None and np.isfinite(value) for value in record.history.get(key, []))]
    shortened = []
    if by_seed:
        groups = curves.seed_groups([record for _, record in drawn])
        colors = style.run_colors([group[0] for group in groups])
        for label, group in zip(curves.group_names(groups), groups):
            curve = curves.group_curve(group, key, smoothing)
            runs = f"{curve.count} run{'' if curve.count == 1 else 's'}"
            label = f"{label} · {'mean of ' if curve.count > 1 else ''}{runs}"
            add_group(figure, curve, band, label, colors[group[0].run_id], hover_head="epoch %{x}: ",
                      hover_tail=f"<extra>{label}</extra>")
            if curve.longest > curve.shared:
                shortened.append(f"{label} to epoch {curve.shared} (its longest run has {curve.longest})")
    for learner, record in [] if by_seed else drawn:
        values = np.asarray([math.nan if value is None else value for value in record.history[key]], dtype=float)
        cell = record.config.cell
        add_curve(figure, np.arange(1, len(values) + 1), values, smoothing=smoothing, name=CELL_TITLES[cell],
                  color=style.CELL_COLORS[cell], width=1.5, mode="lines", opacity=0.7, legendgroup=cell,
                  showlegend=cell not in shown_cells,
                  text=[hover_literal(f"{names[learner.token]} · {record.name}")] * len(values),
                  hover_head="%{text}<br>epoch %{x}: ", hover_tail="<extra></extra>")
        shown_cells.add(cell)
    kind = task_kind(pairs[0][1].config.task) if pairs else "regression"
    loss = key.endswith("loss")
    y_title = f"{HISTORY_NAMES.get(key, key)}: {LOSS_LABELS[kind]}" if loss else HISTORY_NAMES.get(key, key)
    if not loss:
        figure.update_yaxes(tickformat=".0%")
    title = f"The class's runs: {HISTORY_NAMES.get(key, key)} by epoch" + \
        smoothed_title(smoothing, band if by_seed else None, figure)
    if shortened:
        title += f"<br><sup>Means over the epochs every run has: {'; '.join(shortened)}</sup>"
    style.layout(figure, title, "epoch", y_title, height=520)
    room_for_subtitles(figure)
    if loss and len(baselines) == 1:
        style.add_baseline(figure, baselines.pop())
    return figure
