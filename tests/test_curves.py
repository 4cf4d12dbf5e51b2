"""Curves as the run trackers read them (`rnnlab.curves`): the time-weighted EMA against hand-computed values and
TensorBoard's own loop, seed groups, the mean and band the charts draw, and the controls on Compare runs and Class."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import fake_record
from rnnlab import curves
from rnnlab.lab import get_lab
from rnnlab.plots import classroom as class_plots
from rnnlab.plots import runs as charts

ROOT = Path(__file__).resolve().parents[1]


def tensorboard_smoothing(values, weight):
    """TensorBoard's scalar-chart smoothing as its front end writes it: an EMA divided by its debias weight."""
    last, smoothed = 0.0, []
    for count, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


# --- The moving average ---------------------------------------------------------------------------------------

def test_the_ema_on_even_spacing_is_the_hand_computed_weighted_mean_and_tensorboards():
    # Weights 1, 1/2, 1/4, 1/8 back from each point: (1), (1/2)/(3/2), (1/4)/(7/4), (1/8 + 1)/(15/8).
    smoothed = curves.ema([1.0, 0.0, 0.0, 1.0], weight=0.5)
    np.testing.assert_allclose(smoothed, [1.0, 1 / 3, 1 / 7, 0.6], rtol=1e-15)
    losses = [0.9, 0.52, 0.61, 0.3, 0.33, 0.12, 0.2]
    for weight in (0.3, 0.6, 0.9, 0.99):
        np.testing.assert_allclose(curves.ema(losses, weight=weight), tensorboard_smoothing(losses, weight),
                                   rtol=1e-12)


def test_the_ema_weights_uneven_spacing_by_the_gap_on_the_x_axis():
    # Points at x = 1, 2, 4: at x = 4 the weights are 0.5³, 0.5², 1, so (0.125·1 + 0.25·0 + 1·1) / 1.375 = 9/11.
    np.testing.assert_allclose(curves.ema([1.0, 0.0, 1.0], x=[1, 2, 4], weight=0.5), [1.0, 1 / 3, 9 / 11],
                               rtol=1e-15)
    # A diverged epoch is a gap: left out, kept as NaN, and the next point decays across the whole gap.
    with_gap = curves.ema([1.0, 0.0, math.nan, 1.0], weight=0.5)
    assert math.isnan(with_gap[2])
    np.testing.assert_allclose(with_gap[[0, 1, 3]], [1.0, 1 / 3, 9 / 11], rtol=1e-15)
    # Half-epoch points (the unit is one epoch): a step of 0.5 decays by √0.5.
    np.testing.assert_allclose(curves.ema([2.0, 0.0], x=[0.5, 1.0], weight=0.5),
                               [2.0, 2 * math.sqrt(0.5) / (math.sqrt(0.5) + 1)], rtol=1e-15)


def test_no_smoothing_is_the_raw_curve_exactly_and_the_first_point_is_never_pulled_to_zero():
    values = [0.91234567, 0.5, 0.25, 0.125]
    assert curves.ema(values, weight=0.0).tolist() == values
    for weight in (0.05, 0.6, 0.95, curves.MAX_SMOOTHING):
        assert curves.ema(values, weight=weight)[0] == values[0]  # debiased: not (1 − w)·y₁
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="between 0 and"):
            curves.ema(values, weight=bad)
    with pytest.raises(ValueError, match="increase"):
        curves.ema([1.0, 2.0], x=[2, 1], weight=0.5)


def test_a_smoothed_chart_draws_the_smoothed_curve_over_the_raw_one_and_hovers_both():
    record = fake_record("lstm", val_loss=(0.15, 0.05, 0.09, 0.01))
    plain = charts.compare_figure([record], "val_loss")
    assert [trace.meta["role"] for trace in plain.data] == ["run"]
    assert list(plain.data[0].y) == record.history["val_loss"]  # 0 draws the raw curve, exactly
    figure = charts.compare_figure([record], "val_loss", smoothing=0.6)
    raw, smoothed = figure.data
    assert (raw.meta["role"], smoothed.meta["role"]) == ("raw", "smoothed")
    assert list(raw.y) == record.history["val_loss"] and raw.opacity < 0.5 and raw.showlegend is False
    np.testing.assert_allclose(smoothed.y, tensorboard_smoothing(record.history["val_loss"], 0.6), rtol=1e-12)
    assert list(smoothed.customdata) == record.history["val_loss"]
    assert "smoothed %{y" in smoothed.hovertemplate and "raw %{customdata" in smoothed.hovertemplate
    assert "smoothed (0.6)" in figure.layout.title.text


