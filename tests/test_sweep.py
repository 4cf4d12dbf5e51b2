"""The class as one experiment (issue 21.3): a sweep's slots handed out once, its grid filled with the runs' true
values, the teacher's page after a reload, a sweep that does not fit refused, the answer computed from the numbers,
a joining learner's part preloaded in Build & Train, and a learner's own sweep queued on the workers."""

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import fake_record
from rnnlab import sweep as sweeps
from rnnlab.lab import get_lab
from rnnlab.lessons import FOLDER, read_lesson
from rnnlab.plots.sweep import heatmap_figure, length_figure, parallel_figure
from rnnlab.store import Store
from rnnlab.text_safety import markdown_literal

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
GRID = [("cell", "simplernn, lstm, gru"), ("seq_len", "10, 25, 50, 100, 200")]  # 3 × 5 = 15 grid cells


def page(name: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def class_sweep(store, room, axes=GRID, seeds=2, base="task=adding") -> sweeps.Sweep:
    return sweeps.save(store, sweeps.Sweep.make(base, axes, seeds, class_id=room.class_id))


def run_of(sweep, slot, val_loss, baseline=0.155):
    """A finished run of one slot's configuration, as a learner's run is saved."""
    record = fake_record(val_loss=(baseline, val_loss), baseline=baseline)
    record.config = sweep.config(slot)
    record.created = time.time()
    return record


def save(store, token, record):
    store.save_run(token, record)
    for epoch in range(1, record.epochs_done + 1):
        store.save_epoch(record, epoch)


def test_each_grid_cell_is_handed_out_once_even_to_learners_asking_at_once():
    store = get_lab().store
    room = store.new_class("Sweepers")
    sweep = class_sweep(store, room)
    assert len(sweep.cells()) == 15 and sweep.planned == 30
    learners = [store.new_learner(f"L{number}").token for number in range(32)]
    start = threading.Barrier(len(learners))
    given: dict[str, int] = {}

    def ask(token):
        start.wait()  # every thread asks at the same moment
        given[token] = Store(store.home).take_sweep_slot(sweep.sweep_id, token)  # a connection of its own

    threads = [threading.Thread(target=ask, args=(token,)) for token in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    slots = sorted(given.values())
    assert slots == list(range(32))  # no slot twice
    first = [sweep.config(slot) for slot in range(15)]
    cells = {(config.cell, config.seq_len) for config in first}
    assert len(cells) == 15 and {config.seed for config in first} == {0}  # every grid cell once before any seed
    assert {(sweep.config(slot).cell, sweep.config(slot).seq_len, sweep.config(slot).seed)
            for slot in range(15, 30)} == {(cell, length, 1) for cell, length in cells}  # then the next seed
    # A learner who has not trained their part yet gets the same part again; once trained, the next free slot.
    token = learners[0]
    assert sweeps.my_run(store, sweep, token) == given[token]
    save(store, token, run_of(sweep, given[token], 0.01))
    assert sweeps.my_run(store, sweep, token) == 32


def test_the_grid_fills_with_the_runs_true_values():
    store = get_lab().store
    room = store.new_class("Grid")
    sweep = class_sweep(store, room, axes=[("cell", "simplernn, gru"), ("seq_len", "10, 50")], seeds=2)
    # slot: 0 SimpleRNN T=10, 1 SimpleRNN T=50, 2 GRU T=10, 3 GRU T=50; 4.. the same with seed 1
    losses = {0: 0.02, 1: 0.150, 3: 0.004, 4: 0.01, 5: 0.152, 7: 0.006}
    records = []
    for slot, loss in losses.items():
        learner = store.new_learner(f"S{slot}")
        store.join(learner.token, room.join_token)
        record = run_of(sweep, slot, loss, baseline=0.16 if slot < 4 else 0.15)
        records.append(record)
        save(store, learner.token, record)
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception and not at.error
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    (heatmap,) = [trace for chart in charts for trace in chart["data"] if trace["type"] == "heatmap"]
    assert heatmap["x"] == ["10", "50"] and heatmap["y"] == ["SimpleRNN", "GRU"]
    # Best loss ÷ learned-nothing: the lowest share among each cell's runs, from the records themselves.
    for row, cell in enumerate(("simplernn", "gru")):
        for column, length in enumerate((10, 50)):
            ours = [record for record in records if (record.config.cell, record.config.seq_len) == (cell, length)]
            if not ours:
                assert heatmap["z"][row][column] is None and heatmap["text"][row][column] == "no runs yet"
                continue
            share = min(record.final("val_loss") / record.baseline_loss for record in ours)
            assert heatmap["z"][row][column] == pytest.approx(share)
            best = min(record.final("val_loss") for record in ours)
            assert heatmap["text"][row][column] == f"{best:.3g}<br>{len(ours)} run{'' if len(ours) == 1 else 's'}"
    assert heatmap["text"][0][0] == "0.01<br>2 runs" and heatmap["text"][1][0] == "no runs yet"
    (parallel,) = [trace for chart in charts for trace in chart["data"] if trace["type"] == "parcoords"]
    result = parallel["dimensions"][-1]
    assert sorted(result["values"]) == sorted(losses.values())  # every run's true final loss, one line each
    assert [dimension["label"] for dimension in parallel["dimensions"]] == [
        "cell", "sequence length T (time steps)", "seed", "validation loss: mean squared error"]
    line = length_figure(sweep, records)
    best_lines = {trace.name: list(trace.y) for trace in line.data if trace.mode == "lines+markers"}
    assert best_lines["SimpleRNN"] == [0.01, 0.150] and best_lines["GRU"] == [0.004]
    assert line.layout.xaxis.title.text == "sequence length T (time steps)"
    assert sweeps.answer(sweep, records) in [element.value.strip("*") for element in at.markdown]


def test_the_answer_sentence_is_computed_from_the_numbers():
    sweep = sweeps.Sweep.make("task=adding", [("cell", "simplernn, lstm, gru"), ("seq_len", "10, 50, 100")], 2)
    assert sweeps.answer(sweep, []) == "No run of the sweep has finished an epoch yet."
    slots = {(config.cell, config.seq_len): slot for slot, config in enumerate(sweep.cells())}
    learned, failed = 0.01, 0.15
    plan = {("simplernn", 10): [learned], ("simplernn", 50): [failed, failed], ("simplernn", 100): [failed],
            ("lstm", 10): [learned], ("lstm", 50): [learned, learned], ("lstm", 100): [failed, learned],
            ("gru", 100): [learned]}
    records = [run_of(sweep, slots[key], loss) for key, losses in plan.items() for loss in losses]
    assert sweeps.answer(sweep, records) == ("At T ≥ 50 no SimpleRNN run beat the learned-nothing loss (0 of 3); "
                                             "at T ≥ 50, 3 of 4 LSTM runs and 1 of 1 GRU run did.")
    records.append(run_of(sweep, slots[("simplernn", 100)], learned))  # one SimpleRNN run learns at T = 100
    assert sweeps.answer(sweep, records).startswith("Every group of runs beat the learned-nothing loss")
    records = [record for record in records if record.config.cell != "simplernn" or record.config.seq_len == 10]
    records = [record for record in records if not (record.config.cell == "lstm" and record.config.seq_len == 100
                                                    and record.final("val_loss") == learned)]
    assert sweeps.answer(sweep, records) == ("At T ≥ 100 no LSTM run beat the learned-nothing loss (0 of 1); "
                                             "at T ≥ 100, 1 of 1 GRU run did.")


def test_the_sweep_survives_a_reload_of_the_teachers_page_and_a_restart():
    store = get_lab().store
    room = store.new_class("Reloaded")
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception
    at.text_input(key="class_sweep_my own grid_base").set_value("task=adding&units=8")  # submitted with the form
    at.button(key="FormSubmitter:class_sweep_form-Make the sweep").click().run()
    assert not at.exception and not at.error
    assert any("Made the sweep: 9 grid cells × 2 seeds" in element.value for element in at.success)
    made = sweeps.current(store, class_id=room.class_id)
    assert made.base == "task=adding&units=8" and [name for name, _ in made.axes] == ["cell", "seq_len"]
    learner = store.new_learner("Ada")
    store.join(learner.token, room.join_token)
    record = run_of(made, 4, 0.01)
    save(store, learner.token, record)
    # A reload is a new session on the teacher's link; a restart is a new store on the same file.
    for reopened in (page("classroom.py", teacher=room.teacher_token), None):
        if reopened is None:
            assert sweeps.current(Store(store.home), class_id=room.class_id) == made
            continue
        assert not reopened.exception
        charts = [json.loads(chart.proto.spec) for chart in reopened.get("plotly_chart")]
        (heatmap,) = [trace for chart in charts for trace in chart["data"] if trace["type"] == "heatmap"]
        assert sum(text != "no runs yet" for row in heatmap["text"] for text in row) == 1
        assert any("9 grid cells × 2 seeds" in element.value for element in reopened.caption)


def test_a_sweep_that_does_not_fit_is_refused_in_one_sentence_naming_it():
    store = get_lab().store
    room = store.new_class("Too big")
    big = "task=adding&units=512&batch_size=4096"  # at T = 2000: about 20 GB, past any worker's limit here
    sweep = sweeps.Sweep.make(big, [("cell", "simplernn, lstm"), ("seq_len", "10, 2000")], 1, class_id=room.class_id)
    sentence = sweeps.refusal(get_lab(), sweep)
    assert sentence.startswith("The sweep cannot start: SimpleRNN at T = 2000 does not fit this server (")
    assert sentence.count(". ") == 0 and sentence.endswith(").")
    at = page("classroom.py", teacher=room.teacher_token)
    at.text_input(key="class_sweep_my own grid_base").set_value(big)
    at.text_input(key="class_sweep_my own grid_values1").set_value("10, 2000")
    at.button(key="FormSubmitter:class_sweep_form-Make the sweep").click().run()
    assert not at.exception and [element.value for element in at.error] == [
        sweeps.refusal(get_lab(), sweeps.Sweep.make(big, [("cell", "simplernn, lstm, gru"),
                                                                   ("seq_len", "10, 2000")], 2))]
    assert sweeps.current(store, class_id=room.class_id) is None  # nothing was made
    with pytest.raises(sweeps.SweepError, match="at most 3 settings"):
        sweeps.Sweep.make("task=adding", [("cell", "lstm"), ("units", "8"), ("layers", "1"), ("seq_len", "9")], 1)
    with pytest.raises(sweeps.SweepError, match="Cell must be one of"):
        sweeps.Sweep.make("task=adding", [("cell", "lstm, transformer")], 1)


def test_a_learner_who_joins_gets_the_next_part_preloaded_with_its_sentence():
    store = get_lab().store
    room = store.new_class("Joiners")
    sweep = class_sweep(store, room)
    parts = []
    for _ in range(2):
        at = AppTest.from_file(APP, default_timeout=90)
        at.query_params["join"] = room.join_token
        at.run()
        assert not at.exception
        parts.append((at.sidebar.radio(key="cfg_cell").value, at.sidebar.number_input(key="cfg_seq_len").value))
        slot = at.session_state["sweep_part"][1]
        assert any(sweep.part(slot) in element.value for element in at.info)
    assert parts == [("simplernn", 10), ("simplernn", 25)]
    assert sweep.part(0) == "You are running SimpleRNN at T = 10, seed 0: one of 15 cells of the class's sweep."
    at.button(key="bt_sweep_run").click().run()  # not trained yet: the same part again
    assert not at.exception and at.session_state["sweep_part"][1] == 1


def test_past_the_planned_seeds_a_learner_gets_an_extra_seed_of_the_least_covered_cell_and_is_told_so():
    store = get_lab().store
    room = store.new_class("Latecomers")
    sweep = class_sweep(store, room, axes=[("cell", "lstm, gru")], seeds=1)  # 2 planned runs
    first, second = (store.new_learner(name, class_id=room.class_id).token for name in ("A", "B"))
    assert [sweeps.my_run(store, sweep, first), sweeps.my_run(store, sweep, second)] == [0, 1]  # LSTM, GRU seed 0
    save(store, first, run_of(sweep, 0, 0.01))
    extra = run_of(sweep, 0, 0.02)
    extra.config = extra.config.replace(seed=7)  # A trains LSTM once more; B has not trained GRU yet
    save(store, first, extra)
    # Every cell has its planned seed: a third learner joining gets GRU (no run yet, LSTM has 2), seed 1, told why.
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["join"] = room.join_token
    at.run()
    assert not at.exception
    slot = at.session_state["sweep_part"][1]
    assert slot == 3 and (sweep.config(slot).cell, sweep.config(slot).seed) == ("gru", 1)
    assert at.sidebar.radio(key="cfg_cell").value == "gru"
    sentence = ("You are running an extra seed: GRU, seed 1. Every one of the 2 cells of the class's sweep already "
                "has its 1 planned seed, so you get a cell with the fewest runs so far.")
    assert sweep.part(slot) == sentence and any(sentence in element.value for element in at.info)
    # GRU still has no run and now more slots handed out, yet the fewest runs decide: GRU again, seed 2.
    fourth = store.new_learner("D", class_id=room.class_id).token
    assert sweeps.my_run(store, sweep, fourth) == 5 and sweep.config(5).seed == 2
    save(store, second, run_of(sweep, 1, 0.01))  # GRU's runs catch up: LSTM 2, GRU 1
    save(store, fourth, run_of(sweep, 5, 0.01))  # GRU 2, LSTM 2: a tie, broken by the fewer slots handed (LSTM)
    assert sweeps.my_run(store, sweep, store.new_learner("E", class_id=room.class_id).token) == 2  # LSTM seed 1
    teacher = page("classroom.py", teacher=room.teacher_token)
    assert any("2 of 2 planned runs handed out + 3 extra seeds" in caption.value for caption in teacher.caption)


def test_a_lessons_sweep_block_and_an_older_store_gain_the_sweep_tables(tmp_path):
    (block,) = [block for block in read_lesson(FOLDER / "10_how_long_can_a_cell_remember.md").blocks
                if block.kind == "sweep"]
    assert block.sweep.axes == (("cell", ("simplernn", "lstm", "gru")), ("seq_len", (10, 25, 50, 100)))
    old = Store(str(tmp_path))
    old.new_learner("Ada")
    connection = sqlite3.connect(old.path)
    connection.executescript("DROP TABLE sweep_slots; DROP TABLE sweeps;")  # a runs.db made before issue 21
    connection.close()
    reopened = Store(str(tmp_path))
    sweep_id, _ = reopened.new_sweep(block.sweep.spec(), owner=None)
    assert reopened.counts()["learners"] == 1 and reopened.sweep_slots(sweep_id) == []


@pytest.mark.slow
def test_a_learner_alone_runs_a_whole_sweep_queued_a_few_at_a_time_with_no_page_open():
    lab = get_lab()
    learner = lab.store.new_learner("Solo")
    base = "task=adding&samples=64&eval_samples=16&epochs=1&units=4&batch_size=32"
    sweep = sweeps.save(lab.store, sweeps.Sweep.make(base, [("cell", "simplernn, lstm"), ("seq_len", "5, 8")], 2,
                                                     owner=learner.token))
    assert sweep.planned == 8
    started, refused = sweeps.feed(lab, learner.token, sweep)
    assert (started, refused) == (3, None)  # a learner's own cap: three runs training or waiting
    # No page feeds it from here on (the learner closed the tab): each run's end queues the next in the server.
    deadline = time.monotonic() + 240
    most_at_once = 0
    while len(lab.store.sweep_slots(sweep.sweep_id)) < 8 or any(handle.running for handle in
                                                                lab.runs(learner.token).values()):
        assert time.monotonic() < deadline, "the sweep did not finish in 4 minutes with no page feeding it"
        active = [handle for handle in lab.runs(learner.token).values() if handle.running]
        most_at_once = max(most_at_once, len(active))
        for handle in active:
            handle.join(1)
    assert most_at_once <= 3  # still a few at a time, within the learner's cap
    records = lab.store.runs(learner.token, include_probes=False)
    assert len(records) == 8 and all(record.status == "finished" for record in records)
    assert sorted((r.config.cell, r.config.seq_len, r.config.seed) for r in records) == sorted(
        (sweep.config(slot).cell, sweep.config(slot).seq_len, sweep.config(slot).seed) for slot in range(8))
    assert sum(cell.runs for cell in sweeps.results(sweep, records)) == 8
    assert sweeps.feed(lab, learner.token, sweep) == (0, None)  # nothing more to queue
    for figure in (heatmap_figure(sweep, records), parallel_figure(sweep, records)):
        assert figure.data


def test_a_base_preset_with_markup_is_drawn_as_text():
    store = get_lab().store
    room = store.new_class("Escaped")
    hostile = "task=adding&note=![](https://host/p.png)"  # not a setting: the link reader ignores it, the text stays
    sweep = class_sweep(store, room, axes=[("cell", "lstm, gru")], seeds=1, base=hostile)
    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception
    captions = [element.value for element in at.caption if "base preset" in element.value]
    assert captions and markdown_literal(sweep.base) in captions[0] and "https://" not in captions[0]


def test_the_projected_sweep_charts_stay_as_they_are_while_no_run_changes_state():
    # Issue 19: a teacher's projector redraws the class every 3 s; the sweep's charts are sent again unchanged (so the
    # browser leaves them be) until a run starts, pauses or ends, and the parallel coordinates (WebGL, seconds to
    # redraw without a graphics card) draw ended runs only.
    store = get_lab().store
    room = store.new_class("Projector")
    sweep = class_sweep(store, room, axes=[("cell", "simplernn, gru"), ("seq_len", "10, 50")], seeds=1)
    ended, training = run_of(sweep, 0, 0.02), run_of(sweep, 1, 0.12)
    training.status = "running"
    for number, record in enumerate((ended, training)):
        learner = store.new_learner(f"P{number}")
        store.join(learner.token, room.join_token)
        save(store, learner.token, record)
        record.learner = learner.token

    def specs(at):
        charts = {chart.proto.spec: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
        return {trace["type"]: spec for spec, chart in charts.items() for trace in chart["data"]
                if trace["type"] in ("heatmap", "parcoords")}

    at = page("classroom.py", teacher=room.teacher_token)
    assert not at.exception and not at.error
    first = specs(at)
    parallel = json.loads(first["parcoords"])
    assert parallel["data"][0]["dimensions"][-1]["values"] == [0.02]  # the ended run only
    assert "1 more still training" in parallel["layout"]["title"]["text"]
    assert "0.12" in first["heatmap"]  # the training run counts in the grid with its last finished epoch

    training.history["val_loss"].append(0.05)  # an epoch later, still training
    training.history["loss"].append(0.05)
    store.save_epoch(training)
    at.run()
    assert not at.exception and specs(at) == first  # the same figures, so the browser redraws nothing
    assert any("1 training now" in caption.value for caption in at.caption)  # the captions count as runs are now

    training.status = "finished"  # it ends: the charts redraw at once, with its final loss
    store.save_run(training.learner, training)
    at.run()
    now = specs(at)
    assert now["heatmap"] != first["heatmap"] and "0.05" in now["heatmap"]
    assert sorted(json.loads(now["parcoords"])["data"][0]["dimensions"][-1]["values"]) == [0.02, 0.05]


def test_the_sweep_charts_redraw_when_a_run_changes_state_or_the_time_is_up():
    sweep = sweeps.Sweep.make("task=adding", [("cell", "simplernn, gru")], 1)
    training = run_of(sweep, 0, 0.1)
    training.status = "running"
    first = sweeps.to_draw(sweep, None, [training], now=100.0)
    assert sweeps.to_draw(sweep, first, [training], now=100.0 + sweeps.REDRAW_SECONDS - 1) is first
    assert sweeps.to_draw(sweep, first, [training], now=100.0 + sweeps.REDRAW_SECONDS) is not first
    training.paused_since = 105.0  # paused: a state change
    assert sweeps.to_draw(sweep, first, [training], now=106.0) is not first
    training.paused_since = 0.0
    assert sweeps.to_draw(sweep, first, [training, run_of(sweep, 1, 0.1)], now=106.0) is not first  # a new run
    training.status = "stopped"
    assert sweeps.to_draw(sweep, first, [training], now=106.0) is not first
