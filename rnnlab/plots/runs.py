"""Plotly figures of runs: loss and accuracy curves, comparisons, and what a trained network answers.

The dashboard draws these, and a notebook can too (`fig.show()`). Every axis is labelled with its unit; every
run keeps one colour per cell type (SimpleRNN orange, LSTM blue, GRU green) so a comparison reads at a glance, and
runs that share a name are told apart in the legend (`rnnlab.records.distinct_names`).

    loss_figure([record]).show()
    compare_figure(records, "val_loss", log_y=True).show()
    compare_figure(records, "val_loss", smoothing=0.6, by_seed=True, band="stderr").show()  # as the run trackers
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnlab import curves
from rnnlab.data import LOSS_LABELS, Dataset, confusion_matrix, get_task, task_kind
from rnnlab.plots import style
from rnnlab.records import RunRecord, distinct_names

# Keras's history keys as a learner reads them.
HISTORY_NAMES = {"loss": "training loss", "val_loss": "validation loss", "perplexity": "training perplexity",
                 "val_perplexity": "validation perplexity", "accuracy": "training accuracy",
                 "val_accuracy": "validation accuracy"}


def loss_figure(records: list[RunRecord], log_y: bool = False, show_batches: bool = True) -> go.Figure:
    """Training (solid) and validation (dashed) loss per epoch, the within-epoch running loss, and the baseline."""
    figure = go.Figure()
    colors = style.run_colors(records)
    names = distinct_names(records)
    single = len(records) == 1
    for record in records:
        color = colors[record.run_id]
        name = "" if single else f"{names[record.run_id]} · "
        if show_batches and record.batch_loss:
            x, y = _break_at_epochs(record.batch_progress, record.batch_loss)
            figure.add_trace(go.Scatter(
                x=x, y=y, mode="lines", name=f"{name}training, within epoch",
                line=dict(color=color, width=1), opacity=0.35, hovertemplate="%{y:.4g}"))
        epochs = np.arange(1, record.epochs_done + 1)
        for key, dash, label in (("loss", "solid", "training"), ("val_loss", "dash", "validation")):
            if record.history.get(key):
                figure.add_trace(go.Scatter(
                    x=epochs, y=record.history[key], mode="lines+markers", name=f"{name}{label}",
                    line=dict(color=color, dash=dash, width=2.5), hovertemplate="%{y:.4g}"))
    kind = task_kind(records[0].config.task) if records else "regression"
    empty = not figure.data
    style.layout(figure, "Loss", "epoch", f"loss: {LOSS_LABELS[kind]}", log_y=log_y and not empty,
                 hovermode="x unified")
    if empty:  # the run prepares its data and graph: the axes it will have, and why nothing is on them yet
        epochs = max((record.config.epochs for record in records), default=1)
        baselines = [record.baseline_loss for record in records if np.isfinite(record.baseline_loss)]
        style.empty_state(figure, "Waiting for the first batch", (0, epochs),
                          (0, 1.2 * max(baselines) if baselines else 1.0))
    _add_baseline(figure, records, log_y and not empty)
    return figure


def _break_at_epochs(progress: list[float], losses: list[float]) -> tuple[list, list]:
    """Gaps between epochs: Keras's within-epoch loss is a running mean that starts afresh with each epoch."""
    x, y = [], []
    for position, loss in zip(progress, losses):
        if x and int(np.ceil(position)) != int(np.ceil(x[-1])):
            x.append(None)
            y.append(None)
        x.append(position)
        y.append(loss)
    return x, y


def _add_baseline(figure: go.Figure, records: list[RunRecord], log_y: bool) -> None:
    baselines = {round(record.baseline_loss, 4) for record in records if np.isfinite(record.baseline_loss)}
    if len(baselines) == 1:
        style.add_baseline(figure, baselines.pop(), log_y=log_y)


def accuracy_figure(records: list[RunRecord]) -> go.Figure:
    """Training and validation accuracy per epoch, for classification runs."""
    figure = go.Figure()
    colors = style.run_colors(records)
    names = distinct_names(records)
    single = len(records) == 1
    for record in records:
        epochs = np.arange(1, record.epochs_done + 1)
        for key, dash, label in (("accuracy", "solid", "training"), ("val_accuracy", "dash", "validation")):
            if record.history.get(key):
                figure.add_trace(go.Scatter(
                    x=epochs, y=record.history[key], mode="lines+markers",
                    name=label if single else f"{names[record.run_id]} · {label}",
                    line=dict(color=colors[record.run_id], dash=dash, width=2.5), hovertemplate="%{y:.1%}"))
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return style.layout(figure, "Accuracy", "epoch", "share classified correctly", hovermode="x unified")


