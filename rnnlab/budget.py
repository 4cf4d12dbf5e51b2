"""A run's budget: its peak memory and its seconds per epoch, estimated from its configuration alone.

Before a run starts the app shows what it will cost and refuses one that would not fit. Nothing here builds a
model or imports TensorFlow: the estimate is arithmetic on the configuration and on a `Shape` (what the data
looks like), so it is instant and safe for any configuration, including ones that could never be built.

    shape = Shape.for_sequences(config, features=2, outputs=1)          # the adding task
    result = estimate(config, shape)
    result.peak_bytes, result.seconds_per_epoch, result.parts()       # bytes, seconds, bytes by part
    result.summary()                  # 'about 630 MB, about 1 s per epoch (about 17 s in all)'
    verdict = check(result, Limits.from_environment())
    verdict.level, verdict.sentence   # 'refuse', 'Reduce the sequence length, ...: this run needs about 29 GB, ...'

Memory is the sum of parts, each a count times a factor measured on this machine (`benchmarks/bench_budget.py`):
weights, gradients and optimizer slots (per parameter), the activations that backpropagation through time keeps
for every step, the logits of a head that answers at every step, the data arrays with the copies the input
pipeline makes, and TensorFlow's own resident memory. Time is a cost model of the same kind: per step a fixed
loop overhead plus matrix products, per batch a fixed overhead plus the optimizer's update of every parameter.

Limits come from the environment: `RNNLAB_MAX_RUN_MB` is the hard per-run budget; without it the budget is a
share of the worker's memory limit (`RNNLAB_WORKER_MEMORY_MB`, by default 80% of the machine's memory divided
among the workers: `RNNLAB_WORKERS`, by default one more than the cores). Half the hard budget is the soft limit above which the app warns.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from rnnlab import settings
from rnnlab.config import RunConfig
from rnnlab.settings import GB, MB
from rnnlab.verdict import Level, Verdict  # whether a run may start: Level.OK, WARN or REFUSE

FLOAT_BYTES = 4  # float32 weights, activations and data; int32 tokens are the same size

# --- Memory constants, measured ---------------------------------------------------------------------------------
# Measured by benchmarks/bench_budget.py on 2026-11-22 (2 CPU cores, TensorFlow 2.21, Keras 3.15): each shape
# trained for two batches in a fresh process, peak resident memory (VmHWM).

# Resident memory of a process that has imported TensorFlow and trained a tiny one-layer model for two batches
# (620 MB), less one layer's share of the next constant.
TENSORFLOW_BYTES = 600 * MB
# Each recurrent layer's direction adds its traced while-loops and their gradient graphs (measured: models of 3 and
# 4 small layer-directions held 50-100 MB more than their tensors explain).
TRACED_LAYER_BYTES = 20 * MB

# Per parameter, in float32 copies. Gradients: the gradient itself plus the temporaries of the update that reads
# it (SGD's total, weights included, measured 3.2-3.8 copies). Each optimizer slot: the slot plus its share of
# the update's temporaries (Adam's two slots added about 3 copies over SGD).
GRADIENT_COPIES = 2.5
COPIES_PER_SLOT = 1.5
OPTIMIZER_SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}

# Activations kept for backpropagation through time, in float32 values per sequence in the batch, per time step.
# Keras's CPU recurrent layers run a while-loop whose gradient keeps every step's tensors on stacks. Measured at
# T=1000, 128 units, batch 64, per unit of a layer's direction: SimpleRNN 1.0-1.4 (1 gate block), LSTM 8.7-9.3
# (4 blocks: about 2.25 values per block), GRU 9.4-9.6 (3 blocks: about 3.2 per block; its reset gate keeps more) ...
KEPT_PER_UNIT = {"simplernn": 1.2, "lstm": 9.0, "gru": 9.5}
# ... per value of the layer's input (the time-major copy, the per-step slices, the stack for the kernel's
# gradient; measured 2.7-4.7),
KEPT_PER_INPUT = 3.5
# ... per value of an embedding's output, whose gradient flows back into the lookup (measured 1.5-2.5 more),
KEPT_PER_EMBEDDING = 2.0
# ... per value of the last layer's output when a head reads every step (the sequence and its gradient; 3.5-5),
KEPT_PER_OUTPUT = 4.5
# ... and per logit of such a head, (batch, T, vocab): 1.1-1.7 copies at batch 64 with vocabularies of 4,000 to
# 16,000 (the logits' gradient takes their place), 3.5 at batch 16.
KEPT_PER_LOGIT = 2.0

# The input pipeline (rnnlab.training) turns the training arrays into a tensor and fills a shuffle buffer with every
# sequence: with the NumPy arrays themselves, measured 3.1-3.8 copies of the training data. Keras copies the
# validation arrays twice more (measured with evaluate) and the test arrays wait in memory: 2 copies of the
# held-out data on average.
TRAIN_DATA_COPIES = 3.2
EVAL_DATA_COPIES = 2.0

# --- Time constants, fitted --------------------------------------------------------------------------------------
# Fitted by `python benchmarks/bench_budget.py --fit` on 2026-11-22 to whole epochs (validation included; median of
# epochs 2-4) of its calibration shapes, each the fastest of 3-4 repeats: other engineers' test suites kept this
# 2-core machine's load average at 3-15 throughout, and the same shape's repeats differed by up to 4x. These are
# times with the machine to oneself, or nearly; runs sharing it take longer.
STEP_SECONDS = {"simplernn": 1.14e-04, "lstm": 1.64e-04, "gru": 2.83e-04}  # per step of a layer's direction, per batch
SECONDS_PER_FLOP = 1.39e-11  # matrix products, forward and backward (about 70 GFLOP/s)
SECONDS_PER_VALUE = 8.74e-10  # elementwise work on gate values, per sequence
SECONDS_PER_LOGIT = 4.76e-09  # a head at every step: softmax and loss over the vocabulary, per sequence
BATCH_SECONDS = 0.0  # per training batch (tf.data, callbacks): the fit found it too small to separate
SECONDS_PER_PARAMETER = 4.19e-09  # per training batch: the optimizer's update of every weight
# Forward-only work (validation) costs this share of a training step's loop overhead; its products cost a third.
FORWARD_SHARE = 1 / 3
# Graph tracing in the first epoch (training and validation functions): a base plus a share per recurrent layer and
# direction (the fit put it all in the share).
TRACE_SECONDS = 0.0
TRACE_SECONDS_PER_LAYER = 1.8

# Matrix blocks per cell: a SimpleRNN has one (W_x, W_h, b), an LSTM four (input, forget, candidate, output), a GRU
# three (update, reset, candidate).
GATE_BLOCKS = {"simplernn": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class Shape:
    """What the estimate needs to know about the data, independent of where it comes from."""

    features: int  # input width per step; for tokens, the embedding size
    tokens: bool  # the inputs are token ids read through an Embedding
    vocab: int  # vocabulary size (tokens only; 0 otherwise)
    outputs: int  # width of the head: 1 (a number or a probability), the classes, or the vocabulary
    every_step: bool  # the head answers at every step (text generation) instead of after the last one
    train_items: int  # training sequences (or windows)
    eval_items: int  # validation plus test sequences; half of them are validated after every epoch

    def __post_init__(self) -> None:
        for name in ("features", "outputs", "train_items"):
            if getattr(self, name) < 1:
                raise ValueError(f"The data shape's {name} must be at least 1, not {getattr(self, name)}.")
        if self.eval_items < 0:
            raise ValueError(f"The data shape's eval_items cannot be negative ({self.eval_items}).")
        if self.tokens and self.vocab < 1:
            raise ValueError("Token inputs need a vocabulary of at least one word.")

    @classmethod
    def for_sequences(cls, config: RunConfig, *, features: int, outputs: int = 1) -> "Shape":
        """Continuous inputs `(samples, T, features)`, one answer per sequence; sizes from `config`."""
        return cls(features=features, tokens=False, vocab=0, outputs=outputs, every_step=False,
                   train_items=config.samples, eval_items=2 * config.eval_samples)

    @classmethod
    def for_tokens(cls, config: RunConfig, *, vocab: int | None = None, outputs: int = 1,
                   every_step: bool = False) -> "Shape":
        """Token inputs `(samples, T)` through `Embedding(vocab, config.embedding_dim)`; sizes from `config`."""
        return cls(features=config.embedding_dim, tokens=True, vocab=vocab or config.vocab_size, outputs=outputs,
                   every_step=every_step, train_items=config.samples, eval_items=2 * config.eval_samples)


@dataclass(frozen=True)
class Estimate:
    """What a run will cost. Every `*_bytes` field is one part of the peak; `peak_bytes` is their sum."""

    parameters: int  # trainable parameters, all layers
    vocabulary_parameters: int  # of which in the embedding and in a head over the vocabulary
    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int  # the optimizer's slots (Adam two per weight, RMSprop one, SGD none)
    activations_bytes: int  # what backpropagation through time keeps for every step of the batch
    logits_bytes: int  # a head that answers at every step: (batch, T, vocab) logits and their gradients
    data_bytes: int  # training, validation and test arrays, with the input pipeline's copies
    tensorflow_bytes: int  # TensorFlow itself and the traced graph of the model, before any of the above
    seconds_per_epoch: float  # training and validation, once the graph is traced
    first_epoch_extra_seconds: float  # graph tracing, paid once before the first epoch's batches
    epochs: int

    @property
    def peak_bytes(self) -> int:
        return sum(self.parts().values())

    @property
    def run_seconds(self) -> float:
        """The whole run: every epoch plus the one-off tracing."""
        return self.first_epoch_extra_seconds + self.epochs * self.seconds_per_epoch

    def parts(self) -> dict[str, int]:
        """The peak's parts by name, in bytes."""
        return {"weights": self.weights_bytes, "gradients": self.gradients_bytes, "optimizer": self.optimizer_bytes,
                "activations": self.activations_bytes, "logits": self.logits_bytes, "data": self.data_bytes,
                "tensorflow": self.tensorflow_bytes}

    def summary(self) -> str:
        """One line for beside the Train button: 'about 700 MB, about 6 s per epoch (about 1 min in all)'."""
        return (f"{format_bytes(self.peak_bytes)}, {format_seconds(self.seconds_per_epoch)} per epoch "
                f"({format_seconds(self.run_seconds)} in all)")


