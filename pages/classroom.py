"""Class: a teacher makes a class and, on a projector, watches every learner's runs of a task come in.

Two links per class, both unguessable: the join link for learners (their runs are shared with the class) and the
teacher's link to this view. A learner's own link never opens it. Layout only: the class's runs come from the store,
the table and the sentence from `rnnlab.classroom` and `rnnlab.explain`, the chart from `rnnlab.plots.classroom`.
"""

import urllib.parse

import pandas as pd
import streamlit as st

from pages import session, widgets
from rnnlab import classroom, explain
from rnnlab.config import read_link
from rnnlab.data import get_task
from rnnlab.lab import get_lab
from rnnlab.lessons import all_lessons
from rnnlab.plots.classroom import class_figure, learner_names

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
        st.query_params[session.TEACHER_PARAM] = room.teacher_token
        st.rerun()
    st.stop()

room = store.class_by_teacher(teacher)
if room is None:
    st.error("This teacher link is not valid (a learner's link or a join link never opens this page); use the "
             "teacher link you got when you made the class, or make a new class.")
    st.stop()
st.session_state["class_teacher"] = teacher
st.query_params[session.TEACHER_PARAM] = teacher

st.subheader(room.title)
join_link = session.link_to("", {session.JOIN_PARAM: room.join_token}, here="classroom")
teacher_link = session.link_to("classroom", {session.TEACHER_PARAM: room.teacher_token}, here="classroom")
links = st.columns(2)
links[0].markdown("**Hand out this link to your learners:**")
links[0].code(join_link, language=None, wrap_lines=True)
links[1].markdown("**Your link to this page** (keep it to yourself):")
links[1].code(teacher_link, language=None, wrap_lines=True)

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
            room = store.pin_preset(teacher, preset)
            st.success(f"Pinned: {room.preset or 'nothing'}.")
    if columns[1].button("Pin my Build & Train settings", key="class_pin_mine"):
        query = urllib.parse.urlencode(session.current_config().to_query())
        room = store.pin_preset(teacher, query)
        st.success(f"Pinned: {room.preset}.")
    if room.preset and st.button("Open the pinned preset in Build & Train", key="class_open"):
        widgets.open_in_build_train(read_link(room.preset)[0])

hide_names = st.toggle("Hide names", key="class_hide", help="Learners show as learner 1, learner 2, ...")
members = store.members(room.class_id)
tasks = sorted({record.config.task for _, record in store.class_runs(room.class_id)})
if not tasks:
    st.info(f"{len(members)} learner{'' if len(members) == 1 else 's'} joined, no runs yet. This page fills in as "
            "they train.")
task = st.radio("Task", tasks, horizontal=True, key="class_task", format_func=lambda name: get_task(name).title) \
    if len(tasks) > 1 else (tasks[0] if tasks else None)


@st.fragment(run_every=REFRESH_SECONDS)
def live() -> None:
    """Everything drawn from the class's runs, redrawn every few seconds while the class trains."""
    pairs = store.class_runs(room.class_id, task=task) if task else []
    learners = store.members(room.class_id)
    active = sum(1 for _, record in pairs if not record.is_final)
    st.caption(f"{len(learners)} learner{'' if len(learners) == 1 else 's'} · {len(pairs)} run"
               f"{'' if len(pairs) == 1 else 's'} of this task · {active} training now")
    if pairs:
        records = [record for _, record in pairs]
        metric = "val_accuracy" if records[0].is_classification else "val_loss"
        st.markdown(f"**{explain.class_answer(records)}**")
        st.plotly_chart(class_figure(pairs, metric, hide_names), width="stretch", key="class_chart")
        rows = classroom.by_configuration(pairs)
        st.table(pd.DataFrame(rows).drop(columns=["configuration"]).style.format(na_rep="—", precision=4))
        with st.expander("Every run"):
            names = learner_names(pairs, hide_names)
            st.table(pd.DataFrame([{"learner": names[learner.token], "run": record.name, "status": record.status,
                                    "epochs": record.epochs_done, metric: record.final(metric)}
                                   for learner, record in pairs]).style.format(na_rep="—", precision=4))
    predictions = store.predictions(class_id=room.class_id)
    if predictions:
        st.subheader("How the class predicted")
        questions = {(lesson.name, str(quiz.number)): quiz.question for lesson in all_lessons()
                     for quiz in lesson.quizzes()}
        st.table(pd.DataFrame(classroom.prediction_table(predictions, questions)))


live()
