"""TensorBoard logs round-trip: every value read back from the event files (with TensorFlow's own reader) is the
run record's."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rnnlab import tensorboard
from rnnlab.cli import main
from rnnlab.config import RunConfig
from rnnlab.introspect.gradients import gradient_ratio
from rnnlab.introspect.steps import saturation
from rnnlab.records import RunRecord
from rnnlab.training import Trainer

# Two epochs of a small bidirectional LSTM on a classification task: accuracies, both directions, four gates.
CONFIG = RunConfig(task="recall", seq_len=6, samples=64, eval_samples=16, cell="lstm", units=4, bidirectional=True,
                   epochs=2, batch_size=16)


@pytest.fixture(scope="module")
def record():
    return Trainer(CONFIG, record_grad_norms=True, record_gates=True).run()


def read(folder: Path) -> dict[str, dict[int, np.ndarray]]:
    """{tag: {step: value}} of every summary in the folder's event files, read as TensorBoard reads them."""
    found: dict[str, dict[int, np.ndarray]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                assert event.step not in found.get(value.tag, {}), f"{value.tag} written twice at {event.step}"
                found.setdefault(value.tag, {})[event.step] = tf.make_ndarray(value.tensor)
    return found


def test_every_value_read_back_is_the_records(record, tmp_path):
    folder = tensorboard.write(record, tmp_path)
    assert folder.parent == tmp_path and folder.name.endswith(record.run_id) and folder.name.startswith("lstm")
    logs = read(folder)

    # The history, one scalar per epoch (steps 1..N), for every key Keras reported.
    assert set(record.history) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    for key, values in record.history.items():
        series = logs[f"epoch/{key}"]
        assert sorted(series) == [1, 2]
        np.testing.assert_allclose([float(series[step]) for step in (1, 2)], values, rtol=1e-6)

    # Gradient norms: before training (step 0) and after each epoch, per layer and direction.
    history = record.grad_norm_history()
    assert len(history) == 3
    layers = {(layer, direction) for layer, by in history[0].items() for direction in by}
    assert layers == {("lstm_1", "forward"), ("lstm_1", "backward")}
    for step, norms in enumerate(history):
        for layer, direction in layers:
            values = np.asarray(norms[layer][direction], dtype=np.float64)
            tag = f"gradients/{layer}/{direction}"
            buckets = logs[tag][step]  # (buckets, 3): left edge, right edge, count
            assert buckets[:, 2].sum() == pytest.approx(CONFIG.seq_len)  # one value per time step
            assert buckets[0, 0] == pytest.approx(values.min(), rel=1e-6)
            assert buckets[-1, 1] == pytest.approx(values.max(), rel=1e-6)
            assert float(logs[f"{tag}/ratio"][step]) == pytest.approx(gradient_ratio(values, direction), rel=1e-6)

    # Gate saturation: the share of each sigmoid gate's values below 0.1 and above 0.9, and their histogram.
    gates = record.gate_history()
    assert len(gates) == 3
    for step, trace in enumerate(gates):
        for layer, by_direction in trace.items():
            for direction, values in by_direction.items():
                rows = saturation(values, 0.1, 0.9)
                assert [row["gate"] for row in rows] == ["input", "forget", "output"]
                for row in rows:
                    tag = f"gates/{layer}/{direction}/{row['gate']}"
                    assert float(logs[f"{tag}/shut"][step]) == pytest.approx(row["below"], abs=1e-7)
                    assert float(logs[f"{tag}/open"][step]) == pytest.approx(row["above"], abs=1e-7)
                    assert logs[tag][step][:, 2].sum() == pytest.approx(np.asarray(values[row["gate"]]).size)
    assert record.name.encode() in logs["run"][0].item()


def test_a_record_without_probes_writes_its_history_only(record, tmp_path):
    plain = RunRecord.from_json(record.to_json(include_probes=False))
    logs = read(tensorboard.write(plain, tmp_path / "plain"))
    assert {tag for tag in logs if tag != "run"} == {f"epoch/{key}" for key in record.history}
    # A record read back from JSON with its probes (as the store gives Compare runs) writes everything again.
    stored = RunRecord.from_json(record.to_json())
    assert set(read(tensorboard.write(stored, tmp_path / "stored"))) == set(read(tensorboard.write(record, tmp_path)))


def test_the_zip_holds_the_runs_folder_as_written(record, tmp_path):
    data = tensorboard.zip_logs(record)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names and all(name.startswith(tensorboard.folder_name(record) + "/") for name in names)
        archive.extractall(tmp_path)
    logs = read(tmp_path / tensorboard.folder_name(record))
    assert float(logs["epoch/val_loss"][2]) == pytest.approx(record.history["val_loss"][-1], rel=1e-6)
    assert tensorboard.zip_name(record) == f"tensorboard_{record.run_id}.zip"


@pytest.mark.slow
def test_the_command_line_writes_tensorboard_logs_with_the_probes(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["train", "--task", "adding", "--seq-len", "5", "--samples", "32", "--eval-samples", "16",
                 "--cell", "gru", "--units", "3", "--epochs", "2", "--out", str(out),
                 "--tensorboard", str(tmp_path / "logs")]) == 0
    printed = capsys.readouterr().out
    assert "wrote TensorBoard logs to" in printed and "tensorboard --logdir" in printed
    record = RunRecord.from_json(out.read_text())
    [folder] = (tmp_path / "logs").iterdir()
    logs = read(folder)
    np.testing.assert_allclose([float(logs["epoch/val_loss"][step]) for step in (1, 2)],
                               record.history["val_loss"], rtol=1e-6)
    assert sorted(logs["gradients/gru_1/forward/ratio"]) == [0, 1, 2]  # the probes were recorded for it
    assert sorted(logs["gates/gru_1/forward/update/open"]) == [0, 1, 2]
