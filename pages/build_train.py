"""Build & Train: pick a cell and a shape, press Train, watch the loss fall, then see what the network answers."""

import math

import streamlit as st

from pages import progress, session, sweep_view, widgets
from rnnlab.data import get_task
from rnnlab.export import file_name, script
from rnnlab.lab import get_lab
from rnnlab.models import validation_answers
from rnnlab.plots import runs as run_plots

st.title("Build & Train")
st.caption("Pick a task and a network in the sidebar, press **Train**, and watch it learn. Every number on this "
           "page is computed from the model being trained.")

learner = session.learner()  # from the address, or a new learner whose token goes into it
session.notices()
stored = session.stored_config()  # reads a shared link's settings on a session's first page
warning = session.pop_config_warning()
if warning:
    st.warning(warning)
config = widgets.config_ui(stored)
session.set_config(config)
sweep_view.learner_box(config)  # issue 21.3: which part of the class's sweep this is
# The address bar is always a link to these settings, and to this learner's runs.
st.query_params.from_dict({**config.to_query(), session.LEARNER_PARAM: learner.token})


def draw_metrics(record) -> None:
    columns = st.columns(4)
    columns[0].metric("Epochs done", f"{record.epochs_done} / {record.config.epochs}")
    train_loss, val_loss = record.final("loss"), record.final("val_loss")
    # Three significant digits: what a learner compares, and what fits a quarter of the column.
    columns[1].metric("Training loss", "—" if train_loss is None else f"{train_loss:.3g}")
    columns[2].metric("Validation loss", "—" if val_loss is None else f"{val_loss:.3g}",
                      help="Loss on sequences the network never trains on.")
    if record.is_classification:
        accuracy = record.final("val_accuracy")
        columns[3].metric("Validation accuracy", "—" if accuracy is None else f"{accuracy:.1%}")
    else:
        # Not known until the run's data is made (a run waiting for a worker): a dash, as for the losses.
        baseline = record.baseline_loss
        columns[3].metric("Baseline loss", "—" if math.isnan(baseline) else f"{baseline:.3g}",
                          help="The validation loss of a network that learned nothing and always answers the "
                               "average target (the dotted line). Below it, the network has learned something.")


def shown_job():
    """The run this page shows: the one just started, else the newest one."""
    runs = session.runs()
    shown = runs.get(st.session_state.get("bt_shown"))
    return shown or (list(runs.values())[-1] if runs else None)


model_column, train_column = st.columns([2, 3], gap="large")
# model.summary() and the exported code need the page's full width (in the model column only "Layer (type)" of the
# summary showed); this container comes after the columns on screen, and is filled before Train's column may stop.
below = st.container()

with model_column:
    task = get_task(config.task)
    st.markdown(f"**{task.title}.** {task.description}")
    rows = get_lab().layer_table(config)  # from the network's shapes and a capped sample, never the link's sizes
    st.metric("Trainable parameters", f"{sum(row['parameters'] for row in rows):,}")
    # A static table: every cell shows in full at any column width (a data grid cut off the output shapes).
    # Counts with thousands separators, as the metric above and model.summary() write them.
    st.table([{**{name: row[name] for name in ("layer", "kind", "output shape")}, "parameters": f"{row['parameters']:,}"}
              for row in rows])
    with st.expander("Where the parameters come from"):
        st.markdown("Each recurrent layer has an input matrix W_x (i × u), a recurrent matrix W_h (u × u) and a "
                    "bias b (u) per gate: **i** inputs per step, **u** units. The count does not depend on the "
                    "sequence length: the same weights are used at every time step.")
        st.table([{**{name: row[name] for name in ("layer", "formula", "numbers")},
                   "parameters": f"{row['parameters']:,}"} for row in rows])

