"""Inside the cell: a recurrent layer's gates and states over time, one step's equations with real numbers, and how
the gates changed over training.

Pick a run (or an untrained model from the current settings), a layer, a direction and an example; every number is
computed by `rnnlab.introspect` (`steps.replay` traces the example, `steps.cell_step` fills in the equations).
"""

import numpy as np
import streamlit as st

from pages import session, widgets
from rnnlab.config import field_info
from rnnlab.data import get_task
from rnnlab.explain import describe_answer, epoch_label, previous_state
from rnnlab.introspect import cell_wires, forget_gate_by_epoch, recurrent_layer_names, steps
from rnnlab.lab import get_lab
from rnnlab.pausing import pause_position, paused_text
from rnnlab.plots import cell as cell_charts
from rnnlab.plots import cell_diagram

FRESH = "fresh"  # the source option for an untrained model built from the current settings
CACHE_SIZE = 12  # traced examples kept per session; each is a few arrays of (T, units)
# The longest sequence a learner may type: 2,000 steps (the longest sequence a run takes) of the widest typed form,
# about 8 characters a step ("0.123:1 "); the box stops there, so a paste is never parsed in full first.
MAX_TYPED_CHARS = 8 * int(field_info("seq_len")["high"])

st.title("Inside the cell")
st.caption("Follow one sequence through a recurrent layer: every gate and state of every unit at every time step, "
           "then the cell's equations at one step with the numbers that went through them.")


def vector_latex(values, shown: int = 6) -> str:
    """A vector's first `shown` entries for an equation, with an ellipsis when there are more."""
    return ", ".join(f"{value:.3f}" for value in values[:shown]) + (r", \ldots" if len(values) > shown else "")


def source_ui() -> str:
    runs = session.runs()
    options = [FRESH] + list(runs)
    finished = [job.run_id for job in session.finished_runs()]  # open on the newest run that has a model, if any

    labels = {FRESH: f"Untrained: {session.current_config().label()} (the current settings)"}
    names = session.names()
    labels.update({run_id: f"{names[run_id]} · " + (f"paused at epoch {pause_position(job.record)[0]}" if job.paused
                                                      else job.record.status) for run_id, job in runs.items()})
    return widgets.kept(st.selectbox, "Network", key="cell_source", default=finished[-1] if finished else FRESH,
                        options=options, format_func=labels.get,
                        help="A run from this session, or a model built from the settings on Build & Train and "
                             "not trained: its gates are what training starts from.")


def fresh_model():
    """The untrained model of the current settings and its display data (at most `gate.DISPLAY_SEQUENCES`
    validation sequences, whatever the settings ask for), built once per settings; the session keeps only the
    latest one."""
    config = session.current_config()
    stored = st.session_state.get("cell_fresh")
    if stored is None or stored[0] != config:
        st.session_state["cell_fresh"] = (config, *get_lab().untrained(config))
    return st.session_state["cell_fresh"][1:]


def network_ui(source: str):
    """(model, dataset, record or None, cache key) for the chosen source, or a one-line message and stop."""
    if source == FRESH:
        try:
            model, dataset = fresh_model()
        except ValueError as error:
            st.info(f"The current settings cannot build a model here. {error}")
            st.stop()
        return model, dataset, None, f"fresh:{session.current_config().to_dict()}"
    job = session.looking_at(session.runs()[source]) or session.runs()[source]  # a paused run as it is now
    record = job.record.snapshot()
    if job.paused:
        st.info(f"**{session.names().get(record.run_id, record.name)}** is "
                f"{paused_text(record).replace('Paused', 'paused', 1)}: you are looking at its weights as they are "
                "now. Resume it on the page it trains on to carry on.")
        return job.model, job.dataset, record, str(session.model_key(job))
    if not job.done:
        st.info(f"**{record.name}** is still training (or waiting to train); its gates appear here when it ends.")
        st.stop()
    if record.status == "failed" or job.model is None or job.dataset is None:
        st.error(f"**{record.name}** has no model to look inside: {record.message or 'it ended before building one.'}")
        st.stop()
    return job.model, job.dataset, record, source


