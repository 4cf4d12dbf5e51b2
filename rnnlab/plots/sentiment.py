"""Plotly figures for the IMDB lesson: the model's opinion word by word, and one gate over the words.

    trace = rnnlab.sentiment.word_trace(model, dataset, "Not bad at all.")
    opinion_figure(trace.words, trace.probabilities).show()
    gate_heatmap(trace.words, trace.gates["lstm_1"]["forward"]["forget"], "forget", "lstm_1").show()

Words go on the x axis in reading order; each word is one position, so a word that occurs twice gets two columns.
Gates and states have the colours they have on every page (`rnnlab.plots.style`); the confusion matrix of the test
reviews is `rnnlab.plots.runs.confusion_figure`, as for every classifier.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnlab.data import BINARY_THRESHOLD
from rnnlab.introspect.steps import SIGMOID_GATES
from rnnlab.plots import style
from rnnlab.plots.cell import word_ticks

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


def _word_axis(figure: go.Figure, words: list[str]) -> np.ndarray:
    figure.update_xaxes(**word_ticks(words))
    return np.arange(1, len(words) + 1)


def opinion_figure(words: list[str], probabilities: np.ndarray) -> go.Figure:
    """P(positive) after each word (the model's verdict if the review stopped there), with the 0.5 line."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    if len(words) != probabilities.size:
        raise ValueError(f"{len(words)} words but {probabilities.size} probabilities; give one per word.")
    figure = go.Figure()
    figure.add_hrect(y0=BINARY_THRESHOLD, y1=1.0, fillcolor=style.POSITIVE_COLOR, opacity=0.06, line_width=0)
    figure.add_hrect(y0=0.0, y1=BINARY_THRESHOLD, fillcolor=style.NEGATIVE_COLOR, opacity=0.06, line_width=0)
    positions = _word_axis(figure, words)
    figure.add_trace(go.Scatter(
        x=positions, y=probabilities, customdata=words, mode="lines+markers", name="P(positive)",
        line=dict(color="#1a73e8", width=2.5),
        marker=dict(size=8, color=np.where(probabilities > BINARY_THRESHOLD, style.POSITIVE_COLOR,
                                           style.NEGATIVE_COLOR)),
        hovertemplate="after “%{customdata}”: P(positive) = %{y:.3f}<extra></extra>"))
    figure.add_hline(y=BINARY_THRESHOLD, line=dict(color=style.BASELINE_COLOR, dash="dot"),
                     annotation_text=f"undecided ({BINARY_THRESHOLD:g})", annotation_position="top right")
    figure.update_yaxes(range=[0, 1])
    return style.layout(figure, "The model's opinion, word by word", "word, in reading order",
                        "P(positive) after this word", height=380, legend=None)


def gate_heatmap(words: list[str], values: np.ndarray, gate: str, layer: str, direction: str = "forward") -> go.Figure:
    """One gate's value for every unit (rows) at every word (columns); `values` is `(words, units)`."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(words):
        raise ValueError(f"Gate values of shape {values.shape} do not match {len(words)} words; give "
                         "(words, units).")
    z = values.T  # (units, words)
    figure = go.Figure()
    positions = _word_axis(figure, words)
    units = np.arange(1, z.shape[0] + 1)
    figure.add_trace(go.Heatmap(
        z=z, x=positions, y=units, customdata=np.tile(np.array(words, dtype=object), (z.shape[0], 1)),
        colorbar=dict(title=gate), hovertemplate="unit %{y}, word “%{customdata}”: %{z:.3f}<extra></extra>",
        **style.heatmap_colours(gate in SIGMOID_GATES, z)))
    figure.update_yaxes(autorange="reversed")
    meaning = GATE_MEANINGS.get(gate, "")
    title = f"{layer} ({direction}): {gate}" + (f" — {meaning}" if meaning else "")
    return style.layout(figure, title, "word, in reading order", "unit",
                        height=max(300, min(700, 140 + 14 * z.shape[0])), legend=None)