def parameter_count(config: RunConfig, shape: Shape) -> tuple[int, int]:
    """Trainable parameters of the model `config` and `shape` describe, and how many of them sit in the vocabulary
    (the embedding, and a head over the vocabulary). Same closed form as `rnnlab.models.parameter_formula`."""
    directions = 2 if config.bidirectional else 1
    blocks = GATE_BLOCKS[config.cell]
    biases = 2 if config.cell == "gru" else 1  # Keras's GRU (reset_after=True) has an input and a recurrent bias
    embedding = shape.vocab * shape.features if shape.tokens else 0
    total, inputs = embedding, shape.features
    for _ in range(config.layers):
        total += directions * blocks * config.units * (config.units + inputs + biases)
        inputs = directions * config.units
    head = (inputs + 1) * shape.outputs
    vocabulary = embedding + (head if shape.tokens and shape.outputs == shape.vocab and shape.outputs > 1 else 0)
    return total + head, vocabulary


def estimate(config: RunConfig, shape: Shape) -> Estimate:
    """The peak memory and the seconds per epoch of training `config` on data of `shape`."""
    directions = 2 if config.bidirectional else 1
    batch = min(config.batch_size, shape.train_items)
    steps = config.seq_len
    parameters, vocabulary_parameters = parameter_count(config, shape)

    # Memory: per parameter ...
    weights = parameters * FLOAT_BYTES
    gradients = weights * GRADIENT_COPIES
    optimizer = weights * OPTIMIZER_SLOTS[config.optimizer] * COPIES_PER_SLOT
    # ... per step of every sequence in the batch: the recurrent stack, its inputs and a reading head ...
    kept_per_step = 0.0  # float32 values per sequence per time step
    inputs = shape.features
    for _ in range(config.layers):
        kept_per_step += directions * (KEPT_PER_UNIT[config.cell] * config.units + KEPT_PER_INPUT * inputs)
        inputs = directions * config.units
    if shape.tokens:
        kept_per_step += KEPT_PER_EMBEDDING * shape.features
    if shape.every_step:
        kept_per_step += KEPT_PER_OUTPUT * inputs
    activations = batch * steps * kept_per_step * FLOAT_BYTES  # (batch, T, kept_per_step)
    logits = batch * steps * shape.outputs * KEPT_PER_LOGIT * FLOAT_BYTES if shape.every_step else 0
    # ... and the data: inputs and targets of every sequence.
    values_per_input = steps if shape.tokens else steps * shape.features
    values_per_target = steps if shape.every_step else 1
    item_bytes = (values_per_input + values_per_target) * FLOAT_BYTES
    data = item_bytes * (shape.train_items * TRAIN_DATA_COPIES + shape.eval_items * EVAL_DATA_COPIES)

    return Estimate(
        parameters=parameters, vocabulary_parameters=vocabulary_parameters, weights_bytes=round(weights),
        gradients_bytes=round(gradients), optimizer_bytes=round(optimizer), activations_bytes=round(activations),
        logits_bytes=round(logits), data_bytes=round(data),
        tensorflow_bytes=TENSORFLOW_BYTES + TRACED_LAYER_BYTES * config.layers * directions,
        seconds_per_epoch=_epoch_seconds(config, shape, parameters),
        first_epoch_extra_seconds=TRACE_SECONDS + TRACE_SECONDS_PER_LAYER * config.layers * directions,
        epochs=config.epochs)


