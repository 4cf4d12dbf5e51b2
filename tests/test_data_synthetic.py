"""The synthetic tasks: shapes, seeding, that each sequence really encodes its task, and sequences a learner types."""

import math

import numpy as np
import pytest

from rnnlab.config import RunConfig
from rnnlab.data import Dataset, DataError, get_task, make_dataset
from rnnlab.data.synthetic import SYNTHETIC_TASKS as TASKS


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


def test_the_registry_holds_every_task_the_configuration_names():
    from rnnlab.config import TASK_NAMES
    from rnnlab.data import all_tasks

    tasks = all_tasks()
    assert list(tasks) == list(TASK_NAMES)
    for name, task in tasks.items():
        assert task.name == name and task.title and task.description
        assert task.kind in ("regression", "binary", "multiclass", "next_token")
    with pytest.raises(ValueError, match="Unknown task 'transformer'; choose one of"):
        get_task("transformer")


def test_absurd_sizes_get_a_message_instead_of_exhausting_memory():
    with pytest.raises(DataError, match="would need about .* GB; use fewer sequences or shorter ones"):
        make_dataset(RunConfig(task="adding", seq_len=2000, samples=200_000))


# --- Typed sequences: each task reads its own ------------------------------------------------------------


@pytest.fixture(scope="module")
def datasets():
    return {task: make_dataset(RunConfig(task=task, seq_len=8, samples=16, eval_samples=16))
            for task in ("sine", "count", "adding", "recall")}


def test_sine_reads_numbers_separated_by_commas_or_spaces(datasets):
    x = parse(" 0, 0.5  -1;2\n−0.25 ", datasets["sine"])
    assert x.dtype == np.float32 and x.shape == (1, 5, 1)
    np.testing.assert_array_equal(x[0, :, 0], [0, 0.5, -1, 2, -0.25])


def test_count_takes_whole_numbers_and_scales_them_like_the_task(datasets):
    dataset = datasets["count"]
    scale = get_task("count").scale(dataset)
    assert scale == 9 + 5 * 8 and str(int(scale)) in get_task("count").typing_help(dataset)
    # The task's own data is whole numbers divided by this scale, so typed 7 means what the network saw for 7.
    raw = dataset.x_val * scale
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-4)
    x = parse("1, 3, 5, 7", dataset)
    np.testing.assert_allclose(x[0, :, 0], np.array([1, 3, 5, 7]) / scale, rtol=1e-6)
    assert "**12.00**" in get_task("count").answer_text(dataset, np.array([12 / scale]), target=np.array([13 / scale]))


def test_adding_reads_pairs_or_two_lines(datasets):
    dataset = datasets["adding"]
    pairs = parse("0.3:0 0.9:1, 0.2 0.5:1", dataset)
    np.testing.assert_allclose(pairs[0], [[0.3, 0], [0.9, 1], [0.2, 0], [0.5, 1]], rtol=1e-6)
    lines = parse("0.3 0.9 0.2 0.5\n0 1 0 1", dataset)
    np.testing.assert_array_equal(lines, pairs)


def test_recall_reads_letters_with_or_without_spaces(datasets):
    dataset = datasets["recall"]
    x = parse("A b C D a", dataset)
    assert x.shape == (1, 5, 4) and x[0].argmax(axis=-1).tolist() == [0, 1, 2, 3, 0] and x.sum() == 5
    np.testing.assert_array_equal(parse("ABCDA", dataset), x)


def parse(text, dataset):
    return get_task(dataset.task).parse(text, dataset)


@pytest.mark.parametrize("task", ["sine", "count", "adding", "recall"])
def test_example_text_reads_back_as_the_validation_sequence(datasets, task):
    dataset = datasets[task]
    x = parse(get_task(task).example_text(dataset, dataset.x_val[0]), dataset)
    np.testing.assert_allclose(x[0], dataset.x_val[0], atol=0.006)  # sine and adding are written to 2 decimals


@pytest.mark.parametrize("task, text, words", [
    ("sine", "", "empty"),
    ("sine", "0.5", "1 step; type at least 2"),
    ("sine", "0.1, x, 0.3", "'x' is not a number"),
    ("sine", "0.1 nan", "not a finite number"),
    ("sine", " ".join(["0.1"] * 2001), "2,001 steps; type at most 2,000"),
    ("count", "1, 2.5, 4", "whole numbers"),
    ("adding", "0.3:2 0.1:0", "marker must be 0 or 1"),
    ("adding", "0.3 0.1 0.2\n0 1", "3 values but the second has 2 markers"),
    ("adding", ":1 0.2:0", "no value before the colon"),
    ("recall", "A B E", "'E' is not a token"),
])
def test_bad_input_gets_one_sentence_saying_what_to_type(datasets, task, text, words):
    with pytest.raises(ValueError, match=words) as error:
        parse(text, datasets[task])
    assert "\n" not in str(error.value) and str(error.value).rstrip().endswith(".")


def test_the_longest_sequence_is_accepted_and_tokens_are_refused(datasets):
    assert parse(" ".join(["0.1"] * 2000), datasets["sine"]).shape == (1, 2000, 1)
    tokens = Dataset(task="imdb", title="", description="", kind="binary", x_train=np.zeros((2, 4), np.int32),
                     y_train=np.zeros(2), x_val=np.zeros((2, 4), np.int32), y_val=np.zeros(2),
                     x_test=np.zeros((2, 4), np.int32), y_test=np.zeros(2), baseline_loss=0.7,
                     baseline_description="")
    assert not get_task("imdb").can_type
    with pytest.raises(ValueError, match="not offered for IMDB sentiment; pick a validation example"):
        get_task("imdb").parse("a b c", tokens)


@pytest.mark.parametrize("task, text, answer", [
    ("adding", "0.3:0 0.9:1 0.2:0 0.5:1", 1.4),   # the sum of the marked values
    ("recall", "C A B D", 2),                       # the first token (C is class 2)
])
def test_typed_sequences_of_adding_and_recall_carry_their_true_answer(datasets, task, text, answer):
    x = parse(text, datasets[task])
    assert float(np.ravel(get_task(task).true_answer(x[0]))[0]) == pytest.approx(answer, rel=1e-6)
    # A forecast's next value is not in the sequence, so there is no true answer to show for a typed one.
    assert get_task("sine").true_answer(parse("0, 0.5", datasets["sine"])[0]) is None
