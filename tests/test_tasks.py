"""The synthetic tasks: shapes, seeding, and that each sequence really encodes its task."""

import math

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.tasks import TASKS, make_dataset


@pytest.mark.parametrize("task, features", [("sine", 1), ("count", 1), ("adding", 2), ("recall", 4)])
def test_shapes_and_types(task, features):
    data = make_dataset(RunConfig(task=task, seq_len=12, samples=100, eval_samples=40))
    assert data.x_train.shape == (100, 12, features) and data.x_train.dtype == np.float32
    assert data.x_val.shape == data.x_test.shape == (40, 12, features)
    if data.kind == "regression":
        assert data.y_train.shape == (100, 1) and data.y_train.dtype == np.float32
    else:
        assert data.y_train.shape == (100,) and data.y_train.dtype == np.int32
    assert len(data.feature_names) == features and data.description == TASKS[task].description


@pytest.mark.parametrize("task", sorted(TASKS))
def test_same_seed_same_data_and_validation_independent_of_training_size(task):
    first = make_dataset(RunConfig(task=task, samples=100, seed=3))
    again = make_dataset(RunConfig(task=task, samples=100, seed=3))
    bigger = make_dataset(RunConfig(task=task, samples=300, seed=3))
    other = make_dataset(RunConfig(task=task, samples=100, seed=4))
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.x_val, bigger.x_val)
    assert not np.array_equal(first.x_train, other.x_train)
    assert not np.array_equal(first.x_val, first.x_test)


def test_adding_marks_one_value_in_each_half_and_targets_their_sum():
    data = make_dataset(RunConfig(task="adding", seq_len=50, samples=2000))
    values, markers = data.x_train[..., 0], data.x_train[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :25].sum(axis=1) == 1) and np.all(markers[:, 25:].sum(axis=1) == 1)
    np.testing.assert_allclose(data.y_train[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    # The sum of two U(0, 1) values has variance 2/12: a network that learned nothing scores about 0.167.
    assert data.baseline_loss == pytest.approx(1 / 6, abs=0.02)


def test_recall_label_is_the_first_token_and_baseline_is_chance():
    data = make_dataset(RunConfig(task="recall", seq_len=20, samples=2000))
    np.testing.assert_array_equal(data.x_train[:, 0].argmax(axis=1), data.y_train)
    assert np.all(data.x_train.sum(axis=2) == 1)  # one token per step
    assert data.baseline_loss == pytest.approx(math.log(4), abs=0.02)
    assert data.class_names == ("A", "B", "C", "D")


def test_count_continues_an_arithmetic_sequence():
    data = make_dataset(RunConfig(task="count", seq_len=6, samples=200))
    steps = np.diff(data.x_train[..., 0], axis=1)
    np.testing.assert_allclose(steps, steps[:, :1].repeat(5, axis=1), atol=1e-6)
    np.testing.assert_allclose(data.y_train[:, 0], data.x_train[:, -1, 0] + steps[:, 0], atol=1e-6)
    assert np.abs(data.x_train).max() <= 1 and np.all(steps != 0)


def test_sine_target_is_the_next_value_of_the_wave_under_the_noise():
    data = make_dataset(RunConfig(task="sine", seq_len=30, samples=50))
    steps = np.arange(31)
    residuals, errors = [], []
    for window, target in zip(data.x_train[..., 0], data.y_train[:, 0]):
        # Fit a sine of each candidate frequency by least squares and keep the best: an independent reading of
        # the wave under the noise, which then predicts step 31.
        best = None
        for frequency in np.arange(0.03, 0.1005, 0.0005):
            basis = np.stack([np.sin(2 * np.pi * frequency * steps), np.cos(2 * np.pi * frequency * steps)], 1)
            weights, *_ = np.linalg.lstsq(basis[:30], window, rcond=None)
            residual = window - basis[:30] @ weights
            if best is None or residual.std() < best[0].std():
                best = (residual, basis[30] @ weights)
        residuals.append(best[0].std())
        errors.append(abs(best[1] - target))
    assert 0.07 < np.median(residuals) < 0.12  # the readings carry noise of standard deviation 0.1
    assert np.median(errors) < 0.06  # and the target is the clean wave's next value
    assert data.baseline_loss == pytest.approx(0.5, abs=0.15)


def test_absurd_sizes_get_a_message_instead_of_exhausting_memory():
    with pytest.raises(ValueError, match="would need about .* GB; use fewer sequences or shorter ones"):
        make_dataset(RunConfig(task="adding", seq_len=2000, samples=200_000))
