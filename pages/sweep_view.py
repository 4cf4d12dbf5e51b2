"""The sweep on the Class page and in Build & Train (issue 21.3): the teacher's form, the live grid, and a learner's
part of it. Layout only: the grid, the hand-out and the answer are `rnnlab.sweep`'s, the charts `rnnlab.plots.sweep`'s,
every configuration goes through the lab's gate (`rnnlab.sweep.refusal` calls `Lab.plan`).

    teacher_section(room)      # on the Class page, under the class's own views
    own_section()              # on the Class page without a class: a learner's own sweep, queued on the workers
    learner_box(config)        # in Build & Train: which part of the experiment this is, and "My sweep run"
"""

from __future__ import annotations

import time
import urllib.parse

import streamlit as st

from pages import session, widgets
from rnnlab import classroom
from rnnlab import sweep as sweeps
from rnnlab.config import field_info
from rnnlab.lab import get_lab
from rnnlab.lessons import all_lessons
from rnnlab.plots.sweep import heatmap_figure, length_figure, parallel_figure
from rnnlab.text_safety import markdown_literal

# How often the sweep's charts redraw while the class trains (the Class page's own rate).
REFRESH_SECONDS = 3.0
ROWS = sweeps.MAX_AXES


def _setting_label(name: str) -> str:
    return "—" if not name else field_info(name)["label"]


def lesson_sweeps() -> dict[str, sweeps.Sweep]:
    """The sweeps the lessons describe, by their label, to start a form from."""
    return {block.label: block.sweep for lesson in all_lessons() for block in lesson.blocks if block.kind == "sweep"}


def sweep_form(key: str, base: str) -> sweeps.Sweep | None:
    """The form that makes a sweep: a lesson's sweep to start from, a base preset, up to three settings with their
    values, seeds per grid cell. Returns the sweep asked for (not yet checked against the budget), or None."""
    from_lesson = lesson_sweeps()
    start = st.selectbox("Start from", ["my own grid", *from_lesson], key=f"{key}_from",
                         help="A lesson's sweep fills in the form below; change any of it before making it.")
    chosen = from_lesson.get(start)
    axes = list(chosen.axes) if chosen else [("cell", ("simplernn", "lstm", "gru")), ("seq_len", (10, 25, 50))]
    suffix = f"{key}_{start}"  # another starting point makes new widgets opened on its values
    with st.form(f"{key}_form"):
        base = st.text_input("Base preset (a link's settings)", value=chosen.base if chosen else base,
                             key=f"{suffix}_base", help="Every run of the sweep has these settings, then its grid "
                                                         "cell's, e.g. `task=adding&units=32`.")
        rows = []
        for row in range(ROWS):
            name, values = axes[row] if row < len(axes) else ("", ())
            columns = st.columns([2, 3])
            options = ["", *sweeps.AXES]
            setting = columns[0].selectbox(f"Setting {row + 1}", options, index=options.index(name),
                                           format_func=_setting_label, key=f"{suffix}_axis{row}")
            text = columns[1].text_input("Its values, separated by commas", value=", ".join(
                str(value) for value in values), key=f"{suffix}_values{row}")
            rows.append((setting, text))
        seeds = st.number_input("Seeds per grid cell", min_value=1, max_value=sweeps.MAX_SEEDS,
                                value=chosen.seeds if chosen else 2, step=1, key=f"{suffix}_seeds")
        made = st.form_submit_button("Make the sweep", type="primary")
    if not made:
        return None
    try:
        return sweeps.Sweep.make(base, rows, int(seeds))
    except sweeps.SweepError as error:
        st.error(str(error))
        return None


def checked(sweep: sweeps.Sweep | None) -> sweeps.Sweep | None:
    """The sweep if every configuration fits this server (one sentence on screen naming the first that does not)."""
    if sweep is None:
        return None
    refused = sweeps.refusal(get_lab(), sweep)
    if refused:
        st.error(refused)
        return None
    return sweep


