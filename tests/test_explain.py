"""Sentences computed from numbers (`rnnlab.explain`): every word follows from numbers written here."""

import math

import numpy as np
import pytest

from helpers import fake_record
from rnnlab import explain
from rnnlab.config import RunConfig
from rnnlab.introspect.gradients import gradient_ratio
from rnnlab.records import RunRecord


# --- Gradient ratios in words --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (1e-5, "10⁻⁵"), (2.2e-5, "2×10⁻⁵"), (9.6e-6, "10⁻⁵"), (3.4e14, "3×10¹⁴"), (1e8, "10⁸"),
    (0.31, "0.31"), (36.4, "36"), (0.0, "0"), (math.nan, "not a number"), (math.inf, "infinite"),
])
def test_format_factor_uses_superscript_powers_of_ten(value, text):
    assert explain.format_factor(value) == text


def test_describe_ratio_vanishing_matches_the_issue_example():
    norms = np.geomspace(1e-5, 1.0, 100)  # step 1 is 1e-5 of step 100
    assert explain.describe_ratio(norms) == "the gradient reaching step 1 is 10⁻⁵ of the one at step 100"
    assert gradient_ratio(norms) == pytest.approx(1e-5)


def test_describe_ratio_growing_and_flat():
    assert explain.describe_ratio([36.0, 5.0, 1.0]) == "the gradient reaching step 1 is 36 times the one at step 3"
    assert explain.describe_ratio(np.geomspace(3e14, 1.0, 50)) == \
        "the gradient reaching step 1 is 3×10¹⁴ times the one at step 50"
    flat = explain.describe_ratio([0.8, 0.9, 1.0])
    assert flat.startswith("the gradient reaching step 1 is about the same size as the one at step 3")
    assert "0.8 times" in flat


def test_describe_ratio_backward_direction_travels_from_step_1_to_step_t():
    norms = np.geomspace(1.0, 1e-3, 20)  # a backward direction answers after reading step 1
    assert explain.describe_ratio(norms, "backward") == "the gradient reaching step 20 is 10⁻³ of the one at step 1"
    assert gradient_ratio(norms, "backward") == pytest.approx(1e-3)


def test_describe_ratio_is_safe_on_zero_nan_and_short_inputs():
    assert "no gradient reaches" in explain.describe_ratio(np.zeros(10))
    assert explain.describe_ratio([0.0, 0.5, 1.0]) == ("the gradient reaching step 1 is 0: it shrank below what the "
                                                  "computer can represent on its way back from step 3")
    assert "not both finite numbers" in explain.describe_ratio([math.nan, 1.0, 2.0])
    assert "not both finite numbers" in explain.describe_ratio([1.0, math.inf])
    assert explain.describe_ratio([]) == "no gradient norms were recorded"
    assert "single time step" in explain.describe_ratio([1.0])
    assert math.isnan(gradient_ratio([math.nan, 1.0])) and math.isnan(gradient_ratio([1.0, 0.0]))


# --- Explaining a run and a race --------------------------------------------------------------------------------

def test_explain_run_words_follow_the_numbers():
    learned = " ".join(explain.explain_run(fake_record(), epoch=2))
    assert "Almost none of the error signal" in learned  # 1e-8 before training
    assert "the gradient reaching step 1 is 0.2 of the one at step 50" in learned
    assert "2×10⁷ times larger" in learned
    assert "learned the task" in learned and "the two go together here" in learned

    stuck = " ".join(explain.explain_run(fake_record(first=1e-2, later=(1e-4, 4e-4), val_loss=(0.15, 0.147)), 2))
    assert "learned nothing measurable" in stuck and "the two fit together" in stuck
    assert "Training made that share 25 times smaller" in stuck


def test_explain_race_checks_whether_the_ratios_sort_the_runs():
    # The adding race as measured by hand: SimpleRNN had the most gradient at step 1 before training, the least after.
    records = [fake_record("simplernn", 8e-3, (4e-4,), (0.147,)), fake_record("lstm", 2e-5, (0.2,), (0.012,)),
               fake_record("gru", 4e-11, (0.48,), (0.003,))]
    text = " ".join(explain.explain_race(records))
    assert "Below half the learned-nothing loss: **LSTM 32, GRU 32**" in text
    assert "Not below half of it: **SimpleRNN 32**" in text
    assert ("Before training, the share of the gradient reaching step 1 does not sort the runs that learned from "
            "those that did not: a run that learned had a share as small as 4×10⁻¹¹, one that did not as large as "
            "8×10⁻³.") in text
    assert "After training, every run that learned kept a larger share" in text


# --- How a run ended ---------------------------------------------------------------------------------------------

def test_a_finished_run_is_judged_against_the_learned_nothing_loss():
    # The SimpleRNN of the adding race: it finished, but its loss stayed at the baseline. No green "success".
    stuck = fake_record("simplernn", val_loss=(0.15, 0.147), baseline=0.155)
    verdict = explain.run_verdict(stuck)
    assert verdict.level == "warning"
    assert "learned nothing measurable" in verdict.sentence
    assert "validation loss 0.147 against 0.155 for a network that learned nothing" in verdict.sentence

    solved = fake_record("gru", val_loss=(0.15, 0.0026), baseline=0.155)
    assert explain.run_verdict(solved) == explain.Verdict(
        "success", "Finished 2 epochs in 0.0 s. It learned the task: validation loss 0.0026 against 0.155 for a "
                   "network that learned nothing.")


