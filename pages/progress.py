"""How a run's progress reads on every page that trains: a progress bar while it runs, one line when it ends."""

import time
from typing import Callable

import streamlit as st

from pages import interrupts, session
from rnnlab import explain, settings
from rnnlab.engine.base import RunHandle
from rnnlab.engine.startup import state_sentence
from rnnlab.pausing import paused_text
from rnnlab.records import RunRecord


# While a run has no loss point yet, its panel's timer ticks this often, and each rerun it causes draws the panel
# and then waits on the server for the first point (`wait_for_news`), up to POLL_SECONDS: the timer's requests
# meanwhile only queue, so the panel still reruns about once a second, but it draws the first point about 25 ms
# after the server has it instead of up to a poll later (issue 19). Waiting costs the server no CPU; polling this
# often did: on the two-core machine three tabs each rerunning every 0.15 s before their first points (server,
# workers and Chromium on the same cores) saw them after 13.3 s against 7.5 s at 1 s (one round each), which is why
# that was kept to a learner alone on the server until 2026-12-06.
STARTING_TICK_SECONDS = 0.15
# How often a waiting panel looks at its runs and at the learner's requests.
NEWS_CHECK_SECONDS = 0.025


def awaiting_first_point(jobs: list[RunHandle]) -> bool:
    """No run of `jobs` has a loss point yet, and one of them is training or waiting for a worker."""
    return not any(job.record.steps_done for job in jobs) and any(job.running for job in jobs)


def news(jobs: list[RunHandle]) -> tuple:
    """What a panel waiting for a first point redraws for: a run's status, its first point, its end, its place in
    the queue, the engine's workers starting."""
    state = session.engine_state()
    return tuple((job.record.status, bool(job.record.steps_done), job.done, job.queue_position)
                 for job in jobs) + (state.ready, state.starting)


