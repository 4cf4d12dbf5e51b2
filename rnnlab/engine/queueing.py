"""How long a queued run will wait for a worker, from what the runs ahead of it say about themselves.

    wait_seconds(slots=3, running=[12.0, 40.0, 3.5], ahead=[30.0])   # -> 12.0
    run_seconds(config)                                              # the budget's estimate of a whole run

Each training run's time left is its own estimate (`RunRecord.seconds_left`, from the pace of its batches so far;
before its second batch, the budget's estimate of the whole run less the time it has trained). Each run queued
ahead takes the budget's estimate of a whole run (`rnnlab.budget.Estimate.run_seconds`: tracing and every epoch,
for a worker with nothing else to do). Runs go to workers first come, first served, so the wait is when a worker
is free after every run ahead has been given one. None when any of that is unknown (the workers are still
starting): the page then says what the run waits for instead of a number.
"""

from __future__ import annotations

import heapq
import time
from typing import Iterable

from rnnlab import budget
from rnnlab.config import RunConfig
from rnnlab.data import get_task
from rnnlab.pausing import paused_text
from rnnlab.records import RunRecord


def wait_seconds(slots: int, running: Iterable[float | None], ahead: Iterable[float | None]) -> float | None:
    """Seconds until a worker is free for the run after `ahead` (estimates of the queued runs before it, in order),
    with `slots` workers of which the `running` runs (their seconds left) hold some; None if anything is unknown."""
    running, ahead = list(running), list(ahead)
    if slots < 1 or None in running or None in ahead or len(running) > slots:
        return None
    free = sorted([*running, *[0.0] * (slots - len(running))])
    for duration in ahead:
        heapq.heappush(free, heapq.heappop(free) + duration)
    return max(free[0], 0.0)


def run_seconds(config: RunConfig) -> float | None:
    """The budget's estimate of a whole run of `config` (tracing and every epoch), None if it cannot say."""
    try:
        return float(budget.estimate(config, get_task(config.task).budget_shape(config)).run_seconds)
    except Exception:  # noqa: BLE001 - an estimate is a hint; without one the page says what the run waits for
        return None


def seconds_left(record: RunRecord) -> float | None:
    """A training run's time left: its own pace once it has one, else the budget's estimate less its time so far."""
    left = record.seconds_left()
    if left is not None:
        return left
    whole = run_seconds(record.config)
    if whole is None:
        return None
    trained = time.time() - record.created if record.created else 0.0
    return max(whole - trained, 0.0)


def class_queue(engine_rows: list[dict], pairs: list[tuple], names: dict[str, str]) -> list[dict]:
    """The teacher's view of the queue: one row per run of the class (`pairs` of learner and record) that the
    engine has not ended (`DaskEngine.queue_rows`), training ones first, then the queue in its order.

    `names` gives each learner token its shown name (`rnnlab.plots.classroom.learner_names`)."""
    whose = {record.run_id: (learner, record) for learner, record in pairs}
    shown = []
    for row in engine_rows:
        if row["run_id"] not in whose:
            continue  # another class's run, or a learner in no class
        learner, record = whose[row["run_id"]]
        if row["worker"] and record.paused:  # issue 21: it keeps its worker while paused
            where = paused_text(record).replace("Paused", "paused", 1) + \
                f", keeping worker {row['worker'].rsplit(':', 1)[-1]}"
        elif row["worker"]:
            where = f"training on worker {row['worker'].rsplit(':', 1)[-1]}"  # the worker's port tells them apart
        elif row["place"] is not None:
            wait = row["wait_seconds"]
            where = f"waiting, place {row['place']}" + (f", about {wait:.0f} s" if wait is not None else "")
        elif row["after"]:
            where = "waiting for their own run before it"
        else:
            where = "starting on a worker"
        shown.append({"learner": names.get(learner.token, "?"), "run": record.name, "where": where})
    return shown
