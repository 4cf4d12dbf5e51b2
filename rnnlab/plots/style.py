"""One look for every figure: the layout helper, and one colour for each quantity wherever it appears.

The same quantity has the same colours on every page, as TensorFlow Playground keeps one scale for every view:

- every gate (a sigmoid, 0 shut to 1 open) uses `GATE_SCALE` on a fixed 0–1 range;
- every state or candidate (hidden state, cell state) uses the diverging `STATE_SCALE`, blue below 0, white at 0,
  red above, on a range symmetric around 0 (`state_range`);
- gradient norms through time use `GRADIENT_SCALE` (log₁₀ colours), counts (confusion matrices) `COUNT_SCALE`;
- each cell type keeps one line colour (`CELL_COLORS`), and sentiment its two (`POSITIVE_COLOR`, `NEGATIVE_COLOR`);
- a next-token probability is a `TOKEN_COLOR` bar, the token a sampler drew `CHOSEN_COLOR`, and the word kinds of
  the toy grammar keep one colour each (`category_colors`), taken from the palettes above.

    figure = layout(go.Figure(...), "Loss", "epoch", "loss: mean squared error", log_y=True)
    add_baseline(figure, 0.155, log_y=True)
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

GATE_SCALE = "Viridis"  # sequential, for values in [0, 1]: dark = shut, yellow = open
GATE_RANGE = (0.0, 1.0)
GATE_TICKS = dict(tickvals=[0, 0.5, 1], ticktext=["0 shut", "0.5", "1 open"])
STATE_SCALE = "RdBu_r"  # diverging: negative blue, 0 white, positive red
GRADIENT_SCALE = "Plasma"  # log10 of gradient norms: not a gate, so not the gate scale
COUNT_SCALE = "Blues"  # how many examples fall in a cell of a confusion matrix
INPUT_SCALE = "Greys"  # one-hot inputs drawn as a strip of cells

CELL_COLORS = {"simplernn": "#e8710a", "lstm": "#1a73e8", "gru": "#188038"}
# Further runs of the same cell get these shades, so several LSTMs in one comparison stay apart.
EXTRA_COLORS = ["#9334e6", "#d01884", "#12b5cb", "#5f6368", "#b06000", "#174ea6", "#0d652d", "#a50e0e"]
UNIT_COLORS = ["#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#12b5cb", "#5f6368", "#b06000"]
INPUT_COLORS = ["#202124", "#d93025", "#1a73e8", "#188038"]
POSITIVE_COLOR, NEGATIVE_COLOR = "#188038", "#d93025"
BASELINE_COLOR = "#5f6368"  # the learned-nothing line, and other reference lines
INK = "#202124"  # markers for "the step you are reading" and sums
# Where a pre-activation comes from: the input, the previous state, the bias.
INPUT_PART_COLOR, RECURRENT_PART_COLOR, BIAS_PART_COLOR = "#1a73e8", "#e8710a", "#9aa0a6"
SHUT_COLOR, BETWEEN_COLOR, OPEN_COLOR = "#440154", "#c7c7c7", "#fde725"  # the ends of GATE_SCALE, and a grey
TOKEN_COLOR, CHOSEN_COLOR = UNIT_COLORS[0], INK  # a next-token probability, and the token the sampler drew

_LEGENDS = {
    "top": dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    # Under the plot: for charts in half-width columns, where long run names would wrap into the title.
    "below": dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
    "right": dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02),
}


def step_lines(figure: go.Figure, x: float, rows, line: dict) -> list[dict]:
    """Vertical lines at `x` across each of `rows` (1-based, one column of subplots), as layout shapes to set once.

    What `figure.add_vline(row=...)` draws, without its cost: it checks every subplot for data at each call, about
    70 ms a row on a figure of six 2,000-step heatmaps here (0.4 s of every Inside the cell render).
    """
    return [dict(type="line", x0=x, x1=x, y0=0, y1=1, **subplot_refs(figure, row), line=line) for row in rows]


def subplot_refs(figure: go.Figure, row: int) -> dict:
    """The axis references of a shape spanning the height of subplot `row` (one column): {"xref": "x2",
    "yref": "y2 domain"}."""
    axes = figure.get_subplot(row, 1)
    return {"xref": axes.xaxis.plotly_name.replace("axis", ""),
            "yref": axes.yaxis.plotly_name.replace("axis", "") + " domain"}


def layout(figure: go.Figure, title: str, x_title: str | None, y_title: str | None, *, log_y: bool = False,
           height: int = 420, legend: str | None = "top", hovermode: str = "closest") -> go.Figure:
    """Title, axis titles (with units), the house template and margins, and where the legend goes (None hides it).

    A log y axis gets one labelled tick per power of ten (`log_ticks`), so minor labels never crowd the decades.
    """
    # The title sits at the top of the figure; a legend on top goes under it, in a margin tall enough for its rows
    # (Plotly grows the margin for the legend alone, so several rows of long run names used to cover the title).
    top = 60 + (LEGEND_ROW_PX * legend_rows(figure) if legend == "top" else 0)
    use_template(figure)
    figure.update_layout(title=dict(text=title, y=1, yref="container", yanchor="top", pad=dict(t=14)),
                         height=height, hovermode=hovermode,
                         margin=dict(l=70, r=20, t=top, b=90 if legend == "below" else 50),
                         showlegend=legend is not None)
    if legend is not None:
        figure.update_layout(legend=_LEGENDS[legend])
    if legend == "top" and any(note.yref == "paper" and (note.y or 0) >= 0.99 for note in figure.layout.annotations):
        # A subplot title sits on the top panel: lift the legend over it, by a row, in the panels' paper units.
        top += LEGEND_ROW_PX
        plot_height = height - top - 50
        figure.update_layout(legend=dict(y=1 + LEGEND_ROW_PX / max(plot_height, 1)), margin=dict(t=top))
    if x_title is not None:
        figure.update_xaxes(title_text=x_title)
    if y_title is not None:
        figure.update_yaxes(title_text=y_title)
    if log_y:
        figure.update_yaxes(type="log", exponentformat="power", **log_ticks(_y_values(figure)))
    return figure


def use_template(figure: go.Figure, name: str = "plotly_white") -> go.Figure:
    """Give `figure` the registered template `name` without checking it again, as Plotly applies its default one.

    `update_layout(template=...)` validated and copied the whole template at every call: 13 ms of the 25 ms an
    empty loss chart took, and a training run's panel draws its charts at every poll, in every learner's session.
    """
    layout = figure.layout
    validate = layout._validate  # Plotly's own switch, which `Figure.__init__` turns off for the default template
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = validate
    return figure


# A legend row's height, and the widths a row's entries are measured by: the narrowest chart a legend on top is drawn
# in (a half-width column at 1,400 px), Plotly's symbol and gap before each name, and a character of its 12 px font.
LEGEND_ROW_PX, LEGEND_ROW_WIDTH_PX, LEGEND_ENTRY_PX, LEGEND_CHARACTER_PX = 24, 560, 46, 7


def legend_rows(figure: go.Figure) -> int:
    """How many rows a horizontal legend of `figure`'s named traces takes in a chart `LEGEND_ROW_WIDTH_PX` wide."""
    entries = [LEGEND_ENTRY_PX + LEGEND_CHARACTER_PX * len(trace.name or "") for trace in figure.data
               if trace.showlegend is not False and trace.name and not isinstance(trace, go.Heatmap)]
    rows, width = (1 if entries else 0), 0
    for entry in entries:
        if width and width + entry > LEGEND_ROW_WIDTH_PX:
            rows, width = rows + 1, 0
        width += entry
    return rows


