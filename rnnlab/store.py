"""The run store: every learner's runs, saved as they train, in one SQLite file that needs nothing installed.

Runs used to live in a browser tab's session: a reload or a restart lost them. Here every run is kept under
`RNNLAB_HOME` (default `~/.rnnlab`), created on first use:

- `runs.db`, a SQLite database in WAL mode (many readers, one writer at a time, nobody waits long): learners,
  classes, runs, one row per finished epoch, and the learners' predictions;
- `models/<run id>.keras`, each run's final weights as a Keras file.

A run is written incrementally: its row when it starts, one `epochs` row at each epoch end (that epoch's history
values, timing, batch losses and probes, the probes as raw float32 arrays), and its row again when it ends. Saving an
epoch therefore costs the same at epoch 1 and epoch 100, instead of rewriting a record that grows with every epoch
(`benchmarks/bench_store.py` measures it).

Learners and classes are identified by unguessable tokens (`secrets.token_urlsafe`), carried in the links the app
writes. A class has two: one for learners to join, one for the teacher's view; neither can be derived from the other.

    store = Store()                                  # RNNLAB_HOME, created on first use
    learner = store.new_learner("Ada")
    store.save_run(learner.token, record)            # at start, and again whenever the record changes state
    store.save_epoch(record)                         # at each epoch end
    store.runs(learner.token)                        # [RunRecord, ...], oldest first, probes included
    store.mark_interrupted()                         # at server start: runs that were training are "interrupted"

Every public method opens its own short transaction on a connection owned by the calling thread, so the web
server's threads (one per learner) and the training engine's event thread can all use one `Store`.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlab import settings
from rnnlab.records import INTERRUPTED_MESSAGE, RunRecord, Status

DB_NAME = "runs.db"
MODELS_DIR = "models"
TOKEN_BYTES = 16  # 128 bits from the operating system's random source: not guessable, not enumerable
# Writers wait this long for another writer's transaction to end before giving up (WAL keeps those short).
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    class_id      TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    join_token    TEXT NOT NULL UNIQUE,
    teacher_token TEXT NOT NULL UNIQUE,
    preset        TEXT NOT NULL DEFAULT '',
    created       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS learners (
    token    TEXT PRIMARY KEY,
    name     TEXT NOT NULL DEFAULT '',
    class_id TEXT REFERENCES classes(class_id),
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id   TEXT PRIMARY KEY,
    learner  TEXT NOT NULL REFERENCES learners(token),
    class_id TEXT,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    status   TEXT NOT NULL,
    task     TEXT NOT NULL,
    record   TEXT NOT NULL,   -- the record's JSON without its per-epoch lists (those are in epochs)
    init     BLOB,            -- the probes recorded before training
    deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS uploads (
    learner  TEXT NOT NULL REFERENCES learners(token),
    name     TEXT NOT NULL,   -- the upload's name (rnnlab.data.files.save_upload), what a file field stores
    bytes    INTEGER NOT NULL,
    created  REAL NOT NULL,
    PRIMARY KEY (learner, name)
);
CREATE INDEX IF NOT EXISTS runs_by_learner ON runs(learner, created);
CREATE INDEX IF NOT EXISTS runs_by_class ON runs(class_id, task);
CREATE TABLE IF NOT EXISTS epochs (
    run_id  TEXT NOT NULL REFERENCES runs(run_id),
    epoch   INTEGER NOT NULL,  -- 1-based
    values_ TEXT NOT NULL,     -- {history key: value} for this epoch, its seconds, its batch points, its sample
    probes  BLOB,              -- gradient norms and gates recorded after this epoch
    PRIMARY KEY (run_id, epoch)
);
CREATE TABLE IF NOT EXISTS predictions (
    learner  TEXT NOT NULL REFERENCES learners(token),
    lesson   TEXT NOT NULL,
    question TEXT NOT NULL,
    answer   TEXT NOT NULL,
    correct  INTEGER,          -- NULL until the run that decides it has ended
    run_id   TEXT,
    created  REAL NOT NULL,
    PRIMARY KEY (learner, lesson, question)
);
CREATE TABLE IF NOT EXISTS sweeps (  -- issue 21.3: a class's (or a learner's own) grid of configurations
    sweep_id TEXT PRIMARY KEY,
    class_id TEXT REFERENCES classes(class_id),
    owner    TEXT REFERENCES learners(token),  -- a learner's own sweep
    spec     TEXT NOT NULL,    -- rnnlab.sweep.Sweep.spec(): the base preset, the swept settings, seeds per cell
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_slots (  -- who was handed which slot (grid cell and seed) of a sweep
    sweep_id TEXT NOT NULL REFERENCES sweeps(sweep_id),
    slot     INTEGER NOT NULL,
    learner  TEXT NOT NULL REFERENCES learners(token),
    created  REAL NOT NULL,
    PRIMARY KEY (sweep_id, slot)
);
"""

