"""The Gradients through time page: its sentences, its figures, and the page itself through AppTest.

The sentence and figure tests use hand-made norms, so every expected word follows from numbers written here. The
page tests train tiny real runs (seconds each) and check that what the page prints matches what the runs recorded.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import lab_runs, learner_with
from rnnlab import explain
from rnnlab.config import RunConfig
from rnnlab.engine.threads import TrainingJob

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "gradients.py")
TINY = dict(task="adding", seq_len=8, samples=32, eval_samples=32, units=3, epochs=2)


# --- The page ---------------------------------------------------------------------------------------------------

def finished_job(**changes) -> TrainingJob:
    job = TrainingJob(RunConfig(**{**TINY, **changes}), record_grad_norms=True, record_gates=True).start()
    job.join(120)
    assert job.done, "a tiny run did not finish within 120 s"
    return job


@pytest.fixture(scope="module")
def lstm_job():
    return finished_job(cell="lstm")


def page(runs=None) -> AppTest:
    """The page opened by a learner whose runs are these (saved in the store, as the app keeps them)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["learner"] = learner_with(runs or [])
    return at.run()


def chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_titled(at, start: str) -> dict:
    return next(spec for spec in chart_specs(at) if spec["layout"]["title"]["text"].startswith(start))


def markdown_text(at) -> str:
    return "\n".join(element.value for element in at.markdown)


def test_page_without_runs_shows_the_guard_and_still_offers_the_race():
    at = page()
    assert not at.exception
    assert any("No finished runs yet" in info.value for info in at.info)
    assert at.button(key="grad_race_start").disabled is False
    assert not at.get("plotly_chart")


def test_page_shows_a_finished_run_with_its_recorded_numbers(lstm_job):
    at = page([lstm_job])
    assert not at.exception
    record = lstm_job.record
    text = markdown_text(at)
    assert f"**Before training**, {explain.describe_ratio(record.grad_norms_at_init['lstm_1']['forward'])}." in text
    assert f"**After epoch 2**, {explain.describe_ratio(record.grad_norms[-1]['lstm_1']['forward'])}." in text
    curve = chart_titled(at, "Gradient reaching each step")
    assert curve["layout"]["yaxis"]["type"] == "log"
    assert curve["layout"]["xaxis"]["title"]["text"] == "time step t"
    assert curve["layout"]["yaxis"]["title"]["text"] == "‖∂L/∂h_t‖ (log scale)"
    heatmap = chart_titled(at, "Epoch by epoch")["data"][0]
    recorded = [record.grad_norms_at_init] + record.grad_norms
    np.testing.assert_allclose(heatmap["z"], [np.log10(norms["lstm_1"]["forward"]) for norms in recorded],
                               rtol=1e-6)
    # The forget gate's mean per epoch comes from the recorded gates.
    forget = chart_titled(at, "Mean forget gate")["data"][0]["y"]
    assert forget == pytest.approx([float(np.mean(g["lstm_1"]["forward"]["forget"]))
                                    for g in [record.gates_at_init] + record.gates], rel=1e-6)

    at.select_slider(key=f"grad_epoch_{lstm_job.run_id}").set_value(1).run()
    assert f"**After epoch 1**, {explain.describe_ratio(record.grad_norms[0]['lstm_1']['forward'])}." in markdown_text(at)


@pytest.mark.slow
def test_page_shows_every_layer_and_direction_of_a_stacked_bidirectional_run():
    job = finished_job(cell="gru", layers=2, bidirectional=True, seq_len=6)
    at = page([job])
    assert not at.exception
    norms = job.record.grad_norms[-1]
    text = markdown_text(at)
    for layer in ("gru_1", "gru_2"):
        for direction in ("forward", "backward"):
            assert f"- {layer} ({direction}): {explain.describe_ratio(norms[layer][direction], direction)}" in text
    assert any("gradient reaching step 6" in line for line in text.splitlines() if "(backward)" in line)
    at.selectbox(key=f"grad_heat_{job.run_id}").set_value(("gru_2", "backward")).run()
    heatmap = chart_titled(at, "Epoch by epoch · gru_2 (backward)")["data"][0]
    recorded = [job.record.grad_norms_at_init] + job.record.grad_norms
    np.testing.assert_allclose(heatmap["z"], [np.log10(n["gru_2"]["backward"]) for n in recorded], rtol=1e-6)


def test_page_shows_a_diverged_run_without_crashing():
    job = finished_job(cell="simplernn", activation="relu", recurrent_initializer="identity", recurrent_gain=3.0,
                       seq_len=40, samples=256, batch_size=32)
    assert job.record.status == "diverged"
    at = page([job])
    assert not at.exception
    assert [error.value for error in at.error] == [job.record.message]
    assert "No epoch finished" in " ".join(caption.value for caption in at.caption)
    growing = explain.describe_ratio(job.record.grad_norms_at_init["simplernn_1"]["forward"])
    assert "times the one at step 40" in growing and f"**Before training**, {growing}." in markdown_text(at)
    assert "That is an exploding gradient" in markdown_text(at)
    radius = next(metric for metric in at.metric if metric.label.startswith("Spectral radius"))
    assert radius.value == "NaN"  # the weights overflowed


