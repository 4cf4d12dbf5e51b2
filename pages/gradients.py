"""Gradients through time: how much of the loss's gradient reaches each time step, before and after training.

Three tabs: one run's curve, heatmap and the numbers behind them; a race of SimpleRNN, LSTM and GRU on one task;
and the knobs that decide the outcome, with presets. Layout and widgets only: figures come from
`rnnlab.plots.gradients`, and every sentence computed from the numbers from `rnnlab.explain`.
"""

import math

import pandas as pd
import streamlit as st

from pages import progress, session, widgets
from rnnlab import explain
from rnnlab.config import TASK_DEFAULTS, RunConfig, defaults_for_task, field_info, from_link
from rnnlab.introspect import forget_gate_by_epoch, forget_gate_units, spectral_radii
from rnnlab.introspect.gradients import curves
from rnnlab.lab import get_lab
from rnnlab.pausing import pause_position
from rnnlab.plots import cell as cell_plots
from rnnlab.plots import gradients as gradient_plots

RACE_CELLS = ("simplernn", "lstm", "gru")
RACE_TASKS = {"adding": "Adding problem", "recall": "Recall the first token"}
# Presets are written like the lessons' ```try blocks: a label, why it is worth a click, and a link query.
PRESETS = (
    ("LSTM with forget bias 5", "The forget gate starts at about 0.99, so the cell state keeps its memory.",
     "task=adding&cell=lstm&forget_bias=5"),
    ("LSTM with Keras's forget bias 1", "The same network as Keras builds it, for comparison.",
     "task=adding&cell=lstm"),
    ("relu SimpleRNN with identity×2 init — watch it explode",
     "Every step doubles the state; here the loss turned into NaN in the third batch.",
     "task=adding&cell=simplernn&activation=relu&recurrent_initializer=identity&recurrent_gain=2"),
    ("The same, clipped at norm 1", "Clipping caps each update, but the state still doubles at every step.",
     "task=adding&cell=simplernn&activation=relu&recurrent_initializer=identity&recurrent_gain=2&clipnorm=1"),
    ("relu SimpleRNN with identity init (IRNN)", "Plenty of gradient reaches step 1; does it learn?",
     "task=adding&cell=simplernn&activation=relu&recurrent_initializer=identity"),
)


def watch(jobs) -> None:
    """Show these runs' progress at the top of the page until they end."""
    st.session_state["grad_watch"] = [job.run_id for job in jobs]
    st.session_state.pop("grad_settled", None)


@st.cache_data(max_entries=64, show_spinner=False)
def initial_radii(values: dict) -> dict:
    """A SimpleRNN run's starting spectral radii, from the lab (`Lab.initial_spectral_radii`); cached: only numbers
    are kept."""
    return get_lab().initial_spectral_radii(RunConfig.from_dict(values))


def run_name(job) -> str:
    return session.names().get(job.run_id, job.record.name)


def progress_ui() -> None:
    """Progress of the runs started from this page, polled while any trains; gone once the page has redrawn them."""
    watched = [session.runs()[run_id] for run_id in st.session_state.get("grad_watch", []) if run_id in session.runs()]
    if not watched or st.session_state.get("grad_settled") == [job.run_id for job in watched]:
        return

    def panel() -> None:
        with st.container(border=True):
            for job in watched:  # each run as every page shows one: its bar while it trains, its verdict once ended
                progress.draw_progress(job.record.snapshot(), handle=job, name=run_name(job))
            if any(job.running for job in watched) and st.button("Stop", key="grad_stop"):
                session.stop_all()

    def show_the_new_runs() -> None:
        st.session_state.pop("grad_run", None)  # the one-run tab opens on the newest run
        race = st.session_state.get("grad_race_ids")
        if race and [job.run_id for job in watched] == race:
            st.session_state["grad_race_chosen"] = list(race)  # and the race on the runs just trained

    progress.live(watched, "grad_settled", panel, on_settled=show_the_new_runs)


# --- The race -----------------------------------------------------------------------------------------------------

def race_number(column, name: str, default: int, step: int, key: str, label: str | None = None) -> int:
    """A number input with the setting's own limits and help (`rnnlab.config.field_info`)."""
    info = field_info(name)
    return int(column.number_input(label or info["label"], int(info["low"]), int(info["high"]), int(default),
                                   step=step, key=key, help=info["help"]))