def compare_figure(records: list[RunRecord], key: str = "val_loss", log_y: bool = False,
                   names: dict[str, str] | None = None, smoothing: float = 0.0, by_seed: bool = False,
                   band: str = "minmax") -> go.Figure:
    """One curve per run for one history key: the race between cells on one task.

    `names` (by run id) are the names a page's selector shows, told apart among all the learner's runs ("… #2");
    without it, runs are told apart among `records`. A run with no finite value for `key` (it diverged in its first
    epoch) cannot be drawn; the title says which. `smoothing` (0 is none) draws each curve as its time-weighted
    moving average (`rnnlab.curves.ema`) with the raw curve faint behind it; `by_seed` draws runs that differ only
    in their seed as their mean with a `band` ("minmax" or "stderr", `rnnlab.curves.GroupCurve.band`) over the
    epochs all of them have, and the title says where a group stops short of its longest run.
    """
    figure = go.Figure()
    names = {**distinct_names(records), **(names or {})}
    missing = not_drawn(records, key)
    left_out = {record.run_id for record in missing}
    drawn = [record for record in records if record.run_id not in left_out]
    groups = curves.seed_groups(drawn) if by_seed else [[record] for record in drawn]
    labels = curves.group_names(groups) if by_seed else []
    colors = style.run_colors([group[0] for group in groups])
    shortened = []
    for index, group in enumerate(groups):
        color = colors[group[0].run_id]
        if len(group) == 1:  # a run alone is drawn as itself, under its own name
            record = group[0]
            values = np.asarray(record.history[key], dtype=np.float64)
            add_curve(figure, np.arange(1, len(values) + 1), values, smoothing=smoothing,
                      name=names[record.run_id], color=color)
            continue
        curve = curves.group_curve(group, key, smoothing)
        label = f"{labels[index]} · mean of {curve.count} runs"
        add_group(figure, curve, band, label, color)
        if curve.longest > curve.shared:
            shortened.append(f"{label} to epoch {curve.shared} (its longest run has {curve.longest})")
    if key.endswith("loss"):
        kinds = {task_kind(record.config.task) for record in records}
        y_title = f"{HISTORY_NAMES[key]}: {LOSS_LABELS[kinds.pop()]}" if len(kinds) == 1 else HISTORY_NAMES[key]
    elif key.endswith("accuracy"):
        figure.update_yaxes(tickformat=".0%")
        y_title = HISTORY_NAMES[key]
    else:
        y_title = HISTORY_NAMES[key]
    title = f"{HISTORY_NAMES[key].capitalize()} by run" + smoothed_title(smoothing, band if by_seed else None,
                                                                         figure)
    if missing:
        title += (f"<br><sup>Not drawn, no finite {HISTORY_NAMES[key]}: "
                  f"{', '.join(names[record.run_id] for record in missing)}</sup>")
    if shortened:
        title += f"<br><sup>Means over the epochs every run has: {'; '.join(shortened)}</sup>"
    style.layout(figure, title, "epoch", y_title, log_y=log_y and key.endswith("loss"), hovermode="x unified")
    room_for_subtitles(figure)
    if key.endswith("loss"):
        _add_baseline(figure, records, log_y)
    return figure


# The raw curve behind a smoothed one (there to check against, but the smoothed line reads first), and the band of
# a group of runs (the mean line on it stays readable where bands of two groups overlap).
RAW_OPACITY, BAND_OPACITY = 0.25, 0.18


