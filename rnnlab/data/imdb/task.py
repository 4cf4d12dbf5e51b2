"""IMDB sentiment as a task of the registry (`rnnlab.data.registry` names `rnnlab.data.imdb:TASK`), and its export.

    from rnnlab.data.imdb import TASK
    TASK.make(config), TASK.fit(config), TASK.budget_shape(config), TASK.keras_data_code(config)
"""

from __future__ import annotations

import numpy as np

from rnnlab import settings
from rnnlab.budget import Shape
from rnnlab.config import RunConfig
from rnnlab.data import files
from rnnlab.data.base import Dataset, Task
from rnnlab.data.imdb.base import (CLASS_NAMES, DESCRIPTION, KERAS_INDEX_FROM, KERAS_OOV_ID, KERAS_START_ID, TITLE,
                                   local_npz_path)
from rnnlab.data.imdb.encoding import HTML_TAG
from rnnlab.data.imdb.readers import (POSITIVE_LABELS, REVIEW_COLUMNS, SENTIMENT_COLUMNS, load_dataset,
                                      source_of)
from rnnlab.data.imdb.sizes import fit_to_source

class ImdbTask(Task):
    """IMDB sentiment as a task of the registry: words in, positive or negative out."""

    name, title, description = "imdb", TITLE, DESCRIPTION
    kind, class_names, answer_chart = "binary", CLASS_NAMES, "confusion"
    items, steps = "reviews", "words"
    field_labels = {"seq_len": "Words kept per review", "samples": "Training reviews",
                    "eval_samples": "Validation and test reviews"}

    def make(self, config: RunConfig) -> Dataset:
        return load_dataset(config)

    def fit(self, config: RunConfig) -> tuple[RunConfig, str | None]:
        """Sizes that fit the file the configuration names (Keras's own data holds 25,000 + 25,000 reviews)."""
        source = source_of(config)
        path = {"csv": config.imdb_csv, "npz": local_npz_path(config)}.get(source, "")
        return fit_to_source(config, source, path)

    def budget_shape(self, config: RunConfig) -> Shape:
        return Shape.for_tokens(config, vocab=config.vocab_size)

    def step_labels(self, dataset: Dataset, sequence: np.ndarray) -> list[str]:
        """The word at each position of one encoded review (padding shows as "" and ids without a word as #id)."""
        vocabulary = dataset.vocabulary or ()
        return [vocabulary[int(token)] if int(token) < len(vocabulary) else f"#{int(token)}"
                for token in np.asarray(sequence).ravel()]

    def keras_input_code(self, config: RunConfig) -> list[str]:
        return ['keras.Input(shape=(SEQ_LEN,), dtype="int32")',
                f"keras.layers.Embedding(VOCAB_SIZE, {config.embedding_dim})"]

    def keras_data_code(self, config: RunConfig) -> str:
        load = ("# IMDB reviews as word ids (downloads once to ~/.keras/datasets/), padded to SEQ_LEN words.\n"
                f"VOCAB_SIZE = {config.vocab_size}\n"
                "(x_all, y_all), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=VOCAB_SIZE)\n")
        if source_of(config) == "csv":
            return self._csv_data_code(config)
        local = config.imdb_path.strip() or settings.current().imdb_path or ""
        if source_of(config) == "npz" and local:  # the local file RNN Lab reads, not Keras's download
            load = (
                "# IMDB reviews as word ids from a local Keras-layout imdb.npz, prepared as\n"
                "# keras.datasets.imdb.load_data(num_words=VOCAB_SIZE) prepares its own: a start token 1, word\n"
                "# ranks shifted by 3 (unless the file was saved from load_data), rarer words as 2; padded to SEQ_LEN\n"
                "# words.\n"
                f"VOCAB_SIZE = {config.vocab_size}\n"
                # Named as the app names it (an upload by its own file name, never the server's folder).
                f"with np.load({files.display_name(local)!r}, allow_pickle=True) as arrays:\n"
                '    x_all, y_all = arrays["x_train"], arrays["y_train"]\n'
                f"shifted = all(len(review) and review[0] == {KERAS_START_ID} for review in x_all)\n"
                "reviews = x_all\n"
                "x_all = np.empty(len(reviews), dtype=object)  # one list of word ids per review\n"
                "for row, review in enumerate(reviews):\n"
                f"    review = np.asarray(review) if shifted else np.concatenate([[{KERAS_START_ID}], "
                f"np.asarray(review) + {KERAS_INDEX_FROM}])\n"
                f"    x_all[row] = np.where(review < VOCAB_SIZE, review, {KERAS_OOV_ID})\n")
        return load + (
            # The app's own split (rnnlab/data/imdb/readers.py): validation first, then training, from one shuffle of
            # the training reviews seeded [SEED, 0], so the script trains on exactly the reviews the run did.
            "order = np.random.default_rng([SEED, 0]).permutation(len(x_all))\n"
            f"val, train = order[:{config.eval_samples}], "
            f"order[{config.eval_samples}:{config.eval_samples + config.samples}]\n"
            "pad = lambda reviews: keras.utils.pad_sequences(reviews, maxlen=SEQ_LEN)\n"
            'x_train, y_train = pad(x_all[train]), y_all[train].astype("float32")\n'
            'x_val, y_val = pad(x_all[val]), y_all[val].astype("float32")')

    def _csv_data_code(self, config: RunConfig) -> str:
        """The app's own CSV reading (rnnlab/data/imdb/readers.py: `read_reviews_csv`, `_dataset_from_csv`) as plain
        pandas and Keras, so the script trains on exactly the reviews, words and labels the run did."""
        held_out, samples = config.eval_samples, config.samples
        return (
            "# IMDB-style reviews from the CSV this run trained on, read as RNN Lab reads it: the first column named\n"
            "# like a review and the first named like a sentiment (any case), labels positive/negative or 1/0, HTML\n"
            "# tags removed; one shuffle seeded SEED gives the test, validation and training reviews in that order,\n"
            "# and the vocabulary is learnt from the training reviews only. Padded and cut at the front to SEQ_LEN.\n"
            "import re\n\n"
            "import pandas as pd\n\n"
            f"VOCAB_SIZE = {config.vocab_size}\n"
            f"table = pd.read_csv({files.display_name(config.imdb_csv)!r}, keep_default_na=False, na_values=[\"\"], "
            'encoding="utf-8-sig",\n'
            '                    encoding_errors="replace", skipinitialspace=True)\n'
            "columns = {}\n"
            "for column in table.columns:\n"
            "    columns.setdefault(str(column).strip().lower(), column)\n"
            f"review = next(columns[name] for name in {REVIEW_COLUMNS!r} if name in columns)\n"
            f"sentiment = next(columns[name] for name in {SENTIMENT_COLUMNS!r} if name in columns)\n"
            f"tag = re.compile({HTML_TAG.pattern!r})\n"
            'texts = np.array([tag.sub(" ", str(text)) if not pd.isna(text) else "" for text in table[review]], '
            "dtype=object)\n"
            f"positive = table[sentiment].astype(str).str.strip().str.lower().isin({sorted(POSITIVE_LABELS)!r})\n"
            'y_all = positive.to_numpy().astype("float32")  # 1 = positive\n'
            "order = np.random.default_rng(SEED).permutation(len(texts))\n"
            f"test, val, train = order[:{held_out}], order[{held_out}:{2 * held_out}], "
            f"order[{2 * held_out}:{2 * held_out + samples}]\n"
            "vectorizer = keras.layers.TextVectorization(max_tokens=VOCAB_SIZE, ragged=True)\n"
            "vectorizer.adapt(texts[train], batch_size=512)\n"
            "pad = lambda rows: keras.utils.pad_sequences(vectorizer(texts[rows]).to_list(), maxlen=SEQ_LEN)\n"
            "x_train, y_train = pad(train), y_all[train]\n"
            "x_val, y_val = pad(val), y_all[val]")

    def r_input_code(self, config: RunConfig) -> list[str]:
        return ['keras_model_sequential(input_shape = c(SEQ_LEN), input_dtype = "int32")',
                f"layer_embedding(input_dim = VOCAB_SIZE, output_dim = {config.embedding_dim})"]

    def r_data_code(self, config: RunConfig) -> str:
        samples, held_out = config.samples, config.eval_samples
        other = {"csv": config.imdb_csv, "npz": local_npz_path(config)}.get(source_of(config), "")
        note = (f"# This run trained on the reviews in {files.display_name(other)}; the R export reads Keras's IMDB\n"
                "# reviews instead, so its numbers will differ from the run's (the Python export reads that file).\n"
                if other else "")
        return note + (
            "# IMDB reviews as word ids (downloads once to ~/.keras/datasets/), padded and cut at the front to\n"
            "# SEQ_LEN words. Training and validation reviews are drawn from Keras's 25,000 training reviews, as in\n"
            "# RNN Lab.\n"
            f"VOCAB_SIZE <- {config.vocab_size}L\n"
            "imdb <- dataset_imdb(num_words = VOCAB_SIZE)\n"
            "set.seed(SEED)\n"
            "shuffled <- sample.int(length(imdb$train$x))\n"
            f"train <- shuffled[seq_len({samples})]\n"
            f"val <- shuffled[{samples} + seq_len({held_out})]\n"
            "x_train <- pad_sequences(imdb$train$x[train], maxlen = SEQ_LEN)  # (reviews, SEQ_LEN) word ids\n"
            "y_train <- as.numeric(imdb$train$y[train])\n"
            "x_val <- pad_sequences(imdb$train$x[val], maxlen = SEQ_LEN)\n"
            "y_val <- as.numeric(imdb$train$y[val])")


TASK = ImdbTask()
