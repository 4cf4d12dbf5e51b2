"""A class of thirty on one server: the web server's CPU per connected session and its health check's latency
while three learners train and the teacher's Class page redraws (issue 19).

    python benchmarks/bench_class_of_thirty.py                  # 10 then 30 sessions, one round each
    python benchmarks/bench_class_of_thirty.py --sessions 30 --rounds 3

Streamlit serves app.py as a teacher starts it (benchmarks/served.py). Headless Chromium opens the teacher's
Class page (it makes the class) and three learners' Build & Train through the class's join link; the rest of the
sessions are websocket clients of the same pages: each opens Build & Train through the join link as a browser
does (a `rerun_script` BackMsg on /_stcore/stream), answers the server's `auto_rerun` messages at their interval
as the browser's fragments do, and keeps the address the server writes (`page_info_changed`), so each is a
learner session the server keeps and redraws. Once every session has drawn its page, the three press Train
together; until they have all finished, the benchmark samples the server process's CPU (psutil, its children,
the training workers, excluded; theirs, Chromium's and this benchmark's are reported beside it) and, from a
process of its own, times `GET /_stcore/health` every 0.25 s (the median, the 95th percentile and the worst).
Goals (issue 19): the web server under half a core with thirty sessions; every health check under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from served import CHROMIUM, FLAGS, add_settings_option, chosen_settings, serve, stop  # noqa: E402

BROWSER_LEARNERS = 3


class SocketSessions:
    """`count` Streamlit sessions as websocket clients, on an asyncio loop of their own thread."""

    def __init__(self, url: str, query: str, count: int) -> None:
        self.url, self.query, self.count = url, query, count
        self.drawn = 0
        self.reruns = 0
        self.loop = asyncio.new_event_loop()
        self.closing = False
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tasks = [asyncio.run_coroutine_threadsafe(self.session(), self.loop) for _ in range(count)]

    async def session(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from tornado.websocket import websocket_connect

        socket = await websocket_connect(self.url.replace("http", "ws") + "/_stcore/stream",
                                         subprotocols=["streamlit"], max_message_size=64 * 2**20)
        state = {"query": self.query, "fragments": {}, "first": True}

        async def send(fragment: str = "") -> None:
            message = BackMsg()
            message.rerun_script.query_string = state["query"]
            message.rerun_script.page_name = ""
            if fragment:
                message.rerun_script.fragment_id = fragment
                message.rerun_script.is_auto_rerun = True
            await socket.write_message(message.SerializeToString(), binary=True)

        async def poll(fragment: str) -> None:
            while not self.closing and fragment in state["fragments"]:
                await asyncio.sleep(state["fragments"][fragment])
                if fragment in state["fragments"] and not self.closing:
                    self.reruns += 1
                    try:
                        await send(fragment)
                    except Exception:  # noqa: BLE001 - the server has gone (the round is over)
                        return

        await send()
        while not self.closing:
            data = await socket.read_message()
            if data is None:
                return
            if isinstance(data, str):
                continue
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "page_info_changed":
                state["query"] = message.page_info_changed.query_string
            elif kind == "auto_rerun":
                fragment = message.auto_rerun.fragment_id
                if fragment not in state["fragments"]:
                    state["fragments"][fragment] = message.auto_rerun.interval
                    asyncio.ensure_future(poll(fragment))
            elif kind == "stop_auto_rerun":
                state["fragments"].clear()
            elif kind == "script_finished" and state["first"]:
                state["first"] = False
                self.drawn += 1
        socket.close()

    def close(self) -> None:
        self.closing = True
        self.loop.call_soon_threadsafe(self.loop.stop)


# The health checker runs in a process of its own, as a load balancer's would, so that the websocket sessions' event
# loop and Playwright, which share this process's GIL, cannot delay a check's own timing. (On 2026-12-04 a checker
# here and one in its own process, side by side, saw the same stalls: worst 0.30-1.24 s against 0.30-0.89 s.)
HEALTH_CHECKER = r"""
import sys, time, urllib.request
url = sys.argv[1]
while True:
    started = time.perf_counter()
    try:
        urllib.request.urlopen(url + "/_stcore/health", timeout=10).read()
        print(time.perf_counter() - started, flush=True)
    except OSError:
        print("inf", flush=True)
    time.sleep(0.25)
