"""The figures (`rnnlab.plots`) draw exactly the numbers they are given, with labelled axes and one look."""

import numpy as np
import pytest

from helpers import fake_record
from rnnlab import gate
from rnnlab.config import RunConfig
from rnnlab.data import make_dataset
from rnnlab.plots import gradients as gradient_plots
from rnnlab.plots import runs as charts
from rnnlab.plots import style
from rnnlab.records import RunRecord


def test_confusion_counts_every_prediction_and_says_how_many():
    data = make_dataset(RunConfig(task="recall", seq_len=5, samples=32, eval_samples=300))
    rng = np.random.default_rng(0)
    predictions = rng.dirichlet(np.ones(4), size=300).astype(np.float32)  # (300, 4) class probabilities
    figure = charts.predictions_figure(data, predictions)
    matrix = np.asarray(figure.data[0].z)
    expected = np.zeros((4, 4), dtype=int)
    for truth, guess in zip(data.y_val, predictions.argmax(axis=1)):
        expected[truth, guess] += 1
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == 300 and figure.layout.title.text.startswith("300 validation sequences")


def test_regression_scatter_draws_each_answer_against_its_target():
    data = make_dataset(RunConfig(task="adding", seq_len=6, samples=32, eval_samples=120))
    predictions = np.linspace(0, 2, 120, dtype=np.float32)[:, None]  # (120, 1)
    figure = charts.predictions_figure(data, predictions)
    np.testing.assert_allclose(figure.data[0].x, data.y_val[:, 0])
    np.testing.assert_allclose(figure.data[0].y, predictions[:, 0])
    assert "120 validation sequences" in figure.layout.title.text


@pytest.mark.parametrize("task", ["sine", "count"])
def test_the_examples_of_a_forecast_are_its_inputs_and_true_next_values(task):
    data = gate.display_examples(RunConfig(task=task, seq_len=12, samples=32, eval_samples=16))
    figure = charts.examples_figure(data)
    assert len(figure.data) == 6 and not any("forecast" in trace.name for trace in figure.data)  # nothing trained
    for index in range(3):
        line, truth = figure.data[2 * index], figure.data[2 * index + 1]
        np.testing.assert_allclose(line.y, data.x_val[index, :, 0])
        assert list(line.x) == list(range(1, 13)) and list(truth.x) == [13]
        np.testing.assert_allclose(truth.y, [data.y_val[index, 0]])
    assert figure.layout.xaxis.title.text == "time step" and figure.layout.yaxis.title.text


def test_the_examples_of_the_adding_problem_circle_the_two_marked_values_and_name_their_sum():
    data = gate.display_examples(RunConfig(task="adding", seq_len=20, samples=32, eval_samples=16))
    figure = charts.examples_figure(data)
    for index in range(3):
        values, markers = data.x_val[index, :, 0], data.x_val[index, :, 1]
        line, marked = figure.data[2 * index], figure.data[2 * index + 1]
        np.testing.assert_allclose(line.y, values)
        assert list(marked.x) == [step + 1 for step in np.flatnonzero(markers > 0.5)] and len(marked.x) == 2
        np.testing.assert_allclose(marked.y, values[markers > 0.5])
        total = float(data.y_val[index, 0])
        assert total == pytest.approx(float(values[markers > 0.5].sum()), abs=1e-6)  # the target is that sum
        assert marked.name.endswith(f"sum {total:.3f}")


def test_the_examples_of_recall_show_every_token_and_name_the_first():
    data = gate.display_examples(RunConfig(task="recall", seq_len=9, samples=32, eval_samples=16))
    figure = charts.examples_figure(data)
    for index in range(3):
        tokens, first = figure.data[2 * index], figure.data[2 * index + 1]
        letters = [data.class_names[token] for token in data.x_val[index].argmax(axis=-1)]
        assert list(tokens.text) == letters
        assert [round(value) for value in tokens.y] == [data.class_names.index(letter) for letter in letters]
        assert first.name.endswith(f"first token {data.class_names[int(data.y_val[index])]}")
        assert letters[0] == data.class_names[int(data.y_val[index])]
    assert list(figure.layout.yaxis.ticktext) == list(data.class_names)