def race_ui() -> None:
    """Settings and button for a three-cell race, then the chosen runs' curves, losses and a table."""
    st.markdown("Train **SimpleRNN, LSTM and GRU** one after another on the same data, then compare how much "
                "gradient reaches the first steps with which of them learned.")

    settings = st.columns([2, 1, 1, 1, 1])
    task = settings[0].radio("Task", list(RACE_TASKS), format_func=RACE_TASKS.get, key="grad_race_task",
                             horizontal=True)
    # Length and size widgets are per task, so picking a task brings up that task's own defaults.
    seq_len = race_number(settings[1], "seq_len", TASK_DEFAULTS[task]["seq_len"], 10, f"grad_race_seq_len_{task}")
    samples = race_number(settings[2], "samples", TASK_DEFAULTS[task]["samples"], 1000,
                          f"grad_race_samples_{task}")
    units = race_number(settings[3], "units", 32, 8, "grad_race_units", label="Units")
    epochs = race_number(settings[4], "epochs", 10, 1, "grad_race_epochs")
    # Measured here: 6-14 s a model on two quiet cores (../shared/FACTS.md), a GRU 42.3 s beside a browser and other
    # runs (issue 18.12), and benchmarks/bench_cell_speed.py's rounds; a range, not a promise.
    st.caption(f"Each cell gets {units} units, Adam with learning rate 0.003, batches of 64 and seed 0, whatever "
               "the sidebar of Build & Train says. At the defaults each model took 6–14 s on two quiet cores here, "
               "and up to 42 s while a browser and other runs shared them.")
    busy = session.active_job() is not None
    if st.button("Start the race", type="primary", disabled=busy, key="grad_race_start",
                 help="Busy: a run is training." if busy else None):
        base = defaults_for_task(task).replace(seq_len=seq_len, samples=samples, units=units, epochs=epochs)
        jobs = session.start_runs([base.replace(cell=cell) for cell in RACE_CELLS])
        if jobs:
            st.session_state["grad_race_ids"] = [job.run_id for job in jobs]
            # The selector shows the race's runs from now on, as the charts do (set, not defaulted: a widget
            # that already has a value keeps it on screen otherwise).
            st.session_state["grad_race_chosen"] = [job.run_id for job in jobs]
            watch(jobs)
            st.rerun()

    runs = session.runs()
    race_ids = [run_id for run_id in st.session_state.get("grad_race_ids", []) if run_id in runs]
    # Runs that can be compared: every run that ended with a model, and the race's runs while they train.
    candidates = {job.run_id: job for job in session.finished_runs()}
    candidates.update({run_id: runs[run_id] for run_id in race_ids if run_id not in candidates})
    if len(candidates) < 2:
        st.info("Start the race, or train two or more runs of one task, to compare them here.")
        return
    if not race_ids:  # no race in this session yet: the newest task's latest runs
        newest_task = list(candidates.values())[-1].config.task
        race_ids = [run_id for run_id, job in candidates.items() if job.config.task == newest_task][-3:]
    chosen_now = st.session_state.get("grad_race_chosen")
    if chosen_now is not None and [run_id for run_id in chosen_now if run_id not in candidates]:
        st.session_state["grad_race_chosen"] = [run_id for run_id in chosen_now if run_id in candidates]
    names = session.names()
    chosen = st.multiselect("Runs in the race", list(candidates), key="grad_race_chosen",
                            default=None if "grad_race_chosen" in st.session_state else race_ids,
                            format_func=lambda run_id: names.get(run_id, candidates[run_id].record.name))
    jobs = [candidates[run_id] for run_id in chosen]
    if jobs:
        when = st.radio("Gradient curves", ["after", "before"], horizontal=True, key="grad_race_when",
                        format_func=lambda value: f"{value} training")
        # Redrawn while a chosen run trains, so the charts follow the race as it goes.
        progress.live(jobs, "grad_race_settled", lambda: race_results(jobs, when, names))


def race_results(jobs: list, when: str, names: dict[str, str]) -> None:
    """The chosen runs' curves and losses (so far, for a run still training); the table and the verdicts once every
    chosen run has ended."""
    records = [job.record.snapshot() for job in jobs]
    if len({(record.config.task, record.config.seq_len) for record in records}) > 1:
        st.warning("These runs differ in task or sequence length; compare runs of one task at one length.")
    started = [record for record in records if record.grad_norm_history()]
    left, right = st.columns(2)
    left.plotly_chart(gradient_plots.race_norm_figure(started, when, names=names), width="stretch",
                      key="grad_race_norms")
    right.plotly_chart(gradient_plots.race_loss_figure([record for record in records if record.epochs_done],
                                                       names=names), width="stretch", key="grad_race_loss")
    waiting = [names.get(record.run_id, record.name) for record in records if not record.is_final]
    if waiting:
        st.caption(f"Still training or waiting: {', '.join(waiting)}. The charts fill in as they go; the table "
                   "and what it says follow once every chosen run has ended.")
        return
    rows = explain.race_rows(records, names)
    # A static table: every column shows in full (a data grid cut off the last one in a narrow window).
    st.table(pd.DataFrame(rows).drop(columns=["_share", "_before", "_after"]).style.format(
        {"validation loss": "{:.3g}", "learned-nothing loss": "{:.3g}", "seconds": "{:.1f}"}, na_rep="—"))
    st.caption("Curves and ratios are the bottom layer's forward direction: the layer whose gradient must "
               "reach the inputs themselves. The ratio is ‖∂L/∂h_t‖ at step 1 over the same at step T.")
    for paragraph in explain.explain_race(records, names):
        st.markdown(paragraph)


