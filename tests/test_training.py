"""The trainer: history, stopping, divergence, reproducibility, subscribers, and the run record's JSON."""

import math

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.records import RunRecord
from rnnlab.training import Trainer, TrainerCallback, train


class Counter(TrainerCallback):
    def __init__(self):
        self.calls = {"begin": 0, "batch": 0, "epoch": 0, "end": 0}

    def on_train_begin(self, record):
        self.calls["begin"] += 1

    def on_batch_end(self, record):
        self.calls["batch"] += 1

    def on_epoch_end(self, record):
        self.calls["epoch"] += 1

    def on_train_end(self, record):
        self.calls["end"] += 1


def test_regression_run_records_history_batches_and_cost(tiny_config):
    counter = Counter()
    record = train(tiny_config, callbacks=[counter])
    assert record.status == "finished" and record.epochs_done == 2
    assert set(record.history) == {"loss", "val_loss"} and all(len(v) == 2 for v in record.history.values())
    assert record.steps_per_epoch == 4 and record.steps_done == 8 and len(record.batch_loss) == 8
    assert record.batch_progress == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert counter.calls == {"begin": 1, "batch": 8, "epoch": 2, "end": 1}
    assert record.params == 4 * 4 * (4 + 1 + 1) + 5
    assert record.wall_seconds > 0 and record.samples_per_second > 0 and len(record.epoch_seconds) == 2
    assert record.test_loss is not None and record.test_accuracy is None
    # Keras's batch loss is a running mean over the epoch, so an epoch's last batch point is the epoch's loss.
    assert record.batch_loss[3] == pytest.approx(record.history["loss"][0], rel=1e-6)


def test_classification_run_reports_accuracy_and_test_accuracy(tiny_config):
    record = train(tiny_config.replace(task="recall", cell="gru"))
    assert {"accuracy", "val_accuracy", "loss", "val_loss"} == set(record.history)
    assert 0.0 <= record.test_accuracy <= 1.0
    assert record.baseline_loss == pytest.approx(math.log(4), abs=0.2)


@pytest.mark.slow
def test_same_config_and_seed_give_the_same_curve(tiny_config):
    first, again = train(tiny_config), train(tiny_config)
    other = train(tiny_config.replace(seed=7))
    assert first.history == again.history and first.batch_loss == again.batch_loss
    assert first.history != other.history


def test_stop_ends_the_run_after_the_batch_in_progress(tiny_config):
    class StopAfterThree(TrainerCallback):
        def on_batch_end(self, record):
            if record.steps_done == 3:
                trainer.stop()

    trainer = Trainer(tiny_config.replace(epochs=50), callbacks=[StopAfterThree()])
    record = trainer.run()
    assert record.status == "stopped" and record.steps_done == 3
    assert record.epochs_done == 0  # a cut-short epoch is not history


def test_exploding_gradients_stop_the_run_with_an_explanation():
    config = RunConfig(task="adding", seq_len=40, samples=128, eval_samples=32, cell="simplernn", units=8,
                       activation="relu", recurrent_initializer="identity", recurrent_gain=3.0, epochs=5,
                       batch_size=32)
    record = train(config)
    assert record.status == "diverged" and record.steps_done < 4 * 5
    assert "gradients exploded" in record.message and "clipnorm" in record.message
    assert record.to_json()  # a NaN loss still makes valid JSON


def test_failed_data_marks_the_record_and_reraises(tiny_config):
    trainer = Trainer(tiny_config.replace(task="imdb", imdb_csv="/nonexistent/reviews.csv"))
    with pytest.raises(ValueError):
        trainer.run()
    assert trainer.record.status == "failed" and "reviews.csv" in trainer.record.message


def test_record_round_trips_through_json(tiny_config):
    trainer = Trainer(tiny_config, record_grad_norms=True, record_gates=True)
    record = trainer.run()
    again = RunRecord.from_json(record.to_json())
    assert again.config == record.config and again.history == record.history
    assert again.batch_loss == pytest.approx(record.batch_loss) and again.params == record.params
    assert len(again.grad_norms) == 2 and len(again.gates) == 2
    np.testing.assert_allclose(again.grad_norms[1]["lstm_1"]["forward"], record.grad_norms[1]["lstm_1"]["forward"],
                               rtol=1e-6)
    np.testing.assert_allclose(again.gates[0]["lstm_1"]["forward"]["forget"],
                               record.gates[0]["lstm_1"]["forward"]["forget"], rtol=1e-6)
    frame = again.history_frame()
    assert list(frame.columns) == ["epoch", "loss", "val_loss"] and list(frame["epoch"]) == [1, 2]
    with pytest.raises(ValueError, match="not a run record"):
        RunRecord.from_json("[1, 2]")


@pytest.mark.slow
def test_probes_are_recorded_at_initialisation_and_each_epoch(tiny_config):
    trainer = Trainer(tiny_config.replace(epochs=3), record_grad_norms=True, record_gates=True)
    record = trainer.run()
    assert record.grad_norms_at_init["lstm_1"]["forward"].shape == (8,)
    assert len(record.grad_norms) == 3 and len(record.gates) == 3
    assert record.gates[-1]["lstm_1"]["forward"]["forget"].shape == (1, 8, 4)
    # The network changed between epochs, and the probes saw it.
    assert not np.allclose(record.gates_at_init["lstm_1"]["forward"]["hidden"],
                           record.gates[-1]["lstm_1"]["forward"]["hidden"])


def test_snapshot_is_an_independent_copy(tiny_config):
    record = train(tiny_config)
    copy = record.snapshot()
    copy.history["loss"].append(123.0)
    copy.batch_loss.append(1.0)
    assert record.history["loss"][-1] != 123.0 and len(record.batch_loss) == 8