def test_loss_chart_breaks_at_epochs_and_draws_the_baseline():
    record = RunRecord(RunConfig(), baseline_loss=0.5, history={"loss": [0.4, 0.2], "val_loss": [0.3, 0.25]},
                       batch_progress=[0.5, 1.0, 1.5, 2.0], batch_loss=[0.45, 0.4, 0.25, 0.2], steps_per_epoch=2)
    figure = charts.loss_figure([record])
    within = next(trace for trace in figure.data if trace.name == "training, within epoch")
    assert list(within.x) == [0.5, 1.0, None, 1.5, 2.0]  # Keras's running mean restarts each epoch
    assert list(next(trace for trace in figure.data if trace.name == "validation").y) == [0.3, 0.25]
    assert figure.layout.shapes[0].y0 == 0.5 and figure.layout.yaxis.title.text == "loss: mean squared error"


# --- Gradients through time ------------------------------------------------------------------------------------

def test_norm_curve_figure_is_a_labelled_log_plot_before_and_after():
    record = fake_record()
    record.grad_norms[-1]["lstm_1"]["forward"][0] = 0.0  # a zero cannot be drawn on a log axis: a gap
    figure = gradient_plots.norm_curve_figure(record, epoch=2)
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.layout.yaxis.title.text == "‖∂L/∂h_t‖ (log scale)"
    assert figure.layout.yaxis.type == "log"
    assert [trace.name for trace in figure.data] == ["lstm_1 · before training", "lstm_1 · after epoch 2"]
    assert figure.data[1].y[0] is None and figure.data[1].y[-1] == pytest.approx(1.0)
    assert len(gradient_plots.norm_curve_figure(record, epoch=0).data) == 1


def test_heatmap_colours_are_log10_of_the_recorded_norms():
    record = fake_record()
    figure = gradient_plots.norm_heatmap(record, "lstm_1", "forward")
    heatmap = figure.data[0]
    expected = [np.log10(record.grad_norms_at_init["lstm_1"]["forward"])] + \
        [np.log10(norms["lstm_1"]["forward"]) for norms in record.grad_norms]
    np.testing.assert_allclose(np.array(heatmap.z, dtype=float), np.array(expected), rtol=1e-12)
    assert list(heatmap.y) == [0, 1, 2] and list(heatmap.x) == list(range(1, 51))
    assert "log₁₀" in heatmap.colorbar.title.text
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.layout.yaxis.title.text == "epoch (0 = before training)"


def test_race_figure_draws_one_log_curve_per_run():
    records = [fake_record(cell) for cell in ("simplernn", "lstm", "gru")]
    figure = gradient_plots.race_norm_figure(records, "before")
    assert len(figure.data) == 3 and figure.layout.yaxis.type == "log"
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.data[0].y[0] == pytest.approx(1e-8)


# --- One look: log axes, the baseline's label, colours, names -------------------------------------------------

