"""How every benchmark here times bare `model.fit`: the same way the trainer times itself.

The trainer counts, for each epoch, the wall time from the epoch's start to its last training batch (validation
and probes excluded), and reports sequences per second over epochs 2..N with `rnnlab.training.throughput`.
`EpochTimer` records the same seconds for a bare `model.fit`, so the two figures compare like with like.
"""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Per epoch: `seconds` of training batches, and `ends`, the clock when the epoch (validation included) ended."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.ends: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last_batch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self.last_batch - self.started)
        self.ends.append(time.perf_counter())