def add_curve(figure: go.Figure, x, values, *, smoothing: float, name: str, color: str, width: float = 2.5,
              mode: str = "lines+markers", opacity: float = 1.0, hover_head: str = "", hover_tail: str = "",
              **trace) -> None:
    """One run's curve; smoothed (`smoothing` > 0), the raw curve is drawn faint behind it, in the same legend
    entry, and the hover gives both values, each named ("smoothed 0.0123 · raw 0.0150")."""
    raw = [value if np.isfinite(value) else None for value in values]
    if not smoothing:
        figure.add_trace(go.Scatter(x=x, y=raw, mode=mode, name=name, line=dict(color=color, width=width),
                                    opacity=opacity, meta=dict(role="run"),
                                    hovertemplate=f"{hover_head}%{{y:.4g}}{hover_tail}", **trace))
        return
    trace.setdefault("legendgroup", name)
    figure.add_trace(go.Scatter(x=x, y=raw, mode="lines", name=f"{name} · raw", showlegend=False,
                                line=dict(color=color, width=1.5), opacity=RAW_OPACITY, hoverinfo="skip",
                                meta=dict(role="raw"), **{k: v for k, v in trace.items() if k != "showlegend"}))
    smoothed = [value if np.isfinite(value) else None for value in curves.ema(values, x, smoothing)]
    figure.add_trace(go.Scatter(
        x=x, y=smoothed, mode=mode, name=name, line=dict(color=color, width=width), opacity=opacity,
        customdata=raw, meta=dict(role="smoothed"),
        hovertemplate=f"{hover_head}smoothed %{{y:.4g}} · raw %{{customdata:.4g}}{hover_tail}", **trace))


def add_group(figure: go.Figure, curve: curves.GroupCurve, band: str, label: str, color: str, *,
              hover_head: str = "", hover_tail: str = "") -> None:
    """A group of runs: its band (two edges, the lower filled up to the upper), the raw mean faint behind a smoothed
    one, and the mean line, whose hover names the mean, the band and, smoothed, the raw mean. A group of one run has
    no band (and no standard error): its line is the run, and its hover says so."""
    # Plain lists, not arrays: the chart's JSON then carries the numbers as numbers (Plotly packs arrays as binary).
    low, high = (edge.tolist() for edge in curve.band(band))
    epochs, mean, raw_mean = curve.epochs.tolist(), curve.mean.tolist(), curve.raw_mean.tolist()
    shared = dict(legendgroup=label, showlegend=False, hoverinfo="skip")
    band_name = curves.BANDS[band]
    if curve.count > 1:
        figure.add_trace(go.Scatter(x=epochs, y=high, mode="lines", line=dict(color=color, width=0),
                                    name=f"{label} · {band_name}, top", meta=dict(role="band high"), **shared))
        figure.add_trace(go.Scatter(x=epochs, y=low, mode="lines", line=dict(color=color, width=0),
                                    fill="tonexty", fillcolor=translucent(color, BAND_OPACITY),
                                    name=f"{label} · {band_name}, bottom", meta=dict(role="band low"), **shared))
    of_smoothed = " of the smoothed runs" if curve.smoothing else ""
    spread = f" · {band_name}{of_smoothed} %{{customdata[0]:.4g}} to %{{customdata[1]:.4g}}" if curve.count > 1 else ""
    what = "mean " if curve.count > 1 else ""  # one run's line is the run itself
    hover = f"{what}%{{y:.4g}}{spread}"
    if curve.smoothing:
        figure.add_trace(go.Scatter(x=epochs, y=raw_mean, mode="lines", name=f"{label} · raw {what or 'curve'}",
                                    line=dict(color=color, width=1.5), opacity=RAW_OPACITY,
                                    meta=dict(role="raw mean"), **shared))
        hover = f"smoothed {what}%{{y:.4g}} · raw {what}%{{customdata[2]:.4g}}{spread}"
    figure.add_trace(go.Scatter(
        x=epochs, y=mean, mode="lines+markers", name=label, legendgroup=label,
        line=dict(color=color, width=2.5), customdata=np.column_stack([low, high, raw_mean]).tolist(),
        meta=dict(role="mean", runs=curve.count, band=band), hovertemplate=hover_head + hover + hover_tail))


def smoothed_title(smoothing: float, band: str | None, figure: go.Figure) -> str:
    """What a chart's title adds when its curves are smoothed or grouped: the weight, and a small line saying what
    the faint lines and the shaded bands are (nothing in the legend names them)."""
    title = f", smoothed ({smoothing:g})" if smoothing else ""
    notes = []
    if band is not None and any(trace.meta and trace.meta.get("role") == "band low" for trace in figure.data):
        notes.append(f"shaded: {curves.BANDS[band]} of each group's runs{', smoothed' if smoothing else ''}")
    if smoothing:
        notes.append("faint: the raw curves")
    note = "; ".join(notes)
    return title + (f"<br><sup>{note[:1].upper()}{note[1:]}</sup>" if notes else "")


