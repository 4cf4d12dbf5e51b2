"""Lessons: Markdown files in `lessons/`, read into blocks the Lessons page renders one by one.

A lesson is Markdown with two kinds of special block:

- display maths between `$$` lines (or `$$...$$` on one line), rendered as its own equation, so a formula that spans
  several lines never breaks the paragraph around it;
- a preset, a fenced block that loads a configuration into Build & Train with one click:

      ```try
      SimpleRNN, 8 units, adding problem, 10 steps
      task=adding&cell=simplernn&units=8&seq_len=10
      ```

Everything else is Markdown, passed through as it is (inline maths `$...$` included).

    lesson = read_lesson(Path("lessons/01_sequences_and_hidden_state.md"))
    lesson.title, [block.kind for block in lesson.blocks]
    lesson.presets()                    # [Block(kind="try", label=..., query=...), ...]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.config import RunConfig, from_link

FOLDER = Path(__file__).resolve().parents[1] / "lessons"

_FENCE = re.compile(r"^```(?P<kind>[a-z]+)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_DISPLAY_MATH = re.compile(r"^\$\$(?P<latex>.+?)\$\$[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    """One piece of a lesson: `kind` is "markdown", "math" or "try"."""

    kind: str
    text: str = ""  # markdown: the text; math: the LaTeX between the $$
    label: str = ""  # try: what the button says
    query: str = ""  # try: the settings, as in a shareable link

    @property
    def config(self) -> RunConfig:
        """The configuration a preset loads (its task's defaults, then its settings); ValueError if invalid."""
        return from_link(self.query)


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


def read_lesson(path: Path) -> Lesson:
    """Split a lesson file into blocks; ValueError naming the lesson and the block if a preset is malformed."""
    text = path.read_text(encoding="utf-8")
    title = text.lstrip().splitlines()[0].lstrip("# ").strip() if text.strip() else path.stem
    blocks: list[Block] = []
    position = 0
    for match in _FENCE.finditer(text):
        if match["kind"] != "try":
            continue  # other fenced blocks (code) stay Markdown
        blocks.extend(_markdown_and_math(text[position:match.start()]))
        lines = [line.strip() for line in match["body"].strip().splitlines()]
        if len(lines) != 2 or not lines[0] or not lines[1]:
            raise ValueError(f"{path.name}: a ```try block needs two lines, a label and its settings; found "
                             f"{len(lines)}.")
        blocks.append(Block("try", label=lines[0], query=lines[1].lstrip("?")))
        position = match.end()
    blocks.extend(_markdown_and_math(text[position:]))
    return Lesson(path=path, title=title, blocks=blocks)


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
