"""How long each cell takes to train the race's task, over several rounds: the figures lesson 4 states as ranges.

    python benchmarks/bench_cell_speed.py            # 4 rounds, 3 epochs each: about 3 minutes on two cores
    python benchmarks/bench_cell_speed.py 6 3        # rounds, epochs per run

The race (Gradients through time) and lesson 4 train the adding problem at T = 50 (6,000 sequences, 32 units,
batch 64). A single race on a shared machine showed the GRU at 42.3 s against the LSTM's 13.1 s (3.2x), where the
lesson had said "1.25 to 1.95 times": one round decides nothing when the machine is shared. Here every round trains
the three cells one after another with bare `model.fit` (timed as the trainer times itself: training batches of
epochs 2..N, see timing.py), and the report gives, per cell, the range of seconds per epoch and of a 10-epoch run,
and the range of the GRU's time over the LSTM's within a round.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnlab.config import from_link  # noqa: E402
from rnnlab.data import make_dataset  # noqa: E402
from rnnlab.models import build_model  # noqa: E402
from timing import EpochTimer  # noqa: E402

CELLS = ("simplernn", "lstm", "gru")


def epoch_seconds(cell: str, data, epochs: int) -> float:
    """Median seconds of training batches per epoch over epochs 2..N (the first traces the graph)."""
    config = from_link(f"task=adding&cell={cell}")
    model = build_model(config, data)
    timer = EpochTimer()
    model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=epochs,
              validation_data=(data.x_val, data.y_val), callbacks=[timer], verbose=0)
    return statistics.median(timer.seconds[1:])


def main(rounds: int = 4, epochs: int = 3) -> None:
    config = from_link("task=adding")
    data = make_dataset(config)
    print(f"Adding problem, T={config.seq_len}, {config.samples:,} sequences, {config.units} units, batch "
          f"{config.batch_size}; {rounds} rounds, each cell {epochs} epochs per round (epochs 2..{epochs} timed)")
    seconds: dict[str, list[float]] = {cell: [] for cell in CELLS}
    started = time.perf_counter()
    for index in range(rounds):
        for cell in CELLS:
            seconds[cell].append(epoch_seconds(cell, data, epochs))
        print(f"  round {index + 1}: " + ", ".join(f"{cell} {seconds[cell][-1]:.2f} s/epoch" for cell in CELLS),
              flush=True)
    for cell in CELLS:
        low, high = min(seconds[cell]), max(seconds[cell])
        print(f"  {cell:9s} {low:.2f} to {high:.2f} s per epoch, so {10 * low:.0f} to {10 * high:.0f} s for 10 "
              "epochs of training batches")
    ratios = [gru / lstm for gru, lstm in zip(seconds["gru"], seconds["lstm"])]
    print(f"  GRU over LSTM within a round: {min(ratios):.2f} to {max(ratios):.2f} times "
          f"(median {statistics.median(ratios):.2f})")
    print(f"  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main(*(int(value) for value in sys.argv[1:3]))
