"""The run budget: estimates that add up, grow with every knob, refuse what cannot fit, and match measured peaks.

Most tests are arithmetic and run instantly. `test_estimate_within_a_factor_of_two_of_measured_peaks` trains each of
a handful of shapes for two batches in a fresh process and compares the estimate with the measured peak.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from rnnlab import budget, settings
from rnnlab.budget import Estimate, Limits, Shape, check, estimate
from rnnlab.config import RunConfig, defaults_for_task

MB, GB = settings.MB, settings.GB
# This machine's default: 80% of 24 GB among 2 workers (one per core).
WORKER_BYTES = int(0.8 * 24 * GB / 2)


@pytest.fixture(autouse=True)
def no_limits_from_the_environment(monkeypatch):
    monkeypatch.delenv(budget.MAX_RUN_ENV, raising=False)
    monkeypatch.delenv(budget.WORKER_MEMORY_ENV, raising=False)


def sine_shape(config: RunConfig) -> Shape:
    return Shape.for_sequences(config, features=1, outputs=1)


def issue_example() -> tuple[RunConfig, Shape]:
    """The configuration that drove the server to 23.5 GB while still preparing (FACTS.md)."""
    config = RunConfig(task="adding", cell="lstm", units=512, layers=4, bidirectional=True, seq_len=2000,
                       batch_size=64, samples=6000)
    return config, Shape.for_sequences(config, features=2, outputs=1)


# --- The parts --------------------------------------------------------------------------------------------------


def test_parts_add_up_and_are_positive():
    config = RunConfig(task="imdb", seq_len=200, units=32, samples=20000, eval_samples=2500)
    result = estimate(config, Shape.for_tokens(config, vocab=10000))
    parts = result.parts()
    assert set(parts) == {"weights", "gradients", "optimizer", "activations", "logits", "data", "tensorflow"}
    assert result.peak_bytes == sum(parts.values())
    assert all(value >= 0 for value in parts.values())
    assert parts["logits"] == 0  # one answer per review, not one per step
    assert result.seconds_per_epoch > 0 and result.first_epoch_extra_seconds > 0
    assert result.run_seconds == pytest.approx(result.first_epoch_extra_seconds + 10 * result.seconds_per_epoch)


def test_parameter_count_matches_the_closed_form():
    # LSTM 32 on one feature: 4u(u + i + 1) + Dense (u + 1).
    config = RunConfig(units=32)
    assert budget.parameter_count(config, sine_shape(config)) == (4 * 32 * (32 + 1 + 1) + 33, 0)
    # Bidirectional GRU 16 ×2 on tokens: embedding, 2 × 3u(u + i + 2) per layer (the second reads 2u), head.
    config = RunConfig(cell="gru", units=16, layers=2, bidirectional=True, embedding_dim=8)
    shape = Shape.for_tokens(config, vocab=100, outputs=3)
    expected = 100 * 8 + 2 * 3 * 16 * (16 + 8 + 2) + 2 * 3 * 16 * (16 + 32 + 2) + (32 + 1) * 3
    assert budget.parameter_count(config, shape) == (expected, 100 * 8)


def test_optimizer_slots_follow_the_optimizer():
    config = RunConfig(units=64)
    slots = {name: estimate(config.replace(optimizer=name), sine_shape(config)).optimizer_bytes
             for name in ("adam", "rmsprop", "sgd")}
    assert slots["sgd"] == 0 and slots["adam"] == pytest.approx(2 * slots["rmsprop"], abs=1)


def test_a_head_at_every_step_pays_for_its_logits():
    config = RunConfig(seq_len=100, units=128, embedding_dim=32, samples=10000)
    once = estimate(config, Shape.for_tokens(config, vocab=65, outputs=65))
    every = estimate(config, Shape.for_tokens(config, vocab=65, outputs=65, every_step=True))
    assert once.logits_bytes == 0
    # (batch, T, vocab) logits and their gradients: 64 × 100 × 65 values, a few copies of each.
    assert every.logits_bytes == pytest.approx(64 * 100 * 65 * 4 * budget.KEPT_PER_LOGIT, rel=1e-6)
    assert every.activations_bytes > once.activations_bytes and every.data_bytes > once.data_bytes
    assert every.seconds_per_epoch > once.seconds_per_epoch


@pytest.mark.parametrize("setting, values", [
    ("seq_len", (10, 100, 1000)),
    ("units", (8, 64, 512)),
    ("layers", (1, 2, 4)),
    ("bidirectional", (False, True)),
    ("batch_size", (16, 64, 256)),
])
def test_memory_and_time_grow_with_every_knob(setting, values):
    base = RunConfig(task="adding", samples=6000, seq_len=50)
    shape = Shape.for_sequences(base, features=2)
    estimates = [estimate(base.replace(**{setting: value}), shape) for value in values]
    peaks = [result.peak_bytes for result in estimates]
    assert peaks == sorted(peaks) and len(set(peaks)) == len(peaks), (setting, peaks)
    if setting != "batch_size":  # bigger batches are fewer, cheaper-per-sequence steps: time may fall
        seconds = [result.seconds_per_epoch for result in estimates]
        assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds), (setting, seconds)


def test_more_data_costs_memory_and_time():
    small, large = (RunConfig(task="adding", samples=samples) for samples in (1000, 100_000))
    a, b = (estimate(config, Shape.for_sequences(config, features=2)) for config in (small, large))
    assert b.data_bytes > a.data_bytes and b.seconds_per_epoch > a.seconds_per_epoch
    assert b.activations_bytes == a.activations_bytes  # the batch, not the data set, decides what one step keeps


# --- Limits ------------------------------------------------------------------------------------------------------


def test_default_limits_come_from_the_worker_memory_limit(monkeypatch):
    limits = Limits.from_environment(worker_bytes=WORKER_BYTES)
    assert limits.hard_bytes == int(budget.RUN_SHARE_OF_WORKER * WORKER_BYTES)
    assert limits.soft_bytes == int(limits.hard_bytes / 2)
    # Without an argument, the worker limit is read the way the worker module sets it.
    monkeypatch.setenv(budget.WORKER_MEMORY_ENV, "4000")
    assert budget.worker_memory_bytes() == 4000 * MB
    assert Limits.from_environment().hard_bytes == int(0.75 * 4000 * MB)
    monkeypatch.delenv(budget.WORKER_MEMORY_ENV)
    total = budget.os.sysconf("SC_PAGE_SIZE") * budget.os.sysconf("SC_PHYS_PAGES")
    assert budget.worker_memory_bytes() == int(0.8 * total / settings.default_worker_count())
    monkeypatch.setenv("RNNLAB_WORKERS", "4")  # the engine starts four workers: each gets a quarter
    assert budget.worker_memory_bytes() == int(0.8 * total / 4)


def test_a_local_cluster_starts_one_worker_more_than_the_cores():
    # Measured on two cores: a third worker lets three learners start at once (benchmarks/bench_learners.py).
    assert settings.default_worker_count() == len(budget.os.sched_getaffinity(0)) + 1


def test_environment_overrides_the_per_run_budget(monkeypatch):
    monkeypatch.setenv(budget.MAX_RUN_ENV, "1000")
    monkeypatch.setenv(budget.WORKER_MEMORY_ENV, "99999")  # the explicit budget wins over the derived one
    limits = Limits.from_environment()
    assert (limits.hard_bytes, limits.soft_bytes) == (1000 * MB, 500 * MB)
    config = RunConfig(units=64)
    assert check(estimate(config, sine_shape(config))).level == "warn"  # ~650 MB: over half of 1000 MB
    monkeypatch.setenv(budget.MAX_RUN_ENV, "625")  # above TensorFlow's 620 MB, below the run's 630 MB
    assert check(estimate(config, sine_shape(config))).sentence.endswith("the limit is 625 MB.")
    # Below what TensorFlow itself takes no knob helps, and the sentence says who can change the limit.
    monkeypatch.setenv(budget.MAX_RUN_ENV, "600")
    assert check(estimate(config, sine_shape(config))).sentence == (
        "This server lets a run use 600 MB, less than TensorFlow itself needs (about 620 MB); ask the person running "
        "it to raise RNNLAB_MAX_RUN_MB.")


@pytest.mark.parametrize("text", ["lots", "-5", "0", "nan"])
def test_a_bad_environment_value_says_what_it_should_be(monkeypatch, text):
    monkeypatch.setenv(budget.MAX_RUN_ENV, text)
    with pytest.raises(ValueError, match="RNNLAB_MAX_RUN_MB must be a"):
        Limits.from_environment()


# --- Verdicts ----------------------------------------------------------------------------------------------------


def test_the_issue_example_is_refused_naming_the_knob_and_the_sizes():
    config, shape = issue_example()
    result = estimate(config, shape)
    assert result.parameters == pytest.approx(21e6, rel=0.05)  # "21 million parameters"
    assert result.peak_bytes > 20 * GB  # the server reached 23.5 GB before it had even started training
    assert budget.dominant_knob(result) == budget.KNOBS["activations"]
    verdict = check(result, Limits.from_environment(worker_bytes=WORKER_BYTES))
    assert verdict.level == "refuse"
    gigabytes = round(result.peak_bytes / GB)
    # It would also train for days: one sentence says both, so the first change does not meet a second refusal.
    assert verdict.sentence == (f"Reduce the sequence length, the batch size or the units: this run needs about "
                                f"{gigabytes} GB, the limit is 7.2 GB; it would also train for "
                                f"{budget.format_seconds(result.run_seconds)}, more than the 30 min a run may "
                                "train here.")


@pytest.mark.parametrize("task, shape_of", [
    ("sine", lambda config: Shape.for_sequences(config, features=1)),
    ("count", lambda config: Shape.for_sequences(config, features=1)),
    ("adding", lambda config: Shape.for_sequences(config, features=2)),
    ("recall", lambda config: Shape.for_sequences(config, features=4, outputs=4)),
    ("imdb", lambda config: Shape.for_tokens(config)),
])
def test_the_app_defaults_are_ok_with_room_to_spare(task, shape_of):
    config = defaults_for_task(task)
    result = estimate(config, shape_of(config))
    limits = Limits.from_environment(worker_bytes=WORKER_BYTES)
    verdict = check(result, limits)
    assert verdict.level == "ok", verdict.sentence
    assert result.peak_bytes < limits.hard_bytes / 5  # under 1.5 GB of 7.2 GB
    assert result.seconds_per_epoch < 30
    assert verdict.sentence.startswith("This run needs about ") and "7.2 GB a run may use" in verdict.sentence


def test_a_run_between_the_limits_gets_a_warning_naming_the_knob():
    limits = Limits.from_environment(worker_bytes=WORKER_BYTES)
    config = RunConfig(task="adding", units=256, seq_len=1000, batch_size=512, samples=6000)
    result = estimate(config, Shape.for_sequences(config, features=2))
    assert limits.soft_bytes < result.peak_bytes < limits.hard_bytes
    verdict = check(result, limits)
    assert verdict.level == "warn"
    assert "more than half the 7.2 GB a run may use" in verdict.sentence
    assert "Reducing the sequence length, the batch size or the units makes it lighter." in verdict.sentence


def refused(config: RunConfig, shape: Shape) -> str:
    verdict = check(estimate(config, shape), Limits(hard_bytes=700 * MB, soft_bytes=650 * MB))
    assert verdict.level == "refuse"
    return verdict.sentence


def test_each_refusal_names_the_knob_of_its_biggest_part():
    long_sequences = RunConfig(units=256, seq_len=2000, batch_size=256)
    assert refused(long_sequences, sine_shape(long_sequences)).startswith(
        "Reduce the sequence length, the batch size or the units: this run needs about ")
    wide_and_deep = RunConfig(units=512, layers=4, seq_len=2, batch_size=1, samples=16, eval_samples=16)
    assert refused(wide_and_deep, sine_shape(wide_and_deep)).startswith("Reduce the units or the layers: ")
    big_vocabulary = RunConfig(task="imdb", vocab_size=100_000, embedding_dim=512, seq_len=20, units=8)
    assert refused(big_vocabulary, Shape.for_tokens(big_vocabulary)).startswith(
        "Reduce the vocabulary size or the embedding size: ")
    many_words = RunConfig(seq_len=200, units=16, embedding_dim=16, batch_size=256, samples=1000)
    assert refused(many_words, Shape.for_tokens(many_words, vocab=50_000, outputs=50_000, every_step=True)
                   ).startswith("Reduce the batch size, the sequence length or the vocabulary size: ")
    much_data = RunConfig(task="recall", units=4, seq_len=2000, samples=200_000, batch_size=16)
    assert refused(much_data, Shape.for_sequences(much_data, features=4, outputs=4)).startswith(
        "Reduce the number of training sequences: ")


# --- Units a learner reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("count, text", [(340 * MB, "about 340 MB"), (1.2 * GB, "about 1.2 GB"),
                                         (38.4 * GB, "about 38 GB"), (7 * MB, "about 7 MB"),
                                         (1234 * MB, "about 1.2 GB")])
def test_bytes_read_as_a_learner_reads_them(count, text):
    assert budget.format_bytes(count) == text


@pytest.mark.parametrize("seconds, text", [(0.4, "under a second"), (6.2, "about 6 s"), (240, "about 4 min"),
                                           (9000, "about 2.5 h")])
def test_seconds_read_as_a_learner_reads_them(seconds, text):
    assert budget.format_seconds(seconds) == text


def test_summary_for_beside_the_train_button():
    config = defaults_for_task("sine")
    text = estimate(config, sine_shape(config)).summary()
    assert text.startswith("about ") and " MB, " in text and " per epoch (" in text and " in all)" in text


# --- Time ---------------------------------------------------------------------------------------------------------


def test_the_imdb_page_default_takes_many_seconds_per_epoch_not_one():
    # 20,000 reviews of 200 words through Embedding(10000, 32) → LSTM(32): measured here at 20-40 s per epoch on a
    # busy machine (config.py: about 50 s for 3 epochs); the page's old timed estimate said about 1 s.
    config = defaults_for_task("imdb")
    seconds = estimate(config, Shape.for_tokens(config)).seconds_per_epoch
    assert 10 < seconds < 40


# --- Against the machine -------------------------------------------------------------------------------------------

# Each trains two batches in a fresh process (about 5-10 s each, two at a time). All but the first are chosen so that
# what the run adds on top of TensorFlow is hundreds of MB and dominated by the part the shape is about: an estimate
# that dropped that part would miss the measured addition by far more than 2x.
MEASURED = [
    ("sine default", RunConfig(seq_len=30, units=32, samples=2000, eval_samples=500), dict(features=1)),
    ("long sequences", RunConfig(seq_len=1000, units=128, samples=512, eval_samples=64), dict(features=1)),
    ("big batch", RunConfig(seq_len=200, units=64, batch_size=512, samples=1024, eval_samples=64),
     dict(features=1)),
    ("bidirectional GRU", RunConfig(cell="gru", seq_len=600, units=64, bidirectional=True, samples=512,
                                    eval_samples=64), dict(features=2)),
    ("3 SimpleRNN layers", RunConfig(cell="simplernn", seq_len=800, units=128, layers=3, samples=512,
                                     eval_samples=64), dict(features=1)),
    ("tokens", RunConfig(seq_len=400, units=64, embedding_dim=64, batch_size=128, samples=1024, eval_samples=128),
     dict(tokens=True, vocab=20_000)),
    ("every step", RunConfig(seq_len=100, units=64, embedding_dim=32, samples=512, eval_samples=64),
     dict(tokens=True, vocab=8000, outputs=8000, every_step=True)),
]


def measured_shape(config: RunConfig, tokens: bool = False, vocab: int = 0, outputs: int = 1,
                   every_step: bool = False, features: int = 0) -> Shape:
    if tokens:
        return Shape.for_tokens(config, vocab=vocab, outputs=outputs, every_step=every_step)
    return Shape.for_sequences(config, features=features, outputs=outputs)


@pytest.mark.slow
def test_estimate_within_a_factor_of_two_of_measured_peaks():
    from benchmarks.budget_measure import measure_memory  # the yardstick lives beside the benchmarks

    cases = [(name, config, measured_shape(config, **options)) for name, config, options in MEASURED]
    with ThreadPoolExecutor(2) as pool:  # peaks are per process, so two at a time do not disturb each other
        peaks = list(pool.map(lambda case: measure_memory(case[1], case[2]).peak_bytes, cases))
    report = []
    for (name, config, shape), peak in zip(cases, peaks):
        result = estimate(config, shape)
        added_measured = peak - budget.TENSORFLOW_BYTES
        added_estimated = result.peak_bytes - budget.TENSORFLOW_BYTES
        report.append(f"{name}: measured {peak / MB:.0f} MB, estimated {result.peak_bytes / MB:.0f} MB; "
                      f"added to TensorFlow {added_measured / MB:.0f} vs {added_estimated / MB:.0f} MB")
    text = "\n".join(report)
    print(text)  # shown with pytest -s
    for (name, config, shape), peak in zip(cases, peaks):
        result = estimate(config, shape)
        assert 0.5 < result.peak_bytes / peak < 2, text
        if name == "sine default":
            continue
        # What the run adds on top of TensorFlow is also within 2x, and it is big enough to be a real check.
        added_measured = peak - budget.TENSORFLOW_BYTES
        added_estimated = result.peak_bytes - budget.TENSORFLOW_BYTES
        assert added_measured > 150 * MB, text
        assert 0.5 < added_estimated / added_measured < 2, text
        # Teeth: leaving out the part this shape is about would miss by more than 2x.
        biggest = max(("activations", "logits", "data", "weights"), key=lambda part: result.parts()[part])
        assert (added_estimated - result.parts()[biggest]) / added_measured < 0.5, (name, biggest, text)


def test_estimate_is_instant():
    import time

    config, shape = issue_example()
    started = time.perf_counter()
    for _ in range(1000):
        estimate(config, shape)
    assert time.perf_counter() - started < 1.0
    assert isinstance(estimate(config, shape), Estimate)


def test_the_budget_module_needs_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys; import rnnlab.budget; "
            "sys.exit(1 if {'tensorflow', 'keras', 'numpy', 'rnnlab.data', 'rnnlab.data.imdb'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
