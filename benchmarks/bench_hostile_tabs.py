"""Ten browser tabs opening the largest links the app allows: the web server's memory growth and each render's time.

    python benchmarks/bench_hostile_tabs.py               # ten tabs, about 3-6 minutes on two cores
    python benchmarks/bench_hostile_tabs.py --tabs 4

Streamlit serves app.py as a teacher would start it (`RNNLAB_WORKERS=0`: no run trains here, so the workers would
only add processes the figure does not count). Headless Chromium opens one browser context per tab, in turn, on a
link at the configuration's limits (sequence length 2,000, 200,000 training and 50,000 held-out sequences, 512
units, 4 layers) on Build & Train, Inside the cell, Next word and Gradients through time, and keeps every tab open.
For each tab: seconds from the address typed to the script's end (Streamlit marks the app `notRunning`), and the
server's resident memory (`VmRSS` of its process) after it; at the end the growth over the server warmed up by one
default page. Goal (issue 17): under 300 MB of growth for ten tabs, each render under 2 s.
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

# The largest values RunConfig allows (rnnlab/config.py), in the links a learner could hand round.
LARGEST = "seq_len=2000&samples=200000&eval_samples=50000&units=512&layers=4&batch_size=1"
LINKS = [f"/?task=adding&{LARGEST}", f"/inside_cell?task=adding&{LARGEST}",
         f"/next_word?task=text&corpus=grammar&{LARGEST}", f"/gradients?task=adding&{LARGEST}"]
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        line = next(line for line in handle if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def render(browser, url: str) -> tuple[object, float]:
    """A new tab on `url`, and the seconds until its script has run to the end."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=180_000)
    page.wait_for_selector(SETTLED, timeout=180_000)
    return page, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=10)
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (two cores)")
    server, url = serve({"RNNLAB_WORKERS": "0"})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            warm, seconds = render(browser, url)  # TensorFlow imported, the default page drawn once
            warm.context.close()
            baseline = rss_mb(server.pid)
            print(f"warmed up on the default page ({seconds:.1f} s): server {baseline:,.0f} MB")
            tabs, times = [], []
            for index in range(arguments.tabs):
                link = LINKS[index % len(LINKS)]
                page, seconds = render(browser, url + link)
                tabs.append(page)
                times.append(seconds)
                print(f"tab {index + 1:2}: {seconds:5.1f} s, server {rss_mb(server.pid):,.0f} MB  {link.split('?')[0]}",
                      flush=True)
            growth = rss_mb(server.pid) - baseline
            print(f"{arguments.tabs} tabs: growth {growth:,.0f} MB (goal < 300 MB); render median "
                  f"{statistics.median(times):.1f} s, worst {max(times):.1f} s (goal < 2 s)")
            browser.close()
    finally:
        stop(server)


if __name__ == "__main__":
    main()
