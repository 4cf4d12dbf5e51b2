"""The ground floor: every `RNNLAB_*` environment variable, read in one place with one parser.

Nothing in `rnnlab/` reads the environment for a setting of its own: it asks here, and this module imports nothing
of the package, so every floor above can use it without a circle (Dask's `dask.config` is the model).

    from rnnlab import settings
    current = settings.current()          # read now (tests and teachers change the environment between calls)
    current.workers, current.max_run_mb   # None where the default applies
    settings.describe()                   # [(variable, what it sets, default), ...] for the README and the CLI

A bad value raises `SettingsError` (a `ValueError`) whose sentence names the variable, the value and what it takes:
"RNNLAB_WORKERS must be a whole number of 0 or more, not 'three'."
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

# Sizes as the budget, the engine and the limits count them.
MB = 1024 * 1024
GB = 1024 * MB


class SettingsError(ValueError):
    """An `RNNLAB_*` variable with a value that cannot be used; one sentence naming it and what it takes."""


def _setting(variable: str, kind: str, meaning: str, default: Any = None, *, low: float | None = None) -> Any:
    """A field read from `variable`: `kind` is "count" (a whole number), "number", "text" or "path";
    `low` is the smallest allowed value of a count or number. `default` applies when the variable is unset or
    empty; None means "the reader's own rule" (for example the worker count, from the cores)."""
    return field(default=default, metadata={"variable": variable, "kind": kind, "meaning": meaning, "low": low})


@dataclass(frozen=True)
class Settings:
    """What the person running RNN Lab set in the environment. None: unset, so the reader's own default applies."""

    # Where things are kept, and what the app may read.
    home: str = _setting("RNNLAB_HOME", "path", "where runs, models, classes and uploads are kept", "~/.rnnlab")
    data_dir: str | None = _setting("RNNLAB_DATA_DIR", "path",
                                    "a folder whose files the IMDB and Next word pages may read by name; without "
                                    "it, server paths are off and learners upload files instead")
    imdb_path: str | None = _setting("RNNLAB_IMDB_PATH", "path", "a local Keras-layout imdb.npz for the IMDB page")
    # Where runs train.
    workers: int | None = _setting("RNNLAB_WORKERS", "count",
                                   "local training workers; 0 trains on threads of the web server", low=0)
    scheduler: str | None = _setting("RNNLAB_SCHEDULER", "text",
                                     "the address of an existing Dask cluster to train on, e.g. tcp://host:8786")
    worker_memory_mb: int | None = _setting("RNNLAB_WORKER_MEMORY_MB", "count",
                                            "each local worker's memory limit, in MB", low=1)
    worker_tf_threads: int | None = _setting("RNNLAB_WORKER_TF_THREADS", "count",
                                             "TensorFlow's threads in each worker", low=1)
    # What one run may cost.
    max_run_mb: float | None = _setting("RNNLAB_MAX_RUN_MB", "number",
                                        "the most memory a run may need, in MB (estimated before it starts)",
                                        low=1)
    # The pages.
    poll_seconds: float = _setting("RNNLAB_POLL_SECONDS", "number", "how often a page redraws a run that is training",
                                   1.0, low=0.05)
    # Limits a served class needs (issue 17)
    confined: int = _setting("RNNLAB_CONFINED", "count",
                             "1: file settings read only uploads and the data folder (the web server sets it for "
                             "itself and its workers)", 0, low=0)
    max_run_minutes: float = _setting("RNNLAB_MAX_RUN_MINUTES", "number",
                                      "the longest a run may train, in minutes (estimated before it starts, and "
                                      "the run is ended when it passes it)", 30.0, low=0.01)
    max_queue: int = _setting("RNNLAB_MAX_QUEUE", "count", "runs training or waiting on the whole server", 24, low=1)
    max_class_queue: int = _setting("RNNLAB_MAX_CLASS_QUEUE", "count",
                                    "runs training or waiting for one class, or for all learners in no class", 12,
                                    low=1)
    max_upload_mb: float = _setting("RNNLAB_MAX_UPLOAD_MB", "number",
                                    "the largest file a learner may upload, in MB (match server.maxUploadSize)", 50.0,
                                    low=0.01)
    max_unpacked_mb: float = _setting("RNNLAB_MAX_UNPACKED_MB", "number",
                                      "the most a data file (a CSV, compressed or not, or a text) may hold once "
                                      "unpacked, in MB", 100.0, low=0.01)
    max_csv_rows: int = _setting("RNNLAB_MAX_CSV_ROWS", "count", "the most rows a reviews CSV may have", 100_000,
                                 low=1)
    max_learner_runs: int = _setting("RNNLAB_MAX_LEARNER_RUNS", "count", "runs one learner may keep", 200, low=1)
    max_learner_model_mb: float = _setting("RNNLAB_MAX_LEARNER_MODEL_MB", "number",
                                           "model files one learner may keep, in MB", 500.0, low=0.01)
    max_learner_upload_mb: float = _setting("RNNLAB_MAX_LEARNER_UPLOAD_MB", "number",
                                            "uploaded files one learner's runs may use, in MB", 200.0, low=0.01)
    # Pause, step, resume (issue 21)
    max_pause_minutes: float = _setting("RNNLAB_MAX_PAUSE_MINUTES", "number",
                                        "the longest a run may stay paused, in minutes, before it is stopped (a "
                                        "paused run keeps its worker)", 10.0, low=0.01)

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, str) and spec.metadata["kind"] == "path":
                object.__setattr__(self, spec.name, os.path.abspath(os.path.expanduser(value)))


def current(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as `environ` (default: this process's environment) gives them now."""
    environ = os.environ if environ is None else environ
    values = {}
    for spec in dataclasses.fields(Settings):
        text = environ.get(spec.metadata["variable"], "").strip()
        if text:
            values[spec.name] = parse(spec.metadata["variable"], text, spec.metadata["kind"], spec.metadata["low"])
    return Settings(**values)


def parse(variable: str, text: str, kind: str, low: float | None = None) -> Any:
    """`text` as a value of `kind` ("count", "number", "text", "path"); `SettingsError` with one sentence if not."""
    if kind in ("text", "path"):
        return text
    wanted = "a whole number" if kind == "count" else "a number"
    if low is not None:
        wanted += f" of {low:g} or more"
    try:
        value = int(text) if kind == "count" else float(text)
    except ValueError:
        raise SettingsError(f"{variable} must be {wanted}, not {text!r}.") from None
    if not math.isfinite(value) or (low is not None and value < low):
        raise SettingsError(f"{variable} must be {wanted}, not {text!r}.")
    return value


def describe() -> list[tuple[str, str, Any]]:
    """(variable, what it sets, default or None) for every setting, in the order above."""
    return [(spec.metadata["variable"], spec.metadata["meaning"], spec.default) for spec in dataclasses.fields(Settings)]


def default_worker_count() -> int:
    """How many training workers a local cluster starts by default: one more than the cores this process may use.

    Measured on two cores with the app's defaults (benchmarks/bench_learners.py): with two workers the third of
    three learners pressing Train together waited for a whole run (its first point after 7.9-9.3 s, all three done
    after 11.4-13.4 s); with three workers every learner saw a first point within 3.3 s and all three were done
    after 10.3-10.4 s. A learner alone trains as fast either way (first point 1.6-1.7 s).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(cores, 1) + 1
