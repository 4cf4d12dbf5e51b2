"""The Inside the cell page and what it draws: the step-through maths, typed sequences, the charts, the page itself.

`rnnlab.introspect.steps` is held against a hand computation that shares no code with it: it reads each direction's
`get_weights()`, builds the layer's input itself (the sequence, or the layer below's two directions concatenated),
computes every pre-activation in float64, squashes it with its own sigmoid/tanh and compares with `trace`. Every
weight and bias is random first, so a swapped gate block, a misplaced bias or a wrong "previous" step shows. The
page is driven through `AppTest`, with runs trained here on tiny configurations. Run with:

    cd /work/main && .venv/bin/pytest -q tests/test_inside_cell.py
"""

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnlab.plots import cell as cell_charts
from rnnlab.config import RunConfig
from helpers import learner_with
from rnnlab.engine.threads import TrainingJob
from rnnlab.introspect import forget_gate_by_epoch, mean_forget_gate, trace
from rnnlab.introspect.steps import cell_step, layer_directions, recurrent_layer, replay, saturation
from rnnlab.models import build_model
from rnnlab.data import get_task, make_dataset

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "inside_cell.py")
TIMESTEPS, UNITS = 5, 3


# ---------- an independent reference ----------


def sigmoid(value):
    return 1.0 / (1.0 + np.exp(-value))


def relu(value):
    return np.maximum(value, 0.0)


ACTIVATIONS = {"tanh": np.tanh, "relu": relu}


def randomised_model(config: RunConfig, seed: int = 0):
    """A model for `config` whose every weight and bias is random, so each part of each equation matters."""
    dataset = make_dataset(config)
    model = build_model(config, dataset)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.9, 0.9, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model, dataset


def hand_layer_input(model, traced, layer_name, x):
    """What a recurrent layer reads: the model's input for the first, else the layer below's directions joined."""
    names = list(traced)
    index = names.index(layer_name)
    if index == 0:
        return np.asarray(x, dtype=np.float64)
    below = traced[names[index - 1]]
    return np.concatenate([below[d]["hidden"] for d in ("forward", "backward") if d in below], axis=-1)


def hand_pre_activations(rnn_layer, x_t, h_previous):
    """{block: (input part, recurrent part, bias(es) total, recurrent bias)} for every unit, from get_weights()."""
    kernel, recurrent_kernel, bias = [w.astype(np.float64) for w in rnn_layer.get_weights()]
    units = recurrent_kernel.shape[0]
    blocks = kernel.shape[1] // units
    input_bias, recurrent_bias = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
    parts = []
    for block in range(blocks):
        columns = slice(block * units, (block + 1) * units)
        parts.append((x_t @ kernel[:, columns], h_previous @ recurrent_kernel[:, columns],
                      input_bias[columns], recurrent_bias[columns]))
    return parts


