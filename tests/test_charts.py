"""The run charts draw exactly the numbers they are given, and say how many sequences they cover."""

import numpy as np

from rnnlab import charts
from rnnlab.config import RunConfig
from rnnlab.records import RunRecord
from rnnlab.tasks import make_dataset


def test_confusion_counts_every_prediction_and_says_how_many():
    data = make_dataset(RunConfig(task="recall", seq_len=5, samples=32, eval_samples=300))
    rng = np.random.default_rng(0)
    predictions = rng.dirichlet(np.ones(4), size=300).astype(np.float32)  # (300, 4) class probabilities
    figure = charts.predictions_figure(data, predictions)
    matrix = np.asarray(figure.data[0].z)
    expected = np.zeros((4, 4), dtype=int)
    for truth, guess in zip(data.y_val, predictions.argmax(axis=1)):
        expected[truth, guess] += 1
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == 300 and figure.layout.title.text.startswith("300 validation sequences")


def test_regression_scatter_draws_each_answer_against_its_target():
    data = make_dataset(RunConfig(task="adding", seq_len=6, samples=32, eval_samples=120))
    predictions = np.linspace(0, 2, 120, dtype=np.float32)[:, None]  # (120, 1)
    figure = charts.predictions_figure(data, predictions)
    np.testing.assert_allclose(figure.data[0].x, data.y_val[:, 0])
    np.testing.assert_allclose(figure.data[0].y, predictions[:, 0])
    assert "120 validation sequences" in figure.layout.title.text


def test_loss_chart_breaks_at_epochs_and_draws_the_baseline():
    record = RunRecord(RunConfig(), baseline_loss=0.5, history={"loss": [0.4, 0.2], "val_loss": [0.3, 0.25]},
                       batch_progress=[0.5, 1.0, 1.5, 2.0], batch_loss=[0.45, 0.4, 0.25, 0.2], steps_per_epoch=2)
    figure = charts.loss_figure([record])
    within = next(trace for trace in figure.data if trace.name == "training, within epoch")
    assert list(within.x) == [0.5, 1.0, None, 1.5, 2.0]  # Keras's running mean restarts each epoch
    assert list(next(trace for trace in figure.data if trace.name == "validation").y) == [0.3, 0.25]
    assert figure.layout.shapes[0].y0 == 0.5 and figure.layout.yaxis.title.text == "loss: mean squared error"
