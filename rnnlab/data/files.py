"""Files a learner gives the app: uploads saved on the server, and paths on the server the app may read.

A learner in a browser must never be able to read any file the server can (a "path on this server" box once read
`/etc/hostname`). So the app reads server paths only when the person running the server names a data folder
(`RNNLAB_DATA_DIR`), and then only files inside it; uploads are saved into the app's own folder. The command line
and `import rnnlab` run as the user and read any path they are given: these rules are for the app.

    folder = data_dir()                          # None: server paths are off
    path = server_path("reviews/imdb.npz")       # inside the folder, or DataError with one sentence
    saved = save_upload(data, "my reviews.csv", uploads_dir())   # '3f2a…9c01-my_reviews.csv', the upload's name
    display_name(saved)                          # 'my_reviews.csv': no server path on screen
    confine()                                    # the web server: from now on `resolve` reads only what follows
    resolve(saved)                               # the upload's file; a data-folder path; else one refusal sentence
    with open_capped(resolve(saved), 100 * MB) as stream: ...   # decompressed bytes, refused past the cap

A configuration's file fields (`imdb_csv`, `imdb_path`, `text_file`) hold an upload's name (what `save_upload`
returns) or a path inside the data folder, never a server path chosen by a learner: the data layer reads every such
field through `resolve`, so a link, an uploaded run, a pinned preset and a page all meet the same check. Confinement
is an environment variable (`RNNLAB_CONFINED`), so the training workers a confined server starts are confined too.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
import tempfile
import time
import zipfile

from rnnlab import settings
from rnnlab.config import field_info  # config imports nothing of data; keep it that way
from rnnlab.data.base import DataError

DATA_DIR_VAR = "RNNLAB_DATA_DIR"  # the only folder whose files the app reads by path
HOME_VAR = "RNNLAB_HOME"  # where RNN Lab keeps what it saves (default ~/.rnnlab)
CONFINED_VAR = "RNNLAB_CONFINED"  # "1": the web server's rule, only uploads and the data folder are read
_HASH_PREFIX = re.compile(r"^[0-9a-f]{12}-")
UPLOAD_NAME = re.compile(r"^[0-9a-f]{12}-[A-Za-z0-9._-]{1,120}$")  # what `save_upload` names a file
MB = settings.MB
# The one answer to a path a confined server will not read. It never says whether the path exists, is a folder, or
# how big it is: all of those would tell a learner something about the server's disk.
REFUSED = ("This server reads only files uploaded here or inside its data folder; upload the file instead.")
# Folders never read through a field, even inside the data folder (the run store: every learner's token).
_forbidden: set[str] = set()
COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def confine(*forbid: str) -> None:
    """From now on (in this process and the processes it starts) read only uploads and data-folder files through a
    configuration's file fields, never anything under `forbid` (a run store's folder) or RNNLAB_HOME."""
    os.environ[CONFINED_VAR] = "1"
    _forbidden.update(os.path.realpath(folder) for folder in forbid if folder)


def unconfine() -> None:
    """Read any path again, as the command line does (for tests that confine a server and then go on)."""
    os.environ.pop(CONFINED_VAR, None)
    _forbidden.clear()


def confined() -> bool:
    """Whether this process is a served app's (or one of its workers): file fields are confined."""
    return bool(settings.current().confined)


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def resolve(value: str) -> str:
    """The file a configuration's file field names, as an absolute path: "" for an empty field.

    Confined (the web server): an upload's name (what `save_upload` returns), or a regular file inside the data
    folder (a path relative to it, or absolute inside it), or the server's own RNNLAB_IMDB_PATH, and nothing under
    RNNLAB_HOME but the uploads; anything
    else raises `DataError` with the one sentence `REFUSED`, whether or not it exists. Not confined (the command
    line, `import rnnlab`): any path, and an upload's name still finds its upload.
    """
    value = str(value or "").strip()
    if not value:
        return ""
    uploads = [os.path.realpath(folder) for folder in _upload_folders()]
    if UPLOAD_NAME.match(value):
        for folder in uploads:
            if os.path.isfile(os.path.join(folder, value)):
                return os.path.join(folder, value)
    if not confined():
        return os.path.abspath(os.path.expanduser(value))
    if "\x00" in value or len(value) > 1000:
        raise DataError(REFUSED)
    folder = data_dir()
    own = settings.current().imdb_path  # the server's own imdb.npz (RNNLAB_IMDB_PATH): named by whoever runs it
    if own and os.path.isabs(value) and os.path.realpath(value) == os.path.realpath(own):
        return os.path.realpath(own)
    if os.path.isabs(value):
        candidate = os.path.realpath(value)
    elif folder is not None:
        candidate = os.path.realpath(os.path.join(folder, value))
    else:
        raise DataError(REFUSED)
    if os.path.dirname(candidate) in uploads and os.path.isfile(candidate):
        return candidate  # an upload named by its full path (runs saved before uploads were named)
    home = os.path.realpath(home_path())
    forbidden = [home, *_forbidden]
    if folder is None or not _inside(candidate, folder) or any(_inside(candidate, place) for place in forbidden) \
            or not os.path.isfile(candidate):
        raise DataError(REFUSED)
    return candidate


