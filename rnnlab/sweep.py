"""A sweep: the class as one experiment. A grid over up to three settings on a base preset, a number of seeds per
grid cell, handed out one configuration per learner, and what the runs found, in numbers and in one sentence.

    sweep = Sweep.make("task=adding", [("cell", "simplernn, lstm, gru"), ("seq_len", "10, 25, 50")], seeds=2)
    len(sweep.cells())                # 9 grid cells
    sweep.config(10)      # slot 10: grid cell 10 mod 9 = 1 (SimpleRNN at T = 25), seed base + 1
    sweep.part(10)        # "You are running SimpleRNN at T = 25, seed 1: one of 9 cells of the class's sweep."
    refusal(lab, sweep)               # None, or one sentence naming the configuration that does not fit
    results(sweep, records)           # per grid cell: runs, runs with a result, how many beat learned-nothing, best
    answer(sweep, records)            # 'At T ≥ 50 no SimpleRNN run beat the learned-nothing loss (0 of 2); ...'

Slots are numbered round by round: slots 0 .. n−1 are the n grid cells with the base seed, slots n .. 2n−1 the same
cells with the next seed, and so on, so the first n learners get n different cells and later ones add seeds. The
store hands each slot out once (`Store.take_sweep_slot`, one write transaction); this module only says what a slot
is. A run counts for a grid cell when its settings are the cell's, whatever its seed, and it started after the sweep
was made. "Beat the learned-nothing loss" is the class table's rule (`rnnlab.classroom.beats_baseline`): a final
validation loss below 90% of the loss of a network that always answers the average target.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import threading
from dataclasses import dataclass

from rnnlab.classroom import beats_baseline
from rnnlab.config import CHOICE_TITLES, RunConfig, field_info, from_link
from rnnlab.records import RunRecord, Status

# The settings a sweep may vary (the task and the seed are the sweep's own: one task per sweep, seeds per cell).
AXES = ("cell", "seq_len", "units", "layers", "bidirectional", "learning_rate", "samples", "epochs", "batch_size",
        "dropout", "forget_bias", "optimizer", "activation", "clipnorm")
MAX_AXES = 3
MAX_CELLS = 60  # grid cells: a class of thirty with two seeds each
MAX_SEEDS = 10
# How a setting's value is written in the sentences ("T = 50", "32 units").
_SHORT = {"seq_len": "T = {}", "units": "{} units", "layers": "{} layers", "learning_rate": "learning rate {:g}",
          "samples": "{:,} training sequences", "epochs": "{} epochs", "batch_size": "batch {}",
          "dropout": "dropout {:g}", "forget_bias": "forget bias {:g}", "clipnorm": "clipping at {:g}"}


class SweepError(ValueError):
    """A sweep that cannot be made, in one sentence that says what to change."""


@dataclass(frozen=True)
class Sweep:
    base: str  # the base preset, a link's query ("task=adding&units=16")
    axes: tuple[tuple[str, tuple], ...]  # (setting, its values), in the order the teacher gave them
    seeds: int  # seeds per grid cell the teacher asks for (more are handed out once every slot is taken)
    sweep_id: str = ""
    class_id: str | None = None
    owner: str | None = None  # a learner's own sweep: their token
    created: float = 0.0

    @classmethod
    def make(cls, base: str, axes: list[tuple[str, str]], seeds: int, **where) -> "Sweep":
        """A sweep from a form: the base preset, up to three (setting, "comma, separated values") rows (rows with
        no setting are skipped) and the seeds per cell. SweepError naming what is wrong."""
        base = (base or "").strip().lstrip("?")
        try:
            base_config = from_link(base)
        except ValueError as error:
            raise SweepError(f"The base preset is not a valid link's settings: {error}") from None
        rows = [(name, text) for name, text in axes if name]
        if not rows:
            raise SweepError("Choose at least one setting to sweep over.")
        if len(rows) > MAX_AXES:
            raise SweepError(f"A sweep varies at most {MAX_AXES} settings; choose fewer.")
        names = [name for name, _ in rows]
        if len(set(names)) != len(names):
            raise SweepError("Each setting can be swept once; one of them is chosen twice.")
        parsed = []
        for name, text in rows:
            if name not in AXES:
                raise SweepError(f"{name!r} cannot be swept; choose one of: {', '.join(AXES)}.")
            values = []
            for item in (part.strip() for part in str(text).split(",")):
                if not item:
                    continue
                try:
                    value = getattr(RunConfig.from_query({name: item}, base=base_config), name)
                except ValueError as error:
                    raise SweepError(str(error)) from None
                if value not in values:
                    values.append(value)
            if not values:
                raise SweepError(f"Give {field_info(name)['label'].lower()} at least one value, separated by "
                                 "commas.")
            parsed.append((name, tuple(values)))
        if not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
            raise SweepError(f"Seeds per grid cell must be a whole number from 1 to {MAX_SEEDS}.")
        sweep = cls(base=base, axes=tuple(parsed), seeds=seeds, **where)
        count = math.prod(len(values) for _, values in parsed)
        if count > MAX_CELLS:
            raise SweepError(f"This grid has {count} cells, more than a sweep may have ({MAX_CELLS}); give fewer "
                             "values.")
        sweep.cells()  # every combination must be a valid configuration: SweepError naming the one that is not
        return sweep

    # --- Stored as JSON (the store keeps the text; this module reads it) ----------------------------------------

    def spec(self) -> str:
        return json.dumps({"base": self.base, "axes": [[name, list(values)] for name, values in self.axes],
                           "seeds": self.seeds})

    @classmethod
    def from_spec(cls, spec: str, **where) -> "Sweep":
        values = json.loads(spec)
        return cls(base=values["base"], axes=tuple((name, tuple(items)) for name, items in values["axes"]),
                   seeds=int(values["seeds"]), **where)

    # --- The grid -------------------------------------------------------------------------------------------------

    def base_config(self) -> RunConfig:
        return from_link(self.base)

    def cells(self) -> list[RunConfig]:
        """Every grid cell's configuration (with the base seed), the last setting varying fastest."""
        base = self.base_config()
        names = [name for name, _ in self.axes]
        configs = []
        for combination in itertools.product(*(values for _, values in self.axes)):
            changes = dict(zip(names, combination))
            try:
                configs.append(base.replace(**changes))
            except ValueError as error:
                raise SweepError(f"{self.describe(changes)} is not a valid configuration: {error}") from None
        return configs

    @property
    def planned(self) -> int:
        """Slots the teacher asked for: every grid cell once per seed."""
        return len(self.cells()) * self.seeds

    def config(self, slot: int) -> RunConfig:
        """The configuration of slot `slot`: grid cell `slot mod n`, seed base + `slot div n`."""
        cells = self.cells()
        cell = cells[slot % len(cells)]
        return cell.replace(seed=self.base_config().seed + slot // len(cells))

    def settings(self, config: RunConfig) -> dict:
        """The swept settings' values of `config`."""
        return {name: getattr(config, name) for name, _ in self.axes}

    def describe(self, settings: dict) -> str:
        """The swept settings in words: 'GRU at T = 100', 'LSTM, 64 units at T = 50'."""
        parts = [_shown(name, value) for name, value in settings.items() if name != "seq_len"]
        text = ", ".join(parts)
        if "seq_len" in settings:
            length = _shown("seq_len", settings["seq_len"])
            text = f"{text} at {length}" if text else length
        return text

    def part(self, slot: int) -> str:
        """The sentence a learner reads: which part of the experiment their run is (and, past the planned seeds,
        that it is an extra seed and why this cell)."""
        config = self.config(slot)
        cells = len(self.cells())
        whose = "your own sweep" if self.owner and not self.class_id else "the class's sweep"
        if slot >= self.planned:
            return (f"You are running an extra seed: {self.describe(self.settings(config))}, seed {config.seed}. "
                    f"Every one of the {cells} cell{'' if cells == 1 else 's'} of {whose} already has its "
                    f"{self.seeds} planned seed{'' if self.seeds == 1 else 's'}, so you get a cell with the fewest "
                    "runs so far.")
        return (f"You are running {self.describe(self.settings(config))}, seed {config.seed}: one of {cells} "
                f"cell{'' if cells == 1 else 's'} of {whose}.")

    def cell_index(self, record: RunRecord) -> int | None:
        """Which grid cell a run is (its settings but the seed are the cell's), or None."""
        unseeded = record.config.replace(seed=self.base_config().seed)
        for index, cell in enumerate(self.cells()):
            if cell == unseeded:
                return index
        return None

    def length_axis(self) -> str | None:
        """The swept setting the line chart and the answer read as a length: the sequence length if swept, else the
        first numeric one."""
        names = [name for name, _ in self.axes]
        if "seq_len" in names:
            return "seq_len"
        return next((name for name, values in self.axes if all(isinstance(value, (int, float)) and
                                                                  not isinstance(value, bool) for value in values)),
                    None)


def _shown(name: str, value) -> str:
    if name == "cell":
        return CHOICE_TITLES.get(value, str(value))
    if name == "bidirectional":
        return "both directions" if value else "one direction"
    if isinstance(value, str):
        return CHOICE_TITLES.get(value, value)
    return _SHORT.get(name, f"{name} {{}}").format(value)


# --- The gate: every configuration must fit ----------------------------------------------------------------------

def refusal(lab, sweep: Sweep) -> str | None:
    """None if every grid cell fits this server's budget (`Lab.plan`, the gate every run passes), else one sentence
    naming the first configuration that does not and what the budget says about it. The seed changes no cost."""
    for config in sweep.cells():
        _, verdict = lab.plan(config)
        if verdict.level == "refuse":
            return (f"The sweep cannot start: {sweep.describe(sweep.settings(config))} does not fit this server "
                    f"({verdict.sentence.rstrip('.')}).")
    return None


# --- What the runs found ------------------------------------------------------------------------------------------

@dataclass
class CellResult:
    index: int
    settings: dict
    runs: int = 0  # runs of this cell (training, waiting or ended)
    judged: int = 0  # runs with a final validation loss to compare with the learned-nothing loss
    beat: int = 0  # runs below 90% of it
    best: float | None = None  # the best final validation metric
    best_share: float | None = None  # the lowest final validation loss ÷ that run's learned-nothing loss


def metric_of(sweep: Sweep) -> str:
    """The validation metric the sweep reports: accuracy for classifiers, the loss otherwise."""
    from rnnlab.data import task_kind  # start-up time: rnnlab.data imports the task modules

    return "val_accuracy" if task_kind(sweep.base_config().task) in ("binary", "multiclass") else "val_loss"


def members(sweep: Sweep, records: list[RunRecord]) -> list[tuple[int, RunRecord]]:
    """(grid cell, run) for every run that belongs to the sweep: a cell's settings, started after the sweep was made
    (a run still waiting has no start time yet), not uploaded."""
    found = []
    for record in records:
        if getattr(record, "uploaded", False):
            continue
        if record.created and record.created < sweep.created:
            continue
        index = sweep.cell_index(record)
        if index is not None:
            found.append((index, record))
    return found


def results(sweep: Sweep, records: list[RunRecord]) -> list[CellResult]:
    """One result per grid cell, in grid order, from the runs (ignores runs that are not the sweep's)."""
    metric = metric_of(sweep)
    higher = metric.endswith("accuracy")
    cells = [CellResult(index, sweep.settings(config)) for index, config in enumerate(sweep.cells())]
    for index, record in members(sweep, records):
        result = cells[index]
        result.runs += 1
        verdict = beats_baseline(record)
        if verdict is not None:
            result.judged += 1
            result.beat += int(verdict)
            share = record.final("val_loss") / record.baseline_loss
            result.best_share = share if result.best_share is None else min(result.best_share, share)
        value = record.final(metric)
        if record.epochs_done and value is not None and math.isfinite(value):
            if result.best is None or (value > result.best if higher else value < result.best):
                result.best = value
    return cells


def answer(sweep: Sweep, records: list[RunRecord]) -> str:
    """The sweep's answer in one sentence, from the counts: from which length on each group of runs (the swept
    settings other than the length, e.g. the cell) stopped beating the learned-nothing loss, and how the groups that
    did not stop fared at those lengths."""
    cells = results(sweep, records)
    if not any(cell.judged for cell in cells):
        return "No run of the sweep has finished an epoch yet."
    length = sweep.length_axis()
    groups: dict[str, dict] = {}
    for cell in cells:
        rest = {name: value for name, value in cell.settings.items() if name != length}
        key = sweep.describe(rest) if rest else "every"
        at = groups.setdefault(key, {})
        beat, judged = at.get(cell.settings.get(length), (0, 0))
        at[cell.settings.get(length)] = (beat + cell.beat, judged + cell.judged)
    if length is None:
        parts = [f"{beat} of {judged} {name} run{'' if judged == 1 else 's'}"
                 for name, at in groups.items() for beat, judged in [_sum(at.values())] if judged]
        return f"{_and(parts)} beat the learned-nothing loss by more than 10%."
    failing = {}  # group -> the shortest length from which no run of it beat the baseline
    for name, at in groups.items():
        judged_lengths = sorted(value for value, (_, judged) in at.items() if judged)
        start = None
        for value in reversed(judged_lengths):
            if at[value][0] == 0:
                start = value
            else:
                break
        if start is not None:
            failing[name] = start
    unit = _shown(length, "{}") if length == "seq_len" else None

    def at_least(value) -> str:
        return f"T ≥ {value}" if unit else f"{_shown(length, value)} or more"

    if not failing:
        parts = [f"{beat} of {judged} {name} run{'' if judged == 1 else 's'}"
                 for name, at in groups.items() for beat, judged in [_sum(at.values())] if judged]
        longest = max(value for at in groups.values() for value, (_, judged) in at.items() if judged)
        return (f"Every group of runs beat the learned-nothing loss by more than 10% up to the longest setting "
                f"swept ({_shown(length, longest)}): {_and(parts)} did.")
    clauses = []
    for name, start in sorted(failing.items(), key=lambda item: item[1]):
        judged = sum(j for value, (_, j) in groups[name].items() if value >= start)
        clauses.append(f"at {at_least(start)} no {name} run beat the learned-nothing loss (0 of {judged})")
    first = min(failing.values())
    others = []
    for name, at in groups.items():
        if name in failing:
            continue
        beat, judged = _sum(value for length_value, value in at.items() if length_value >= first)
        if judged:
            others.append(f"{beat} of {judged} {name} run{'' if judged == 1 else 's'}")
    sentence = "; ".join(clauses)
    if others:
        sentence += f"; at {at_least(first)}, {_and(others)} did"
    return sentence[0].upper() + sentence[1:] + "."


def _sum(pairs) -> tuple[int, int]:
    beat = judged = 0
    for b, j in pairs:
        beat, judged = beat + b, judged + j
    return beat, judged


# How long the sweep's charts keep showing the runs as they were while nothing starts, pauses or ends: each redraw of
# its three charts costs a projector's browser seconds of its one main thread (issue 19), and runs still training
# move them every epoch.
REDRAW_SECONDS = 15.0


@dataclass(frozen=True)
class Drawn:
    """The runs a sweep's charts were last drawn from, and when: `to_draw` keeps them while no run of the sweep has
    changed state and `REDRAW_SECONDS` have not passed, so the charts are sent again unchanged and the browser
    leaves them as they are (Streamlit redraws a Plotly chart only when its figure changes)."""

    signature: tuple
    at: float
    records: tuple


def to_draw(sweep: Sweep, previous: Drawn | None, records: list[RunRecord], now: float,
            every: float = REDRAW_SECONDS) -> Drawn:
    """What to draw the sweep's charts from now: `previous` while the sweep's runs are in the states they were in
    then (none started, paused, resumed or ended) and less than `every` seconds have passed; else `records`."""
    signature = tuple(sorted((record.run_id, str(record.status), record.paused, record.epochs_done if
                              record.is_final else None) for _, record in members(sweep, records)))
    if previous is not None and previous.signature == signature and 0 <= now - previous.at < every:
        return previous
    return Drawn(signature, now, tuple(records))


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def run_rows(sweep: Sweep, records: list[RunRecord]) -> list[dict]:
    """One row per run of the sweep for the parallel-coordinates chart: its swept settings, its seed, its final
    validation metric and its loss as a share of the learned-nothing loss (None while it has no result)."""
    metric = metric_of(sweep)
    rows = []
    for index, record in members(sweep, records):
        value = record.final(metric)
        loss = record.final("val_loss")
        share = (loss / record.baseline_loss if loss is not None and math.isfinite(loss) and
                 math.isfinite(record.baseline_loss) and record.baseline_loss > 0 else None)
        rows.append({**sweep.settings(record.config), "seed": record.config.seed,
                     "value": value if record.epochs_done and value is not None and math.isfinite(value) else None,
                     "share": share, "grid_cell": index})
    return rows


# --- Handing out and running ---------------------------------------------------------------------------------------

def current(store, class_id: str | None = None, owner: str | None = None) -> Sweep | None:
    """The newest sweep of a class, or a learner's own newest sweep."""
    row = store.newest_sweep(class_id=class_id, owner=owner)
    if row is None:
        return None
    sweep_id, spec, room, who, created = row
    return Sweep.from_spec(spec, sweep_id=sweep_id, class_id=room, owner=who, created=created)


def save(store, sweep: Sweep) -> Sweep:
    """Store a new sweep; returns it with its id and time."""
    sweep_id, created = store.new_sweep(sweep.spec(), class_id=sweep.class_id, owner=sweep.owner)
    return dataclasses.replace(sweep, sweep_id=sweep_id, created=created)


def next_slot(sweep: Sweep, taken: list[int], records: list[RunRecord]) -> int:
    """The slot to hand out next, given the slots `taken`: the lowest free one among the planned (every grid cell
    with each planned seed); once all of those are taken, a further seed of the cell with the fewest runs of the
    sweep in `records` (then the fewest slots handed out, then grid order): its lowest free slot past the planned."""
    used = set(taken)
    free = next((slot for slot in range(sweep.planned) if slot not in used), None)
    if free is not None:
        return free
    count = len(sweep.cells())
    runs = [0] * count
    for index, _ in members(sweep, records):
        runs[index] += 1
    handed = [0] * count
    for slot in taken:
        handed[slot % count] += 1
    cell = min(range(count), key=lambda index: (runs[index], handed[index], index))
    return next(slot for slot in itertools.count(sweep.planned + cell, count) if slot not in used)


def my_run(store, sweep: Sweep, learner: str, new: bool = False) -> int:
    """The slot a learner runs: the one they were given and have not trained yet, else (or when `new`) the next slot
    (`next_slot`: a planned one no one has; past those, an extra seed of the cell with the fewest runs). Atomic in
    the store: two learners at once never get the same slot."""
    if not new:
        given = store.sweep_slots(sweep.sweep_id, learner=learner)
        if given:
            slot = given[-1][0]
            trained = {(record.config) for record in store.runs(learner, include_probes=False)
                       if not record.created or record.created >= sweep.created}
            if sweep.config(slot) not in trained:
                return slot
    records = ([record for _, record in store.class_runs(sweep.class_id)] if sweep.class_id else
               store.runs(sweep.owner, include_probes=False) if sweep.owner else [])
    return store.take_sweep_slot(sweep.sweep_id, learner, choose=lambda taken: next_slot(sweep, taken, records))


_FEEDING = threading.Lock()  # one feeder at a time in this process: two tabs of one learner never overfill the queue
# How long the feeder waits for an ended run's handle to say it is done (it still counts as running while its
# listeners are told) before it queues the next runs anyway; the engines mark it done right after the listeners.
FEED_WAIT_SECONDS = 60.0

logger = logging.getLogger(__name__)


def feed(lab, learner: str, sweep: Sweep) -> tuple[int, str | None]:
    """Queue the next runs of a learner's own sweep on the engine's workers, as many as the learner may have waiting
    (`Lab.start`'s own cap): each one takes the next slot. Returns (runs started now, the sentence of a refusal or
    None). Each run it queues carries a `Feeder`, so when one ends the server queues the next ones itself, with no
    page open; the Class page calls it too (after a restart, or when a refusal held the sweep up)."""
    from rnnlab.lab import MAX_ACTIVE_RUNS, BudgetError  # start-up time: rnnlab.lab imports the engine

    started = 0
    with _FEEDING:
        while True:
            if len(lab.store.sweep_slots(sweep.sweep_id)) >= sweep.planned:
                return started, None
            active = [handle for handle in lab.runs(learner).values() if handle.running]
            if len(active) >= MAX_ACTIVE_RUNS:
                return started, None
            slot = lab.store.take_sweep_slot(sweep.sweep_id, learner)
            try:
                lab.start(learner, [sweep.config(slot)], listeners=(Feeder(lab, learner, sweep),))
            except BudgetError as error:
                lab.store.release_sweep_slot(sweep.sweep_id, slot)
                return started, str(error)
            started += 1


class Feeder:
    """The run-ended listener on every run of a learner's own sweep (the engine calls it in the web server): when a
    run ends, the next runs are queued by `feed`, on a thread of its own (a listener must return quickly and never
    join a run), so the sweep goes on when the learner closes the tab.

    Nothing is fed after a run the server interrupted (it is closing), nor for a sweep the learner has since replaced
    by a newer one."""

    def __init__(self, lab, learner: str, sweep: Sweep) -> None:
        self.lab, self.learner, self.sweep = lab, learner, sweep

    def on_train_end(self, record: RunRecord) -> None:
        if record.status == Status.INTERRUPTED:
            return
        handle = self.lab.engine.live(record.run_id)  # held here: the engine keeps ended handles only while held
        threading.Thread(target=self._next, args=(handle,), name=f"rnnlab-sweep-{self.sweep.sweep_id}",
                         daemon=True).start()

    def _next(self, handle) -> None:
        if handle is not None:
            handle.join(FEED_WAIT_SECONDS)  # until then the ended run still counts among the learner's active runs
        newest = current(self.lab.store, owner=self.learner)
        if newest is None or newest.sweep_id != self.sweep.sweep_id:
            return
        try:
            _, refused = feed(self.lab, self.learner, self.sweep)
        except Exception:  # noqa: BLE001 - a feeder failing must not take the server down; the page feeds again
            logger.exception("the sweep %s could not queue its next runs", self.sweep.sweep_id)
            return
        if refused:
            logger.info("the sweep %s waits: %s", self.sweep.sweep_id, refused)
