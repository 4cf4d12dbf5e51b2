"""The cell diagram on Inside the cell: every number drawn is the step's own, on the right wire of the right cell.

The values are held against the trace and the layer's own weights, computed here without `cell_step` or
`cell_wires` (the hand formulas of each cell, Keras's reset_after GRU included), and the labels are read back out of
the figure as a learner reads them: the number written on the wire. Run with:

    cd /work/main && .venv/bin/pytest -q tests/test_cell_diagram.py
"""

import json
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from rnnlab.config import RunConfig
from rnnlab.introspect.cell_wires import (diagram_steps, frame_window, input_summary, sequence_wires, significant,
                                          strip_steps)
from rnnlab.introspect.steps import recurrent_layer, replay
from rnnlab.plots import cell_diagram
from tests.test_inside_cell import randomised_model  # the same random-weights model as the page's other tests

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "inside_cell.py")
TIMESTEPS, UNITS = 7, 3


def config(cell: str, **extra) -> RunConfig:
    return RunConfig(task="adding", cell=cell, seq_len=TIMESTEPS, samples=16, eval_samples=16, units=UNITS, **extra)


def direction_layer(model, layer_name, direction):
    layer = recurrent_layer(model, layer_name)
    return getattr(layer, f"{direction}_layer") if hasattr(layer, "forward_layer") else layer


def expected_wires(model, seen, layer_name, direction, step, unit) -> dict[str, float]:
    """Every wire's value by hand: the trace's gates and states, the products of the updates, the GRU's W_hh part."""
    states = {name: values[0] for name, values in seen.gates[layer_name][direction].items()}  # (T, units) each
    timesteps, units = states["hidden"].shape
    previous = step + 1 if direction == "backward" else step - 1
    inside = 0 <= previous < timesteps
    h_previous = states["hidden"][previous] if inside else np.zeros(units)
    value = {name: float(values[step, unit]) for name, values in states.items()}
    wires = {"h_previous": float(h_previous[unit]), "hidden": value["hidden"]}
    if "cell" in states:
        c_previous = float(states["cell"][previous, unit]) if inside else 0.0
        wires.update(c_previous=c_previous, forget=value["forget"], input=value["input"],
                     candidate=value["candidate"], output=value["output"], kept=value["forget"] * c_previous,
                     written=value["input"] * value["candidate"], cell=value["cell"],
                     squashed_cell=float(np.tanh(value["cell"])))
    elif "update" in states:
        _, recurrent_kernel, bias = [w.astype(np.float64) for w in direction_layer(model, layer_name,
                                                                                   direction).get_weights()]
        column = 2 * units + unit  # the candidate's block; Keras's reset_after keeps bias[1] for the recurrent part
        recurrent = float(h_previous.astype(np.float64) @ recurrent_kernel[:, column] + bias[1, column])
        z = value["update"]
        wires.update(update=z, reset=value["reset"], recurrent=recurrent, gated=value["reset"] * recurrent,
                     candidate=value["candidate"], keep_share=1 - z, kept=z * float(h_previous[unit]),
                     written=(1 - z) * value["candidate"])
    return wires


def number(text: str) -> float:
    """The number a label ends with, as written: "f_t = −0.123" → -0.123, "2.35×10⁻⁵" → 2.35e-05."""
    written = text.rsplit("= ", 1)[-1].replace("−", "-")
    match = re.fullmatch(r"(-?[0-9.]+)(?:×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", written)
    assert match, f"not a number: {text!r}"
    exponent = match.group(2) or "⁰"
    return float(match.group(1)) * 10.0 ** int(exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))


def drawn_labels(traces) -> dict[str, tuple[str, float]]:
    """{wire: (label text, value kept with it)} from a figure's (or a frame's) label traces, as plain dicts."""
    drawn = {}
    for trace in traces:
        if str(trace.get("name", "")).startswith("labels "):
            for text, (name, value) in zip(trace["text"], trace["customdata"]):
                drawn[name] = (text, value)
    return drawn


def check_labels(drawn, expected):
    for name, value in expected.items():
        text, kept = drawn[name]
        assert number(text) == pytest.approx(value, rel=5e-3, abs=5e-4), (name, text, value)
        assert number(text) == float(f"{kept:.3g}"), (name, text)  # three significant figures of the value
        assert kept == pytest.approx(value, abs=1e-5), name