# --- Knobs and presets --------------------------------------------------------------------------------------------

def knobs_ui() -> None:
    """What each knob does to the gradient, and presets that load into Build & Train or train here."""
    st.markdown("""
Whether gradient survives the trip back through time depends on a few settings, all in the sidebar of
**Build & Train** (under *Initialisation and clipping*):

- **Recurrent initializer and initial scale.** Backpropagation multiplies the gradient by the recurrent matrix
  W_hh (and the activation's slope) once per step. If W_hh stretches vectors (spectral radius above 1) the product
  can explode; if it shrinks them, the gradient fades. For a SimpleRNN, orthogonal and identity matrices start with
  every |eigenvalue| equal to the scale.
- **Activation.** tanh has slope at most 1 and flattens for large inputs, which damps both signal and gradient;
  relu passes positive values unchanged, so nothing reins in a recurrence that grows.
- **LSTM forget-gate bias.** The cell state is multiplied by the forget gate at each step. A large starting bias
  opens the gate near 1, so memory passes through many steps, and at initialisation so does the gradient. Training
  can change that: lesson 2 shows a case.
- **Gradient clipping (clipnorm).** Rescales a gradient that is too long before the update. It limits the damage
  one step can do; it cannot fix a forward pass that already overflows.
- **Sequence length.** Every extra step is one more factor in the product.
""")
    runs = session.runs()
    trained = st.session_state.setdefault("grad_preset_runs", {})  # preset number -> the run it trained here
    busy = session.active_job() is not None
    for number, (label, why, query) in enumerate(PRESETS):
        config = from_link(query)
        columns = st.columns([3, 1, 1])
        columns[0].markdown(f"**{label}.** {why}")
        # Code that scrolls rather than wraps: a query broken mid-word ("…&re / current_gain=2") misleads a copy.
        columns[0].code(f"?{query}", language=None, wrap_lines=False)
        if columns[1].button("Open in Build & Train", key=f"grad_open_{number}", width="stretch"):
            widgets.open_in_build_train(config)
        if columns[2].button("Train it here", key=f"grad_train_{number}", width="stretch", disabled=busy,
                             help="Busy: a run is training; stop it or let it finish first." if busy else None):
            jobs = session.start_runs([config])
            if jobs:
                trained[number] = jobs[0].run_id
                watch(jobs)
                st.rerun()
        job = runs.get(trained.get(number))
        if job is not None:  # what became of it, here where it was started (its curves are on One run)
            progress.live([job], f"grad_preset_settled_{number}",
                          lambda job=job: progress.draw_progress(job.record.snapshot(), handle=job,
                                                                 name=run_name(job)))


# --- One run ------------------------------------------------------------------------------------------------------

