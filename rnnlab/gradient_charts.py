"""Figures and sentences for "Gradients through time": how much of the loss's gradient reaches each time step.

A run records the norm of dL/dh_t for every time step of every recurrent layer and direction, on a fixed batch of
validation sequences, before training and after each epoch (`RunRecord.grad_norms_at_init`, `grad_norms`). This
module turns those numbers into Plotly figures (no Streamlit here; `fig.show()` works in a notebook) and into the
sentences the page prints, so every claim on screen is computed from the same numbers the charts draw.

    from rnnlab import gradient_charts
    gradient_charts.describe_ratio(record.grad_norms[-1]["lstm_1"]["forward"])
    # 'the gradient reaching step 1 is 2×10⁻⁵ of the one at step 50'
    gradient_charts.norm_curve_figure(record, epoch=record.epochs_done).show()

Index conventions: norms are indexed by input time step (array index 0 is step 1). A forward direction answers after
step T, so its gradient starts at step T and travels back to step 1; a backward direction (in a Bidirectional layer)
reads the sequence from the end and answers after step 1, so its gradient travels from step 1 to step T.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnnlab import charts
from rnnlab.charts import CELL_COLORS, EXTRA_COLORS, run_colors
from rnnlab.config import RunConfig
from rnnlab.introspect.gates import mean_forget_gate, spectral_radius
from rnnlab.models import build_model, recurrent_layers
from rnnlab.records import RunRecord
from rnnlab.tasks import make_dataset

X_TITLE = "time step t"
Y_TITLE = "‖∂L/∂h_t‖ (log scale)"
# Within a factor of two either way, the far end's gradient is "about the same size" as the near end's.
FLAT_LOW, FLAT_HIGH = 0.5, 2.0
# Below this share of the learned-nothing loss a run counts as having learned the task; above the last one, not at all.
SOLVED_SHARE, GOOD_SHARE, NOTHING_SHARE = 0.1, 0.5, 0.9
# The tasks whose answer depends on the first steps of the sequence, and where that information sits.
EARLY_INFORMATION = {
    "adding": "the first marked value sits somewhere in the first half of the sequence",
    "recall": "the token to name is the very first one",
}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


# --- Numbers into words ------------------------------------------------------------------------------------------

def format_factor(value: float) -> str:
    """A positive factor for a sentence: '0.31', '36', or powers of ten as '2×10⁻⁵' and '10⁸' (superscripts)."""
    if not math.isfinite(value):
        return "not a number" if math.isnan(value) else "infinite"
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 100:
        return f"{value:.2g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10**exponent)
    if abs(mantissa) == 10:  # 9.6×10⁻⁶ rounds to 10×10⁻⁶, which is 10⁻⁵
        mantissa, exponent = mantissa // 10, exponent + 1
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return power if mantissa == 1 else f"{mantissa}×{power}"


def _ends(norms, direction: str) -> tuple[int, int, float, float]:
    """(near step, far step, norm at near step, norm at far step), steps counted from 1 in input order."""
    values = np.asarray(norms, dtype=np.float64).ravel()
    steps = len(values)
    if direction == "backward":
        return 1, steps, float(values[0]), float(values[-1])
    return steps, 1, float(values[-1]), float(values[0])


def gradient_ratio(norms, direction: str = "forward") -> float:
    """Norm at the far end of the sequence over the norm where the gradient enters; NaN if undefined."""
    if np.asarray(norms).size < 2:
        return math.nan
    _, _, near, far = _ends(norms, direction)
    if not (math.isfinite(near) and math.isfinite(far)) or near <= 0:
        return math.nan
    return far / near


def describe_ratio(norms, direction: str = "forward") -> str:
    """One sentence comparing the gradient at the far end of the sequence with the one where it enters.

    'the gradient reaching step 1 is 2×10⁻⁵ of the one at step 100' when it vanishes, '... is 36 times the one
    at step 100' when it grows, 'about the same size' within a factor of two. Zero, NaN and too-short inputs get
    a sentence saying so instead of a ratio.
    """
    values = np.asarray(norms, dtype=np.float64).ravel()
    if values.size == 0:
        return "no gradient norms were recorded"
    if values.size == 1:
        return "the sequence has a single time step, so there is no path through time to compare"
    near_step, far_step, near, far = _ends(values, direction)
    if not (math.isfinite(near) and math.isfinite(far)):
        return (f"the gradient norms at steps {far_step} and {near_step} are not both finite numbers (the values "
                "overflowed), so there is no ratio to state")
    if near == 0 and far == 0:
        return f"no gradient reaches this layer: ‖∂L/∂h_t‖ is 0 at step {near_step} and at step {far_step}"
    if near == 0:
        return f"the gradient is 0 at step {near_step} but {far:.2g} at step {far_step}, so there is no ratio to state"
    if far == 0:
        return (f"the gradient reaching step {far_step} is 0: it shrank below what the computer can represent "
                f"on its way back from step {near_step}")
    ratio = far / near
    if ratio < FLAT_LOW:
        return f"the gradient reaching step {far_step} is {format_factor(ratio)} of the one at step {near_step}"
    if ratio > FLAT_HIGH:
        return f"the gradient reaching step {far_step} is {format_factor(ratio)} times the one at step {near_step}"
    return (f"the gradient reaching step {far_step} is about the same size as the one at step {near_step} "
            f"({format_factor(ratio)} times it)")


def epoch_label(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


def curve_label(layer: str, direction: str, directions: int) -> str:
    return layer if directions == 1 else f"{layer} ({direction})"


def norms_by_epoch(record: RunRecord) -> list[dict]:
    """The recorded norms, index 0 before training and index k after epoch k (empty if nothing was recorded)."""
    if record.grad_norms_at_init is None:
        return []
    return [record.grad_norms_at_init, *record.grad_norms]


def curves(norms: dict) -> list[tuple[str, str, np.ndarray]]:
    """(layer, direction, norms) for every recurrent layer (bottom first) and direction of one probe."""
    return [(layer, direction, np.asarray(values, dtype=np.float64))
            for layer, by_direction in norms.items() for direction, values in by_direction.items()]


def main_curve(norms: dict) -> tuple[str, str, np.ndarray]:
    """The bottom layer's forward direction: the one whose gradient has to reach the inputs themselves."""
    return curves(norms)[0]


