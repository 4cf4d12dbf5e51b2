"""An uploaded run file, checked before anything is stored: every way it can be wrong gets one sentence.

A learner may bring back a run they downloaded (`run_….json` from Compare runs). The file is the learner's to
write, so nothing in it is believed until it has been checked against the run's own configuration:

    record = uploads.read_run(data)      # a RunRecord marked `uploaded`, or UploadError with one sentence
    record.name                          # made from its validated configuration, never taken from the file

What is checked: the size (RNNLAB_MAX_UPLOAD_MB), UTF-8 JSON no deeper than `MAX_DEPTH`, a configuration RunConfig
accepts whose file settings name nothing but this server's uploads, a run id of the app's format, a known status,
finite numbers where numbers belong (a diverged run's missing losses are null), at most `epochs` epochs, at most
epochs × steps-per-epoch batch points whose positions only grow, and probes and samples of bounded size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from rnnlab import settings
from rnnlab.config import RunConfig, field_info
from rnnlab.data import files
from rnnlab.records import RUN_ID_PATTERN, STATUSES, RunRecord

# JSON nested deeper than a run file ever is (probes: list of epochs > layer > direction > values) is refused.
MAX_DEPTH = 8
MAX_TEXT = 2_000  # characters of a message or a generated sample
MAX_PROBE_NUMBERS = 5_000_000  # every probe value of the file together
MAX_LAYER_ROWS = 64
NUMBER_KEYS = ("params", "steps_per_epoch", "baseline_loss", "wall_seconds", "samples_per_second", "test_loss",
               "test_accuracy", "created")
PROBES = ("grad_norms_at_init", "grad_norms", "gates_at_init", "gates")


class UploadError(ValueError):
    """An uploaded file that cannot become a run; one sentence saying what is wrong. Nothing stored is touched."""


def read_run(data: bytes) -> RunRecord:
    """The run in an uploaded run file, checked (see the module's docstring); `UploadError` with one sentence."""
    limit = int(settings.current().max_upload_mb * settings.MB)
    if len(data) > limit:
        raise UploadError(f"The run file is {len(data) / settings.MB:,.1f} MB; at most {limit / settings.MB:,.0f} MB "
                          "can be uploaded.")
    try:
        values = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UploadError:
        raise
    except RecursionError:
        raise UploadError(f"That run file is nested deeper than a run ever is; upload a run downloaded from "
                          "Compare runs (run_….json).") from None
    except (UnicodeDecodeError, ValueError):
        raise UploadError("That file is not a run: it is not JSON. Upload a run downloaded from Compare runs "
                          "(run_….json).") from None
    _check_depth(values)
    if not isinstance(values, dict) or not isinstance(values.get("config"), dict) \
            or not isinstance(values.get("history"), dict):
        raise UploadError("That JSON is not a run downloaded from RNN Lab: it has no settings and history.")
    return _record(values)


def _no_constant(name: str) -> None:
    raise UploadError(f"That run file holds {name}, which is not a number JSON allows; upload the file as RNN Lab "
                      "wrote it.")


def _check_depth(values: Any) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(values, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UploadError("That run file is nested deeper than a run ever is; upload a run downloaded from "
                              "Compare runs (run_….json).")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))


