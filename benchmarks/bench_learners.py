"""Several learners at once: the Dask engine (worker processes) against the thread engine, measured server-side.

    python benchmarks/bench_learners.py                       # all sections, about 6 minutes on two cores
    python benchmarks/bench_learners.py --sections alone,stop --repeats 3

Every run is the app's default (`RunConfig()`: sine, LSTM 32, T=30, 2,000 sequences, 10 epochs, batch 64), with
the gate and gradient probes the pages record. Figures are printed, never asserted. Sections:

- `learners`: 1, 3 and 6 learners submit at once. For each run: seconds from `submit` to its first loss point in
  this (the server's) process, as a listener sees it, and its sequences/s (epochs 2..N, as the trainer counts).
  With two workers, runs 3..6 wait in the queue, and their first point includes the wait.
- `alone`: one run alone on the Dask engine against bare `model.fit` in this process (benchmarks/timing.py),
  interleaved (bare, engine, bare, engine) so a busy machine slows both alike. The goal is at least 0.9x.
- `threads`: TensorFlow's intra-op threads per worker, default (one per core) against 1: one run alone, and three
  learners together.
- `stop`: seconds from `stop()` to the run's end, mid-way through a long first batch (the worker is ended and
  restarted) and between batches (a clean stop).
- `memory`: resident memory of this process after 6 and after 20 finished runs kept by their handles, and after
  rebuilding the 20 models here; run it alone (`--sections memory`) so earlier sections do not count.
- `cold`: the first run on a freshly started worker against the next one (what WarmWorker leaves to warm up).

Other people's tests share these two cores: run it more than once and read the load average printed at the start.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402

from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.engine.cluster import DaskEngine  # noqa: E402
from rnnlab.engine.threads import ThreadEngine  # noqa: E402

WAIT = 600
LONG_FIRST_BATCH = RunConfig(task="sine", seq_len=2000, samples=32, eval_samples=16, units=32, layers=4,
                             bidirectional=True, epochs=1, batch_size=16)


class FirstPoint:
    """A listener noting when the first loss point reached this process."""

    def __init__(self) -> None:
        self.submitted = time.perf_counter()
        self.first: float | None = None

    def on_batch_end(self, record) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.submitted


def learners(engine, count: int, config: RunConfig | None = None) -> tuple[list[float], list[float], float]:
    """`count` runs submitted at once; (first-point seconds, sequences/s, seconds until all ended)."""
    config = config or RunConfig()
    started = time.perf_counter()
    runs = []
    for _ in range(count):
        listener = FirstPoint()
        runs.append((engine.submit(config, listeners=[listener]), listener))
    for handle, _ in runs:
        assert handle.join(WAIT), handle
    makespan = time.perf_counter() - started
    for handle, _ in runs:
        assert handle.record.status == "finished", (handle.record.status, handle.record.message)
    return [listener.first for _, listener in runs], [h.record.samples_per_second for h, _ in runs], makespan


def show(label: str, firsts: list[float], speeds: list[float], makespan: float | None = None) -> None:
    text = (f"  {label:<34} first point {min(firsts):5.1f}-{max(firsts):5.1f} s (median {statistics.median(firsts):5.1f})"
            f"   sequences/s {min(speeds):6,.0f}-{max(speeds):6,.0f} (median {statistics.median(speeds):6,.0f})")
    if makespan is not None:
        text += f"   all ended after {makespan:5.1f} s"
    print(text, flush=True)


def warm(engine, workers: int = 2) -> None:
    """One run per worker first, so figures are for warm workers (the `cold` section measures the difference)."""
    handles = [engine.submit(RunConfig(epochs=1, samples=256)) for _ in range(workers)]
    for handle in handles:
        handle.join(WAIT)


def section_learners(repeats: int) -> None:
    print("Learners submitting the app's defaults at once (server-side first point; sequences/s per run)")
    dask_engine = DaskEngine()
    dask_engine.wait_until_ready()
    warm(dask_engine)
    thread_engine = ThreadEngine()
    for count in (1, 3, 6):
        for repeat in range(repeats):
            show(f"dask, {count} learner(s), round {repeat + 1}", *learners(dask_engine, count))
            show(f"threads, {count} learner(s), round {repeat + 1}", *learners(thread_engine, count))
    print(f"  ({dask_engine.describe()})")
    dask_engine.close()


def bare_fit(config: RunConfig) -> float:
    from rnnlab.models import build_model
    from rnnlab.data import make_dataset
    from rnnlab.training import throughput
    from timing import EpochTimer

    data = make_dataset(config)
    model = build_model(config, data)
    timer = EpochTimer()
    model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(data.x_val, data.y_val), callbacks=[timer], verbose=0)
    return throughput(len(data.x_train), timer.seconds)


ALONE_CONFIGS = (
    (RunConfig(), "app defaults (LSTM 32, sine T=30, 2,000 sequences)"),
    (RunConfig(task="adding", seq_len=100, samples=4096, eval_samples=512, units=64, epochs=4),
     "LSTM 64, adding T=100, 4,096 sequences, 4 epochs"),
)


def trainer_here(config: RunConfig) -> float:
    from rnnlab.training import Trainer

    return Trainer(config, record_grad_norms=True, record_gates=True).run().samples_per_second


def compare_alone(engines: dict, repeats: int) -> None:
    """One run alone on each engine against bare `model.fit` and the `Trainer` here, taking turns so that load hits
    all alike. The Trainer row separates what the engine costs from what the trainer (tf.data, the per-batch
    record, probes between epochs) costs."""
    for config, title in ALONE_CONFIGS:
        bare, here, ours = [], [], {name: [] for name in engines}
        for _ in range(repeats):
            bare.append(bare_fit(config))
            here.append(trainer_here(config))
            for name, engine in engines.items():
                ours[name].append(learners(engine, 1, config)[1][0])
        print(f"  one run alone, {title}:")
        print(f"    bare model.fit here        {statistics.median(bare):7,.0f}/s  "
              f"({', '.join(f'{v:,.0f}' for v in bare)})")
        print(f"    rnnlab Trainer here        {statistics.median(here):7,.0f}/s  "
              f"({', '.join(f'{v:,.0f}' for v in here)})   ratio {statistics.median(here) / statistics.median(bare):.2f}x")
        for name, speeds in ours.items():
            print(f"    {name:<26} {statistics.median(speeds):7,.0f}/s  ({', '.join(f'{v:,.0f}' for v in speeds)})"
                  f"   ratio {statistics.median(speeds) / statistics.median(bare):.2f}x", flush=True)


def section_alone(repeats: int) -> None:
    engine = DaskEngine()
    engine.wait_until_ready()
    warm(engine)
    compare_alone({"dask engine (defaults)": engine}, repeats)
    engine.close()


def section_threads(repeats: int) -> None:
    print("TensorFlow intra-op threads per worker (2 workers on 2 cores); the two clusters take turns")
    engines = {"dask, TF threads default": DaskEngine(), "dask, TF threads 1": DaskEngine(tf_threads=1)}
    for engine in engines.values():
        engine.wait_until_ready()
        warm(engine)
    compare_alone(engines, repeats)
    for repeat in range(repeats):
        for name, engine in engines.items():
            show(f"3 learners, {name[6:]}, round {repeat + 1}", *learners(engine, 3))
    for engine in engines.values():
        engine.close()


def section_stop(repeats: int) -> None:
    print("Stop latency, server-side: from stop() to the handle's end")
    engine = DaskEngine()
    engine.wait_until_ready()
    warm(engine)
    for _ in range(repeats):
        handle = engine.submit(LONG_FIRST_BATCH, record_grad_norms=False, record_gates=False)
        deadline = time.monotonic() + WAIT
        while handle.record.params == 0 and time.monotonic() < deadline:  # the model is built; tracing starts
            time.sleep(0.01)
        started = time.perf_counter()
        handle.stop()
        handle.join(WAIT)
        ended = time.perf_counter() - started
        print(f"  mid first batch (graph tracing, 2,000 steps): {ended:5.2f} s, status {handle.record.status}, "
              f"batches done {handle.record.steps_done}", flush=True)
        restarted = time.perf_counter()
        after = engine.submit(RunConfig(epochs=1, samples=256))
        after.join(WAIT)
        print(f"    next run on the cluster ended {time.perf_counter() - restarted:5.2f} s later "
              f"(its worker restarting meanwhile)", flush=True)
        handle = engine.submit(RunConfig(epochs=1000), record_grad_norms=False, record_gates=False)
        while handle.record.epochs_done < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.perf_counter()
        handle.stop()
        handle.join(WAIT)
        print(f"  between batches (app defaults): {time.perf_counter() - started:5.2f} s, "
              f"status {handle.record.status}, weights kept: {handle.model is not None}", flush=True)
    engine.close()


def resident_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def section_memory() -> None:
    print("Resident memory of this (the server's) process")
    import keras  # noqa: F401 - the server has TensorFlow loaded anyway (pages build models)

    print(f"  TensorFlow imported, no engine: {resident_mb():7.0f} MB", flush=True)
    engine = DaskEngine()
    engine.wait_until_ready()
    print(f"  engine started (a client; scheduler and nannies live in their host process): {resident_mb():7.0f} MB",
          flush=True)
    handles = []
    for total in (6, 20):
        while len(handles) < total:
            handles.append(engine.submit(RunConfig(seed=len(handles))))
        for handle in handles:
            handle.join(WAIT)
        print(f"  after {total} finished runs (records kept): {resident_mb():7.0f} MB", flush=True)
    for handle in handles:
        assert handle.model is not None
    print(f"  after rebuilding those 20 models here: {resident_mb():7.0f} MB", flush=True)
    host = psutil.Process(engine._host.process.pid).memory_info().rss / 1e6
    workers = engine.client.run(lambda: psutil.Process().memory_info().rss / 1e6)
    print(f"  for comparison: the cluster's host process {host:.0f} MB, each worker "
          f"{', '.join(f'{value:.0f}' for value in workers.values())} MB", flush=True)
    engine.close()


def section_cold(repeats: int) -> None:
    print("First run on a fresh worker against the next (app defaults; one worker)")
    for _ in range(repeats):
        engine = DaskEngine(n_workers=1)
        engine.wait_until_ready()
        firsts = []
        for _ in range(2):
            first, speeds, makespan = learners(engine, 1)
            firsts.append((first[0], makespan))
        print(f"  first run: first point {firsts[0][0]:4.1f} s, ended {firsts[0][1]:4.1f} s; "
              f"second run: first point {firsts[1][0]:4.1f} s, ended {firsts[1][1]:4.1f} s", flush=True)
        engine.close()


def _publish_timestamps(topic: str, count: int, size: int) -> int:
    import numpy as np
    from distributed import get_worker

    worker = get_worker()
    padding = np.zeros(size // 4, dtype=np.float32).tobytes()
    for index in range(count):
        worker.log_event(topic, {"sent": time.time(), "index": index, "data": padding})
        time.sleep(0.01)
    return count


def section_events(repeats: int) -> None:
    print("The progress channel: Worker.log_event -> scheduler -> Client.subscribe_topic, worker to this process")
    engine = DaskEngine(n_workers=1)
    engine.wait_until_ready()
    client = engine.client
    for size in (100, 30_000, 1_000_000):  # a batch event, an epoch event with probes, a large probe
        for repeat in range(repeats):
            topic = f"bench-{size}-{repeat}"
            latencies, order = [], []
            client.subscribe_topic(topic, lambda event: (latencies.append(time.time() - event[1]["sent"]),
                                                         order.append(event[1]["index"])))
            time.sleep(0.2)
            client.submit(_publish_timestamps, topic, 100, size, pure=False).result()
            deadline = time.monotonic() + 30
            while len(latencies) < 100 and time.monotonic() < deadline:
                time.sleep(0.01)
            latencies.sort()
            print(f"  {size:>9,} bytes: {len(latencies)} of 100 arrived, in order: {order == sorted(order)}, "
                  f"latency median {1000 * latencies[len(latencies) // 2]:.1f} ms, "
                  f"max {1000 * latencies[-1]:.1f} ms", flush=True)
    engine.close()


SECTIONS = {"learners": section_learners, "alone": section_alone, "threads": section_threads,
            "stop": section_stop, "memory": lambda repeats: section_memory(), "cold": section_cold,
            "events": section_events}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="events,learners,alone,threads,stop,memory,cold")
    parser.add_argument("--repeats", type=int, default=2)
    arguments = parser.parse_args()
    print(f"load average before: {', '.join(f'{value:.1f}' for value in os.getloadavg())}; "
          f"{psutil.cpu_count()} cores")
    for name in arguments.sections.split(","):
        started = time.perf_counter()
        SECTIONS[name](arguments.repeats)
        print(f"  [{name}: {time.perf_counter() - started:.0f} s; load average now "
              f"{os.getloadavg()[0]:.1f}]", flush=True)
