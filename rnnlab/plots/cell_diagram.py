"""The chosen cell drawn as a diagram you can watch: colah's "Understanding LSTMs" layout with the real numbers.

Inputs x_t and h_(t−1) (and c_(t−1) for the LSTM) come in on the left and bottom, each gate is a block labelled with
its activation, the ⊙, + and 1− junctions combine them, and h_t (and c_t) leave on the right. Every wire carries a
bead coloured on the house scales (`rnnlab.plots.style`: gates 0–1 on `GATE_SCALE`, states diverging around 0 on
`STATE_SCALE`) and a label with its value to three significant figures. Play (or the figure's own slider) steps t
across the sequence with Plotly frames, each frame the numbers of its own step; under the cell, an unrolled strip of
the last steps carries h (and c) from one step to the next, so the loop shows as a loop.

    from rnnlab.introspect.cell_wires import diagram_steps, sequence_wires
    frames, needed = diagram_steps(step=4, timesteps=T, direction="forward", frames=FRAMES, strip=STRIP_STEPS)
    wires = sequence_wires(model, seen, "lstm_1", "forward", unit=0, steps=needed)
    diagram_figure(wires, frames, step=4, timesteps=T).show()

The numbers are `rnnlab.introspect.cell_wires`' (each read off `steps.cell_step`); this module only places them.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from rnnlab.introspect.cell_wires import GATE, INPUT, STATE, CellWires, significant, strip_steps
from rnnlab.plots import style

# The most steps one figure animates; a longer sequence animates a window holding the chosen step. Checked by
# Plotly, a frame cost about 25 ms here (2 cores: 120 frames took 3 s of each rerun); attached unchecked
# (`_attach_frames`), the whole figure of 40 takes about 0.08 s, and every frame is still sent to the browser.
FRAMES = 40
STRIP_STEPS = 5  # steps in the unrolled strip under the cell
FRAME_MS = 700  # how long Play shows each step: long enough to read the numbers that changed
FONT_PX, SMALL_FONT_PX = 17, 14  # read on a projector from the back of a room
BLOCK_FILL, BLOCK_LINE = "#fef7e0", "#b06000"  # colah's yellow gate blocks
JUNCTION_FILL, JUNCTION_LINE = "#fce8f4", "#d01884"  # and his pink pointwise operations
WIRE_OUTLINE, BUS_COLOR = "#5f6368", "#bdc1c6"  # a dark edge so a white (zero) state wire still shows
WIRE_PX, OUTLINE_PX, BEAD_PX = 5, 9, 15
# The two house scales as lists of stops, looked up once: Plotly's lookup by name took 9 ms a call, 11 s a figure.
_COLORSCALES = {scale: plotly.colors.get_colorscale(scale) for scale in (style.GATE_SCALE, style.STATE_SCALE)}

# A path is a list of points; None breaks it (a branch). Coordinates: x 0–13 left to right, y up, the cell above
# y = 0 and the strip below it.
_BUS_Y, _TOP_Y, _RIGHT = 1.2, 7.0, 12.8


def _lstm_layout(wires: CellWires) -> dict:
    activation = wires.activation
    return {
        "blocks": [("forget", 2.5, 3.6, wires.gate_activation, "forget f_t"),
                   ("input", 5.0, 3.6, wires.gate_activation, "input i_t"),
                   ("candidate", 7.0, 3.6, activation, "candidate g_t"),
                   ("output", 9.0, 3.6, wires.gate_activation, "output o_t")],
        "junctions": [(2.5, _TOP_Y, "⊙"), (6.0, 5.3, "⊙"), (6.0, _TOP_Y, "+"), (10.5, 4.5, "⊙")],
        "ovals": [(10.5, 5.9, activation)],
        "bus": [(1.5, _BUS_Y), (9.0, _BUS_Y), None, (2.5, _BUS_Y), (2.5, 3.1), None, (5.0, _BUS_Y), (5.0, 3.1),
                None, (7.0, _BUS_Y), (7.0, 3.1), None, (9.0, _BUS_Y), (9.0, 3.1)],
        "wires": {
            "x": ([(1.5, -0.3), (1.5, _BUS_Y)], (1.5, 0.35), "middle right"),
            "h_previous": ([(0.0, _BUS_Y), (1.5, _BUS_Y)], (0.6, _BUS_Y), "top center"),
            "c_previous": ([(0.0, _TOP_Y), (2.2, _TOP_Y)], (0.9, _TOP_Y), "top center"),
            "forget": ([(2.5, 4.1), (2.5, 6.7)], (2.5, 5.4), "middle right"),
            "input": ([(5.0, 4.1), (5.0, 5.3), (5.7, 5.3)], (5.0, 4.75), "middle left"),
            "candidate": ([(7.0, 4.1), (7.0, 5.3), (6.3, 5.3)], (7.0, 4.75), "middle right"),
            "written": ([(6.0, 5.6), (6.0, 6.7)], (6.0, 6.15), "middle right"),
            "kept": ([(2.8, _TOP_Y), (5.7, _TOP_Y)], (4.25, _TOP_Y), "top center"),
            "cell": ([(6.3, _TOP_Y), (_RIGHT, _TOP_Y), None, (10.5, _TOP_Y), (10.5, 6.25)], (11.7, _TOP_Y),
                     "top center"),
            "squashed_cell": ([(10.5, 5.55), (10.5, 4.8)], (10.5, 5.15), "middle right"),
            "output": ([(9.0, 4.1), (9.0, 4.5), (10.2, 4.5)], (9.0, 4.3), "middle left"),
            "hidden": ([(10.5, 4.2), (10.5, _BUS_Y), (_RIGHT, _BUS_Y)], (11.7, _BUS_Y), "top center"),
        },
    }


def _gru_layout(wires: CellWires) -> dict:
    reset_after = wires.reset_after
    linear = ("W_hh·h + b_hh" if reset_after else "W_hh·(r ⊙ h)")
    layout = {
        "blocks": [("update", 2.4, 3.6, wires.gate_activation, "update z_t"),
                   ("reset", 4.2, 3.6, wires.gate_activation, "reset r_t"),
                   ("linear", 6.6, 2.4, "", linear),
                   ("candidate", 10.6, 4.6, wires.activation, "candidate h̃_t")],
        "junctions": [(2.4, _TOP_Y, "⊙"), (5.3, 6.0, "1−"), (10.6, 6.0, "⊙"), (10.6, _TOP_Y, "+")]
        + ([(6.6, 4.6, "⊙")] if reset_after else []),
        "ovals": [],
        "bus": [(0.8, _BUS_Y), (10.9, _BUS_Y), None, (2.4, _BUS_Y), (2.4, 3.1), None, (4.2, _BUS_Y), (4.2, 3.1),
                None, (6.6, _BUS_Y), (6.6, 1.9), None, (10.9, _BUS_Y), (10.9, 4.1)],
        "wires": {
            "x": ([(1.6, -0.3), (1.6, _BUS_Y)], (1.6, 0.35), "middle right"),
            "h_previous": ([(0.0, _TOP_Y), (2.1, _TOP_Y), None, (0.8, _TOP_Y), (0.8, _BUS_Y)], (0.4, _TOP_Y),
                           "top center"),
            "update": ([(2.4, 4.1), (2.4, 6.7), None, (2.4, 6.0), (5.0, 6.0)], (2.4, 5.2), "middle right"),
            "reset": ([(4.2, 4.1), (4.2, 4.6), (6.3, 4.6)] if reset_after else
                      [(4.2, 4.1), (4.2, 4.6), (5.8, 4.6), (5.8, 2.9)], (5.2, 4.6), "top center"),
            "gated": ([(6.9, 4.6), (9.95, 4.6)] if reset_after else [(6.6, 2.9), (6.6, 4.6), (9.95, 4.6)],
                      (8.4, 4.6), "top center"),
            "candidate": ([(10.6, 5.1), (10.6, 5.7)], (10.6, 5.4), "middle right"),
            "keep_share": ([(5.6, 6.0), (10.3, 6.0)], (7.9, 6.0), "top center"),
            "written": ([(10.6, 6.3), (10.6, 6.7)], (10.6, 6.5), "middle right"),
            "kept": ([(2.7, _TOP_Y), (10.3, _TOP_Y)], (6.5, _TOP_Y), "top center"),
            "hidden": ([(10.9, _TOP_Y), (_RIGHT, _TOP_Y)], (11.8, _TOP_Y), "top center"),
        },
    }
    if reset_after:
        layout["wires"]["recurrent"] = ([(6.6, 2.9), (6.6, 4.3)], (6.6, 3.5), "middle right")
    return layout


def _simple_layout(wires: CellWires) -> dict:
    return {
        "blocks": [("hidden", 5.0, 3.6, wires.activation, "hidden h_t")],
        "junctions": [], "ovals": [],
        "bus": [(1.5, _BUS_Y), (5.0, _BUS_Y), (5.0, 3.1)],
        "wires": {
            "x": ([(1.5, -0.3), (1.5, _BUS_Y)], (1.5, 0.35), "middle right"),
            "h_previous": ([(0.0, _BUS_Y), (1.5, _BUS_Y)], (0.6, _BUS_Y), "top center"),
            "hidden": ([(5.0, 4.1), (5.0, 5.5), (_RIGHT, 5.5)], (8.5, 5.5), "top center"),
        },
    }


LAYOUTS = {"LSTM": _lstm_layout, "GRU": _gru_layout, "SimpleRNN": _simple_layout}
# The blocks each cell has, by the gate (or state) they compute: what a test checks the drawing against.
BLOCKS = {"LSTM": ("forget", "input", "candidate", "output"), "GRU": ("update", "reset", "linear", "candidate"),
          "SimpleRNN": ("hidden",)}


# A label whose symbol is longer than this goes on two lines (symbol, then "= value"), so it stays in its gap
# between blocks when the chart is drawn in a narrow column.
ONE_LINE_SYMBOL = 12


def label(wires: CellWires, name: str) -> str:
    """The text written on wire `name`: its symbol and value ("f_t = 0.692"), or x_t's summary."""
    if name == "x":
        return wires.input_text.replace(" (the norm", "<br>(the norm")
    wire = wires.wires[name]
    joint = "<br>= " if len(wire.symbol) > ONE_LINE_SYMBOL else " = "
    return f"{wire.symbol}{joint}{significant(wire.value)}"