def _record(values: dict) -> RunRecord:
    config = _config(values["config"])
    run_id = values.get("run_id")
    if not isinstance(run_id, str) or not re.match(RUN_ID_PATTERN, run_id):
        raise UploadError("That run file's run id is not one RNN Lab writes (16 hexadecimal digits); upload the file "
                          "as RNN Lab wrote it.")
    status = values.get("status", "finished")
    if status not in STATUSES:
        raise UploadError(f"That run file's status is not one a run can have ({', '.join(STATUSES)}).")
    steps = math.ceil(config.samples / config.batch_size)
    history = _history(values["history"], config.epochs)
    done = len(history.get("loss", []))
    kept: dict[str, Any] = {"config": config.to_dict(), "run_id": run_id, "status": status, "history": history}
    for key in NUMBER_KEYS:
        if values.get(key) is not None:
            kept[key] = _finite(values[key], key)
    if kept.get("steps_per_epoch", 0) > steps or kept.get("steps_per_epoch", 0) < 0:
        raise UploadError(f"That run file says {kept['steps_per_epoch']:,.0f} batches per epoch; its settings make "
                          f"{steps:,}.")
    seconds = _list(values.get("epoch_seconds", []), "epoch_seconds", done)
    kept["epoch_seconds"] = [_finite(value, "epoch_seconds") for value in seconds]
    progress = _list(values.get("batch_progress", []), "batch_progress", config.epochs * steps)
    losses = _list(values.get("batch_loss", []), "batch_loss", config.epochs * steps)
    if len(progress) != len(losses):
        raise UploadError("That run file has batch positions and batch losses of different lengths.")
    kept["batch_progress"] = [_finite(value, "batch_progress") for value in progress]
    if any(later < earlier for earlier, later in zip(kept["batch_progress"], kept["batch_progress"][1:])) or \
            any(position < 0 or position > config.epochs + 1e-6 for position in kept["batch_progress"][:1] +
                kept["batch_progress"][-1:]):
        raise UploadError("That run file's batch positions do not run forward through its epochs.")
    kept["batch_loss"] = [None if value is None else _finite(value, "batch_loss") for value in losses]
    kept["message"] = _text(values.get("message", ""), "message")
    kept["generated"] = [_text(value, "generated") for value in _list(values.get("generated", []), "generated",
                                                                        done)]
    rows = _list(values.get("layers", []), "layers", MAX_LAYER_ROWS)
    kept["layers"] = [_layer_row(row) for row in rows]
    budget = [MAX_PROBE_NUMBERS]
    for key in PROBES:
        if values.get(key) is None:
            continue
        if key in ("grad_norms", "gates"):
            kept[key] = [_probe(item, key, budget) for item in _list(values[key], key, done)]
        else:
            kept[key] = _probe(values[key], key, budget)
    try:
        record = RunRecord.from_dict(kept)
    except (ValueError, TypeError, KeyError) as error:
        raise UploadError(f"That run file could not be read: {' '.join(str(error).split())[:200]}") from None
    record.name = config.label()  # never the file's: a name is drawn on other learners' and the teacher's screens
    record.uploaded = True
    if record.status in ("running", "pending"):
        record.status = "interrupted"
        record.message = "This run was still training when it was downloaded."
    return record


def _config(values: dict) -> RunConfig:
    try:
        config = RunConfig.from_dict(values)
    except (ValueError, TypeError, KeyError) as error:
        raise UploadError(f"That run file could not be read: {' '.join(str(error).split())[:200]}") from None
    changes = {}
    for name in ("imdb_csv", "imdb_path", "text_file"):
        value = getattr(config, name).strip()
        if not value:
            continue
        path = files.resolve_upload(value)  # an upload kept here (an older file names it by its full path)
        if path is None:
            raise UploadError(f"That run read a data file this server does not have ({field_info(name)['label']}); "
                              "upload the data file on its page first, then the run.")
        changes[name] = files.os.path.basename(path)
    return config.replace(**changes) if changes else config


def _history(values: dict, epochs: int) -> dict[str, list]:
    if len(values) > 16:
        raise UploadError("That run file's history has more series than a run records.")
    history = {}
    for key, series in values.items():
        if not isinstance(key, str) or len(key) > 40 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UploadError("That run file's history has a series whose name RNN Lab never writes.")
        history[key] = [None if value is None else _finite(value, f"history {key}")
                        for value in _list(series, f"history {key}", epochs)]
    return history


def _list(value: Any, name: str, most: int) -> list:
    if not isinstance(value, list):
        raise UploadError(f"That run file's {name} is not a list.")
    if len(value) > most:
        raise UploadError(f"That run file has {len(value):,} values of {name}; its settings allow at most "
                          f"{most:,}.")
    return value


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UploadError(f"That run file's {name} holds {str(value)[:20]!r} where a finite number belongs.")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise UploadError(f"That run file's {name} is not text.")
    return value[:MAX_TEXT]


def _layer_row(row: Any) -> dict:
    if not isinstance(row, dict) or len(row) > 16:
        raise UploadError("That run file's layer table is not one RNN Lab writes.")
    clean = {}
    for key, value in row.items():
        if not isinstance(value, (str, int, float, bool, type(None))) or (isinstance(value, float) and
                                                                          not math.isfinite(value)):
            raise UploadError("That run file's layer table holds something other than text and numbers.")
        clean[str(key)[:40]] = value[:80] if isinstance(value, str) else value
    return clean


def _probe(value: Any, name: str, budget: list[int]) -> Any:
    """Nested dicts whose leaves are lists of numbers (or nulls, lists of lists): at most the numbers left in
    `budget` across the whole file."""
    if isinstance(value, dict):
        if len(value) > 64:
            raise UploadError(f"That run file's {name} has more entries than a network's layers.")
        return {str(key)[:64]: _probe(item, name, budget) for key, item in value.items()}
    if isinstance(value, list):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise UploadError(f"That run file's probes hold more than {MAX_PROBE_NUMBERS:,} values.")
        return [_probe(item, name, budget) if isinstance(item, (list, dict)) else
                None if item is None else _finite(item, name) for item in value]
    if value is None:
        return None
    return _finite(value, name)