def _positive(values) -> list[float | None]:
    """Values a log axis can draw; zeros, negatives, NaN and infinity become gaps."""
    return [float(v) if math.isfinite(v) and v > 0 else None for v in np.asarray(values, dtype=np.float64)]


def _log10(values) -> list[float | None]:
    return [None if v is None else math.log10(v) for v in _positive(values)]


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str, log_y: bool = True,
            height: int = 420) -> go.Figure:
    # Legends go under the plot: these charts often sit in half-width columns, where long run names would wrap
    # into the title.
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                         legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
                         margin=dict(l=70, r=20, t=60, b=60), height=height)
    if log_y:
        figure.update_yaxes(type="log", exponentformat="power")
    return figure


def _curve_colors(record: RunRecord, count: int) -> list[str]:
    palette = [CELL_COLORS[record.config.cell], *EXTRA_COLORS]
    return [palette[index % len(palette)] for index in range(count)]


# --- Figures ------------------------------------------------------------------------------------------------------

def norm_curve_figure(record: RunRecord, epoch: int) -> go.Figure:
    """‖dL/dh_t‖ against t for every layer and direction: dotted before training, solid after `epoch`."""
    recorded = norms_by_epoch(record)
    figure = go.Figure()
    if recorded:
        epoch = min(max(epoch, 0), len(recorded) - 1)
        shown = [0] if epoch == 0 else [0, epoch]
        lines = curves(recorded[0])
        directions = len({direction for _, direction, _ in lines})
        for color, (layer, direction, _) in zip(_curve_colors(record, len(lines)), lines):
            name = curve_label(layer, direction, directions)
            for index in shown:
                values = recorded[index][layer][direction]
                steps = np.arange(1, len(values) + 1)
                after = index > 0
                figure.add_trace(go.Scatter(
                    x=steps, y=_positive(values), mode="lines", name=f"{name} · {epoch_label(index)}",
                    line=dict(color=color, width=2.5 if after else 1.5, dash="solid" if after else "dot"),
                    hovertemplate="step %{x}: %{y:.3g}<extra>%{fullData.name}</extra>"))
    return _layout(figure, "Gradient reaching each step", X_TITLE, Y_TITLE, height=480)


def norm_heatmap(record: RunRecord, layer: str, direction: str = "forward") -> go.Figure:
    """Time step × epoch coloured by log10 ‖dL/dh_t‖: how the vanishing-gradient profile changes as a run trains."""
    rows = [norms[layer][direction] for norms in norms_by_epoch(record)]
    z = [_log10(values) for values in rows]  # (epochs + 1, T)
    steps = np.arange(1, len(rows[0]) + 1) if rows else []
    figure = go.Figure(go.Heatmap(
        z=z, x=steps, y=np.arange(len(rows)), colorscale="Viridis",
        colorbar=dict(title=dict(text="log₁₀ ‖∂L/∂h_t‖", side="right")),
        hovertemplate="step %{x}, epoch %{y}: log₁₀ norm %{z:.2f}<extra></extra>"))
    figure.update_yaxes(dtick=1)
    return _layout(figure, f"Epoch by epoch · {layer} ({direction})", X_TITLE, "epoch (0 = before training)",
                   log_y=False, height=360)


