"""A run record as TensorBoard event files, written with `tf.summary`: what a learner who moves to TensorBoard keeps.

    from rnnlab import tensorboard
    folder = tensorboard.write(record, "logs")      # logs/<run folder>/events.out.tfevents...
    data = tensorboard.zip_logs(record)             # the same, as the bytes of a .zip (Compare runs' download)
    python -m rnnlab train --task adding --tensorboard logs     # then: tensorboard --logdir logs

What is written, with the epoch as the step (step 0: the probes before training):

- `epoch/<key>` scalars for every key of the run's history: `loss`, `val_loss`, `accuracy`, `val_accuracy`
  (classification), `perplexity`, `val_perplexity` (text), one value per epoch (steps 1..N);
- `gradients/<layer>/<direction>`: a histogram of the gradient norms ‖∂L/∂h_t‖ over the time steps of the
  probe batch, and `gradients/<layer>/<direction>/ratio`, the norm at the far end of the sequence over the norm
  where the loss enters (`rnnlab.introspect.gradients.gradient_ratio`: step 1 over step T going forward);
- `gates/<layer>/<direction>/<gate>/shut` and `.../open`: the share of the gate's values on the probe sequence
  below 0.1 and above 0.9 (`rnnlab.introspect.steps.saturation`), and a histogram of its values.

TensorBoard dropped gradient histograms from Keras's own callback; these come from RNN Lab's probes, so they are
there only for runs that recorded them (the dashboard's runs do; the command line's with `--tensorboard`).
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from rnnlab.records import RunRecord

# Below and above these a sigmoid gate counts as shut or open: the same thresholds as Inside the cell.
SHUT, OPEN = 0.1, 0.9


def folder_name(record: RunRecord) -> str:
    """The run's folder under a log directory: its name in plain characters, then its id ('lstm-32-sine-t-30-1a2b')."""
    plain = re.sub(r"[^a-z0-9=.]+", "-", record.name.lower()).strip("-")
    return f"{plain}-{record.run_id}" if plain else record.run_id


def write(record: RunRecord, logdir: str | Path) -> Path:
    """Write `record` as event files under `logdir/folder_name(record)` and return that folder."""
    import tensorflow as tf

    from rnnlab.introspect.gradients import gradient_ratio  # start-up time: introspection imports TensorFlow
    from rnnlab.introspect.steps import saturation  # start-up time: as above

    folder = Path(logdir) / folder_name(record)
    folder.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(folder))
    try:
        with writer.as_default():
            tf.summary.text("run", f"{record.name}: {record.status}. {record.message}".strip(), step=0)
            for key, values in record.history.items():
                for epoch, value in enumerate(values, start=1):
                    tf.summary.scalar(f"epoch/{key}", float(value), step=epoch)
            for step, norms in enumerate(record.grad_norm_history()):
                for layer, by_direction in (norms or {}).items():
                    for direction, values in by_direction.items():
                        values = np.asarray(values, dtype=np.float64)
                        tag = f"gradients/{layer}/{direction}"
                        tf.summary.histogram(tag, values, step=step,
                                             description="‖∂L/∂h_t‖ at each time step of the probe batch")
                        tf.summary.scalar(f"{tag}/ratio", gradient_ratio(values, direction), step=step,
                                          description="‖∂L/∂h‖ at the far end of the sequence over where the "
                                                      "loss enters (step 1 over step T going forward)")
            for step, gates in enumerate(record.gate_history()):
                for layer, by_direction in (gates or {}).items():
                    for direction, values in by_direction.items():
                        for row in saturation(values, SHUT, OPEN):
                            tag = f"gates/{layer}/{direction}/{row['gate']}"
                            tf.summary.scalar(f"{tag}/shut", row["below"], step=step,
                                              description=f"share of the {row['name']}'s values below {SHUT}")
                            tf.summary.scalar(f"{tag}/open", row["above"], step=step,
                                              description=f"share of the {row['name']}'s values above {OPEN}")
                            tf.summary.histogram(tag, np.asarray(values[row["gate"]], dtype=np.float64).ravel(),
                                                 step=step)
        writer.flush()
    finally:
        writer.close()
    return folder


def zip_name(record: RunRecord) -> str:
    return f"tensorboard_{record.run_id}.zip"


def zip_logs(record: RunRecord) -> bytes:
    """`write(record, ...)` as the bytes of a .zip holding the run's folder: unzip it into a log directory."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-tensorboard-") as logdir:
        folder = write(record, logdir)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(logdir).as_posix())
        return buffer.getvalue()
