"""Lessons: Markdown files in `lessons/`, read into blocks the Lessons page renders one by one.

A lesson is Markdown with three kinds of special block:

- display maths between `$$` lines (or `$$...$$` on one line), rendered as its own equation, so a formula that spans
  several lines never breaks the paragraph around it;
- a preset, a fenced block that loads a configuration into Build & Train with one click:

      ```try
      SimpleRNN, 8 units, adding problem, 10 steps
      task=adding&cell=simplernn&units=8&seq_len=10
      ```

- a prediction ("predict, then run"): a question, the measurement that decides it, and two to four answers, each
  with the preset it stands for (or, for a yes/no question about one preset, the outcome it stands for):

      ```quiz
      At T = 50, which cell ends 10 epochs of the adding problem with the lowest validation loss?
      lowest val_loss
      - SimpleRNN | task=adding&cell=simplernn
      - LSTM | task=adding&cell=lstm
      - GRU | task=adding&cell=gru
      why: The gated cells can keep the first marked value; see lesson 2.
      ```

      ```quiz
      Does a SimpleRNN learn the adding problem at T = 50 within 10 epochs?
      learns task=adding&cell=simplernn
      - Yes, it ends well below the learned-nothing loss | yes
      - No, it stays near the learned-nothing loss | no
      ```

  Measures: `lowest KEY` / `highest KEY` (a history key: val_loss, val_accuracy, ...), `fewest params` /
  `most params`, `fastest` (sequences per second), and `learns QUERY` (yes when the run's validation loss ends below
  90% of the learned-nothing loss). The right answer is never written in the lesson: the runs decide it.

- a reveal, what the lesson measured for the quiz just above it: Markdown (and display maths) that the page shows
  only once that quiz is decided (answered and, for an experiment, run), so the text never gives the answer away:

      ```reveal
      What we measured: the GRU at 0.038 after 2 epochs, the LSTM still at the learned-nothing line (0.154).
      ```

  Its blocks carry `after_quiz`, the quiz's number; every other block has 0 (always shown).

- a sweep (issue 21.3), a grid of presets a learner runs on their own or a teacher makes the class's sweep: a label,
  the base preset, one `setting = values` line per swept setting (up to three), and `seeds = N`:

      ```sweep
      How long can each cell remember?
      task=adding
      cell = simplernn, lstm, gru
      seq_len = 10, 25, 50
      seeds = 2
      ```

Everything else is Markdown, passed through as it is (inline maths `$...$` included).

    lesson = read_lesson(Path("lessons/01_sequences_and_hidden_state.md"))
    lesson.title, [block.kind for block in lesson.blocks]
    lesson.presets()                    # [Block(kind="try", label=..., query=...), ...]
    lesson.shown(revealed=set())        # the blocks a learner sees before answering any quiz
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.budget import parameter_count
from rnnlab.config import RunConfig, from_link
from rnnlab.data import get_task
from rnnlab.records import RunRecord
from rnnlab.sweep import Sweep, SweepError

FOLDER = Path(__file__).resolve().parents[1] / "lessons"

_FENCE = re.compile(r"^```(?P<kind>[a-z]+)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_DISPLAY_MATH = re.compile(r"^\$\$(?P<latex>.+?)\$\$[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    """One piece of a lesson: `kind` is "markdown", "math", "try", "quiz" or "sweep"."""

    kind: str
    text: str = ""  # markdown: the text; math: the LaTeX between the $$; quiz: the question
    label: str = ""  # try: what the button says
    query: str = ""  # try: the settings, as in a shareable link
    quiz: "Quiz | None" = None
    sweep: "Sweep | None" = None  # sweep: the grid (its base preset is `query`)
    after_quiz: int = 0  # a reveal's text: shown once quiz number `after_quiz` is decided; 0: always shown

    @property
    def config(self) -> RunConfig:
        """The configuration a preset loads (its task's defaults, then its settings); ValueError if invalid."""
        return from_link(self.query)


_MEASURES = {"lowest", "highest", "fewest", "most", "fastest", "learns"}
# A run "learns" when its final validation loss is below this share of the learned-nothing loss.
LEARNS_BELOW = 0.9


@dataclass
class Answer:
    label: str
    key: str  # a preset's query, or for `learns` questions "yes" / "no"


@dataclass
class Quiz:
    """A prediction the learner commits to before the runs that decide it train."""

    question: str
    measure: str  # "lowest val_loss", "fewest params", "learns task=...", ...
    answers: list[Answer]
    why: str = ""
    number: int = 0  # its place among the lesson's quizzes, 1-based: the question's id within the lesson

    @property
    def kind(self) -> str:
        return self.measure.split()[0]

    @property
    def argument(self) -> str:
        return self.measure.split(maxsplit=1)[1] if " " in self.measure else ""

    @property
    def needs_training(self) -> bool:
        """Parameter counts are known exactly before training (the closed forms the layer table shows); every
        other measure needs the runs."""
        return self.kind not in ("fewest", "most")

    def decide_by_counting(self) -> tuple["Answer | None", str]:
        """A parameter question, decided from the networks' exact parameter counts without training them."""
        if self.needs_training:
            raise ValueError("Only a question about parameters can be decided without training.")
        records = [RunRecord(config, params=parameter_count(config, get_task(config.task).budget_shape(config))[0])
                   for config in self.presets()]
        return self.decide(records)

    def presets(self) -> list[RunConfig]:
        """What must train to decide it: one preset per answer, or the one preset of a yes/no question."""
        if self.kind == "learns":
            return [from_link(self.argument)]
        return [from_link(answer.key) for answer in self.answers]

    def decide(self, records: list[RunRecord]) -> tuple[Answer | None, str]:
        """The right answer, decided by the finished runs of `presets()` (same order), and the measured numbers in
        a sentence. (None, sentence) when the runs cannot decide it (one diverged, or did not finish an epoch)."""
        if len(records) != len(self.presets()):
            raise ValueError(f"This question needs {len(self.presets())} runs, not {len(records)}.")
        if self.kind == "learns":
            record = records[0]
            loss, baseline = record.final("val_loss"), record.baseline_loss
            if loss is None or not _finite(loss) or not _finite(baseline):
                return None, "The run ended without a validation loss, so it cannot decide the question."
            learned = loss < LEARNS_BELOW * baseline
            key = "yes" if learned else "no"
            answer = next(answer for answer in self.answers if answer.key == key)
            return answer, (f"Measured: validation loss {loss:.3g} against {baseline:.3g} for a network that learned "
                            f"nothing ({loss / baseline:.0%} of it).")
        values = [self._value(record) for record in records]
        shown = ", ".join(f"{answer.label} {_format(value, self.kind)}" for answer, value in zip(self.answers, values))
        if any(value is None for value in values):
            return None, f"Measured: {shown}. A run without a result cannot be compared, so this one is undecided."
        pick = min if self.kind in ("lowest", "fewest") else max
        best = pick(values)
        if values.count(best) > 1:
            return None, f"Measured: {shown}. A tie: the runs cannot tell the answers apart."
        return self.answers[values.index(best)], f"Measured: {shown} ({self._what()})."

    def _value(self, record: RunRecord) -> float | None:
        if self.kind in ("fewest", "most"):
            return float(record.params)
        if self.kind == "fastest":
            return record.samples_per_second if _finite(record.samples_per_second) else None
        value = record.final(self.argument)
        return value if value is not None and _finite(value) else None

    def _what(self) -> str:
        if self.kind in ("fewest", "most"):
            return "trainable parameters"
        if self.kind == "fastest":
            return "training sequences per second after the first epoch"
        return {"val_loss": "validation loss after the last epoch",
                "val_accuracy": "validation accuracy after the last epoch"}.get(self.argument, self.argument)


@dataclass
class Lesson:
    path: Path
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    def presets(self) -> list[Block]:
        return [block for block in self.blocks if block.kind == "try"]

    def quizzes(self) -> list[Quiz]:
        return [block.quiz for block in self.blocks if block.kind == "quiz"]

    def shown(self, revealed: set[int] | frozenset[int] = frozenset()) -> list[Block]:
        """The blocks a learner sees once the quizzes numbered in `revealed` are decided (none: before answering)."""
        return [block for block in self.blocks if not block.after_quiz or block.after_quiz in revealed]

    def revealed_by(self, number: int) -> list[Block]:
        """The blocks quiz `number` reveals once it is decided (its ```reveal text)."""
        return [block for block in self.blocks if block.after_quiz == number]


def read_lesson(path: Path) -> Lesson:
    """Split a lesson file into blocks; ValueError naming the lesson and the block if a preset is malformed."""
    text = path.read_text(encoding="utf-8")
    title = text.lstrip().splitlines()[0].lstrip("# ").strip() if text.strip() else path.stem
    blocks: list[Block] = []
    position = 0
    quizzes = 0
    for match in _FENCE.finditer(text):
        if match["kind"] not in ("try", "quiz", "reveal", "sweep"):
            continue  # other fenced blocks (code) stay Markdown
        blocks.extend(_markdown_and_math(text[position:match.start()]))
        lines = [line.strip() for line in match["body"].strip().splitlines() if line.strip()]
        if match["kind"] == "reveal":
            if not quizzes:
                raise ValueError(f"{path.name}: a ```reveal block follows the quiz whose result it holds; this one "
                                 "has no quiz above it.")
            revealed = _markdown_and_math(match["body"])
            if not revealed:
                raise ValueError(f"{path.name}: the ```reveal block after quiz {quizzes} is empty.")
            for block in revealed:
                block.after_quiz = quizzes
            blocks.extend(revealed)
        elif match["kind"] == "quiz":
            quizzes += 1
            quiz = _quiz(lines, path.name, quizzes)
            blocks.append(Block("quiz", text=quiz.question, quiz=quiz))
        elif match["kind"] == "sweep":
            blocks.append(_sweep(lines, path.name))
        else:
            if len(lines) != 2:
                raise ValueError(f"{path.name}: a ```try block needs two lines, a label and its settings; found "
                                 f"{len(lines)}.")
            blocks.append(Block("try", label=lines[0], query=lines[1].lstrip("?")))
        position = match.end()
    blocks.extend(_markdown_and_math(text[position:]))
    return Lesson(path=path, title=title, blocks=blocks)


def _quiz(lines: list[str], name: str, number: int) -> Quiz:
    """Read a ```quiz block; ValueError naming the lesson and what is wrong."""
    where = f"{name}, quiz {number}"
    why = next((line[len("why:"):].strip() for line in lines if line.startswith("why:")), "")
    lines = [line for line in lines if not line.startswith("why:")]
    if len(lines) < 4:
        raise ValueError(f"{where}: a ```quiz block needs a question, a measure and two to four answers.")
    question, measure, *options = lines
    if measure.split()[0] not in _MEASURES:
        raise ValueError(f"{where}: the measure {measure!r} must start with one of {', '.join(sorted(_MEASURES))}.")
    answers = []
    for option in options:
        if not option.startswith("- ") or "|" not in option:
            raise ValueError(f"{where}: each answer is a line '- label | preset' (or '| yes' / '| no'); "
                             f"{option!r} is not.")
        label, key = (part.strip() for part in option[2:].rsplit("|", 1))
        answers.append(Answer(label, key.lstrip("?")))
    if not 2 <= len(answers) <= 4:
        raise ValueError(f"{where}: a quiz has two to four answers, not {len(answers)}.")
    quiz = Quiz(question, measure, answers, why, number)
    if quiz.kind == "learns" and sorted(answer.key for answer in answers) != ["no", "yes"]:
        raise ValueError(f"{where}: a 'learns' question has one answer keyed 'yes' and one keyed 'no'.")
    quiz.presets()  # every preset must be a valid link: ValueError naming the bad setting
    return quiz


def _sweep(lines: list[str], name: str) -> Block:
    """Read a ```sweep block; ValueError naming the lesson and what is wrong."""
    if len(lines) < 4 or not lines[-1].replace(" ", "").startswith("seeds="):
        raise ValueError(f"{name}: a ```sweep block needs a label, a base preset, one 'setting = values' line per "
                         "swept setting and a last line 'seeds = N'.")
    label, base, *rows, seeds = lines
    axes = []
    for row in rows:
        if "=" not in row:
            raise ValueError(f"{name}: in a ```sweep block, {row!r} is not a line 'setting = values'.")
        setting, values = (part.strip() for part in row.split("=", 1))
        axes.append((setting, values))
    try:
        sweep = Sweep.make(base, axes, int(seeds.split("=", 1)[1]))
    except (SweepError, ValueError) as error:
        raise ValueError(f"{name}: the sweep {label!r}: {error}") from None
    return Block("sweep", label=label, query=sweep.base, sweep=sweep)


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def _format(value: float | None, kind: str) -> str:
    if value is None:
        return "no result"
    if kind in ("fewest", "most"):
        return f"{value:,.0f}"
    if kind == "fastest":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _markdown_and_math(text: str) -> list[Block]:
    blocks = []
    position = 0
    for match in _DISPLAY_MATH.finditer(text):
        before = text[position:match.start()]
        if before.strip():
            blocks.append(Block("markdown", text=before))
        blocks.append(Block("math", text=" ".join(match["latex"].split())))
        position = match.end()
    if text[position:].strip():
        blocks.append(Block("markdown", text=text[position:]))
    return blocks


def all_lessons(folder: Path = FOLDER) -> list[Lesson]:
    """Every lesson in `folder`, in file-name order (the files are numbered)."""
    return [read_lesson(path) for path in sorted(folder.glob("*.md"))]