def race_norm_figure(records: list[RunRecord], when: str = "after") -> go.Figure:
    """Each run's bottom-layer forward curve on one log axis, before training (`when="before"`) or after its last
    recorded epoch (`when="after"`)."""
    figure = go.Figure()
    colors = run_colors(records)
    for record in records:
        recorded = norms_by_epoch(record)
        if not recorded:
            continue
        norms = recorded[0] if when == "before" else recorded[-1]
        layer, direction, values = main_curve(norms)
        epoch = 0 if when == "before" else len(recorded) - 1
        figure.add_trace(go.Scatter(
            x=np.arange(1, len(values) + 1), y=_positive(values), mode="lines",
            # A run that stopped or diverged early says how far it got; the title covers the rest.
            name=record.name if when == "before" or epoch == record.config.epochs
            else f"{record.name} · {epoch_label(epoch)}", line=dict(color=colors[record.run_id], width=2.5),
            hovertemplate="step %{x}: %{y:.3g}<extra>%{fullData.name}</extra>"))
    title = "Gradient through time, before training" if when == "before" else \
        "Gradient through time, after training"
    return _layout(figure, title, X_TITLE, Y_TITLE, height=480)


def race_loss_figure(records: list[RunRecord]) -> go.Figure:
    """`rnnlab.charts.compare_figure` of the validation loss, its legend under the plot like the curve beside it."""
    figure = charts.compare_figure(records, "val_loss")
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
                         margin=dict(t=60, b=60), height=480, title="Validation loss by run")
    return figure


def forget_gate_series(record: RunRecord) -> dict[str, dict[str, list[float]]]:
    """Mean LSTM forget-gate value on the probe sequence, per layer and direction, before training and per epoch."""
    if record.config.cell != "lstm" or record.gates_at_init is None:
        return {}
    series: dict[str, dict[str, list[float]]] = {}
    for gates in [record.gates_at_init, *record.gates]:
        for layer, layer_trace in gates.items():
            for direction, value in mean_forget_gate(layer_trace).items():
                series.setdefault(layer, {}).setdefault(direction, []).append(value)
    return series


def forget_gate_units(gates: dict, threshold: float = 0.9) -> dict[str, dict[str, tuple[int, int, float]]]:
    """Per LSTM layer and direction of one recorded trace: (units whose mean forget gate over the probe sequence
    exceeds `threshold`, all units, the highest unit's mean). The layer mean can hide a few units near 1."""
    counts = {}
    for layer, layer_trace in gates.items():
        for direction, values in layer_trace.items():
            if "forget" not in values:
                continue
            per_unit = np.asarray(values["forget"], dtype=np.float64).mean(axis=(0, 1))  # (units,)
            counts.setdefault(layer, {})[direction] = (int(np.sum(per_unit > threshold)), per_unit.size,
                                                       float(per_unit.max()))
    return counts


def forget_gate_figure(record: RunRecord) -> go.Figure:
    """The mean forget gate per epoch (0 = before training): near 1, the cell keeps its memory from step to step."""
    figure = go.Figure()
    series = forget_gate_series(record)
    lines = [(layer, direction, values) for layer, by in series.items() for direction, values in by.items()]
    directions = len({direction for _, direction, _ in lines})
    for color, (layer, direction, values) in zip(_curve_colors(record, len(lines)), lines):
        figure.add_trace(go.Scatter(
            x=np.arange(len(values)), y=values, mode="lines+markers", name=curve_label(layer, direction, directions),
            line=dict(color=color, width=2.5), hovertemplate="epoch %{x}: %{y:.3f}<extra>%{fullData.name}</extra>"))
    figure.update_yaxes(range=[0, 1.02])
    figure.update_xaxes(dtick=1)
    return _layout(figure, "Mean forget gate on the probe sequence", "epoch (0 = before training)",
                   "mean forget gate f_t (0 = forget, 1 = keep)", log_y=False, height=320)


# --- What the weights say ---------------------------------------------------------------------------------------

