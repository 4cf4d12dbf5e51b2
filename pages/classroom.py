"""Class: a teacher makes a class and, on a projector, watches every learner's runs of a task come in.

Two links per class, both unguessable: the join link for learners (their runs are shared with the class) and the
teacher's link to this view. A learner's own link never opens it. The teacher's link leaves the address bar as soon
as the session holds it and shows only on request (the page is on a projector); the teacher can replace it, and the
old one stops working. Everything drawn from the class's runs, the task choice included, is inside one fragment that
redraws every few seconds, so a projector opened before the first run fills in with nobody touching it. Learners
write their names, their runs' names and nothing else here; those are escaped wherever they are drawn.
Layout only: the class's runs come from the store, the table and the sentence from `rnnlab.classroom` and
`rnnlab.explain`, the chart from `rnnlab.plots.classroom`.
"""

import urllib.parse

import pandas as pd
import streamlit as st

from pages import session, sweep_view, widgets
from rnnlab import classroom, explain
from rnnlab.config import read_link
from rnnlab.data import get_task
from rnnlab.engine import queueing
from rnnlab.lab import get_lab
from rnnlab.lessons import all_lessons
from rnnlab.plots.classroom import class_figure, learner_names
from rnnlab.store import StoreError
from rnnlab.text_safety import markdown_literal

# How often the teacher's view redraws while the class trains.
REFRESH_SECONDS = 3.0

st.title("Class")
store = get_lab().store
session.learner()  # the teacher is a learner too, with runs of their own
teacher = st.query_params.get(session.TEACHER_PARAM, "") or st.session_state.get("class_teacher", "")

if not teacher:
    st.caption("Run one server for your class, make a class here, and hand out its join link. Every run your "
               "learners train is then shared with the class, and this page shows them together, live.")
    with st.form("class_new"):
        title = st.text_input("Name of the class", placeholder="e.g. Period 3, recurrent networks")
        made = st.form_submit_button("Make a class", type="primary")
    if made:
        room = store.new_class(title)
        st.session_state["class_teacher"] = room.teacher_token
        st.rerun()
    sweep_view.own_section()  # issue 21.3: a learner alone runs a whole sweep
    st.stop()

room = store.class_by_teacher(teacher)
if room is None:
    st.session_state.pop("class_teacher", None)
    st.error("This teacher link is not valid (a learner's link or a join link never opens this page, and a link "
             "replaced by a new one stops working); use your current teacher link, or make a new class.")
    st.stop()
st.session_state["class_teacher"] = teacher
if session.TEACHER_PARAM in st.query_params:
    del st.query_params[session.TEACHER_PARAM]  # the session holds it now; the projector's address bar must not

st.subheader(markdown_literal(room.title))
join_link = session.link_to("", {session.JOIN_PARAM: room.join_token}, here="classroom")
st.markdown("**Hand out this link to your learners:**")
st.code(join_link, language=None, wrap_lines=True)

if st.toggle("Show my teacher's link", key="class_show_link",
             help="Your link to this page. Anyone who has it sees every learner's runs and can pin presets."):
    st.warning("Keep this link to yourself: anyone who has it opens this page. If the class has seen it, make a new "
               "one; the old one then stops working.")
    teacher_link = session.link_to("classroom", {session.TEACHER_PARAM: room.teacher_token}, here="classroom")
    st.code(teacher_link, language=None, wrap_lines=True)
    if st.button("Make a new teacher's link", key="class_new_link"):
        try:
            room = store.new_teacher_link(teacher)
        except StoreError as error:
            st.error(str(error))
        else:
            st.session_state["class_teacher"] = room.teacher_token
            st.session_state["class_link_notice"] = "Made a new teacher's link; the old one no longer opens this page."
            st.rerun()
if st.session_state.get("class_link_notice"):
    st.success(st.session_state.pop("class_link_notice"))

with st.expander("Pin a preset for the class"):
    st.caption("It opens in Build & Train for everyone who joins (settings in a link's form, e.g. "
               "`task=adding&cell=simplernn&seq_len=50`).")
    preset = st.text_input("Preset", value=room.preset, key="class_preset")
    columns = st.columns(2)
    if columns[0].button("Pin it", key="class_pin"):
        _, errors = read_link(preset)
        if errors:
            st.error(" ".join(errors))
        else:
            room = store.pin_preset(room.teacher_token, preset)
            st.success(f"Pinned: {markdown_literal(room.preset) or 'nothing'}.")
    if columns[1].button("Pin my Build & Train settings", key="class_pin_mine"):
        query = urllib.parse.urlencode(session.current_config().to_query())
        room = store.pin_preset(room.teacher_token, query)
        st.success(f"Pinned: {markdown_literal(room.preset)}.")
    if room.preset and st.button("Open the pinned preset in Build & Train", key="class_open"):
        widgets.open_in_build_train(read_link(room.preset)[0])