def example_ui(dataset):
    """(x (1, T, ...), target or None, cache key) for a validation sequence or one the learner types."""
    task = get_task(dataset.task)
    kinds = ["validation", "typed"] if task.can_type else ["validation"]
    kind = widgets.kept(st.radio, "Example", key="cell_example", default="validation", options=kinds,
                        horizontal=True, format_func={"validation": "A validation sequence",
                                                      "typed": "Type your own"}.get)
    if kind == "validation":
        count = len(dataset.x_val)
        index = widgets.kept(st.number_input, f"Validation sequence (1 to {count:,})", key="cell_index", default=1,
                             min_value=1, max_value=count,
                             help="Sequences the network never trained on. Sequence 1 is the one the run's "
                                  "gates-over-training probe recorded.")
        return dataset.x_val[index - 1:index], dataset.y_val[index - 1], ("validation", index)
    text = widgets.kept(st.text_area, "Your sequence", key=f"cell_text_{dataset.task}",
                        default=task.example_text(dataset, dataset.x_val[0]), help=task.typing_help(dataset),
                        height=90, max_chars=MAX_TYPED_CHARS)
    st.caption(task.typing_help(dataset))
    try:
        x = task.parse(text, dataset)
    except ValueError as error:
        st.error(str(error))
        st.stop()
    # The adding problem's sum and recall's first token are in the typed sequence itself: show them beside the answer.
    return x, task.true_answer(x[0]), ("typed", text.strip())


def replay(cache_key: str, example_key: tuple, model, x) -> steps.Replay:
    """`steps.replay` of this example, kept in the session so moving a slider does not trace it again."""
    return session.cached("cell_replays", (cache_key, example_key), lambda: steps.replay(model, x),
                          limit=CACHE_SIZE)


def chart_input(dataset, x_row):
    """What the heatmaps draw on top: the sequence itself, with words for token inputs."""
    return x_row, get_task(dataset.task).step_labels(dataset, x_row)


KIND_NOTES = {
    "LSTM": "The **forget gate** f_t sets how much of the cell state c_(t-1) is kept, the **input gate** i_t how "
            "much of the candidate g_t is written into it, the **output gate** o_t how much of tanh(c_t) becomes "
            "the hidden state h_t, which is what the layer passes on.",
    "GRU": "The **update gate** z_t sets how much of the previous state is kept (near 1) rather than replaced by "
           "the candidate h̃_t (near 0); the **reset gate** r_t sets how much of the previous state feeds that "
           "candidate.",
    "SimpleRNN": "A SimpleRNN has no gates: its hidden state h_t is squashed from the input and the previous "
                 "state at every step, so nothing decides what to keep.",
}

# --- Choose what to look at ---------------------------------------------------------------------------------------

source = source_ui()
model, dataset, record, cache_key = network_ui(source)
try:
    layer_names = recurrent_layer_names(model)
except ValueError as error:
    st.error(str(error))
    st.stop()

columns = st.columns([2, 1, 3])
layer = widgets.kept(columns[0].selectbox, "Layer", key="cell_layer", default=layer_names[0], options=layer_names,
                     format_func=lambda name: f"{name} (layer {layer_names.index(name) + 1} of {len(layer_names)})")
directions = steps.layer_directions(model, layer)
direction = widgets.kept(columns[1].radio, "Direction", key="cell_direction", default=directions[0],
                         options=directions) if len(directions) > 1 else "forward"
with columns[2]:
    x, target, example_key = example_ui(dataset)

seen = replay(cache_key, example_key, model, x)
direction_gates = seen.gates[layer][direction]
if not all(np.isfinite(values).all() for values in direction_gates.values()):
    st.warning("This network's values are not numbers on this example (its training diverged), so there is "
               "nothing to read; pick another run.")
    st.stop()
kind = steps.layer_kind(model, layer)
timesteps, units = direction_gates["hidden"].shape[1:]

answer = describe_answer(get_task(dataset.task).answer_text(dataset, seen.output[0], target), trained=record is not None,
                         next_token=dataset.kind == "next_token", trained_steps=dataset.seq_len, steps=x.shape[1])
st.markdown(answer)

# --- Gates and states over time, and one step's equations ------------------------------------------------------

st.subheader("Gates and states over time")
controls = st.columns(2)
step = widgets.kept(controls[0].slider, "Time step t", key="cell_step", default=1, min_value=1,
                    max_value=timesteps, help="Moves the dotted line on the heatmaps and fills the equations "
                                              "below.") - 1
unit = widgets.kept(controls[1].selectbox, "Unit j", key="cell_unit", default=1, options=list(range(1, units + 1)),
                    help="Which unit's equations to fill in. Units are numbered from 1.") - 1