def spectral_radii(model) -> dict[str, dict[str, float]]:
    """Largest |eigenvalue| of each SimpleRNN layer's recurrent matrix per direction (NaN if the weights overflowed)."""
    radii = {}
    for layer in recurrent_layers(model):
        try:
            radii[layer.name] = spectral_radius(layer)
        except np.linalg.LinAlgError:  # NaN or infinite weights after a diverged run
            radii[layer.name] = {"forward": math.nan} if not hasattr(layer, "backward_layer") else \
                {"forward": math.nan, "backward": math.nan}
    return radii


def initial_spectral_radii(config: RunConfig) -> dict[str, dict[str, float]]:
    """The spectral radii a run started from: the model is rebuilt from the run's seed, which gives the same weights."""
    small = config.replace(samples=16, eval_samples=16)  # only the shapes matter for building
    return spectral_radii(build_model(small, make_dataset(small)))


def describe_radius(radius: float) -> str:
    """What a SimpleRNN's spectral radius means for signals and gradients passed through W_hh."""
    if not math.isfinite(radius):
        return "not a number: the weights overflowed"
    if radius > 1.05:
        return ("above 1: the recurrent matrix can stretch a signal step after step, so gradients can grow "
                "(a saturated tanh reins them in; relu does not)")
    if radius < 0.95:
        return (f"below 1: through W_hh alone a signal shrinks by about {radius:.2f} per step, and the "
                "activation's slope (at most 1) shrinks it further")
    return ("close to 1: W_hh alone neither stretches nor shrinks a signal much; the activation's slope "
            "(at most 1 for tanh) decides whether it fades")


def describe_forget_gate(value: float, steps: int) -> str:
    """Illustrate a mean forget gate by what it would do to the cell-state path over `steps` steps."""
    if not math.isfinite(value):
        return "not a number"
    carried = value**steps
    return (f"{value:.3f}: a cell state multiplied by {value:.2f} at each of {steps} steps keeps about "
            f"{format_factor(carried)} of itself, a rough guide to how much the direct memory path carries")


# --- Did it learn, and what does the curve say? ------------------------------------------------------------------

def learning_share(record: RunRecord, epoch: int | None = None) -> float:
    """Validation loss after `epoch` (default: the last) as a share of the learned-nothing loss; NaN if unknown."""
    values = record.history.get("val_loss", [])
    if not values or not math.isfinite(record.baseline_loss) or record.baseline_loss <= 0:
        return math.nan
    index = len(values) - 1 if epoch is None else epoch - 1
    if index < 0 or index >= len(values) or not math.isfinite(values[index]):
        return math.nan
    return values[index] / record.baseline_loss


def share_text(share: float) -> str:
    """'12% of the learned-nothing loss', or '4.4 times the learned-nothing loss' when it is worse than that."""
    if share > 1.05:
        return f"{format_factor(share)} times the learned-nothing loss"
    return f"{share:.0%} of the learned-nothing loss"


def learning_verdict(share: float) -> str:
    """Words for a validation loss as a share of the learned-nothing loss."""
    if not math.isfinite(share):
        return "no finished epoch to judge"
    if share <= SOLVED_SHARE:
        return "learned the task"
    if share <= GOOD_SHARE:
        return "learned a good part of the task"
    if share <= NOTHING_SHARE:
        return "learned a little"
    if share <= 1.05:
        return "learned nothing measurable"
    return "did worse than answering the average"


def _learned(share: float) -> bool:
    return math.isfinite(share) and share <= GOOD_SHARE


def explain_run(record: RunRecord, epoch: int) -> list[str]:
    """Short paragraphs about one run's bottom-layer forward curve, worded only as strongly as its numbers allow."""
    recorded = norms_by_epoch(record)
    if not recorded:
        return ["This run recorded no gradient norms."]
    epoch = min(max(epoch, 0), len(recorded) - 1)
    layer, direction, _ = main_curve(recorded[0])
    first = gradient_ratio(recorded[0][layer][direction], direction)
    paragraphs = [f"**Before training**, {describe_ratio(recorded[0][layer][direction], direction)}."]
    if first == first and first < 1e-3:
        paragraphs[0] += " Almost none of the error signal from the answer reaches the start of the sequence."
    elif first == first and first > 1e3:
        paragraphs[0] += (" That is an exploding gradient: the signal grows on its way back, and one update computed "
                          "from it can throw the weights far off.")
    if epoch == 0:
        return paragraphs + _early_information(record, first, math.nan, "before training")

    now = gradient_ratio(recorded[epoch][layer][direction], direction)
    sentence = describe_ratio(recorded[epoch][layer][direction], direction)
    paragraphs.append(f"**{epoch_label(epoch).capitalize()}**, {sentence}.")
    if math.isfinite(first) and math.isfinite(now) and first > 0 and now > 0:
        change = now / first
        if change >= 10:
            paragraphs.append(f"Training made that share {format_factor(change)} times larger: more of the signal "
                              "now reaches the early steps.")
        elif change <= 0.1:
            paragraphs.append(f"Training made that share {format_factor(1 / change)} times smaller: even less of "
                              "the signal reaches the early steps now.")
        else:
            paragraphs.append("Training changed that share by less than a factor of ten.")
    return paragraphs + _early_information(record, now, learning_share(record, epoch), epoch_label(epoch))