def check_step(model, seen, traced, x, layer_name, direction, step, unit, activation="tanh"):
    """Hold one `cell_step` against the hand computation and the trace."""
    cell = cell_step(model, seen, layer_name, direction, step, unit)
    states = traced[layer_name][direction]
    timesteps = states["hidden"].shape[1]
    previous = step + 1 if direction == "backward" else step - 1
    inside = 0 <= previous < timesteps
    h_previous = states["hidden"][0, previous].astype(np.float64) if inside else np.zeros(UNITS)
    x_t = hand_layer_input(model, traced, layer_name, x)[0, step]
    rnn_layer = dict((name, layer) for name, layer in _directions(model, layer_name))[direction]
    act = ACTIVATIONS[activation]

    assert cell.previous_step == (previous if inside else None)
    np.testing.assert_allclose(cell.x, x_t, atol=1e-6)
    np.testing.assert_allclose(cell.h_previous, h_previous, atol=1e-7)
    parts = hand_pre_activations(rnn_layer, x_t, h_previous)
    values = {name: float(array[0, step, unit]) for name, array in states.items()}

    for row in cell.rows:
        if row["pre_activation"] is None:
            continue
        # The parts the page shows add up to the pre-activation it shows.
        assert sum(term["value"] for term in row["terms"]) == pytest.approx(row["pre_activation"], abs=1e-12)
        assert row["value"] == values[row["quantity"]]
    kind = type(rnn_layer).__name__
    if kind == "LSTM":
        i, f, g, o = (cell.row(name) for name in ("input", "forget", "candidate", "output"))
        for row, block, squash in ((i, 0, sigmoid), (f, 1, sigmoid), (g, 2, act), (o, 3, sigmoid)):
            input_part, recurrent_part, bias, _ = (p[unit] for p in parts[block])
            by_role = {term["role"]: term["value"] for term in row["terms"]}
            assert by_role["input"] == pytest.approx(input_part, abs=1e-5)
            assert by_role["recurrent"] == pytest.approx(recurrent_part, abs=1e-5)
            assert by_role["bias"] == pytest.approx(bias, abs=1e-6)
            assert squash(row["pre_activation"]) == pytest.approx(values[row["quantity"]], abs=1e-5)
        c_previous = states["cell"][0, previous, unit] if inside else 0.0
        # c_t = f_t c_{t-1} + i_t g_t and h_t = o_t tanh(c_t), with the trace's own numbers.
        assert values["forget"] * c_previous + values["input"] * values["candidate"] == \
            pytest.approx(values["cell"], abs=1e-5)
        assert sum(term["value"] for term in cell.row("cell")["terms"]) == pytest.approx(values["cell"], abs=1e-5)
        assert cell.row("cell")["terms"][0]["factors"] == pytest.approx([values["forget"], c_previous], abs=1e-7)
        assert values["output"] * act(values["cell"]) == pytest.approx(values["hidden"], abs=1e-5)
        assert sum(term["value"] for term in cell.row("hidden")["terms"]) == pytest.approx(values["hidden"], abs=1e-5)
    elif kind == "GRU":
        for row, block in ((cell.row("update"), 0), (cell.row("reset"), 1)):
            input_part, recurrent_part, bias, recurrent_bias = (p[unit] for p in parts[block])
            assert row["pre_activation"] == pytest.approx(input_part + recurrent_part + bias + recurrent_bias,
                                                          abs=1e-5)
            assert sigmoid(row["pre_activation"]) == pytest.approx(values[row["quantity"]], abs=1e-5)
        input_part, recurrent_part, bias, recurrent_bias = (p[unit] for p in parts[2])
        candidate_pre = input_part + bias + values["reset"] * (recurrent_part + recurrent_bias)  # reset_after=True
        assert cell.row("candidate")["pre_activation"] == pytest.approx(candidate_pre, abs=1e-5)
        assert act(candidate_pre) == pytest.approx(values["candidate"], abs=1e-5)
        z = values["update"]
        assert z * h_previous[unit] + (1 - z) * values["candidate"] == pytest.approx(values["hidden"], abs=1e-5)
        assert sum(term["value"] for term in cell.row("hidden")["terms"]) == pytest.approx(values["hidden"], abs=1e-5)
    else:
        input_part, recurrent_part, bias, _ = (p[unit] for p in parts[0])
        row = cell.row("hidden")
        assert row["pre_activation"] == pytest.approx(input_part + recurrent_part + bias, abs=1e-5)
        assert act(row["pre_activation"]) == pytest.approx(values["hidden"], abs=1e-5)
    return cell