def figure_for(model, seen, layer, direction, step, unit, timesteps=TIMESTEPS):
    frames, needed = diagram_steps(step, timesteps, direction, cell_diagram.FRAMES, cell_diagram.STRIP_STEPS)
    wires = sequence_wires(model, seen, layer, direction, unit, needed)
    return cell_diagram.diagram_figure(wires, frames, step, timesteps), frames


def plain(figure) -> dict:
    return json.loads(figure.to_json())


@pytest.fixture(scope="module", params=["lstm", "gru", "simplernn"])
def probe(request):
    model, dataset = randomised_model(config(request.param))
    seen = replay(model, dataset.x_val[:1])
    return model, dataset, seen, list(seen.gates)[0]


def test_every_value_drawn_is_the_steps_own(probe):
    model, dataset, seen, layer = probe
    for step, unit in ((0, 0), (3, 2), (TIMESTEPS - 1, 1)):
        figure = plain(figure_for(model, seen, layer, "forward", step, unit)[0])
        drawn = drawn_labels(figure["data"])
        expected = expected_wires(model, seen, layer, "forward", step, unit)
        check_labels(drawn, expected)
        assert set(drawn) == set(expected) | {"x"}  # no wire without its number, no number without its wire
        x_t = dataset.x_val[0, step]  # adding: (value, marker), both entries written out
        assert drawn["x"][0].replace("<br>", " ") == f"x_t = ({significant(x_t[0])}, {significant(x_t[1])})"


def test_the_whole_figure_frames_included_passes_plotlys_own_checks(probe):
    # The frames are attached unchecked to save a second a render: Plotly checks them all here instead.
    model, dataset, seen, layer = probe
    figure, frames = figure_for(model, seen, layer, "forward", 2, 1)
    checked = go.Figure(figure.to_dict())  # raises on any property Plotly does not know or any bad value
    assert [frame.name for frame in checked.frames] == [str(step + 1) for step in frames]
    assert checked.frames[1].data[0].line.color == figure.to_dict()["frames"][1]["data"][0]["line"]["color"]
    # Every frame as Plotly's own check leaves it: nothing the unchecked frames hold is dropped or coerced.
    assert checked.to_dict()["frames"] == figure.to_dict()["frames"]


def test_wires_are_coloured_on_the_house_scales(probe):
    model, dataset, seen, layer = probe
    figure = figure_for(model, seen, layer, "forward", 2, 1)[0]
    labels = {trace.name: trace for trace in figure.data if trace.name.startswith("labels ")}
    assert (labels["labels gate"].marker.colorscale is not None, labels["labels gate"].marker.cmin,
            labels["labels gate"].marker.cmax) == (True, 0.0, 1.0)
    assert labels["labels state"].marker.cmid == 0.0
    assert labels["labels state"].marker.cmin == -labels["labels state"].marker.cmax
    np.testing.assert_allclose(labels["labels state"].marker.color, [value for _, value in
                                                                      labels["labels state"].customdata])
    wires = {trace.name: trace for trace in figure.data if trace.name.startswith("wire ")}
    hidden = seen.gates[layer]["forward"]["hidden"][0, 2, 1]
    low, high = labels["labels state"].marker.cmin, labels["labels state"].marker.cmax
    import plotly.colors
    assert wires["wire hidden"].line.color == plotly.colors.sample_colorscale(
        plotly.colors.get_colorscale("RdBu_r"), [(hidden - low) / (high - low)])[0]


@pytest.mark.parametrize("cell, blocks, junctions", [
    ("lstm", {"forget": "σ", "input": "σ", "candidate": "tanh", "output": "σ"}, ["⊙", "⊙", "+", "⊙", "tanh"]),
    ("gru", {"update": "σ", "reset": "σ", "linear": "", "candidate": "tanh"}, ["⊙", "1−", "⊙", "+", "⊙"]),
    ("simplernn", {"hidden": "tanh"}, []),
])
def test_each_cell_has_its_own_blocks(cell, blocks, junctions):
    model, dataset = randomised_model(config(cell))
    seen = replay(model, dataset.x_val[:1])
    figure = figure_for(model, seen, list(seen.gates)[0], "forward", 1, 0)[0]
    drawn = [shape.name for shape in figure.layout.shapes if shape.type == "rect"]
    assert drawn == list(blocks)
    activations = {note.name.split(" ", 1)[1]: note.text for note in figure.layout.annotations
                   if note.name.startswith("block ")}
    for name, activation in blocks.items():
        assert activations[name].startswith(f"<b>{activation}</b>" if activation else "<span")
    assert [note.name.split(" ", 1)[1] for note in figure.layout.annotations
            if note.name.startswith("junction ")] == junctions