def open_capped(path: str, max_bytes: int, what: str = "The file") -> io.BufferedIOBase:
    """`path` opened for reading bytes, decompressed if it is .gz, .bz2, .xz or a one-file .zip, refusing with one
    sentence (`DataError`) once more than `max_bytes` have come out: a 10 KB archive cannot become 30 GB in memory."""
    lower = path.lower()
    opener = next((open_ for suffix, open_ in COMPRESSED.items() if lower.endswith(suffix)), None)
    if lower.endswith(".zip"):
        archive = zipfile.ZipFile(path)
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            archive.close()
            raise DataError(f"{what} is a zip archive of {len(members)} files; zip exactly one CSV file.")
        raw = archive.open(members[0])
    else:
        raw = opener(path, "rb") if opener else open(path, "rb")
    return _Capped(raw, max_bytes, what)


def read_csv(path: str, what: str, error: type[DataError] = DataError, **options):
    """`pd.read_csv` of `path` (compressed or not) through `open_capped`, at most RNNLAB_MAX_CSV_ROWS rows and
    RNNLAB_MAX_UNPACKED_MB unpacked; past either, `error` with one sentence naming the limit. `what` names the file
    in that sentence ("The reviews CSV my_reviews.csv")."""
    import pandas as pd  # the CSV reader is the data layer's; the rest of this module needs no pandas

    current = settings.current()
    try:
        with open_capped(path, int(current.max_unpacked_mb * MB), what) as stream:
            table = pd.read_csv(io.BufferedReader(stream), nrows=current.max_csv_rows + 1, **options)
    except DataError as refused:
        raise error(str(refused)) from None
    except lzma.LZMAError:
        raise error(f"{what} could not be unpacked (a damaged .xz file); give an intact or uncompressed CSV.") \
            from None
    if len(table) > current.max_csv_rows:
        raise error(f"{what} has more than {current.max_csv_rows:,} rows, more than RNN Lab reads; give a part of "
                    f"it (the limit is {settings.Settings.__dataclass_fields__['max_csv_rows'].metadata['variable']}).")
    return table


class _Capped(io.RawIOBase):
    """A readable stream that raises `DataError` with one sentence after `limit` bytes."""

    def __init__(self, inner, limit: int, what: str) -> None:
        self.inner, self.limit, self.what, self.count = inner, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(min(len(buffer), self.limit + 1 - self.count) or 1)
        self.count += len(data)
        if self.count > self.limit:
            raise DataError(f"{self.what} holds more than {self.limit / MB:,.0f} MB once unpacked, more than RNN "
                            "Lab reads; give a smaller part of it.")
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


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


def _upload_folders() -> list[str]:
    return [folder for folder in (os.path.join(home_path(), "uploads"), _fallback_uploads) if folder]


def is_upload(path: str) -> bool:
    """Whether `path` (an upload's name, or a full path) is a file the app saved from a learner's upload."""
    path = path.strip()
    if UPLOAD_NAME.match(path):
        return any(os.path.isfile(os.path.join(folder, path)) for folder in _upload_folders())
    real = os.path.realpath(os.path.expanduser(path))
    return any(os.path.dirname(real) == os.path.realpath(folder) for folder in _upload_folders())


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
    """(modification time in ns, size in bytes) of the file a field names, or None if there is none (or it may not
    be read here)."""
    try:
        status = os.stat(resolve(path))
    except (OSError, ValueError):
        return None
    return status.st_mtime_ns, status.st_size


def save_upload(data: bytes, name: str, folder: str | None = None) -> str:
    """Write an uploaded file into `folder` (default `uploads_dir()`) and return its upload name, the value a
    configuration's file field stores (`resolve` finds the file again); the same content gets the same name.

    The name keeps the learner's file name (made safe) after a hash of the content, so the run record names a file
    a person recognises, and uploading the same file again does not make a second copy. A file saved into another
    folder is named by its full path (the command line's and the tests' own folders).
    """
    folder = folder or uploads_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name or "upload")).strip("._")[-120:] or "upload"
    upload = f"{hashlib.sha256(data).hexdigest()[:12]}-{stem}"
    path = os.path.join(folder, upload)
    if not os.path.exists(path):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(data)
    else:
        os.utime(path)  # used again: the purge of unused uploads counts from here
    known = [os.path.realpath(place) for place in _upload_folders()]
    return upload if os.path.realpath(folder) in known else path


def upload_bytes(names: list[str]) -> int:
    """How many bytes the uploads `names` take on disk (those still there)."""
    total = 0
    for name in set(names):
        path = resolve_upload(name)
        if path:
            total += os.path.getsize(path)
    return total


def resolve_upload(name: str) -> str | None:
    """The path of the upload `name` (an upload name or a full path into the uploads folder), or None."""
    name = os.path.basename(str(name or "").strip())
    for folder in _upload_folders():
        path = os.path.join(folder, name)
        if UPLOAD_NAME.match(name) and os.path.isfile(path):
            return path
    return None


def purge_uploads(keep: set[str], older_than_seconds: float = 86_400.0) -> list[str]:
    """Delete uploads no run refers to (`keep`: upload names in use) that were last used more than
    `older_than_seconds` ago; returns the names deleted."""
    removed, now = [], time.time()
    keep = {os.path.basename(name) for name in keep}
    for folder in _upload_folders():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            try:
                if entry in keep or not UPLOAD_NAME.match(entry) or now - os.path.getmtime(path) < older_than_seconds:
                    continue
                os.remove(path)
                removed.append(entry)
            except OSError:
                continue
    return removed


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
    if UPLOAD_NAME.match(path) or is_upload(path):
        return _HASH_PREFIX.sub("", os.path.basename(path))
    folder = data_dir()
    real = os.path.realpath(os.path.expanduser(path))
    if folder and os.path.commonpath([real, folder]) == folder:
        return os.path.relpath(real, folder)
    return path