def _directions(model, layer_name):
    layer = recurrent_layer(model, layer_name)
    if hasattr(layer, "forward_layer"):
        return [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
    return [("forward", layer)]


# ---------- rnnlab.introspect.steps ----------


@pytest.mark.parametrize("cell, activation", [("lstm", "tanh"), ("gru", "tanh"), ("simplernn", "tanh"),
                                              ("lstm", "relu")])
def test_every_step_of_a_stacked_bidirectional_layer_matches_the_hand_computation(cell, activation):
    config = RunConfig(task="adding", cell=cell, activation=activation, seq_len=TIMESTEPS, samples=16,
                       eval_samples=16, units=UNITS, layers=2, bidirectional=True, dropout=0.2)
    model, dataset = randomised_model(config)
    x = dataset.x_val[:1]
    seen = replay(model, x)
    traced = trace(model, x)
    for layer_name in traced:  # the bottom layer reads the sequence; the upper one the bottom's two directions
        assert layer_directions(model, layer_name) == ["forward", "backward"]
        for direction in ("forward", "backward"):
            for step in range(TIMESTEPS):
                check_step(model, seen, traced, x, layer_name, direction, step, unit=step % UNITS,
                           activation=activation)


def test_the_backward_direction_reads_its_previous_state_from_the_next_step():
    model, dataset = randomised_model(RunConfig(task="sine", cell="lstm", seq_len=TIMESTEPS, samples=16,
                                                eval_samples=16, units=UNITS, bidirectional=True))
    seen = replay(model, dataset.x_val[:1])
    last = cell_step(model, seen, "lstm_1", "backward", TIMESTEPS - 1, 0)
    assert last.previous_step is None and not last.h_previous.any() and not last.c_previous.any()
    middle = cell_step(model, seen, "lstm_1", "backward", 2, 0)
    assert middle.previous_step == 3 and middle.previous_symbol == "t+1"
    np.testing.assert_array_equal(middle.h_previous, seen.gates["lstm_1"]["backward"]["hidden"][0, 3])
    assert "h_{t+1}" in middle.row("forget")["formula"] and "c_{t+1}" in middle.row("cell")["formula"]
    first = cell_step(model, seen, "lstm_1", "forward", 0, 0)
    assert first.previous_step is None and first.previous_symbol == "t-1"


def test_the_text_and_latex_carry_the_numbers_of_the_rows():
    model, dataset = randomised_model(RunConfig(task="sine", cell="gru", seq_len=TIMESTEPS, samples=16,
                                                eval_samples=16, units=UNITS))
    cell = cell_step(model, replay(model, dataset.x_val[:1]), "gru_1", "forward", 2, 1)
    update = cell.row("update")
    assert update["text"].endswith(f"= {update['value']:.3f}".replace("-", "−"))
    assert f"{update['pre_activation']:.3f}" in cell.latex()
    assert cell.latex().startswith(r"\begin{aligned}") and cell.latex().count(r"\\[6pt]") == len(cell.rows) - 1
    table = cell.table()
    assert [line["quantity"] for line in table] == ["z_t (update gate)", "r_t (reset gate)", "h̃_t (candidate)"]
    for line, row in zip(table, cell.rows):
        assert line["from the input"] + line["from the previous state"] + line["bias"] == \
            pytest.approx(row["pre_activation"])
    # A part that rounds to 0 at the page's four decimals is 0, never "-0.0000" (issue 18.14).
    cell.rows[0]["terms"] = [{**term, "value": -1e-6 if term["role"] == "bias" else term["value"]}
                             for term in cell.rows[0]["terms"]]
    assert str(cell.table()[0]["bias"]) == "0.0"


def test_the_original_gru_resets_the_state_before_the_product():
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((TIMESTEPS, 2)), keras.layers.GRU(UNITS, reset_after=False, name="gru"),
                              keras.layers.Dense(1)])
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(-0.9, 0.9, size=w.shape).astype(np.float32) for w in model.get_weights()])
    x = rng.uniform(-1, 1, size=(1, TIMESTEPS, 2)).astype(np.float32)
    seen = replay(model, x)
    states = seen.gates["gru"]["forward"]
    kernel, recurrent_kernel, bias = [w.astype(np.float64) for w in model.layers[0].get_weights()]
    for step in range(1, TIMESTEPS):
        for unit in range(UNITS):
            cell = cell_step(model, seen, "gru", "forward", step, unit)
            h_previous = states["hidden"][0, step - 1].astype(np.float64)
            column = 2 * UNITS + unit
            expected = (x[0, step] @ kernel[:, column] + bias[column]
                        + (states["reset"][0, step] * h_previous) @ recurrent_kernel[:, column])
            assert cell.row("candidate")["pre_activation"] == pytest.approx(expected, abs=1e-5)
            assert np.tanh(expected) == pytest.approx(states["candidate"][0, step, unit], abs=1e-5)


def test_replay_gives_the_models_answer_and_works_at_any_length():
    config = RunConfig(task="recall", cell="lstm", seq_len=TIMESTEPS, samples=16, eval_samples=16, units=UNITS,
                       layers=2)
    model, dataset = randomised_model(config)
    seen = replay(model, dataset.x_val[:2])
    np.testing.assert_allclose(seen.output, model.predict(dataset.x_val[:2], verbose=0), atol=1e-5)
    longer = get_task("recall").parse("A B C D A B C D A", dataset)  # 9 steps; the model's Input says 5
    seen = replay(model, longer)
    assert seen.inputs["lstm_2"].shape == (1, 9, UNITS) and seen.gates["lstm_2"]["forward"]["hidden"].shape[1] == 9
    assert seen.output.shape == (1, 4) and seen.output.sum() == pytest.approx(1.0, abs=1e-5)