def wait_for_news(jobs: list[RunHandle], seconds: float, asked: Callable[[], bool] = interrupts.learner_asked,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Wait up to `seconds` for `news(jobs)` to change; True if it did. Ends early, returning False, as soon as
    `asked()`: the learner has pressed something, which must not wait behind this panel."""
    before, deadline = news(jobs), clock() + seconds
    while clock() < deadline:
        if news(jobs) != before:
            return True
        if asked():
            return False
        sleep(NEWS_CHECK_SECONDS)
    return news(jobs) != before


def live(jobs: list[RunHandle], settled_key: str, draw: Callable[[], None],
         on_settled: Callable[[], None] | None = None) -> None:
    """Call `draw()` now, and again every poll while any of `jobs` trains or waits to; once all have ended, call
    `on_settled()` and redraw the whole page once, so what needs the finished runs appears and polling stops.
    Before the first loss point, each rerun of the panel waits for news instead (`wait_for_news`).

    `settled_key` (a session-state key with the page's prefix) remembers which runs that final redraw was for.
    """
    starting = awaiting_first_point(jobs)
    every = (STARTING_TICK_SECONDS if starting else session.POLL_SECONDS) if any(job.running for job in jobs) else None

    @st.fragment(run_every=every)
    def panel() -> None:
        draw()
        ids = [job.run_id for job in jobs]
        if (starting and awaiting_first_point(jobs) and interrupts.in_fragment_rerun()
                and wait_for_news(jobs, session.POLL_SECONDS) and not all(job.done for job in jobs)):
            st.rerun(scope="fragment")  # draw the news now (once all have ended, the page is redrawn below)
        if awaiting_first_point(jobs) != starting and not all(job.done for job in jobs):
            st.rerun()  # the first point is drawn: once more from the top, to poll at the usual rate
        paused = [job.run_id for job in jobs if job.paused]  # a pause shows the paused network below: redraw
        if st.session_state.setdefault(f"{settled_key}_paused", paused) != paused:
            st.session_state[f"{settled_key}_paused"] = paused
            st.rerun()
        if all(job.done for job in jobs) and st.session_state.get(settled_key) != ids:
            st.session_state[settled_key] = ids
            if on_settled is not None:
                on_settled()
            st.rerun()

    panel()


def train_button(container, key: str, shown_key: str, config, dataset=None, off: str | None = None):
    """The Train button in `container`, and the run it starts; returns the run training or waiting, if any.

    A click is read from session state before the button is drawn, so its run has started when the button is drawn
    and the button is off in the very redraw the click caused, with the reason in its help. (Drawn first, Train
    looked enabled while its run trained, and further clicks were ignored without a word.) `off` is another reason
    the run cannot start (no data chosen, settings that do not fit); `shown_key` remembers the run started here.
    """
    active = session.active_job()
    if st.session_state.get(key) and active is None and off is None:
        active = session.start_run(config, dataset)
        if active is not None:
            st.session_state[shown_key] = active.run_id
    why = "A run is training: stop it, or wait for it to end." if active is not None else off
    container.button("Train", type="primary", disabled=why is not None, width="stretch", key=key, help=why)
    return active


def draw_progress(record: RunRecord, items: str = "sequences", handle=None, name: str | None = None) -> None:
    """The epoch, the batch within it and the time left while `record` trains; once it has ended, a verdict that
    judges it against the loss of a network that learned nothing (`rnnlab.explain.run_verdict`).

    `items` names what the run trains on ("sequences", "reviews"), for the speed it reports; `name`, where several
    runs are shown together (a race), opens each line with the run's name.
    """
    prefix = f"{name}: " if name else ""
    if record.status == "pending":
        st.progress(0.0, text=prefix + (waiting_text(handle) if handle is not None else "Waiting to train"))
    elif record.paused:
        st.progress(min(record.steps_done / record.total_steps, 1.0) if record.total_steps else 0.0,
                    text=prefix + paused_text(record))
    elif record.status == "running":
        st.progress(min(record.steps_done / record.total_steps, 1.0) if record.total_steps else 0.0,
                    text=prefix + progress_text(record))
    else:
        verdict = explain.run_verdict(record, items)
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[verdict.level](
            (f"**{name}**: " if name else "") + verdict.sentence)


def pause_controls(job, key: str) -> None:
    """Pause, Step and Resume for `job` while it trains (issue 21), and what a pause means for its worker.

    `key` is the page's prefix. A press is read from session state before the buttons are drawn (as Train's is), so
    the buttons drawn after it already say what it did; the worker holds at its next batch boundary.
    """
    if job is None or job.done or job.record.status != "running":
        return
    for what in ("pause", "step", "resume"):
        if st.session_state.get(f"{key}_{what}"):
            if session.press(job, what):
                st.session_state[f"{key}_pressed"] = (job.run_id, what)
    pressed = st.session_state.get(f"{key}_pressed")
    last = pressed[1] if pressed and pressed[0] == job.run_id else None
    paused = job.paused
    columns = st.columns(3)
    columns[0].button("Pause", key=f"{key}_pause", width="stretch", disabled=paused or last == "pause",
                      help="Hold the run at the next batch boundary, to look inside the network as it is now "
                           "(Inside the cell, Gradients through time, Next word).")
    columns[1].button("Step", key=f"{key}_step", width="stretch", disabled=not paused,
                      help="Train exactly one more epoch, then pause again.")
    columns[2].button("Resume", key=f"{key}_resume", width="stretch", disabled=not paused,
                      help="Carry on training from where it paused.")
    if paused:
        minutes = settings.current().max_pause_minutes
        st.caption(f"Paused: it keeps its worker until you resume or stop it. Inside the cell, Gradients through time "
                   f"and Next word look inside the network as it is now. A run paused for more than {minutes:g} "
                   "minutes is stopped, so a forgotten tab cannot hold a worker.")
    elif last == "pause":
        st.caption("Pausing at the next batch boundary…")
    elif last == "step":
        st.caption("Training one more epoch, then pausing again…")


def waiting_text(handle) -> str:
    """Why a run has not started: its place in the queue for a worker and about how long it waits (only when that
    is computed: `rnnlab.engine.queueing`), the workers still starting, or the learner's run it waits for."""
    if handle.waiting_for is not None:
        return f"Waiting for your run before it, {handle.waiting_for.record.name}, to finish"
    position = handle.queue_position
    state = session.engine_state()
    if position is not None:
        ahead = position - 1
        place = (f"place {position} in the queue, {ahead} run{'' if ahead == 1 else 's'} ahead"
                 if ahead else "this run is next")
        if state.starting:
            return (f"Waiting for the training workers to start ({state.ready} of {state.wanted} ready): "
                    f"{place}")
        wait = getattr(handle, "wait_seconds", None)
        return (f"Waiting for a free worker: {place}" +
                (f" · about {wait:.0f} s" if wait is not None else " · until a run training now ends"))
    return "Starting: preparing a worker for this run"


def draw_engine_state() -> None:
    """While the server's training workers start: "Starting the training workers: 1 of 3 ready.", redrawn every
    second; once they are all ready, the page is redrawn once without it (so nothing polls for it any more)."""
    if not session.engine_state().starting:
        return

    @st.fragment(run_every=1.0)
    def note() -> None:
        sentence = state_sentence(session.engine_state())
        if not sentence:
            st.rerun()
        st.caption(sentence + " A run pressed now waits in the queue and starts on the first worker ready.")

    note()


def draw_cost(estimate, verdict) -> None:
    """What a run will cost, beside its Train button, and a warning or the refusal when it is too big; while the
    workers start, how many are ready."""
    draw_engine_state()
    st.caption(f"This run needs {estimate.summary()} on this server's workers.",
               help="Estimated before training from the settings: the weights, the optimizer's copies, what "
                    "backpropagation through time keeps for every step, the data and TensorFlow itself "
                    "(rnnlab/budget.py). Time is for a worker with nothing else to do. Runs on this server train "
                    f"on {session.engine_description()}.")
    if verdict.level == "warn":
        st.warning(verdict.sentence)
    elif verdict.level == "refuse":
        st.error(verdict.sentence)


def progress_text(record: RunRecord) -> str:
    """'Epoch 2 of 10 · batch 30 of 32 · about 12 s left': batches counted within the epoch being trained, from the
    first one that has run ('Epoch 3 of 10 done · starting epoch 4' between epochs, never "batch 0")."""
    epochs, per_epoch = record.config.epochs, record.steps_per_epoch
    epoch = min(record.epochs_done + 1, epochs)
    text = f"Epoch {epoch} of {epochs}"
    if per_epoch:
        within = min(max(record.steps_done - record.epochs_done * per_epoch, 0), per_epoch)
        if within == 0 and record.epochs_done:  # between epochs: no batch of the next one has run yet
            text = f"Epoch {record.epochs_done} of {epochs} done · starting epoch {epoch}"
        elif within:  # before the first batch there is no batch to count, only the preparing below
            text += f" · batch {within:,} of {per_epoch:,}"
        if within == per_epoch:
            text += " · validating"
    left = record.seconds_left()
    return text + (f" · about {left:.0f} s left" if left is not None else " · preparing the data and the graph")