def log_ticks(values) -> dict:
    """Tick positions for a log axis covering `values`: every power of ten, plus 2 and 5 times each when the values
    span less than two decades, and a tick at each of 1.2, 1.5, 2, 2.5, 3, 4, ... 9 times when they span less than
    a factor of five (where coarser ticks would leave one label or none inside the values)."""
    finite = [float(v) for v in np.ravel(np.asarray(values, dtype=object))
              if v is not None and isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v > 0]
    if not finite:
        return {}
    smallest, largest = min(finite), max(finite)
    low, high = math.floor(math.log10(smallest)), math.ceil(math.log10(largest))
    high = max(high, low + 1)
    # Judged by the span the values cover, not by the decades they touch: 0.08 to 0.15 touches two decades yet
    # shows only the tick 0.1 with powers of ten alone.
    span = math.log10(largest / smallest)
    multiples = (1,) if span >= 2 else (1, 2, 5) if span >= 0.7 else (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)
    ticks = [m * 10.0**k for k in range(low, high + 1) for m in multiples if m * 10.0**k <= 10.0**high]
    return dict(tickmode="array", tickvals=ticks)


def _y_values(figure: go.Figure) -> list:
    values = []
    for trace in figure.data:
        y = getattr(trace, "y", None)
        if y is not None and not isinstance(trace, go.Heatmap):
            values.extend(np.ravel(np.asarray(y, dtype=object)).tolist())
    return values


