"""How long the web server's garbage collector holds the GIL in a full collection, with and without the frozen
imports of `rnnlab.preload` (issue 19: the health check's 1-2 s stalls while a class trains).

    python benchmarks/bench_gc_pause.py              # three rounds, each in a fresh process
    python benchmarks/bench_gc_pause.py --rounds 5

Each round starts a fresh Python, imports what the pages import (`rnnlab.preload.MODULES`, and Streamlit as the
server has it), builds a few of the app's charts and one model as a page does, and times full collections
(`gc.collect()`): first as the server ran before (nothing frozen), then after `gc.freeze()`, as `preload` leaves
it. During a collection no other thread of the server runs: no page, no websocket, no health check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROUND = r"""
import gc, json, time
import streamlit
from rnnlab import preload
for name in preload.MODULES:
    __import__(name)
from rnnlab.config import RunConfig
from rnnlab.models import untrained_model
from rnnlab.plots import runs
model, _ = untrained_model(RunConfig())  # what a page builds: the start page's network, and its layer table
def timed():
    times = []
    for _ in range(3):
        began = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - began)
    return sorted(times)[1]
gc.collect()
before = {"walked": len(gc.get_objects()), "seconds": timed()}
gc.freeze()
after = {"walked": len(gc.get_objects()), "seconds": timed(), "frozen": gc.get_freeze_count()}
print(json.dumps({"before": before, "after": after}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    rounds = []
    for number in range(arguments.rounds):
        done = subprocess.run([sys.executable, "-c", ROUND], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
        rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"round {number + 1}: {rounds[-1]}", file=sys.stderr)
    for when in ("before", "after"):
        seconds = [found[when]["seconds"] * 1000 for found in rounds]
        walked = statistics.median(found[when]["walked"] for found in rounds)
        print(f"{when} gc.freeze(): a full collection {statistics.median(seconds):.1f} ms "
              f"(rounds {', '.join(f'{value:.1f}' for value in seconds)}), walking {walked:,.0f} objects")
    print(f"frozen: {statistics.median(found['after']['frozen'] for found in rounds):,.0f} objects")


if __name__ == "__main__":
    main()
