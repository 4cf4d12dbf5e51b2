"""How a run's progress reads on every page that trains: a progress bar while it runs, one line when it ends."""

from typing import Callable

import streamlit as st

from pages import session
from rnnlab.jobs import TrainingJob
from rnnlab.records import RunRecord


def live(jobs: list[TrainingJob], settled_key: str, draw: Callable[[], None],
         on_settled: Callable[[], None] | None = None) -> None:
    """Call `draw()` now, and again every poll while any of `jobs` trains or waits to; once all have ended, call
    `on_settled()` and redraw the whole page once, so what needs the finished runs appears and polling stops.

    `settled_key` (a session-state key with the page's prefix) remembers which runs that final redraw was for.
    """
    @st.fragment(run_every=session.POLL_SECONDS if any(job.running for job in jobs) else None)
    def panel() -> None:
        draw()
        ids = [job.run_id for job in jobs]
        if all(job.done for job in jobs) and st.session_state.get(settled_key) != ids:
            st.session_state[settled_key] = ids
            if on_settled is not None:
                on_settled()
            st.rerun()

    panel()


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