def cost_terms(config: RunConfig, shape: Shape, parameters: int | None = None) -> dict[str, float]:
    """The counts the time model multiplies by its constants, for one epoch (training plus validation).

    `loop_steps`: steps of a layer's direction, each paying a fixed overhead (validation's count at FORWARD_SHARE);
    `flops`: multiply-adds × 2 of the recurrent matrix products and of the head (backward costs twice forward);
    `values`: elementwise gate values; `logits`: values of a head at every step (softmax, loss); `batches`: training
    batches; `parameter_updates`: weights the optimizer updates, once per training batch.
    """
    if parameters is None:
        parameters = parameter_count(config, shape)[0]
    directions = 2 if config.bidirectional else 1
    blocks = GATE_BLOCKS[config.cell]
    steps = config.seq_len
    train_batches = math.ceil(shape.train_items / config.batch_size)
    validation_items = shape.eval_items // 2
    validation_batches = math.ceil(validation_items / config.batch_size)
    # Sequence-steps passed through, weighting a forward-only pass at a third of a training pass.
    passes = 3 * shape.train_items + validation_items
    flops_per_step = 0.0  # per sequence, forward only
    values_per_step = 0.0
    inputs = shape.features
    for _ in range(config.layers):
        flops_per_step += 2 * directions * blocks * config.units * (config.units + inputs)
        values_per_step += directions * blocks * config.units
        inputs = directions * config.units
    logits_per_step = 0
    if shape.every_step:
        flops_per_step += 2 * inputs * shape.outputs
        logits_per_step = shape.outputs
    layer_steps = steps * config.layers * directions
    return {
        "loop_steps": layer_steps * (train_batches + FORWARD_SHARE * validation_batches),
        "flops": passes * steps * flops_per_step,
        "values": passes * steps * values_per_step,
        "logits": passes * steps * logits_per_step,
        "batches": float(train_batches),
        "parameter_updates": float(train_batches * parameters),
    }