"""


def start_health_checker(url: str) -> subprocess.Popen:
    """A process that times `GET /_stcore/health` every 0.25 s and prints each latency in seconds."""
    return subprocess.Popen([sys.executable, "-c", HEALTH_CHECKER, url], stdout=subprocess.PIPE, text=True)


def health_latencies(checker: subprocess.Popen) -> list[float]:
    """End the checker; the latencies it printed."""
    checker.terminate()
    output, _ = checker.communicate(timeout=10)
    return [float(line) for line in output.split()]


def cpu_seconds(processes) -> float:
    """The CPU seconds `processes` have used so far (those that have ended count nothing)."""
    import psutil

    total = 0.0
    for each in processes:
        try:
            times = each.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def others(server) -> dict[str, list]:
    """The processes the two cores are shared with: the server's own (its cluster host, forkserver and training
    workers), every Chromium process, and this one."""
    import psutil

    browsers = [each for each in psutil.process_iter(["name"]) if "chrom" in (each.info["name"] or "")]
    return {"workers": server.children(recursive=True), "browser": browsers,
            "benchmark": [psutil.Process()]}  # this process: the websocket sessions and Playwright


def say(text: str) -> None:
    """Where the round is, on stderr (a round takes minutes on a busy machine)."""
    print(f"  {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def new_page(browser):
    """A tab in a browser context of its own (its own Streamlit session and learner), patient with a busy machine."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(120_000)
    return page


def bar_text(page) -> str:
    """The run's progress bar or verdict as the learner's page shows it now."""
    shown = page.locator("[data-testid='stProgress'], [data-testid='stAlert']")
    return " / ".join(" ".join(text.split())[:120] for text in shown.all_inner_texts()) or "(no bar)"


def one_round(browser, sessions: int, settings: dict[str, str]) -> dict:
    import psutil

    server, url = serve(settings)
    process = psutil.Process(server.pid)
    try:
        say(f"server up ({sessions} sessions); the teacher makes a class")
        teacher = new_page(browser)
        teacher.goto(f"{url}/classroom")
        teacher.get_by_label("Name of the class").wait_for()  # a fresh server's first page (it starts the workers)
        teacher.get_by_label("Name of the class").fill("Bench class")
        teacher.get_by_role("button", name="Make a class").click()
        teacher.get_by_text("Hand out this link to your learners").wait_for(timeout=120_000)
        join_link = teacher.locator("[data-testid='stCode'] code", has_text="?join=").first.inner_text().strip()
        query = urllib.parse.urlsplit(join_link).query
        say(f"join link {join_link}; {BROWSER_LEARNERS} learners open it in Chromium")
        learners = []
        for _ in range(BROWSER_LEARNERS):
            page = new_page(browser)
            page.goto(f"{url}/?{query}")
            page.get_by_text("This run needs about").wait_for(timeout=120_000)
            learners.append(page)
        say(f"{sessions - BROWSER_LEARNERS - 1} websocket sessions open it")
        sockets = SocketSessions(url, query, sessions - BROWSER_LEARNERS - 1)
        deadline = time.monotonic() + 300
        while sockets.drawn < sockets.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sockets.drawn} of {sockets.count} websocket sessions drew their page")
            time.sleep(0.2)
        say("every session has drawn its page; measuring")
        idle_cpu = process.cpu_percent(interval=3.0) / 100
        checker = start_health_checker(url)
        process.cpu_percent(None)
        sharing = others(process)
        shared_before = {name: cpu_seconds(group) for name, group in sharing.items()}
        started = time.monotonic()
        for page in learners:
            page.get_by_role("button", name="Train", exact=True).click()
        reruns_before = sockets.reruns
        said = started
        while not all(page.get_by_text("Finished 10 epochs").count() for page in learners):
            if time.monotonic() - said > 30:  # what each learner's bar says, so a slow round shows where it is
                said = time.monotonic()
                say(" | ".join(bar_text(page) for page in learners))
            if time.monotonic() - started > 600:
                raise RuntimeError(f"the three runs did not finish within 10 minutes: "
                                   f"{[bar_text(page) for page in learners]}")
            learners[0].wait_for_timeout(250)
        seconds = time.monotonic() - started
        training_cpu = process.cpu_percent(None) / 100
        shared = {f"{name} cores": (cpu_seconds(group) - shared_before[name]) / seconds
                  for name, group in sharing.items()}
        latencies = health_latencies(checker)
        sockets.close()
        return {"sessions": sessions, "idle cores": idle_cpu, "training cores": training_cpu,
                "per session (ms CPU/s)": 1000 * training_cpu / sessions, "seconds": seconds,
                "health checks": len(latencies), "health median ms": 1000 * statistics.median(latencies),
                "health p95 ms": 1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))],
                "health worst ms": 1000 * max(latencies),
                "socket reruns/s": (sockets.reruns - reruns_before) / seconds, **shared}
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,30", help="sessions connected, comma-separated")
    parser.add_argument("--rounds", type=int, default=1)
    add_settings_option(parser)
    arguments = parser.parse_args()
    chosen = chosen_settings(parser, arguments)
    from playwright.sync_api import sync_playwright

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (two cores); settings: {chosen or 'defaults'}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for count in (int(text) for text in arguments.sessions.split(",")):
            for _ in range(arguments.rounds):
                figures = one_round(browser, count, chosen)
                print(", ".join(f"{name} {value:.2f}" if isinstance(value, float) else f"{name} {value}"
                                for name, value in figures.items()), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
