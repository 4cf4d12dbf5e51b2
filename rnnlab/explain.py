"""Sentences computed from numbers: every claim RNN Lab words on screen comes from here, so it can be tested.

A page never writes "the gradient vanishes" or "the network learned the task" itself: it asks this module, which
looks at the measured numbers and words them only as strongly as they allow.

    from rnnlab import explain
    explain.format_factor(2.1e-5)                      # '2×10⁻⁵'
    explain.describe_ratio(norms, "forward")           # 'the gradient reaching step 1 is 2×10⁻⁵ of the one at step 50'
    explain.run_verdict(record)                        # Verdict('learned', 'Learned the task: ...')
    explain.explain_run(record, epoch=10)              # paragraphs about one run's gradient curve
    explain.describe_map(0.98, 2.7)                    # what Elman's map of the hidden state shows, in words

Index conventions: gradient norms are indexed by input time step (array index 0 is step 1). A forward direction
answers after step T, so its gradient starts at step T and travels back to step 1; a backward direction (in a
Bidirectional layer) reads the sequence from the end and answers after step 1, so its gradient travels from step 1
to step T.
"""

from __future__ import annotations

import math

import numpy as np

from rnnlab.classroom import tallies  # classroom imports nothing of explain; keep the arrow one way
from rnnlab.config import CELL_TITLES
from rnnlab.introspect.gradients import ends, gradient_ratio, main_curve
from rnnlab.records import RunRecord, Status, distinct_names
from rnnlab.verdict import Level, Verdict  # how a run ended: Level.SUCCESS, INFO, WARNING or ERROR

# Within a factor of two either way, the far end's gradient is "about the same size" as the near end's.
FLAT_LOW, FLAT_HIGH = 0.5, 2.0
# Below this share of the learned-nothing loss a run counts as having learned the task; above the last one, not at all.
SOLVED_SHARE, GOOD_SHARE, NOTHING_SHARE = 0.1, 0.5, 0.9
# A classifier's accuracy counts as above (or below) the majority share only beyond this many standard errors.
SIGNIFICANT_ERRORS = 2.0
# The tasks whose answer depends on the first steps of the sequence, and where that information sits.
EARLY_INFORMATION = {
    "adding": "the first marked value sits somewhere in the first half of the sequence",
    "recall": "the token to name is the very first one",
}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


# --- Numbers into words ------------------------------------------------------------------------------------------

def format_factor(value: float) -> str:
    """A positive factor for a sentence: '0.31', '36', or powers of ten as '2×10⁻⁵' and '10⁸' (superscripts)."""
    if not math.isfinite(value):
        return "not a number" if math.isnan(value) else "infinite"
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 100:
        return f"{value:.2g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10**exponent)
    if abs(mantissa) == 10:  # 9.6×10⁻⁶ rounds to 10×10⁻⁶, which is 10⁻⁵
        mantissa, exponent = mantissa // 10, exponent + 1
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return power if mantissa == 1 else f"{mantissa}×{power}"


def describe_ratio(norms, direction: str = "forward") -> str:
    """One sentence comparing the gradient at the far end of the sequence with the one where it enters.

    'the gradient reaching step 1 is 2×10⁻⁵ of the one at step 100' when it vanishes, '... is 36 times the one
    at step 100' when it grows, 'about the same size' within a factor of two. Zero, NaN and too-short inputs get
    a sentence saying so instead of a ratio.
    """
    values = np.asarray(norms, dtype=np.float64).ravel()
    if values.size == 0:
        return "no gradient norms were recorded"
    if values.size == 1:
        return "the sequence has a single time step, so there is no path through time to compare"
    near_step, far_step, near, far = ends(values, direction)
    if not (math.isfinite(near) and math.isfinite(far)):
        return (f"the gradient norms at steps {far_step} and {near_step} are not both finite numbers (the values "
                "overflowed), so there is no ratio to state")
    if near == 0 and far == 0:
        return f"no gradient reaches this layer: ‖∂L/∂h_t‖ is 0 at step {near_step} and at step {far_step}"
    if near == 0:
        return f"the gradient is 0 at step {near_step} but {far:.2g} at step {far_step}, so there is no ratio to state"
    if far == 0:
        return (f"the gradient reaching step {far_step} is 0: it shrank below what the computer can represent "
                f"on its way back from step {near_step}")
    ratio = far / near
    if ratio < FLAT_LOW:
        return f"the gradient reaching step {far_step} is {format_factor(ratio)} of the one at step {near_step}"
    if ratio > FLAT_HIGH:
        return f"the gradient reaching step {far_step} is {format_factor(ratio)} times the one at step {near_step}"
    return (f"the gradient reaching step {far_step} is about the same size as the one at step {near_step} "
            f"({format_factor(ratio)} times it)")