def _epoch_seconds(config: RunConfig, shape: Shape, parameters: int) -> float:
    terms = cost_terms(config, shape, parameters)
    return (STEP_SECONDS[config.cell] * terms["loop_steps"] + SECONDS_PER_FLOP * terms["flops"]
            + SECONDS_PER_VALUE * terms["values"] + SECONDS_PER_LOGIT * terms["logits"]
            + BATCH_SECONDS * terms["batches"] + SECONDS_PER_PARAMETER * terms["parameter_updates"])


# --- Limits and verdicts ----------------------------------------------------------------------------------------

MAX_RUN_ENV = "RNNLAB_MAX_RUN_MB"  # the hard per-run budget, in MB
WORKER_MEMORY_ENV = "RNNLAB_WORKER_MEMORY_MB"  # a training worker's memory limit, in MB (defined by the workers)
# A worker's default limit: this share of the machine's memory, divided among the workers.
WORKER_MEMORY_SHARE = 0.8
# The per-run budget's default share of a worker's limit. Dask's nanny restarts a worker at 95% of its limit; the
# estimates here came within about 30% of measured peaks, so 0.75 of the limit leaves room for that error.
RUN_SHARE_OF_WORKER = 0.75
# Above this share of the hard budget the app warns: such a run still fits, but it crowds its worker.
SOFT_SHARE = 0.5


@dataclass(frozen=True)
class Limits:
    """How much memory one run may use (`hard_bytes`) and above what the app warns (`soft_bytes`)."""

    hard_bytes: int
    soft_bytes: int
    max_seconds: float = math.inf  # the longest a run may train (RNNLAB_MAX_RUN_MINUTES; issue 17)

    def __post_init__(self) -> None:
        if self.hard_bytes <= 0 or not 0 < self.soft_bytes <= self.hard_bytes:
            raise ValueError("The memory limits must be positive, with the soft limit at most the hard one.")

    @classmethod
    def from_environment(cls, worker_bytes: int | None = None) -> "Limits":
        """`RNNLAB_MAX_RUN_MB` if set, else 75% of the worker's limit (`worker_bytes`, else `worker_memory_bytes()`);
        the soft limit is half the hard one."""
        max_run_mb = settings.current().max_run_mb
        hard = max_run_mb * MB if max_run_mb is not None else None
        if hard is None:
            hard = RUN_SHARE_OF_WORKER * (worker_bytes if worker_bytes is not None else worker_memory_bytes())
        return cls(hard_bytes=int(hard), soft_bytes=int(hard * SOFT_SHARE),
                   max_seconds=settings.current().max_run_minutes * 60)


