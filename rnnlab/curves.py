"""Curves read as the run trackers read them: a time-weighted moving average, and runs that differ only in their
seed gathered into one mean with a band. NumPy only, so a page and a notebook get the same numbers.

    ema([0.9, 0.5, 0.45, 0.2], weight=0.6)                  # TensorBoard's smoothing of one curve
    ema([0.9, 0.5, 0.2], x=[1, 2, 5], weight=0.6)           # unevenly spaced points: the gap weighs as 3 epochs
    for group in seed_groups(records):                      # runs with one configuration but for their seeds
        curve = group_curve(group, "val_loss", smoothing=0.6)
        curve.mean, curve.band("minmax"), curve.band("stderr"), curve.count

The smoothing is the debiased exponential moving average of TensorBoard's scalar charts, weighted by the spacing of
the points on the x axis as in W&B's "time weighted EMA" (TWEMA, W&B's default): see `ema`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from rnnlab.config import RunConfig
from rnnlab.records import RunRecord, distinct_names

# The bands a group of runs can be drawn with, as the chart's controls name them.
BANDS = {"minmax": "min–max", "stderr": "± standard error"}
# The largest smoothing weight offered: at 1 the average would never move from the first point.
MAX_SMOOTHING = 0.99


def ema(values, x=None, weight: float = 0.0, unit: float = 1.0) -> np.ndarray:
    """The time-weighted, debiased exponential moving average of `values` (at positions `x`, default 1, 2, ...).

    At each finite point i the smoothed value is the weighted mean of the finite points so far,

        s_i = Σ_j a_ij · y_j / Σ_j a_ij,   a_ij = weight ** ((x_i − x_j) / unit),

    computed as W&B's documentation gives TWEMA ("Smooth line plots", docs.wandb.ai/guides/app/features/panels/
    line-plot/smoothing): `last = last · d + y; debias = debias · d + 1; s = last / debias` with the decay
    d = weight ** (Δx / unit) for the step Δx from the previous point, so a gap of three epochs decays as three
    steps of one. On evenly spaced points (Δx = unit) this is exactly TensorBoard's smoothing (its scalar chart's
    `last = last · w + (1 − w) · y; s = last / (1 − w ** n)`, the formula W&B's "EMA - TensorBoard" matches): the
    debiasing keeps the first point at its raw value instead of pulling the curve towards 0. Two differences from
    W&B, on purpose: `weight` is the decay per `unit` of x itself (W&B takes the square root of its slider and
    measures Δx as a share of the chart's x range), so a run's curve does not change when a longer run joins the
    chart. A non-finite value (a diverged epoch) is kept as NaN and left out of the average, as TensorBoard does.
    `weight` 0 returns the raw values unchanged.
    """
    values = np.asarray(values, dtype=np.float64)
    positions = np.arange(1, len(values) + 1, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    if not 0.0 <= weight <= MAX_SMOOTHING:
        raise ValueError(f"The smoothing weight must be between 0 and {MAX_SMOOTHING} (0 is no smoothing); got "
                         f"{weight}.")
    if positions.shape != values.shape:
        raise ValueError(f"There are {len(positions)} x positions for {len(values)} values; give one per value.")
    if len(positions) > 1 and not np.all(np.diff(positions) > 0):
        raise ValueError("The x positions must increase from one point to the next.")
    if unit <= 0:
        raise ValueError(f"The unit of x must be positive; got {unit}.")
    smoothed = np.where(np.isfinite(values), values, np.nan)
    if weight == 0.0:
        return smoothed
    total, norm, last_x = 0.0, 0.0, None
    for index, (position, value) in enumerate(zip(positions, values)):
        if not math.isfinite(value):
            continue
        decay = 0.0 if last_x is None else weight ** ((position - last_x) / unit)
        total = total * decay + value
        norm = norm * decay + 1.0
        smoothed[index] = total / norm
        last_x = position
    return smoothed


def finite_epochs(record: RunRecord, key: str) -> int:
    """How many epochs of `key` a run has from its first: its values up to the first one that is not a number (a
    run that diverged), or all of them."""
    values = np.asarray(record.history.get(key, []), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if bad.size else len(values)


def seed_key(config: RunConfig) -> tuple:
    """What runs of one group share: every setting but the seed (a run's name is not a setting)."""
    return tuple((name, value) for name, value in dataclasses.asdict(config).items() if name != "seed")


def seed_groups(records: list[RunRecord]) -> list[list[RunRecord]]:
    """`records` gathered by every setting but the seed, in the order each group's first run comes."""
    groups: dict[tuple, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(seed_key(record.config), []).append(record)
    return list(groups.values())


def group_names(groups: list[list[RunRecord]]) -> list[str]:
    """A name per group, told apart from the other groups by the settings in which they differ ("LSTM 32 · adding
    T=50 · lr 0.01"): a group's runs may carry names their learners gave them, so the name comes from the settings."""
    shown = [RunRecord(group[0].config.replace(seed=0), run_id=str(index)) for index, group in enumerate(groups)]
    names = distinct_names(shown)
    return [names[str(index)] for index in range(len(groups))]


@dataclasses.dataclass
class GroupCurve:
    """The runs of one group on the epochs they all have: each run's values (smoothed, if asked) and raw values."""

    records: list[RunRecord]  # the runs drawn: those with at least one finite value
    key: str
    epochs: np.ndarray  # (shared,) 1, 2, ..., the last epoch every run has
    values: np.ndarray  # (runs, shared) each run's curve, smoothed by `smoothing`
    raw: np.ndarray  # (runs, shared) the same without smoothing
    smoothing: float
    longest: int  # the most epochs any run of the group has: more than `shared` when the runs' lengths differ

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def shared(self) -> int:
        return len(self.epochs)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=0)

    @property
    def raw_mean(self) -> np.ndarray:
        return self.raw.mean(axis=0)

    @property
    def minimum(self) -> np.ndarray:
        return self.values.min(axis=0)

    @property
    def maximum(self) -> np.ndarray:
        return self.values.max(axis=0)

    @property
    def stderr(self) -> np.ndarray:
        """The standard error of the mean, s / √n with the sample standard deviation s; NaN for a single run."""
        if self.count < 2:
            return np.full(self.shared, np.nan)
        return self.values.std(axis=0, ddof=1) / math.sqrt(self.count)

    def band(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """The band's lower and upper edges: "minmax" the lowest and highest run, "stderr" the mean ± one standard
        error."""
        if kind == "minmax":
            return self.minimum, self.maximum
        if kind == "stderr":
            return self.mean - self.stderr, self.mean + self.stderr
        raise ValueError(f"Unknown band {kind!r}; the bands are: {', '.join(BANDS)}.")


def group_curve(records: list[RunRecord], key: str, smoothing: float = 0.0) -> GroupCurve | None:
    """The group's runs of `key` on the epochs all of them have (None if no run has a finite value).

    Runs of one group can have different lengths (one was stopped, one diverged, one still trains): the mean and
    the band are taken over the epochs every run has, 1 to the shortest run's last finite epoch, so each point is a
    mean of all `count` runs and the curve never jumps where a run drops out; `longest` says how far the longest
    run went. Each run is smoothed on its own before the mean is taken, so the band spans the smoothed curves.
    """
    lengths = [finite_epochs(record, key) for record in records]
    drawn = [(record, length) for record, length in zip(records, lengths) if length]
    if not drawn:
        return None
    shared = min(length for _, length in drawn)
    raw = np.array([np.asarray(record.history[key][:shared], dtype=np.float64) for record, _ in drawn])
    values = np.array([ema(row, weight=smoothing) for row in raw])
    return GroupCurve(records=[record for record, _ in drawn], key=key,
                      epochs=np.arange(1, shared + 1), values=values, raw=raw, smoothing=smoothing,
                      longest=max(length for _, length in drawn))
