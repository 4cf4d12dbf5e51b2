"""Build & Train, Compare runs and Lessons through Streamlit's AppTest, with tiny configurations."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnnlab.config import RunConfig, defaults_for_task
from helpers import finish_runs, lab_runs
from rnnlab.engine.threads import TrainingJob
from rnnlab.explain import run_verdict
from rnnlab.records import RunRecord

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TINY = {"samples": 64, "eval_samples": 32, "seq_len": 8, "units": 4, "epochs": 2, "batch_size": 16}


def open_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()




def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_opens_on_build_and_train_ready_with_defaults():
    at = open_app()
    assert not at.exception
    assert at.title[0].value == "Build & Train"
    assert not at.button(key="bt_train").disabled and at.button(key="bt_stop").disabled
    # The default LSTM(32) on one input: 4·32·(32+1+1) + (32+1) parameters, from the closed form.
    assert metric(at, "Trainable parameters") == f"{4 * 32 * 34 + 33:,}"
    assert at.sidebar.selectbox(key="cfg_task").value == "sine"
    # Before a run: three of the task's sequences, and what the run will train and validate on.
    [examples] = [chart for chart in at.get("plotly_chart") if chart.proto.id.endswith("-bt_examples")]
    assert len(json.loads(examples.proto.spec)["data"]) == 6  # three inputs and their true next values
    assert any("trains on 2,000 such sequences and measures its validation loss on 500 others" in caption.value
               for caption in at.caption)


@pytest.mark.slow
def test_every_knob_reaches_the_run_that_trains():
    at = open_app({**{k: str(v) for k, v in TINY.items()}, "cell": "gru", "layers": "2", "bidirectional": "true"})
    at.sidebar.radio(key="cfg_activation").set_value("relu")
    at.sidebar.slider(key="cfg_dropout").set_value(0.1)
    at.sidebar.selectbox(key="cfg_optimizer").set_value("rmsprop")
    at.run()
    at.button(key="bt_train").click().run()
    at = finish_runs(at)
    assert not at.exception
    job = next(iter(lab_runs(at).values()))
    config = job.config
    assert (config.cell, config.layers, config.bidirectional, config.activation, config.dropout, config.optimizer) \
        == ("gru", 2, True, "relu", 0.1, "rmsprop")
    assert [row["kind"] for row in job.record.layers][:2] == ["Bidirectional(GRU)", "Dropout"]
    assert job.model.layers[0].forward_layer.activation.__name__ == "relu"
    # After training: the finished banner, the loss chart, and the network's answers on validation data.
    # The line under the chart is the run's verdict against the learned-nothing loss, in its colour.
    verdict = run_verdict(job.record, "sequences")
    shown = {"success": at.success, "info": at.info, "warning": at.warning, "error": at.error}[verdict.level]
    assert verdict.sentence.startswith("Finished 2 epochs") and verdict.sentence in [e.value for e in shown]
    assert "What the network answers" in [header.value for header in at.subheader]
    assert metric(at, "Epochs done") == "2 / 2"
    assert metric(at, "Validation loss") == f"{job.record.history['val_loss'][-1]:.3g}"


def test_the_address_bar_follows_the_settings():
    at = open_app()
    at.sidebar.number_input(key="cfg_units").set_value(48)
    at.run()
    assert at.query_params["units"] in ("48", ["48"])  # AppTest returns a list in some versions


def test_task_switch_applies_the_tasks_own_defaults():
    at = open_app()
    at.sidebar.selectbox(key="cfg_task").set_value("adding").run()
    assert at.sidebar.number_input(key="cfg_seq_len").value == 50
    assert at.sidebar.number_input(key="cfg_samples").value == 6000


def test_a_bad_link_gets_one_warning_and_the_defaults():
    at = open_app({"units": "lots"})
    assert not at.exception
    assert "Units per layer must be a whole number" in at.warning[0].value
    assert at.sidebar.number_input(key="cfg_units").value == 32


@pytest.mark.slow
def test_compare_runs_overlays_downloads_and_deletes():
    at = open_app({k: str(v) for k, v in TINY.items()})
    at.button(key="bt_train").click().run()
    finish_runs(at)
    at.sidebar.radio(key="cfg_cell").set_value("simplernn").run()
    at.button(key="bt_train").click().run()
    finish_runs(at)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = at.table[0].value
    assert list(table["run"]) == ["LSTM 4 · sine T=8", "SimpleRNN 4 · sine T=8"]
    assert list(table["status"]) == ["finished", "finished"]
    assert len(at.multiselect(key="runs_chosen").value) == 2
    records = [job.record for job in lab_runs(at).values()]
    assert list(table["validation loss"]) == pytest.approx([record.history["val_loss"][-1] for record in records])
    assert list(table["test loss"]) == pytest.approx([record.test_loss for record in records])
    assert "test accuracy" not in table.columns  # regression runs only: no accuracy to show
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["title"]["text"] == "Validation loss by run"
    assert figure["layout"]["yaxis"]["title"]["text"] == "validation loss: mean squared error"
    at.button(key="runs_delete").click().run()
    assert len(lab_runs(at)) == 1 and len(at.table[0].value) == 1


def test_lesson_presets_are_valid_and_open_build_and_train():
    pattern = re.compile(r"```try\n([^\n]+)\n([^\n]+)\n```")
    for path in (ROOT / "lessons").glob("*.md"):
        for label, query in pattern.findall(path.read_text()):
            RunConfig.from_query(dict(pair.split("=", 1) for pair in query.split("&")))  # raises if invalid
    at = open_app()
    at.switch_page("pages/lessons.py").run()
    assert not at.exception
    try_buttons = [button for button in at.button if button.label.startswith("▶ Try it")]
    assert len(try_buttons) >= 3
    try_buttons[1].click().run()  # "The same network on 500 steps"
    assert at.title[0].value == "Build & Train"
    assert at.sidebar.number_input(key="cfg_seq_len").value == 500
    assert at.sidebar.radio(key="cfg_cell").value == "simplernn"
    assert metric(at, "Trainable parameters") == f"{8 * (8 + 2 + 1) + 9:,}"  # the lesson's claim: 88 + head


@pytest.mark.slow
def test_queued_jobs_train_one_after_another_and_a_stopped_queue_never_starts():
    config = RunConfig(**TINY)
    first = TrainingJob(config).start()
    second = TrainingJob(config.replace(cell="gru"), after=first).start()
    third = TrainingJob(config.replace(cell="simplernn"), after=second)
    third.stop()
    third.start()
    for job in (first, second, third):
        job.join(120)
    assert first.record.status == second.record.status == "finished"
    assert second.record.created >= first.record.created + first.record.wall_seconds - 0.5
    assert third.record.status == "stopped" and third.record.steps_done == 0 and third.model is None


def test_run_json_download_is_a_valid_record():
    at = open_app({k: str(v) for k, v in TINY.items()})
    at.button(key="bt_train").click().run()
    finish_runs(at)
    at.switch_page("pages/runs.py").run()
    record = next(iter(lab_runs(at).values())).record
    values = json.loads(record.to_json())
    assert values["config"]["units"] == 4 and len(values["history"]["loss"]) == 2


def test_reruns_leave_keras_state_alone():
    # Streamlit's own clean-up would call keras.backend.clear_session() after every rerun: a full garbage
    # collection per poll that halved training speed, and a reset of Keras's state under running models.
    import keras

    at = open_app()
    before = keras.backend.get_uid("rnnlab_rerun_probe")
    at.run()
    at.run()
    assert keras.backend.get_uid("rnnlab_rerun_probe") == before + 1  # clear_session would restart it at 1


@pytest.mark.slow
def test_absurd_sizes_are_refused_before_they_start_and_the_app_keeps_going():
    at = open_app({"task": "adding", "seq_len": "2000", "samples": "200000"})
    assert not at.exception
    # The budget refuses it before any data is made, naming the knob to turn and both sizes.
    (error,) = at.error
    assert error.value.startswith("Reduce the number of training sequences: this run needs about ")
    assert "GB, the limit is" in error.value and at.button(key="bt_train").disabled
    at.sidebar.number_input(key="cfg_samples").set_value(64)
    at.sidebar.number_input(key="cfg_seq_len").set_value(8)
    at.sidebar.number_input(key="cfg_epochs").set_value(1)
    at.run()
    assert not at.error and not at.button(key="bt_train").disabled
    at.button(key="bt_train").click().run()  # the learner fixes the size and trains in the same session
    at = finish_runs(at)
    assert [job.record.status for job in lab_runs(at).values()] == ["finished"]


def test_the_issues_runaway_network_is_refused_with_the_knob_to_turn():
    # LSTM 512 x 4 layers, bidirectional, T=2000: 21 million parameters; it once took the server to 23.5 GB.
    at = open_app({"cell": "lstm", "units": "512", "layers": "4", "bidirectional": "true", "seq_len": "2000"})
    (error,) = at.error
    assert error.value.startswith("Reduce the sequence length, the batch size or the units: this run needs about ")
    assert at.button(key="bt_train").disabled
    assert any("needs about" in caption.value and "per epoch" in caption.value for caption in at.caption)


def test_the_streamlit_fix_fails_loudly_if_the_hook_it_replaces_is_gone(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner

    from pages import streamlit_fixes

    monkeypatch.delattr(script_runner, streamlit_fixes.HOOK)
    with pytest.raises(RuntimeError, match="RNN Lab cannot start: Streamlit .* has no .*_clean_problem_modules"):
        streamlit_fixes.keep_keras_state()


@pytest.mark.slow
def test_after_the_settings_change_the_shown_run_says_whose_it_is():
    at = open_app({**{k: str(v) for k, v in TINY.items()}, "task": "adding", "cell": "gru"})
    at.button(key="bt_train").click().run()
    at = finish_runs(at)
    assert not any("other settings than the sidebar" in info.value for info in at.info)
    at.sidebar.radio(key="cfg_cell").set_value("simplernn").run()  # as a Try-it preset or a knob would
    banner = next(info.value for info in at.info if "other settings than the sidebar" in info.value)
    assert "**GRU 4 · adding T=8**" in banner
    assert metric(at, "Trainable parameters") == f"{4 * (4 + 2 + 1) + 5:,}"  # the sidebar's SimpleRNN, not the GRU


@pytest.mark.slow
def test_compare_runs_names_identical_runs_apart_and_undoes_a_delete():
    at = open_app({k: str(v) for k, v in TINY.items()})
    for _ in range(2):
        at.button(key="bt_train").click().run()
        finish_runs(at)
    at.sidebar.number_input(key="cfg_forget_bias").set_value(3.0).run()
    at.button(key="bt_train").click().run()
    finish_runs(at)
    at.switch_page("pages/runs.py").run()
    names = list(at.table[0].value["run"])
    assert names == ["LSTM 4 · sine T=8 · forget bias 1 #1", "LSTM 4 · sine T=8 · forget bias 1 #2",
                     "LSTM 4 · sine T=8 · forget bias 3"]
    at.button(key="runs_delete").click().run()
    assert len(at.table[0].value) == 2 and "Deleted" in at.info[0].value
    at.button(key="runs_undo").click().run()
    assert list(at.table[0].value["run"]) == names  # back, in its place


def test_a_lessons_share_link_is_a_whole_link_to_build_and_train():
    at = open_app()
    at.switch_page("pages/lessons.py").run()
    links = [caption.value for caption in at.caption if caption.value.startswith("Share as a link")]
    # Without a browser the address is unknown, so the link is relative to the app; the browser test checks the
    # full address.
    assert links[0] == "Share as a link: /?task=adding&cell=simplernn&units=8&seq_len=10"


def test_the_progress_line_counts_batches_within_the_epoch():
    from pages.progress import progress_text

    record = RunRecord(RunConfig(epochs=10), status="running", steps_per_epoch=32, wall_seconds=6.0,
                       history={"loss": [0.5]}, batch_loss=[0.4] * 62, batch_progress=[0.1] * 62)
    # 6 s for 62 batches, 258 to go: about 25 s left; the batch is counted within epoch 2, not as "62 of 320".
    assert progress_text(record) == "Epoch 2 of 10 · batch 30 of 32 · about 25 s left"
    record.batch_loss = [0.4] * 64  # the epoch's batches are done; Keras validates before the epoch ends
    assert progress_text(record).startswith("Epoch 2 of 10 · batch 32 of 32 · validating")
    assert progress_text(RunRecord(RunConfig(), status="running")) == \
        "Epoch 1 of 10 · preparing the data and the graph"
    # Between epochs no batch of the next has run: never "Epoch 4 of 10 · batch 0 of 32" (issue 18.14).
    record.history, record.batch_loss = {"loss": [0.5, 0.4, 0.3]}, [0.4] * 96
    assert progress_text(record).startswith("Epoch 3 of 10 done · starting epoch 4 · about ")
    record.history, record.batch_loss, record.wall_seconds = {}, [], 0.0
    assert progress_text(record) == "Epoch 1 of 10 · preparing the data and the graph"  # not "batch 0 of 32"


def test_the_imdb_sidebar_names_reviews_and_words():
    at = AppTest.from_file(str(ROOT / "pages" / "imdb.py"), default_timeout=90).run()
    labels = {box.key: box.label for box in at.sidebar.number_input}
    assert labels["imdb_seq_len"] == "Words kept per review" and labels["imdb_samples"] == "Training reviews"
    assert labels["imdb_eval_samples"] == "Validation and test reviews"


def test_an_imdb_preset_opens_on_the_imdb_page_with_its_settings(keras_home):
    # Build & Train offers the synthetic tasks only: an IMDB preset opened there would train a sine wave instead.
    at = open_app()
    at.switch_page("pages/lessons.py").run()
    at.sidebar.radio(key="lessons_chosen").set_value("07_reading_sentiment").run()
    links = [caption.value for caption in at.caption if caption.value.startswith("Share as a link")]
    assert "Share as a link: /imdb?task=imdb&samples=5000&vocab_size=500" in links
    button = next(button for button in at.button if button.label == "▶ Try it: LSTM on 5,000 IMDB reviews, vocabulary 500")
    button.click().run()
    assert not at.exception
    assert at.title[0].value == "IMDB sentiment"
    assert at.sidebar.number_input(key="imdb_samples").value == 5000
    assert at.sidebar.number_input(key="imdb_vocab_size").value == 500
    assert any("not on this server yet" in info.value for info in at.info)  # offline: nothing is downloaded unasked


def test_a_text_preset_opens_on_the_next_word_page_with_its_settings():
    # Build & Train offers the synthetic tasks only: a text preset opened there would train a sine wave instead.
    at = open_app()
    at.switch_page("pages/lessons.py").run()
    at.sidebar.radio(key="lessons_chosen").set_value("08_predicting_the_next_word").run()
    links = [caption.value for caption in at.caption if caption.value.startswith("Share as a link")]
    assert "Share as a link: /next_word?task=text&level=char&seq_len=60" in links
    button = next(button for button in at.button
                  if button.label == "▶ Try it: LSTM(32) on the toy grammar, character by character")
    button.click().run()
    assert not at.exception
    assert at.title[0].value == "Next word"
    assert at.session_state["text_config"].level == "char" and at.session_state["text_config"].seq_len == 60
    assert at.sidebar.number_input(key="text_seq_len").value == 60


@pytest.mark.parametrize("script, task", [("imdb.py", "imdb"), ("next_word.py", "text")])
def test_a_link_opens_its_tasks_own_page_with_its_settings(keras_home, script, task):
    at = AppTest.from_file(str(ROOT / "pages" / script), default_timeout=90)
    at.query_params["task"] = task
    at.query_params["units"] = "64"
    at.query_params["cell"] = "transformer"
    at.run()
    assert not at.exception
    assert at.sidebar.number_input(key=f"{task}_units").value == 64
    # The task's own default for what the link does not give (IMDB: 20,000 reviews).
    assert at.sidebar.number_input(key=f"{task}_samples").value == defaults_for_task(task).samples
    assert "Cell must be one of" in at.warning[0].value


def test_a_learner_names_themselves_and_finds_their_own_link_in_the_sidebar():
    from rnnlab.lab import get_lab

    at = open_app()
    token = at.session_state["learner"]
    # Their own link, to bookmark: a link (the whole address, as text and as its target).
    from rnnlab.text_safety import markdown_literal

    link = f"/?learner={token}"
    assert f"Your link: [{markdown_literal(link)}]({link})" in [block.value for block in at.sidebar.markdown]
    at.sidebar.text_input(key="you_name").input("Ada  Lovelace*").run()
    assert not at.exception
    assert get_lab().store.learner(token).name == "Ada Lovelace"  # one line, no markup characters
    again = open_app({"learner": token})  # a reload with the link: the same learner, the same name
    assert again.session_state["learner"] == token
    assert again.sidebar.text_input(key="you_name").value == "Ada Lovelace"


def test_the_layer_tables_write_counts_as_the_metric_does():
    at = open_app({"units": "64"})  # LSTM(64) on the sine: 16,896 in the recurrent layer
    assert at.metric[0].value == "16,961"
    for table in at.table[:2]:
        assert table.value["parameters"].tolist() == ["16,896", "65"]


@pytest.mark.slow
def test_compare_runs_deletes_a_run_by_the_name_it_showed_and_undo_puts_it_back_in_the_overlay():
    at = open_app({k: str(v) for k, v in TINY.items()})
    for _ in range(2):
        at.button(key="bt_train").click().run()
        finish_runs(at)
    at.switch_page("pages/runs.py").run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in figure["data"]] == ["LSTM 4 · sine T=8 #1", "LSTM 4 · sine T=8 #2"]
    table = at.table[0].value
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()
    overlay = at.multiselect(key="runs_chosen").value
    at.button(key="runs_delete").click().run()
    assert at.info[0].value == "Deleted **LSTM 4 · sine T=8 #2**."  # not the bare name both runs share
    at.button(key="runs_undo").click().run()
    assert not at.exception and not at.warning
    assert at.multiselect(key="runs_chosen").value == overlay  # back in the overlay, not only in the table


def test_learners_get_no_deploy_button():
    import tomllib

    # tomllib refuses a table declared twice (two [client] sections once hid every setting from Streamlit).
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["toolbarMode"] in ("viewer", "minimal")  # "auto" shows Deploy to every visitor
    assert settings["client"]["showErrorDetails"] == "none" and settings["runner"]["postScriptGC"] is False


def test_train_is_off_in_the_very_redraw_its_click_caused_and_says_why():
    # Drawn before its run started, Train looked enabled while the run trained and further clicks did nothing.
    at = open_app({**{k: str(v) for k, v in TINY.items()}, "epochs": "50"})
    at.button(key="bt_train").click().run()
    train = at.button(key="bt_train")
    assert train.disabled and train.help == "A run is training: stop it, or wait for it to end."
    assert [job.record.status for job in lab_runs(at).values()] in (["pending"], ["running"])
    for job in lab_runs(at).values():
        job.stop()
    at = finish_runs(at)
    assert not at.button(key="bt_train").disabled


def test_a_refused_network_is_told_why_train_is_off_not_to_press_it():
    at = open_app({"task": "adding", "seq_len": "2000", "samples": "200000"})
    assert at.button(key="bt_train").disabled and "do not fit" in at.button(key="bt_train").help
    assert [info.value for info in at.info] == ["Train is off until these settings fit: the sentence above names "
                                                "what to change."]