def worker_memory_bytes() -> int:
    """A training worker's memory limit: `RNNLAB_WORKER_MEMORY_MB`, else 80% of this machine's memory divided
    among the workers (`RNNLAB_WORKERS`, else `settings.default_worker_count()`; the rule the engine uses)."""
    current = settings.current()
    if current.worker_memory_mb:
        return current.worker_memory_mb * MB
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(WORKER_MEMORY_SHARE * total / (current.workers or settings.default_worker_count()))


# What to turn down when a part dominates, in the words of the sidebar.
KNOBS = {
    "activations": "the sequence length, the batch size or the units",
    "model": "the units or the layers",
    "vocabulary": "the vocabulary size or the embedding size",
    "logits": "the batch size, the sequence length or the vocabulary size",
    "data": "the number of training sequences",
}


def dominant_knob(estimate: Estimate) -> str:
    """The settings that shrink the biggest part of the peak (TensorFlow's own share cannot be turned down)."""
    per_parameter = estimate.weights_bytes + estimate.gradients_bytes + estimate.optimizer_bytes
    vocabulary_share = estimate.vocabulary_parameters / estimate.parameters if estimate.parameters else 0.0
    contributions = {
        "activations": estimate.activations_bytes,
        "model": per_parameter * (1 - vocabulary_share),
        "vocabulary": per_parameter * vocabulary_share,
        "logits": estimate.logits_bytes,
        "data": estimate.data_bytes,
    }
    return KNOBS[max(contributions, key=contributions.get)]


def check(estimate: Estimate, limits: Limits | None = None) -> Verdict:
    """Compare an estimate with the limits (by default, `Limits.from_environment()`)."""
    limits = limits or Limits.from_environment()
    needed, knob = estimate.peak_bytes, dominant_knob(estimate)
    floor = estimate.tensorflow_bytes  # what even the smallest network needs
    if limits.hard_bytes < floor:
        # No setting a learner can turn would help: the limit is below what TensorFlow itself takes.
        return Verdict(Level.REFUSE,
                       f"This server lets a run use {format_bytes(limits.hard_bytes, about=False)}, less than "
                       f"TensorFlow itself needs ({format_bytes(estimate.tensorflow_bytes)}); ask the person running "
                       f"it to raise RNNLAB_MAX_RUN_MB.", "")
    too_long = estimate.run_seconds > limits.max_seconds
    if needed > limits.hard_bytes:
        # Both limits passed: one sentence names both, so turning the first knob does not meet a second refusal.
        also = (f"; it would also train for {format_seconds(estimate.run_seconds)}, more than the "
                f"{limits.max_seconds / 60:g} min a run may train here" if too_long else "")
        return Verdict(Level.REFUSE, f"Reduce {knob}: this run needs {format_bytes(needed)}, "
                                     f"the limit is {format_bytes(limits.hard_bytes, about=False)}{also}.", knob)
    if too_long:
        time_knob = "the epochs, the training sequences or the sequence length, or raise the batch size"
        return Verdict(Level.REFUSE, f"Reduce {time_knob}: this run would train for {format_seconds(estimate.run_seconds)}"
                                 f", and a run may train for at most {limits.max_seconds / 60:g} min here.", time_knob)
    if needed > limits.soft_bytes:
        return Verdict(Level.WARN, f"This run needs {format_bytes(needed)}, more than half the "
                                   f"{format_bytes(limits.hard_bytes, about=False)} a run may use, so it leaves little "
                                   f"room for other runs. Reducing {knob} makes it lighter.", knob)
    return Verdict(Level.OK, f"This run needs {format_bytes(needed)} of the "
                             f"{format_bytes(limits.hard_bytes, about=False)} a run may use.", knob)


# --- Units a learner reads ---------------------------------------------------------------------------------------


def format_bytes(count: float, *, about: bool = True) -> str:
    """'about 1.2 GB', 'about 340 MB' (binary units, as `free` and the system monitor count)."""
    prefix = "about " if about else ""
    if count >= 10 * GB:
        return f"{prefix}{count / GB:,.0f} GB"
    if count >= GB:
        return f"{prefix}{count / GB:.1f} GB"
    megabytes = count / MB
    if megabytes >= 100 and about:  # an estimate to the nearest ten; a limit someone set is shown as it is
        return f"{prefix}{round(megabytes, -1):,.0f} MB"
    if megabytes >= 100:
        return f"{megabytes:,.0f} MB"
    if megabytes < 1:
        return "under 1 MB"
    return f"{prefix}{megabytes:,.0f} MB"


def format_seconds(seconds: float) -> str:
    """'about 6 s', 'about 4 min', 'about 2.5 h'."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"about {hours:.1f} h" if hours < 10 else f"about {hours:,.0f} h"
