"""The gate between the browser and the work (`rnnlab.gate`, `rnnlab.lab.Lab`'s request methods): pages do no work,
display work is capped whatever a link asks for, uploads and uploaded runs go through the Lab."""

import ast
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import learner_with
from rnnlab import gate
from rnnlab.config import RunConfig, from_link
from rnnlab.data import files
from rnnlab.introspect import spectral_radii
from rnnlab.lab import BudgetError, Lab, UploadError
from rnnlab.models import describe_layers, summary_text, untrained_model
from rnnlab.records import RunRecord
from rnnlab.store import Store

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "pages").glob("*.py"))
# What only the package may do: build data or models, read files. A page asks the Lab instead.
FORBIDDEN_CALLS = {"make_dataset", "build_model", "untrained_model", "load_reviews", "available_reviews",
                   "read_csv", "read_reviews_csv", "save_upload", "open", "describe_layers", "summary_text",
                   "parameter_formula"}
FORBIDDEN_IMPORTS = {"keras", "tensorflow"}
HOSTILE = {"task": "adding", "seq_len": "2000", "eval_samples": "5000"}


def work_done_in(path: Path) -> list[str]:
    """Every forbidden call or import in a page's source, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else \
                function.attr if isinstance(function, ast.Attribute) else None
            if name in FORBIDDEN_CALLS:
                found.append(f"{node.lineno}: calls {name}")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: imports {alias.name}" for alias in node.names
                      if alias.name.split(".")[0] in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"{node.lineno}: imports from {node.module}")
            found += [f"{node.lineno}: imports {alias.name}" for alias in node.names if alias.name in FORBIDDEN_CALLS]
    return found


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path in PAGES])
def test_no_page_builds_data_or_a_model_or_reads_a_file(path):
    assert work_done_in(path) == [], f"{path.name} does work the Lab should do"


def test_the_scan_finds_work_where_there_is_some(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import keras\nfrom rnnlab.data import make_dataset\nfrom rnnlab.models import untrained_model\n"
                    "dataset = make_dataset(config)\nmodel = untrained_model(config)[0]\ntext = open('x').read()\n")
    assert work_done_in(page) == ["1: imports keras", "2: imports make_dataset", "3: imports untrained_model",
                                  "4: calls make_dataset", "5: calls untrained_model", "6: calls open"]


# --- Display work is capped ------------------------------------------------------------------------------------------

def test_a_hostile_links_display_is_made_from_a_capped_sample():
    config = from_link(HOSTILE)
    shown = gate.display_config(config)
    assert (shown.seq_len, shown.samples, shown.eval_samples) == (2000, gate.SHAPE_SAMPLES, gate.DISPLAY_SEQUENCES)
    dataset = gate.display_dataset(config)
    assert dataset.x_val.shape[:2] == (gate.DISPLAY_SEQUENCES, 2000) and len(dataset.x_train) == gate.SHAPE_SAMPLES
    # The table is the network's, not the sample's: the same rows as from the link's own data would give.
    small = config.replace(eval_samples=16)
    assert gate.display_rows(config) == describe_layers(small)
    assert gate.display_summary(config) == summary_text(untrained_model(small)[0])


def test_a_hostile_links_examples_are_three_sequences_of_the_capped_sample():
    # What Build & Train shows of the task before a run: three sequences of the display data, nothing more kept.
    config = from_link(HOSTILE)
    examples, shown = gate.display_examples(config), gate.display_dataset(config)
    assert examples.x_val.shape[:2] == (gate.EXAMPLE_SEQUENCES, 2000) and examples.seq_len == 2000
    assert len(examples.x_train) == len(examples.x_test) == 0
    np.testing.assert_array_equal(examples.x_val, shown.x_val[:gate.EXAMPLE_SEQUENCES])
    np.testing.assert_array_equal(examples.y_val, shown.y_val[:gate.EXAMPLE_SEQUENCES])
    assert Lab.examples.__doc__ and gate.display_examples(config) is examples  # kept: a rerun makes no data


@pytest.mark.parametrize("initializer", ["orthogonal", "identity", "glorot_uniform"])
def test_the_table_and_summary_are_the_configured_networks_whatever_draws_its_weights(initializer):
    # The gate builds them with a cheap initializer (shapes and counts do not depend on it): still the same text.
    config = RunConfig(task="sine", seq_len=8, units=6, layers=2, bidirectional=True,
                       recurrent_initializer=initializer, recurrent_gain=2.0)
    assert gate.display_rows(config) == describe_layers(config)
    assert gate.display_summary(config) == summary_text(untrained_model(config)[0])


def test_a_small_request_is_not_capped_below_what_it_asked():
    config = RunConfig(task="sine", seq_len=8, eval_samples=20)
    assert gate.display_config(config).eval_samples == 20


def test_the_gate_admits_only_a_run_config():
    with pytest.raises(gate.GateError, match="RunConfig"):
        gate.admit({"task": "sine"})
    assert gate.admit(RunConfig(units=7)) == RunConfig(units=7)


def test_the_starting_spectral_radii_are_the_untrained_networks(tmp_path):
    lab = Lab(Store(str(tmp_path / "runs.db")))
    config = RunConfig(task="adding", cell="simplernn", seq_len=12, recurrent_gain=1.5, layers=2)
    assert lab.initial_spectral_radii(config) == spectral_radii(untrained_model(config)[0])  # same seed, same weights


def test_text_is_costed_before_a_window_is_made(tmp_path, monkeypatch):
    lab = Lab(Store(str(tmp_path / "runs.db")))
    made = []
    monkeypatch.setattr("rnnlab.lab.make_dataset", lambda config: made.append(config))
    huge = RunConfig(task="text", seq_len=2000, samples=200_000, eval_samples=50_000, units=512, layers=4,
                     vocab_size=100_000, embedding_dim=512)
    with pytest.raises(BudgetError):
        lab.read_text(huge)
    assert made == []


# --- Uploads go through the Lab ---------------------------------------------------------------------------------------

def test_an_upload_is_kept_by_the_lab_and_an_empty_one_gets_a_sentence(tmp_path):
    lab = Lab(Store(str(tmp_path / "runs.db")))
    token = lab.store.new_learner().token
    kept = lab.take_upload(token, "notes.txt", b"the cat sat on the mat\n")
    assert "/" not in kept  # an upload is named by its upload, never by where the server keeps it
    assert Path(files.resolve(kept)).read_bytes() == b"the cat sat on the mat\n"
    with pytest.raises(UploadError, match="empty"):
        lab.take_upload(token, "empty.txt", b"")


def test_uploaded_runs_are_paired_with_their_models_by_name(tmp_path, tiny_config):
    lab = Lab(Store(str(tmp_path / "runs.db")))
    token = lab.store.new_learner().token
    record = RunRecord(tiny_config)
    record.status = "finished"
    results = lab.upload_runs(token, [("run_a.json", json.dumps(record.to_dict()).encode()),
                                      ("notes.json", b"not json")])
    assert [name for name, _, _ in results] == ["run_a.json", "notes.json"]
    assert results[0][1].run_id == record.run_id and results[0][2].startswith("Added")
    assert results[1][1] is None and results[1][2].startswith("notes.json: ")
    assert lab.upload_runs(token, [("run_a.keras", b"PK")])[0][2].startswith("Upload the run's JSON too")
    assert gate.pair_run_files([("run_b.keras", b"m"), ("run_b.json", b"r"), ("run_c.json", b"s")]) == \
        [("run_b.json", b"r", ("run_b.keras", b"m")), ("run_c.json", b"s", None)]


# --- A hostile link through the pages ----------------------------------------------------------------------------------

def traced_peak(at: AppTest) -> int:
    """The most memory Python (NumPy included) held at once while `at` ran, beyond what it held before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        at.run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_hostile_link_renders_build_and_train_with_bounded_memory():
    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    warm.run()  # imports, Keras's first model: not what is measured
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in HOSTILE.items():
        at.query_params[name] = value
    peak = traced_peak(at)
    assert not at.exception
    assert at.sidebar.number_input(key="cfg_eval_samples").value == 5000  # the run keeps the link's sizes
    # The link's own validation and test data would be 2 x 5,000 x 2,000 x 2 values: 320 MB in float64.
    assert peak < 60 * 2**20, f"the render held {peak / 2**20:.0f} MB at its peak"