# --- Groups of seeds ----------------------------------------------------------------------------------------------

def seeded(cell="lstm", seed=0, losses=(0.15, 0.05, 0.01), name="", **settings):
    record = fake_record(cell, val_loss=losses)
    record.config = record.config.replace(seed=seed, **settings)
    record.name = name or record.config.label()
    return record


def test_runs_that_differ_only_in_seed_are_grouped_and_nothing_else_is():
    a, b, c = (seeded(seed=seed, name=f"Ada's run {seed}") for seed in (1, 2, 3))  # names are not settings
    faster = seeded(seed=1, learning_rate=0.01)
    other_cell = seeded("gru", seed=2)
    longer = seeded(seed=4, seq_len=100)
    groups = curves.seed_groups([a, faster, b, other_cell, c, longer])
    assert [[record.run_id for record in group] for group in groups] == \
        [[a.run_id, b.run_id, c.run_id], [faster.run_id], [other_cell.run_id], [longer.run_id]]
    assert curves.group_names(groups[:2]) == ["LSTM 32 · adding T=50 · lr 0.003", "LSTM 32 · adding T=50 · lr 0.01"]


@pytest.mark.parametrize("smoothing", [0.0, 0.6])
def test_the_mean_and_both_bands_drawn_are_the_computed_ones(smoothing):
    runs = [seeded(seed=seed, losses=losses) for seed, losses in
            enumerate([(0.15, 0.06, 0.02), (0.14, 0.04, 0.01), (0.16, 0.08, 0.05)])]
    alone = seeded("gru", seed=9)
    raw = np.array([run.history["val_loss"] for run in runs])
    values = np.array([curves.ema(row, weight=smoothing) for row in raw])
    mean, n = values.mean(axis=0), 3
    stderr = np.sqrt(((values - mean) ** 2).sum(axis=0) / (n - 1)) / np.sqrt(n)  # s / √n, by hand
    for band, (low, high) in {"minmax": (values.min(axis=0), values.max(axis=0)),
                              "stderr": (mean - stderr, mean + stderr)}.items():
        figure = charts.compare_figure([*runs, alone], "val_loss", smoothing=smoothing, by_seed=True, band=band)
        traces = {trace.meta["role"]: trace for trace in figure.data if trace.legendgroup != alone.config.label()}
        (drawn_mean,) = [trace for trace in figure.data if trace.meta["role"] == "mean"]
        assert drawn_mean.name == "LSTM 32 · adding T=50 · mean of 3 runs" and drawn_mean.meta["runs"] == 3
        np.testing.assert_allclose(drawn_mean.y, mean, rtol=1e-12)
        np.testing.assert_allclose(traces["band low"].y, low, rtol=1e-12)
        np.testing.assert_allclose(traces["band high"].y, high, rtol=1e-12)
        assert traces["band low"].fill == "tonexty"  # filled up to the top edge, drawn just before it
        assert figure.data.index(traces["band high"]) + 1 == figure.data.index(traces["band low"])
        np.testing.assert_allclose(np.asarray(drawn_mean.customdata)[:, 2], raw.mean(axis=0), rtol=1e-12)
        assert curves.BANDS[band] in drawn_mean.hovertemplate
        if smoothing:
            np.testing.assert_allclose(traces["raw mean"].y, raw.mean(axis=0), rtol=1e-12)
            assert "smoothed mean %{y" in drawn_mean.hovertemplate
            assert "raw mean %{customdata[2]" in drawn_mean.hovertemplate
        # The run with no seed partners is drawn as itself, under its own name.
        assert [trace.name for trace in figure.data if trace.showlegend is not False][-1] == "GRU 32 · adding T=50"


