"""Plotly figures for text generation: perplexity per epoch, the next-token distribution as bars, and Elman's map of
the hidden state.

    perplexity_figure([record]).show()
    next_token_figure(vocabulary, probabilities, k=10).show()        # the k most likely next tokens
    word_map_figure(*elman_map(untrained, trained, dataset)).show() # before and after training, side by side

Loss curves are `rnnlab.plots.runs.loss_figure`, as for every task. Colours follow `rnnlab.plots.style`: each run
its cell's colour, probabilities `TOKEN_COLOR` with the drawn token in `CHOSEN_COLOR`, one colour per word kind.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.generate import top_k
from rnnlab.introspect.word_map import Projection
from rnnlab.plots import style
from rnnlab.records import RunRecord, distinct_names


def perplexity_figure(records: list[RunRecord], log_y: bool = False) -> go.Figure:
    """Training (solid) and validation (dashed) perplexity per epoch, with the unigram model's as a dotted line."""
    figure = go.Figure()
    colors = style.run_colors(records)
    names = distinct_names(records)
    single = len(records) == 1
    for record in records:
        epochs = np.arange(1, record.epochs_done + 1)
        for key, dash, label in (("perplexity", "solid", "training"), ("val_perplexity", "dash", "validation")):
            if record.history.get(key):
                figure.add_trace(go.Scatter(
                    x=epochs, y=record.history[key], mode="lines+markers",
                    name=label if single else f"{names[record.run_id]} · {label}",
                    line=dict(color=colors[record.run_id], dash=dash, width=2.5), hovertemplate="%{y:.4g}"))
    style.layout(figure, "Perplexity", "epoch", "perplexity = exp(loss per token)", log_y=log_y, hovermode="x unified")
    baselines = {round(record.baseline_loss, 4) for record in records if math.isfinite(record.baseline_loss)}
    if len(baselines) == 1:
        style.add_baseline(figure, math.exp(baselines.pop()), log_y=log_y, label="unigram model")
    return figure


def next_token_figure(vocabulary, probabilities: np.ndarray, k: int = 10, chosen: int | None = None,
                      model_probabilities: np.ndarray | None = None, title: str | None = None) -> go.Figure:
    """The `k` most likely next tokens of `probabilities` `(vocabulary,)` as bars, most likely on top.

    `chosen` marks the token a sampler drew; `model_probabilities` (the model's own softmax, when `probabilities`
    had a temperature applied) goes into the hover text.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    best = top_k(probabilities, min(k, probabilities.size))
    tokens = [token for token, _ in best]
    labels = [vocabulary.label(token) for token in tokens]
    values = [probability for _, probability in best]
    colors = [style.CHOSEN_COLOR if token == chosen else style.TOKEN_COLOR for token in tokens]
    hover = [f"“{label}”: %{{x:.4f}}" for label in labels]
    if model_probabilities is not None:
        hover = [f"{text} (the model's own: {float(model_probabilities[token]):.4f})"
                 for text, token in zip(hover, tokens)]
    figure = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker=dict(color=colors),
                              text=[f"{value:.3f}" for value in values], textposition="outside",
                              hovertemplate=[text + "<extra></extra>" for text in hover], name="probability"))
    figure.update_yaxes(type="category", autorange="reversed")
    figure.update_xaxes(range=[0, 1.08])
    shown = sum(values)
    title = title or f"The {len(values)} most likely next {vocabulary.unit}s (together {shown:.0%} of the probability)"
    return style.layout(figure, title, "probability", None, height=max(260, 90 + 26 * len(values)), legend=None)


def word_map_figure(before: Projection, after: Projection, categories: tuple[str, ...] | None = None) -> go.Figure:
    """Elman's map before and after training, side by side: a point per word read, coloured by the word's kind,
    the hover naming the word. Each panel has its own axes (its own principal components)."""
    maps = (before, after)
    categories = categories or tuple(dict.fromkeys(after.states.categories))
    colors = style.category_colors(categories)
    titles = [f"{title}<br><sup>{each.states.layer}; the two axes keep {each.shares.sum():.0%} of the variance</sup>"
              for title, each in zip(("Before training", "After training"), maps)]
    figure = make_subplots(rows=1, cols=len(maps), subplot_titles=titles, horizontal_spacing=0.06)
    for column, each in enumerate(maps, start=1):
        kinds = np.asarray(each.states.categories)
        words = np.asarray(each.states.words)
        for category in categories:
            rows = np.flatnonzero(kinds == category)
            if rows.size == 0:
                continue
            figure.add_trace(go.Scatter(
                x=each.points[rows, 0], y=each.points[rows, 1], mode="markers", name=category,
                legendgroup=category, showlegend=column == 1, customdata=words[rows],
                marker=dict(color=colors[category], size=6, opacity=0.7),
                hovertemplate=f"after “%{{customdata}}” ({category})<extra></extra>"), row=1, col=column)
        figure.update_xaxes(title_text="first principal component", zeroline=False, row=1, col=column)
        figure.update_yaxes(title_text="second principal component" if column == 1 else None, zeroline=False,
                            row=1, col=column)
    style.layout(figure, "The hidden state after each word, coloured by the word's kind", None, None, height=540,
                 legend="right")
    return figure.update_layout(margin=dict(t=120))  # room for the panel titles under the figure's