def test_inside_the_cell_looks_at_a_capped_untrained_network_for_a_hostile_link():
    at = AppTest.from_file(str(ROOT / "pages" / "inside_cell.py"), default_timeout=120)
    at.query_params["learner"] = learner_with([])
    for name, value in HOSTILE.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    config, model, dataset = at.session_state["cell_fresh"]
    assert config.eval_samples == 5000 and dataset.x_val.shape[:2] == (gate.DISPLAY_SEQUENCES, 2000)
    assert at.number_input(key="cell_index").max == gate.DISPLAY_SEQUENCES
    assert np.isfinite(model.predict(dataset.x_val[:1], verbose=0)).all()


def test_a_model_file_is_read_by_the_lab_for_its_owner_only(tmp_path, tiny_config):
    lab = Lab(Store(str(tmp_path / "runs.db")))
    owner, other = lab.store.new_learner().token, lab.store.new_learner().token
    record = RunRecord(tiny_config)
    record.status = "finished"
    lab.store.save_run(owner, record)
    assert lab.model_file(owner, record.run_id) is None  # no weights saved yet
    Path(lab.store.model_path(record.run_id)).write_bytes(b"PK weights")
    assert lab.model_file(owner, record.run_id) == b"PK weights"
    assert lab.model_file(other, record.run_id) is None  # another learner's run is not theirs to download
