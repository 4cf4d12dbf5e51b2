"""Plotly figures of runs: loss and accuracy curves, comparisons, and predictions against targets.

The dashboard draws these, and a notebook can too (`fig.show()`). Every axis is labelled with its unit; every
run keeps one colour per cell type (SimpleRNN orange, LSTM blue, GRU green) so a comparison reads at a glance.

    loss_figure([record]).show()
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnlab.records import RunRecord
from rnnlab.tasks import LOSS_LABELS, Dataset, task_kind

# Keras's history keys as a learner reads them.
HISTORY_NAMES = {"loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
                 "val_accuracy": "validation accuracy"}

CELL_COLORS = {"simplernn": "#e8710a", "lstm": "#1a73e8", "gru": "#188038"}
# Further runs of the same cell get these shades, so several LSTMs in one comparison stay apart.
EXTRA_COLORS = ["#9334e6", "#d01884", "#12b5cb", "#5f6368", "#b06000", "#174ea6", "#0d652d", "#a50e0e"]


def run_colors(records: list[RunRecord]) -> dict[str, str]:
    """A colour per run: its cell's colour for the first run of each cell, distinct shades after that."""
    colors, used, spare = {}, set(), iter(EXTRA_COLORS * 4)
    for record in records:
        color = CELL_COLORS[record.config.cell]
        colors[record.run_id] = next(spare) if color in used else color
        used.add(color)
    return colors


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str, log_y: bool = False) -> go.Figure:
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
                         margin=dict(l=60, r=20, t=80, b=50), hovermode="x unified", height=420)
    if log_y:
        figure.update_yaxes(type="log")
    return figure


def loss_figure(records: list[RunRecord], log_y: bool = False, show_batches: bool = True) -> go.Figure:
    """Training (solid) and validation (dashed) loss per epoch, the within-epoch running loss, and the baseline."""
    figure = go.Figure()
    colors = run_colors(records)
    single = len(records) == 1
    for record in records:
        color = colors[record.run_id]
        name = "" if single else f"{record.name} · "
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
    _add_baseline(figure, records)
    kind = task_kind(records[0].config.task) if records else "regression"
    return _layout(figure, "Loss", "epoch", f"loss: {LOSS_LABELS[kind]}", log_y)


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


def _add_baseline(figure: go.Figure, records: list[RunRecord]) -> None:
    baselines = {round(record.baseline_loss, 4) for record in records if np.isfinite(record.baseline_loss)}
    if len(baselines) == 1:
        value = baselines.pop()
        figure.add_hline(y=value, line=dict(color="#5f6368", dash="dot"),
                         annotation_text=f"learned nothing: {value:.3g}", annotation_position="top right")


def accuracy_figure(records: list[RunRecord]) -> go.Figure:
    """Training and validation accuracy per epoch, for classification runs."""
    figure = go.Figure()
    colors = run_colors(records)
    single = len(records) == 1
    for record in records:
        epochs = np.arange(1, record.epochs_done + 1)
        for key, dash, label in (("accuracy", "solid", "training"), ("val_accuracy", "dash", "validation")):
            if record.history.get(key):
                figure.add_trace(go.Scatter(
                    x=epochs, y=record.history[key], mode="lines+markers",
                    name=label if single else f"{record.name} · {label}",
                    line=dict(color=colors[record.run_id], dash=dash, width=2.5), hovertemplate="%{y:.1%}"))
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return _layout(figure, "Accuracy", "epoch", "share of sequences classified correctly")


def compare_figure(records: list[RunRecord], key: str = "val_loss", log_y: bool = False) -> go.Figure:
    """One curve per run for one history key: the race between cells on one task."""
    figure = go.Figure()
    colors = run_colors(records)
    for record in records:
        values = record.history.get(key, [])
        figure.add_trace(go.Scatter(
            x=np.arange(1, len(values) + 1), y=values, mode="lines+markers", name=record.name,
            line=dict(color=colors[record.run_id], width=2.5), hovertemplate="%{y:.4g}"))
    if key.endswith("loss"):
        _add_baseline(figure, records)
        kinds = {task_kind(record.config.task) for record in records}
        y_title = f"{HISTORY_NAMES[key]}: {LOSS_LABELS[kinds.pop()]}" if len(kinds) == 1 else HISTORY_NAMES[key]
    else:
        figure.update_yaxes(tickformat=".0%")
        y_title = HISTORY_NAMES[key]
    return _layout(figure, f"{HISTORY_NAMES[key].capitalize()} by run", "epoch", y_title, log_y)


def predictions_figure(dataset: Dataset, predictions: np.ndarray, count: int = 4) -> go.Figure:
    """What the trained network answers on validation sequences, drawn against the truth in the task's own terms."""
    if dataset.task in ("sine", "count"):
        return _forecast_figure(dataset, predictions, count)
    if dataset.kind == "regression":
        return _scatter_figure(dataset, predictions)
    return _class_figure(dataset, predictions)


def _forecast_figure(dataset: Dataset, predictions: np.ndarray, count: int) -> go.Figure:
    figure = go.Figure()
    steps = np.arange(1, dataset.seq_len + 1)
    for index in range(min(count, len(dataset.x_val))):
        color = EXTRA_COLORS[index % len(EXTRA_COLORS)]
        group = f"sequence {index + 1}"
        figure.add_trace(go.Scatter(x=steps, y=dataset.x_val[index, :, 0], mode="lines", name=f"{group}: input",
                                    legendgroup=group, line=dict(color=color, width=1.5)))
        figure.add_trace(go.Scatter(x=[dataset.seq_len + 1], y=[float(dataset.y_val[index, 0])], mode="markers",
                                    name=f"{group}: true next value", legendgroup=group,
                                    marker=dict(color=color, symbol="circle-open", size=14, line=dict(width=2))))
        figure.add_trace(go.Scatter(x=[dataset.seq_len + 1], y=[float(predictions[index, 0])], mode="markers",
                                    name=f"{group}: forecast", legendgroup=group,
                                    marker=dict(color=color, symbol="x", size=11)))
    _layout(figure, "Forecasts on validation sequences (○ truth, × network)", "time step",
            "value (scaled)" if dataset.task == "count" else "value")
    figure.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02),
                         hovermode="closest")
    return figure


def _scatter_figure(dataset: Dataset, predictions: np.ndarray) -> go.Figure:
    truth = dataset.y_val[: len(predictions), 0]
    low, high = float(min(truth.min(), predictions.min())), float(max(truth.max(), predictions.max()))
    figure = go.Figure([
        go.Scatter(x=truth, y=predictions[:, 0], mode="markers", name="validation sequences",
                   marker=dict(color="#1a73e8", size=6, opacity=0.6)),
        go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect answer",
                   line=dict(color="#5f6368", dash="dot")),
    ])
    return _layout(figure, f"Network's answer against the true answer, {len(truth):,} validation sequences",
                   "true target", "network's answer")


def _class_figure(dataset: Dataset, predictions: np.ndarray) -> go.Figure:
    """Confusion counts: rows are the true class, columns the predicted one."""
    truth = np.asarray(dataset.y_val[: len(predictions)]).astype(int)
    if predictions.shape[-1] == 1:
        guessed = (predictions[:, 0] >= 0.5).astype(int)
        names = list(dataset.class_names or ("0", "1"))
    else:
        guessed = predictions.argmax(axis=1)
        names = list(dataset.class_names)
    matrix = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(matrix, (truth, guessed), 1)
    figure = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
                                  colorbar=dict(title="sequences")))
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, f"{len(truth):,} validation sequences: true class against predicted class",
                   "predicted class", "true class")