def diagram_figure(wires: dict[int, CellWires], frame_steps: list[int], step: int, timesteps: int,
                   title: str | None = None) -> go.Figure:
    """The cell of `wires[step]`, animated over `frame_steps` (in reading order), with the unrolled strip.

    `wires` holds `cell_wires` for every frame step and the strip's lead-in (`cell_wires.diagram_steps`); `step`
    (0-based) is the frame shown first; `timesteps` is the sequence's length.
    """
    first = wires[step]
    geometry = LAYOUTS[first.kind](first)
    names = list(geometry["wires"])
    state_low, state_high = style.state_range([wire.value for cell in wires.values() for wire in cell.wires.values()
                                               if wire.scale == STATE])
    figure = go.Figure()
    _draw_static(figure, geometry, first)
    # The traces frames change, in this order: one per wire, the three label traces, then the strip's.
    for name in names:
        path, _, _ = geometry["wires"][name]
        xs, ys = _path(path)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"wire {name}", hoverinfo="skip",
                                    showlegend=False, line=dict(width=WIRE_PX)))
    for scale in (GATE, STATE, INPUT):
        figure.add_trace(go.Scatter(mode="markers+text", name=f"labels {scale}", showlegend=False,
                                    textfont=dict(size=FONT_PX, color=style.INK), hoverinfo="text",
                                    marker=_bead_marker(scale, state_low, state_high)))
    strip_names = ["strip boxes", "strip steps", "strip arrows", "strip labels"]
    figure.add_trace(go.Scatter(mode="lines", name=strip_names[0], fill="toself", fillcolor="#f8f9fa",
                                line=dict(color=style.INK, width=1.5), hoverinfo="skip", showlegend=False))
    figure.add_trace(go.Scatter(mode="text", name=strip_names[1], hoverinfo="skip", showlegend=False,
                                textfont=dict(size=SMALL_FONT_PX, color=style.INK)))
    figure.add_trace(go.Scatter(mode="lines+markers", name=strip_names[2], hoverinfo="skip", showlegend=False,
                                line=dict(color=WIRE_OUTLINE, width=2),
                                marker=dict(symbol="arrow", angleref="previous", color=WIRE_OUTLINE)))
    figure.add_trace(go.Scatter(mode="markers+text", name=strip_names[3], showlegend=False, hoverinfo="text",
                                textfont=dict(size=SMALL_FONT_PX, color=style.INK),
                                marker=_bead_marker(STATE, state_low, state_high, colorbar=False)))
    dynamic = list(range(len(figure.data) - len(names) - 3 - len(strip_names), len(figure.data)))

    colors = _wire_colors([wires[at] for at in {step, *frame_steps}], names, state_low, state_high)

    def frame_data(at: int, placed: bool = True) -> list[dict]:
        """The dynamic traces at step `at`; without `placed`, only what changes from step to step (a frame restyles
        the figure's traces: the labels' places are the first frame's, which Plotly would check again per frame)."""
        cell = wires[at]
        data = []
        for name in names:
            data.append(dict(type="scatter", line=dict(color=colors[at, name], width=WIRE_PX)))
        for scale in (GATE, STATE, INPUT):
            chosen = [name for name in names if cell.wires[name].scale == scale]
            points = [geometry["wires"][name][1] for name in chosen]
            places = dict(x=[p[0] for p in points], y=[p[1] for p in points],
                          textposition=[geometry["wires"][name][2] for name in chosen]) if placed else {}
            data.append(dict(type="scatter", **places, text=[label(cell, name) for name in chosen],
                             customdata=[[name, cell.wires[name].value] for name in chosen],
                             marker=dict(color=[_bead_value(cell.wires[name]) for name in chosen])))
        data.extend(_strip_data(wires, at, timesteps, first.kind))
        return data

    for index, data in zip(dynamic, frame_data(step)):
        figure.data[index].update({key: value for key, value in data.items() if key != "type"})
    _animation_controls(figure, frame_steps, step)
    figure.update_layout(title=dict(text=_title(first, title, timesteps), font=dict(size=FONT_PX + 2)),
                         template="plotly_white", height=820, margin=dict(l=10, r=110, t=60, b=110),
                         font=dict(size=FONT_PX), plot_bgcolor="white")
    figure.update_xaxes(visible=False, range=[-0.7, 13.6], fixedrange=True)
    figure.update_yaxes(visible=False, range=[-4.0, 8.0], fixedrange=True)
    _attach_frames(figure, [dict(name=str(at + 1), data=frame_data(at, placed=False), traces=dynamic,
                                 layout=dict(title=dict(text=_title(wires[at], title, timesteps),
                                                        font=dict(size=FONT_PX + 2))))
                            for at in frame_steps])
    return figure