def draw(sweep: sweeps.Sweep, records: list, key: str) -> None:
    """The sweep's answer, its grid, its metric against length, and every run's settings against its result."""
    store = get_lab().store
    slots = [slot for slot, _ in store.sweep_slots(sweep.sweep_id)]
    handed = sum(1 for slot in slots if slot < sweep.planned)
    extra = len(slots) - handed  # seeds past the planned ones (sweeps.next_slot)
    ours = sweeps.members(sweep, records)
    paused = sum(1 for _, record in ours if record.paused)
    training = sum(1 for _, record in ours if not record.is_final) - paused
    cells = len(sweep.cells())
    st.caption(f"{cells} grid cells × {sweep.seeds} seed{'' if sweep.seeds == 1 else 's'} · {handed} of "
               f"{sweep.planned} planned runs handed out{f' + {extra} extra seeds' if extra else ''} · {len(ours)} run{'' if len(ours) == 1 else 's'} of the sweep, "
               f"{training} training now{f' · {paused} paused' if paused else ''} · base preset {markdown_literal(sweep.base) or 'the defaults'}")
    # The charts and their sentence from the runs as they were at the last redraw while no run changes state (the
    # captions above count from the runs as they are now), built once per redraw, not at every rerun of the page.
    kept = st.session_state.get(f"{key}_drawn")
    drawn = sweeps.to_draw(sweep, kept[0] if kept else None, records, time.time())
    if kept is None or drawn is not kept[0]:
        records = list(drawn.records)
        kept = (drawn, (sweeps.answer(sweep, records), heatmap_figure(sweep, records), length_figure(sweep, records),
                        parallel_figure(sweep, records)))
        st.session_state[f"{key}_drawn"] = kept
    answer, heatmap, line, parallel = kept[1]
    st.markdown(f"**{answer}**")
    st.plotly_chart(heatmap, width="stretch", key=f"{key}_heatmap")
    st.caption("Each square: the lowest final validation loss of its runs ÷ the loss of a network that learned "
               "nothing (always answering the average target), green well below, grey at 90% (the line a run must "
               "pass to count as having learned), red at or above it; the number written is the best validation "
               "metric and how many runs the cell has. Runs count from the moment the sweep was made. A run still "
               "training counts with its last finished epoch; while no run starts, pauses or ends, these charts "
               f"redraw every {sweeps.REDRAW_SECONDS:g} s (as of {time.strftime('%H:%M:%S', time.localtime(drawn.at))}).")
    if line is not None:
        st.plotly_chart(line, width="stretch", key=f"{key}_length")
    else:
        st.caption("No numeric setting is swept, so there is no line to draw against it.")
    # Full width: each axis of the parallel coordinates needs room for its title.
    st.plotly_chart(parallel, width="stretch", key=f"{key}_parallel")


def teacher_section(room) -> None:
    """The class's sweep: the form to make one, and the grid filling in as the class trains."""
    store = get_lab().store
    st.subheader("The class's sweep")
    with st.expander("Make a sweep for the class", expanded=sweeps.current(store, class_id=room.class_id) is None):
        st.caption("A grid over up to three settings. Each learner who joins (or presses **My sweep run** in Build "
                   "& Train) gets the next configuration of the grid no one has yet, seed by seed; once every cell has "
                   "its planned seeds, each further learner gets an extra seed of the cell with the fewest runs so "
                   "far, and is told so. Every configuration must fit this server.")
        sweep = checked(sweep_form("class_sweep", room.preset or "task=adding"))
        if sweep is not None:
            made = sweeps.save(store, sweeps.Sweep(sweep.base, sweep.axes, sweep.seeds, class_id=room.class_id))
            st.success(f"Made the sweep: {len(made.cells())} grid cells × {made.seeds} seed{'' if made.seeds == 1 else 's'}. Learners who join now "
                       "get their part of it; learners already in the class press **My sweep run** in Build & "
                       "Train.")

    @st.fragment(run_every=REFRESH_SECONDS)
    def live() -> None:
        sweep = sweeps.current(store, class_id=room.class_id)
        if sweep is None:
            st.info("No sweep yet: make one above, and the grid fills in here as the class trains.")
            return
        pairs = classroom.with_live(store.class_runs(room.class_id), get_lab().engine.live)  # paused runs say so
        draw(sweep, [record for _, record in pairs], "class_sweep")

    live()