# Per-epoch lists of a record: they live in `epochs`, one row per epoch, not in the run's own row.
_PER_EPOCH = ("history", "epoch_seconds", "batch_progress", "batch_loss", "grad_norms", "gates", "generated")
_INIT_PROBES = ("grad_norms_at_init", "gates_at_init")
# How long after its last sign of life a run still "running" in the store counts as live for a teacher's view.
STALE_SECONDS = 120.0
# Columns added after the first stores were made: added to an older runs.db when it is opened.
_ADDED_COLUMNS = {"uploaded": "INTEGER NOT NULL DEFAULT 0",  # a run brought back from a file: left out of tallies
                  "deleted_at": "REAL"}  # when it was deleted: it can be restored until `purge` removes it
# A deleted run can be restored for this long; then `purge` removes it and its model file for good.
UNDO_SECONDS = 86_400.0


class StoreError(ValueError):
    """A request the store cannot honour (an unknown link, a run that is not yours); one sentence for the learner."""


@dataclass(frozen=True)
class Learner:
    token: str
    name: str
    class_id: str | None


@dataclass(frozen=True)
class Classroom:
    class_id: str
    title: str
    join_token: str
    teacher_token: str
    preset: str  # a query string that opens in Build & Train for everyone who joins, or ""


@dataclass(frozen=True)
class Prediction:
    learner: str
    lesson: str
    question: str
    answer: str
    correct: bool | None
    run_id: str | None


def home_path() -> str:
    """Where the store lives: `RNNLAB_HOME`, default `~/.rnnlab` (not created here)."""
    return settings.current().home