def _attach_frames(figure: go.Figure, frames: list[dict]) -> None:
    """Set `frames` on `figure` unchecked.

    Plotly's `frames` setter builds and checks a `go.Scatter` for every trace of every frame: 0.13 s of CPU a figure
    of 40 frames here, a quarter of the Inside the cell script (measured with `time.process_time`, median of five).
    A frame here only restyles traces the figure has already checked, with the same keys as the first frame's,
    and tests/test_cell_diagram.py checks the whole figure, frames included, with Plotly's own validators.
    `figure.to_dict()` (what `st.plotly_chart` sends) reads each frame's `_props`, which an unchecked `go.Frame`
    holds as given. Plotly has no public way to skip the check (its `_validate=False` is honoured by `go.Frame`,
    not by the figure's setter), hence the private attribute."""
    figure._frame_objs = tuple(go.Frame(frame, _validate=False) for frame in frames)


def _title(cell: CellWires, title: str | None, timesteps: int) -> str:
    where = f"time step {cell.step + 1} of {timesteps}, unit {cell.unit + 1}"
    return f"{title}: {where}" if title else f"{cell.kind} cell, {where}"


def _draw_static(figure: go.Figure, geometry: dict, cell: CellWires) -> None:
    """Blocks, junctions, the grey input bus and the dark edge under every wire: the same in every frame.

    The shapes and words are set in one layout update: added one at a time, Plotly checked every earlier one again
    at each addition (0.25 s a figure here)."""
    shapes, annotations = [], []
    outline_x, outline_y = _path([point for path, _, _ in geometry["wires"].values() for point in [*path, None]])
    figure.add_trace(go.Scatter(x=outline_x, y=outline_y, mode="lines", name="wire edges", hoverinfo="skip",
                                showlegend=False, line=dict(color=WIRE_OUTLINE, width=OUTLINE_PX)))
    bus_x, bus_y = _path(geometry["bus"])
    figure.add_trace(go.Scatter(x=bus_x, y=bus_y, mode="lines", name="inputs bus", hoverinfo="skip",
                                showlegend=False, line=dict(color=BUS_COLOR, width=4)))
    for key, x, y, activation, words in geometry["blocks"]:
        width, height = (2.0, 1.0) if key == "linear" else (1.3, 1.0)
        shapes.append(dict(type="rect", x0=x - width / 2, x1=x + width / 2, y0=y - height / 2, y1=y + height / 2,
                           fillcolor=BLOCK_FILL, line=dict(color=BLOCK_LINE, width=2), layer="above", name=key))
        text = f"<b>{activation}</b><br><span style='font-size:{SMALL_FONT_PX}px'>{words}</span>" if activation \
            else f"<span style='font-size:{SMALL_FONT_PX}px'>{words}</span>"
        annotations.append(dict(x=x, y=y, text=text, showarrow=False, font=dict(size=FONT_PX + 2, color=style.INK),
                                name=f"block {key}"))
    for x, y, symbol in geometry["junctions"]:
        shapes.append(dict(type="circle", x0=x - 0.3, x1=x + 0.3, y0=y - 0.3, y1=y + 0.3, fillcolor=JUNCTION_FILL,
                           line=dict(color=JUNCTION_LINE, width=2), layer="above", name="junction"))
        annotations.append(dict(x=x, y=y, text=f"<b>{symbol}</b>", showarrow=False,
                                font=dict(size=FONT_PX + 2, color=style.INK), name=f"junction {symbol}"))
    for x, y, activation in geometry["ovals"]:
        shapes.append(dict(type="circle", x0=x - 0.55, x1=x + 0.55, y0=y - 0.35, y1=y + 0.35, fillcolor=JUNCTION_FILL,
                           line=dict(color=JUNCTION_LINE, width=2), layer="above", name="junction"))
        annotations.append(dict(x=x, y=y, text=f"<b>{activation}</b>", showarrow=False,
                                font=dict(size=FONT_PX, color=style.INK), name=f"junction {activation}"))
    # Where the outputs go: the next step (the strip below shows it) and, for h_t, the layer or output above.
    # (The GRU's h_t leaves by the top wire, where its update's labels need the room: the strip says it there.)
    outputs = {"LSTM": [(_TOP_Y, "to t+1"), (_BUS_Y, "to t+1 and up")], "GRU": [],
               "SimpleRNN": [(5.5, "to t+1 and up")]}
    for y, words in outputs[cell.kind]:
        annotations.append(dict(x=_RIGHT, y=y - 0.2, text=words + " →", showarrow=False, xanchor="right",
                                yanchor="top", font=dict(size=SMALL_FONT_PX, color=style.BASELINE_COLOR),
                                name="note outputs"))
    annotations.append(dict(x=-0.6, y=-1.05, xanchor="left", showarrow=False, name="note strip",
                            text="The last steps, unrolled: each step hands its state to the next",
                            font=dict(size=SMALL_FONT_PX, color=style.BASELINE_COLOR)))
    figure.update_layout(shapes=shapes, annotations=annotations)


