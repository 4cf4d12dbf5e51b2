"""The figures of a sweep (`rnnlab.sweep`), made to be read on a projector while the class trains.

- `heatmap_figure`: the grid filling in, one square per grid cell: its best validation metric and how many runs it
  has, coloured by the lowest validation loss as a share of the learned-nothing loss (green: learned; grey at 90%,
  the class table's line; red: no better than always answering the average).
- `length_figure`: the best validation metric of each grid cell against the swept length, one line per group of the
  other settings (e.g. per cell), every run's own value faint behind, and the learned-nothing loss by length.
- `parallel_figure`: every run with a result as one line through its settings, its seed and its result (Plotly's
  parallel coordinates), coloured like the heatmap.

    sweep = Sweep.make("task=adding", [("cell", "simplernn, lstm, gru"), ("seq_len", "10, 25, 50")], seeds=2)
    heatmap_figure(sweep, records).show()
"""

from __future__ import annotations

import math
import statistics

import plotly.graph_objects as go

from rnnlab.config import CHOICE_TITLES, field_info
from rnnlab.data import LOSS_LABELS, task_kind
from rnnlab.plots import style
from rnnlab.plots.runs import HISTORY_NAMES
from rnnlab.sweep import Sweep, members, metric_of, results, run_rows
from rnnlab.text_safety import hover_literal

# Loss ÷ learned-nothing loss: green well below, grey at the 0.9 line, red at and above 1 (the colour stops at 1.2).
SHARE_MAX = 1.2
SHARE_SCALE = [[0.0, "#188038"], [0.45, "#81c995"], [0.9 / SHARE_MAX, "#e8eaed"], [1.0 / SHARE_MAX, "#f28b82"],
               [1.0, "#a50e0e"]]
SHARE_TITLE = "best validation loss ÷<br>learned-nothing loss"
# Axis titles with their units.
_AXIS_TITLES = {"seq_len": "sequence length T (time steps)", "units": "units per layer", "layers": "stacked layers",
                "learning_rate": "learning rate (step size)", "samples": "training sequences",
                "epochs": "epochs (passes over the data)", "batch_size": "batch size (sequences)",
                "dropout": "dropout (share zeroed)", "forget_bias": "forget-gate bias", "clipnorm": "clipping norm"}


def axis_title(name: str) -> str:
    return _AXIS_TITLES.get(name, field_info(name)["label"].lower())


def metric_title(sweep: Sweep) -> str:
    metric = metric_of(sweep)
    name = HISTORY_NAMES.get(metric, metric)
    return f"{name}: {LOSS_LABELS[task_kind(sweep.base_config().task)]}" if metric.endswith("loss") else name


