"""The learner's session: their runs, the run training now, and the configuration they are editing.

Every page reads and writes session state through these functions, so the keys live in one place. Runs are
`rnnlab.jobs.TrainingJob`s kept in this session only: three learners in three tabs never see each other's runs.
Training happens on the job's own thread, so it carries on across clicks and page switches.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import streamlit as st

from rnnlab.config import RunConfig, from_link
from rnnlab.jobs import TrainingJob

# Every run keeps its model and data in memory; past this many the learner is asked to delete some.
MAX_RUNS = 24
# How often a page redraws a run that is training. Each redraw is a Streamlit rerun in this process, which shares
# the GIL and the two cores with the training thread: measured with Chromium drawing the page
# (benchmarks/bench_app.py), a 1 s poll kept training at 0.98x bare Keras and a 0.5 s poll at 0.75x.
# A teacher can change it with the environment variable RNNLAB_POLL_SECONDS.
POLL_SECONDS = float(os.environ.get("RNNLAB_POLL_SECONDS", "1.0"))


def runs() -> dict[str, TrainingJob]:
    """This session's runs by id, oldest first."""
    if "runs" not in st.session_state:
        st.session_state["runs"] = {}
    return st.session_state["runs"]


def active_jobs() -> list[TrainingJob]:
    """Runs training now or queued to train next (a session trains one run at a time)."""
    return [job for job in runs().values() if job.running]


def active_job() -> TrainingJob | None:
    """The first run that is training or queued, if any."""
    return next(iter(active_jobs()), None)


def start_runs(configs: list[RunConfig], dataset=None) -> list[TrainingJob]:
    """Queue `configs` to train one after another in the background; [] (with a message) if they cannot start.

    Every run records its probes (gates of one validation sequence, gradient norms of a validation batch) before
    training and after each epoch, for the Inside the cell and Gradients pages.
    """
    if active_job() is not None:
        st.warning("A run is already training; stop it or let it finish first.")
        return []
    if len(runs()) + len(configs) > MAX_RUNS:
        st.warning(f"This session holds at most {MAX_RUNS} runs; delete some on **Compare runs** first.")
        return []
    jobs, previous = [], None
    for config in configs:
        previous = TrainingJob(config, dataset, after=previous, record_grad_norms=True, record_gates=True).start()
        runs()[previous.run_id] = previous
        jobs.append(previous)
    return jobs


def start_run(config: RunConfig, dataset=None) -> TrainingJob | None:
    """Start training `config` in the background; None (with a message on screen) if it cannot start now."""
    jobs = start_runs([config], dataset)
    return jobs[0] if jobs else None


def stop_all() -> None:
    """Stop the run training now and every run queued after it."""
    for job in active_jobs():
        job.stop()


def delete_run(run_id: str) -> None:
    job = runs().pop(run_id, None)
    if job is not None:
        job.stop()


def finished_runs(task: str | None = None) -> list[TrainingJob]:
    """Runs that have ended (finished, stopped or diverged) with a model, optionally of one task only."""
    return [job for job in runs().values()
            if job.done and job.model is not None and (task is None or job.config.task == task)]


def cached(store: str, key, compute: Callable[[], Any], limit: int = 8, spinner: str | None = None) -> Any:
    """`compute()` once per key, kept in this learner's session under `store`, the newest `limit` results only.

    For what belongs to one learner's runs or data (predictions, traces, loaded reviews): `st.cache_data` would
    share it between sessions, and an unbounded dict would keep results of deleted runs for the session's life.
    """
    cache = st.session_state.setdefault(store, {})
    if key not in cache:
        if spinner:
            with st.spinner(spinner):
                cache[key] = compute()
        else:
            cache[key] = compute()
        while len(cache) > limit:
            cache.pop(next(iter(cache)))  # the oldest entry
    return cache[key]


def current_config() -> RunConfig:
    """The configuration the learner is editing; on a session's first page it comes from the URL, if any.

    A teacher can hand out a link such as `?task=adding&cell=simplernn&seq_len=50`; settings the link does not
    give take the task's own defaults. A link with a bad value gets a one-line warning and the defaults.
    """
    if "config" not in st.session_state:
        try:
            st.session_state["config"] = from_link(st.query_params.to_dict())
        except ValueError as error:
            st.session_state["config"] = RunConfig()
            st.session_state["config_warning"] = f"The link's settings were not used: {error}"
    return st.session_state["config"]


def set_config(config: RunConfig) -> None:
    st.session_state["config"] = config


def pop_config_warning() -> str | None:
    return st.session_state.pop("config_warning", None)
