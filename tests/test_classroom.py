"""What a class found (`rnnlab.classroom`, `rnnlab.explain.class_answer`), from runs made by hand."""

import pytest

from rnnlab import classroom, explain
from rnnlab.config import RunConfig
from rnnlab.records import RunRecord
from rnnlab.store import Learner, Prediction


def run(cell: str, val_loss: float | None, seq_len: int = 50, units: int = 32, seconds: float = 10.0,
        baseline: float = 0.155) -> RunRecord:
    history = {} if val_loss is None else {"loss": [val_loss], "val_loss": [val_loss]}
    return RunRecord(RunConfig(task="adding", cell=cell, seq_len=seq_len, units=units), status="finished",
                     history=history, baseline_loss=baseline, wall_seconds=seconds)


ADA, BOB, CY = (Learner(token, name, "c1") for token, name in (("a", "Ada"), ("b", "Bob"), ("c", "Cy")))


def test_the_class_answer_counts_runs_that_beat_the_baseline_per_length_and_cell():
    records = [run("lstm", 0.01), run("lstm", 0.02), run("lstm", 0.150), run("simplernn", 0.147),
               run("simplernn", 0.151), run("gru", 0.003), run("simplernn", 0.05, seq_len=10),
               run("lstm", None)]  # still in its first epoch: not judged
    assert explain.class_answer(records) == (
        "At T=10, 1 of 1 SimpleRNN run; at T=50, 0 of 2 SimpleRNN runs, 2 of 3 LSTM runs and 1 of 1 GRU run beat "
        "the learned-nothing loss by more than 10%.")
    assert explain.class_answer([run("lstm", None)]) == "No run of the class has finished an epoch yet."


def test_the_table_groups_runs_by_configuration():
    pairs = [(ADA, run("lstm", 0.01, seconds=8)), (BOB, run("lstm", 0.03, seconds=12)),
             (BOB, run("lstm", 0.02, seconds=10)), (CY, run("gru", 0.003)), (CY, run("lstm", 0.2, units=8)),
             (ADA, run("lstm", None))]
    rows = {row["configuration"]: row for row in classroom.by_configuration(pairs)}
    lstm = rows["LSTM 32 · T=50"]
    assert (lstm["runs"], lstm["learners"], lstm["with a result"]) == (4, 2, 3)
    assert lstm["best validation loss"] == 0.01 and lstm["median validation loss"] == 0.02
    assert lstm["median seconds"] == 10
    assert rows["LSTM 8 · T=50"]["best validation loss"] == 0.2
    assert list(rows) == ["GRU 32 · T=50", "LSTM 8 · T=50", "LSTM 32 · T=50"]


def test_classifiers_are_tabled_by_accuracy_the_higher_the_better():
    def recall(accuracy):
        return RunRecord(RunConfig(task="recall"), status="finished", baseline_loss=1.386,
                         history={"loss": [1.0], "val_loss": [1.0], "accuracy": [accuracy],
                                  "val_accuracy": [accuracy]})

    (row,) = classroom.by_configuration([(ADA, recall(0.4)), (BOB, recall(0.9)), (CY, recall(0.6))])
    assert row["best validation accuracy"] == 0.9 and row["median validation accuracy"] == 0.6


def test_predictions_are_tallied_per_question():
    predictions = [Prediction("a", "04_gru", "q1", "GRU", True, "r1"),
                   Prediction("b", "04_gru", "q1", "LSTM", False, "r2"),
                   Prediction("c", "04_gru", "q1", "GRU", None, None)]
    (row,) = classroom.prediction_table(predictions, {("04_gru", "q1"): "Which cell has fewer parameters?"})
    assert row["question"] == "Which cell has fewer parameters?"
    assert (row["answers"], row["right"], row["measured"]) == ("GRU: 2, LSTM: 1", 1, 2)
    assert classroom.beats_baseline(run("lstm", None)) is None
    assert classroom.beats_baseline(run("lstm", 0.14)) is False and classroom.beats_baseline(run("lstm", 0.13))


@pytest.mark.parametrize("margin, beat", [(0.9, 1), (0.99, 2)])
def test_the_margin_decides_what_counts_as_beating_the_baseline(margin, beat):
    (tally,) = classroom.tallies([run("lstm", 0.10), run("lstm", 0.15)], margin)
    assert (tally.beat, tally.judged) == (beat, 2)
