"""How long IMDB data takes to load, and how fast and how well a small LSTM learns it on this machine.

Two measurements, printed as plain lines for the lead to copy into FACTS.md:

- `csv`: a raw-review CSV (default: the 2,500-review sample in ../shared/data) through `rnnlab.imdb.load_dataset`,
  then Embedding(vocab, 32) + LSTM(32) + Dense(1, sigmoid) trained with plain Keras; prints load time,
  reviews/second, and validation and test accuracy after each epoch.
- `full`: a synthetic file the size of Keras's imdb.npz (25,000 + 25,000 reviews of realistic lengths, random
  words), read through the local-npz path and through Keras's own `load_data` (download stubbed), to show what
  loading the full data costs before the first epoch; then one timed epoch of the same model at that size.

    .venv/bin/python benchmarks/bench_imdb_data.py csv --samples 1500 --eval-samples 500 --epochs 4
    .venv/bin/python benchmarks/bench_imdb_data.py full --samples 20000 --vocab 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import keras  # noqa: E402

from rnnlab import imdb  # noqa: E402
from timing import EpochTimer  # noqa: E402
from rnnlab.config import RunConfig  # noqa: E402

SAMPLE_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "imdb_reviews_sample.csv")


def build_model(vocab_size: int, seq_len: int) -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(seq_len,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 32),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(dataset, epochs: int, batch_size: int) -> None:
    keras.utils.set_random_seed(0)
    model = build_model(dataset.vocab_size, dataset.seq_len)
    timer = EpochTimer()
    started = time.perf_counter()
    history = model.fit(dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
                        epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    total = time.perf_counter() - started
    for epoch in range(epochs):
        rate = len(dataset.x_train) / timer.seconds[epoch]
        print(f"epoch {epoch + 1}: train acc {history.history['accuracy'][epoch]:.3f}  "
              f"val acc {history.history['val_accuracy'][epoch]:.3f}  {timer.seconds[epoch]:.1f} s  "
              f"{rate:,.0f} reviews/s")
    test_loss, test_accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    print(f"fit total {total:.1f} s for {epochs} epochs; test acc {test_accuracy:.3f} (baseline loss "
          f"{dataset.baseline_loss:.3f}, test loss {test_loss:.3f})")


def bench_csv(arguments: argparse.Namespace) -> None:
    config = RunConfig(task="imdb", imdb_csv=arguments.csv, samples=arguments.samples,
                       eval_samples=arguments.eval_samples, vocab_size=arguments.vocab, seq_len=arguments.seq_len)
    started = time.perf_counter()
    dataset = imdb.load_dataset(config)
    print(f"load {time.perf_counter() - started:.2f} s: {dataset.source}; vocabulary {dataset.vocab_size:,}; "
          f"train {dataset.x_train.shape}, positive share {dataset.y_train.mean():.2f}")
    train(dataset, arguments.epochs, arguments.batch_size)


def synthetic_keras_npz(folder: str) -> str:
    """25,000 + 25,000 raw reviews with IMDB-like lengths (median ~174 words) and Zipf-distributed word ranks."""
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ("train", "test"):
        lengths = np.clip(rng.lognormal(5.2, 0.7, 25_000).astype(int), 10, 2_500)
        words = np.minimum(rng.zipf(1.3, lengths.sum()), 88_584)
        reviews = np.empty(25_000, dtype=object)
        reviews[:] = [chunk.tolist() for chunk in np.split(words, np.cumsum(lengths)[:-1])]
        arrays[f"x_{name}"] = reviews
        arrays[f"y_{name}"] = rng.integers(0, 2, 25_000)
    path = os.path.join(folder, "imdb.npz")
    np.savez(path, **arrays)
    return path


def bench_full(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = synthetic_keras_npz(folder)
        config = RunConfig(task="imdb", imdb_path=path, samples=arguments.samples,
                           eval_samples=arguments.eval_samples, vocab_size=arguments.vocab, seq_len=arguments.seq_len)
        started = time.perf_counter()
        dataset = imdb.load_dataset(config)
        print(f"local npz load {time.perf_counter() - started:.2f} s for {arguments.samples:,} training reviews")
        # Keras's own loader on the same file: it shifts and cuts all 50,000 reviews before we take our subsets.
        keras.src.datasets.imdb.get_file = lambda fname, **kwargs: os.path.join(folder, fname)
        started = time.perf_counter()
        imdb.load_dataset(config.replace(imdb_path=""))
        print(f"Keras load_data path {time.perf_counter() - started:.2f} s (word list missing here, so #ids)")
    # Words are random, so accuracy means nothing here; only the speed of one epoch does.
    train(dataset, 1, arguments.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("csv", "full"))
    parser.add_argument("--csv", default=SAMPLE_CSV)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--seq-len", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    arguments = parser.parse_args()
    bench_csv(arguments) if arguments.what == "csv" else bench_full(arguments)


if __name__ == "__main__":
    main()
