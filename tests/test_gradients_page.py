"""The Gradients through time page: its sentences, its figures, and the page itself through AppTest.

The sentence and figure tests use hand-made norms, so every expected word follows from numbers written here. The
page tests train tiny real runs (seconds each) and check that what the page prints matches what the runs recorded.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnlab import gradient_charts as gc
from rnnlab.config import RunConfig
from rnnlab.engine.threads import TrainingJob
from rnnlab.records import RunRecord

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "gradients.py")
TINY = dict(task="adding", seq_len=8, samples=32, eval_samples=32, units=3, epochs=2)


# --- Sentences --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (1e-5, "10⁻⁵"), (2.2e-5, "2×10⁻⁵"), (9.6e-6, "10⁻⁵"), (3.4e14, "3×10¹⁴"), (1e8, "10⁸"),
    (0.31, "0.31"), (36.4, "36"), (0.0, "0"), (math.nan, "not a number"), (math.inf, "infinite"),
])
def test_format_factor_uses_superscript_powers_of_ten(value, text):
    assert gc.format_factor(value) == text


def test_describe_ratio_vanishing_matches_the_issue_example():
    norms = np.geomspace(1e-5, 1.0, 100)  # step 1 is 1e-5 of step 100
    assert gc.describe_ratio(norms) == "the gradient reaching step 1 is 10⁻⁵ of the one at step 100"
    assert gc.gradient_ratio(norms) == pytest.approx(1e-5)


def test_describe_ratio_growing_and_flat():
    assert gc.describe_ratio([36.0, 5.0, 1.0]) == "the gradient reaching step 1 is 36 times the one at step 3"
    assert gc.describe_ratio(np.geomspace(3e14, 1.0, 50)) == \
        "the gradient reaching step 1 is 3×10¹⁴ times the one at step 50"
    flat = gc.describe_ratio([0.8, 0.9, 1.0])
    assert flat.startswith("the gradient reaching step 1 is about the same size as the one at step 3")
    assert "0.8 times" in flat


def test_describe_ratio_backward_direction_travels_from_step_1_to_step_t():
    norms = np.geomspace(1.0, 1e-3, 20)  # a backward direction answers after reading step 1
    assert gc.describe_ratio(norms, "backward") == "the gradient reaching step 20 is 10⁻³ of the one at step 1"
    assert gc.gradient_ratio(norms, "backward") == pytest.approx(1e-3)


def test_describe_ratio_is_safe_on_zero_nan_and_short_inputs():
    assert "no gradient reaches" in gc.describe_ratio(np.zeros(10))
    assert gc.describe_ratio([0.0, 0.5, 1.0]) == ("the gradient reaching step 1 is 0: it shrank below what the "
                                                  "computer can represent on its way back from step 3")
    assert "not both finite numbers" in gc.describe_ratio([math.nan, 1.0, 2.0])
    assert "not both finite numbers" in gc.describe_ratio([1.0, math.inf])
    assert gc.describe_ratio([]) == "no gradient norms were recorded"
    assert "single time step" in gc.describe_ratio([1.0])
    assert math.isnan(gc.gradient_ratio([math.nan, 1.0])) and math.isnan(gc.gradient_ratio([1.0, 0.0]))


# --- Figures and explanations from hand-made records -------------------------------------------------------------

def fake_record(cell="lstm", first=1e-8, later=(1e-6, 0.2), val_loss=(0.15, 0.01), baseline=0.155, steps=50):
    """A record of an adding run whose bottom-layer curve falls geometrically to `first` (then `later`) at step 1."""
    record = RunRecord(RunConfig(task="adding", cell=cell, seq_len=steps, epochs=len(later)))
    layer = f"{cell}_1"
    record.grad_norms_at_init = {layer: {"forward": np.geomspace(first, 1.0, steps)}}
    record.grad_norms = [{layer: {"forward": np.geomspace(ratio, 1.0, steps)}} for ratio in later]
    record.history = {"loss": list(val_loss), "val_loss": list(val_loss)}
    record.baseline_loss = baseline
    record.status = "finished"
    return record


def test_norm_curve_figure_is_a_labelled_log_plot_before_and_after():
    record = fake_record()
    record.grad_norms[-1]["lstm_1"]["forward"][0] = 0.0  # a zero cannot be drawn on a log axis: a gap
    figure = gc.norm_curve_figure(record, epoch=2)
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.layout.yaxis.title.text == "‖∂L/∂h_t‖ (log scale)"
    assert figure.layout.yaxis.type == "log"
    assert [trace.name for trace in figure.data] == ["lstm_1 · before training", "lstm_1 · after epoch 2"]
    assert figure.data[1].y[0] is None and figure.data[1].y[-1] == pytest.approx(1.0)
    assert len(gc.norm_curve_figure(record, epoch=0).data) == 1


def test_heatmap_colours_are_log10_of_the_recorded_norms():
    record = fake_record()
    figure = gc.norm_heatmap(record, "lstm_1", "forward")
    heatmap = figure.data[0]
    expected = [np.log10(record.grad_norms_at_init["lstm_1"]["forward"])] + \
        [np.log10(norms["lstm_1"]["forward"]) for norms in record.grad_norms]
    np.testing.assert_allclose(np.array(heatmap.z, dtype=float), np.array(expected), rtol=1e-12)
    assert list(heatmap.y) == [0, 1, 2] and list(heatmap.x) == list(range(1, 51))
    assert "log₁₀" in heatmap.colorbar.title.text
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.layout.yaxis.title.text == "epoch (0 = before training)"


def test_race_figure_draws_one_log_curve_per_run():
    records = [fake_record(cell) for cell in ("simplernn", "lstm", "gru")]
    figure = gc.race_norm_figure(records, "before")
    assert len(figure.data) == 3 and figure.layout.yaxis.type == "log"
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.data[0].y[0] == pytest.approx(1e-8)


def test_explain_run_words_follow_the_numbers():
    learned = " ".join(gc.explain_run(fake_record(), epoch=2))
    assert "Almost none of the error signal" in learned  # 1e-8 before training
    assert "the gradient reaching step 1 is 0.2 of the one at step 50" in learned
    assert "2×10⁷ times larger" in learned
    assert "learned the task" in learned and "the two go together here" in learned

    stuck = " ".join(gc.explain_run(fake_record(first=1e-2, later=(1e-4, 4e-4), val_loss=(0.15, 0.147)), 2))
    assert "learned nothing measurable" in stuck and "the two fit together" in stuck
    assert "Training made that share 25 times smaller" in stuck


def test_explain_race_checks_whether_the_ratios_sort_the_runs():
    # The adding race as measured by hand: SimpleRNN had the most gradient at step 1 before training, the least after.
    records = [fake_record("simplernn", 8e-3, (4e-4,), (0.147,)), fake_record("lstm", 2e-5, (0.2,), (0.012,)),
               fake_record("gru", 4e-11, (0.48,), (0.003,))]
    text = " ".join(gc.explain_race(records))
    assert "Below half the learned-nothing loss: **LSTM 32, GRU 32**" in text
    assert "Not below half of it: **SimpleRNN 32**" in text
    assert ("Before training, the share of the gradient reaching step 1 does not sort the runs that learned from "
            "those that did not: a run that learned had a share as small as 4×10⁻¹¹, one that did not as large as "
            "8×10⁻³.") in text
    assert "After training, every run that learned kept a larger share" in text


# --- The page ---------------------------------------------------------------------------------------------------

def finished_job(**changes) -> TrainingJob:
    job = TrainingJob(RunConfig(**{**TINY, **changes}), record_grad_norms=True, record_gates=True).start()
    job.join()
    return job


@pytest.fixture(scope="module")
def lstm_job():
    return finished_job(cell="lstm")


def page(runs=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if runs is not None:
        at.session_state["runs"] = {job.run_id: job for job in runs}
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
    assert f"**Before training**, {gc.describe_ratio(record.grad_norms_at_init['lstm_1']['forward'])}." in text
    assert f"**After epoch 2**, {gc.describe_ratio(record.grad_norms[-1]['lstm_1']['forward'])}." in text
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
    assert f"**After epoch 1**, {gc.describe_ratio(record.grad_norms[0]['lstm_1']['forward'])}." in markdown_text(at)


def test_page_shows_every_layer_and_direction_of_a_stacked_bidirectional_run():
    job = finished_job(cell="gru", layers=2, bidirectional=True, seq_len=6)
    at = page([job])
    assert not at.exception
    norms = job.record.grad_norms[-1]
    text = markdown_text(at)
    for layer in ("gru_1", "gru_2"):
        for direction in ("forward", "backward"):
            assert f"- {layer} ({direction}): {gc.describe_ratio(norms[layer][direction], direction)}" in text
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
    growing = gc.describe_ratio(job.record.grad_norms_at_init["simplernn_1"]["forward"])
    assert "times the one at step 40" in growing and f"**Before training**, {growing}." in markdown_text(at)
    assert "That is an exploding gradient" in markdown_text(at)
    radius = next(metric for metric in at.metric if metric.label.startswith("Spectral radius"))
    assert radius.value == "NaN"  # the weights overflowed


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
    runs = at.session_state["runs"]
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
    table = at.dataframe[0].value
    assert list(table["run"]) == [job.record.name for job in queued]
    after = [gc.format_factor(gc.gradient_ratio(next(iter(job.record.grad_norms[-1].values()))["forward"]))
             for job in queued]
    assert list(table["ratio after training"]) == after
