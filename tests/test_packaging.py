"""RNN Lab as an installable package: its metadata agrees with requirements.txt, and `pip install .` gives an
importable `rnnlab` and an `rnnlab` command that work outside the project folder."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import rnnlab

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lines) -> dict[str, str]:
    """{normalised name with extras: the whole requirement} of every `name==version` requirement."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*==\s*(\S+)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = f"{match.group(1)}=={match.group(2)}"
        else:
            assert not line or line == "-e .", f"not an exact pin: {line!r}"
    return found


def test_the_package_and_requirements_pin_the_same_versions():
    required = pins((ROOT / "requirements.txt").read_text().splitlines())
    package = pins(PROJECT["dependencies"])
    extras = pins([item for group in PROJECT["optional-dependencies"].values() for item in group])
    assert not set(package) & set(extras), "a requirement is listed twice in pyproject.toml"
    # Every pin of requirements.txt is the package's or one of its extras', with the same version, and back.
    assert {**package, **extras} == required
    # What the package itself imports at run time is a dependency, not an extra (the app's Streamlit is).
    for name in ("tensorflow-cpu", "numpy", "pandas", "plotly", "dask[distributed]", "nbformat", "tensorboard"):
        assert name in package, name
    assert "streamlit" in extras and "streamlit" not in package


def test_the_set_up_command_installs_this_folder_as_a_package():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "-e ." in lines
    assert PROJECT["name"] == "rnnlab" and PROJECT["requires-python"] == ">=3.11"
    assert PROJECT["scripts"] == {"rnnlab": "rnnlab.cli:main"}
    assert "version" in PROJECT["dynamic"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "rnnlab.__version__"}


def _outside_environment(target: Path) -> dict:
    """Only `target` on the path: nothing from the project folder (pytest puts it on sys.path, not PYTHONPATH)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PYTHONPATH"] = str(target)
    return environment


@pytest.mark.slow
def test_pip_install_gives_an_importable_package_and_the_rnnlab_command(tmp_path):
    # A copy of what pip reads, so the build's own files (build/, *.egg-info) never land in the project folder.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copytree(ROOT / "rnnlab", source / "rnnlab", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                             str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = _outside_environment(target)

    check = subprocess.run([sys.executable, "-c", (
        "import importlib.metadata as m, rnnlab, rnnlab.engine.worker, rnnlab.export\n"
        "print(rnnlab.__file__)\n"
        "print(m.version('rnnlab'))\n"
        "[point] = m.entry_points(group='console_scripts', name='rnnlab')\n"
        "import rnnlab.cli\n"
        "print(point.load() is rnnlab.cli.main)\n")],
        cwd=elsewhere, env=environment, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    where, version, same = check.stdout.split()
    assert Path(where).is_relative_to(target) and version == rnnlab.__version__ and same == "True"

    # The installed command itself, run from elsewhere: a Keras script of the same network.
    command = target / "bin" / "rnnlab"
    assert command.is_file()
    exported = subprocess.run([str(command), "export", "--task", "adding", "--cell", "gru"], cwd=elsewhere,
                              env=environment, capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert "keras.layers.GRU(" in exported.stdout
    bad = subprocess.run([str(command), "train", "--units", "many"], cwd=elsewhere, env=environment,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--units" in bad.stderr
    assert "(see 'rnnlab train --help')" in bad.stderr  # named as it was started
