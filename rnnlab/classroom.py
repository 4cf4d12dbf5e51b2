"""What a class found: every learner's runs of one task gathered into a table by configuration, the class's answer in
one sentence, and how the class predicted against what it measured. Pure functions over the store's rows, so the
teacher's page and a notebook get the same numbers.

    pairs = store.class_runs(class_id, task="adding")          # [(Learner, RunRecord), ...]
    by_configuration(pairs)                                      # one row per cell/units/layers/direction/length
    explain.class_answer(pairs)                                  # 'At T=50, 7 of 8 LSTM runs ... beat ...'
    prediction_table(store.predictions(class_id=...), lessons)   # per question: answers chosen, right, measured
    shown_rows(by_configuration(pairs))                          # the same rows as the projector's table shows them

Uploaded runs are the uploader's own (anyone can edit a run file), so `counted` leaves them out of everything the
class is told it found.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from rnnlab.config import CELL_TITLES
from rnnlab.pausing import paused_text
from rnnlab.records import RunRecord
from rnnlab.text_safety import markdown_literal

# The settings that make one row of the class's table (the rest, like the seed, vary between learners).
CONFIGURATION = ("cell", "units", "layers", "bidirectional", "seq_len")


@dataclass(frozen=True)
class Configuration:
    cell: str
    units: int
    layers: int
    bidirectional: bool
    seq_len: int

    @classmethod
    def of(cls, record: RunRecord) -> "Configuration":
        return cls(*(getattr(record.config, name) for name in CONFIGURATION))

    def label(self) -> str:
        shape = f"{self.units}×{self.layers}" if self.layers > 1 else f"{self.units}"
        return f"{CELL_TITLES[self.cell]} {shape}{' bi' if self.bidirectional else ''} · T={self.seq_len}"


def uploaded(record: RunRecord) -> bool:
    """Whether a run came in as an uploaded file rather than trained on this server (the store marks it)."""
    return bool(getattr(record, "uploaded", False))


def counted(pairs: list[tuple]) -> list[tuple]:
    """The (learner, record) pairs the class's tallies, table and chart count: every run trained here."""
    return [(learner, record) for learner, record in pairs if not uploaded(record)]


def judged(records: list[RunRecord]) -> list[RunRecord]:
    """The runs whose result can be compared: at least one whole epoch with a finite validation loss."""
    return [record for record in records if record.epochs_done and _finite(record.final("val_loss"))]


def by_configuration(pairs: list[tuple], metric: str | None = None) -> list[dict]:
    """One row per configuration: how many runs (and learners), the best and median of `metric` over runs with a
    result, the median seconds. `metric` defaults to validation accuracy for classifiers, validation loss else."""
    records = [record for _, record in pairs]
    if not records:
        return []
    metric = metric or ("val_accuracy" if records[0].is_classification else "val_loss")
    higher_is_better = metric.endswith("accuracy")
    groups: dict[Configuration, list[tuple]] = {}
    for learner, record in pairs:
        groups.setdefault(Configuration.of(record), []).append((learner, record))
    rows = []
    for configuration, members in sorted(groups.items(), key=lambda item: (item[0].seq_len, item[0].cell,
                                                                             item[0].units, item[0].layers,
                                                                             item[0].bidirectional)):
        values = [record.final(metric) for _, record in members if _finite(record.final(metric))]
        seconds = [record.wall_seconds for _, record in members if record.is_final and record.wall_seconds > 0]
        best = (max(values) if higher_is_better else min(values)) if values else None
        rows.append({
            "configuration": configuration.label(),
            "cell": CELL_TITLES[configuration.cell], "units": configuration.units, "layers": configuration.layers,
            "bidirectional": configuration.bidirectional, "length": configuration.seq_len,
            "runs": len(members), "learners": len({learner.token for learner, _ in members}),
            "with a result": len(values),
            f"best {_metric_name(metric)}": best,
            f"median {_metric_name(metric)}": statistics.median(values) if values else None,
            "median seconds": statistics.median(seconds) if seconds else None,
        })
    return rows


def beats_baseline(record: RunRecord, margin: float = 0.9) -> bool | None:
    """Whether a run's final validation loss is below `margin` × the learned-nothing loss (None: no result yet)."""
    loss = record.final("val_loss")
    if not _finite(loss) or not _finite(record.baseline_loss) or record.baseline_loss <= 0:
        return None
    return loss < margin * record.baseline_loss


