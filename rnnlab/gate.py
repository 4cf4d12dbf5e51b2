"""The gate's checks: what a request from the browser may ask of the web server, decided before any data is read or
any tensor is made. `rnnlab.lab.Lab` calls these; pages call the Lab, never these nor the builders behind them.

    from rnnlab import gate
    from rnnlab.config import from_link
    config = gate.admit(from_link("task=adding&seq_len=2000&eval_samples=5000"))  # a RunConfig, limits checked
    shown = gate.display_config(config)   # seq_len 2000, 16 training and 64 validation sequences: what a table needs
    gate.display_rows(config)             # the layer table, from shapes, cached: never 5,000 x 2,000 sequences

A link, a widget, a pinned preset or an uploaded run arrives as a `RunConfig`, which checks every field against its
limits when it is made (`rnnlab.config`). What a page draws before anything trains (a layer table, `model.summary()`,
an untrained network to look inside, its spectral radii) depends on the network's shapes, not on how many sequences
the run will train on: so it is made from `display_config`, whose data is capped at `DISPLAY_SEQUENCES` validation
sequences and the fewest training sequences a configuration allows, whatever the link asks for. Measured on this
machine: `/?task=adding&seq_len=2000&eval_samples=5000` grew the web server by about 460 MB in one render when the
layer table built the link's own validation data; with the cap it builds 80 sequences of 2,000 steps (1.3 MB).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from rnnlab import settings
from rnnlab.config import RunConfig, field_info

if TYPE_CHECKING:
    import keras

    from rnnlab.data import Dataset

# Validation (and test) sequences in the data made for display: enough to pick examples from on Inside the cell,
# few enough that the largest allowed sequence length costs a few MB (64 x 2,000 steps x 4 bytes x features).
DISPLAY_SEQUENCES = 64
# The fewest training sequences a RunConfig allows (its `samples` limit): only the shapes matter for display.
SHAPE_SAMPLES = int(field_info("samples")["low"])
# Display results kept for the whole server (shared by every session: they are plain rows and text).
_CACHED = 256
# Example sequences shown before a run (Build & Train), and how many sets of them the server keeps: three
# sequences of at most 2,000 steps of a few channels are about 100 KB, so 64 sets stay under 7 MB.
EXAMPLE_SEQUENCES = 3
_CACHED_EXAMPLES = 64


class GateError(ValueError):
    """A request the gate refuses: one sentence saying what to do instead."""


def admit(config: RunConfig) -> RunConfig:
    """`config` as the web server may use it: a RunConfig whose every field is inside its limits.

    A RunConfig checks its fields when it is made; this makes it again from its values, so an object that only looks
    like one (or one changed behind its back) cannot reach the builders.
    """
    if not isinstance(config, RunConfig):
        raise GateError("Settings must come as a RunConfig; read a link with rnnlab.config.read_link first.")
    return RunConfig.from_dict(config.to_dict())


def display_config(config: RunConfig) -> RunConfig:
    """The configuration whose data a display is made from: the same network and sequence length, the fewest
    training sequences, and at most `DISPLAY_SEQUENCES` validation and test sequences."""
    config = admit(config)
    return config.replace(samples=SHAPE_SAMPLES, eval_samples=min(config.eval_samples, DISPLAY_SEQUENCES))


def display_dataset(config: RunConfig) -> "Dataset":
    """The capped data of `display_config(config)` (seeded: the same sequences at every call)."""
    from rnnlab.data import make_dataset  # start-up time: Keras's text utilities load with the IMDB and text tasks

    return make_dataset(display_config(config))


def display_examples(config: RunConfig) -> "Dataset":
    """`EXAMPLE_SEQUENCES` sequences of `config`'s task and their targets, made by the task's own generator from
    the settings' seed and sequence length (the first validation sequences of the capped display data; not the
    run's own, which a generator drawing several arrays lays out by how many it makes), with no training or test
    sequences: what a page shows of the task before anything trains."""
    return _examples(display_config(config))


@functools.lru_cache(maxsize=_CACHED_EXAMPLES)
def _examples(config: RunConfig) -> "Dataset":
    import dataclasses

    dataset = display_dataset(config)
    shown = slice(0, EXAMPLE_SEQUENCES)
    return dataclasses.replace(dataset, x_train=dataset.x_train[:0], y_train=dataset.y_train[:0],
                               x_val=dataset.x_val[shown].copy(), y_val=dataset.y_val[shown].copy(),
                               x_test=dataset.x_test[:0], y_test=dataset.y_test[:0])


def untrained(config: RunConfig) -> tuple["keras.Model", "Dataset"]:
    """The network `config` describes before training (weights from its seed) and its capped display data."""
    from rnnlab.models import untrained_model  # start-up time: building a model imports Keras

    return untrained_model(config, display_dataset(config))


def display_rows(config: RunConfig) -> list[dict]:
    """The layer table of `config`'s network, each row with its parameter formula (a copy: callers may change it)."""
    return [dict(row) for row in _shape_facts(shape_config(config))[0]]


