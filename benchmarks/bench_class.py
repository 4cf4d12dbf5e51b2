"""How long the teacher's Class page takes to draw a full class: 30 learners with 5 runs each.

    python benchmarks/bench_class.py            # about a minute on two cores; --browser adds Chromium's view

The class is filled with real runs: six configurations of the adding problem (SimpleRNN, LSTM and GRU, 16 and 32
units; 10 epochs on 512 sequences, both probes on, as the app trains) are trained once here, then saved under 30
learners, 5 runs each, through the store as the web server saves them (a row, one row per epoch). The page's cost
depends on how many runs and epochs it reads and draws, not on their values, so copies of six real runs load it as
150 runs would.

It reports the median of several draws of:
- the store reading the class's runs (`Store.class_runs`);
- the parts the page computes from them (the table by configuration, the class's sentence, the figure as JSON);
- the whole page run server-side (Streamlit's AppTest: the script, every element serialised);
- with `--browser`, the page in headless Chromium: from opening the teacher's link to the chart drawn (needs Debian's
  chromium and playwright; see tests/test_browser.py for the flags).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rnnlab import classroom, explain  # noqa: E402
from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.plots.classroom import class_figure  # noqa: E402
from rnnlab.store import Store  # noqa: E402
from rnnlab.training import Trainer  # noqa: E402

LEARNERS, RUNS_EACH = 30, 5


def real_runs() -> list:
    configs = [RunConfig(task="adding", cell=cell, units=units, samples=512, eval_samples=256, epochs=10)
               for cell in ("simplernn", "lstm", "gru") for units in (16, 32)]
    records = []
    for config in configs:
        started = time.perf_counter()
        records.append(Trainer(config, record_grad_norms=True, record_gates=True).run())
        print(f"  trained {records[-1].name} in {time.perf_counter() - started:.1f} s", flush=True)
    return records


def fill(store: Store, records: list) -> str:
    """A class of LEARNERS learners with RUNS_EACH runs each; returns the teacher's token."""
    room = store.new_class("Benchmark class")
    for index in range(LEARNERS):
        learner = store.new_learner(f"learner {index + 1:02d}")
        store.join(learner.token, room.join_token)
        for run in range(RUNS_EACH):
            record = records[(index + run) % len(records)].snapshot()  # an independent copy
            record.run_id = uuid.uuid4().hex[:12]
            store.save_run(learner.token, record)
            for epoch in range(1, record.epochs_done + 1):
                store.save_epoch(record, epoch)
    return room.teacher_token


def median_seconds(work, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def server_side(home: str, teacher: str) -> None:
    store = Store(home)
    class_id = store.class_by_teacher(teacher).class_id
    pairs = store.class_runs(class_id, task="adding")
    print(f"class: {len(store.members(class_id))} learners, {len(pairs)} runs of the adding problem, "
          f"{sum(record.epochs_done for _, record in pairs)} epochs")
    print(f"  reading the class's runs (Store.class_runs)        {median_seconds(lambda: store.class_runs(class_id, task='adding')) * 1000:7.0f} ms")
    records = [record for _, record in pairs]
    print(f"  table by configuration                              {median_seconds(lambda: classroom.by_configuration(pairs)) * 1000:7.0f} ms")
    print(f"  the class's answer in one sentence                  {median_seconds(lambda: explain.class_answer(records)) * 1000:7.0f} ms")
    print(f"  the figure, built and serialised                    {median_seconds(lambda: class_figure(pairs).to_json()) * 1000:7.0f} ms")
    print(f"    ({explain.class_answer(records)})")

    os.environ["RNNLAB_HOME"] = home
    os.environ["RNNLAB_WORKERS"] = "0"
    from streamlit.testing.v1 import AppTest

    def draw() -> None:
        at = AppTest.from_file(str(ROOT / "pages" / "classroom.py"), default_timeout=120)
        at.query_params["teacher"] = teacher
        at.run()
        assert not at.exception and at.get("plotly_chart"), "the Class page did not draw its chart"

    draw()  # imports and the lab's first start
    print(f"  the whole page, server-side (AppTest)               {median_seconds(draw) * 1000:7.0f} ms")


def in_browser(home: str, teacher: str, repeats: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    from served import CHROMIUM, FLAGS, serve, stop

    server, url = serve({"RNNLAB_HOME": home, "RNNLAB_WORKERS": "0"})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            times = []
            for _ in range(repeats + 1):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                started = time.perf_counter()
                page.goto(f"{url}/classroom?teacher={teacher}")
                page.locator(".js-plotly-plot .scatterlayer .trace").nth(LEARNERS * RUNS_EACH - 1).wait_for(
                    state="attached", timeout=120_000)
                times.append(time.perf_counter() - started)
                page.context.close()
            browser.close()
        print(f"  in Chromium, teacher's link to all {LEARNERS * RUNS_EACH} curves drawn     "
              f"{statistics.median(times[1:]):7.2f} s  (first, cold: {times[0]:.2f} s)")
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        print("training six real runs to copy into the class:")
        teacher = fill(Store(home), real_runs())
        server_side(home, teacher)
        if arguments.browser:
            in_browser(home, teacher)


if __name__ == "__main__":
    main()
