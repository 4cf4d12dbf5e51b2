"""Save a trained model to a `.keras` file, and load one back in Keras's safe mode.

    save_model(trainer.model, trainer.dataset, "grammar.keras")
    saved = load_model("grammar.keras")   # saved.model; saved.vocabulary for a text model, else None
    python -m rnnlab train --task adding --save-model adding.keras

Any model is saved as Keras saves it. A text model's file holds more than the network: a model that reads raw
strings, made of the `TextVectorization` layer that turned the training text into ids (named "vocabulary": its
vocabulary, its standardize rule and its split, characters or words, are saved in the file) followed by the trained
network (named "network", taking token ids of any length). `load_model` finds both again, so `python -m rnnlab
generate` needs nothing but the file, and the wrapper itself answers `model(tf.constant([["the cat sat"]]))` with
logits `(1, tokens, vocabulary)`.

Loading always uses `safe_mode=True`: a file that would run Python code when loaded (a Lambda layer) is refused
with one sentence, as is a file that is not a Keras model.

The web server never lets a file decide what it builds: `load_weights(path, config)` builds the network from the
run's (validated) configuration and reads only the weights from the file, after checking the archive's members and
their unpacked sizes, so a 2 KB file whose `config.json` asks for 2,000 LSTM units costs nothing:

    saved = load_weights("run.keras", record.config)   # ModelFileError with one sentence if they do not fit
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import TYPE_CHECKING

from rnnlab.data import DataError, Dataset

if TYPE_CHECKING:  # Keras is imported when a model is saved or loaded, so the CLI can check a path without it
    import keras

    from rnnlab.data.vocabulary import Vocabulary

VOCABULARY_LAYER = "vocabulary"
NETWORK_LAYER = "network"
# What a .keras archive holds (Keras's own layout); anything else in an uploaded one is refused unread.
ARCHIVE_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
# An archive may unpack to at most this many bytes per weight of the run's network (float32 weights, the
# optimizer's two slots, HDF5's bookkeeping), plus this much for the rest.
BYTES_PER_WEIGHT = 16
ARCHIVE_SLACK_BYTES = 8 * 1024 * 1024


class ModelFileError(DataError):
    """A model file that cannot be saved or loaded; the message is one sentence saying what to do."""


@dataclasses.dataclass
class SavedModel:
    """What a `.keras` file holds: the network, and for a text model the vocabulary that reads its prompts."""

    model: "keras.Model"  # the network: the same inputs and outputs it trained on
    vocabulary: "Vocabulary | None" = None  # text models only
    path: str = ""

    @property
    def is_text(self) -> bool:
        return self.vocabulary is not None


def save_model(model: "keras.Model", dataset: Dataset, path) -> str:
    """Write `model` to `path` (which must end in .keras); a text model takes its vocabulary along. Returns the
    path written."""
    path = os.fspath(path)
    check_path(path)
    if dataset.vectorizer is not None:
        model = _text_model(model, dataset)
    model.save(path)
    return path


def check_path(path) -> None:
    """ModelFileError unless a model can be written to `path`: a .keras name in a folder that exists."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ModelFileError(f"The model file name must end in .keras (Keras's format), not "
                             f"{os.path.basename(path)!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ModelFileError(f"There is no folder {folder} to save the model in; create it or choose another path.")


def _text_model(model: "keras.Model", dataset: Dataset) -> "keras.Model":
    """Strings in, the network's logits out: the dataset's vocabulary layer, then the network on ids of any length."""
    import keras

    from rnnlab.data.vocabulary import make_vectorizer  # start-up time: Keras, as above

    config = dataset.vectorizer.get_config()
    vectorizer = make_vectorizer("char" if config["split"] == "character" else "word", config["standardize"],
                                 vocabulary=list(dataset.vectorizer.get_vocabulary()))
    # The same layers (the same weights) behind an input of any length, so a prompt need not fill a window.
    network = keras.Sequential([keras.Input(shape=(None,), dtype="int32", name="tokens"), *model.layers],
                               name=NETWORK_LAYER)
    text = keras.Input(shape=(1,), dtype="string", name="text")
    return keras.Model(text, network(vectorizer(text)), name=f"{model.name}_text")  # (batch, tokens, vocabulary)


def load_model(path) -> SavedModel:
    """The model in a `.keras` file, loaded with `safe_mode=True`; ModelFileError with one sentence if the file is
    missing, is not a Keras model, or would need unsafe deserialisation."""
    import keras

    from rnnlab.data.vocabulary import Vocabulary  # start-up time: Keras, as above

    path = os.fspath(path)
    shown = os.path.basename(path) or path
    if not os.path.isfile(path):
        raise ModelFileError(f"There is no model file at {path}; give a .keras file saved with --save-model.")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{shown} is not a Keras model file (a .keras file is a zip archive); give a file saved "
                             "with --save-model or model.save.")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, TypeError, KeyError, OSError... for files it cannot read
        reason = " ".join(str(error).split())
        if "safe_mode" in reason or "unsafe" in reason.lower() or "lambda" in reason.lower():
            raise ModelFileError(f"{shown} holds Python code that would run when it is loaded (such as a Lambda "
                                 "layer), and RNN Lab loads models only in Keras's safe mode; save a model built "
                                 "from standard layers.") from error
        raise ModelFileError(f"{shown} could not be read as a Keras model ({reason[:200].rstrip('.')}); give a "
                             "file saved with --save-model or model.save.") from error
    names = {layer.name for layer in model.layers}
    if VOCABULARY_LAYER in names and NETWORK_LAYER in names:
        return SavedModel(model=model.get_layer(NETWORK_LAYER),
                          vocabulary=Vocabulary(model.get_layer(VOCABULARY_LAYER)), path=path)
    return SavedModel(model=model, path=path)


