"""How a run's progress reads on every page that trains: a progress bar while it runs, one line when it ends."""

from typing import Callable

import streamlit as st

from pages import session
from rnnlab import explain
from rnnlab.engine.threads import TrainingJob
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


def draw_progress(record: RunRecord, items: str = "sequences") -> None:
    """The epoch, the batch within it and the time left while `record` trains; once it has ended, a verdict that
    judges it against the loss of a network that learned nothing (`rnnlab.explain.run_verdict`).

    `items` names what the run trains on ("sequences", "reviews"), for the speed it reports.
    """
    if record.status == "pending":  # queued behind another run of this session
        st.progress(0.0, text="Waiting for the run before it to finish")
    elif record.status == "running":
        st.progress(min(record.steps_done / record.total_steps, 1.0) if record.total_steps else 0.0,
                    text=progress_text(record))
    else:
        verdict = explain.run_verdict(record, items)
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[verdict.level](
            verdict.sentence)


def progress_text(record: RunRecord) -> str:
    """'Epoch 2 of 10 · batch 30 of 32 · about 12 s left': batches counted within the epoch being trained."""
    epochs, per_epoch = record.config.epochs, record.steps_per_epoch
    epoch = min(record.epochs_done + 1, epochs)
    text = f"Epoch {epoch} of {epochs}"
    if per_epoch:
        within = min(max(record.steps_done - record.epochs_done * per_epoch, 0), per_epoch)
        text += f" · batch {within:,} of {per_epoch:,}"
        if within == per_epoch:
            text += " · validating"
    left = record.seconds_left()
    return text + (f" · about {left:.0f} s left" if left is not None else " · preparing the data and the graph")
