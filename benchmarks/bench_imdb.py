"""Reviews per second of the IMDB page's training path against bare `model.fit`, and the accuracy it reaches.

One process, one data set, one model: the configuration the IMDB page gives a 2,500-review CSV (Keras IMDB defaults
shrunk by `rnnlab.sentiment.fit_sizes`: 1,500 training, 500 validation, 500 test reviews, vocabulary 10,000,
maxlen 200, Embedding(32) + LSTM(32) + Dense(1, sigmoid), batch 64, 3 epochs), trained three ways:

- `bare`: `build_model(config, dataset).fit(x_train, y_train, ...)` on NumPy arrays, nothing else;
- `trainer`: `rnnlab.training.Trainer` (tf.data input, the progress bridge that fills the run record);
- `page job`: a `TrainingJob` exactly as the page starts it (`pages.session.start_run`: background thread, gate and
  gradient probes after every epoch), with the main thread taking a record snapshot every POLL_SECONDS as the
  page's polling fragment does.

Throughput counts training batches only, over epochs 2..N (the first also traces the graph), the same way for all
three; the variants take turns, round after round, so a busy machine slows them alike. Medians are printed.
Reads ../shared/data/imdb_reviews_sample.csv (or --csv); without it, a synthetic CSV of random words is used, which
measures speed but not accuracy.

    .venv/bin/python benchmarks/bench_imdb.py                 # about a minute on two cores
    .venv/bin/python benchmarks/bench_imdb.py --rounds 3 --epochs 4
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


from rnnlab import sentiment  # noqa: E402
from rnnlab.config import defaults_for_task  # noqa: E402
from rnnlab.engine.threads import TrainingJob  # noqa: E402
from rnnlab.models import build_model  # noqa: E402
from rnnlab.training import Trainer, throughput  # noqa: E402
from timing import EpochTimer  # noqa: E402

SAMPLE_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "imdb_reviews_sample.csv")
POLL_SECONDS = 1.0  # pages/session.py's polling interval; imported from there it would pull in streamlit


def run_bare(config, dataset) -> tuple[float, float]:
    model = build_model(config, dataset)
    timer = EpochTimer()
    model.fit(dataset.x_train, dataset.y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(dataset.x_val, dataset.y_val), callbacks=[timer], verbose=0)
    accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0, return_dict=True)["accuracy"]
    return throughput(len(dataset.x_train), timer.seconds), float(accuracy)


def run_trainer(config, dataset) -> tuple[float, float]:
    record = Trainer(config, dataset).run()
    return record.samples_per_second, record.test_accuracy


def run_page_job(config, dataset) -> tuple[float, float]:
    job = TrainingJob(config, dataset, record_grad_norms=True, record_gates=True).start()
    while not job.done:
        job.record.snapshot()  # what the page's fragment reads on every redraw
        time.sleep(POLL_SECONDS)
    return job.record.samples_per_second, job.record.test_accuracy


def synthetic_csv(folder: str, reviews: int = 2500) -> str:
    """Random-word reviews of IMDB-like length: the same work per batch, nothing to learn."""
    rng = np.random.default_rng(0)
    words = [f"w{index}" for index in range(5000)]
    path = os.path.join(folder, "synthetic_reviews.csv")
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        for number in range(reviews):
            length = int(rng.integers(100, 400))
            writer.writerow([" ".join(rng.choice(words, length)), "positive" if number % 2 else "negative"])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=SAMPLE_CSV, help="A reviews CSV (default: the 2,500-review sample).")
    parser.add_argument("--rounds", type=int, default=2, help="Turns each variant takes.")
    parser.add_argument("--epochs", type=int, default=None, help="Epochs per run (default: the page's 3).")
    arguments = parser.parse_args()

    path, real = os.path.abspath(arguments.csv), os.path.exists(arguments.csv)
    if not real:
        path = synthetic_csv(tempfile.mkdtemp(prefix="bench_imdb_"))
        print(f"{arguments.csv} not found: using synthetic random-word reviews (speed only, accuracy meaningless)")
    available = sentiment.available_reviews("csv", path)
    config = sentiment.source_config(defaults_for_task("imdb"), "csv", path)
    config, note = sentiment.fit_sizes(config, *available)
    if arguments.epochs:
        config = config.replace(epochs=arguments.epochs)
    started = time.perf_counter()
    dataset = sentiment.load_reviews(config, "csv")
    print(f"data: {path}, {available[0]:,} reviews; loaded in {time.perf_counter() - started:.1f} s")
    print(f"fit: {note or 'the defaults fit'}")
    print(f"model: {config.label()}, vocabulary {dataset.vocab_size:,}, embedding {config.embedding_dim}, "
          f"batch {config.batch_size}, {config.epochs} epochs, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")

    variants = {"bare model.fit": run_bare, "Trainer": run_trainer, "page job (thread + probes)": run_page_job}
    speeds = {name: [] for name in variants}
    accuracies = {name: [] for name in variants}
    for round_number in range(1, arguments.rounds + 1):
        for name, run in variants.items():
            speed, accuracy = run(config, dataset)
            speeds[name].append(speed)
            accuracies[name].append(accuracy)
            print(f"round {round_number}  {name:<28} {speed:8,.0f} reviews/s   test accuracy {accuracy:.3f}",
                  flush=True)

    bare = statistics.median(speeds["bare model.fit"])
    print(f"\nmedians over {arguments.rounds} rounds (epochs 2..{config.epochs}, training batches only); "
          f"load average now {os.getloadavg()[0]:.1f}")
    for name in variants:
        speed = statistics.median(speeds[name])
        print(f"  {name:<28} {speed:8,.0f} reviews/s   {speed / bare:5.2f}x bare   "
              f"test accuracy {statistics.median(accuracies[name]):.3f} "
              f"(on {len(dataset.x_test):,} test reviews, after training on {len(dataset.x_train):,})")


if __name__ == "__main__":
    main()