def load_weights(path, config, dataset: Dataset | None = None) -> SavedModel:
    """The network `config` describes, with the weights of the `.keras` file at `path` (Keras's `load_weights`),
    never the file's own architecture. `dataset` (default: made from `config` with the fewest sequences) gives the
    shapes. ModelFileError with one sentence if the file is not a Keras archive, holds more than the network's
    weights could, or its weights do not fit the network."""
    from rnnlab.models import untrained_model  # start-up time: building a network imports Keras's layers

    path = os.fspath(path)
    shown = os.path.basename(path) or path
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{shown} is not a Keras model file (a .keras file is a zip archive); give the file "
                             "downloaded with the run.")
    network, dataset = untrained_model(config, dataset)
    limit = BYTES_PER_WEIGHT * network.count_params() + ARCHIVE_SLACK_BYTES
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        unpacked = sum(member.file_size for member in members)
        names = {member.filename for member in members}
        if "model.weights.h5" not in names or any(name not in ARCHIVE_MEMBERS and not name.startswith("assets/")
                                                  for name in names) or len(names) > 64:
            raise ModelFileError(f"{shown} could not be read as a Keras model (it is not an archive as Keras "
                                 "writes one); give the .keras file downloaded with the run.")
        if unpacked > limit:
            raise ModelFileError(f"{shown} unpacks to {unpacked / 2**20:,.1f} MB, more than this run's weights "
                                 "could take; give the .keras file downloaded with the run.")
        # Its architecture is read as text only, never built: a layer of Python code is named, not run.
        described = archive.read("config.json") if "config.json" in names else b""
    if b'"Lambda"' in described:
        raise ModelFileError(f"{shown} holds Python code that would run when it is loaded (a Lambda layer), and "
                             "RNN Lab loads models only in Keras's safe mode; give the .keras file downloaded with "
                             "the run.")
    model = _text_model(network, dataset) if dataset.vectorizer is not None else network
    try:
        model.load_weights(path)
    except Exception:  # Keras raises ValueError, KeyError, OSError... for weights of another network
        raise ModelFileError(f"{shown} does not belong to this run: its layers have other shapes. Upload the "
                             ".keras file downloaded with the run.") from None
    if dataset.vectorizer is not None:
        from rnnlab.data.vocabulary import Vocabulary  # start-up time: the vocabulary imports Keras's text layer

        return SavedModel(model=model.get_layer(NETWORK_LAYER), vocabulary=Vocabulary(model.get_layer(
            VOCABULARY_LAYER)), path=path)
    return SavedModel(model=model, path=path)