def previous_state(symbol: str, letter: str = "h") -> str:
    """A previous state in the app's plain-text style: 'h_(t−1)' for "t-1", 'c_(t+1)' (LaTeX keeps its own)."""
    return f"{letter}_({symbol.replace('-', '−')})"


def epoch_label(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


def curve_label(layer: str, direction: str, directions: int) -> str:
    return layer if directions == 1 else f"{layer} ({direction})"



# --- What the weights say ---------------------------------------------------------------------------------------

def describe_radius(radius: float) -> str:
    """What a SimpleRNN's spectral radius means for signals and gradients passed through W_hh."""
    if not math.isfinite(radius):
        return "not a number: the weights overflowed"
    if radius > 1.05:
        return ("above 1: the recurrent matrix can stretch a signal step after step, so gradients can grow "
                "(a saturated tanh reins them in; relu does not)")
    if radius < 0.95:
        return (f"below 1: through W_hh alone a signal shrinks by about {radius:.2f} per step, and the "
                "activation's slope (at most 1) shrinks it further")
    return ("close to 1: W_hh alone neither stretches nor shrinks a signal much; the activation's slope "
            "(at most 1 for tanh) decides whether it fades")


def describe_forget_gate(value: float, steps: int) -> str:
    """Illustrate a mean forget gate by what it would do to the cell-state path over `steps` steps."""
    if not math.isfinite(value):
        return "not a number"
    carried = value**steps
    return (f"{value:.3f}: a cell state multiplied by {value:.2f} at each of {steps} steps keeps about "
            f"{format_factor(carried)} of itself, a rough guide to how much the direct memory path carries")



# --- Did it learn, and what does the curve say? ------------------------------------------------------------------

def learning_share(record: RunRecord, epoch: int | None = None) -> float:
    """Validation loss after `epoch` (default: the last) as a share of the learned-nothing loss; NaN if unknown."""
    values = record.history.get("val_loss", [])
    if not values or not math.isfinite(record.baseline_loss) or record.baseline_loss <= 0:
        return math.nan
    index = len(values) - 1 if epoch is None else epoch - 1
    if index < 0 or index >= len(values) or not math.isfinite(values[index]):
        return math.nan
    return values[index] / record.baseline_loss


def share_text(share: float) -> str:
    """'12% of the learned-nothing loss', or '4.4 times the learned-nothing loss' when it is worse than that."""
    if share > 1.05:
        return f"{format_factor(share)} times the learned-nothing loss"
    return f"{share:.0%} of the learned-nothing loss"


def learning_verdict(share: float) -> str:
    """Words for a validation loss as a share of the learned-nothing loss."""
    if not math.isfinite(share):
        return "no finished epoch to judge"
    if share <= SOLVED_SHARE:
        return "learned the task"
    if share <= GOOD_SHARE:
        return "learned a good part of the task"
    if share <= NOTHING_SHARE:
        return "learned a little"
    if share <= 1.05:
        return "learned nothing measurable"
    return "did worse than answering the average"


def _learned(share: float) -> bool:
    return math.isfinite(share) and share <= GOOD_SHARE


def explain_run(record: RunRecord, epoch: int) -> list[str]:
    """Short paragraphs about one run's bottom-layer forward curve, worded only as strongly as its numbers allow."""
    recorded = record.grad_norm_history()
    if not recorded:
        return ["This run recorded no gradient norms."]
    epoch = min(max(epoch, 0), len(recorded) - 1)
    layer, direction, _ = main_curve(recorded[0])
    first = gradient_ratio(recorded[0][layer][direction], direction)
    paragraphs = [f"**Before training**, {describe_ratio(recorded[0][layer][direction], direction)}."]
    if record.kind == "next_token":
        paragraphs.insert(0, NEXT_TOKEN_GRADIENTS)
    if first == first and first < 1e-3:
        paragraphs[0] += " Almost none of the error signal from the answer reaches the start of the sequence."
    elif first == first and first > 1e3:
        paragraphs[0] += (" That is an exploding gradient: the signal grows on its way back, and one update computed "
                          "from it can throw the weights far off.")
    if epoch == 0:
        return paragraphs + _early_information(record, first, math.nan, "before training")

    now = gradient_ratio(recorded[epoch][layer][direction], direction)
    sentence = describe_ratio(recorded[epoch][layer][direction], direction)
    paragraphs.append(f"**{epoch_label(epoch).capitalize()}**, {sentence}.")
    if math.isfinite(first) and math.isfinite(now) and first > 0 and now > 0:
        change = now / first
        if change >= 10:
            paragraphs.append(f"Training made that share {format_factor(change)} times larger: more of the signal "
                              "now reaches the early steps.")
        elif change <= 0.1:
            paragraphs.append(f"Training made that share {format_factor(1 / change)} times smaller: even less of "
                              "the signal reaches the early steps now.")
        else:
            paragraphs.append("Training changed that share by less than a factor of ten.")
    return paragraphs + _early_information(record, now, learning_share(record, epoch), epoch_label(epoch))


def _early_information(record: RunRecord, ratio: float, share: float, when: str) -> list[str]:
    """How the curve bears on learning, for tasks whose answer needs the first steps; nothing for other tasks."""
    where = EARLY_INFORMATION.get(record.config.task)
    if where is None:
        return []
    paragraphs = [f"In this task {where}, so the weights can only learn to keep it if the error signal from the "
                  "answer reaches back there."]
    if not math.isfinite(share):
        return paragraphs
    verdict = f"{when.capitalize()} the network {learning_verdict(share)}: its validation loss is {share_text(share)}."
    weak = math.isfinite(ratio) and ratio < 1e-3
    if _learned(share) and not weak:
        verdict += " It learned, and a measurable share of the gradient reaches step 1: the two go together here."
    elif _learned(share):
        verdict += (" It learned even though little gradient reaches step 1 on this probe now, so the curve alone "
                    "does not tell the whole story.")
    elif weak:
        verdict += " It did not learn, and almost no gradient reaches step 1: the two fit together."
    elif math.isfinite(ratio):
        verdict += (" The gradient does reach step 1, yet it has not learned (yet): gradient flow is needed, "
                    "not enough on its own.")
    return paragraphs + [verdict]


def race_rows(records: list[RunRecord], names: dict[str, str] | None = None) -> list[dict]:
    """One table row per run: how it ended, and its gradient ratio (step 1 over step T) before and after training.
    `names` (by run id) are the names the page shows for the runs; by default they are told apart among `records`."""
    rows = []
    names = {**distinct_names(records), **(names or {})}
    for record in records:
        recorded = record.grad_norm_history()
        before = after = math.nan
        if recorded:
            layer, direction, _ = main_curve(recorded[0])
            before = gradient_ratio(recorded[0][layer][direction], direction)
            if len(recorded) > 1:
                after = gradient_ratio(recorded[-1][layer][direction], direction)
        share = learning_share(record)
        rows.append({
            "run": names[record.run_id],
            "status": record.status,
            "validation loss": record.final("val_loss"),
            "learned-nothing loss": record.baseline_loss,
            "verdict": learning_verdict(share) if record.status != Status.DIVERGED else "diverged",
            "ratio before training": format_factor(before) if math.isfinite(before) else "—",
            "ratio after training": format_factor(after) if math.isfinite(after) else "—",
            "seconds": round(record.wall_seconds, 1),
            "_share": share, "_before": before, "_after": after,
        })
    return rows


def explain_race(records: list[RunRecord], names: dict[str, str] | None = None) -> list[str]:
    """Sentences about a race, checking (not assuming) whether the gradient ratios sort winners from losers."""
    rows = race_rows(records, names)
    learned = [row for row in rows if _learned(row["_share"])]
    stuck = [row for row in rows if math.isfinite(row["_share"]) and not _learned(row["_share"])]
    # The cell and its size name a run here ("LSTM 32"), the task and length being the race's own; where that leaves
    # two runs with one name (three "LSTM 128" runs), each keeps its whole name.
    short = [row["run"].split(" · ")[0] for row in rows]
    label = {row["run"]: (cut if short.count(cut) == 1 else row["run"]) for row, cut in zip(rows, short)}
    names = lambda group: ", ".join(label[row["run"]] for row in group)  # noqa: E731
    paragraphs = []
    if learned:
        paragraphs.append(f"Below half the learned-nothing loss: **{names(learned)}**.")
    if stuck:
        paragraphs.append(f"Not below half of it: **{names(stuck)}**.")
    if not learned or not stuck:
        paragraphs.append("All the finished runs ended on the same side of that line, so this race cannot tell "
                          "which gradient profile goes with learning.")
        return paragraphs
    for moment, key in (("before training", "_before"), ("after training", "_after")):
        if not all(math.isfinite(row[key]) for row in learned + stuck):
            continue  # a run without a ratio at this moment: "every run" could not be checked
        low_learned = min(row[key] for row in learned)
        high_stuck = max(row[key] for row in stuck)
        if low_learned > high_stuck:
            paragraphs.append(f"{moment.capitalize()}, every run that learned kept a larger share of its gradient "
                              "at step 1 than every run that did not.")
        else:
            paragraphs.append(f"{moment.capitalize()}, the share of the gradient reaching step 1 does not sort the "
                              "runs that learned from those that did not: a run that learned had a share as small as "
                              f"{format_factor(low_learned)}, one that did not as large as {format_factor(high_stuck)}.")
    return paragraphs


# --- How a run ended, in one sentence ---------------------------------------------------------------------------

def run_verdict(record: RunRecord, items: str = "sequences") -> Verdict:
    """Judge an ended run against the loss of a network that learned nothing, not just by whether it finished.

    A run that finished but stayed at the baseline (a SimpleRNN on the adding problem at T=50) or ended far above
    it (a clipped run at 10²⁸) is not a success, and the sentence says so with both numbers.
    """
    done = f"{record.epochs_done} epoch{'' if record.epochs_done == 1 else 's'}"
    if record.status in (Status.DIVERGED, Status.FAILED):
        return Verdict(Level.ERROR, record.message or f"The run {record.status}.")
    if record.status == Status.INTERRUPTED:
        return Verdict(Level.WARNING, record.message or f"Interrupted after {done}.")
    if record.status == Status.STOPPED and not record.epochs_done:
        batches = f"{record.steps_done:,} batch{'' if record.steps_done == 1 else 'es'}"
        return Verdict(Level.INFO, f"Stopped before the first epoch ended ({batches}), so there is no validation loss "
                                   "to judge.")
    how = (f"Finished {done} in {record.wall_seconds:.1f} s" if record.status == Status.FINISHED
           else f"Stopped after {done}")
    if record.status == Status.FINISHED:
        how += _time_notes(record, items)
    share = learning_share(record)
    if not math.isfinite(share):
        return Verdict(Level.INFO, f"{how}.")
    if record.kind == "next_token":
        return _next_token_verdict(record, how, share)
    loss, baseline = record.final("val_loss"), record.baseline_loss
    numbers = (f"validation loss {_loss_number(loss)} against {_loss_number(baseline)} for a network that learned "
               "nothing")
    judged = classifier_verdict(record, items)
    if judged is not None:
        return Verdict(judged.level, f"{how}. {judged.sentence} {numbers[0].upper()}{numbers[1:]}.")
    accuracy = record.final("val_accuracy")
    if accuracy is not None:
        numbers += f", validation accuracy {accuracy:.1%}"
    verdict = learning_verdict(share)
    level = Level.SUCCESS if _learned(share) else Level.INFO if share <= NOTHING_SHARE else Level.WARNING
    return Verdict(level, f"{how}. It {verdict}: {numbers}.")


# A run's one-off start (data, building, the probes at initialisation, tracing) is named in its verdict once it is
# at least this long and this share of the run: then it is why the run took longer than the estimate beside Train.
START_NOTE_SECONDS, START_NOTE_SHARE = 1.0, 0.2


def _time_notes(record: RunRecord, items: str) -> str:
    """' (6.1 s of it before the first batch ended: ...; 2,900 training sequences per second after the first
    epoch)', or the part of it that applies, or ''.

    The estimate beside Train is for a worker with nothing else to do, from the settings; on a server just started
    the first batch also waits for its worker to trace the graph on cores shared with workers still starting, so a
    run of "about 4 s in all" took 21.5 s. The sentence says where the time went, from the run's own clock."""
    notes = []
    start = record.first_batch_seconds
    if start >= START_NOTE_SECONDS and start >= START_NOTE_SHARE * record.wall_seconds:
        notes.append(f"{start:.1f} s of it before the first batch ended: making the data, building the network "
                     "and tracing its graph")
    if math.isfinite(record.samples_per_second):
        notes.append(f"{record.samples_per_second:,.0f} training {items} per second after the first epoch")
    return f" ({'; '.join(notes)})" if notes else ""


def classifier_verdict(record: RunRecord, items: str = "sequences") -> Verdict | None:
    """A classifier judged by its accuracy against always answering the commonest class, on its test set (else its
    validation set), with the standard error of that accuracy; None if the record lacks the counts (an old run).

    A loss above the learned-nothing loss can come with an accuracy well above the majority share (an overconfident
    IMDB model: validation loss 0.647 against 0.692, test accuracy 75.6% against 50%), so the loss alone must not
    decide whether a classifier learned.
    """
    for part, accuracy in (("test", record.test_accuracy), ("validation", record.final("val_accuracy"))):
        if accuracy is not None and math.isfinite(accuracy) and part in record.majority:
            break
    else:
        return None
    majority, count = record.majority[part]
    count = int(count)
    error = math.sqrt(max(accuracy * (1 - accuracy), 1 / count) / count)  # binomial; never 0 at 100% accuracy
    numbers = (f"{part} accuracy {accuracy:.1%} (± {error:.1%}, its standard error on {count:,} {part} {items}) "
               f"against {majority:.1%} for always answering the commonest class")
    above = accuracy - majority
    remaining = (1 - accuracy) / (1 - majority) if majority < 1 else math.nan  # share of the majority's errors left
    if above > SIGNIFICANT_ERRORS * error and remaining <= SOLVED_SHARE:
        return Verdict("success", f"It learned the task: {numbers}.")
    if above > SIGNIFICANT_ERRORS * error and remaining <= GOOD_SHARE:
        return Verdict("success", f"It learned a good part of the task: {numbers}.")
    if above > SIGNIFICANT_ERRORS * error:
        return Verdict("info", f"It learned something measurable, more than {SIGNIFICANT_ERRORS:g} standard errors "
                               f"above the commonest class: {numbers}.")
    if above >= -SIGNIFICANT_ERRORS * error:
        return Verdict("warning", f"It learned nothing measurable, within {SIGNIFICANT_ERRORS:g} standard errors "
                                  f"of the commonest class: {numbers}.")
    return Verdict("warning", f"It did worse than always answering the commonest class: {numbers}.")


def _loss_number(value: float) -> str:
    """A loss for a sentence: three significant digits, powers of ten for the huge or tiny."""
    if not math.isfinite(value):
        return "not a number"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 or value == 0 else format_factor(value)


# --- What a class found ------------------------------------------------------------------------------------------

def class_answer(records: list[RunRecord], margin: float = 0.9) -> str:
    """The class's answer to "which cells learn this task at which lengths?" in one sentence, from its runs:
    'At T=50, 7 of 8 LSTM runs and 0 of 9 SimpleRNN runs beat the learned-nothing loss by more than 10%.'"""

    counts = tallies(records, margin)
    if not counts:
        return "No run of the class has finished an epoch yet."
    by_length: dict[int, list[str]] = {}
    for tally in counts:
        by_length.setdefault(tally.seq_len, []).append(
            f"{tally.beat} of {tally.judged} {CELL_TITLES[tally.cell]} run{'' if tally.judged == 1 else 's'}")
    clauses = [f"at T={length}, {_and(parts)}" for length, parts in sorted(by_length.items())]
    sentence = "; ".join(clauses)
    return (f"{sentence[0].upper()}{sentence[1:]} beat the learned-nothing loss by more than "
            f"{1 - margin:.0%}.")


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --- Text generation ------------------------------------------------------------------------------------------

NEXT_TOKEN_GRADIENTS = (
    "**This run predicts a token at every step**, and its loss is the average of all those predictions, so each "
    "hidden state h_t also gets an error signal straight from the prediction made at its own step. The curve shows "
    "how much the whole loss depends on each step's state; a small value at the first steps is not a single "
    "answer's signal fading on its way back, as it is for a task answered after the last step.")
# Elman's map: a between/within distance ratio of at least MAP_CLEAR that grew by MAP_GROUPED over training counts
# as grouping the words by kind; one that moved by less than MAP_SAME (as a share) counts as unchanged.
MAP_CLEAR, MAP_GROUPED, MAP_SAME = 1.5, 1.2, 0.1


def _next_token_verdict(record: RunRecord, how: str, share: float) -> Verdict:
    """A text run against the unigram model. Language has no "solved": a perfect model still has to guess, so the
    sentence compares perplexities instead of claiming the task was learned."""
    unit = {"char": "character", "word": "word"}.get(record.config.level, "token")
    loss, baseline = record.final("val_loss"), record.baseline_loss
    numbers = (f"validation loss {_loss_number(loss)} nats per {unit} (perplexity {_perplexity(loss)}) against "
               f"{_loss_number(baseline)} (perplexity {_perplexity(baseline)}) for the unigram model, which knows only "
               f"how often each {unit} occurs")
    if share <= NOTHING_SHARE:
        return Verdict(Level.SUCCESS, f"{how}. It predicts the next {unit} better than the unigram model: {numbers}. "
                                      f"Its uncertainty is like choosing among {_perplexity(loss)} equally likely "
                                      f"{unit}s at each step.")
    if share <= 1.0:
        return Verdict(Level.INFO, f"{how}. It predicts the next {unit} barely better than the unigram model: "
                                   f"{numbers}.")
    return Verdict(Level.WARNING, f"{how}. It predicts the next {unit} worse than the unigram model: {numbers}.")


def _perplexity(loss: float) -> str:
    if not math.isfinite(loss) or loss > 700:
        return "not a number" if not math.isfinite(loss) else "huge"
    value = math.exp(loss)
    return f"{value:.3g}" if value < 1e4 else format_factor(value)


def describe_map(before: float, after: float) -> list[str]:
    """Sentences about Elman's map from its separation ratios (`rnnlab.introspect.word_map.separation`) before and
    after training, worded only as strongly as the numbers allow."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return ["There are not enough words of each kind here to measure how the states group."]
    numbers = (f"After training, a hidden state lies on average {after:.2f} times as far from the states after words "
               f"of other kinds as from the states after other words of its own kind; before training, "
               f"{before:.2f} times.")
    if after >= MAP_CLEAR and after >= MAP_GROUPED * before:
        verdict = ("Training pulled the words of each kind together, though the network was never told the kinds. "
                   "Words of one kind can be followed by the same words, so a network that predicts the next word "
                   "gains by treating them alike.")
    elif abs(after - before) <= MAP_SAME * before:
        verdict = ("Training left the grouping about where it started: this network has not sorted the words into "
                   "kinds (yet). Train longer, or with more units.")
    elif after < before:
        verdict = "The states of words of one kind are less grouped than before training."
    else:
        verdict = ("Training grouped the words of each kind a little, not strongly: on the map the kinds overlap "
                   "more than they separate.")
    return [numbers, verdict]


def describe_answer(answer: str, trained: bool, next_token: bool, trained_steps: int, steps: int) -> str:
    """What a network answers on one example, and how far to trust it: untrained, or read on a sequence of another
    length than its training sequences.

        describe_answer("0.42 (true 0.40)", trained=True, next_token=False, trained_steps=50, steps=60)
        # "On this sequence the network answers 0.42 (true 0.40). It was trained on sequences of 50 steps and this
        #  one has 60, so its answer may mean less."
    """
    sentence = f"On this sequence the network answers {answer}."
    if not trained:
        sentence += " It has not trained, so this is a guess."
    if next_token and steps > trained_steps:
        # A next-token network answered at every step of its training windows, so only a longer text is new to it.
        sentence += (f" It was trained on windows of {trained_steps} tokens and this text has {steps}: past token "
                     f"{trained_steps} it reads further than it ever did in training.")
    elif not next_token and steps != trained_steps:
        sentence += (f" It was trained on sequences of {trained_steps} steps and this one has {steps}, so its "
                     "answer may mean less.")
    return sentence