def test_a_group_of_runs_of_different_lengths_is_averaged_over_the_epochs_all_have_and_says_so():
    long = seeded(seed=1, losses=(0.15, 0.05, 0.02, 0.01))
    short = seeded(seed=2, losses=(0.13, 0.07))
    diverged = seeded(seed=3, losses=(0.14, 0.09, math.nan))
    curve = curves.group_curve([long, short, diverged], "val_loss")
    assert curve.shared == 2 and curve.longest == 4 and curve.count == 3
    np.testing.assert_allclose(curve.mean, [0.14, 0.07], rtol=1e-12)
    figure = charts.compare_figure([long, short, diverged], "val_loss", by_seed=True)
    (mean,) = [trace for trace in figure.data if trace.meta["role"] == "mean"]
    assert list(mean.x) == [1, 2]
    assert "to epoch 2 (its longest run has 4)" in figure.layout.title.text


def test_the_class_chart_groups_the_learners_seeds_into_one_mean_with_its_count():
    learner = type("Learner", (), {"token": "t", "name": "Ada"})()
    runs = [seeded(seed=seed, losses=(0.15, 0.02 + 0.01 * seed)) for seed in range(3)]
    simple = seeded("simplernn", seed=0, losses=(0.15, 0.149))
    pairs = [(learner, record) for record in [*runs, simple]]
    figure = class_plots.class_figure(pairs, "val_loss", by_seed=True, band="minmax")
    means = {trace.name: trace for trace in figure.data if trace.meta["role"] == "mean"}
    assert set(means) == {"LSTM 32 · adding T=50 · mean of 3 runs", "SimpleRNN 32 · adding T=50 · 1 run"}
    np.testing.assert_allclose(means["LSTM 32 · adding T=50 · mean of 3 runs"].y, [0.15, 0.03], rtol=1e-12)
    low, high = (trace.y for trace in figure.data if trace.meta["role"] in ("band low", "band high"))
    assert list(high) == pytest.approx([0.15, 0.02]) and list(low) == pytest.approx([0.15, 0.04])
    smoothed = class_plots.class_figure(pairs, "val_loss", smoothing=0.5)
    assert [trace.meta["role"] for trace in smoothed.data] == ["raw", "smoothed"] * 4
    assert all("raw %{customdata" in trace.hovertemplate for trace in smoothed.data[1::2])


# --- The controls on the pages ----------------------------------------------------------------------------------

def save(store, token, record):
    store.save_run(token, record)
    for epoch in range(1, record.epochs_done + 1):
        store.save_epoch(record, epoch)