@pytest.mark.slow
def test_race_button_queues_three_cells_with_the_settings_on_the_page(lstm_job):
    at = page([lstm_job])
    at.radio(key="grad_race_task").set_value("recall").run()
    assert at.number_input(key="grad_race_seq_len_recall").value == 20  # the task's own default length
    at.number_input(key="grad_race_seq_len_recall").set_value(5)
    at.number_input(key="grad_race_samples_recall").set_value(32)
    at.number_input(key="grad_race_units").set_value(3)
    at.number_input(key="grad_race_epochs").set_value(1)
    at.button(key="grad_race_start").click().run()
    assert not at.exception
    runs = lab_runs(at)
    queued = [runs[run_id] for run_id in at.session_state["grad_race_ids"]]
    assert [job.config.cell for job in queued] == ["simplernn", "lstm", "gru"]
    assert {(job.config.task, job.config.seq_len, job.config.samples, job.config.units, job.config.epochs)
            for job in queued} == {("recall", 5, 32, 3, 1)}
    assert len(runs) == 4 and at.button(key="grad_race_start").disabled  # busy while the race runs
    for job in queued:
        job.join(timeout=60)
    assert all(job.record.status == "finished" for job in queued)

    at.run()
    assert not at.exception
    assert at.multiselect(key="grad_race_chosen").value == [job.run_id for job in queued]
    race = chart_titled(at, "Gradient through time, after training")
    assert [trace["name"].split(" · ")[0] for trace in race["data"]] == ["SimpleRNN 3", "LSTM 3", "GRU 3"]
    assert len(chart_titled(at, "Validation loss by run")["data"]) == 3
    table = at.table[0].value  # a static table: every column shows in full
    assert list(table["run"]) == [job.record.name for job in queued]
    after = [explain.format_factor(explain.gradient_ratio(next(iter(job.record.grad_norms[-1].values()))["forward"]))
             for job in queued]
    assert list(table["ratio after training"]) == after


@pytest.mark.slow
def test_the_race_selector_shows_the_races_runs_from_the_start_as_its_charts_do():
    before = [finished_job(cell=cell) for cell in ("lstm", "gru")]  # they fill the selector before any race
    at = page(before)
    assert at.multiselect(key="grad_race_chosen").value == [job.run_id for job in before]
    at.number_input(key="grad_race_seq_len_adding").set_value(5)
    at.number_input(key="grad_race_samples_adding").set_value(32)
    at.number_input(key="grad_race_units").set_value(3)
    at.number_input(key="grad_race_epochs").set_value(1)
    at.button(key="grad_race_start").click().run()
    assert not at.exception
    race = at.session_state["grad_race_ids"]
    assert at.multiselect(key="grad_race_chosen").value == race  # while racing, not the runs before it
    runs = lab_runs(at)
    for run_id in race:
        assert runs[run_id].join(timeout=60)
    at.run()
    assert not at.exception and not at.warning
    assert at.multiselect(key="grad_race_chosen").value == race
    shown = at.multiselect(key="grad_race_chosen").format_func
    names = [shown(run_id) for run_id in race]
    assert [trace["name"] for trace in chart_titled(at, "Validation loss by run")["data"]] == names
    assert list(at.table[0].value["run"]) == names
    # The settings' limits come from the configuration, not from numbers written in the page.
    from rnnlab.config import field_info
    assert at.number_input(key="grad_race_samples_adding").max == field_info("samples")["high"]


@pytest.mark.slow
def test_a_preset_trained_here_says_on_its_own_tab_how_it_ended():
    at = page()
    at.button(key="grad_train_2").click().run()  # the relu SimpleRNN with identity×2: its loss turns into NaN
    assert not at.exception
    finish = next(iter(lab_runs(at).values()))
    assert finish.join(timeout=120) and finish.record.status == "diverged"
    at.run()
    knobs = at.tabs[2]
    assert [error.value for error in knobs.error] == [f"**{finish.record.name}**: {finish.record.message}"]
    # Its query is code that scrolls, not text that wraps mid-word.
    assert any(code.value == "?" + "task=adding&cell=simplernn&activation=relu&recurrent_initializer=identity"
               "&recurrent_gain=2" for code in knobs.code)


def test_the_starting_spectral_radii_come_from_the_lab_whatever_the_data_size():
    from rnnlab.introspect import spectral_radii
    from rnnlab.lab import get_lab
    from rnnlab.models import untrained_model

    config = RunConfig(task="adding", cell="simplernn", seq_len=8, samples=3000, eval_samples=700, units=5, layers=2,
                       recurrent_initializer="glorot_uniform", seed=3)  # a radius that depends on the seed
    expected = spectral_radii(untrained_model(config)[0])  # the network as the run built it, with all its data
    found = get_lab().initial_spectral_radii(config)
    assert found.keys() == expected.keys()
    for layer in expected:
        assert found[layer]["forward"] == pytest.approx(expected[layer]["forward"])
    other = get_lab().initial_spectral_radii(config.replace(seed=4))
    assert other["simplernn_1"]["forward"] != pytest.approx(found["simplernn_1"]["forward"])


def test_the_race_caption_words_its_timing_as_the_measured_range():
    # "about 5–20 s on two cores" was contradicted by a GRU that took 42.3 s (issue 18.12).
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "gradients.py"), default_timeout=90).run()
    captions = " ".join(caption.value for caption in at.caption)
    assert "6–14 s on two quiet cores" in captions and "up to 42 s" in captions and "5–20 s" not in captions