hide_names = st.toggle("Hide names", key="class_hide", help="Learners show as learner 1, learner 2, ...")
class_id = room.class_id


def choose_task(tasks: list[str]) -> str | None:
    """The task to show: the teacher's choice, kept across redraws (and across new tasks arriving), else the
    first. The radio's key names the tasks on offer, so a new task makes a new radio opened on the same choice."""
    slot = st.container()  # drawn with one task too, so that the elements after it keep their places (draw_queue)
    if len(tasks) <= 1:
        return tasks[0] if tasks else None
    chosen = st.session_state.get("class_task_chosen")
    task = slot.radio("Task", tasks, index=tasks.index(chosen) if chosen in tasks else 0, horizontal=True,
                      key=f"class_task_{'_'.join(tasks)}", format_func=lambda name: get_task(name).title)
    st.session_state["class_task_chosen"] = task
    return task


def draw_queue(pairs: list[tuple]) -> None:
    """Who is training on which worker and who waits, in which place, while anyone of the class does (issue 19)."""
    rows = queueing.class_queue(session.queue_rows(), pairs, learner_names(pairs, hide_names))
    # Always one container of the same two elements, whoever trains: the elements drawn after it keep their places
    # from one redraw to the next (when the queue came and went, every later element moved one place, and while a
    # redraw ran the page showed the old and the new copy at once, two "Every run" expanders among them), and the
    # table is replaced in place when the queue empties. (Left empty, the container kept the last table on the
    # projector, its runs "training" for up to ten seconds after they had finished: a redraw inside a fragment
    # does not always clear what it no longer draws.)
    with st.container():
        waiting = sum(row["where"].startswith("waiting") for row in rows)
        st.markdown(f"**Training and waiting now** ({waiting} waiting)" if rows else "**Training and waiting now**")
        if rows:
            st.table(pd.DataFrame(rows))
        else:
            st.caption("Nobody in the class is training or waiting.")


@st.fragment(run_every=REFRESH_SECONDS)
def live() -> None:
    """Everything drawn from the class's runs, redrawn every few seconds while the class trains: a projector
    opened before the first run fills in, and a new task's runs appear, with nobody touching it."""
    learners = store.members(class_id)
    joined = f"{len(learners)} learner{'' if len(learners) == 1 else 's'}"
    by_task: dict[str, list[tuple]] = {}
    pairs_of_class = classroom.with_live(store.class_runs(class_id), get_lab().engine.live)  # paused runs say so
    draw_queue(pairs_of_class)
    for learner, record in classroom.counted(pairs_of_class):
        by_task.setdefault(record.config.task, []).append((learner, record))
    if not by_task:
        st.info(f"{joined} joined, no runs yet. This page fills in as they train.")
    else:
        pairs = by_task[choose_task(sorted(by_task))]
        active = sum(1 for _, record in pairs if not record.is_final)
        paused = sum(1 for _, record in pairs if record.paused)
        st.caption(f"{joined} · {len(pairs)} run{'' if len(pairs) == 1 else 's'} of this task · {active - paused} "
                   "training now" + (f" · {paused} paused" if paused else ""))
        records = [record for _, record in pairs]
        metric = "val_accuracy" if records[0].is_classification else "val_loss"
        st.markdown(f"**{explain.class_answer(records)}**")
        smoothing, by_seed, band = widgets.curve_controls("class")
        st.plotly_chart(class_figure(pairs, metric, hide_names, smoothing=smoothing, by_seed=by_seed, band=band),
                        width="stretch", key="class_chart")
        st.table(pd.DataFrame(classroom.shown_rows(classroom.by_configuration(pairs))))
        with st.expander("Every run"):
            st.table(pd.DataFrame(classroom.run_rows(pairs, learner_names(pairs, hide_names), metric)))
    predictions = store.predictions(class_id=class_id)
    if predictions:
        st.subheader("How the class predicted")
        questions = {(lesson.name, str(quiz.number)): quiz.question for lesson in all_lessons()
                     for quiz in lesson.quizzes()}
        # The answers are the lessons' own labels (a radio's options), not text a learner typed.
        st.table(pd.DataFrame(classroom.prediction_table(predictions, questions)))

live()
sweep_view.teacher_section(room)  # issue 21.3: the class as one experiment
