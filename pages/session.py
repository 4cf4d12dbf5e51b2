"""The learner's session: their runs, the run training now, and the configuration they are editing.

Every page reads and writes session state through these functions, so the keys live in one place. Runs are
`rnnlab.jobs.TrainingJob`s kept in this session only: three learners in three tabs never see each other's runs.
Training happens on the job's own thread, so it carries on across clicks and page switches.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any, Callable

import streamlit as st

from rnnlab.config import RunConfig, read_link
from rnnlab.engine.threads import TrainingJob
from rnnlab.records import distinct_names

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
    """Remove a run from the session, keeping it aside so `undo_delete` can bring it back (the last one only)."""
    job = runs().pop(run_id, None)
    if job is not None:
        job.stop()
        st.session_state["deleted_run"] = job


def undo_delete() -> TrainingJob | None:
    """Put the last deleted run back where it was in the order of runs; None if there is none to restore."""
    job = st.session_state.pop("deleted_run", None)
    if job is not None:
        ordered = sorted([*runs().values(), job], key=lambda each: each.record.created)
        runs().clear()
        runs().update({each.run_id: each for each in ordered})
    return job


def last_deleted() -> TrainingJob | None:
    return st.session_state.get("deleted_run")


def names() -> dict[str, str]:
    """A name per run of this session that tells it apart from the others (`rnnlab.records.distinct_names`)."""
    return distinct_names([job.record for job in runs().values()])


def finished_runs(task: str | None = None) -> list[TrainingJob]:
    """Runs that have ended (finished, stopped or diverged) with a model, optionally of one task only."""
    return [job for job in runs().values()
            if job.done and job.model is not None and (task is None or job.config.task == task)]


class _Failed:
    """A remembered failure: `cached` raises the same exception again instead of computing again."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def cached(store: str, key, compute: Callable[[], Any], limit: int = 8, spinner: str | None = None,
           remember: tuple[type[Exception], ...] = ()) -> Any:
    """`compute()` once per key, kept in this learner's session under `store`, the newest `limit` results only.

    For what belongs to one learner's runs or data (predictions, traces, loaded reviews): `st.cache_data` would
    share it between sessions, and an unbounded dict would keep results of deleted runs for the session's life.
    An exception of a `remember` type is kept too and raised again on the next call with the same key, so a
    learner offline is not made to wait for a failing download at every click; the page catches it and shows its
    sentence. `forget(store, key)` clears one entry, for "try again".
    """
    cache = st.session_state.setdefault(store, {})
    if key not in cache:
        try:
            if spinner:
                with st.spinner(spinner):
                    cache[key] = compute()
            else:
                cache[key] = compute()
        except remember as error:
            cache[key] = _Failed(error)
        while len(cache) > limit:
            cache.pop(next(iter(cache)))  # the oldest entry
    value = cache[key]
    if isinstance(value, _Failed):
        raise value.error
    return value


def forget(store: str, key) -> None:
    st.session_state.get(store, {}).pop(key, None)


def current_config() -> RunConfig:
    """The configuration the learner is editing; on a session's first page it comes from the URL, if any.

    A teacher can hand out a link such as `?task=adding&cell=simplernn&seq_len=50`; settings the link does not
    give take the task's own defaults. A bad value costs only itself: the link's other settings are used, and a
    warning names every bad one.
    """
    if "config" not in st.session_state:
        config, errors = read_link(st.query_params.to_dict())
        st.session_state["config"] = config
        if errors:
            st.session_state["config_warning"] = ("Some of the link's settings were not used, and their defaults "
                                                  "stand in: " + " ".join(errors))
    return st.session_state["config"]


def link_to(page: str, query: dict[str, str], here: str) -> str:
    """A full link a learner can share: this app's address, `page` ("" for Build & Train, "runs", ...), `query`.

    `here` is the URL path of the page asking ("lessons"), which the browser's address ends with. Where the address
    is unknown (tests without a browser) the link is relative.
    """
    url = st.context.url
    query_text = urllib.parse.urlencode(query)
    if not url:
        return f"/{page}?{query_text}"
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if here and path.endswith("/" + here):  # drop the asking page's own name from the address
        path = path[: -len(here) - 1]
    path = f"{path}/{page}" if page else f"{path}/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query_text, ""))


def set_config(config: RunConfig) -> None:
    st.session_state["config"] = config


def pop_config_warning() -> str | None:
    return st.session_state.pop("config_warning", None)
