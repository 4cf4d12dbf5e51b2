"""The command-line contract: flags, the JSON it writes, and one-line errors with exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlab.cli import build_parser, config_from_args

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlab", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_flags_parse_into_the_config_with_task_defaults():
    arguments = build_parser().parse_args(["train", "--task", "adding", "--cell", "gru", "--units", "16",
                                           "--layers", "2", "--bidirectional", "--activation", "relu",
                                           "--learning-rate", "0.01", "--seed", "4", "--vocab", "3000"])
    config = config_from_args(arguments)
    assert (config.task, config.cell, config.units, config.layers, config.bidirectional) == \
        ("adding", "gru", 16, 2, True)
    assert config.activation == "relu" and config.learning_rate == 0.01 and config.seed == 4
    assert config.seq_len == 50 and config.samples == 6000  # the adding task's own defaults
    assert config.vocab_size == 3000
    maxlen = config_from_args(build_parser().parse_args(["train", "--task", "imdb", "--maxlen", "80"]))
    assert maxlen.seq_len == 80


def test_train_writes_the_contract_json(tmp_path):
    out = tmp_path / "run.json"
    result = run_cli("train", "--task", "recall", "--seq-len", "6", "--samples", "64", "--cell", "simplernn",
                     "--units", "4", "--epochs", "2", "--batch-size", "16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 2 and "val_loss" in epoch_lines[0]
    record = json.loads(out.read_text())
    assert record["config"]["cell"] == "simplernn" and record["config"]["samples"] == 64
    assert set(record["history"]) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert all(len(values) == 2 for values in record["history"].values())
    assert record["params"] == 4 * (4 + 4 + 1) + (4 + 1) * 4
    assert record["wall_seconds"] > 0 and record["samples_per_second"] > 0
    assert 0 <= record["test_accuracy"] <= 1
    assert "grad_norms" not in record  # only when asked for


@pytest.mark.slow
def test_grad_norms_flag_adds_one_entry_per_epoch(tmp_path):
    out = tmp_path / "run.json"
    result = run_cli("train", "--task", "adding", "--seq-len", "5", "--samples", "32", "--eval-samples", "16",
                     "--units", "3", "--layers", "2", "--bidirectional", "--epochs", "2", "--grad-norms",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    norms = json.loads(out.read_text())["grad_norms"]
    assert len(norms) == 2
    for epoch in norms:
        assert set(epoch) == {"lstm_1", "lstm_2"}
        assert set(epoch["lstm_1"]) == {"forward", "backward"}
        assert all(len(values) == 5 and all(v >= 0 for v in values) for values in epoch["lstm_1"].values())


@pytest.mark.parametrize("arguments, words", [
    (["train", "--units", "0"], "Units per layer must be between 1 and 512"),
    (["train", "--cell", "transformer"], "invalid choice: 'transformer'"),
    (["train", "--epochs", "many"], "invalid int value: 'many'"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ([], "the following arguments are required: command"),
    (["train", "--samples", "200000", "--seq-len", "2000", "--task", "adding"], "GB"),
])
def test_bad_arguments_print_one_line_and_exit_2(arguments, words):
    result = run_cli(*arguments)
    expected_code = 1 if words == "GB" else 2  # the size is only known to be absurd once the data is planned
    assert result.returncode == expected_code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error:") and words in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
