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
from rnnlab.data.imdb.readers import load_dataset, source_of
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
            "rng = np.random.default_rng(SEED)\n"
            "order = rng.permutation(len(x_all))\n"
            f"train, val = order[:{config.samples}], order[{config.samples}:{config.samples + config.eval_samples}]\n"
            "pad = lambda reviews: keras.utils.pad_sequences(reviews, maxlen=SEQ_LEN)\n"
            'x_train, y_train = pad(x_all[train]), y_all[train].astype("float32")\n'
            'x_val, y_val = pad(x_all[val]), y_all[val].astype("float32")')

    def r_input_code(self, config: RunConfig) -> list[str]:
        return ['keras_model_sequential(input_shape = c(SEQ_LEN), input_dtype = "int32")',
                f"layer_embedding(input_dim = VOCAB_SIZE, output_dim = {config.embedding_dim})"]

    def r_data_code(self, config: RunConfig) -> str:
        samples, held_out = config.samples, config.eval_samples
        return (
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