def test_cell_step_rejects_what_does_not_exist_in_one_sentence():
    model, dataset = randomised_model(RunConfig(task="sine", cell="simplernn", seq_len=TIMESTEPS, samples=16,
                                                eval_samples=16, units=UNITS))
    seen = replay(model, dataset.x_val[:1])
    for arguments, words in ((("simplernn_1", "backward", 0, 0), "no backward direction"),
                             (("simplernn_1", "forward", TIMESTEPS, 0), "outside the sequence"),
                             (("simplernn_1", "forward", 0, UNITS), "does not exist"),
                             (("lstm_9", "forward", 0, 0), "no recurrent layer called")):
        with pytest.raises(ValueError, match=words) as error:
            cell_step(model, seen, *arguments)
        assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_saturation_counts_shares_below_and_above_the_thresholds():
    forget = np.array([[[0.05, 0.95], [0.5, 0.99], [0.2, 0.92], [0.08, 0.6]]], dtype=np.float32)  # (1, 4, 2)
    rows = saturation({"forget": forget, "cell": forget * 3, "hidden": forget})
    assert [row["gate"] for row in rows] == ["forget"]
    assert rows[0]["below"] == pytest.approx(2 / 8) and rows[0]["above"] == pytest.approx(3 / 8)
    assert rows[0]["between"] == pytest.approx(3 / 8) and rows[0]["mean"] == pytest.approx(forget.mean())
    assert saturation({"hidden": forget}) == []


def test_forget_gate_by_epoch_is_the_mean_forget_gate_of_each_snapshot():
    model, dataset = randomised_model(RunConfig(task="sine", cell="lstm", seq_len=TIMESTEPS, samples=16,
                                                eval_samples=16, units=UNITS, bidirectional=True))
    first = trace(model, dataset.x_val[:1])
    second = trace(model, dataset.x_val[1:2])
    series = forget_gate_by_epoch([first, None, second])["lstm_1"]
    assert series["forward"][0] == mean_forget_gate(first["lstm_1"])["forward"]
    assert math.isnan(series["backward"][1])
    assert series["backward"][2] == mean_forget_gate(second["lstm_1"])["backward"]


# ---------- rnnlab.plots.cell ----------


@pytest.fixture(scope="module")
def lstm_probe():
    model, dataset = randomised_model(RunConfig(task="adding", cell="lstm", seq_len=TIMESTEPS, samples=16,
                                                eval_samples=16, units=UNITS))
    seen = replay(model, dataset.x_val[:1])
    return model, dataset, seen


def test_gates_figure_draws_the_trace_on_one_time_axis(lstm_probe):
    model, dataset, seen = lstm_probe
    gates = seen.gates["lstm_1"]["forward"]
    figure = cell_charts.gates_figure(gates, dataset.x_val[0], kind="LSTM", feature_names=dataset.feature_names,
                                      step=2)
    heatmaps = {trace.name: trace for trace in figure.data if trace.type == "heatmap"}
    assert list(heatmaps) == ["input", "forget", "candidate", "output", "cell", "hidden"]
    for name, heatmap in heatmaps.items():
        np.testing.assert_array_equal(np.asarray(heatmap.z), gates[name][0].T)  # (units, T)
        assert list(heatmap.x) == list(range(1, TIMESTEPS + 1))
    assert (heatmaps["forget"].zmin, heatmaps["forget"].zmax) == (0.0, 1.0)
    assert (heatmaps["hidden"].zmin, heatmaps["hidden"].zmax, heatmaps["hidden"].colorscale is not None) == \
        (-1.0, 1.0, True)
    lines = [trace for trace in figure.data if trace.type == "scatter"]
    assert [line.name for line in lines] == ["value", "marker"]
    np.testing.assert_array_equal(lines[1].y, dataset.x_val[0, :, 1])
    layout = figure.layout
    assert layout[f"xaxis{len(heatmaps) + 1}"].title.text == "time step"
    assert all(layout[f"xaxis{row}"].matches == f"x{len(heatmaps) + 1}" for row in range(1, len(heatmaps) + 1))
    assert all(layout[f"yaxis{row}"].title.text == "unit" for row in range(2, len(heatmaps) + 2))
    assert layout.yaxis.title.text == "value"
    assert any(shape.x0 == 3 for shape in layout.shapes)  # the dotted line at time step 3 (0-based 2)


