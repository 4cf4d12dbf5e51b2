"""How a run's progress reads on every page that trains: a progress bar while it runs, one line when it ends."""

import streamlit as st

from rnnlab.records import RunRecord


def draw_progress(record: RunRecord, items: str = "training sequences") -> None:
    """The epoch, the batch and the time left while `record` trains; its outcome in one line once it has ended.

    `items` names what the run trains on ("training sequences", "reviews"), for the speed it reports.
    """
    if record.status == "pending":  # queued behind another run of this session
        st.progress(0.0, text="Waiting for the run before it to finish")
    elif record.status == "running":
        done = record.steps_done / record.total_steps if record.total_steps else 0.0
        left = record.seconds_left()
        text = f"Epoch {min(record.epochs_done + 1, record.config.epochs)} of {record.config.epochs}"
        if record.total_steps:
            text += f" · batch {record.steps_done:,} of {record.total_steps:,}"
        text += f" · about {left:.0f} s left" if left is not None else " · preparing the data and the graph"
        st.progress(min(done, 1.0), text=text)
    elif record.status == "finished":
        st.success(f"Finished {record.epochs_done} epochs in {record.wall_seconds:.1f} s "
                   f"({record.samples_per_second:,.0f} {items} per second after the first epoch).")
    elif record.status == "stopped":
        st.info(f"Stopped after {record.epochs_done} full epochs ({record.steps_done:,} batches).")
    else:
        st.error(record.message)