def test_a_run_far_above_the_baseline_is_not_a_success():
    # A clipped relu SimpleRNN measured here ended near 10²⁸: finished, never diverged, and far worse than nothing.
    clipped = fake_record("simplernn", val_loss=(3e28, 2.1e28), baseline=0.155)
    verdict = explain.run_verdict(clipped)
    assert verdict.level == "warning" and "did worse than answering the average" in verdict.sentence
    assert "2×10²⁸" in verdict.sentence


def test_diverged_failed_and_early_stopped_runs_say_what_happened():
    diverged = fake_record()
    diverged.status, diverged.message = "diverged", "The loss became NaN at batch 3: the gradients exploded."
    assert explain.run_verdict(diverged) == explain.Verdict("error", diverged.message)
    early = fake_record()
    early.status, early.history, early.batch_loss = "stopped", {}, [0.2, 0.1]
    verdict = explain.run_verdict(early)
    assert verdict.level == "info" and "before the first epoch ended (2 batches)" in verdict.sentence
    early.batch_loss = [0.2]  # stopped while the first batch trained, as a Stop pressed before the first point is
    assert "before the first epoch ended (1 batch)," in explain.run_verdict(early).sentence
    classifier = RunRecord(RunConfig(task="recall"), status="finished", baseline_loss=1.386,
                           history={"loss": [0.5], "val_loss": [0.4], "accuracy": [0.8], "val_accuracy": [0.85]})
    assert "validation accuracy 85.0%" in explain.run_verdict(classifier).sentence


def test_a_classifier_is_judged_by_accuracy_against_the_majority_share_with_its_standard_error():
    # The IMDB run of issue 18: its validation loss stayed near the learned-nothing loss (0.647 against 0.692), yet
    # its test accuracy was 75.6% on balanced reviews. "Learned nothing measurable" contradicted that.
    imdb = RunRecord(RunConfig(task="imdb"), status="finished", baseline_loss=0.692, test_accuracy=0.756,
                     history={"loss": [0.6], "val_loss": [0.647], "accuracy": [0.7], "val_accuracy": [0.708]},
                     majority={"validation": [0.5, 2500], "test": [0.502, 2500]})
    verdict = explain.run_verdict(imdb, "reviews")
    assert verdict.level == "success"
    assert "nothing measurable" not in verdict.sentence
    assert ("It learned a good part of the task: test accuracy 75.6% (± 0.9%, its standard error on 2,500 test "
            "reviews) against 50.2% for always answering the commonest class.") in verdict.sentence
    assert "Validation loss 0.647 against 0.692 for a network that learned nothing." in verdict.sentence
    # Without a test accuracy the validation set is the judge; within two standard errors of the majority: nothing.
    guessing = RunRecord(RunConfig(task="recall"), status="finished", baseline_loss=1.386,
                         history={"loss": [1.38], "val_loss": [1.385], "accuracy": [0.26], "val_accuracy": [0.27]},
                         majority={"validation": [0.26, 500]})
    verdict = explain.run_verdict(guessing)
    assert verdict.level == "warning"
    assert ("It learned nothing measurable, within 2 standard errors of the commonest class: validation accuracy "
            "27.0% (± 2.0%, its standard error on 500 validation sequences) against 26.0%") in verdict.sentence
    worse = RunRecord(RunConfig(task="recall"), status="finished", baseline_loss=1.386, test_accuracy=0.1,
                      history={"loss": [1.5], "val_loss": [1.6], "accuracy": [0.1], "val_accuracy": [0.1]},
                      majority={"test": [0.26, 500]})
    assert "did worse than always answering the commonest class" in explain.run_verdict(worse).sentence


def test_a_trained_classifier_records_its_sets_majority_share_and_is_judged_by_it():
    from rnnlab.data import make_dataset
    from rnnlab.training import train

    config = RunConfig(task="recall", seq_len=5, samples=64, eval_samples=40, epochs=1, units=4)
    dataset = make_dataset(config)
    record = train(config, dataset)
    for part, y in (("validation", dataset.y_val), ("test", dataset.y_test)):
        share, count = record.majority[part]
        assert count == len(y) and share == np.bincount(y).max() / len(y)
    assert "for always answering the commonest class" in explain.run_verdict(record).sentence
    assert RunRecord.from_json(record.to_json()).majority == record.majority  # kept in the stored JSON


def test_a_finished_runs_verdict_says_how_long_its_start_took_when_that_is_why_it_was_slow():
    # Issue 19: "about 4 s in all" beside Train, "Finished 10 epochs in 21.5 s" after a cold start. The verdict names
    # the one-off start from the run's own clock when it is a large share of the run, and only then.
    slow_start = fake_record("gru", val_loss=(0.15, 0.0026), baseline=0.155)
    slow_start.wall_seconds, slow_start.first_batch_seconds, slow_start.samples_per_second = 21.5, 9.6, 2900.0
    sentence = explain.run_verdict(slow_start).sentence
    assert sentence.startswith("Finished 2 epochs in 21.5 s (9.6 s of it before the first batch ended: making the "
                               "data, building the network and tracing its graph")
    assert "; 2,900 training sequences per second after the first epoch)." in sentence

    quick_start = fake_record("gru", val_loss=(0.15, 0.0026), baseline=0.155)
    quick_start.wall_seconds, quick_start.first_batch_seconds, quick_start.samples_per_second = 21.5, 2.0, 2900.0
    assert explain.run_verdict(quick_start).sentence.startswith(
        "Finished 2 epochs in 21.5 s (2,900 training sequences per second after the first epoch).")