def own_section() -> None:
    """A learner's own sweep: every configuration queued on the workers, a few at a time, as the learner's own
    runs; the grid fills in as they end. The server queues the next runs as earlier ones end (`rnnlab.sweep.Feeder`),
    with or without this page open; the page feeds it too, after a restart or when a refusal held it up."""
    store = get_lab().store
    token = session.token()
    st.subheader("Run a sweep on your own")
    st.caption("The same experiment a class runs, trained as your own runs: the sweep's runs queue on this server's "
               "workers, up to three of yours at a time, and the next ones start as those end, whether or not this "
               "page is open.")
    with st.expander("Make a sweep", expanded=sweeps.current(store, owner=token) is None):
        sweep = checked(sweep_form("own_sweep", urllib.parse.urlencode(session.current_config().to_query())))
        if sweep is not None:
            sweeps.save(store, sweeps.Sweep(sweep.base, sweep.axes, sweep.seeds, owner=token))
            st.success(f"Made your sweep: {sweep.planned} runs; they start below.")

    @st.fragment(run_every=REFRESH_SECONDS)
    def live() -> None:
        sweep = sweeps.current(store, owner=token)
        if sweep is None:
            return
        started, refused = sweeps.feed(get_lab(), token, sweep)
        if refused:
            st.warning(f"The sweep waits: {refused}")
        mine = classroom.with_live([(None, record) for record in store.runs(token, include_probes=False)],
                                   get_lab().engine.live)  # paused runs say so
        draw(sweep, [record for _, record in mine], "own_sweep")

    live()


def learner_box(config) -> None:
    """In Build & Train: the sentence naming the part of the class's sweep this configuration is, and the button
    that hands the learner the next part no one has."""
    me = session.learner()
    if not me.class_id:
        return
    store = get_lab().store
    sweep = sweeps.current(store, class_id=me.class_id)
    if sweep is None:
        return
    part = st.session_state.get(session.SWEEP_PART)
    if not part or part[0] != sweep.sweep_id:  # a new session (a reload): the part the store says was given last
        given = store.sweep_slots(sweep.sweep_id, learner=me.token)
        part = (sweep.sweep_id, given[-1][0]) if given else None
    if part and sweep.config(part[1]) == config:
        st.info(sweep.part(part[1]))
    if st.button("My sweep run", key="bt_sweep_run",
                 help="Load the next configuration of your class's sweep that no one has yet."):
        slot = sweeps.my_run(store, sweep, me.token)  # the part given and not yet trained, else the next one
        st.session_state[session.SWEEP_PART] = (sweep.sweep_id, slot)
        widgets.open_in_build_train(sweep.config(slot))


def lesson_sweep(block, key: str) -> None:
    """A lesson's ```sweep block: what it runs, and the button that makes it the learner's own sweep on the Class
    page (a teacher picks it there under "Start from" to make it the class's)."""
    sweep = block.sweep
    grid = " × ".join(f"{field_info(name)['label'].lower()} ({', '.join(str(value) for value in values)})"
                      for name, values in sweep.axes)
    st.markdown(f"**Sweep: {block.label}.** {grid}, {sweep.seeds} seed{'' if sweep.seeds == 1 else 's'} each: "
                f"{sweep.planned} runs on {markdown_literal(sweep.base)}.")
    if st.button(f"▶ Run this sweep on my own ({sweep.planned} runs)", key=key):
        checked_sweep = checked(sweep)
        if checked_sweep is not None:
            sweeps.save(get_lab().store, sweeps.Sweep(sweep.base, sweep.axes, sweep.seeds, owner=session.token()))
            st.switch_page("pages/classroom.py")
    st.caption("Your runs queue on the server's workers; the Class page draws the grid as they end. A teacher can "
               "make it the class's sweep on the Class page.")