def display_summary(config: RunConfig) -> str:
    """What `model.summary()` prints for `config`'s untrained network."""
    return _shape_facts(shape_config(config))[1]


def display_radii(config: RunConfig) -> dict:
    """The spectral radii of `config`'s untrained recurrent matrices, per layer and direction."""
    return _radii(display_config(config))


def shape_config(config: RunConfig) -> RunConfig:
    """`display_config(config)` with a recurrent initializer that costs nothing to draw: the same layers, shapes and
    parameter counts, for what shows only those (the layer table, `model.summary()`).

    Keras's orthogonal initializer takes a QR decomposition of every recurrent matrix: at 512 units, 4 layers,
    bidirectional, 1.5 of the 2 s a build took (measured on this machine), for numbers the table never shows.
    """
    return display_config(config).replace(recurrent_initializer="glorot_uniform", recurrent_gain=1.0)


@functools.lru_cache(maxsize=_CACHED)
def _shape_facts(config: RunConfig) -> tuple[tuple[dict, ...], str]:
    """The layer table and `model.summary()` of one build of `config`'s network (a page shows both)."""
    from rnnlab.models import describe_layers, summary_text, untrained_model  # start-up time: imports Keras

    model, dataset = untrained_model(config, display_dataset(config))
    return tuple(describe_layers(config, dataset, model=model)), summary_text(model)


@functools.lru_cache(maxsize=_CACHED)
def _radii(config: RunConfig) -> dict:
    from rnnlab.introspect import spectral_radii  # start-up time: introspection imports TensorFlow

    return spectral_radii(untrained(config)[0])


def upload_bytes(name: str, data: bytes) -> bytes:
    """An uploaded file's content if it may be kept: not empty, not larger than RNNLAB_MAX_UPLOAD_MB (default 50)."""
    if not isinstance(data, (bytes, bytearray)):
        raise GateError("An upload must be the file's bytes.")
    if not data:
        raise GateError(f"{name or 'That file'} is empty: upload a file with something in it.")
    limit_mb = settings.current().max_upload_mb
    if len(data) > limit_mb * settings.MB:
        raise GateError(f"{name or 'That file'} is {len(data) / settings.MB:,.1f} MB; at most {limit_mb:g} MB can be "
                        "uploaded.")
    return bytes(data)


def pair_run_files(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes, tuple[str, bytes] | None]]:
    """Uploaded files as runs: each JSON (name, bytes) with the `.keras` of the same name, if one came with it.

        pair_run_files([("run_ab.json", b"{}"), ("run_ab.keras", b"PK")])
        # [("run_ab.json", b"{}", ("run_ab.keras", b"PK"))]
    """
    def stem(name: str) -> str:
        return name.rsplit(".", 1)[0]

    models = {stem(name): (name, data) for name, data in files if name.lower().endswith(".keras")}
    return [(name, data, models.get(stem(name))) for name, data in files if name.lower().endswith(".json")]