def _strip_data(wires: dict[int, CellWires], at: int, timesteps: int, kind: str) -> list[dict]:
    """The strip's four traces for the frame of step `at`: boxes, their words, the arrows, the states on them."""
    cell = wires[at]
    shown = strip_steps(at, timesteps, cell.direction, STRIP_STEPS)
    slots = list(range(STRIP_STEPS - len(shown), STRIP_STEPS))  # right-aligned: the step `at` is on the right
    centres = [1.6 + 2.45 * slot for slot in range(STRIP_STEPS)]
    half, top, bottom = 0.6, -1.7, -3.1
    box_x, box_y, words_x, words_y, words = [], [], [], [], []
    arrows_x, arrows_y, heads = [], [], []  # heads: an arrowhead's size at each point (only at a segment's end)
    bead_x, bead_y, bead_text, bead_values, bead_names = [], [], [], [], []
    rows = [("c", -2.05), ("h", -2.75)] if kind == "LSTM" else [("h", -2.4)]
    for slot, shown_step in zip(slots, shown):
        centre = centres[slot]
        box_x += [centre - half, centre + half, centre + half, centre - half, centre - half, None]
        box_y += [bottom, bottom, top, top, bottom, None]
        words_x += [centre, centre]
        words_y += [(top + bottom) / 2, bottom - 0.35]
        words += [f"<b>t = {shown_step + 1}</b>", wires[shown_step].input_short]
    for slot, shown_step in zip(slots, shown):
        left = centres[slot] - half
        start = left - (2.45 - 2 * half) if slot else -0.5
        for row, y in rows:
            arrows_x += [start, left - 0.05, None]
            arrows_y += [y, y, None]
            heads += [0, 12, 0]
            previous = wires[shown_step].value("h_previous" if row == "h" else "c_previous")
            bead_x.append((start + left) / 2)
            bead_y.append(y)
            bead_values.append(previous)
            bead_text.append(significant(previous))
            bead_names.append(f"{row}_previous {shown_step}")
    last = wires[shown[-1]]
    right = centres[-1] + half
    for row, y in rows:
        arrows_x += [right, 13.3, None]
        arrows_y += [y, y, None]
        heads += [0, 12, 0]
        value = last.value("hidden" if row == "h" else "cell")
        bead_x.append((right + 13.3) / 2)
        bead_y.append(y)
        bead_values.append(value)
        bead_text.append(significant(value))
        bead_names.append(f"{row} {shown[-1]}")
    # Which state each row of arrows carries, written once at the left.
    for row, y in rows:
        words_x.append(-0.5)
        words_y.append(y + 0.3)
        words.append(f"<b>{row}</b>")
    return [
        dict(type="scatter", x=box_x, y=box_y),
        dict(type="scatter", x=words_x, y=words_y, text=words),
        dict(type="scatter", x=arrows_x, y=arrows_y,
             marker=dict(size=heads, symbol="arrow", angleref="previous", color=WIRE_OUTLINE)),
        dict(type="scatter", x=bead_x, y=bead_y, text=bead_text, textposition="top center",
             customdata=[[name, value] for name, value in zip(bead_names, bead_values)],
             marker=dict(color=bead_values)),
    ]


