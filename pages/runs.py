"""Compare runs: every run of this learner in one table, chosen runs overlaid on one chart, downloads, uploads and
deletes."""

import math
import os

import pandas as pd
import streamlit as st

from pages import session
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
    """A run downloaded from here (its JSON, and optionally its .keras model) back among the learner's runs."""
    with st.expander("Upload a run"):
        files = st.file_uploader("A run's JSON (run_….json), and its model (run_….keras) if you have it",
                                 type=["json", "keras"], accept_multiple_files=True, key="runs_upload")
        if files and st.button("Add to my runs", key="runs_upload_add"):
            runs = [file for file in files if file.name.lower().endswith(".json")]
            models = {os.path.splitext(file.name)[0]: file for file in files if file.name.lower().endswith(".keras")}
            if not runs:
                st.error("Upload the run's JSON too: a model alone does not say how it was trained.")
                return
            for file in runs:
                model = models.get(os.path.splitext(file.name)[0])
                try:
                    record = get_lab().upload_run(session.token(), file.getvalue(),
                                                  model.getvalue() if model else None,
                                                  model.name if model else "model.keras")
                    st.success(f"Added **{record.name}**" + (" with its model." if model else "."))
                except UploadError as error:
                    st.error(f"{file.name}: {error}")


deleted = session.last_deleted()
if deleted is not None:
    note, undo = st.columns([4, 1])
    note.info(f"Deleted **{deleted[1]}**.")
    if undo.button("Undo", key="runs_undo", width="stretch"):
        session.undo_delete()
        st.rerun()

jobs = list(session.runs().values())
if not jobs:
    st.info("No runs yet: train one on **Build & Train** first, or upload one.")
    upload_ui()
    st.stop()

records = [job.record.snapshot() for job in jobs]
names = session.names()


def number(value) -> float | None:
    """A table cell: the value, or empty (never the word "None") when there is none or it is not a number."""
    return value if value is not None and math.isfinite(value) else None


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
    "sequences / s": number(round(record.samples_per_second) if math.isfinite(record.samples_per_second)
                            else None),
} for record in records])
if table["test accuracy"].isna().all():  # regression runs only: accuracy has no meaning here
    table = table.drop(columns="test accuracy")
if table["validation perplexity"].isna().all():  # only text runs have a perplexity
    table = table.drop(columns="validation perplexity")
losses = st.column_config.NumberColumn(format="%.4g", width="small")
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "run": st.column_config.TextColumn(width="large"),
    "status": st.column_config.TextColumn(width="small"),
    "epochs": st.column_config.NumberColumn(width="small"),
    "parameters": st.column_config.NumberColumn(format="localized", width="small"),
    "training loss": losses, "validation loss": losses, "learned-nothing loss": losses, "test loss": losses,
    "test accuracy": st.column_config.NumberColumn(format="percent", width="small"),
    "validation perplexity": st.column_config.NumberColumn(format="%.3g", width="small"),
    "seconds": st.column_config.NumberColumn(format="%.1f", width="small"),
    "sequences / s": st.column_config.NumberColumn(format="localized", width="small"),
})

by_id = {record.run_id: record for record in records}
tasks = sorted({record.config.task for record in records})
task = st.radio("Task", tasks, horizontal=True, key="runs_task") if len(tasks) > 1 else tasks[0]
same_task = [record for record in records if record.config.task == task]
chosen = st.multiselect("Runs to overlay", [record.run_id for record in same_task],
                        default=[record.run_id for record in same_task][-4:],
                        format_func=lambda run_id: names[run_id], key="runs_chosen")
metrics = ["val_loss", "loss"] + (["val_accuracy", "accuracy"] if same_task[0].is_classification else []) + \
    [key for key in ("val_perplexity", "perplexity") if any(key in record.history for record in same_task)]
controls = st.columns([2, 1])
metric = controls[0].radio("Curve", metrics, horizontal=True, key="runs_metric",
                           format_func=run_plots.HISTORY_NAMES.get)
log_scale = controls[1].toggle("Log-scale axis", key="runs_log", disabled=not metric.endswith("loss"))
if chosen:
    overlaid = [by_id[run_id] for run_id in chosen]
    st.plotly_chart(run_plots.compare_figure(overlaid, metric, log_y=log_scale), width="stretch",
                    key="runs_compare")
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
model_file = get_lab().store.model_path(record.run_id)
if os.path.isfile(model_file):
    with open(model_file, "rb") as handle:
        columns[2].download_button("Model as .keras", handle.read(), file_name=f"run_{record.run_id}.keras",
                                   mime="application/octet-stream", key="runs_model", width="stretch",
                                   help="Keras's own file: keras.saving.load_model(path) in any Keras 3.")
else:
    columns[2].button("Model as .keras", disabled=True, key="runs_model", width="stretch",
                      help="This run has no saved model (it is still training, or ended without weights).")
if columns[3].button("Delete this run", key="runs_delete", width="stretch",
                     help="You can undo this until you delete another run."):
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
