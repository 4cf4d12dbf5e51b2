"""Several learners pressing Train together, in real browser tabs: seconds until each sees its first loss point.

    python benchmarks/bench_learners_browser.py                   # 1, 3 and 6 learners on each engine, ~6 minutes
    python benchmarks/bench_learners_browser.py --learners 3 --engines dask --rounds 3

Streamlit serves app.py as a teacher would start it; headless Chromium opens one browser context per learner on
Build & Train with the app's defaults (sine, LSTM 32, T=30, 2,000 sequences, 10 epochs). All press Train within a
few milliseconds of each other; for each tab the clock runs from its click to the live chart on its page (the first
loss point drawn, which the page draws as soon as the first batches are done), then to "Finished". Engines:
`dask` (the default: worker processes, one more than the cores) and `threads` (`RNNLAB_WORKERS=0`, every run on a thread of the
web server's process, as before the workers). The browser, the server and the workers share the machine's cores, as
on a teacher's laptop. Goals on two cores: three learners see their first point within 5 s; one alone within 2.5 s.
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

from served import CHROMIUM, FLAGS, serve, stop  # noqa: E402

ENGINES = {"dask": {}, "threads": {"RNNLAB_WORKERS": "0"}}


def press_together(browser, url: str, count: int) -> list[tuple[float, float]]:
    """(seconds to the first point, seconds to finished) for each of `count` tabs pressing Train together."""
    pages = []
    for _ in range(count):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        page.get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
        page.get_by_text("This run needs about").wait_for(timeout=120_000)  # the page has settled
        pages.append(page)
    clicked = []
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click()
        clicked.append(time.perf_counter())
    first: list[float | None] = [None] * count
    finished: list[float | None] = [None] * count
    deadline = time.perf_counter() + 600
    while None in finished:
        if time.perf_counter() > deadline:
            raise RuntimeError("a run did not finish within 10 minutes")
        for index, page in enumerate(pages):
            if first[index] is None and page.locator(".js-plotly-plot").count():
                first[index] = time.perf_counter() - clicked[index]
            if finished[index] is None and page.get_by_text("Finished 10 epochs").count():
                finished[index] = time.perf_counter() - clicked[index]
        pages[0].wait_for_timeout(100)
    for page in pages:
        page.context.close()
    return list(zip(first, finished))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="1,3,6", help="how many tabs press Train together, comma-separated")
    parser.add_argument("--engines", default="dask,threads", help="dask, threads or both")
    parser.add_argument("--rounds", type=int, default=1, help="times each count is repeated on one server")
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (two cores)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for engine in arguments.engines.split(","):
            server, url = serve(ENGINES[engine])
            try:
                press_together(browser, url, 1)  # the first run warms the workers (or this process) up
                for count in (int(text) for text in arguments.learners.split(",")):
                    for _ in range(arguments.rounds):
                        times = press_together(browser, url, count)
                        firsts = [first for first, _ in times]
                        print(f"{engine:8} {count} learner{'s' if count > 1 else ' '}: first point "
                              f"median {statistics.median(firsts):5.1f} s, worst {max(firsts):5.1f} s; "
                              f"finished median {statistics.median(done for _, done in times):5.1f} s, last "
                              f"{max(done for _, done in times):5.1f} s  "
                              f"(first points {', '.join(f'{value:.1f}' for value in firsts)})", flush=True)
            finally:
                stop(server)
        browser.close()


if __name__ == "__main__":
    main()
