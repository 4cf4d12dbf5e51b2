"""Learners pressing Train in real browser tabs, as issue 19's table has them: seconds until each sees its first
loss point, the median of three rounds (a fresh server each).

    python benchmarks/bench_learners_browser.py                        # every row, 3 rounds, ~25 minutes
    python benchmarks/bench_learners_browser.py --rows three-cold,cold-at-once --rounds 1

Streamlit serves app.py as a teacher would start it; headless Chromium opens one browser context per learner on
Build & Train with the app's defaults (sine, LSTM 32, T=30, 2,000 sequences, 10 epochs). All press Train within a
few milliseconds of each other; for each tab the clock runs from its click to the first loss line drawn in its
loss chart (`FIRST_POINT`; the page draws it as soon as the first batches are done), then to "Finished", as the tab
stamps them itself (`STAMPS`; `--clock search` searches the tabs from here instead). Engines:
`dask` (the default: worker processes, one more than the cores) and `threads` (`RNNLAB_WORKERS=0`, every run on a thread of the
web server's process, as before the workers). The browser, the server and the workers share the machine's cores, as
on a teacher's laptop. The rows (`ROWS`) and their goals are issue 19's.
Needs Debian's chromium and playwright (see tests/test_browser.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from served import CHROMIUM, FLAGS, add_settings_option, chosen_settings, serve, stop  # noqa: E402

ENGINES = {"dask": {}, "threads": {"RNNLAB_WORKERS": "0"}}
# A loss line drawn in the run's loss chart (keyed `bt_loss_<run id>`: Streamlit gives the element the class
# `st-key-<key>`). Not the chart itself: the live panel draws its loss chart as soon as the click's rerun reaches it,
# empty and saying "Waiting for the first batch" (the baseline is a shape, not a trace), so counting charts timed
# the page's redraw, not the first loss point. Not any chart's line either: before a run, Build & Train draws the
# task's example sequences.
FIRST_POINT = "[class*='st-key-bt_loss_'] .js-plotly-plot .scatterlayer .trace"


# Stamped by each tab itself (`--clock page`, the default): its click on Train, then the first loss line drawn and the
# finished verdict, each at the first change of the page that shows it (a MutationObserver), in the page's own
# clock. The benchmark reads the three numbers twice a second. Searching every tab's page from the benchmark every
# 50 ms (`--clock search`, the method until 2026-12-06) took about 0.7-1.1 s of the tabs' one main thread in a
# profiled run, on the cores the learners were waiting for: a learner's own browser is searched by nobody.
STAMPS = """
(() => {
  const stamps = window.__rnnlabStamps = {};
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button");
    if (button && button.innerText.trim() === "Train" && stamps.clicked === undefined) {
      stamps.clicked = performance.now();
    }
  }, true);
  const finished = () => Array.from(document.querySelectorAll("[data-testid^='stAlertContent']"))
    .some((alert) => alert.textContent.includes("Finished 10 epochs"));
  new MutationObserver(() => {
    if (stamps.clicked === undefined) return;
    if (stamps.first === undefined && document.querySelector("FIRST_POINT")) stamps.first = performance.now();
    if (stamps.first !== undefined && stamps.finished === undefined && finished()) stamps.finished = performance.now();
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
""".replace("FIRST_POINT", FIRST_POINT)
CLOCKS = ("page", "search")


def open_pages(browser, url: str, count: int, clock: str = "page") -> list:
    """`count` learners' tabs on Build & Train, each opened (in its own browser context) before any is waited for;
    with the `page` clock, each tab stamps its own click and first point (`STAMPS`)."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(count)]
    if clock == "page":
        for context in contexts:
            context.add_init_script(STAMPS)
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.goto(url, wait_until="commit")
    return pages


def press_together(browser, url: str, count: int, wait_seconds: float = 0.0, pages=None,
                   at_once: bool = False, clock: str = "page") -> list[tuple[float, float]]:
    """(seconds to the first point, seconds to finished) for each of `count` tabs pressing Train.

    By default every tab's page settles (its cost sentence shows), then `wait_seconds` pass, then all press
    within milliseconds. `at_once`: each tab presses as soon as its Train button shows, settled or not."""
    pages = pages or open_pages(browser, url, count, clock)
    clicked = []
    for page in pages:
        train = page.get_by_role("button", name="Train", exact=True)
        train.wait_for(timeout=120_000)
        if at_once:
            train.click()
            clicked.append(time.perf_counter())
        else:
            page.get_by_text("This run needs about").wait_for(timeout=120_000)  # the page has settled
    if not at_once:
        if wait_seconds:
            pages[0].wait_for_timeout(wait_seconds * 1000)
        for page in pages:
            page.get_by_role("button", name="Train", exact=True).click()
            clicked.append(time.perf_counter())
    timings = read_stamps(pages) if clock == "page" else search_pages(pages, clicked)
    for page in pages:
        page.context.close()
    return timings


def read_stamps(pages) -> list[tuple[float, float]]:
    """Each tab's own stamps (`STAMPS`), read twice a second until every run has finished."""
    deadline = time.perf_counter() + 600
    while True:
        stamps = [page.evaluate("window.__rnnlabStamps") for page in pages]
        if all(stamp.get("finished") is not None for stamp in stamps):
            return [((stamp["first"] - stamp["clicked"]) / 1000, (stamp["finished"] - stamp["clicked"]) / 1000)
                    for stamp in stamps]
        if time.perf_counter() > deadline:
            raise RuntimeError(f"a run did not finish within 10 minutes; what its page says: {stuck(pages)}")
        pages[0].wait_for_timeout(500)


def search_pages(pages, clicked) -> list[tuple[float, float]]:
    """The first loss line and "Finished" searched for in every tab every 50 ms, timed from each click's return."""
    count = len(pages)
    first: list[float | None] = [None] * count
    finished: list[float | None] = [None] * count
    deadline = time.perf_counter() + 600
    while None in finished:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"a run did not finish within 10 minutes; what its page says: {stuck(pages)}")
        for index, page in enumerate(pages):
            if first[index] is None and page.locator(FIRST_POINT).count():
                first[index] = time.perf_counter() - clicked[index]
            if finished[index] is None and page.get_by_text("Finished 10 epochs").count():
                finished[index] = time.perf_counter() - clicked[index]
        pages[0].wait_for_timeout(50)
    return list(zip(first, finished))


def stuck(pages) -> list[str]:
    """The end of what each tab's page says."""
    return [" ".join(page.locator("[data-testid='stMain']").inner_text().split())[-400:] for page in pages]


def row_cold_at_once(browser, url, answered, clock):
    return press_together(browser, url, 1, at_once=True, clock=clock)


def row_cold_after_10_s(browser, url, answered, clock):
    pages = open_pages(browser, url, 1, clock)
    pages[0].get_by_text("This run needs about").wait_for(timeout=120_000)
    pages[0].wait_for_timeout(max(0.0, answered + 10 - time.perf_counter()) * 1000)
    return press_together(browser, url, 1, pages=pages, clock=clock)


def row_three_warm_5_s(browser, url, answered, clock):
    press_together(browser, url, 3, clock=clock)  # warms every worker
    return press_together(browser, url, 3, wait_seconds=5, clock=clock)


def row_three_warm_at_once(browser, url, answered, clock):
    press_together(browser, url, 3, clock=clock)
    return press_together(browser, url, 3, at_once=True, clock=clock)


def row_three_cold(browser, url, answered, clock):
    return press_together(browser, url, 3, clock=clock)


def row_preset_trained_before(browser, url, answered, clock):
    press_together(browser, url, 3, clock=clock)  # every worker has trained the default preset once
    return press_together(browser, url, 1, wait_seconds=2, clock=clock)


# The rows of issue 19's table: (name, what it does, the goal in seconds to each learner's first point). Each row
# starts a fresh server: "cold" rows press on it at once, "warm" ones after a first round warmed every worker.
ROWS = {
    "cold-at-once": ("a server just started; the first learner presses Train at once", row_cold_at_once, 4.0),
    "cold-10s": ("same, the learner presses Train 10 s after the server answers", row_cold_after_10_s, 2.5),
    "three-warm-5s": ("three press together, workers warm, 5 s after their pages load", row_three_warm_5_s, 4.0),
    "three-warm-at-once": ("three open the page and press as soon as it shows, workers warm",
                           row_three_warm_at_once, 4.0),
    "three-cold": ("three press together, server just started", row_three_cold, 6.0),
    "preset-trained-before": ("a run whose configuration a warm worker has trained before",
                              row_preset_trained_before, 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="rows of issue 19's table, comma-separated: "
                        + ", ".join(ROWS))
    parser.add_argument("--engine", default="dask", choices=list(ENGINES))
    parser.add_argument("--clock", default="page", choices=CLOCKS,
                        help="page: each tab stamps its click and first point itself (STAMPS); search: the benchmark "
                             "searches every tab every 50 ms, as until 2026-12-06")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per row (a fresh server each); the median")
    add_settings_option(parser)
    arguments = parser.parse_args()
    chosen = chosen_settings(parser, arguments, ENGINES[arguments.engine])
    from playwright.sync_api import sync_playwright

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (two cores); settings: {chosen or 'defaults'}; "
          f"clock: {arguments.clock}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name in arguments.rows.split(","):
            what, measure, goal = ROWS[name]
            firsts_by_round = []
            for _ in range(arguments.rounds):
                server, url = serve(chosen)
                answered = time.perf_counter()
                try:
                    firsts_by_round.append([first for first, _ in measure(browser, url, answered, arguments.clock)])
                finally:
                    stop(server)
            medians = [statistics.median(firsts) for firsts in firsts_by_round]
            worst = max(max(firsts) for firsts in firsts_by_round)
            print(f"{name:22} {what}: first point median {statistics.median(medians):4.1f} s, worst {worst:4.1f} s "
                  f"(goal {goal:g} s; rounds: {'; '.join(', '.join(f'{v:.1f}' for v in r) for r in firsts_by_round)})",
                  flush=True)
        browser.close()


if __name__ == "__main__":
    main()