class Store:
    """All runs of all learners on this server, in `home` (default `RNNLAB_HOME`), created on first use."""

    def __init__(self, home: str | None = None) -> None:
        self.home = os.path.abspath(os.path.expanduser(home or home_path()))
        os.makedirs(os.path.join(self.home, MODELS_DIR), mode=0o700, exist_ok=True)
        self.path = os.path.join(self.home, DB_NAME)
        # Every learner's and teacher's token is in runs.db: only the account serving the app may read it.
        for folder in (self.home, os.path.join(self.home, MODELS_DIR)):
            _restrict(folder, 0o700)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)  # its own transaction: executescript commits as it goes
        known = {row[1] for row in self._read("PRAGMA table_info(runs)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in known:
                self._connection().execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
            _restrict(os.path.join(self.home, name), 0o600)

    # --- Connections ------------------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=True)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; a crash loses no committed row
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
        return connection

    class _Transaction:
        def __init__(self, connection: sqlite3.Connection) -> None:
            self.connection = connection

        def __enter__(self) -> sqlite3.Connection:
            self.connection.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock later
            return self.connection

        def __exit__(self, kind, value, traceback) -> None:
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")

    def _transaction(self) -> "Store._Transaction":
        return Store._Transaction(self._connection())

    def _read(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        return self._connection().execute(sql, parameters).fetchall()

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- Learners and classes ---------------------------------------------------------------------------------

    def new_learner(self, name: str = "", class_id: str | None = None) -> Learner:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._transaction() as db:
            db.execute("INSERT INTO learners (token, name, class_id, created) VALUES (?, ?, ?, ?)",
                       (token, _clean_name(name), class_id, time.time()))
        return Learner(token, _clean_name(name), class_id)

    def learner(self, token: str) -> Learner | None:
        rows = self._read("SELECT token, name, class_id FROM learners WHERE token = ?", (token or "",))
        return Learner(*rows[0]) if rows else None

    def rename(self, token: str, name: str) -> Learner:
        with self._transaction() as db:
            db.execute("UPDATE learners SET name = ? WHERE token = ?", (_clean_name(name), token))
        return self._known(token)

    def new_class(self, title: str) -> Classroom:
        """A class with a join link for learners and a separate, unguessable link for the teacher's view."""
        classroom = Classroom(class_id=secrets.token_hex(8), title=_clean_name(title) or "My class",
                              join_token=secrets.token_urlsafe(TOKEN_BYTES),
                              teacher_token=secrets.token_urlsafe(TOKEN_BYTES), preset="")
        with self._transaction() as db:
            db.execute("INSERT INTO classes (class_id, title, join_token, teacher_token, preset, created) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (classroom.class_id, classroom.title, classroom.join_token,
                                                     classroom.teacher_token, "", time.time()))
        return classroom

    def classroom(self, class_id: str) -> Classroom | None:
        return self._classroom("class_id", class_id)

    def class_by_join(self, join_token: str) -> Classroom | None:
        return self._classroom("join_token", join_token)

    def class_by_teacher(self, teacher_token: str) -> Classroom | None:
        """The class whose teacher's link this is; a join link or a learner's token never opens it."""
        return self._classroom("teacher_token", teacher_token)

    def new_teacher_link(self, teacher_token: str) -> Classroom:
        """Replace the class's teacher token with a new one (the old link stops opening the teacher's view at once),
        e.g. after it was seen on a projector. StoreError if `teacher_token` is not a teacher's link."""
        classroom = self.class_by_teacher(teacher_token)
        if classroom is None:
            raise StoreError("Only the teacher's link can make a new teacher's link.")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._transaction() as db:
            db.execute("UPDATE classes SET teacher_token = ? WHERE class_id = ? AND teacher_token = ?",
                       (token, classroom.class_id, teacher_token))
        return self.class_by_teacher(token)

    def _classroom(self, column: str, token: str) -> Classroom | None:
        rows = self._read(f"SELECT class_id, title, join_token, teacher_token, preset FROM classes "
                          f"WHERE {column} = ?", (token or "",))
        return Classroom(*rows[0]) if rows else None

    def join(self, learner_token: str, join_token: str) -> Classroom:
        """Put a learner in the class of a join link; their runs, past and future, are shared with it."""
        classroom = self.class_by_join(join_token)
        if classroom is None:
            raise StoreError("This class link is not valid (it may be mistyped); ask your teacher for it again.")
        self._known(learner_token)
        with self._transaction() as db:
            db.execute("UPDATE learners SET class_id = ? WHERE token = ?", (classroom.class_id, learner_token))
            db.execute("UPDATE runs SET class_id = ? WHERE learner = ?", (classroom.class_id, learner_token))
        return classroom

    def pin_preset(self, teacher_token: str, query: str) -> Classroom:
        """The preset (a link's query) that opens in Build & Train for everyone who joins; "" removes it."""
        classroom = self.class_by_teacher(teacher_token)
        if classroom is None:
            raise StoreError("Only the teacher's link can pin a preset for the class.")
        with self._transaction() as db:
            db.execute("UPDATE classes SET preset = ? WHERE class_id = ?", (query.lstrip("?"), classroom.class_id))
        return self.class_by_teacher(teacher_token)

    def members(self, class_id: str) -> list[Learner]:
        rows = self._read("SELECT token, name, class_id FROM learners WHERE class_id = ? ORDER BY created",
                          (class_id,))
        return [Learner(*row) for row in rows]

    def _known(self, token: str) -> Learner:
        learner = self.learner(token)
        if learner is None:
            raise StoreError("This learner link is not known on this server; open the app without it to start "
                             "afresh.")
        return learner

    # --- Runs ---------------------------------------------------------------------------------------------------

    def save_run(self, learner_token: str, record: RunRecord) -> None:
        """Write a run's own row (its settings, status, totals and the probes before training), creating it if new.

        Its per-epoch values are written by `save_epoch`; call this when a run starts and whenever its status or
        totals change (it ends, it is stopped).
        """
        learner = self._known(learner_token)
        row = self._run_row(record)
        with self._transaction() as db:
            self._write_run(db, learner, row)

    def _run_row(self, record: RunRecord) -> tuple:
        with record.locked():
            values = record.to_dict()
            init = _pack({name: values.get(name) for name in _INIT_PROBES})
            # Batches after the last whole epoch (a run stopped mid-epoch) belong to no epoch row: keep them here.
            first, _ = _batch_slice(record.batch_progress, record.epochs_done, math.inf)
            tail = {"batch_progress": record.batch_progress[first:],
                    "batch_loss": [_number(value) for value in record.batch_loss[first:]]}
        for name in (*_PER_EPOCH, *_INIT_PROBES, "epochs_done", "steps_done"):
            values.pop(name, None)
        values["tail"] = tail
        return record, json.dumps(values, allow_nan=False), init

    @staticmethod
    def _write_run(db: sqlite3.Connection, learner: Learner, row: tuple) -> None:
        record, values, init = row
        now = time.time()
        owner = db.execute("SELECT learner FROM runs WHERE run_id = ?", (record.run_id,)).fetchone()
        if owner is not None and owner[0] != learner.token:
            raise StoreError("That run belongs to another learner.")
        db.execute(
            "INSERT INTO runs (run_id, learner, class_id, created, updated, status, task, record, init, uploaded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET updated = excluded.updated, "
            "status = excluded.status, record = excluded.record, init = excluded.init",
            (record.run_id, learner.token, learner.class_id, record.created or now, now, record.status,
             record.config.task, values, init, int(bool(getattr(record, "uploaded", False)))))

    def save_uploaded(self, learner_token: str, record: RunRecord) -> None:
        """Write an uploaded run, its row and every epoch, in ONE transaction: all of it is stored, or nothing.
        A deleted run of the same learner with the same id is replaced (the upload brings it back)."""
        learner = self._known(learner_token)
        row = self._run_row(record)
        epochs = [self._epoch_row(record, epoch) for epoch in range(1, record.epochs_done + 1)]
        with self._transaction() as db:
            found = db.execute("SELECT learner, deleted FROM runs WHERE run_id = ?", (record.run_id,)).fetchone()
            if found is not None and (found[0] != learner_token or not found[1]):
                raise StoreError("That run is already stored on this server.")
            if found is not None:  # the learner's own deleted run: the upload takes its place
                db.execute("DELETE FROM epochs WHERE run_id = ?", (record.run_id,))
                db.execute("DELETE FROM runs WHERE run_id = ?", (record.run_id,))
            self._write_run(db, learner, row)
            for epoch, values, probes, _ in epochs:
                db.execute("INSERT INTO epochs (run_id, epoch, values_, probes) VALUES (?, ?, ?, ?)",
                           (record.run_id, epoch, values, probes))

    def save_epoch(self, record: RunRecord, epoch: int | None = None) -> None:
        """Write epoch `epoch` (1-based; default the last finished one) of a run already saved with `save_run`."""
        epoch, values, probes, totals = self._epoch_row(record, epoch)
        with self._transaction() as db:
            found = db.execute("SELECT record FROM runs WHERE run_id = ?", (record.run_id,)).fetchone()
            if found is None:
                raise StoreError(f"Run {record.run_id} was never saved; save_run it first.")
            db.execute("INSERT OR REPLACE INTO epochs (run_id, epoch, values_, probes) VALUES (?, ?, ?, ?)",
                       (record.run_id, epoch, values, probes))
            row = json.loads(found[0])
            row.update(totals)
            row["tail"] = {"batch_progress": [], "batch_loss": []}  # this epoch's rows now hold its batches
            db.execute("UPDATE runs SET updated = ?, status = ?, record = ? WHERE run_id = ?",
                       (time.time(), record.status, json.dumps(row, allow_nan=False), record.run_id))

    @staticmethod
    def _epoch_row(record: RunRecord, epoch: int | None) -> tuple[int, str, bytes | None, dict]:
        with record.locked():
            epoch = epoch or record.epochs_done
            if epoch < 1 or epoch > record.epochs_done:
                raise ValueError(f"Run {record.run_id} has {record.epochs_done} finished epochs, not epoch {epoch}.")
            index = epoch - 1
            per_epoch = record.steps_per_epoch or 0
            first, last = _batch_slice(record.batch_progress, epoch - 1, epoch)
            values = {
                "history": {key: _number(series[index]) for key, series in record.history.items()
                            if index < len(series)},
                "seconds": record.epoch_seconds[index] if index < len(record.epoch_seconds) else None,
                "batch_progress": record.batch_progress[first:last],
                "batch_loss": [_number(value) for value in record.batch_loss[first:last]],
                "generated": record.generated[index] if index < len(getattr(record, "generated", [])) else None,
                "steps_per_epoch": per_epoch,
            }
            probes = _pack({"grad_norms": record.grad_norms[index] if index < len(record.grad_norms) else None,
                            "gates": record.gates[index] if index < len(record.gates) else None})
            totals = {"wall_seconds": record.wall_seconds}
        return epoch, json.dumps(values, allow_nan=False), probes, totals

    def runs(self, learner_token: str, include_probes: bool = True) -> list[RunRecord]:
        """A learner's runs, oldest first, rebuilt from their rows (probes included unless asked not to)."""
        rows = self._read("SELECT run_id FROM runs WHERE learner = ? AND deleted = 0 ORDER BY created",
                          (learner_token,))
        return [self._record(run_id, include_probes) for (run_id,) in rows]

    def run(self, run_id: str, include_probes: bool = True) -> RunRecord | None:
        rows = self._read("SELECT run_id FROM runs WHERE run_id = ?", (run_id,))
        return self._record(run_id, include_probes) if rows else None

    def owner(self, run_id: str) -> str | None:
        rows = self._read("SELECT learner FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def class_runs(self, class_id: str, task: str | None = None,
                   include_probes: bool = False) -> list[tuple[Learner, RunRecord]]:
        """Every run of a class's learners (optionally of one task), with who trained it, oldest first."""
        sql = ("SELECT runs.run_id, learners.token, learners.name, learners.class_id FROM runs JOIN learners "
               "ON runs.learner = learners.token WHERE runs.class_id = ? AND runs.deleted = 0")
        parameters: tuple = (class_id,)
        if task is not None:
            sql += " AND runs.task = ?"
            parameters += (task,)
        rows = self._read(sql + " ORDER BY runs.created", parameters)
        return [(Learner(token, name, learner_class), self._record(run_id, include_probes))
                for run_id, token, name, learner_class in rows]

    def delete_run(self, learner_token: str, run_id: str) -> None:
        """Hide a run (and let it be restored with `restore_run`); only its own learner may."""
        self._set_deleted(learner_token, run_id, 1)

    def restore_run(self, learner_token: str, run_id: str) -> None:
        self._set_deleted(learner_token, run_id, 0)

    def _set_deleted(self, learner_token: str, run_id: str, deleted: int) -> None:
        with self._transaction() as db:
            changed = db.execute("UPDATE runs SET deleted = ?, deleted_at = ? WHERE run_id = ? AND learner = ?",
                                 (deleted, time.time() if deleted else None, run_id, learner_token)).rowcount
        if not changed:
            raise StoreError("There is no such run of yours.")

    # --- What the disk keeps: quotas and the purge ---------------------------------------------------------------

    def active_counts(self, class_id: str | None) -> tuple[int, int]:
        """Runs training or waiting on the whole server, and among `class_id`'s learners (None: learners in no
        class, who share one queue)."""
        everywhere = self._read("SELECT COUNT(*) FROM runs WHERE status IN ('running', 'pending') AND deleted = 0")
        in_class = self._read("SELECT COUNT(*) FROM runs WHERE status IN ('running', 'pending') AND deleted = 0 AND "
                              + ("class_id = ?" if class_id else "class_id IS NULL"),
                              (class_id,) if class_id else ())
        return everywhere[0][0], in_class[0][0]

    def run_count(self, learner_token: str) -> int:
        """Runs a learner keeps (deleted ones that can still be restored count too: they hold their files)."""
        return self._read("SELECT COUNT(*) FROM runs WHERE learner = ?", (learner_token,))[0][0]

    def model_bytes(self, learner_token: str) -> int:
        """Bytes of the model files of a learner's runs."""
        total = 0
        for (run_id,) in self._read("SELECT run_id FROM runs WHERE learner = ?", (learner_token,)):
            try:
                total += os.path.getsize(self.model_path(run_id))
            except (OSError, StoreError):
                continue
        return total

    def record_upload(self, learner_token: str, name: str, size: int) -> None:
        """Count an uploaded file against a learner's upload quota."""
        self._known(learner_token)
        with self._transaction() as db:
            db.execute("INSERT INTO uploads (learner, name, bytes, created) VALUES (?, ?, ?, ?) ON CONFLICT"
                       "(learner, name) DO UPDATE SET created = excluded.created", (learner_token, name, size,
                                                                                  time.time()))

    def upload_bytes(self, learner_token: str) -> int:
        """Bytes of the files a learner has uploaded that are still kept."""
        return self._read("SELECT COALESCE(SUM(bytes), 0) FROM uploads WHERE learner = ?", (learner_token,))[0][0]

    def uploads_in_use(self) -> set[str]:
        """Every file name a run's settings refer to (an upload name, or older runs' full upload paths)."""
        names: set[str] = set()
        for row in self._read("SELECT json_extract(record, '$.config.imdb_csv'), json_extract(record, "
                              "'$.config.imdb_path'), json_extract(record, '$.config.text_file') FROM runs"):
            names.update(os.path.basename(value) for value in row if value)
        return names

    def forget_uploads(self, names: list[str]) -> None:
        """Drop deleted upload files from every learner's upload quota."""
        with self._transaction() as db:
            db.executemany("DELETE FROM uploads WHERE name = ?", [(name,) for name in names])

    def purge(self, undo_seconds: float = UNDO_SECONDS) -> list[str]:
        """Remove for good the runs deleted more than `undo_seconds` ago (no longer restorable): their rows, their
        epochs and their model files. Returns their ids."""
        cutoff = time.time() - undo_seconds
        rows = self._read("SELECT run_id FROM runs WHERE deleted = 1 AND COALESCE(deleted_at, 0) <= ?", (cutoff,))
        gone = [run_id for (run_id,) in rows]
        with self._transaction() as db:
            for run_id in gone:
                db.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
                db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        for run_id in gone:
            try:
                os.remove(self.model_path(run_id))
            except (OSError, StoreError):
                pass
        return gone

    def model_path(self, run_id: str) -> str:
        """Where a run's final weights are kept as a `.keras` file (it exists once the run has ended with weights)."""
        if not run_id or not all(character.isalnum() or character in "-_" for character in run_id):
            raise StoreError(f"{run_id!r} is not a run id.")
        return os.path.join(self.home, MODELS_DIR, f"{run_id}.keras")

    def mark_interrupted(self) -> int:
        """At server start: every run still "running" or "pending" was cut off by a restart. Mark it "interrupted",
        keeping what it had done, and say so in its message (the sentence the engine writes when it closes under a
        run, `records.INTERRUPTED_MESSAGE`). Returns how many were marked."""
        rows = self._read("SELECT run_id, record, status FROM runs WHERE status IN (?, ?)",
                          (Status.RUNNING, Status.PENDING))
        for run_id, values, status in rows:
            row = json.loads(values)
            row["status"] = Status.INTERRUPTED
            row["message"] = INTERRUPTED_MESSAGE
            with self._transaction() as db:
                db.execute("UPDATE runs SET status = ?, record = ?, updated = ? WHERE run_id = ? AND status = ?",
                           (Status.INTERRUPTED, json.dumps(row, allow_nan=False), time.time(), run_id, status))
        return len(rows)

    def counts(self) -> dict[str, int]:
        """Rows per table: learners, classes, runs, epochs, predictions (for tests and the benchmark)."""
        return {table: self._read(f"SELECT COUNT(*) FROM {table}")[0][0]
                for table in ("learners", "classes", "runs", "epochs", "predictions")}

    # --- Predictions (lessons' "predict, then run") ------------------------------------------------------------

    def save_prediction(self, learner_token: str, lesson: str, question: str, answer: str,
                        run_id: str | None = None, correct: bool | None = None) -> None:
        self._known(learner_token)
        with self._transaction() as db:
            db.execute("INSERT INTO predictions (learner, lesson, question, answer, correct, run_id, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(learner, lesson, question) DO UPDATE SET "
                       "answer = excluded.answer, correct = excluded.correct, run_id = excluded.run_id",
                       (learner_token, lesson, question, answer, None if correct is None else int(correct), run_id,
                        time.time()))

    def predictions(self, learner_token: str | None = None, class_id: str | None = None) -> list[Prediction]:
        """One learner's predictions, or a whole class's."""
        if learner_token is not None:
            rows = self._read("SELECT learner, lesson, question, answer, correct, run_id FROM predictions "
                              "WHERE learner = ? ORDER BY created", (learner_token,))
        else:
            rows = self._read("SELECT p.learner, p.lesson, p.question, p.answer, p.correct, p.run_id FROM "
                              "predictions p JOIN learners l ON p.learner = l.token WHERE l.class_id = ? "
                              "ORDER BY p.created", (class_id,))
        return [Prediction(learner, lesson, question, answer, None if correct is None else bool(correct), run_id)
                for learner, lesson, question, answer, correct, run_id in rows]

    # --- Sweeps (issue 21.3; the grid itself is rnnlab.sweep's) ----------------------------------------------------
    # The tables are made with CREATE TABLE IF NOT EXISTS when any store opens, so an older runs.db gains them.

    def new_sweep(self, spec: str, class_id: str | None = None, owner: str | None = None) -> tuple[str, float]:
        """Keep a sweep's spec for a class (or a learner's own); returns its id and time."""
        sweep_id, created = secrets.token_hex(8), time.time()
        with self._transaction() as db:
            db.execute("INSERT INTO sweeps (sweep_id, class_id, owner, spec, created) VALUES (?, ?, ?, ?, ?)",
                       (sweep_id, class_id, owner, spec, created))
        return sweep_id, created

    def newest_sweep(self, class_id: str | None = None, owner: str | None = None) -> tuple | None:
        """(sweep id, spec, class id, owner, created) of a class's newest sweep, or a learner's own newest one."""
        if class_id is not None:
            rows = self._read("SELECT sweep_id, spec, class_id, owner, created FROM sweeps WHERE class_id = ? "
                              "ORDER BY created DESC, rowid DESC LIMIT 1", (class_id,))
        else:
            rows = self._read("SELECT sweep_id, spec, class_id, owner, created FROM sweeps WHERE owner = ? AND "
                              "class_id IS NULL ORDER BY created DESC, rowid DESC LIMIT 1", (owner or "",))
        return rows[0] if rows else None

    def take_sweep_slot(self, sweep_id: str, learner: str, choose=None) -> int:
        """Give `learner` the lowest slot of the sweep no one has (or the one `choose(taken slots, in order)` picks
        among those no one has), in one write transaction (BEGIN IMMEDIATE holds the write lock from the read to the
        insert), so two learners at once never get the same slot."""
        with self._transaction() as db:
            taken = [slot for (slot,) in db.execute("SELECT slot FROM sweep_slots WHERE sweep_id = ? ORDER BY slot",
                                                    (sweep_id,))]
            if choose is not None:
                slot = choose(taken)
            else:
                slot = next((index for index, value in enumerate(taken) if index != value), len(taken))
            db.execute("INSERT INTO sweep_slots (sweep_id, slot, learner, created) VALUES (?, ?, ?, ?)",
                       (sweep_id, slot, learner, time.time()))
        return slot

    def release_sweep_slot(self, sweep_id: str, slot: int) -> None:
        """Give a slot back (its run could not start), so the next learner gets it."""
        with self._transaction() as db:
            db.execute("DELETE FROM sweep_slots WHERE sweep_id = ? AND slot = ?", (sweep_id, slot))

    def sweep_slots(self, sweep_id: str, learner: str | None = None) -> list[tuple[int, str]]:
        """(slot, learner) handed out so far, in the order they were given (one learner's only, if named)."""
        sql = "SELECT slot, learner FROM sweep_slots WHERE sweep_id = ?"
        parameters: tuple = (sweep_id,)
        if learner is not None:
            sql += " AND learner = ?"
            parameters += (learner,)
        return [(slot, who) for slot, who in self._read(sql + " ORDER BY created, slot", parameters)]

    # --- Rebuilding records -------------------------------------------------------------------------------------

    def _record(self, run_id: str, include_probes: bool) -> RunRecord:
        (values, init), = self._read("SELECT record, init FROM runs WHERE run_id = ?", (run_id,))
        row = json.loads(values)
        tail = row.pop("tail", {"batch_progress": [], "batch_loss": []})
        epochs = self._read("SELECT epoch, values_, probes FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        history: dict[str, list] = {}
        seconds, progress, losses, generated, grad_norms, gates = [], [], [], [], [], []
        for epoch, epoch_values, probes in epochs:
            values_ = json.loads(epoch_values)
            for key, value in values_["history"].items():
                history.setdefault(key, []).append(value)
            seconds.append(values_["seconds"])
            progress.extend(values_["batch_progress"])
            losses.extend(values_["batch_loss"])
            if values_.get("generated") is not None:
                generated.append(values_["generated"])
            if include_probes:
                unpacked = _unpack(probes)
                if unpacked.get("grad_norms") is not None:
                    grad_norms.append(unpacked["grad_norms"])
                if unpacked.get("gates") is not None:
                    gates.append(unpacked["gates"])
        progress.extend(tail["batch_progress"])  # a run stopped mid-epoch: the batches after its last whole epoch
        losses.extend(tail["batch_loss"])
        row.update(history=history, epoch_seconds=seconds, batch_progress=progress, batch_loss=losses,
                   grad_norms=grad_norms, gates=gates)
        if generated:
            row["generated"] = generated
        if include_probes:
            row.update(_unpack(init))
        record = RunRecord.from_dict(row)
        return record


def _batch_slice(progress: list[float], start_epoch: int, end_epoch: int) -> tuple[int, int]:
    """Indices of the batch points whose position (in epochs) lies in (start_epoch, end_epoch].

    Positions only grow (the trainer appends them in order; `rnnlab.uploads` refuses a file where they do not), so
    a binary search finds both ends: saving every epoch of a long run costs n log n, not the n² of a scan per epoch
    (150,000 batch points once took 14.5 s)."""
    first = bisect.bisect_right(progress, start_epoch + 1e-9)
    last = bisect.bisect_right(progress, end_epoch + 1e-9) if math.isfinite(end_epoch) else len(progress)
    return first, max(first, last)


def _restrict(path: str, mode: int) -> None:
    """Make `path` readable by its owner only (where the file system lets us)."""
    try:
        os.chmod(path, mode)
    except OSError:
        pass


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _clean_name(name: str) -> str:
    """A display name: one line, at most 40 characters, no markup characters a page would interpret."""
    text = " ".join(str(name or "").split())[:40]
    return "".join(character for character in text if character not in "<>*_`[]#|$\\")


# --- Probes as bytes: nested dicts of float32 arrays, without JSON's cost ---------------------------------------

def _pack(probes: dict[str, Any]) -> bytes | None:
    """Nested dicts whose leaves are arrays (or None) -> the bytes of one .npz, the nesting in the member names."""
    flat: dict[str, np.ndarray] = {}

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if "/" in str(key):
                    raise ValueError(f"Probe key {key!r} contains '/'.")
                walk(f"{prefix}/{key}" if prefix else str(key), item)
            return
        flat[prefix] = np.asarray(value, dtype=np.float32)

    walk("", probes)
    if not flat:
        return None
    buffer = io.BytesIO()
    np.savez(buffer, **flat)
    return buffer.getvalue()


def _unpack(data: bytes | None) -> dict[str, Any]:
    if not data:
        return {}
    nested: dict[str, Any] = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        for name in arrays.files:
            *parents, leaf = name.split("/")
            node = nested
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = arrays[name]
    return nested