chart, notes = st.columns([4, 1])
x_row, words = chart_input(dataset, x[0])
# Kept per example, layer and direction: moving the step (or the unit) moves only the marks on it. Two at most: at
# 2,000 steps × 32 units a figure holds about 1.5 MB of float32, beside the replays the session keeps already.
heatmap = session.cached("cell_heatmaps", (cache_key, example_key, layer, direction),
                         lambda: cell_charts.gates_figure(direction_gates, x_row, kind=kind,
                                                          feature_names=dataset.feature_names, token_names=words,
                                                          title=f"{layer}, {direction}: every unit at every time step"),
                         limit=2)
chart.plotly_chart(cell_charts.mark_step(heatmap, step), width="stretch", key="cell_heatmap")
with notes:
    st.markdown("Each panel is one gate or state: a row per unit, a column per time step. Gates run from 0 (shut, "
                "dark) to 1 (open, yellow); states and candidates are red above 0 and blue below.")
    st.markdown(KIND_NOTES[kind])
    if layer_names.index(layer) > 0:
        st.markdown(f"**{layer}** reads the hidden states of the layer below it, not the sequence drawn on top.")
    if direction == "backward":
        st.markdown("The **backward** direction reads the sequence from the last step to the first, so its "
                    "previous state at step t is the one at step t+1.")

# --- The cell, drawn, and animated over time --------------------------------------------------------------------

st.subheader(f"The cell, drawn: unit {unit + 1}")
frames, needed = cell_wires.diagram_steps(step, timesteps, direction, cell_diagram.FRAMES, cell_diagram.STRIP_STEPS)
wires = session.cached("cell_wires", (cache_key, example_key, layer, direction, unit, frames[0], frames[-1]),
                       lambda: cell_wires.sequence_wires(model, seen, layer, direction, unit, needed),
                       limit=CACHE_SIZE)
# Made once per step: its 40 frames cost about 0.08 s of CPU a figure even unchecked (cell_diagram._attach_frames).
diagram = session.cached("cell_diagrams", (cache_key, example_key, layer, direction, unit, step),
                         lambda: cell_diagram.diagram_figure(wires, frames, step, timesteps,
                                                             title=f"{layer}, {direction}"), limit=4)
st.plotly_chart(diagram, width="stretch", key="cell_diagram")
window = "" if len(frames) == timesteps else \
    f" (steps {min(frames) + 1} to {max(frames) + 1} of {timesteps}; move the slider above to animate others)"
st.caption("**▶ Play** runs t through the sequence" + window + "; the slider under the drawing picks a step, the "
           "one above sets where it opens and fills the equations below. Every wire carries unit "
           f"{unit + 1}'s value at that step, to three significant figures: gates on the 0 (shut) to 1 (open) "
           "scale, states red above 0 and blue below. The gates read the whole vectors x_t and h_(t−1); the "
           "h_(t−1)" + (" and c_(t−1) wires show" if kind == "LSTM" else " wire shows") + " this unit's own "
           f"entry, the one its state update uses. The x_t wire shows {wires[step].input_note}"
           + (" (here x_t is the layer below's hidden states)" if layer_names.index(layer) > 0 else "") + "."
           + (" Keras's GRU resets after the product: r_t scales W_hh·h_(t−1) + b_hh, not h_(t−1) itself."
              if kind == "GRU" and wires[step].reset_after else ""))

cell = steps.cell_step(model, seen, layer, direction, step, unit)
previous = cell.previous_symbol
st.subheader(f"Time step {step + 1}, unit {unit + 1}: the equations with their numbers")
if cell.previous_step is None:
    st.caption(f"This is the first step the {direction} direction reads, so the previous state "
               f"{previous_state(previous)} is zero.")
else:
    st.caption(f"The previous state {previous_state(previous)} is the one after time step "
               f"{cell.previous_step + 1}. σ is the "
               "sigmoid 1/(1+e^(−x)); every number is rounded to three decimals.")
equations, parts = st.columns([3, 2])
with equations:
    st.latex(rf"x_t = [{vector_latex(cell.x)}]")
    st.latex(rf"h_{{{previous}}} = [{vector_latex(cell.h_previous)}]")
    if cell.c_previous is not None:
        st.latex(rf"c_{{{previous}}} = [{vector_latex(cell.c_previous)}]")
    st.latex(cell.latex())
with parts:
    st.plotly_chart(cell_charts.step_terms_figure(cell), width="stretch", key="cell_step_terms")
    st.caption("Each gate's pre-activation is the sum of three pushes: the input at this step, the previous "
               "state, and the bias. The squashing function then turns the sum into the value.")