def test_every_frame_shows_its_own_steps_numbers(probe):
    model, dataset, seen, layer = probe
    figure, frames = figure_for(model, seen, layer, "forward", 2, 1)
    figure = plain(figure)
    assert [frame["name"] for frame in figure["frames"]] == [str(step + 1) for step in range(TIMESTEPS)]
    assert [step["label"] for step in figure["layout"]["sliders"][0]["steps"]] == \
        [str(step + 1) for step in range(TIMESTEPS)]
    assert figure["layout"]["sliders"][0]["active"] == 2  # opens on the page's step
    assert figure["layout"]["updatemenus"][0]["buttons"][0]["label"] == "▶ Play"
    names = [trace["name"] for trace in figure["data"]]
    for step, frame in zip(frames, figure["frames"]):
        traces = [{**frame_trace, "name": names[index]} for index, frame_trace in zip(frame["traces"], frame["data"])]
        check_labels(drawn_labels(traces), expected_wires(model, seen, layer, "forward", step, 1))
        # The strip: the last steps up to this one, each handing its h to the next.
        strip = next(trace for trace in traces if trace["name"] == "strip labels")
        hidden = seen.gates[layer]["forward"]["hidden"][0, :, 1]
        shown = list(range(max(0, step - cell_diagram.STRIP_STEPS + 1), step + 1))
        h_values = [value for name, value in strip["customdata"] if name.startswith("h")]
        assert h_values == pytest.approx([hidden[shown[0] - 1] if shown[0] else 0.0,
                                          *hidden[shown[0]:step + 1]], abs=1e-6)
        words = next(trace for trace in traces if trace["name"] == "strip steps")["text"]
        assert [word for word in words if word.startswith("<b>t = ")] == [f"<b>t = {s + 1}</b>" for s in shown]


def test_the_backward_direction_of_an_upper_layer_draws_that_layers_numbers():
    model, dataset = randomised_model(config("lstm", layers=2, bidirectional=True))
    seen = replay(model, dataset.x_val[:1])
    figure, frames = figure_for(model, seen, "lstm_2", "backward", 3, 2)
    assert frames == list(range(TIMESTEPS - 1, -1, -1))  # the backward direction reads from the end
    drawn = drawn_labels(plain(figure)["data"])
    check_labels(drawn, expected_wires(model, seen, "lstm_2", "backward", 3, 2))
    # Its previous state is step t+1's, and its x_t the layer below's two directions (2 × 3 units): a norm.
    assert drawn["h_previous"][1] == pytest.approx(seen.gates["lstm_2"]["backward"]["hidden"][0, 4, 2])
    assert drawn["h_previous"][0].startswith("h_(t+1) = ")
    below = np.concatenate([seen.gates["lstm_1"][d]["hidden"][0, 3] for d in ("forward", "backward")])
    assert drawn["x"][0].replace("<br>", " ") == f"‖x_t‖ = {significant(np.linalg.norm(below))} (the norm of its 6 entries)"
    # Neither the bottom layer's nor the forward direction's numbers.
    other = expected_wires(model, seen, "lstm_2", "forward", 3, 2)["forget"]
    assert drawn["forget"][1] != pytest.approx(other, abs=1e-6)
    strip = next(trace for trace in plain(figure)["data"] if trace["name"] == "strip steps")["text"]
    assert [word for word in strip if word.startswith("<b>")][:4] == ["<b>t = 7</b>", "<b>t = 6</b>",
                                                                        "<b>t = 5</b>", "<b>t = 4</b>"]


def test_numbers_are_written_to_three_significant_figures():
    assert [significant(v) for v in (0.69213, -0.012345, 1.0, -0.0, 123.4, 2.3456e-5, -1234.0)] == \
        ["0.692", "−0.0123", "1.00", "0", "123", "2.35×10⁻⁵", "−1.23×10³"]
    assert input_summary(np.array([0.5]))[0] == "x_t = 0.500"
    assert input_summary(np.array([0.0, 1.0, 0.0, 0.0]))[0] == "x_t: one-hot, entry 2 of 4 on"
    assert input_summary(np.array([3.0, 4.0, 0.0, 0.0]))[0] == "‖x_t‖ = 5.00 (the norm of its 4 entries)"


