"""Sequences a learner types, for the synthetic tasks, and the network's answers read in the task's own terms.

    parse_sequence("1, 3, 5, 7", dataset)         # count: (1, 4, 1) float32, each value divided by the task's scale
    parse_sequence("0.3 0.9:1 0.2 0.5:1", dataset)  # adding: (1, 4, 2) values and markers
    parse_sequence("A B C D A", dataset)           # recall: (1, 5, 4) one-hot tokens
    typing_help(dataset)                           # one sentence saying what to type for this task

What to type, per task:

- `sine`: readings separated by commas or spaces, e.g. `0, 0.5, 0.9, 1, 0.8` (the training waves stay within ±1.1).
- `count`: whole numbers as you would count, e.g. `1, 3, 5, 7`. The network never sees raw integers: the task
  divides every value by 9 + 5·T (T = the training sequence length), and so does this parser, so `7` becomes
  exactly what the network was trained on for 7.
- `adding`: `value:marker` pairs, e.g. `0.3:0 0.9:1 0.2:0 0.5:1` (a number alone is unmarked), or two lines: the
  values on the first and the 0/1 markers on the second.
- `recall`: the tokens A B C D, e.g. `A B C D A` or `ABCDA`.

Every problem raises ValueError with one sentence saying what is wrong and what to type instead.
"""

from __future__ import annotations

import math
import re

import numpy as np

from rnnlab.tasks import Dataset, count_scale as task_count_scale

# A typed sequence's length limits: the same as the configuration's sequence length (`RunConfig.seq_len`).
MIN_STEPS, MAX_STEPS = 2, 2000

_SEPARATORS = re.compile(r"[\s,;]+")


def count_scale(dataset: Dataset) -> float:
    """What the counting task divides its integers by: 9 + 5·T, the largest value a sequence of T steps reaches.

    It depends on the *training* length T (`dataset.seq_len`), so a typed sequence of any length is scaled
    exactly as the sequences the network was trained on (`rnnlab.tasks.count_scale`).
    """
    return task_count_scale(dataset.seq_len)


def typing_help(dataset: Dataset) -> str:
    """One sentence telling the learner what to type for this dataset's task."""
    limits = f"{MIN_STEPS} to {MAX_STEPS:,} steps"
    if dataset.task == "sine":
        return f"Type readings separated by commas or spaces, e.g. 0, 0.5, 0.9, 1, 0.8 ({limits})."
    if dataset.task == "count":
        return (f"Type whole numbers as you would count, e.g. 1, 3, 5, 7 ({limits}); each is divided by "
                f"{count_scale(dataset):g} (9 + 5 × {dataset.seq_len}, the training length), as the task's data is.")
    if dataset.task == "adding":
        return (f"Type value:marker pairs, e.g. 0.3:0 0.9:1 0.2:0 0.5:1 (a value alone is unmarked), or the values "
                f"on one line and the 0/1 markers on a second ({limits}).")
    if dataset.task == "recall":
        return f"Type the tokens {' '.join(dataset.class_names)}, e.g. A B C D A or ABCDA ({limits})."
    return "Typed sequences are only for the synthetic tasks; pick a validation sequence instead."


def example_text(dataset: Dataset, sequence: np.ndarray) -> str:
    """A sequence (T, features) of this dataset written the way `parse_sequence` reads it back."""
    sequence = np.asarray(sequence)
    if dataset.task == "count":
        return ", ".join(str(int(round(value * count_scale(dataset)))) for value in sequence[:, 0])
    if dataset.task == "adding":
        return " ".join(f"{value:.2f}:{int(round(marker))}" for value, marker in sequence)
    if dataset.task == "recall":
        return " ".join(dataset.class_names[int(index)] for index in sequence.argmax(axis=-1))
    return ", ".join(f"{value:.2f}" for value in sequence[:, 0])


def parse_sequence(text: str, dataset: Dataset) -> np.ndarray:
    """Read a typed sequence for `dataset`'s task into float32 (1, T, features); see the module docstring.

    Raises ValueError with one sentence saying what is wrong and what to type.
    """
    if dataset.is_tokens or dataset.task not in ("sine", "count", "adding", "recall"):
        raise ValueError(f"Typed sequences are only for the synthetic tasks (sine, count, adding, recall), not "
                         f"{dataset.task}; pick a validation sequence instead.")
    text = (text or "").strip()
    if not text:
        raise ValueError(f"The sequence is empty. {typing_help(dataset)}")
    if dataset.task == "sine":
        x = np.asarray(_numbers(_SEPARATORS.split(text), "0, 0.5, 0.9, 1, 0.8"))[:, None]  # (T, 1)
    elif dataset.task == "count":
        x = (np.asarray(_whole_numbers(_SEPARATORS.split(text))) / count_scale(dataset))[:, None]  # (T, 1)
    elif dataset.task == "adding":
        x = _adding(text)  # (T, 2)
    else:
        x = _recall(text, dataset.class_names)  # (T, tokens)
    steps = len(x)
    if steps < MIN_STEPS:
        raise ValueError(f"The sequence has {steps} step{'' if steps == 1 else 's'}; type at least {MIN_STEPS}.")
    if steps > MAX_STEPS:
        raise ValueError(f"The sequence has {steps:,} steps; type at most {MAX_STEPS:,}.")
    return x.astype(np.float32)[None]  # (1, T, features)