def test_long_input_lines_keep_every_value_without_markers(lstm_probe):
    # Past INPUT_MARKER_STEPS the dots overlapped into the line and were half the browser's drawing time; the line
    # must still carry every step's value (and its hover), and short sequences keep their dots.
    _, dataset, seen = lstm_probe
    gates = seen.gates["lstm_1"]["forward"]
    short = cell_charts.gates_figure(gates, dataset.x_val[0], kind="LSTM", feature_names=dataset.feature_names)
    assert {trace.mode for trace in short.data if trace.type == "scatter"} == {"lines+markers"}
    steps = cell_charts.INPUT_MARKER_STEPS + 1
    rng = np.random.default_rng(0)
    x = np.stack([rng.random(steps), (rng.random(steps) < 0.01).astype(float)], axis=1)
    long_gates = {"hidden": rng.uniform(-1, 1, size=(1, steps, UNITS)).astype(np.float32)}
    figure = cell_charts.gates_figure(long_gates, x, kind="LSTM", feature_names=dataset.feature_names)
    lines = [trace for trace in figure.data if trace.type == "scatter"]
    assert [line.mode for line in lines] == ["lines", "lines"]
    for index, line in enumerate(lines):
        np.testing.assert_array_equal(line.y, x[:, index])
        assert list(line.x) == list(range(1, steps + 1)) and "%{y:.3f}" in line.hovertemplate


def test_the_long_figures_leave_room_for_the_apps_axes_so_plotly_draws_them_once(lstm_probe):
    # In the app (Streamlit's theme) the time axis's labels and title took 67 px and the units chart's y titles and
    # last tick label 76 and 24 px; a smaller margin made Plotly widen it and draw the whole figure a second time.
    _, dataset, seen = lstm_probe
    gates = seen.gates["lstm_1"]["forward"]
    heatmaps = cell_charts.gates_figure(gates, dataset.x_val[0], kind="LSTM", feature_names=dataset.feature_names)
    units = cell_charts.units_figure(gates, [0, 1], ["forget", "hidden"], kind="LSTM")
    for figure in (heatmaps, units):
        assert figure.layout.margin.b >= 67 and figure.layout.margin.autoexpand is not False  # never clipped
    assert heatmaps.layout.margin.r >= 90 and units.layout.margin.l >= 76 and units.layout.margin.r >= 24


def test_colour_ranges_are_fixed_unless_the_values_leave_them():
    assert cell_charts.colour_range("forget", np.array([0.2, 0.4])) == (0.0, 1.0)
    assert cell_charts.colour_range("hidden", np.array([-0.3, 0.9])) == (-1.0, 1.0)
    assert cell_charts.colour_range("cell", np.array([-0.3, 2.34])) == (-2.4, 2.4)  # relu or a cell state