def test_a_log_axis_labels_each_power_of_ten_and_no_crowded_minor_ticks():
    # Losses from 0.5 down to 0.003 span three decades: only 10⁻³ ... 10⁰ are labelled (2, 3, 5 used to crowd 1).
    record = RunRecord(RunConfig(), baseline_loss=0.5, history={"loss": [0.4, 0.01, 0.003],
                                                                "val_loss": [0.45, 0.02, 0.004]})
    figure = charts.loss_figure([record], log_y=True, show_batches=False)
    assert figure.layout.yaxis.type == "log"
    assert list(figure.layout.yaxis.tickvals) == [1e-3, 1e-2, 1e-1, 1.0]
    # Less than two decades: 1, 2 and 5 of each decade, so the axis still has labels.
    middle = RunRecord(RunConfig(), baseline_loss=0.5, history={"loss": [0.4, 0.05], "val_loss": [0.45, 0.06]})
    ticks = charts.loss_figure([middle], log_y=True, show_batches=False).layout.yaxis.tickvals
    assert list(ticks) == pytest.approx([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    # Less than a factor of five (0.3 to 0.5): 1, 2 and 5 alone left one label inside the values (issue 18.14,
    # where the axis showed a single tick "0.1"), so finer steps are labelled.
    narrow = RunRecord(RunConfig(), baseline_loss=0.5, history={"loss": [0.4, 0.3], "val_loss": [0.45, 0.35]})
    ticks = charts.loss_figure([narrow], log_y=True, show_batches=False).layout.yaxis.tickvals
    assert [tick for tick in ticks if 0.3 <= tick <= 0.5] == pytest.approx([0.3, 0.4, 0.5])


@pytest.mark.parametrize("low, high", [(0.08, 0.15), (0.3, 0.5), (0.011, 0.03), (2.0, 9.0)])
def test_a_log_axis_has_at_least_three_labels_inside_its_values(low, high):
    ticks = style.log_ticks([low, high])["tickvals"]
    assert len([tick for tick in ticks if low * 0.999 <= tick <= high * 1.001]) >= 3, ticks


@pytest.mark.parametrize("log_y", [False, True])
def test_the_learned_nothing_label_sits_on_its_line(log_y):
    record = RunRecord(RunConfig(), baseline_loss=0.155, history={"loss": [0.2, 0.01], "val_loss": [0.2, 0.02]})
    figure = charts.loss_figure([record], log_y=log_y, show_batches=False)
    line = next(shape for shape in figure.layout.shapes if shape.y0 == shape.y1)
    label = next(note for note in figure.layout.annotations if note.text.startswith("learned nothing"))
    assert line.y0 == pytest.approx(0.155) and label.text == "learned nothing: 0.155"
    # Plotly places annotations on a log axis at log10 of the value; a label at 0.155 there would float at 10^0.155.
    assert label.y == pytest.approx(np.log10(0.155) if log_y else 0.155) and label.yref == "y"


def test_a_state_has_the_same_colours_on_every_page():
    from rnnlab.plots import cell as cell_plots
    from rnnlab.plots import sentiment as sentiment_plots

    hidden = np.array([[[-0.8], [0.3], [0.9]]], dtype=np.float32)  # (1, T=3, units=1)
    forget = np.array([[[0.1], [0.5], [0.95]]], dtype=np.float32)
    inside = cell_plots.gates_figure({"forget": forget, "hidden": hidden}, np.zeros((3, 1)), kind="LSTM")
    heatmaps = {trace.name: trace for trace in inside.data if trace.type == "heatmap"}
    words = ["not", "bad", "at"]
    review_hidden = sentiment_plots.gate_heatmap(words, hidden[0], "hidden", "lstm_1").data[0]
    review_forget = sentiment_plots.gate_heatmap(words, forget[0], "forget", "lstm_1").data[0]
    assert review_hidden.colorscale == heatmaps["hidden"].colorscale  # diverging, blue below 0, red above
    assert (review_hidden.zmin, review_hidden.zmax) == (heatmaps["hidden"].zmin, heatmaps["hidden"].zmax) == (-1, 1)
    assert review_forget.colorscale == heatmaps["forget"].colorscale  # one 0-1 scale for every gate
    assert (review_forget.zmin, review_forget.zmax) == (0, 1)


def test_runs_that_differ_in_a_hidden_setting_are_told_apart_in_the_legend():
    base = RunConfig(task="adding", seq_len=50)
    records = [RunRecord(config, created=number, history={"loss": [0.1], "val_loss": [0.1]})
               for number, config in enumerate([base, base.replace(forget_bias=5.0), base.replace(cell="gru"),
                                                base.replace(cell="gru")])]
    figure = charts.compare_figure(records, "val_loss")
    assert [trace.name for trace in figure.data] == [
        "LSTM 32 · adding T=50 · forget bias 1", "LSTM 32 · adding T=50 · forget bias 5",
        "GRU 32 · adding T=50 #1", "GRU 32 · adding T=50 #2"]


def test_a_run_with_no_finite_loss_is_named_as_not_drawn():
    drawn = RunRecord(RunConfig(), history={"loss": [0.3], "val_loss": [0.2]})
    diverged = RunRecord(RunConfig(cell="gru"), history={"loss": [float("nan")], "val_loss": [float("nan")]})
    figure = charts.compare_figure([drawn, diverged], "val_loss")
    assert [trace.name for trace in figure.data] == ["LSTM 32 · sine T=30"]
    assert "Not drawn, no finite validation loss: GRU 32 · sine T=30" in figure.layout.title.text
    assert charts.not_drawn([drawn, diverged]) == [diverged]


def test_a_comparison_names_runs_as_the_page_does_and_its_legend_leaves_the_title_room():
    records = [RunRecord(RunConfig(units=128), history={"loss": [0.2, 0.1], "val_loss": [0.3, 0.1]})
               for _ in range(4)]
    page_names = {record.run_id: f"LSTM 128 · sine T=30 #{number}" for number, record in
                  enumerate(records, start=2)}
    figure = charts.compare_figure(records, "val_loss", names=page_names)
    assert [trace.name for trace in figure.data] == list(page_names.values())  # the "#2" the selector shows
    # Four entries of 21 characters need two rows in a half-width chart: the margin above the plot holds them and
    # the title, which sits at the top of the figure.
    assert style.legend_rows(figure) == 2
    assert figure.layout.margin.t >= 60 + 2 * style.LEGEND_ROW_PX
    assert figure.layout.title.yref == "container" and figure.layout.title.y == 1


def test_a_confusion_matrix_title_fits_a_half_column_and_its_counts_are_readable():
    figure = charts.confusion_figure(np.array([[1200, 50], [70, 1180]]), ("negative", "positive"), "test reviews",
                                     height=360)
    first_line = figure.layout.title.text.split("<br>")[0]
    assert first_line == "2,500 test reviews"  # the rest on its own small line, not cut at the column's edge
    assert figure.data[0].textfont.size >= 14


def test_an_imdb_input_strip_shows_its_words_readably_and_the_step_frame_leaves_the_token_visible():
    from rnnlab.plots import cell as cell_plots

    words = [f"word{index}" for index in range(200)]
    gates = {"forget": np.random.default_rng(0).uniform(size=(1, 200, 4))}
    figure = cell_plots.gates_figure(gates, np.arange(200), kind="LSTM", token_names=words, step=0)
    strip = [trace for trace in figure.data if trace.type == "heatmap" and trace.name == "tokens"]
    assert strip and list(strip[0].text[0]) == words  # every word is in the strip's hover
    written = next(trace for trace in figure.data if trace.type == "scatter" and trace.mode == "text")
    assert 0 < len(written.text) <= cell_plots.STRIP_WORD_LABELS  # a readable subset, not an empty panel
    assert len(set(written.y)) == 2  # on two lines
    assert len(figure.layout.xaxis2.tickvals) <= cell_plots.STRIP_WORD_LABELS
    # The step is framed on the input row, not crossed by a line through its token.
    lines_on_input = [shape for shape in figure.layout.shapes if shape.type == "line" and shape.yref == "y domain"]
    assert not lines_on_input and any(shape.type == "rect" for shape in figure.layout.shapes)



def test_moving_the_step_mark_replaces_the_old_marks_and_keeps_every_other_shape():
    from rnnlab.plots import cell as cell_plots

    rng = np.random.default_rng(1)
    gates = {"forget": rng.uniform(size=(1, 9, 3)), "hidden": rng.uniform(-1, 1, size=(1, 9, 3))}
    x = rng.uniform(size=(9, 2))
    kept = cell_plots.gates_figure(gates, x, kind="LSTM", step=1)
    kept.add_shape(type="rect", x0=0, x1=1, y0=0, y1=1, name="a learner's note")
    cell_plots.mark_step(kept, 6)
    fresh = cell_plots.gates_figure(gates, x, kind="LSTM", step=6)
    marks = [shape for shape in kept.layout.shapes if shape.name == cell_plots.STEP_MARK]
    assert [shape.to_plotly_json() for shape in marks] == [shape.to_plotly_json() for shape in fresh.layout.shapes]
    assert [shape.name for shape in kept.layout.shapes].count("a learner's note") == 1
    lines = cell_plots.mark_step(cell_plots.units_figure(gates, [0, 2], ["forget", "hidden"], kind="LSTM", step=0), 4)
    assert [(shape.type, shape.x0, shape.yref) for shape in lines.layout.shapes] == \
        [("line", 5, "y domain"), ("line", 5, "y2 domain")]

@pytest.mark.parametrize("log_y", [False, True])
def test_a_run_that_prepares_draws_its_future_axes_and_says_what_it_waits_for(log_y):
    preparing = RunRecord(RunConfig(epochs=10), status="running")
    figure = charts.loss_figure([preparing], log_y=log_y)
    assert [note.text for note in figure.layout.annotations] == ["Waiting for the first batch"]
    assert list(figure.layout.xaxis.range) == [0, 10] and list(figure.layout.yaxis.range) == [0, 1.0]
    preparing.baseline_loss = 0.5  # known once the data is made: the axis reaches past the learned-nothing line
    assert list(charts.loss_figure([preparing], log_y=log_y).layout.yaxis.range) == [0, pytest.approx(0.6)]
