"""The ground floor: every RNNLAB_* variable read in one place, with one sentence per bad value."""

import os

import pytest

from rnnlab import settings


def test_unset_variables_take_their_defaults():
    current = settings.current({})
    assert current.workers is None and current.scheduler is None and current.data_dir is None
    assert current.poll_seconds == 1.0
    assert current.home == os.path.abspath(os.path.expanduser("~/.rnnlab"))


def test_values_are_parsed_by_kind():
    current = settings.current({"RNNLAB_WORKERS": " 0 ", "RNNLAB_MAX_RUN_MB": "512.5", "RNNLAB_SCHEDULER":
                                "tcp://127.0.0.1:8786", "RNNLAB_DATA_DIR": "~/data", "RNNLAB_POLL_SECONDS": ""})
    assert current.workers == 0
    assert current.max_run_mb == 512.5
    assert current.scheduler == "tcp://127.0.0.1:8786"
    assert current.data_dir == os.path.expanduser("~/data")
    assert current.poll_seconds == 1.0  # empty is unset


@pytest.mark.parametrize("variable, value, sentence", [
    ("RNNLAB_WORKERS", "three", "RNNLAB_WORKERS must be a whole number of 0 or more, not 'three'."),
    ("RNNLAB_WORKERS", "-1", "RNNLAB_WORKERS must be a whole number of 0 or more, not '-1'."),
    ("RNNLAB_MAX_RUN_MB", "nan", "RNNLAB_MAX_RUN_MB must be a number of 1 or more, not 'nan'."),
    ("RNNLAB_POLL_SECONDS", "0", "RNNLAB_POLL_SECONDS must be a number of 0.05 or more, not '0'."),
])
def test_a_bad_value_is_one_sentence_naming_the_variable(variable, value, sentence):
    with pytest.raises(settings.SettingsError) as raised:
        settings.current({variable: value})
    assert str(raised.value) == sentence


def test_every_setting_is_described_once():
    variables = [variable for variable, _, _ in settings.describe()]
    assert len(variables) == len(set(variables))
    assert all(variable.startswith("RNNLAB_") for variable in variables)


def test_the_ground_floor_imports_nothing_of_the_package():
    source = open(settings.__file__).read()
    assert "from rnnlab" not in source.split('"""', 2)[2] and "import rnnlab" not in source.split('"""', 2)[2]