def test_token_input_and_the_other_figures_have_labelled_axes(lstm_probe):
    model, dataset, seen = lstm_probe
    gates = seen.gates["lstm_1"]["forward"]
    tokens = cell_charts.gates_figure({"hidden": gates["hidden"]}, np.array([5, 9, 2, 7, 1]), kind="LSTM",
                                      token_names=["a", "b", "c", "d", "e"])
    # Words, not token ids: an id's size means nothing, so the input panel writes the words themselves and the time
    # axis under the heatmaps names them too.
    assert list(tokens.data[0].text) == ["a", "b", "c", "d", "e"] and tokens.data[0].mode == "text"
    assert list(tokens.data[0].y) == [0] * 5 and tokens.layout.yaxis.visible is False
    assert list(tokens.layout.xaxis2.ticktext) == ["a", "b", "c", "d", "e"]

    units = cell_charts.units_figure(gates, [0, 2], ["forget", "cell"], kind="LSTM")
    assert [trace.name for trace in units.data] == ["unit 1", "unit 3", "unit 1", "unit 3"]
    np.testing.assert_array_equal(units.data[3].y, gates["cell"][0, :, 2])
    assert units.layout.xaxis2.title.text == "time step" and units.layout.yaxis.title.text == "gate (0–1)"

    rows = saturation(gates)
    bars = cell_charts.saturation_figure(rows)
    assert list(bars.data[2].x) == [row["above"] for row in rows]
    assert bars.layout.xaxis.title.text.startswith("share") and bars.layout.yaxis.title.text == "gate"

    forget = cell_charts.forget_gate_figure({"lstm_1": {"forward": [0.6, 0.7, 0.8]}}, epoch=1)
    assert list(forget.data[0].y) == [0.6, 0.7, 0.8] and list(forget.data[0].x) == [0, 1, 2]
    assert forget.layout.xaxis.title.text.startswith("epoch") and "forget" in forget.layout.yaxis.title.text

    cell = cell_step(model, seen, "lstm_1", "forward", 3, 1)
    terms = cell_charts.step_terms_figure(cell)
    stacked = np.sum([trace.y for trace in terms.data if trace.type == "bar"], axis=0)
    np.testing.assert_allclose(stacked, [row["pre_activation"] for row in cell.rows[:4]])
    assert terms.layout.xaxis.title.text == "gate" and terms.layout.yaxis.title.text


# ---------- the page, through AppTest ----------

TINY = dict(seq_len=6, samples=32, eval_samples=32, units=3, epochs=2, batch_size=16)


def chart(at, key):
    """The Plotly figure (as JSON) the page drew under `key`."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart with key {key!r}; drawn: {[e.proto.id for e in at.get('plotly_chart')]}")


def array(value):
    """A figure's array from its JSON: a plain list, or Plotly's typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(size) for size in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value, dtype=np.float64)


def heatmap_z(figure, name):
    return array(next(trace["z"] for trace in figure["data"] if trace.get("name") == name))


def equations(at):
    """The page's big LaTeX block (the one with every equation), without Streamlit's $$ fences."""
    return next(element.value for element in at.latex if "aligned" in element.value).strip().strip("$").strip()


@pytest.fixture(scope="module")
def runs():
    """Three finished runs of this session: an LSTM on recall, a stacked bidirectional GRU, and a failed run."""
    configs = {
        "lstm": RunConfig(task="recall", cell="lstm", **TINY),
        "gru": RunConfig(task="adding", cell="gru", layers=2, bidirectional=True, **TINY),
        "failed": RunConfig(task="imdb", imdb_csv="/nonexistent/reviews.csv", **TINY),
    }
    jobs = {}
    for name, config in configs.items():
        jobs[name] = TrainingJob(config, record_gates=True).start()
        jobs[name].join(120)
        assert jobs[name].done, f"the tiny {name} run did not end within 120 s"
    assert jobs["lstm"].record.status == "finished" and jobs["failed"].record.status == "failed"
    return jobs


