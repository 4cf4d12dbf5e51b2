"""Text generation: the trainer's speed against bare `model.fit`, and what a character-level LSTM reaches on ~1 MB.

    .venv/bin/python benchmarks/bench_text.py                       # ~1.1 MB of IMDB reviews; 5-10 min on 2 cores
    .venv/bin/python benchmarks/bench_text.py shakespeare.txt       # any .txt, e.g. tiny-shakespeare
    .venv/bin/python benchmarks/bench_text.py --rounds 1 --epochs 2 # a quicker look

The text: the .txt given, or else the first ~1.1 MB of running text from the 2,500 real IMDB reviews in
../shared/data/imdb_reviews_sample.csv (HTML tags such as `<br />` removed, one review per line), written to a
temporary .txt. (tiny-shakespeare cannot be downloaded on the machines this project is built on; pass its path to
compare with ../shared/FACTS.md and the TensorFlow tutorial.) The text is read as characters, as RNN Lab reads a
text file: the first 90% for training windows, the next 5% for validation windows.

1. Throughput, in tokens per second (training windows per second × window length, over epochs 2..N, so graph
   tracing is not counted): `rnnlab.training.Trainer` against bare `model.fit` on the same model and the same
   windows, taking turns round after round so a busy machine slows them alike; medians. The goal is at least 0.9x.
2. The run FACTS.md describes: Embedding(vocabulary, 32) -> LSTM(128) -> Dense(vocabulary) logits, 100-character
   windows, 10,000 random training windows, batch 64, Adam 3e-3, 5 epochs, through the Trainer (which also writes
   a 150-character sample after every epoch): the validation loss per epoch and the time taken, against the unigram
   baseline.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rnnlab.config import RunConfig  # noqa: E402
from rnnlab.data import make_dataset  # noqa: E402
from rnnlab.data.imdb import read_reviews_csv  # noqa: E402
from rnnlab.models import build_model  # noqa: E402
from rnnlab.training import Trainer, TrainerCallback, throughput  # noqa: E402
from timing import EpochTimer  # noqa: E402

SAMPLE_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "imdb_reviews_sample.csv")
CHARACTERS = 1_100_000  # about the size of tiny-shakespeare


def imdb_text_file() -> str:
    texts, _ = read_reviews_csv(SAMPLE_CSV)
    text = "\n".join(" ".join(review.split()) for review in texts)[:CHARACTERS]
    handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    with handle:
        handle.write(text)
    return handle.name


def bare(config: RunConfig, dataset) -> float:
    """Tokens per second of bare model.fit on NumPy arrays."""
    model = build_model(config, dataset)
    timer = EpochTimer()
    model.fit(dataset.x_train, dataset.y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(dataset.x_val, dataset.y_val), callbacks=[timer], verbose=0)
    return throughput(len(dataset.x_train), timer.seconds) * config.seq_len


def trainer(config: RunConfig, dataset) -> float:
    return Trainer(config, dataset).run().samples_per_second * config.seq_len


def compare_throughput(config: RunConfig, dataset, rounds: int) -> None:
    results = {"bare model.fit": [], "rnnlab Trainer": []}
    ratios = []
    for _ in range(rounds):
        first, ours, again, last = bare(config, dataset), trainer(config, dataset), trainer(config, dataset), \
            bare(config, dataset)
        results["bare model.fit"] += [first, last]
        results["rnnlab Trainer"] += [ours, again]
        ratios.append((ours + again) / (first + last))
    print(f"Throughput: Embedding({len(dataset.vocabulary)}, {config.embedding_dim}) -> LSTM({config.units}) -> "
          f"Dense logits, T={config.seq_len}, batch {config.batch_size}, {config.samples:,} windows, "
          f"epochs 2-{config.epochs}, {rounds} round(s)")
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, values in results.items():
        runs = ", ".join(f"{value:,.0f}" for value in values)
        print(f"  {name:<16} {medians[name]:9,.0f} tokens/s   (runs: {runs})")
    print(f"  ratio            {statistics.median(ratios):9.2f}x   (rounds: {', '.join(f'{r:.2f}' for r in ratios)}; "
          "goal: at least 0.90x)")


class EpochLine(TrainerCallback):
    def __init__(self, started: float) -> None:
        self.started = started

    def on_epoch_end(self, record) -> None:
        print(f"  epoch {record.epochs_done}: validation loss {record.history['val_loss'][-1]:.3f} nats/char "
              f"(perplexity {record.history['val_perplexity'][-1]:.2f}), {record.epoch_seconds[-1]:.1f} s of batches, "
              f"{time.perf_counter() - self.started:.0f} s so far", flush=True)
        print("    " + " ⏎ ".join(record.generated[-1].splitlines())[:160], flush=True)


def full_run(config: RunConfig, dataset) -> None:
    print(f"The full run: {config.epochs} epochs, {config.samples:,} windows of {config.seq_len} characters, "
          f"LSTM({config.units}); unigram baseline {dataset.baseline_loss:.3f} nats/char "
          f"(perplexity {math.exp(dataset.baseline_loss):.1f})")
    started = time.perf_counter()
    record = Trainer(config, dataset, callbacks=[EpochLine(started)]).run()
    total = time.perf_counter() - started
    final = record.history["val_loss"][-1]
    print(f"  reached {final:.3f} nats/char ({final / dataset.baseline_loss:.0%} of the baseline) in {total:.0f} s "
          f"({sum(record.epoch_seconds):.0f} s of training batches), "
          f"{record.samples_per_second * config.seq_len:,.0f} chars/s over epochs 2-{config.epochs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", help="A .txt file (default: ~1.1 MB of the IMDB sample's reviews).")
    parser.add_argument("--rounds", type=int, default=2, help="Rounds of the throughput comparison.")
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of the full run.")
    parser.add_argument("--samples", type=int, default=10_000, help="Training windows of the full run.")
    parser.add_argument("--skip-throughput", action="store_true")
    arguments = parser.parse_args()
    path = arguments.text or imdb_text_file()
    config = RunConfig(task="text", corpus="file", text_file=path, level="char", seq_len=100,
                       samples=arguments.samples, eval_samples=1000, embedding_dim=32, units=128, batch_size=64,
                       learning_rate=3e-3, epochs=arguments.epochs)
    started = time.perf_counter()
    dataset = make_dataset(config)
    print(f"Text: {path} ({os.path.getsize(path) / 1e6:.2f} MB), {len(dataset.vocabulary)} tokens in the vocabulary "
          f"(with padding and [UNK]); windows made in {time.perf_counter() - started:.1f} s")
    if not arguments.skip_throughput:
        short = config.replace(samples=3000, epochs=3)
        compare_throughput(short, make_dataset(short), arguments.rounds)
    full_run(config, dataset)


if __name__ == "__main__":
    main()
