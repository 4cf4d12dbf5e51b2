"""A class through the app (AppTest): making one, its two links, joining, the teacher's view of several learners'
runs, a pinned preset, and a learner's prediction on a lesson's question reaching the teacher."""

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from helpers import fake_record, finish_runs
from rnnlab import classroom, explain
from rnnlab.config import from_link
from rnnlab.lab import get_lab
from rnnlab.lessons import all_lessons
from rnnlab.text_safety import markdown_literal

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def page(name: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def save(store, token, record):
    store.save_run(token, record)
    for epoch in range(1, record.epochs_done + 1):
        store.save_epoch(record, epoch)


def test_a_teacher_makes_a_class_and_gets_two_links():
    at = page("classroom.py")
    assert not at.exception
    at.text_input[0].input("Period 3")
    at.button[0].click().run()  # the form's "Make a class"
    assert not at.exception
    teacher = at.session_state["class_teacher"]
    room = get_lab().store.class_by_teacher(teacher)
    assert room is not None and room.title == "Period 3"
    # Issue 17.8: the teacher's link is never in the projector's address bar, and shows only on request.
    assert "teacher" not in at.query_params
    links = [element.value for element in at.code]
    assert links == [f"/?join={room.join_token}"] and not any(room.teacher_token in text for text in links)
    at.toggle(key="class_show_link").set_value(True).run()
    links = [element.value for element in at.code]
    assert f"/?join={room.join_token}" in links and f"/classroom?teacher={room.teacher_token}" in links


def test_a_teacher_link_leaves_the_address_and_a_new_one_replaces_it():
    store = get_lab().store
    room = store.new_class("Period 7")
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception and not at.error
    assert "teacher" not in at.query_params  # the session holds it now
    assert not any(room.teacher_token in element.value for element in (*at.code, *at.markdown))
    at.run()  # a redraw without the address still opens the class
    assert not at.error and at.subheader[0].value == "Period 7"
    at.toggle(key="class_show_link").set_value(True).run()
    at.button(key="class_new_link").click().run()
    assert not at.exception and "no longer opens this page" in at.success[0].value
    renewed = store.class_by_join(room.join_token)
    assert renewed.teacher_token != room.teacher_token and renewed.class_id == room.class_id
    assert store.class_by_teacher(room.teacher_token) is None  # the old link stops working at once
    assert f"/classroom?teacher={renewed.teacher_token}" in [element.value for element in at.code]
    old = page("classroom.py", teacher=room.teacher_token)
    assert "This teacher link is not valid" in old.error[0].value and not old.table
    assert page("classroom.py", teacher=renewed.teacher_token).subheader[0].value == "Period 7"


def test_a_learners_link_or_a_join_link_never_opens_the_teachers_view():
    store = get_lab().store
    room = store.new_class("Closed")
    learner = store.new_learner("Ada")
    for wrong in (learner.token, room.join_token, room.teacher_token + "x"):
        at = page("classroom.py", teacher=wrong)
        assert not at.exception
        assert len(at.error) == 1 and "This teacher link is not valid" in at.error[0].value
        assert not at.get("plotly_chart") and not at.table


def class_with_one_run(name: str):
    """(store, class, learner, run): a new class whose one learner, Ada, has one finished LSTM run."""
    store = get_lab().store
    room = store.new_class(name)
    learner = store.new_learner("Ada")
    store.join(learner.token, room.join_token)
    record = fake_record("lstm", val_loss=(0.15, 0.02))
    save(store, learner.token, record)
    return store, room, learner, record


def test_the_teachers_view_gathers_every_learners_runs():
    store = get_lab().store
    room = store.new_class("Period 4")
    runs = {"Ada": [("simplernn", 0.147), ("lstm", 0.012)], "Bob": [("lstm", 0.02), ("gru", 0.003)],
            "Cy": [("simplernn", 0.151)]}
    records = []
    for name, cells in runs.items():
        learner = store.new_learner(name)
        store.join(learner.token, room.join_token)
        for cell, loss in cells:
            record = fake_record(cell, val_loss=(0.15, loss))
            records.append(record)
            save(store, learner.token, record)
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception and not at.error
    assert f"**{explain.class_answer(records)}**" in [element.value for element in at.markdown]
    assert "0 of 2 SimpleRNN runs, 2 of 2 LSTM runs and 1 of 1 GRU run" in explain.class_answer(records)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(figure["data"]) == 5 and {trace["legendgroup"] for trace in figure["data"]} == \
        {"simplernn", "lstm", "gru"}
    assert any("Ada · " in text for trace in figure["data"] for text in trace["text"])
    table = at.table[0].value
    assert list(table["runs"]) == [1, 2, 2] and list(table["learners"]) == [1, 2, 2]
    at.toggle(key="class_hide").set_value(True).run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = {text.split(" · ")[0] for trace in figure["data"] for text in trace["text"]}
    assert shown == {"learner 1", "learner 2", "learner 3"}  # no names on the projector


def test_joining_puts_the_learner_in_the_class_and_opens_its_pinned_preset():
    store = get_lab().store
    room = store.new_class("Period 5")
    store.pin_preset(room.teacher_token, "task=adding&cell=simplernn&seq_len=50")
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["join"] = room.join_token
    at.run()
    assert not at.exception
    assert any("You joined the class **Period 5**" in element.value for element in at.success)
    learner = store.learner(at.session_state["learner"])
    assert learner.class_id == room.class_id
    assert at.sidebar.radio(key="cfg_cell").value == "simplernn" and at.sidebar.number_input(key="cfg_seq_len").value \
        == 50
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["join"] = "no-such-class"
    at.run()
    assert any("This class link is not valid" in warning.value for warning in at.warning)


@pytest.mark.slow
def test_a_prediction_waits_for_an_answer_then_the_runs_decide_it_and_the_teacher_sees_it():
    store = get_lab().store
    room = store.new_class("Period 6")
    learner = store.new_learner("Ada")
    store.join(learner.token, room.join_token)
    lesson = all_lessons()[0]
    (quiz,) = lesson.quizzes()  # does a 16-unit SimpleRNN learn the sine forecast?
    at = page("lessons.py", learner=learner.token)
    key = f"lessons_quiz_{lesson.name}_1"
    assert at.button(key=f"{key}_run").disabled  # no answer picked: nothing to run
    measured = "What we measured: validation loss 0.017, 0.013 and 0.016"  # the lesson's ```reveal (issue 18.2)
    assert not any(measured in element.value for element in at.markdown)
    at.radio(key=key).set_value(quiz.answers[1].label).run()
    assert not at.button(key=f"{key}_run").disabled
    at.button(key=f"{key}_run").click().run()
    assert not at.exception
    finish_runs(at, timeout=180)
    at.run()
    (handle,) = get_lab().runs(learner.token).values()
    answer, sentence = quiz.decide([handle.record])
    verdicts = [element.value for element in (*at.success, *at.info)]
    assert any(sentence in verdict and f"You predicted **{quiz.answers[1].label}**" in verdict
               for verdict in verdicts), verdicts
    assert any(measured in element.value for element in at.markdown)  # decided: the lesson's own figures show
    (prediction,) = store.predictions(learner.token)
    assert prediction.correct == (answer.label == quiz.answers[1].label) and prediction.run_id == handle.run_id
    assert handle.config == quiz.presets()[0] == from_link("task=sine&cell=simplernn&units=16")
    teacher = page("classroom.py", teacher=room.teacher_token)
    predicted = [table.value for table in teacher.table if "question" in table.value.columns]
    assert predicted and predicted[0]["question"][0] == quiz.question
    assert predicted[0]["answers"][0] == f"{quiz.answers[1].label}: 1"


HOSTILE = ("![](https://host/p.png)", "[Sign in](https://host)", "<b>big</b><img src=x>")


def test_learner_written_text_is_drawn_as_text_on_the_projector():
    """Issue 17.7: names, run names and the class title render Markdown in st.table and st.subheader, and Plotly's
    hover takes its HTML subset; each is escaped where it is drawn."""
    store = get_lab().store
    room = store.new_class("[Sign in](https://host)")
    for name in HOSTILE:
        learner = store.new_learner(name)
        store.join(learner.token, room.join_token)
        record = fake_record("lstm", val_loss=(0.15, 0.02))
        record.name = name
        save(store, learner.token, record)
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception
    drawn = [at.subheader[0].value, *(value for table in at.table for column in table.value.columns
                                      for value in table.value[column].astype(str))]
    # The store already drops some markup from names and titles ("[]<>"), which leaves a bare, linkable URL.
    assert at.subheader[0].value == markdown_literal(room.title) == markdown_literal("Sign in(https://host)")
    for text in drawn:  # rendered as CommonMark, nothing is a tag; no bare "https://" is left for GFM to link
        rendered = MarkdownIt("commonmark").render(text)
        assert not re.search(r"<(?!/?p>)", rendered) and "://" not in text, (text, rendered)
    (every_run,) = [table.value for table in at.table if "learner" in table.value.columns]
    assert sorted(every_run["learner"]) == sorted(markdown_literal(learner.name)
                                                  for learner in store.members(room.class_id))
    assert sorted(every_run["run"]) == sorted(markdown_literal(name) for name in HOSTILE)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    hovers = [text for trace in figure["data"] for text in trace["text"]]
    assert hovers and not any("<" in text or ">" in text for text in hovers)
    assert any("&lt;b&gt;big&lt;/b&gt;" in text for text in hovers)


def test_uploaded_runs_are_shown_to_nobody_as_the_classs_findings():
    store, room, learner, trained = class_with_one_run("Period 8")
    pairs = store.class_runs(room.class_id)
    sent = fake_record("gru", val_loss=(0.15, 0.001))
    sent.uploaded = True  # the trust helper's mark on a run that came in as a file
    assert classroom.counted([*pairs, (pairs[0][0], sent)]) == pairs
    assert classroom.uploaded(sent) and not classroom.uploaded(trained)


def test_the_projectors_tables_read_as_words_and_rounded_numbers():
    """Issue 18.14: no "bidirectional False", no "median seconds 6.7448", no raw "val_loss" header."""
    store = get_lab().store
    room = store.new_class("Period 9")
    learner = store.new_learner("Ada")
    store.join(learner.token, room.join_token)
    record = fake_record("lstm", val_loss=(0.15, 0.0123456))
    record.wall_seconds = 6.7448
    save(store, learner.token, record)
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception
    configurations, every_run = (table.value for table in at.table)
    (row,) = configurations.to_dict("records")
    assert row["both directions"] == "no" and row["median seconds"] == "6.7"
    assert row["best validation loss"] == "0.0123" and row["runs with a result"] == 1
    assert "bidirectional" not in configurations.columns and "configuration" not in configurations.columns
    assert list(every_run.columns) == ["learner", "run", "status", "epochs", "validation loss"]
    assert every_run["validation loss"][0] == "0.0123"


def _place(node, label: str, path: tuple = ()) -> tuple | None:
    """Where in the page's element tree the expander `label` is: the indices from the main area down."""
    for index, child in getattr(node, "children", {}).items():
        if getattr(child, "type", None) == "expander" and getattr(child, "label", None) == label:
            return path + (index,)
        found = _place(child, label, path + (index,))
        if found is not None:
            return found
    return None


def test_the_projectors_elements_keep_their_places_when_the_queue_comes_and_goes(monkeypatch):
    # The Class page redraws itself every few seconds. When the queue table appeared or went, every element after
    # it moved one place, and while a redraw ran the browser showed the old and new copies at once (two "Every run"
    # expanders; a browser test found them). Whether anyone trains or not, "Every run" stays where it was.
    from pages import session

    _, room, _, record = class_with_one_run("Period 6")
    quiet = page("classroom.py", teacher=room.teacher_token)
    assert not quiet.exception
    row = {"run_id": record.run_id, "worker": "tcp://127.0.0.1:40123", "place": None, "wait_seconds": None,
           "after": None}
    monkeypatch.setattr(session, "queue_rows", lambda: [row])
    busy = page("classroom.py", teacher=room.teacher_token)
    assert not busy.exception
    assert any("Training and waiting now" in element.value for element in busy.markdown)  # the queue is drawn
    assert _place(quiet.main, "Every run") == _place(busy.main, "Every run") is not None
    # Nobody training: the same two elements, the table's place taken by a sentence that says so.
    assert any(element.value == "Nobody in the class is training or waiting." for element in quiet.caption)
    assert not any(element.value == "Nobody in the class is training or waiting." for element in busy.caption)
