"""Compare runs: every run of this learner in one table, chosen runs overlaid on one chart, downloads, uploads and
deletes."""

import math

import pandas as pd
import streamlit as st

from pages import session, widgets
from rnnlab import tensorboard
from rnnlab.data.files import display_settings
from rnnlab.lab import UploadError, get_lab
from rnnlab.plots import runs as run_plots

st.title("Compare runs")
st.caption("Every run you train is kept on this server under your link (the address bar): a reload, a new tab "
           "with the same link or a server restart brings them back. Overlay several to race SimpleRNN, LSTM and "
           "GRU on one task; download a run as JSON, its history as CSV and its model as .keras, and upload them "
           "again later.")
session.learner()
session.notices()


def upload_ui() -> None:
    """A run downloaded from here (its JSON, and optionally its .keras model) back among the learner's runs; the
    files are paired and checked by the lab (`Lab.upload_runs`), and the page redrawn with what was added."""
    for added, sentence in st.session_state.pop("runs_upload_results", []):  # outside the expander: seen at once
        (st.success if added else st.error)(sentence)
    with st.expander("Upload a run"):
        files = st.file_uploader("A run's JSON (run_….json), and its model (run_….keras) if you have it",
                                 type=["json", "keras"], accept_multiple_files=True, key="runs_upload")
        if files and st.button("Add to my runs", key="runs_upload_add"):
            try:
                results = get_lab().upload_runs(session.token(), [(file.name, file.getvalue()) for file in files])
            except UploadError as error:
                st.error(str(error))
                return
            # Shown after the redraw, which puts the new runs in the table and the overlay.
            st.session_state["runs_upload_results"] = [(record is not None, sentence)
                                                       for _, record, sentence in results]
            if any(record is not None for _, record, _ in results):
                st.rerun()
            for added, sentence in st.session_state.pop("runs_upload_results", []):  # nothing added: no redraw
                (st.success if added else st.error)(sentence)


deleted = session.last_deleted()
if deleted is not None:
    note, undo = st.columns([4, 1])
    # The name the learner saw in the table ("… #3"), not the run's bare name that several runs share.
    note.info(f"Deleted **{st.session_state.get('runs_deleted_as', {}).get(deleted[0], deleted[1])}**.")
    if undo.button("Undo", key="runs_undo", width="stretch"):
        session.undo_delete()
        # Back in the overlay too, where it was before the delete.
        st.session_state["runs_chosen"] = st.session_state.pop("runs_chosen_before_delete", [deleted[0]])
        st.rerun()

jobs = list(session.runs().values())
if not jobs:
    st.info("No runs yet: train one on **Build & Train** first, or upload one.")
    upload_ui()
    st.stop()

records = [job.record.snapshot() for job in jobs]
names = session.names()


def number(value) -> float:
    """A table cell: the value, or NaN (drawn as "—", never "None") when there is none or it is not finite."""
    return float(value) if value is not None and math.isfinite(value) else math.nan


table = pd.DataFrame([{
    "run": names[record.run_id],
    "status": record.status,
    "epochs": record.epochs_done,
    "parameters": record.params,
    "training loss": number(record.final("loss")),
    "validation loss": number(record.final("val_loss")),
    "learned-nothing loss": number(record.baseline_loss),
    "test loss": number(record.test_loss),
    "test accuracy": number(record.test_accuracy),
    "validation perplexity": number(record.final("val_perplexity")),
    "seconds": round(record.wall_seconds, 1),
    "sequences / s": number(record.samples_per_second),
} for record in records])
if table["test accuracy"].isna().all():  # regression runs only: accuracy has no meaning here
    table = table.drop(columns="test accuracy")
if table["validation perplexity"].isna().all():  # only text runs have a perplexity
    table = table.drop(columns="validation perplexity")
# A static table, not a data grid: its headers wrap and every column shows in full in a 1,400 px window (the grid
# cut "training loss" to "training los" and pushed the last two columns out of sight).
formats = {"parameters": "{:,}", "training loss": "{:.4g}", "validation loss": "{:.4g}",
           "learned-nothing loss": "{:.4g}", "test loss": "{:.4g}", "test accuracy": "{:.1%}",
           "validation perplexity": "{:.3g}", "seconds": "{:.1f}", "sequences / s": "{:,.0f}"}