def answer_text(dataset: Dataset, output: np.ndarray, target=None) -> str:
    """The network's answer `output` (outputs,) in the task's terms, with the true answer when it is known."""
    output = np.asarray(output, dtype=np.float64).ravel()
    if dataset.kind == "multiclass":
        best = int(output.argmax())
        text = f"**{dataset.class_names[best]}** (probability {output[best]:.2f})"
        if target is not None:
            text += f"; the true answer is **{dataset.class_names[int(target)]}**"
        return text
    if dataset.kind == "binary":
        names = dataset.class_names or ("negative", "positive")
        text = f"**{names[int(output[0] >= 0.5)]}** (probability of {names[1]}: {output[0]:.2f})"
        if target is not None:
            text += f"; the true label is **{names[int(target)]}**"
        return text
    value = float(output[0])
    if dataset.task == "count":
        scale = count_scale(dataset)
        text = f"**{value * scale:.2f}** (the network's {value:.3f} × {scale:g})"
        if target is not None:
            text += f"; the true next value is **{float(np.ravel(target)[0]) * scale:.0f}**"
        return text
    text = f"**{value:.3f}**"
    if target is not None:
        text += f"; the true answer is **{float(np.ravel(target)[0]):.3f}**"
    return text


def _number(token: str, example: str) -> float:
    try:
        value = float(token.replace("−", "-"))
    except ValueError:
        raise ValueError(f"'{token}' is not a number; type numbers separated by commas or spaces, e.g. {example}.") \
            from None
    if not math.isfinite(value):
        raise ValueError(f"'{token}' is not a finite number; type ordinary numbers, e.g. {example}.")
    return value


def _numbers(tokens: list[str], example: str) -> list[float]:
    return [_number(token, example) for token in tokens if token]


def _whole_numbers(tokens: list[str]) -> list[float]:
    values = _numbers(tokens, "1, 3, 5, 7")
    for token, value in zip([token for token in tokens if token], values):
        if not value.is_integer():
            raise ValueError(f"Counting sequences are whole numbers, and '{token}' is not; type e.g. 1, 3, 5, 7.")
    return values


def _marker(token: str) -> float:
    if token.strip() not in ("0", "1", "0.0", "1.0"):
        raise ValueError(f"A marker must be 0 or 1, not '{token}'; type pairs such as 0.3:0 0.9:1.")
    return float(token)


def _adding(text: str) -> np.ndarray:
    lines = [line for line in text.splitlines() if line.strip()]
    if ":" not in text and len(lines) == 2:
        # Two lines: values on the first, markers on the second.
        values = _numbers(_SEPARATORS.split(lines[0].strip()), "0.3, 0.9, 0.2, 0.5")
        markers = [_marker(token) for token in _SEPARATORS.split(lines[1].strip()) if token]
        if len(values) != len(markers):
            raise ValueError(f"The first line has {len(values)} values but the second has {len(markers)} markers; "
                             "give one 0/1 marker per value.")
        return np.stack([values, markers], axis=-1)  # (T, 2)
    pairs = []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        value, _, marker = token.partition(":")
        if not value:
            raise ValueError(f"'{token}' has no value before the colon; type pairs such as 0.3:0 0.9:1.")
        pairs.append((_number(value, "0.3:0 0.9:1 0.2:0 0.5:1"), _marker(marker) if marker else 0.0))
    return np.asarray(pairs, dtype=np.float64).reshape(-1, 2)  # (T, 2)


def _recall(text: str, tokens: tuple[str, ...]) -> np.ndarray:
    letters = []
    for word in _SEPARATORS.split(text.upper()):
        letters.extend(word)  # "ABCDA" and "A B C D A" read the same
    index = {token: position for position, token in enumerate(tokens)}
    unknown = next((letter for letter in letters if letter not in index), None)
    if unknown is not None:
        raise ValueError(f"'{unknown}' is not a token; type only the letters {', '.join(tokens)}, e.g. A B C D A.")
    return np.eye(len(tokens))[[index[letter] for letter in letters]]  # (T, tokens) one-hot