def _animation_controls(figure: go.Figure, frame_steps: list[int], step: int) -> None:
    """Play and Pause buttons and a slider over the frames, starting on `step`'s frame."""
    play = dict(frame=dict(duration=FRAME_MS, redraw=True), transition=dict(duration=0), fromcurrent=True,
                mode="immediate")
    figure.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.02, xanchor="left", yanchor="top",
                          showactive=False, pad=dict(t=6, r=8), font=dict(size=SMALL_FONT_PX + 1),
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                           mode="immediate", transition=dict(duration=0))])])],
        sliders=[dict(active=frame_steps.index(step), x=0.24, len=0.76, y=-0.02, yanchor="top",
                      currentvalue=dict(prefix="time step t = ", font=dict(size=SMALL_FONT_PX + 1)),
                      pad=dict(t=6), font=dict(size=SMALL_FONT_PX - 1),
                      steps=[dict(label=str(at + 1), method="animate",
                                  args=[[str(at + 1)], dict(frame=dict(duration=0, redraw=True), mode="immediate",
                                                            transition=dict(duration=0))])
                             for at in frame_steps])])


def _bead_marker(scale: str, low: float, high: float, colorbar: bool = True) -> dict:
    """The marker of a label trace: its colours on the house scale of `scale`, with a colour bar for the first."""
    marker = dict(size=BEAD_PX, symbol="circle", line=dict(color=WIRE_OUTLINE, width=1.5))
    if scale == GATE:
        marker.update(colorscale=style.GATE_SCALE, cmin=style.GATE_RANGE[0], cmax=style.GATE_RANGE[1])
        if colorbar:
            marker.update(showscale=True, colorbar=dict(title=dict(text="gate", side="top"), x=1.0, y=0.98,
                                                        yanchor="top", len=0.36, thickness=14, **style.GATE_TICKS))
    elif scale == STATE:
        marker.update(colorscale=style.STATE_SCALE, cmin=low, cmax=high, cmid=0.0)
        if colorbar:
            marker.update(showscale=True, colorbar=dict(title=dict(text="state", side="top"), x=1.0, y=0.55,
                                                        yanchor="top", len=0.36, thickness=14,
                                                        tickvals=[low, 0, high],
                                                        ticktext=[f"{low:g}", "0", f"{high:g}"]))
    else:
        marker.update(color=BUS_COLOR)
    return marker