st.table(table.style.format({column: style for column, style in formats.items() if column in table.columns},
                            na_rep="—"))

by_id = {record.run_id: record for record in records}
tasks = sorted({record.config.task for record in records})
task = st.radio("Task", tasks, horizontal=True, key="runs_task") if len(tasks) > 1 else tasks[0]
same_task = [record for record in records if record.config.task == task]
if [run_id for run_id in st.session_state.get("runs_chosen", []) if run_id not in by_id]:
    st.session_state.pop("runs_chosen")  # a chosen run was deleted
chosen = st.multiselect("Runs to overlay", [record.run_id for record in same_task],
                        # Seeded once; after that the widget's own state (an undo puts a run back into it).
                        default=None if "runs_chosen" in st.session_state else
                        [record.run_id for record in same_task][-4:],
                        format_func=lambda run_id: names[run_id], key="runs_chosen")
metrics = ["val_loss", "loss"] + (["val_accuracy", "accuracy"] if same_task[0].is_classification else []) + \
    [key for key in ("val_perplexity", "perplexity") if any(key in record.history for record in same_task)]
controls = st.columns([2, 1])
metric = controls[0].radio("Curve", metrics, horizontal=True, key="runs_metric",
                           format_func=run_plots.HISTORY_NAMES.get)
log_scale = controls[1].toggle("Log-scale axis", key="runs_log", disabled=not metric.endswith("loss"))
smoothing, by_seed, band = widgets.curve_controls("runs")
if chosen:
    overlaid = [by_id[run_id] for run_id in chosen]
    st.plotly_chart(run_plots.compare_figure(overlaid, metric, log_y=log_scale, names=names, smoothing=smoothing,
                                             by_seed=by_seed, band=band), width="stretch", key="runs_compare")
    for record in run_plots.not_drawn(overlaid, metric):
        st.caption(f"**{names[record.run_id]}** is not drawn: it has no finite {run_plots.HISTORY_NAMES[metric]} "
                   f"({record.message or record.status}).")

st.subheader("One run")
selected = st.selectbox("Run", [record.run_id for record in records], index=len(records) - 1,
                        format_func=lambda run_id: names[run_id], key="runs_selected")
record = by_id[selected]
if record.message:
    st.warning(record.message)
columns = st.columns(4)
columns[0].download_button("Run as JSON", record.to_json(indent=1), file_name=f"run_{record.run_id}.json",
                           mime="application/json", key="runs_json", width="stretch")
columns[1].download_button("History as CSV", record.history_frame().to_csv(index=False),
                           file_name=f"history_{record.run_id}.csv", mime="text/csv", key="runs_csv",
                           width="stretch")
model_file = get_lab().model_file(session.token(), record.run_id)
if model_file is not None:
    columns[2].download_button("Model as .keras", model_file, file_name=f"run_{record.run_id}.keras",
                               mime="application/octet-stream", key="runs_model", width="stretch",
                               help="Keras's own file: keras.saving.load_model(path) in any Keras 3.")
else:
    columns[2].button("Model as .keras", disabled=True, key="runs_model", width="stretch",
                      help="This run has no saved model (it is still training, or ended without weights).")
if columns[3].button("Delete this run", key="runs_delete", width="stretch",
                     help="You can undo this until you delete another run."):
    st.session_state["runs_deleted_as"] = {selected: names[selected]}
    st.session_state["runs_chosen_before_delete"] = list(chosen)
    session.delete_run(selected)
    st.rerun()
st.download_button("Logs for TensorBoard (.zip)",  # made on click: the stored record, with its probes
                   lambda: tensorboard.zip_logs(get_lab().store.run(selected) or record),
                   file_name=tensorboard.zip_name(record), mime="application/zip", key="runs_tensorboard",
                   help="Unzip into a folder and run tensorboard --logdir on it: the losses per epoch, the "
                        "gradient norms over time and each gate's saturation.")
with st.expander("Its settings"):
    st.json(display_settings(record.config))
upload_ui()