def figure_of(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def roles(figure: dict) -> list[str]:
    return [trace["meta"]["role"] for trace in figure["data"]]


def test_compare_runs_smooths_and_groups_its_chart():
    store = get_lab().store
    learner = store.new_learner("Ada")
    runs = [seeded(seed=seed, losses=(0.15, 0.05 + 0.01 * seed, 0.01)) for seed in range(3)]
    for created, record in enumerate(runs):
        record.created = created
        save(store, learner.token, record)
    at = AppTest.from_file(str(ROOT / "pages" / "runs.py"), default_timeout=90)
    at.query_params["learner"] = learner.token
    at.run()
    assert not at.exception
    assert at.slider(key="runs_smoothing").value == 0.0 and roles(figure_of(at)) == ["run"] * 3  # off by default
    assert at.radio(key="runs_band").disabled
    at.slider(key="runs_smoothing").set_value(0.6).run()
    assert not at.exception and roles(figure_of(at)) == ["raw", "smoothed"] * 3
    at.radio(key="runs_group").set_value("seed").run()
    figure = figure_of(at)
    assert roles(figure) == ["band high", "band low", "raw mean", "mean"]
    assert figure["data"][-1]["name"] == "LSTM 32 · adding T=50 · mean of 3 runs"
    assert not at.radio(key="runs_band").disabled
    at.radio(key="runs_band").set_value("stderr").run()
    assert figure_of(at)["data"][-1]["meta"]["band"] == "stderr"


def test_the_class_page_smooths_and_groups_its_chart():
    store = get_lab().store
    room = store.new_class("Period 10")
    for seed, name in enumerate(("Ada", "Bob", "Cy")):
        learner = store.new_learner(name)
        store.join(learner.token, room.join_token)
        save(store, learner.token, seeded(seed=seed, losses=(0.15, 0.02 + 0.01 * seed)))
    at = AppTest.from_file(str(ROOT / "pages" / "classroom.py"), default_timeout=90)
    at.query_params["teacher"] = room.teacher_token
    at.run()
    assert not at.exception and roles(figure_of(at)) == ["run"] * 3
    at.radio(key="class_group").set_value("seed").run()
    figure = figure_of(at)
    assert not at.exception and roles(figure) == ["band high", "band low", "mean"]
    assert figure["data"][-1]["name"] == "LSTM 32 · adding T=50 · mean of 3 runs"
    assert figure["data"][-1]["y"] == pytest.approx([0.15, 0.03])
    at.slider(key="class_smoothing").set_value(0.5).run()
    assert roles(figure_of(at)) == ["band high", "band low", "raw mean", "mean"]


def test_a_title_of_several_small_lines_gets_the_room_it_needs_over_the_legend():
    runs = [seeded(seed=1, losses=(0.15, 0.05, 0.02)), seeded(seed=2, losses=(0.14, 0.06))]
    one_line = charts.compare_figure(runs, "val_loss", by_seed=True)  # shaded, and shortened: two small lines
    plain = charts.compare_figure(runs[:1], "val_loss")
    assert one_line.layout.title.text.count("<br>") == 2
    assert one_line.layout.margin.t == plain.layout.margin.t + charts.SUBTITLE_PX


@pytest.mark.slow
@pytest.mark.browser
def test_in_the_browser_group_by_seed_draws_the_mean_and_its_band_and_smoothing_moves_it(shared_app, browser):
    """Compare runs in Chromium: three runs of different seeds become one mean line over a filled band."""
    # The browser suite's shared server and Chromium (tests/conftest.py); Playwright is optional for the rest of
    # this module. The runs go into the served app's store, under a learner of their own.
    import contextlib

    from test_browser import chart_traces

    from rnnlab.store import Store

    store = Store(shared_app.home)
    learner = store.new_learner("Ada")
    losses = [(0.5, 0.3, 0.2, 0.1), (0.45, 0.35, 0.15, 0.12), (0.55, 0.25, 0.22, 0.08)]
    for created, values in enumerate(losses):
        record = seeded(seed=created, losses=values)
        record.created = created
        save(store, learner.token, record)
    with contextlib.nullcontext(shared_app.url) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/runs?learner={learner.token}")
        page.get_by_text("Runs to overlay").wait_for(timeout=180_000)  # the first page a server draws loads TensorFlow
        assert len(chart_traces(page)) == 3
        page.get_by_role("radiogroup", name="Group by").get_by_text("seed", exact=True).click()
        page.get_by_text("mean of 3 runs").first.wait_for(timeout=30_000)
        traces = {trace["name"]: trace["y"] for trace in chart_traces(page)}
        mean = traces["LSTM 32 · adding T=50 · mean of 3 runs"]
        assert mean == pytest.approx(np.mean(losses, axis=0).tolist())
        assert traces["LSTM 32 · adding T=50 · mean of 3 runs · min–max, bottom"] == \
            pytest.approx(np.min(losses, axis=0).tolist())
        slider = page.get_by_role("slider").first
        slider.focus()
        for _ in range(10):  # 0.05 a step: to 0.5
            slider.press("ArrowRight")
        page.get_by_text("smoothed (0.5)").first.wait_for(timeout=30_000)
        traces = {trace["name"]: trace["y"] for trace in chart_traces(page)}
        smoothed = np.mean([curves.ema(values, weight=0.5) for values in losses], axis=0)
        assert traces["LSTM 32 · adding T=50 · mean of 3 runs"] == pytest.approx(smoothed.tolist())
        page.close()
