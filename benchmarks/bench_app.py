"""Training speed inside the served app, while a real browser polls and redraws it, against bare Keras.

    python benchmarks/bench_app.py [--rounds 3] [--polls 1,3]   # ~2 min a poll setting; needs chromium + playwright

Streamlit serves app.py; headless Chromium opens Build & Train with a preset link, presses Train, and waits for
the run to finish while the page redraws the live chart every poll. The run's own figure (training sequences per
second over epochs 2..N, read from the record) is compared with bare `model.fit` on the same model and data,
measured in this process before the app starts. The browser and the server share the machine's two cores, as
they do when a teacher demonstrates on one laptop. The goal is at least 0.9x.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_training import bare_fit  # noqa: E402
from served import CHROMIUM, FLAGS, serve, stop  # noqa: E402
from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.data import make_dataset  # noqa: E402

PRESET = RunConfig(task="adding", seq_len=100, samples=4096, eval_samples=512, cell="lstm", units=64, epochs=4)


def app_run(url: str) -> float:
    from playwright.sync_api import sync_playwright

    query = "&".join(f"{key}={value}" for key, value in PRESET.to_query().items())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?{query}")
        page.get_by_text("Trainable parameters").wait_for(timeout=90_000)
        page.get_by_role("button", name="Train", exact=True).click()
        banner = page.get_by_text(re.compile(r"Finished \d+ epochs"))
        banner.wait_for(timeout=600_000)
        text = banner.inner_text()
        browser.close()
    match = re.search(r"\(([\d,]+) training sequences per second", text)
    if match is None:
        raise SystemExit(f"The run did not report its speed: {text!r}")
    return float(match.group(1).replace(",", ""))


if __name__ == "__main__":
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="app runs per poll setting")
    parser.add_argument("--polls", default="1", help="poll intervals to compare, in seconds, comma-separated")
    arguments = parser.parse_args()
    data = make_dataset(PRESET)
    bare = [bare_fit(PRESET, data) for _ in range(2)]
    print("Training inside the app while Chromium polls it (LSTM(64), T=100, batch 64, adding, epochs 2-4)")
    print(f"  bare model.fit              {statistics.median(bare):8,.0f} sequences/s  (runs: "
          f"{', '.join(f'{v:,.0f}' for v in bare)})")
    for poll in [float(value) for value in arguments.polls.split(",")]:
        process, url = serve({"RNNLAB_POLL_SECONDS": str(poll)})
        try:
            served = [app_run(url) for _ in range(arguments.rounds)]
        finally:
            stop(process)
        ratio = statistics.median(served) / statistics.median(bare)
        print(f"  in the app, poll {poll:g} s      {statistics.median(served):8,.0f} sequences/s  (runs: "
              f"{', '.join(f'{v:,.0f}' for v in served)})  ratio {ratio:.2f}x   (goal: at least 0.90x)")