def _bead_value(wire) -> float | str:
    """What a bead is coloured by: the wire's value, or (the input, which is on no house scale) a fixed grey."""
    return BUS_COLOR if wire.scale == INPUT else wire.value


def _wire_colors(cells: list[CellWires], names: list[str], low: float, high: float) -> dict[tuple[int, str], str]:
    """Each wire's colour in each of `cells`, keyed (step, name): its value on the gate scale (0–1) or the diverging
    state scale; the input (and a value that is not a number) is dark ink. One Plotly lookup per scale: looking up
    each wire alone (it checks the scale every call) took 0.6 s a figure."""
    colors, wanted = {}, {GATE: [], STATE: []}
    for cell in cells:
        for name in names:
            wire = cell.wires[name]
            if wire.scale == INPUT or not math.isfinite(wire.value):
                colors[cell.step, name] = style.INK
            elif wire.scale == GATE:
                wanted[GATE].append(((cell.step, name), float(np.clip(wire.value, *style.GATE_RANGE))))
            else:
                wanted[STATE].append(((cell.step, name),
                                      float(np.clip((wire.value - low) / (high - low), 0.0, 1.0))))
    for scale, house in ((GATE, style.GATE_SCALE), (STATE, style.STATE_SCALE)):
        if wanted[scale]:
            keys, positions = zip(*wanted[scale])
            colors.update(zip(keys, plotly.colors.sample_colorscale(_COLORSCALES[house], list(positions))))
    return colors


def _path(points: list) -> tuple[list, list]:
    xs = [None if point is None else point[0] for point in points]
    ys = [None if point is None else point[1] for point in points]
    return xs, ys
