"""Plotly figures for the IMDB lesson: the model's opinion word by word, gates over words, and the confusion matrix.

    trace = rnnlab.sentiment.word_trace(model, dataset, "Not bad at all.")
    opinion_figure(trace.words, trace.probabilities).show()
    gate_heatmap(trace.words, trace.gates["lstm_1"]["forward"]["forget"], "forget", "lstm_1").show()

Words go on the x axis in reading order; each word is one position, so a word that occurs twice gets two columns.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnnlab.imdb import CLASS_NAMES

POSITIVE_COLOR, NEGATIVE_COLOR = "#188038", "#d93025"
# Gates squashed by a sigmoid live in [0, 1]; the rest (candidate, hidden, cell state) are centred on 0.
SIGMOID_GATES = frozenset({"input", "forget", "output", "update", "reset"})
GATE_MEANINGS = {
    "forget": "1 keeps the cell's memory, 0 wipes it",
    "input": "how much of the new candidate is written into the memory",
    "output": "how much of the memory is shown as the hidden state",
    "update": "1 keeps the old state, 0 replaces it with the candidate",
    "reset": "how much of the old state the candidate may look at",
    "candidate": "the new content proposed at this word",
    "cell": "the LSTM's memory cell c_t",
    "hidden": "the hidden state h_t the next layer reads",
}
# Past this many words, only every k-th word is labelled on the axis (all are in the hover text).
MAX_LABELS = 60


def _word_axis(figure: go.Figure, words: list[str]) -> np.ndarray:
    positions = np.arange(1, len(words) + 1)
    step = max(1, math.ceil(len(words) / MAX_LABELS))
    figure.update_xaxes(tickmode="array", tickvals=positions[::step], ticktext=words[::step],
                        tickangle=-45 if len(words) > 12 else 0, title="word, in reading order")
    return positions


def _layout(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    figure.update_layout(title=title, template="plotly_white", height=height, margin=dict(l=60, r=20, t=60, b=70),
                         showlegend=False)
    return figure


def opinion_figure(words: list[str], probabilities: np.ndarray) -> go.Figure:
    """P(positive) after each word (the model's verdict if the review stopped there), with the 0.5 line."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    if len(words) != probabilities.size:
        raise ValueError(f"{len(words)} words but {probabilities.size} probabilities; give one per word.")
    figure = go.Figure()
    figure.add_hrect(y0=0.5, y1=1.0, fillcolor=POSITIVE_COLOR, opacity=0.06, line_width=0)
    figure.add_hrect(y0=0.0, y1=0.5, fillcolor=NEGATIVE_COLOR, opacity=0.06, line_width=0)
    positions = _word_axis(figure, words)
    figure.add_trace(go.Scatter(
        x=positions, y=probabilities, customdata=words, mode="lines+markers", name="P(positive)",
        line=dict(color="#1a73e8", width=2.5),
        marker=dict(size=8, color=np.where(probabilities > 0.5, POSITIVE_COLOR, NEGATIVE_COLOR)),
        hovertemplate="after “%{customdata}”: P(positive) = %{y:.3f}<extra></extra>"))
    figure.add_hline(y=0.5, line=dict(color="#5f6368", dash="dot"), annotation_text="undecided (0.5)",
                     annotation_position="top right")
    figure.update_yaxes(range=[0, 1], title="P(positive) after this word")
    return _layout(figure, "The model's opinion, word by word")


def gate_heatmap(words: list[str], values: np.ndarray, gate: str, layer: str, direction: str = "forward") -> go.Figure:
    """One gate's value for every unit (rows) at every word (columns); `values` is `(words, units)`."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(words):
        raise ValueError(f"Gate values of shape {values.shape} do not match {len(words)} words; give "
                         "(words, units).")
    z = values.T  # (units, words)
    if gate in SIGMOID_GATES:
        scale = dict(zmin=0.0, zmax=1.0, colorscale="Blues")
    else:
        largest = max(1.0, float(np.abs(z).max())) if z.size else 1.0
        scale = dict(zmin=-largest, zmax=largest, colorscale="RdBu", zmid=0.0)
    figure = go.Figure()
    positions = _word_axis(figure, words)
    units = np.arange(1, z.shape[0] + 1)
    figure.add_trace(go.Heatmap(
        z=z, x=positions, y=units, customdata=np.tile(np.array(words, dtype=object), (z.shape[0], 1)),
        colorbar=dict(title=gate), hovertemplate="unit %{y}, word “%{customdata}”: %{z:.3f}<extra></extra>",
        **scale))
    figure.update_yaxes(title="unit", autorange="reversed")
    meaning = GATE_MEANINGS.get(gate, "")
    title = f"{layer} ({direction}): {gate} gate" + (f" — {meaning}" if meaning else "")
    return _layout(figure, title, height=max(300, min(700, 140 + 14 * z.shape[0])))


def confusion_figure(matrix: np.ndarray, class_names: tuple[str, ...] = CLASS_NAMES) -> go.Figure:
    """Counts of test reviews by true class (rows) and predicted class (columns), with each row's share."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    text = [[f"{count:,}<br>({share:.0%} of {name})" for count, share in zip(counts, row_shares)]
            for counts, row_shares, name in zip(matrix, shares, class_names)]
    names = list(class_names)
    figure = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues", showscale=False,
        hovertemplate="true %{y}, predicted %{x}: %{z:,} reviews<extra></extra>"))
    figure.update_xaxes(title="predicted")
    figure.update_yaxes(title="true", autorange="reversed")
    return _layout(figure, "Test reviews: true against predicted", height=360)
