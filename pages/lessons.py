"""Lessons: short readings from `lessons/`, each with one-click presets that check its claims on a real model, and
predictions the learner commits to before the runs that decide them train ("predict, then run")."""

import urllib.parse

import streamlit as st

from pages import progress, session, sweep_view, widgets
from rnnlab.lab import get_lab
from rnnlab.lessons import Quiz, all_lessons


def quiz_ui(lesson, quiz: Quiz) -> bool:
    """A question, its answers, and a Run button that stays disabled until the learner has picked one. The runs
    decide the right answer; the learner's prediction is kept with their runs, for the teacher's Class page.
    Returns whether the question is decided (answered, and its runs ended or its parameters counted): only then
    does the page show the lesson's ```reveal text for it."""
    store = get_lab().store
    question = str(quiz.number)
    kept = next((prediction for prediction in store.predictions(session.token())
                 if prediction.lesson == lesson.name and prediction.question == question), None)
    run_ids = kept.run_id.split(",") if kept and kept.run_id else []
    with st.container(border=True):
        st.markdown(f"**Predict, then run.** {quiz.question}")
        labels = [answer.label for answer in quiz.answers]
        key = f"lessons_quiz_{lesson.name}_{question}"
        if kept is not None and key not in st.session_state and kept.answer in labels:
            st.session_state[key] = kept.answer
        choice = st.radio("Your prediction", labels, index=None, key=key, disabled=bool(run_ids))
        runs = session.runs()
        handles = [runs[run_id] for run_id in run_ids if run_id in runs]
        if not quiz.needs_training:  # parameters: counted exactly from the networks, nothing to train
            if st.button("Count them", key=f"{key}_run", disabled=choice is None,
                         help="Pick an answer first." if choice is None else "Builds both networks' layer tables."):
                answer, sentence = quiz.decide_by_counting()
                store.save_prediction(session.token(), lesson.name, question, choice, None, answer.label == choice)
                st.session_state[f"{key}_counted"] = (choice, answer.label, sentence)
            counted = st.session_state.get(f"{key}_counted")
            if counted is not None:
                picked, right, sentence = counted
                (st.success if picked == right else st.info)(
                    f"You predicted **{picked}**. {sentence} "
                    + ("You were right." if picked == right else f"The counts say **{right}**."))
                if quiz.why:
                    st.markdown(quiz.why)
            return counted is not None or (kept is not None and kept.correct is not None)
        if not run_ids:
            what = ", ".join(config.label() for config in quiz.presets())
            if st.button("Run the experiment", key=f"{key}_run", disabled=choice is None,
                         help="Pick an answer first." if choice is None else f"Trains {what}."):
                handles = session.start_runs(quiz.presets())
                if handles:
                    store.save_prediction(session.token(), lesson.name, question, choice,
                                          run_id=",".join(handle.run_id for handle in handles))
                    st.rerun()
            return False
        decided = False
        if len(handles) != len(run_ids):
            st.info("A run of this experiment was deleted; run it again to decide the question.")
        elif any(handle.running for handle in handles):
            def draw() -> None:
                for handle in handles:
                    st.caption(handle.record.name)
                    progress.draw_progress(handle.record.snapshot(), handle=handle)

            progress.live(handles, f"{key}_settled", draw)  # redraws the page once they have all ended
            if st.button("Stop", key=f"{key}_stop"):
                for handle in handles:
                    handle.stop()
            return False
        else:
            decided = True  # run to the end: what the lesson measured can be shown beside what the learner did
            answer, sentence = quiz.decide([handle.record for handle in handles])
            if answer is None:
                st.warning(sentence)
            else:
                right = answer.label == kept.answer
                if kept.correct != right:
                    store.save_prediction(session.token(), lesson.name, question, kept.answer, kept.run_id, right)
                (st.success if right else st.info)(
                    f"You predicted **{kept.answer}**. {sentence} "
                    + ("You were right." if right else f"The runs say **{answer.label}**."))
                if quiz.why:
                    st.markdown(quiz.why)
        if st.button("Predict again", key=f"{key}_again"):
            store.save_prediction(session.token(), lesson.name, question, kept.answer, None, None)
            st.session_state.pop(key, None)
            st.rerun()
        return decided


session.learner()
session.notices()
lessons = all_lessons()
if not lessons:
    st.info("No lessons found in the `lessons/` folder.")
    st.stop()
by_name = {lesson.name: lesson for lesson in lessons}
chosen = by_name[st.sidebar.radio("Lesson", list(by_name), format_func=lambda name: by_name[name].title,
                                  key="lessons_chosen")]

revealed: set[int] = set()  # the quizzes decided so far; a ```reveal block waits for its quiz
for number, block in enumerate(chosen.blocks):
    if block.after_quiz and block.after_quiz not in revealed:
        continue
    if block.kind == "markdown":
        st.markdown(block.text)
    elif block.kind == "math":
        st.latex(block.text)
    elif block.kind == "try":
        columns = st.columns([3, 2])
        if columns[0].button(f"▶ Try it: {block.label}", key=f"lessons_try_{chosen.name}_{number}",
                             width="stretch"):
            widgets.open_preset(block.config)
        page = widgets.preset_page(block.config)
        link = session.link_to(page, dict(urllib.parse.parse_qsl(block.query)), here="lessons")
        columns[1].caption(f"Share as a link: {link}")
    elif block.kind == "sweep":
        sweep_view.lesson_sweep(block, key=f"lessons_sweep_{chosen.name}_{number}")
    elif block.kind == "quiz":
        if quiz_ui(chosen, block.quiz):
            revealed.add(block.quiz.number)
