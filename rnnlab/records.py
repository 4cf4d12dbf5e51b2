"""The run record: what one training run was asked to do and what it measured, as plain data.

A `RunRecord` is what the trainer fills in while it runs, what the dashboard polls and draws, and what a learner
downloads. It round-trips through JSON; its `history` has the same keys as Keras's `History.history` (for text
generation `loss`, `perplexity`, `val_loss`, `val_perplexity`, and the JSON also carries the final `val_perplexity`
and the text sampled after each epoch, `generated`).

    record = RunRecord.from_json(path.read_text())
    record.history_frame().to_csv("history.csv")
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rnnlab.config import RunConfig
from rnnlab.data import task_kind  # the registry itself is NumPy only; IMDB and text load on first use



class Status(enum.StrEnum):
    """What a run can be doing; all but the first two are final. Each is the string stored in SQLite and JSON (and
    compares equal to it), so records written before this class read back unchanged."""

    PENDING = "pending"  # submitted, waiting for a worker
    RUNNING = "running"
    FINISHED = "finished"  # every epoch trained
    STOPPED = "stopped"  # the learner (or the engine's closing) stopped it
    DIVERGED = "diverged"  # the loss stopped being a number
    FAILED = "failed"  # the data could not be made, or the worker died
    INTERRUPTED = "interrupted"  # the server restarted while it trained


STATUSES = tuple(status.value for status in Status)

# A run id: 16 hex digits (64 bits: two learners' runs never meet by chance, and nobody guesses one); uploads of
# runs made before these ids were lengthened (8 hex digits) are still read.
RUN_ID_PATTERN = r"^[0-9a-f]{8}(?:[0-9a-f]{8})?$"


def new_run_id() -> str:
    """A fresh run id from the operating system's random source (`RUN_ID_PATTERN`)."""
    return uuid.uuid4().hex[:16]
# The one sentence for a run the server cut off, whether its engine closed under it (a server stopping) or the store
# found it unfinished when the server started again; every page shows this, and the README names the status.
INTERRUPTED_MESSAGE = ("The server stopped before this run ended (a restart, not you); what it had done is kept. "
                       "Train it again to finish it.")


def interrupt(record: "RunRecord") -> None:
    """Mark a run the server cut off: status "interrupted", the one sentence for it."""
    record.status = Status.INTERRUPTED
    record.message = INTERRUPTED_MESSAGE


