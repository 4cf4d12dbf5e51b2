"""Files a learner gives the app: uploads saved on the server, and paths on the server the app may read.

A learner in a browser must never be able to read any file the server can (a "path on this server" box once read
`/etc/hostname`). So the app reads server paths only when the person running the server names a data folder
(`RNNLAB_DATA_DIR`), and then only files inside it; uploads are saved into the app's own folder. The command line
and `import rnnlab` run as the user and read any path they are given: these rules are for the app.

    folder = data_dir()                          # None: server paths are off
    path = server_path("reviews/imdb.npz")       # inside the folder, or DataError with one sentence
    saved = save_upload(data, "my reviews.csv", uploads_dir())
    display_name(saved)                          # 'my_reviews.csv': no server path on screen
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile

from rnnlab import settings
from rnnlab.config import field_info  # config imports nothing of data; keep it that way
from rnnlab.data.base import DataError

DATA_DIR_VAR = "RNNLAB_DATA_DIR"  # the only folder whose files the app reads by path
HOME_VAR = "RNNLAB_HOME"  # where RNN Lab keeps what it saves (default ~/.rnnlab)
_HASH_PREFIX = re.compile(r"^[0-9a-f]{12}-")


def home_path() -> str:
    """RNN Lab's own folder (`RNNLAB_HOME`, default `~/.rnnlab`), absolute; not created."""
    return settings.current().home  # absolute and expanded by the settings


def home_dir() -> str:
    """RNN Lab's own folder, created on first use."""
    folder = home_path()
    os.makedirs(folder, exist_ok=True)
    return folder


_fallback_uploads: str | None = None


def uploads_dir() -> str:
    """Where uploaded files are kept: inside RNN Lab's folder, or a temporary folder if that is not writable."""
    global _fallback_uploads
    folder = os.path.join(home_path(), "uploads")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    if _fallback_uploads is None:
        _fallback_uploads = tempfile.mkdtemp(prefix="rnnlab-uploads-")
    return _fallback_uploads


def is_upload(path: str) -> bool:
    """Whether `path` is a file the app saved from a learner's upload."""
    real = os.path.realpath(os.path.expanduser(path.strip()))
    folders = [os.path.realpath(os.path.join(home_path(), "uploads")), _fallback_uploads]
    return any(folder and os.path.dirname(real) == os.path.realpath(folder) for folder in folders)


def data_dir() -> str | None:
    """The folder named by `RNNLAB_DATA_DIR` (absolute, symlinks resolved), or None when server paths are off."""
    folder = settings.current().data_dir
    return os.path.realpath(folder) if folder else None


def server_path(path: str) -> str:
    """`path` (absolute, or relative to the data folder) if it lies inside `RNNLAB_DATA_DIR`; else `DataError`.

    Symbolic links are resolved first, so a link inside the folder cannot point the app at a file outside it.
    """
    folder = data_dir()
    if folder is None:
        raise DataError(f"This server reads no files by path (the person running it can name a data folder with "
                        f"{DATA_DIR_VAR}); upload the file instead.")
    candidate = os.path.realpath(os.path.join(folder, os.path.expanduser(path.strip())))
    if os.path.commonpath([candidate, folder]) != folder:
        raise DataError(f"Only files inside the server's data folder can be read; give a path inside {folder}.")
    return candidate


def file_stamp(path: str) -> tuple[int, int] | None:
    """(modification time in ns, size in bytes) of a file, or None if there is none."""
    try:
        status = os.stat(os.path.expanduser(path.strip()))
    except (OSError, ValueError):
        return None
    return status.st_mtime_ns, status.st_size


def save_upload(data: bytes, name: str, folder: str) -> str:
    """Write an uploaded file into `folder` and return its path; the same content always gets the same path.

    The name keeps the learner's file name (made safe) after a hash of the content, so the run record names a file
    a person recognises, and uploading the same file again does not make a second copy.
    """
    os.makedirs(folder, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name or "upload")).strip("._") or "upload"
    path = os.path.join(folder, f"{hashlib.sha256(data).hexdigest()[:12]}-{stem}")
    if not os.path.exists(path):
        with open(path, "wb") as handle:
            handle.write(data)
    return path


def display_settings(config) -> dict:
    """A configuration's settings as a learner may see them: file settings by the file's own name (`display_name`)."""
    return {name: display_name(value) if field_info(name)["path"] else value
            for name, value in config.to_dict().items()}


def display_name(path: str) -> str:
    """How a data file is named in messages and on screen: an upload by the learner's own file name (never where
    the server keeps it), a file in the data folder by its path inside it, any other path as it was given."""
    path = path.strip()
    if not path:
        return ""
    if is_upload(path):
        return _HASH_PREFIX.sub("", os.path.basename(path))
    folder = data_dir()
    real = os.path.realpath(os.path.expanduser(path))
    if folder and os.path.commonpath([real, folder]) == folder:
        return os.path.relpath(real, folder)
    return path