def empty_state(figure: go.Figure, text: str, x_range: tuple[float, float], y_range: tuple[float, float]) -> go.Figure:
    """A chart with nothing to draw yet says so in its middle, on the axes its data will have (epochs 0 to N, the
    loss from 0), instead of Plotly's arbitrary −1 to 4 with no word of why it is empty."""
    figure.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", text=text, showarrow=False,
                          font=dict(size=15, color=BASELINE_COLOR))
    figure.update_xaxes(range=list(x_range))
    figure.update_yaxes(range=list(y_range), type="linear")
    return figure


def add_baseline(figure: go.Figure, value: float, *, log_y: bool = False, label: str = "learned nothing") -> None:
    """The learned-nothing loss as a dotted line with its label sitting on the line, on linear and log axes alike.

    Plotly places a shape's annotation in data units even on a log axis, which left the label far from its line;
    the label is a separate annotation here, at log₁₀ of the value on a log axis as Plotly expects.
    """
    if not math.isfinite(value):
        return
    figure.add_hline(y=value, line=dict(color=BASELINE_COLOR, dash="dot"))
    position = math.log10(value) if log_y and value > 0 else value
    figure.add_annotation(x=1, xref="paper", y=position, yref="y", text=f"{label}: {value:.3g}", showarrow=False,
                          xanchor="right", yanchor="bottom", font=dict(color=BASELINE_COLOR))
    if log_y:  # the baseline counts towards the decades the axis shows
        values = _y_values(figure) + [value]
        figure.update_yaxes(**log_ticks(values))


def run_colors(records) -> dict[str, str]:
    """A colour per run: its cell's colour for the first run of each cell, distinct shades after that."""
    colors, used, spare = {}, set(), iter(EXTRA_COLORS * 4)
    for record in records:
        color = CELL_COLORS[record.config.cell]
        colors[record.run_id] = next(spare) if color in used else color
        used.add(color)
    return colors


# Word kinds in the toy grammar's order (article, animal, person, food, object, place, two kinds of verb, function
# words), from the house colours: animate nouns warm, inanimate ones green and cyan, the two verbs two blues.
CATEGORY_PALETTE = [BASELINE_COLOR, CELL_COLORS["simplernn"], EXTRA_COLORS[7], CELL_COLORS["gru"], EXTRA_COLORS[2],
                    EXTRA_COLORS[0], CELL_COLORS["lstm"], EXTRA_COLORS[5], EXTRA_COLORS[1]]


def category_colors(categories) -> dict[str, str]:
    """A colour per category, in the order given (the grammar's nine kinds each get their own)."""
    return {category: CATEGORY_PALETTE[index % len(CATEGORY_PALETTE)] for index, category in enumerate(categories)}


def state_range(values: np.ndarray) -> tuple[float, float]:
    """A symmetric colour range for a state: [-1, 1] (where tanh keeps it) unless its values leave that range (a
    cell state, or a relu cell), in which case it widens to the largest value, so 0 always stays white."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    bound = 1.0 if largest <= 1.0 else math.ceil(largest * 10.0) / 10.0  # widen only when needed
    return -bound, bound


def heatmap_colours(is_gate: bool, values: np.ndarray) -> dict:
    """The colour arguments of a heatmap of one gate (fixed 0–1) or one state (symmetric around 0)."""
    if is_gate:
        return dict(colorscale=GATE_SCALE, zmin=GATE_RANGE[0], zmax=GATE_RANGE[1])
    low, high = state_range(values)
    return dict(colorscale=STATE_SCALE, zmin=low, zmax=high, zmid=0.0)