with below:
    with st.expander("model.summary()"):
        st.caption("What Keras prints for this network; the layer table above is the same, layer by layer.")
        st.code(get_lab().summary(config), language=None)
    with st.expander("This network as Keras code"):
        python_tab, r_tab, notebook_tab = st.tabs(["Python", "R", "Notebook"])
        with python_tab:
            st.caption("Keras and NumPy only: the same data, the same starting weights, trained with `model.fit`.")
            python_code = script(config, "python")
            st.code(python_code, language="python")
            st.download_button("Download the script", python_code, file_name=file_name(config, "python"),
                               mime="text/x-python", key="bt_script")
        with r_tab:
            st.caption("The same network in R's keras3 package, trained with `fit`. R draws its own random numbers, "
                       "so its examples are of the same kind as these, not the very same ones.")
            try:
                r_code = script(config, "r")
            except ValueError as error:  # a task the R export does not cover yet
                st.info(str(error))
            else:
                st.code(r_code, language="r")
                st.download_button("Download the R script", r_code, file_name=file_name(config, "r"),
                                   mime="text/plain", key="bt_script_r")
        with notebook_tab:
            st.caption("The Python script as a Jupyter notebook: a note before each step, then the loss curve and "
                       "the gates of the trained network.")
            st.download_button("Download the notebook", script(config, "ipynb"), file_name=file_name(config, "ipynb"),
                               mime="application/x-ipynb+json", key="bt_script_ipynb")

with train_column:
    estimate, verdict = session.plan(config)
    refused = verdict.level == "refuse"
    buttons = st.columns([1, 1, 2])
    active = progress.train_button(buttons[0], "bt_train", "bt_shown", config,
                                   off="These settings do not fit this server: change what the sentence below "
                                       "names." if refused else None)
    if buttons[1].button("Stop", disabled=active is None, width="stretch", key="bt_stop"):
        session.stop_all()
    log_scale = widgets.kept(buttons[2].toggle, "Log-scale loss axis", key="bt_log", default=False)
    progress.draw_cost(estimate, verdict)

    job = shown_job()
    if job is None:
        st.info("Train is off until these settings fit: the sentence above names what to change." if refused else
                "Press **Train** to train this network. The loss curve appears as soon as the first batches are "
                "done.")
        # The task before the run: a few of its sequences, and what the network must answer for each. (Drawn
        # here, the chart also loads the browser's Plotly code before the first press: a tab that first met
        # Plotly in its loss chart drew the first point about 0.8 s later; README, issue 19.)
        st.plotly_chart(run_plots.examples_figure(get_lab().examples(config)), width="stretch", key="bt_examples")
        st.caption(f"Made by the same generator as this run's data, from its seed and sequence length. The run "
                   f"trains on {config.samples:,} such sequences and measures its validation loss on "
                   f"{config.eval_samples:,} others.")
        st.stop()
    if job.config != config:
        # The sidebar has moved on since this run started: say whose curve this is, so no number is misread.
        then = ("Train the sidebar's network once it has ended." if job.running else
                "Train is off until the sidebar's settings fit." if refused else
                "Press **Train** to train the sidebar's network.")
        st.info(f"Below is your {'run' if job.running else 'last run'}, **{session.names()[job.run_id]}**, trained "
                f"with other settings than the sidebar's. {then}")

    def live_panel() -> None:
        record = job.record.snapshot()
        st.markdown(f"**{session.names().get(record.run_id, record.name)}**")
        progress.pause_controls(job, "bt")
        progress.draw_progress(record, get_task(record.config.task).items, job)
        draw_metrics(record)
        st.plotly_chart(run_plots.loss_figure([record], log_y=log_scale), width="stretch",
                        key=f"bt_loss_{record.run_id}")
        if record.is_classification:
            st.plotly_chart(run_plots.accuracy_figure([record]), width="stretch",
                            key=f"bt_accuracy_{record.run_id}")

    progress.live([job], "bt_settled", live_panel)  # then the answers below appear

    if job.done and job.model is not None and job.record.epochs_done:
        st.subheader("What the network answers")
        predictions = session.cached("bt_predictions", job.run_id,
                                     lambda: validation_answers(job.model, job.dataset))
        st.plotly_chart(run_plots.predictions_figure(job.dataset, predictions), width="stretch",
                        key=f"bt_predictions_{job.run_id}")
        st.caption("Validation sequences: the network never trained on them. Compare runs, inspect the gates, or "
                   "follow the gradients through time from the pages on the left.")
