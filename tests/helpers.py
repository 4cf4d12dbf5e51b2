"""Small builders the tests share: records made by hand, so every expected word or number follows from them."""

import numpy as np

from rnnlab.config import RunConfig
from rnnlab.records import RunRecord


def fake_record(cell="lstm", first=1e-8, later=(1e-6, 0.2), val_loss=(0.15, 0.01), baseline=0.155, steps=50):
    """A record of an adding run whose bottom-layer curve falls geometrically to `first` (then `later`) at step 1."""
    record = RunRecord(RunConfig(task="adding", cell=cell, seq_len=steps, epochs=len(later)))
    layer = f"{cell}_1"
    record.grad_norms_at_init = {layer: {"forward": np.geomspace(first, 1.0, steps)}}
    record.grad_norms = [{layer: {"forward": np.geomspace(ratio, 1.0, steps)}} for ratio in later]
    record.history = {"loss": list(val_loss), "val_loss": list(val_loss)}
    record.baseline_loss = baseline
    record.status = "finished"
    return record
