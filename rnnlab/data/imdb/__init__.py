"""IMDB movie reviews as a task: where the reviews come from, sizes that fit them, and encoding a learner's review.

    config, note = fit_to_source(defaults_for_task("imdb").replace(imdb_csv="reviews.csv"), "csv", "reviews.csv")
    dataset = load_reviews(config, "csv")        # note: "This CSV has 2,500 reviews ... training on 1,500 ..."
    tokens = encode_review("Not bad at all.", dataset)   # (1, seq_len), exactly as the reviews were encoded
    review_words("Not bad at all.", dataset)              # ['not', 'bad', 'at', 'all']

One module per concern, each standing on the ones before it:

- `base`: the names, the reserved vocabulary ids, `ImdbDataError`, the local file setting (`RNNLAB_IMDB_PATH`);
- `encoding`: a review as token ids and back, and the Keras word list as a vocabulary;
- `readers`: Keras's download, a local imdb.npz, a CSV of raw reviews (`load_dataset`, `load_reviews`);
- `sizes`: how many reviews a source holds and a configuration fitted to them (`fit_sizes`, `fit_to_source`);
- `task`: the registry's `TASK` and its export to Python and R.

What a trained model says about reviews lives in `rnnlab.sentiment`. Every data problem raises `ImdbDataError` (a
`DataError`) with one sentence saying what is wrong and what to do. This package re-exports every public name, so
`from rnnlab.data import imdb; imdb.load_dataset(...)` reads as before the split.
"""

from rnnlab.data.imdb.base import (CLASS_NAMES, DESCRIPTION, ENV_VAR, KERAS_INDEX_FROM, KERAS_OOV_ID, KERAS_START_ID,
                                   OFFLINE_WAYS_OUT, OOV, PAD, START, TITLE, WORD_INDEX_FILE, ImdbDataError,
                                   ImdbOffline, local_npz_path)
from rnnlab.data.imdb.encoding import decode_review, encode_review, keras_vocabulary, one_review, review_words
from rnnlab.data.imdb.readers import (COMPRESSED_SUFFIXES, NEGATIVE_LABELS, POSITIVE_LABELS, REVIEW_COLUMNS,
                                      SENTIMENT_COLUMNS, SOURCES, data_key, keras_cache_path, keras_cached,
                                      load_dataset, load_reviews, read_reviews_csv, review_texts, source_config,
                                      source_of)
from rnnlab.data.imdb.sizes import KERAS_REVIEWS, available_reviews, fit_sizes, fit_to_source
from rnnlab.data.imdb.task import TASK, ImdbTask

__all__ = [
    "CLASS_NAMES", "COMPRESSED_SUFFIXES", "DESCRIPTION", "ENV_VAR", "KERAS_INDEX_FROM", "KERAS_OOV_ID",
    "KERAS_REVIEWS", "KERAS_START_ID", "NEGATIVE_LABELS", "OFFLINE_WAYS_OUT", "OOV", "PAD", "POSITIVE_LABELS",
    "REVIEW_COLUMNS", "SENTIMENT_COLUMNS", "SOURCES", "START", "TASK", "TITLE", "WORD_INDEX_FILE", "ImdbDataError",
    "ImdbOffline", "ImdbTask", "available_reviews", "data_key", "decode_review", "encode_review", "fit_sizes",
    "fit_to_source", "keras_cache_path", "keras_cached", "keras_vocabulary", "load_dataset", "load_reviews",
    "local_npz_path", "one_review", "read_reviews_csv", "review_texts", "review_words", "source_config", "source_of",
]