def _value_text(value) -> str:
    if isinstance(value, str):
        return CHOICE_TITLES.get(value, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _layout_axes(sweep: Sweep) -> tuple[str | None, str]:
    """(the setting along the rows' label, the setting along x): x is the length if swept, else the last one."""
    names = [name for name, _ in sweep.axes]
    x = sweep.length_axis() or names[-1]
    return (None if len(names) == 1 else "rest"), x


def _metric_text(sweep: Sweep, value) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if metric_of(sweep).endswith("accuracy") else f"{value:.3g}"


def heatmap_figure(sweep: Sweep, records: list) -> go.Figure:
    """The grid: one square per grid cell, its best metric and its number of runs written in it."""
    cells = results(sweep, records)
    _, x_name = _layout_axes(sweep)
    x_values = list(dict(sweep.axes)[x_name])
    row_labels: list[str] = []
    for cell in cells:
        rest = {name: value for name, value in cell.settings.items() if name != x_name}
        label = sweep.describe(rest) if rest else "every run"
        if label not in row_labels:
            row_labels.append(label)
    z = [[None] * len(x_values) for _ in row_labels]
    text = [[""] * len(x_values) for _ in row_labels]
    for cell in cells:
        rest = {name: value for name, value in cell.settings.items() if name != x_name}
        row = row_labels.index(sweep.describe(rest) if rest else "every run")
        column = x_values.index(cell.settings[x_name])
        z[row][column] = None if cell.best_share is None else min(cell.best_share, SHARE_MAX)
        runs = f"{cell.runs} run{'' if cell.runs == 1 else 's'}"
        text[row][column] = f"{_metric_text(sweep, cell.best)}<br>{runs}" if cell.runs else "no runs yet"
    x_labels = [_value_text(value) for value in x_values]
    figure = go.Figure(go.Heatmap(
        z=z, x=x_labels, y=[hover_literal(label) for label in row_labels], text=text, texttemplate="%{text}",
        textfont=dict(color=style.INK, size=13),
        colorscale=SHARE_SCALE, zmin=0.0, zmax=SHARE_MAX, xgap=3, ygap=3, hoverongaps=False,
        colorbar=dict(title=dict(text=SHARE_TITLE), tickvals=[0, 0.5, 0.9, 1.2],
                      ticktext=["0", "0.5", "0.9", "≥1.2"]),
        hovertemplate="%{y} · %{x}<br>%{text}<br>best loss ÷ learned-nothing: %{z:.2f}<extra></extra>"))
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category", autorange="reversed")
    style.layout(figure, f"The sweep's grid: best {HISTORY_NAMES.get(metric_of(sweep), metric_of(sweep))} per cell",
                 axis_title(x_name), None if len(sweep.axes) == 1 else "swept settings", legend=None,
                 height=max(300, 120 + 70 * len(row_labels)))
    return figure


def length_figure(sweep: Sweep, records: list) -> go.Figure | None:
    """The metric against the swept length, one line per group of the other settings; None without a numeric
    swept setting."""
    length = sweep.length_axis()
    if length is None:
        return None
    metric = metric_of(sweep)
    loss = metric.endswith("loss")
    figure = go.Figure()
    cells = results(sweep, records)
    groups: dict[str, list] = {}
    for cell in cells:
        rest = {name: value for name, value in cell.settings.items() if name != length}
        groups.setdefault(sweep.describe(rest) if rest else "best of every run", []).append(cell)
    colors = iter(style.EXTRA_COLORS * 4)
    rows = run_rows(sweep, records)
    for name, members_ in groups.items():
        cell_setting = members_[0].settings.get("cell")
        color = style.CELL_COLORS.get(cell_setting) if cell_setting and len(groups) <= 3 else next(colors)
        points = sorted((cell.settings[length], cell.best) for cell in members_ if cell.best is not None)
        rest = {key: value for key, value in members_[0].settings.items() if key != length}
        runs = [row for row in rows if row["value"] is not None and
                all(row[key] == value for key, value in rest.items())]
        if runs:
            figure.add_trace(go.Scatter(
                x=[row[length] for row in runs], y=[row["value"] for row in runs], mode="markers",
                marker=dict(color=color, size=7, opacity=0.35), name=hover_literal(f"{name}: every run"),
                legendgroup=name, showlegend=False,
                text=[f"seed {row['seed']}" for row in runs],
                hovertemplate=f"{hover_literal(name)} · %{{text}}<br>%{{x}}: %{{y:.4g}}<extra></extra>"))
        if points:
            figure.add_trace(go.Scatter(
                x=[x for x, _ in points], y=[y for _, y in points], mode="lines+markers", legendgroup=name,
                name=hover_literal(name), line=dict(color=color, width=2.5), marker=dict(size=9, color=color),
                hovertemplate=f"{hover_literal(name)}, best<br>%{{x}}: %{{y:.4g}}<extra></extra>"))
    if loss:
        baselines: dict = {}
        for index, record in members(sweep, records):
            if math.isfinite(record.baseline_loss):
                baselines.setdefault(getattr(record.config, length), []).append(record.baseline_loss)
        if baselines:
            xs = sorted(baselines)
            figure.add_trace(go.Scatter(
                x=xs, y=[statistics.mean(baselines[x]) for x in xs], mode="lines+markers", name="learned nothing",
                line=dict(color=style.BASELINE_COLOR, dash="dot"), marker=dict(size=5),
                hovertemplate="learned nothing<br>%{x}: %{y:.4g}<extra></extra>"))
    style.layout(figure, f"Best {HISTORY_NAMES.get(metric, metric)} against {axis_title(length).split(' (')[0]}",
                 axis_title(length), metric_title(sweep), log_y=loss and bool(figure.data), height=440)
    figure.update_xaxes(tickvals=list(dict(sweep.axes)[length]))
    if not loss:
        figure.update_yaxes(tickformat=".0%")
    return figure


def parallel_figure(sweep: Sweep, records: list) -> go.Figure:
    """Every run that has ended with a result: its swept settings, its seed and its result, one line each. Runs
    still training are left out: a line for each would move every epoch, and this chart (WebGL) costs a browser
    without a graphics card seconds to redraw, so it changes only when a run ends (issue 19)."""
    ended = [record for record in records if record.is_final]
    training = sum(1 for _, record in members(sweep, records) if not record.is_final)
    rows = [row for row in run_rows(sweep, ended) if row["value"] is not None]
    dimensions = []
    for name, values in sweep.axes:
        numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
        if numeric:
            dimensions.append(dict(label=axis_title(name), values=[row[name] for row in rows],
                                   tickvals=list(values), range=[min(values), max(values)] if len(values) > 1
                                   else [values[0] - 1, values[0] + 1]))
        else:
            dimensions.append(dict(label=axis_title(name), values=[list(values).index(row[name]) for row in rows],
                                   tickvals=list(range(len(values))), ticktext=[_value_text(v) for v in values],
                                   range=[0, max(1, len(values) - 1)]))
    seeds = sorted({row["seed"] for row in rows}) or [sweep.base_config().seed]
    dimensions.append(dict(label="seed", values=[row["seed"] for row in rows], tickvals=seeds,
                           range=[min(seeds), max(seeds)] if len(seeds) > 1 else [seeds[0] - 1, seeds[0] + 1]))
    dimensions.append(dict(label=metric_title(sweep), values=[row["value"] for row in rows]))
    shares = [min(row["share"], SHARE_MAX) if row["share"] is not None else SHARE_MAX for row in rows]
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line=dict(color=shares, colorscale=SHARE_SCALE, cmin=0.0, cmax=SHARE_MAX, showscale=True,
                  colorbar=dict(title=dict(text="validation loss ÷<br>learned-nothing loss"), x=1.06,
                                tickvals=[0, 0.5, 0.9, 1.2], ticktext=["0", "0.5", "0.9", "≥1.2"]))))
    still = f"; {training} more still training" if training else ""
    style.layout(figure, f"Every ended run of the sweep ({len(rows)} with a result{still}): settings against result",
                 None, None, legend=None, height=440)
    figure.update_layout(margin=dict(l=80, r=80, t=110, b=40))
    return figure