def test_a_long_sequence_animates_a_window_holding_the_step():
    window = frame_window(1500, 2000, "forward", 120)
    assert len(window) == 120 and 1500 in window and window == list(range(window[0], window[0] + 120))
    assert frame_window(3, 2000, "forward", 120)[0] == 0 and frame_window(1999, 2000, "forward", 120)[-1] == 1999
    backward = frame_window(10, 2000, "backward", 120)
    assert 10 in backward and backward[-1] == 0 and backward == sorted(backward, reverse=True)
    frames, needed = diagram_steps(500, 2000, "forward", 120, 5)
    assert needed[:4] == list(range(frames[0] - 4, frames[0])) and needed[4:] == frames
    assert strip_steps(1, 10, "forward", 5) == [0, 1] and strip_steps(3, 10, "backward", 3) == [5, 4, 3]


def test_the_page_draws_the_cell_of_its_step_and_unit():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["config"] = RunConfig(task="adding", cell="gru", seq_len=6, samples=32, eval_samples=32,
                                           units=3, epochs=2, batch_size=16)
    at.run()
    assert not at.exception and not at.error
    _, model, dataset = at.session_state["cell_fresh"]
    seen = replay(model, dataset.x_val[:1])

    def drawn():
        element = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("-cell_diagram"))
        return drawn_labels(json.loads(element.proto.spec)["data"])

    check_labels(drawn(), expected_wires(model, seen, "gru_1", "forward", 0, 0))
    at.slider(key="cell_step").set_value(5)
    at.selectbox(key="cell_unit").set_value(3)
    at.run()
    assert not at.exception
    check_labels(drawn(), expected_wires(model, seen, "gru_1", "forward", 4, 2))
    assert any("resets after the product" in element.value for element in at.caption)


@pytest.mark.slow
@pytest.mark.browser
def test_play_draws_each_steps_own_numbers_in_the_browser(server, browser):
    """In Chromium, Play moves the figure's slider and every frame drawn shows the labels of its own step."""
    # The browser suite's shared server and Chromium (tests/conftest.py): a new visitor, with no run yet, opens
    # Inside the cell on its random-weights model, as on a fresh server.
    url = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/inside_cell")
    page.get_by_text("The cell, drawn").first.wait_for(timeout=120_000)
    find = ("Array.from(document.querySelectorAll('.js-plotly-plot')).find(gd => gd.data && "
            "gd.data.some(trace => trace.name === 'labels gate'))")
    # Streamlit draws a chart once it is in view: bring the heading up until the diagram has its data.
    page.wait_for_function(f"""() => {{
        const heading = Array.from(document.querySelectorAll('h3'))
            .find(element => element.textContent.startsWith('The cell, drawn'));
        if (heading) heading.scrollIntoView({{block: 'start'}});
        return Boolean({find});
    }}""", timeout=150_000)
    # The labels drawn (SVG text, lines joined) are those of the frame the figure's slider is on.
    consistent = f"""() => {{
        const gd = {find};
        const active = gd.layout.sliders[0].active;
        const frame = gd._transitionData._frames[active];
        const names = gd.data.map(trace => trace.name);
        const wanted = frame.data.filter((data, index) => names[frame.traces[index]].startsWith('labels '))
            .flatMap(data => data.text.map(text => text.replace('<br>', '')));
        const drawn = new Set(Array.from(gd.querySelectorAll('.textpoint text')).map(node => node.textContent));
        return wanted.length > 0 && wanted.every(text => drawn.has(text)) ? [active, wanted] : false;
    }}"""
    first = page.wait_for_function(consistent, timeout=30_000).json_value()
    assert first[0] == 0  # the page's slider opens on step 1
    page.get_by_text("▶ Play").first.click()
    page.wait_for_function(f"() => {find}.layout.sliders[0].active >= 3", timeout=30_000)
    page.get_by_text("❚❚ Pause").first.click()
    later = page.wait_for_function(consistent, timeout=30_000).json_value()
    assert later[0] >= 3 and later[1] != first[1]
    page.close()