def _early_information(record: RunRecord, ratio: float, share: float, when: str) -> list[str]:
    """How the curve bears on learning, for tasks whose answer needs the first steps; nothing for other tasks."""
    where = EARLY_INFORMATION.get(record.config.task)
    if where is None:
        return []
    paragraphs = [f"In this task {where}, so the weights can only learn to keep it if the error signal from the "
                  "answer reaches back there."]
    if not math.isfinite(share):
        return paragraphs
    verdict = f"{when.capitalize()} the network {learning_verdict(share)}: its validation loss is {share_text(share)}."
    weak = math.isfinite(ratio) and ratio < 1e-3
    if _learned(share) and not weak:
        verdict += " It learned, and a measurable share of the gradient reaches step 1: the two go together here."
    elif _learned(share):
        verdict += (" It learned even though little gradient reaches step 1 on this probe now, so the curve alone "
                    "does not tell the whole story.")
    elif weak:
        verdict += " It did not learn, and almost no gradient reaches step 1: the two fit together."
    elif math.isfinite(ratio):
        verdict += (" The gradient does reach step 1, yet it has not learned (yet): gradient flow is needed, "
                    "not enough on its own.")
    return paragraphs + [verdict]


def race_rows(records: list[RunRecord]) -> list[dict]:
    """One table row per run: how it ended, and its gradient ratio (step 1 over step T) before and after training."""
    rows = []
    for record in records:
        recorded = norms_by_epoch(record)
        before = after = math.nan
        if recorded:
            layer, direction, _ = main_curve(recorded[0])
            before = gradient_ratio(recorded[0][layer][direction], direction)
            if len(recorded) > 1:
                after = gradient_ratio(recorded[-1][layer][direction], direction)
        share = learning_share(record)
        rows.append({
            "run": record.name,
            "status": record.status,
            "validation loss": record.final("val_loss"),
            "learned-nothing loss": record.baseline_loss,
            "verdict": learning_verdict(share) if record.status != "diverged" else "diverged",
            "ratio before training": format_factor(before) if math.isfinite(before) else "—",
            "ratio after training": format_factor(after) if math.isfinite(after) else "—",
            "seconds": round(record.wall_seconds, 1),
            "_share": share, "_before": before, "_after": after,
        })
    return rows


def explain_race(records: list[RunRecord]) -> list[str]:
    """Sentences about a race, checking (not assuming) whether the gradient ratios sort winners from losers."""
    rows = race_rows(records)
    learned = [row for row in rows if _learned(row["_share"])]
    stuck = [row for row in rows if math.isfinite(row["_share"]) and not _learned(row["_share"])]
    names = lambda group: ", ".join(row["run"].split(" · ")[0] for row in group)  # noqa: E731
    paragraphs = []
    if learned:
        paragraphs.append(f"Below half the learned-nothing loss: **{names(learned)}**.")
    if stuck:
        paragraphs.append(f"Not below half of it: **{names(stuck)}**.")
    if not learned or not stuck:
        paragraphs.append("All the finished runs ended on the same side of that line, so this race cannot tell "
                          "which gradient profile goes with learning.")
        return paragraphs
    for moment, key in (("before training", "_before"), ("after training", "_after")):
        if not all(math.isfinite(row[key]) for row in learned + stuck):
            continue  # a run without a ratio at this moment: "every run" could not be checked
        low_learned = min(row[key] for row in learned)
        high_stuck = max(row[key] for row in stuck)
        if low_learned > high_stuck:
            paragraphs.append(f"{moment.capitalize()}, every run that learned kept a larger share of its gradient "
                              "at step 1 than every run that did not.")
        else:
            paragraphs.append(f"{moment.capitalize()}, the share of the gradient reaching step 1 does not sort the "
                              "runs that learned from those that did not: a run that learned had a share as small as "
                              f"{format_factor(low_learned)}, one that did not as large as {format_factor(high_stuck)}.")
    return paragraphs
