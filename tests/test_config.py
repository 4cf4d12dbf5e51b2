"""The run configuration: validation messages, URL and dict round trips, task defaults."""

import pytest

from rnnlab.config import RunConfig, TASK_DEFAULTS, defaults_for_task, field_info, from_link


def test_defaults_are_valid_and_train_the_sine_task():
    config = RunConfig()
    assert config.task == "sine" and config.cell == "lstm" and config.units == 32


@pytest.mark.parametrize("changes, words", [
    ({"units": 0}, "Units per layer must be between 1 and 512"),
    ({"units": 513}, "Units per layer must be between 1 and 512"),
    ({"layers": 5}, "Stacked layers must be between 1 and 4"),
    ({"cell": "transformer"}, "Cell must be one of simplernn, lstm, gru"),
    ({"activation": "sigmoid"}, "Activation must be one of tanh, relu"),
    ({"optimizer": "adagrad"}, "Optimizer must be one of adam, rmsprop, sgd"),
    ({"learning_rate": 0.0}, "Learning rate must be between"),
    ({"dropout": 1.0}, "Dropout must be between 0 and 0.9"),
    ({"units": 3.5}, "Units per layer must be a whole number"),
    ({"bidirectional": "yes"}, "Bidirectional must be true or false"),
    ({"learning_rate": float("nan")}, "Learning rate must be a finite number"),
    ({"seq_len": 1}, "Sequence length (time steps) must be between 2 and 2000"),
    ({"samples": 10**9}, "Training sequences must be between"),
])
def test_invalid_values_raise_a_sentence_naming_the_setting(changes, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        RunConfig(**changes)


def test_query_round_trip_keeps_only_changed_fields():
    config = RunConfig(task="adding", cell="gru", units=64, bidirectional=True, learning_rate=0.01)
    query = config.to_query()
    assert query == {"task": "adding", "cell": "gru", "units": "64", "bidirectional": "true",
                     "learning_rate": "0.01"}
    assert RunConfig.from_query(query) == config


def test_query_ignores_other_parameters_and_rejects_bad_values():
    assert RunConfig.from_query({"page": "x", "units": "16"}).units == 16
    with pytest.raises(ValueError, match="Units per layer must be a whole number"):
        RunConfig.from_query({"units": "many"})
    with pytest.raises(ValueError, match="Bidirectional must be true or false"):
        RunConfig.from_query({"bidirectional": "maybe"})


def test_dict_round_trip_and_unknown_keys():
    config = RunConfig(cell="simplernn", layers=3, forget_bias=5.0)
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="Unknown setting 'colour'"):
        RunConfig.from_dict({"colour": "red"})


def test_task_defaults_apply_each_tasks_settings():
    for task, settings in TASK_DEFAULTS.items():
        config = defaults_for_task(task, RunConfig(cell="gru"))
        assert config.task == task and config.cell == "gru"
        for name, value in settings.items():
            assert getattr(config, name) == value
    with pytest.raises(ValueError, match="Unknown task"):
        defaults_for_task("chess")


def test_field_info_describes_each_setting():
    info = field_info("units")
    assert info["label"] == "Units per layer" and info["low"] == 1 and info["high"] == 512 and info["type"] is int
    assert "the word" not in info["help"]


def test_label_names_cell_shape_and_task():
    assert RunConfig(cell="gru", units=16, layers=2, bidirectional=True, task="adding", seq_len=50).label() == \
        "GRU 16×2 bi · adding T=50"


def test_a_link_takes_its_tasks_defaults_then_its_own_settings():
    config = from_link("task=adding&cell=simplernn&units=8")
    assert (config.task, config.cell, config.units, config.seq_len, config.samples) == \
        ("adding", "simplernn", 8, 50, 6000)
    assert from_link({"seq_len": "12", "page": "ignored"}) == RunConfig(seq_len=12)
    with pytest.raises(ValueError, match="Stacked layers must be between 1 and 4"):
        from_link("?layers=9")


def test_a_link_keeps_its_valid_values_and_names_every_bad_one():
    from rnnlab.config import read_link

    config, errors = read_link("?cell=transformer&seq_len=abc&units=8&task=adding&learner=xyz")
    assert config.units == 8 and config.task == "adding" and config.samples == TASK_DEFAULTS["adding"]["samples"]
    assert config.cell == "lstm" and config.seq_len == TASK_DEFAULTS["adding"]["seq_len"]  # the defaults stand in
    assert errors == ["Cell must be one of simplernn, lstm, gru; 'transformer' is not.",
                      "Sequence length (time steps) must be a whole number, not 'abc'."]
    config, errors = read_link({"task": "chess", "units": "4"})
    assert config.task == "sine" and config.units == 4 and errors == [
        "Task must be one of sine, count, adding, recall, imdb, text; 'chess' is not."]
    assert read_link("task=recall&units=16") == (from_link("task=recall&units=16"), [])