# The height of a title's small line (<sup>): the margin over the plot leaves room for one.
SUBTITLE_PX = 20


def room_for_subtitles(figure: go.Figure) -> None:
    """Lift the plot (and a legend on top) under a title of several small lines (not drawn, smoothed and shaded,
    shortened groups): `style.layout` leaves room for one, and a second used to run into the legend."""
    extra = max(figure.layout.title.text.count("<br>") - 1, 0)
    if extra:
        figure.update_layout(margin=dict(t=figure.layout.margin.t + SUBTITLE_PX * extra))


def translucent(color: str, alpha: float) -> str:
    """A "#rrggbb" colour as "rgba(r, g, b, alpha)", for a band's fill."""
    red, green, blue = (int(color[index:index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def not_drawn(records: list[RunRecord], key: str = "val_loss") -> list[RunRecord]:
    """The runs `compare_figure` cannot draw for `key`: no finite value at any epoch."""
    return [record for record in records
            if not any(np.isfinite(value) for value in record.history.get(key, []))]


def predictions_figure(dataset: Dataset, predictions: np.ndarray, count: int = 4) -> go.Figure:
    """What the trained network answers on validation sequences, drawn against the truth in the task's own terms."""
    chart = get_task(dataset.task).answer_chart
    if chart == "forecast":
        return _forecast_figure(dataset, predictions, count)
    if chart == "scatter":
        return _scatter_figure(dataset, predictions)
    truth = np.asarray(dataset.y_val[: len(predictions)])
    matrix = confusion_matrix(dataset.kind, truth, predictions, max(dataset.n_classes, 2))
    return confusion_figure(matrix, dataset.class_names, f"validation {get_task(dataset.task).items}")


def examples_figure(dataset: Dataset) -> go.Figure:
    """The sequences of `dataset` (a task's examples, `rnnlab.lab.Lab.examples`) and what a network must answer
    for each, in the task's own terms, before anything trains: the next value of a forecast, the sum of the
    adding problem's marked values, the first token to recall."""
    chart = get_task(dataset.task).answer_chart
    if chart == "forecast":
        return _forecast_figure(dataset, None, len(dataset.x_val))
    if chart == "scatter":
        return _adding_examples_figure(dataset)
    return _recall_examples_figure(dataset)


def _forecast_figure(dataset: Dataset, predictions: np.ndarray | None, count: int) -> go.Figure:
    """Validation sequences and their true next values; with `predictions`, the network's forecasts beside them."""
    figure = go.Figure()
    steps = np.arange(1, dataset.seq_len + 1)
    for index in range(min(count, len(dataset.x_val))):
        color = style.EXTRA_COLORS[index % len(style.EXTRA_COLORS)]
        group = f"sequence {index + 1}"
        figure.add_trace(go.Scatter(x=steps, y=dataset.x_val[index, :, 0], mode="lines", name=f"{group}: input",
                                    legendgroup=group, line=dict(color=color, width=1.5)))
        figure.add_trace(go.Scatter(x=[dataset.seq_len + 1], y=[float(dataset.y_val[index, 0])], mode="markers",
                                    name=f"{group}: true next value", legendgroup=group,
                                    marker=dict(color=color, symbol="circle-open", size=14, line=dict(width=2))))
        if predictions is not None:
            figure.add_trace(go.Scatter(x=[dataset.seq_len + 1], y=[float(predictions[index, 0])], mode="markers",
                                        name=f"{group}: forecast", legendgroup=group,
                                        marker=dict(color=color, symbol="x", size=11)))
    title = ("Forecasts on validation sequences (○ truth, × network)" if predictions is not None else
             "Sequences like those it trains on, and the next value it must forecast (○)")
    return style.layout(figure, title, "time step", "value (scaled)" if dataset.task == "count" else "value",
                        legend="right")


def _adding_examples_figure(dataset: Dataset) -> go.Figure:
    """Each sequence's values as a line, its two marked values circled, and their sum (the target) in its name."""
    figure = go.Figure()
    steps = np.arange(1, dataset.seq_len + 1)
    for index in range(len(dataset.x_val)):
        color = style.EXTRA_COLORS[index % len(style.EXTRA_COLORS)]
        group = f"sequence {index + 1}"
        values, marked = dataset.x_val[index, :, 0], dataset.x_val[index, :, 1] > 0.5
        figure.add_trace(go.Scatter(x=steps, y=values, mode="lines", name=f"{group}: values", legendgroup=group,
                                    line=dict(color=color, width=1.2)))
        figure.add_trace(go.Scatter(x=steps[marked], y=values[marked], mode="markers", legendgroup=group,
                                    name=f"{group}: marked, sum {float(dataset.y_val[index, 0]):.3f}",
                                    marker=dict(color=color, symbol="circle-open", size=14, line=dict(width=2))))
    return style.layout(figure, "Sequences like those it trains on: it must add the marked values (○)", "time step",
                        "value", legend="right")


def _recall_examples_figure(dataset: Dataset) -> go.Figure:
    """Each sequence's token at every step, its first token (the target) circled and named."""
    figure = go.Figure()
    steps = np.arange(1, dataset.seq_len + 1)
    names = list(dataset.class_names)
    for index in range(len(dataset.x_val)):
        color = style.EXTRA_COLORS[index % len(style.EXTRA_COLORS)]
        group = f"sequence {index + 1}"
        tokens = [names[int(token)] for token in np.asarray(dataset.x_val[index]).argmax(axis=-1)]
        # Each sequence on a band of its own, so three sequences of the same four tokens do not draw over each other.
        offset = (index - (len(dataset.x_val) - 1) / 2) * 0.12
        y = [names.index(token) + offset for token in tokens]
        figure.add_trace(go.Scatter(x=steps, y=y, mode="lines+markers", name=f"{group}: tokens", legendgroup=group,
                                    text=tokens, hovertemplate="step %{x}: %{text}<extra></extra>",
                                    line=dict(color=color, width=1), marker=dict(color=color, size=5)))
        target = names[int(dataset.y_val[index])]
        figure.add_trace(go.Scatter(x=[1], y=[y[0]], mode="markers", name=f"{group}: first token {target}",
                                    legendgroup=group, marker=dict(color=color, symbol="circle-open", size=16,
                                                                   line=dict(width=2))))
    style.layout(figure, "Sequences like those it trains on: it must name the first token (○)",
                 "time step", "token", legend="right")
    figure.update_yaxes(tickvals=list(range(len(names))), ticktext=names)
    return figure


def _scatter_figure(dataset: Dataset, predictions: np.ndarray) -> go.Figure:
    truth = dataset.y_val[: len(predictions), 0]
    low, high = float(min(truth.min(), predictions.min())), float(max(truth.max(), predictions.max()))
    figure = go.Figure([
        go.Scatter(x=truth, y=predictions[:, 0], mode="markers", name="validation sequences",
                   marker=dict(color=style.CELL_COLORS["lstm"], size=6, opacity=0.6)),
        go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect answer",
                   line=dict(color=style.BASELINE_COLOR, dash="dot")),
    ])
    return style.layout(figure, f"Network's answer against the true answer, {len(truth):,} validation sequences",
                        "true target", "network's answer")


def confusion_figure(matrix: np.ndarray, class_names: tuple[str, ...], what: str = "validation sequences",
                     height: int = 420) -> go.Figure:
    """Counts by true class (rows) and predicted class (columns), each cell with its share of its row."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    names = list(class_names)
    text = [[f"{count:,}<br>({share:.0%} of {name})" for count, share in zip(counts, row_shares)]
            for counts, row_shares, name in zip(matrix, shares, names)]
    figure = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, text=text, texttemplate="%{text}", colorscale=style.COUNT_SCALE,
        textfont=dict(size=COUNT_FONT_PX), colorbar=dict(title=what.split()[-1]),
        hovertemplate=f"true %{{y}}, predicted %{{x}}: %{{z:,}} {what.split()[-1]}<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    # A short title over two lines: in a half-width column the one-line title was cut ("…against predicted cla").
    return style.layout(figure, f"{int(matrix.sum()):,} {what}<br><sup>true class (rows) against predicted class (columns)</sup>",
                        "predicted class", "true class", legend=None, height=height)


# The counts in a confusion matrix's cells: Plotly shrinks heatmap text to fit (about 7 px in a half-width column).
COUNT_FONT_PX = 15