def one_run_ui() -> None:
    """One run's curve before and after training, its epoch-by-epoch heatmap, and the numbers behind them."""
    finished = {job.run_id: job for job in session.finished_runs()}
    if not finished:
        st.info("No finished runs yet. Train one on **Build & Train**, start the race in **The race**, or pick a "
                "preset in **Knobs and presets**.")
        st.stop()
    ids = list(finished)
    if st.session_state.get("grad_run") not in finished:
        st.session_state["grad_run"] = ids[-1]  # the newest finished run
    run_id = st.selectbox("Run", ids, key="grad_run", format_func=lambda run_id: run_name(finished[run_id]))
    job = finished[run_id]
    record = job.record.snapshot()
    if record.status in ("diverged", "failed"):
        st.error(record.message)
    elif record.status == "stopped":
        st.info(f"This run was stopped after {record.epochs_done} full epochs.")
    elif job.paused:
        st.info(f"This run is paused after epoch {pause_position(record)[0]}: its curves go to the last whole epoch, "
                "and the numbers from its weights are the weights it has now. Resume it on the page it trains on to "
                "carry on.")
    recorded = record.grad_norm_history()
    if not recorded:
        st.info("This run recorded no gradient norms. Runs started from Build & Train or this page record them.")
        st.stop()

    last = len(recorded) - 1
    if last:
        epoch = st.select_slider("Compare before training with", list(range(1, last + 1)), value=last,
                                 format_func=explain.epoch_label, key=f"grad_epoch_{run_id}")
    else:
        epoch = 0
        st.caption("No epoch finished, so only the curve before training exists.")

    chart, words = st.columns([3, 2], gap="large")
    chart.plotly_chart(gradient_plots.norm_curve_figure(record, epoch), width="stretch",
                       key=f"grad_curve_{run_id}")
    with words:
        st.markdown("**What the curve says**")
        for paragraph in explain.explain_run(record, epoch):
            st.markdown(paragraph)
        lines = curves(recorded[0])
        if len(lines) > 1:
            directions = len({direction for _, direction, _ in lines})
            st.markdown("**Every layer and direction**, " + explain.epoch_label(epoch) + ":")
            st.markdown("\n".join(
                f"- {explain.curve_label(layer, direction, directions)}: "
                f"{explain.describe_ratio(recorded[epoch][layer][direction], direction)}"
                for layer, direction, _ in lines))
        if any(direction == "backward" for _, direction, _ in lines):
            st.caption("A backward direction reads the sequence from the end, so its gradient enters at step 1 and "
                       "travels towards step T.")

    st.subheader("Epoch by epoch")
    names = [(layer, direction) for layer, direction, _ in curves(recorded[0])]
    layer, direction = names[0]
    if len(names) > 1:
        layer, direction = st.selectbox("Layer and direction", names, key=f"grad_heat_{run_id}",
                                        format_func=lambda pair: f"{pair[0]} ({pair[1]})")
    st.plotly_chart(gradient_plots.norm_heatmap(record, layer, direction), width="stretch",
                    key=f"grad_heatmap_{run_id}_{layer}_{direction}")
    st.caption("Each row is one moment of training, each column one time step; the colour is the power of ten of "
               "‖∂L/∂h_t‖. A dark left edge means little gradient reaches the first steps.")

    st.subheader("Numbers that explain the curve")
    if record.config.cell == "simplernn":
        radius_ui(job, record)
    elif record.config.cell == "lstm":
        forget_gate_ui(record, epoch)
    else:
        st.markdown("A GRU keeps memory with its update gate z_t: where z_t is near 1 the state is copied to the next "
                    "step almost unchanged, and so is the gradient. See its gates on **Inside the cell**.")


def radius_ui(job, record) -> None:
    """A SimpleRNN's spectral radius per layer and direction: where the run started and where it ended."""
    trained = spectral_radii(job.model)
    initial = initial_radii(record.config.to_dict())
    for layer_name, by_direction in trained.items():
        for direction_name, radius in by_direction.items():
            start = initial.get(layer_name, {}).get(direction_name, math.nan)
            single = len(trained) == 1 and direction_name == "forward"
            columns = st.columns([2, 3])
            columns[0].metric("Spectral radius of W_hh" + ("" if single else f" · {layer_name} ({direction_name})"),
                              "NaN" if math.isnan(radius) else f"{radius:.3f}",
                              delta=None if math.isnan(radius) or math.isnan(start) else f"{radius - start:+.3f}",
                              delta_color="off",
                              help="Largest |eigenvalue| of the recurrent matrix; the delta is the change since "
                                   "initialisation.")
            columns[1].markdown(f"At the end of the run it is {explain.describe_radius(radius)}. It started at "
                                f"{start:.3f}.")


def forget_gate_ui(record, epoch: int) -> None:
    """An LSTM's mean forget gate per epoch, and how many units keep their memory at the chosen epoch."""
    history = record.gate_history()
    series = forget_gate_by_epoch(history)
    if not series:
        return
    lines = sum(len(by_direction) for by_direction in series.values())
    st.plotly_chart(cell_plots.forget_gate_figure(series, colors=gradient_plots.line_colors(record, lines)),
                    width="stretch", key=f"grad_forget_{record.run_id}")
    shown = min(epoch, len(history) - 1)  # gates are recorded like the norms: before training, then per epoch
    units = forget_gate_units(history[shown])
    for layer_name, by_direction in series.items():
        for direction_name, values in by_direction.items():
            above, total, highest = units[layer_name][direction_name]
            st.markdown(f"- {layer_name} ({direction_name}), {explain.epoch_label(shown)}: mean forget gate "
                        f"{explain.describe_forget_gate(values[shown], record.config.seq_len)}. "
                        f"{above} of {total} units average above 0.9 (the highest {highest:.3f}).")
    st.caption("Means over every unit and step of one validation sequence: single units can sit much closer to 1 "
               "(or 0) than the mean.")

st.title("Gradients through time")
st.caption("How strongly the loss depends on the hidden state at each time step: the norm of ∂L/∂h_t on 32 "
           "validation sequences, measured before training and after every epoch. Where it falls towards zero, "
           "the error signal from the answer barely reaches those steps.")
progress_ui()
# Tabs that track their state keep the learner on the same tab when the progress panel above comes and goes.
one_tab, race_tab, knobs_tab = st.tabs(["One run", "The race", "Knobs and presets"], key="grad_tab",
                                       on_change="rerun")
with race_tab:
    race_ui()
with knobs_tab:
    knobs_ui()
with one_tab:
    one_run_ui()  # last: its guard clauses stop the script