@dataclass(frozen=True)
class Tally:
    seq_len: int
    cell: str
    beat: int  # runs below the margin
    judged: int  # runs with a result


def tallies(records: list[RunRecord], margin: float = 0.9) -> list[Tally]:
    """Per sequence length and cell: how many runs with a result beat the learned-nothing loss."""
    counts: dict[tuple[int, str], list[int]] = {}
    for record in records:
        verdict = beats_baseline(record, margin)
        if verdict is None:
            continue
        count = counts.setdefault((record.config.seq_len, record.config.cell), [0, 0])
        count[0] += int(verdict)
        count[1] += 1
    order = {cell: index for index, cell in enumerate(CELL_TITLES)}
    return [Tally(seq_len, cell, beat, total) for (seq_len, cell), (beat, total)
            in sorted(counts.items(), key=lambda item: (item[0][0], order[item[0][1]]))]


def prediction_table(predictions: list, questions: dict[tuple[str, str], str] | None = None) -> list[dict]:
    """Per lesson question: how many learners chose each answer, how many were right once measured."""
    rows: dict[tuple[str, str], dict] = {}
    for prediction in predictions:
        key = (prediction.lesson, prediction.question)
        row = rows.setdefault(key, {"lesson": prediction.lesson,
                                    "question": (questions or {}).get(key, prediction.question),
                                    "answers": {}, "right": 0, "measured": 0})
        row["answers"][prediction.answer] = row["answers"].get(prediction.answer, 0) + 1
        if prediction.correct is not None:
            row["measured"] += 1
            row["right"] += int(prediction.correct)
    return [{**row, "answers": ", ".join(f"{answer}: {count}" for answer, count in sorted(row["answers"].items()))}
            for row in rows.values()]


# How the projector's tables head their columns and write their values (a teacher reads them from the back row).
_HEADERS = {"bidirectional": "both directions", "length": "sequence length", "with a result": "runs with a result"}


def shown_rows(rows: list[dict]) -> list[dict]:
    """`by_configuration`'s rows as the Class page shows them: readable headers, "yes"/"no" for both directions,
    losses and accuracies to 4 decimals (accuracies as percentages), seconds to one decimal, "—" where there is no
    value yet; the configuration's label is left out (its columns say it)."""
    shown = []
    for row in rows:
        out = {}
        for name, value in row.items():
            if name == "configuration":
                continue
            out[_HEADERS.get(name, name)] = _shown_value(name, value)
        shown.append(out)
    return shown


def with_live(pairs: list[tuple], live) -> list[tuple]:
    """The class's runs (learner, stored record), a paused run's record replaced by its live one (`live`: the engine's
    `live(run_id)`), since the store is written once an epoch and is not told of pauses (issue 21)."""
    shown = []
    for learner, record in pairs:
        handle = None if record.is_final else live(record.run_id)
        shown.append((learner, handle.record.snapshot() if handle is not None and handle.paused else record))
    return shown


def status_of(record: RunRecord) -> str:
    """A run's state as the class tables write it: 'paused after epoch 2, batch 17 of 32', else its status."""
    return paused_text(record).replace("Paused", "paused", 1) if record.paused else record.status


def run_rows(pairs: list[tuple], names: dict[str, str], metric: str) -> list[dict]:
    """One row per run for the page's "Every run" table: who (escaped: learners write their names and run names),
    which run, its status ("paused after epoch k, batch b of n" while paused), epochs done and its final `metric`."""
    return [{"learner": markdown_literal(names[learner.token]), "run": markdown_literal(record.name),
             "status": status_of(record), "epochs": record.epochs_done,
             _metric_name(metric): _shown_value(metric, record.final(metric))}
            for learner, record in pairs]


def _shown_value(name: str, value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if name == "bidirectional":
        return "yes" if value else "no"
    if name.endswith("seconds"):
        return f"{value:.1f}"
    if "accuracy" in name:
        return f"{value:.1%}"
    if "loss" in name:
        return f"{value:.4f}"
    return value


def _metric_name(metric: str) -> str:
    return {"val_loss": "validation loss", "val_accuracy": "validation accuracy", "loss": "training loss",
            "accuracy": "training accuracy"}.get(metric, metric)


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)
