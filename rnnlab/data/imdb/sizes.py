"""Sizes that fit the reviews: how many a source holds, and a configuration shrunk to fit them.

    fit_sizes(config, 2_500)               # a CSV of 2,500 reviews: (fitted config, "This CSV has 2,500 reviews ...")
    fit_to_source(config, "npz", path)     # the same for whatever the source holds (npz: its label arrays only)
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from rnnlab.config import RunConfig, field_info
from rnnlab.data import files
from rnnlab.data.imdb.base import ImdbDataError
from rnnlab.data.imdb.readers import read_reviews_csv

# Keras's imdb.npz always holds these many training and test reviews (Maas et al. 2011).
KERAS_REVIEWS = (25_000, 25_000)


_SMALLEST = int(field_info("samples")["low"])  # RunConfig's smallest training and held-out sets


_SMALLEST_HELD_OUT = int(field_info("eval_samples")["low"])


def available_reviews(source: str, path: str = "") -> tuple[int, int | None] | None:
    """How many reviews `source` holds: (training, test) for Keras layouts, (all, None) for a CSV, whose splits
    share one pool; None when a local npz cannot be counted cheaply (loading it then says what is wrong).

    A CSV is read in full (raising `ImdbDataError` if it is malformed); an npz only has its label arrays read.
    """
    if source == "keras":
        return KERAS_REVIEWS
    if source == "csv":
        texts, _ = read_reviews_csv(path.strip())
        return len(texts), None
    try:
        with zipfile.ZipFile(files.resolve(path)) as archive:
            counts = []
            for name in ("y_train.npy", "y_test.npy"):
                with archive.open(name) as stream:
                    labels = np.lib.format.read_array(io.BytesIO(stream.read()), allow_pickle=False)
                counts.append(len(labels))
        return counts[0], counts[1]
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def fit_sizes(config: RunConfig, available_reviews: int,
              test_reviews: int | None = None) -> tuple[RunConfig, str | None]:
    """`config` with training and held-out sizes shrunk to fit the data, and one sentence saying what changed.

    `available_reviews` alone means one shared pool (a CSV: training, validation and test all come from it);
    with `test_reviews`, a Keras layout (validation comes from the training reviews, test from the test reviews).
    Sizes that fit are left alone (note None). Otherwise the held-out sets keep at most a fifth of the pool each,
    the training set gets the rest, and the largest asked-for sizes win where they fit.
    Raises `ImdbDataError` when even the smallest sets (16 reviews each) do not fit.
    """
    samples, held_out = config.samples, config.eval_samples
    if test_reviews is None:  # one pool: training + validation + test
        pool, what = available_reviews, f"This CSV has {available_reviews:,} reviews"
        if samples + 2 * held_out <= pool:
            return config, None
        held_out = min(held_out, max(_SMALLEST_HELD_OUT, pool // 5))
        samples = min(samples, pool - 2 * held_out)
        asked = f"{config.samples:,} training + {config.eval_samples:,} validation + {config.eval_samples:,} test"
        smallest = _SMALLEST + 2 * _SMALLEST_HELD_OUT
    else:  # training + validation from the training reviews, test from the test reviews
        pool = available_reviews
        what = f"This imdb.npz has {available_reviews:,} training and {test_reviews:,} test reviews"
        if samples + held_out <= pool and held_out <= test_reviews:
            return config, None
        held_out = min(held_out, test_reviews, max(_SMALLEST_HELD_OUT, pool // 5))
        samples = min(samples, pool - held_out)
        asked = f"{config.samples:,} training + {config.eval_samples:,} validation and test"
        smallest = _SMALLEST + _SMALLEST_HELD_OUT
    if samples < _SMALLEST or held_out < _SMALLEST_HELD_OUT:
        raise ImdbDataError(f"{what}; at least {smallest} are needed ({_SMALLEST} training, "
                            f"{_SMALLEST_HELD_OUT} validation and {_SMALLEST_HELD_OUT} test); use a bigger file.")
    fitted = config.replace(samples=samples, eval_samples=held_out)
    return fitted, (f"{what}, too few for the {asked} asked for: training on {samples:,} reviews, with "
                    f"{held_out:,} for validation and {held_out:,} for the test.")


def fit_to_source(config: RunConfig, source: str, path: str = "") -> tuple[RunConfig, str | None]:
    """`fit_sizes` for whatever `source` holds (nothing to fit when it cannot be counted cheaply)."""
    available = available_reviews(source, path)
    if available is None:
        return config, None
    return fit_sizes(config, *available)
