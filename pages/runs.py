"""Compare runs: every run of this session in one table, chosen runs overlaid on one chart, downloads and deletes."""

import pandas as pd
import streamlit as st

from pages import session
from rnnlab import charts

st.title("Compare runs")
st.caption("Every run you train stays here until you close the tab. Overlay several to race SimpleRNN, LSTM and "
           "GRU on one task, then download a run as JSON or its history as CSV.")

jobs = list(session.runs().values())
if not jobs:
    st.info("No runs yet: train one on **Build & Train** first.")
    st.stop()

records = [job.record.snapshot() for job in jobs]
table = pd.DataFrame([{
    "run": record.name,
    "status": record.status,
    "epochs": record.epochs_done,
    "parameters": record.params,
    "training loss": record.final("loss"),
    "validation loss": record.final("val_loss"),
    "learned-nothing loss": record.baseline_loss,
    "test loss": record.test_loss,
    "test accuracy": record.test_accuracy,
    "seconds": round(record.wall_seconds, 1),
    "sequences / s": round(record.samples_per_second) if record.samples_per_second == record.samples_per_second
    else None,
    "id": record.run_id,
} for record in records])
if table["test accuracy"].isna().all():  # regression runs only: accuracy has no meaning here
    table = table.drop(columns="test accuracy")
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})

by_id = {record.run_id: record for record in records}
tasks = sorted({record.config.task for record in records})
task = st.radio("Task", tasks, horizontal=True, key="runs_task") if len(tasks) > 1 else tasks[0]
same_task = [record for record in records if record.config.task == task]
chosen = st.multiselect("Runs to overlay", [record.run_id for record in same_task],
                        default=[record.run_id for record in same_task][-4:],
                        format_func=lambda run_id: f"{by_id[run_id].name} ({run_id})", key="runs_chosen")
metrics = ["val_loss", "loss"] + (["val_accuracy", "accuracy"] if same_task[0].is_classification else [])
controls = st.columns([2, 1])
metric = controls[0].radio("Curve", metrics, horizontal=True, key="runs_metric", format_func=charts.HISTORY_NAMES.get)
log_scale = controls[1].toggle("Log-scale axis", key="runs_log", disabled=not metric.endswith("loss"))
if chosen:
    st.plotly_chart(charts.compare_figure([by_id[run_id] for run_id in chosen], metric, log_y=log_scale),
                    width="stretch", key="runs_compare")

st.subheader("One run")
selected = st.selectbox("Run", [record.run_id for record in records], index=len(records) - 1,
                        format_func=lambda run_id: f"{by_id[run_id].name} ({run_id})", key="runs_selected")
record = by_id[selected]
if record.message:
    st.warning(record.message)
columns = st.columns(3)
columns[0].download_button("Run as JSON", record.to_json(indent=1), file_name=f"run_{record.run_id}.json",
                           mime="application/json", key="runs_json", width="stretch")
columns[1].download_button("History as CSV", record.history_frame().to_csv(index=False),
                           file_name=f"history_{record.run_id}.csv", mime="text/csv", key="runs_csv",
                           width="stretch")
if columns[2].button("Delete this run", key="runs_delete", width="stretch"):
    session.delete_run(selected)
    st.rerun()
with st.expander("Its settings"):
    st.json(record.config.to_dict())