@dataclass
class RunRecord:
    """One run: its configuration, its curves, its cost, and (optionally) what the probes saw each epoch."""

    config: RunConfig
    run_id: str = field(default_factory=new_run_id)
    name: str = ""
    status: Status = Status.PENDING
    message: str = ""  # why a run stopped early, in a sentence a learner can act on
    params: int = 0
    layers: list[dict] = field(default_factory=list)  # rows of rnnlab.models.layer_table
    baseline_loss: float = math.nan  # validation loss of a model that learned nothing
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch, Keras History keys
    batch_progress: list[float] = field(default_factory=list)  # position of each batch point, in epochs
    batch_loss: list[float] = field(default_factory=list)  # Keras's running mean of the loss within the epoch
    steps_per_epoch: int = 0
    epoch_seconds: list[float] = field(default_factory=list)  # wall time of each epoch's training batches
    wall_seconds: float = 0.0  # whole run, including graph tracing and validation
    samples_per_second: float = math.nan  # training sequences per second over epochs 2..N
    test_loss: float | None = None
    test_accuracy: float | None = None
    # Classifiers: the share of the commonest class and the count of each evaluated set, {"test": [share, count]},
    # what always answering that class would score (issue 18: accuracy is judged against it).
    majority: dict[str, list[float]] = field(default_factory=dict)
    # Probes: recorded on a fixed validation batch before training ("at_init") and after every epoch.
    grad_norms_at_init: dict | None = None
    grad_norms: list[dict] = field(default_factory=list)
    gates_at_init: dict | None = None
    gates: list[dict] = field(default_factory=list)
    # Text generation: a short sample of text after every epoch (same prompt, temperature and seed each time).
    generated: list[str] = field(default_factory=list)
    created: float = 0.0  # Unix time the run started
    uploaded: bool = False  # brought back from a file (`rnnlab.uploads`): a class's tallies leave it out
    # Pause, step, resume (issue 21): a paused run stays "running" (it keeps its worker and its place in the queue).
    paused_since: float = 0.0  # Unix time the run was paused at a batch boundary; 0 while it trains
    paused_seconds: float = 0.0  # time spent paused, left out of wall_seconds, the epochs' times and the time limit
    # Issue 19: wall_seconds when the first batch ended (data, building, the probes at init, tracing, that batch):
    # a one-off cost the pace of the batches after it leaves out (seconds_left).
    first_batch_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.config.label()
        # Written by the training thread, read by the page: see `snapshot`.
        self._lock = threading.Lock()

    # --- Progress, as the trainer writes it and the dashboard reads it ----------------------------------------

    @property
    def epochs_done(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def steps_done(self) -> int:
        """Batches trained so far: the trainer records one loss point per batch."""
        return len(self.batch_loss)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def paused(self) -> bool:
        """True while the run waits, paused, at a batch boundary (its status is still "running")."""
        return bool(self.paused_since) and self.status == Status.RUNNING

    @property
    def is_final(self) -> bool:
        return self.status not in (Status.PENDING, Status.RUNNING)

    @property
    def kind(self) -> str:
        """The task's kind ('regression', 'binary', 'multiclass', 'next_token'): known before the first epoch ends."""
        return task_kind(self.config.task)

    @property
    def is_classification(self) -> bool:
        return self.kind in ("binary", "multiclass")

    def gate_history(self) -> list[dict]:
        """The recorded gate traces: index 0 before training, index k after epoch k; [] if none were recorded."""
        return [] if self.gates_at_init is None else [self.gates_at_init, *self.gates]

    def grad_norm_history(self) -> list[dict]:
        """The recorded gradient norms: index 0 before training, index k after epoch k; [] if none were recorded."""
        return [] if self.grad_norms_at_init is None else [self.grad_norms_at_init, *self.grad_norms]

    def seconds_left(self) -> float | None:
        """Estimated time to finish, from the pace of the batches after the first (None until there is a pace).

        The first batch's time holds the run's one-off start (data, building, tracing: seconds on a busy machine),
        so it is left out: spread over every batch it made "about 199 s left" of a run that took 10 s (issue 19).
        """
        if self.steps_done < 2 or not self.total_steps:
            return None
        elapsed, steps = self.wall_seconds, self.steps_done
        if 0 < self.first_batch_seconds <= elapsed:
            elapsed, steps = elapsed - self.first_batch_seconds, steps - 1
        return max(elapsed / steps * (self.total_steps - self.steps_done), 0.0)

    def locked(self) -> threading.Lock:
        """The lock the trainer holds while it appends a batch or an epoch, so readers see whole updates."""
        return self._lock

    def snapshot(self) -> "RunRecord":
        """A consistent copy for drawing while training goes on in another thread.

        Lists are copied; their items (numbers, probe arrays) are never changed once appended, so they are shared.
        """
        with self._lock:
            copy = dataclasses.replace(self)
            copy.history = {key: list(values) for key, values in self.history.items()}
            for name in ("batch_progress", "batch_loss", "epoch_seconds", "grad_norms", "gates", "layers", "generated"):
                setattr(copy, name, list(getattr(self, name)))
            return copy

    # --- Views ------------------------------------------------------------------------------------------

    def history_frame(self) -> pd.DataFrame:
        """The per-epoch history as a table with an `epoch` column counting from 1."""
        frame = pd.DataFrame({key: pd.Series(values, dtype="float64") for key, values in self.history.items()})
        frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
        return frame

    def final(self, key: str) -> float | None:
        values = self.history.get(key)
        return values[-1] if values else None

    # --- JSON ------------------------------------------------------------------------------------------

    def to_dict(self, include_probes: bool = True) -> dict[str, Any]:
        values = {spec.name: getattr(self, spec.name) for spec in dataclasses.fields(self)}
        values["config"] = self.config.to_dict()
        values["epochs_done"] = self.epochs_done
        values["steps_done"] = self.steps_done
        if "val_perplexity" in self.history:  # text generation: the final value, beside its history
            values["val_perplexity"] = self.final("val_perplexity")
        if not include_probes:
            for name in ("grad_norms_at_init", "grad_norms", "gates_at_init", "gates"):
                values.pop(name)
        return _plain(values)

    def to_json(self, include_probes: bool = True, indent: int | None = None) -> str:
        # NaN and infinity are not JSON; a diverged run's loss is written as null.
        return json.dumps(self.to_dict(include_probes), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, values: dict[str, Any], keep_probes: bool = True) -> "RunRecord":
        names = {spec.name for spec in dataclasses.fields(cls)}
        kept = {name: value for name, value in values.items() if name in names}
        kept["config"] = RunConfig.from_dict(values["config"])
        if kept.get("status") in STATUSES:
            kept["status"] = Status(kept["status"])
        kept["history"] = {key: [math.nan if v is None else float(v) for v in series]
                           for key, series in values.get("history", {}).items()}
        for name in ("baseline_loss", "samples_per_second"):
            if kept.get(name) is None:
                kept[name] = math.nan
        for name in ("grad_norms_at_init", "grad_norms", "gates_at_init", "gates"):
            if name in kept:
                kept[name] = _arrays(kept[name]) if keep_probes else dataclasses.MISSING
        return cls(**{name: value for name, value in kept.items() if value is not dataclasses.MISSING})

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"This is not a run record (not valid JSON: {error.msg}).") from None
        if not isinstance(values, dict) or "config" not in values:
            raise ValueError("This is not a run record: it has no 'config'.")
        return cls.from_dict(values)