def page(runs=None, config=None, open_run=None):
    """The page with these runs in the session, opened on `open_run` (a job) if one is given."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["learner"] = learner_with(list((runs or {}).values()))  # as the store keeps them
    at.session_state["config"] = config or RunConfig(task="sine", cell="lstm", **TINY)
    at.run()
    if open_run is not None:
        at.selectbox(key="cell_source").set_value(open_run.run_id)
        at.run()
    return at


def test_without_runs_the_page_looks_inside_an_untrained_model():
    at = page()
    assert not at.exception and not at.error and not at.warning
    _, model, dataset = at.session_state["cell_fresh"]
    traced = trace(model, dataset.x_val[:1])["lstm_1"]["forward"]
    figure = chart(at, "cell_heatmap")
    for name in ("input", "forget", "candidate", "output", "cell", "hidden"):
        np.testing.assert_allclose(heatmap_z(figure, name), traced[name][0].T, atol=1e-6)
    seen = replay(model, dataset.x_val[:1])
    assert equations(at) == cell_step(model, seen, "lstm_1", "forward", 0, 0).latex()
    assert "has not trained" in at.info[0].value

    at.slider(key="cell_step").set_value(4)
    at.selectbox(key="cell_unit").set_value(3)
    at.run()
    assert equations(at) == cell_step(model, seen, "lstm_1", "forward", 3, 2).latex()
    assert chart(at, "cell_heatmap")["layout"]["shapes"][0]["x0"] == 4



def units_lines(figure):
    """{(panel's y axis, unit): y values} of the chosen-units chart's lines."""
    return {(trace.get("yaxis", "y"), trace["name"]): array(trace["y"]) for trace in figure["data"]}


def test_the_kept_charts_follow_the_example_and_move_only_their_marks():
    # The heatmaps and the chosen units' lines are kept per example: a slider move reuses them with the marks
    # moved, and another example (or other units) draws its own numbers, never the kept ones.
    at = page()
    _, model, dataset = at.session_state["cell_fresh"]
    at.slider(key="cell_step").set_value(3)
    at.run()
    heatmap, lines = chart(at, "cell_heatmap"), chart(at, "cell_units_chart")
    assert {shape["x0"] for shape in heatmap["layout"]["shapes"]} == {3, 2.5}  # lines at step 3, its cell framed
    assert len(heatmap["layout"]["shapes"]) == 6 + 1  # one line a panel, no marks left from step 1
    assert {shape["x0"] for shape in lines["layout"]["shapes"]} == {3} and len(lines["layout"]["shapes"]) == 3

    at.number_input(key="cell_index").set_value(2)
    at.run()
    assert not at.exception
    traced = trace(model, dataset.x_val[1:2])["lstm_1"]["forward"]
    assert not np.allclose(traced["hidden"][0], trace(model, dataset.x_val[:1])["lstm_1"]["forward"]["hidden"][0])
    for name in ("forget", "cell", "hidden"):
        np.testing.assert_allclose(heatmap_z(chart(at, "cell_heatmap"), name), traced[name][0].T, atol=1e-6)
    drawn = units_lines(chart(at, "cell_units_chart"))
    np.testing.assert_allclose(drawn["y", "unit 1"], traced["forget"][0, :, 0], atol=1e-6)
    np.testing.assert_allclose(drawn["y3", "unit 3"], traced["hidden"][0, :, 2], atol=1e-6)
    assert {shape["x0"] for shape in chart(at, "cell_heatmap")["layout"]["shapes"]} == {3, 2.5}

    at.multiselect(key="cell_units_3").set_value([2])
    at.run()
    drawn = units_lines(chart(at, "cell_units_chart"))
    assert set(drawn) == {("y", "unit 2"), ("y2", "unit 2"), ("y3", "unit 2")}
    np.testing.assert_allclose(drawn["y2", "unit 2"], traced["cell"][0, :, 1], atol=1e-6)

@pytest.mark.slow
def test_a_trained_run_replays_its_gates_epoch_by_epoch(runs):
    job = runs["lstm"]
    at = page(runs, open_run=job)
    assert not at.exception and not at.error and not at.warning
    record = job.record
    assert at.slider(key="cell_epoch").max == 2 and at.slider(key="cell_epoch").value == 2
    np.testing.assert_array_equal(heatmap_z(chart(at, "cell_training"), "forget"),
                                  record.gates[1]["lstm_1"]["forward"]["forget"][0].T)
    forget_means = array(chart(at, "cell_forget")["data"][0]["y"])
    expected = [mean_forget_gate(snapshot["lstm_1"])["forward"] for snapshot in [record.gates_at_init, *record.gates]]
    assert forget_means == pytest.approx(expected)

    at.slider(key="cell_epoch").set_value(0)
    at.run()
    np.testing.assert_array_equal(heatmap_z(chart(at, "cell_training"), "forget"),
                                  record.gates_at_init["lstm_1"]["forward"]["forget"][0].T)
    # The probe the run recorded is validation sequence 1, so it agrees with today's trace of the trained model.
    np.testing.assert_allclose(heatmap_z(chart(at, "cell_heatmap"), "hidden"),
                               record.gates[-1]["lstm_1"]["forward"]["hidden"][0].T, atol=1e-6)


@pytest.mark.slow
def test_a_typed_adding_sequence_shows_the_true_answer_beside_the_networks(runs):
    job = runs["gru"]
    at = page(runs, open_run=job)
    at.radio(key="cell_example").set_value("typed")
    at.run()
    at.text_area(key="cell_text_adding").input("0.3:0 0.9:1 0.2:0 0.5:1 0.1:0 0.4:0")
    at.run()
    assert not at.exception and not at.error
    output = job.model.predict(get_task("adding").parse("0.3:0 0.9:1 0.2:0 0.5:1 0.1:0 0.4:0", job.dataset),
                               verbose=0)[0, 0]
    answer = next(element.value for element in at.markdown if element.value.startswith("On this sequence"))
    assert f"**{output:.3f}**" in answer and "the true answer is **1.400**" in answer  # 0.9 + 0.5


@pytest.mark.slow
def test_a_typed_sequence_is_traced_and_bad_typing_gets_one_line(runs):
    job = runs["lstm"]
    at = page(runs, open_run=job)
    at.radio(key="cell_example").set_value("typed")
    at.run()
    recall = get_task("recall")
    assert at.text_area(key="cell_text_recall").value == recall.example_text(job.dataset, job.dataset.x_val[0])
    at.text_area(key="cell_text_recall").input("C A B D D A B C A")
    at.run()
    assert not at.exception and not at.error
    x = get_task("recall").parse("C A B D D A B C A", job.dataset)
    traced = trace(job.model, x)["lstm_1"]["forward"]
    figure = chart(at, "cell_heatmap")
    np.testing.assert_allclose(heatmap_z(figure, "cell"), traced["cell"][0].T, atol=1e-6)
    np.testing.assert_array_equal(heatmap_z(figure, "sequence"), x[0].T)
    assert at.slider(key="cell_step").max == 9
    assert any("trained on sequences of 6 steps and this one has 9" in element.value for element in at.markdown)

    at.text_area(key="cell_text_recall").input("A B X")
    at.run()
    assert not at.exception and len(at.error) == 1 and "'X' is not a token" in at.error[0].value


@pytest.mark.slow
def test_a_stacked_bidirectional_run_steps_backward_through_the_upper_layer(runs):
    job = runs["gru"]
    at = page(runs, open_run=job)
    at.selectbox(key="cell_layer").set_value("gru_2")
    at.run()
    at.radio(key="cell_direction").set_value("backward")
    at.slider(key="cell_step").set_value(6)  # the last input step: the first one the backward direction reads
    at.run()
    assert not at.exception and not at.error
    seen = replay(job.model, job.dataset.x_val[:1])
    assert equations(at) == cell_step(job.model, seen, "gru_2", "backward", 5, 0).latex()
    assert any("previous state h_(t+1) is zero" in element.value for element in at.caption)  # plain, not h_{t+1}
    at.slider(key="cell_step").set_value(2)
    at.run()
    assert equations(at) == cell_step(job.model, seen, "gru_2", "backward", 1, 0).latex()
    np.testing.assert_allclose(heatmap_z(chart(at, "cell_heatmap"), "update"),
                               seen.gates["gru_2"]["backward"]["update"][0].T)
    assert any("reads the hidden states of the layer below" in element.value for element in at.markdown)
    assert "cell_forget" not in [element.proto.id.rsplit("-", 1)[-1] for element in at.get("plotly_chart")]


@pytest.mark.slow
def test_a_failed_run_gets_one_line_and_no_traceback(runs):
    at = page(runs, open_run=runs["failed"])
    assert not at.exception and len(at.error) == 1
    assert "has no model to look inside" in at.error[0].value and "reviews.csv" in at.error[0].value
    assert not at.get("plotly_chart")


@pytest.mark.slow
def test_a_run_whose_weights_are_not_numbers_gets_one_line(runs):
    from rnnlab.lab import get_lab
    from rnnlab.records import RunRecord
    from rnnlab.saving import save_model

    job, store = runs["lstm"], get_lab().store
    # A copy of the LSTM run whose saved model holds what a diverged run leaves behind: weights that are not numbers.
    record = RunRecord.from_dict({**job.record.to_dict(), "run_id": "nanweights"})
    token = store.new_learner().token
    store.save_run(token, record)
    weights = job.model.get_weights()
    try:
        job.model.set_weights([np.full_like(w, np.nan) for w in weights])
        save_model(job.model, job.dataset, store.model_path(record.run_id))
    finally:
        job.model.set_weights(weights)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["learner"] = token
    at.run()
    at.selectbox(key="cell_source").set_value(record.run_id).run()
    assert not at.exception and len(at.warning) == 1 and "diverged" in at.warning[0].value
    assert not at.get("plotly_chart")
