"""The learner's session: who they are, their runs, and the configuration they are editing.

A learner is a token in the address (`?learner=…`), made on their first visit and kept in every link the app writes,
so a reload, a new tab with the same link, or a server restart finds the same learner. Their runs are kept by the
server's lab (`rnnlab.lab`): trained on the engine's workers, saved in the store as they train, reattached to the
page while they still train. Two learners never see each other's runs. A link may also carry `?join=…` (a class's
join link): the learner joins that class on opening it.

Every page reads and writes session state through these functions, so the keys live in one place.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Callable

import streamlit as st

from rnnlab import settings
from rnnlab import sweep as sweeps
from rnnlab.config import RunConfig, defaults_for_task, read_link
from rnnlab.lab import BudgetError, get_lab
from rnnlab.records import distinct_names
from rnnlab.store import Learner, StoreError
from rnnlab.text_safety import markdown_literal

LEARNER_PARAM, JOIN_PARAM, TEACHER_PARAM = "learner", "join", "teacher"
# (sweep id, slot): the part of the class's sweep this learner was handed (issue 21.3; Build & Train names it).
SWEEP_PART = "sweep_part"
# How often a page redraws a run that is training. Each redraw is a Streamlit rerun in the web server's process;
# measured with Chromium drawing the page (benchmarks/bench_app.py), a 1 s poll kept a watched run at 0.98x bare
# Keras and a 0.5 s poll at 0.75x when runs trained in this process. A teacher can change it with
# RNNLAB_POLL_SECONDS.
POLL_SECONDS = settings.current().poll_seconds


# --- Who this is ----------------------------------------------------------------------------------------------------

def learner() -> Learner:
    """This session's learner: from the address, else a new one; the token is written back into the address.

    A token the server does not know (a mistyped link, another server's) starts a new learner with a warning; a join
    link puts the learner in that class.
    """
    cached = st.session_state.get("learner_record")
    if cached is not None and not st.query_params.get(JOIN_PARAM):
        keep_in_address(cached.token)
        return cached
    store = get_lab().store
    token = st.session_state.get("learner") or st.query_params.get(LEARNER_PARAM, "")
    known = store.learner(token) if token else None
    if known is None:
        if token:
            st.session_state["learner_warning"] = ("That learner link is not known on this server, so you start "
                                                   "afresh here.")
        known = store.new_learner()
    st.session_state["learner"] = known.token
    join = st.query_params.get(JOIN_PARAM, "")
    if join and st.session_state.get("joined") != join:
        st.session_state["joined"] = join
        try:
            classroom = store.join(known.token, join)
            st.session_state["learner_notice"] = (f"You joined the class **{classroom.title}**: your runs are shared "
                                                  "with your teacher.")
            known = store.learner(known.token)
            _hand_out_sweep_part(classroom.class_id, known.token)
        except StoreError as error:
            st.session_state["learner_warning"] = str(error)
    st.session_state["learner_record"] = known
    keep_in_address(known.token)
    return known


def _hand_out_sweep_part(class_id: str, token: str) -> None:
    """A learner who joins a class with a sweep gets the next part of it no one has, preloaded in Build & Train."""
    store = get_lab().store
    sweep = sweeps.current(store, class_id=class_id)
    if sweep is None:
        return
    slot = sweeps.my_run(store, sweep, token)
    st.session_state[SWEEP_PART] = (sweep.sweep_id, slot)
    st.session_state["config"] = sweep.config(slot)  # Build & Train's configuration (`stored_config("cfg")`)
    st.session_state["cfg__reload"] = True  # what `widgets.reload_widgets()` sets (widgets imports this module)


def keep_in_address(token: str) -> None:
    """Keep the learner's token in the address bar, so a reload or a copied link finds the same runs."""
    if st.query_params.get(LEARNER_PARAM) != token:
        st.query_params[LEARNER_PARAM] = token
    if JOIN_PARAM in st.query_params:
        del st.query_params[JOIN_PARAM]  # joined: the address now names the learner alone


def you_box(here: str) -> None:
    """In the sidebar of every page: the learner's display name (what their class's teacher sees) and their own
    link, to bookmark. `here` is the URL path of the page being shown."""
    me = learner()
    with st.sidebar.expander(f"You: {me.name}" if me.name else "You", icon=":material/person:"):
        st.text_input("Your name", value=me.name, max_chars=40, key="you_name", on_change=_rename,
                      help="Shown to your class's teacher on the Class page; leave it empty to stay anonymous.")
        st.caption("Your runs are kept on this server under your own link. Bookmark it to find them again in another "
                   "tab, on another day, or after the server restarts; anyone with it sees your runs.")
        # A link, not an `st.code` box: that box loads Streamlit's 1.5 MB syntax highlighter in every fresh tab, on
        # every page (0.3-0.45 s of the browser's CPU, often inside the first render: issue 17's Inside the cell).
        link = link_to("", {}, here=here, with_learner=True)
        st.markdown(f"Your link: [{markdown_literal(link)}]({link})")


def _rename() -> None:
    st.session_state["learner_record"] = get_lab().store.rename(token(), st.session_state["you_name"])


def token() -> str:
    return learner().token


def notices() -> None:
    """Show, once, what happened to the learner's link (joined a class, an unknown link, runs interrupted)."""
    warning = st.session_state.pop("learner_warning", None)
    if warning:
        st.warning(warning)
    notice = st.session_state.pop("learner_notice", None)
    if notice:
        st.success(notice)


# --- Runs -----------------------------------------------------------------------------------------------------------

def runs() -> dict[str, Any]:
    """This learner's runs by id, oldest first: live handles while they train, stored runs once they have ended."""
    return get_lab().runs(token())


def active_jobs() -> list:
    """Runs training now or waiting to train."""
    return [handle for handle in runs().values() if handle.running]


def active_job():
    """The first run that is training or waiting, if any."""
    return next(iter(active_jobs()), None)


def plan(config: RunConfig):
    """(estimate, verdict): what `config` will cost and whether it may train here (`rnnlab.lab.Lab.plan`)."""
    return get_lab().plan(config)


def engine_description() -> str:
    """Where runs train on this server, e.g. "2 local worker processes, 9.4 GB memory limit each"."""
    return get_lab().engine.describe()


def engine_state():
    """How far the server's training workers have got in starting (`rnnlab.engine.startup.EngineState`)."""
    return get_lab().engine.state()


def queue_rows() -> list[dict]:
    """The engine's runs not yet ended, with place, worker and wait (`DaskEngine.queue_rows`); [] on threads."""
    rows = getattr(get_lab().engine, "queue_rows", None)
    return rows() if rows is not None else []


def start_runs(configs: list[RunConfig], dataset=None) -> list:
    """Queue `configs` to train one after another on the server's workers; [] with a message if they cannot start
    (too big for a worker, or the learner has runs training already).

    Every run records its probes (gates of one validation sequence, gradient norms of a validation batch) before
    training and after each epoch, for the Inside the cell and Gradients pages.
    """
    try:
        return get_lab().start(token(), configs, dataset)
    except (BudgetError, StoreError) as error:
        st.error(str(error))
        return []


def start_run(config: RunConfig, dataset=None):
    """Start training `config`; None (with a message on screen) if it cannot start now."""
    handles = start_runs([config], dataset)
    return handles[0] if handles else None


def stop_all() -> None:
    """Stop the run training now and every run queued after it."""
    for handle in active_jobs():
        handle.stop()


def press(job, what: str) -> bool:
    """Pause, step or resume one of the learner's runs ("pause", "step", "resume"); False if it is not training."""
    lab = get_lab()
    try:
        return {"pause": lab.pause, "step": lab.step, "resume": lab.resume}[what](token(), job.run_id)
    except StoreError as error:
        st.error(str(error))
        return False


def looking_at(job):
    """What a page may look inside for `job`: the run itself once it has ended, the network as it is now while it is
    paused (`rnnlab.lab.PausedRun`), else None (it trains or waits)."""
    if job is None:
        return None
    if job.done:
        return job
    return get_lab().paused_run(token(), job.run_id) if job.paused else None


def model_key(job) -> tuple:
    """A key for what a page computes from a run's model: a paused run's weights change with every pause."""
    return job.run_id, job.record.steps_done


def delete_run(run_id: str) -> None:
    """Remove a run from the learner's runs, keeping it aside so `undo_delete` can bring it back (the last one)."""
    record = runs()[run_id].record
    get_lab().delete(token(), run_id)
    st.session_state["deleted_run"] = (run_id, record.name)


def undo_delete() -> None:
    deleted = st.session_state.pop("deleted_run", None)
    if deleted is not None:
        get_lab().restore(token(), deleted[0])


def last_deleted() -> tuple[str, str] | None:
    """(run id, name) of the run deleted last, while it can still be brought back."""
    return st.session_state.get("deleted_run")


def finished_runs(task: str | None = None) -> list:
    """Runs that have ended with a model (finished, stopped or diverged), and paused runs as they are now
    (`looking_at`), optionally of one task only."""
    found = [looking_at(handle) if handle.paused else handle for handle in runs().values()
             if (handle.done and handle.has_model or handle.paused) and (task is None or handle.config.task == task)]
    return [handle for handle in found if handle is not None]


def names() -> dict[str, str]:
    """A name per run of this learner that tells it apart from the others (`rnnlab.records.distinct_names`)."""
    return distinct_names([handle.record for handle in runs().values()])


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


class _Failed:
    """A remembered failure: `cached` raises the same exception again instead of computing again."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def forget(store: str, key) -> None:
    st.session_state.get(store, {}).pop(key, None)


# --- The configuration being edited ---------------------------------------------------------------------------------

# Each page that edits a configuration keeps it under its own key: Build & Train's (the sidebar's "cfg" prefix) is
# the one Inside the cell and Gradients read; IMDB sentiment and Next word keep their own task's.
PAGE_TASKS = {"imdb": "imdb", "text": "text"}  # prefix -> the one task that page trains


def _config_key(prefix: str) -> str:
    return "config" if prefix == "cfg" else f"{prefix}_config"


def stored_config(prefix: str = "cfg") -> RunConfig:
    """The configuration a page edits, the one source of truth its widgets are drawn from. The first time a session
    asks, it comes from the address (the only place a shared link is read), else the class's pinned preset (Build &
    Train), else (IMDB, Next word) the learner's newest run of the page's task, else the defaults of the page's task.

    A teacher can hand out a link such as `?task=adding&cell=simplernn&seq_len=50` (or `/next_word?task=text&level=
    char`); settings the link does not give take the task's own defaults. A bad value costs only itself: the link's
    other settings are used, and `pop_config_warning` names every bad one. A page of one task (IMDB, Next word)
    reads a link only if it is of that task.
    """
    key = _config_key(prefix)
    if key not in st.session_state:
        query = st.query_params.to_dict()
        settings = {name for name in query if name not in (LEARNER_PARAM, JOIN_PARAM, TEACHER_PARAM)}
        task = PAGE_TASKS.get(prefix)
        if task is None:
            pinned = class_preset() if not settings else ""
            config, errors = read_link(query if settings or not pinned else pinned)
        elif query.get("task") == task:
            config, errors = read_link(query)
        else:
            # No link of this page's task: the learner's newest run of it (a reopened link shows that run, so the
            # sidebar and the text chooser must say what it trained on), else the task's defaults.
            newest = next((handle.config for handle in reversed(runs().values()) if handle.config.task == task), None)
            config, errors = newest or defaults_for_task(task), []
        st.session_state[key] = config
        if errors:
            st.session_state[f"{key}_warning"] = ("Some of the link's settings were not used, and their defaults "
                                                  "stand in: " + " ".join(errors))
    return st.session_state[key]


def current_config() -> RunConfig:
    """Build & Train's configuration, which Inside the cell and Gradients look at (`stored_config("cfg")`)."""
    return stored_config("cfg")


def class_preset() -> str:
    """The preset the learner's class has pinned (a link's query), or ""."""
    class_id = learner().class_id
    classroom = get_lab().store.classroom(class_id) if class_id else None
    return classroom.preset if classroom else ""


def set_config(config: RunConfig, prefix: str = "cfg") -> None:
    st.session_state[_config_key(prefix)] = config


def pop_config_warning(prefix: str = "cfg") -> str | None:
    """The sentence naming a link's bad settings, once."""
    return st.session_state.pop(f"{_config_key(prefix)}_warning", None)


def link_to(page: str, query: dict[str, str], here: str, with_learner: bool = False) -> str:
    """A full link: this app's address, `page` ("" for Build & Train, "runs", ...), `query`.

    `here` is the URL path of the page asking ("lessons"), which the browser's address ends with. A link to share
    with others carries no learner token; `with_learner` adds this learner's (their own bookmark). Where the address
    is unknown (tests without a browser) the link is relative.
    """
    if with_learner:
        query = {**query, LEARNER_PARAM: token()}
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