def distinct_names(records: list["RunRecord"]) -> dict[str, str]:
    """A name per run (by run id) that tells it apart from every other run in `records`.

    Runs whose names are the same (two LSTMs on one task differing only in the forget bias) get the settings in
    which they differ appended, "LSTM 32 · adding T=50 · forget bias 5"; runs with identical settings get their
    order, "#1", "#2", oldest first. Other runs keep their names.
    """
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(record.name, []).append(record)
    names = {}
    for name, group in groups.items():
        if len(group) == 1:
            names[group[0].run_id] = name
            continue
        differing = [spec.name for spec in dataclasses.fields(RunConfig)
                     if len({record.config.phrase(spec.name) for record in group}) > 1]
        labelled = {}
        for record in group:
            phrases = [record.config.phrase(setting) for setting in differing]
            labelled[record.run_id] = " · ".join([name, *[phrase for phrase in phrases if phrase]])
        counts: dict[str, int] = {}
        for record in sorted(group, key=lambda record: record.created):
            label = labelled[record.run_id]
            if list(labelled.values()).count(label) > 1:
                counts[label] = counts.get(label, 0) + 1
                label = f"{label} #{counts[label]}"
            names[record.run_id] = label
    return names


def _arrays(value: Any) -> Any:
    """Undo `_plain` for probe data: nested dicts whose leaves are lists of numbers become float32 arrays."""
    if isinstance(value, dict):
        return {key: _arrays(item) for key, item in value.items()}
    if isinstance(value, list) and not value:
        return []  # no probes recorded (a run stopped before its first epoch): still a list of epochs
    if isinstance(value, list) and isinstance(value[0], dict):
        return [_arrays(item) for item in value]
    if isinstance(value, list):
        return np.asarray(_nan_for_none(value), dtype=np.float32)
    return value


def _nan_for_none(value: Any) -> Any:
    if isinstance(value, list):
        return [_nan_for_none(item) for item in value]
    return math.nan if value is None else value


def _plain(value: Any) -> Any:
    """Lists, dicts, floats and ints only: NumPy arrays become lists, NaN and infinity become None."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


class TrainerCallback:
    """Subscribe to a run's progress. Each method gets the live record; return quickly, training waits.

    Here, beside the record, and not in `rnnlab.training`: the web server's store listens to its runs
    (`rnnlab.lab.Saver`), and importing the trainer imports TensorFlow, which the web server's first page must not
    wait for before it starts the training engine (issue 19)."""

    def on_train_begin(self, record: RunRecord) -> None:
        pass

    def on_batch_end(self, record: RunRecord) -> None:
        pass

    def on_epoch_end(self, record: RunRecord) -> None:
        pass

    def on_train_end(self, record: RunRecord) -> None:
        pass