st.dataframe(cell.table(), hide_index=True, width="stretch",
             column_config={name: st.column_config.NumberColumn(format="%.4f") for name in
                            ("from the input", "from the previous state", "bias", "pre-activation", "value")})

# --- Chosen units, and saturation --------------------------------------------------------------------------------

st.subheader("Chosen units over time")
unit_choices = list(range(1, units + 1))
chosen_units = st.multiselect("Units", unit_choices, default=unit_choices[:3], key=f"cell_units_{units}")
quantities = list(direction_gates)
default_quantities = ["forget", "cell", "hidden"] if kind == "LSTM" else ["update", "hidden"] if kind == "GRU" \
    else ["hidden"]
chosen_quantities = st.multiselect("Gates and states", quantities, default=default_quantities,
                                   format_func=lambda name: cell_charts.quantity_title(name, kind),
                                   key=f"cell_quantities_{kind}")
if chosen_units and chosen_quantities:
    lines = session.cached("cell_unit_lines", (cache_key, example_key, layer, direction, tuple(chosen_units),
                                               tuple(chosen_quantities)),
                           lambda: cell_charts.units_figure(direction_gates, [number - 1 for number in chosen_units],
                                                            chosen_quantities, kind=kind), limit=4)
    st.plotly_chart(cell_charts.mark_step(lines, step), width="stretch", key="cell_units_chart")
else:
    st.caption("Choose at least one unit and one gate or state to draw.")

st.subheader("Saturation")
rows = steps.saturation(direction_gates)
if not rows:
    st.caption("A SimpleRNN has no gates, so nothing here can saturate.")
else:
    chart, notes = st.columns([3, 2])
    chart.plotly_chart(cell_charts.saturation_figure(rows), width="stretch", key="cell_saturation")
    with notes:
        st.markdown("A gate near 0 or 1 works like a switch. A forget gate above 0.9 keeps more than 90% of the cell "
                    "state from one step to the next, which is how an LSTM can carry a value across many steps."
                    if kind == "LSTM" else
                    "A gate near 0 or 1 works like a switch. An update gate above 0.9 keeps more than 90% of the "
                    "previous state, which is how a GRU can carry a value across many steps.")
        st.markdown("On this sequence: " + "; ".join(
            f"{row['name']} {row['below']:.0%} below 0.1 and {row['above']:.0%} above 0.9 (mean {row['mean']:.2f})"
            for row in rows) + ".")

# --- Gates over training ------------------------------------------------------------------------------------------

st.subheader("Gates over training")
if record is None:
    st.info("This model has not trained. Train a run on **Build & Train** and pick it above to replay its gates "
            "epoch by epoch.")
    st.stop()
snapshots = record.gate_history()
if not snapshots or layer not in snapshots[0]:
    st.info("This run did not record its gates during training.")
    st.stop()
epochs = len(record.gates)
if epochs:
    epoch = widgets.kept(st.slider, "Epoch (0 = before training)", key="cell_epoch", default=epochs,  # trained
                         min_value=0, max_value=epochs,
                         help="The run recorded the gates of validation sequence 1 before training and after each "
                              "epoch.")
else:
    epoch = 0
    st.caption("The run stopped before its first epoch ended, so only the gates before training exist.")
probe = snapshots[epoch][layer][direction]
chart, notes = st.columns([4, 1])
x_row, words = chart_input(dataset, dataset.x_val[0])
chart.plotly_chart(cell_charts.gates_figure(
    probe, x_row, kind=kind, feature_names=dataset.feature_names, token_names=words,
    title=f"{layer}, {direction}, validation sequence 1, {epoch_label(epoch)}"), width="stretch",
    key="cell_training")
with notes:
    st.markdown("The same sequence, validation sequence 1, as the network saw it before training (epoch 0) and "
                "after each epoch. Move the slider to watch the gates change as the network learns.")
if kind == "LSTM":
    series = forget_gate_by_epoch(snapshots)[layer]
    chart, notes = st.columns([4, 1])
    chart.plotly_chart(cell_charts.forget_gate_figure({layer: series}, epoch), width="stretch", key="cell_forget")
    values = series[direction]
    change = values[-1] - values[0]
    notes.markdown(f"On validation sequence 1 the {direction} mean forget gate went from **{values[0]:.3f}** before "
                   f"training to **{values[-1]:.3f}** after epoch {len(values) - 1}"
                   + (f" ({change:+.3f})." if epochs else "."))
