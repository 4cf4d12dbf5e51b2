"""What every part of the IMDB data shares: its names, the vocabulary's reserved ids, its errors, the local file.

    from rnnlab.data.imdb.base import ImdbDataError, local_npz_path
    local_npz_path(config)      # config.imdb_path, else RNNLAB_IMDB_PATH (read through rnnlab.settings), else ""

The floors of `rnnlab.data.imdb` stand on this one: `encoding` (a review as ids), `readers` (the sources), `sizes`
(fitting the sizes to a source) and `task` (the registry's task); none of them imports a floor above it.
"""

from __future__ import annotations

from rnnlab import settings
from rnnlab.config import RunConfig
from rnnlab.data import files
from rnnlab.data.base import DataError, DownloadUnavailable

ENV_VAR = "RNNLAB_IMDB_PATH"  # a local imdb.npz to use when the configuration names none


WORD_INDEX_FILE = "imdb_word_index.json"  # Keras caches the word list under this name, next to imdb.npz


CLASS_NAMES = ("negative", "positive")  # label 0, label 1


TITLE = "IMDB sentiment"


DESCRIPTION = ("Read a movie review word by word and say whether it is positive or negative "
               "(IMDB reviews, Maas et al. 2011).")


# Reserved vocabulary entries. Id 0 is padding in every source; the Keras data also reserves 1 for the start of a
# review and 2 for words outside the vocabulary, and `TextVectorization` uses 1 for those.
PAD = ""


START = "[START]"


OOV = "[UNK]"


KERAS_START_ID, KERAS_OOV_ID, KERAS_INDEX_FROM = 1, 2, 3


class ImdbDataError(DataError):
    """The IMDB reviews could not be read or do not fit the request; the message says what to do."""


class ImdbOffline(DownloadUnavailable, ImdbDataError):
    """Keras's IMDB download failed and nothing is cached: a `DownloadUnavailable` that is also an IMDB data error."""


# Where else the reviews can come from, said where the learner reads an offline message.
OFFLINE_WAYS_OUT = {
    "python": f"set imdb_path to a local imdb.npz (or {ENV_VAR}) or imdb_csv to a CSV of raw reviews",
    "cli": f"pass --imdb-path FILE (a local imdb.npz; or set {ENV_VAR}) or --imdb-csv FILE (a CSV of raw reviews)",
    "app": "choose “A local imdb.npz” or “A CSV of raw reviews” above",
}


def shorten(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def shown(path: str) -> str:
    """A data file as messages name it: never the server folder where an upload is kept."""
    return files.display_name(path)


def one_line(error: BaseException) -> str:
    """An exception's message on one line, for quoting inside a sentence."""
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


def local_npz_path(config: RunConfig) -> str:
    """The local imdb.npz `config` names: its `imdb_path` (resolved by `files.resolve`: on the web server an upload's
    name or a file inside the data folder, nothing else), else `RNNLAB_IMDB_PATH` (the server's own: trusted),
    else "" (none)."""
    return files.resolve(config.imdb_path) or settings.current().imdb_path or ""
