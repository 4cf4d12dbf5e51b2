"""One verdict for the learner: a level that picks how it is shown, a sentence that says why, and what to turn.

    from rnnlab.verdict import Level, Verdict
    Verdict(Level.REFUSE, "Reduce the units: this run needs about 29 GB, the limit is 2,048 MB.", "the units")
    Verdict(Level.SUCCESS, "Finished 10 epochs in 4.2 s. It learned the task: ...")
    verdict.level == "refuse"        # True: a level is the string it always was (an `enum.StrEnum`)

The budget (`rnnlab.budget.check`) says whether a run may start: ok, warn or refuse, with the knob to turn first.
The explanations (`rnnlab.explain.run_verdict`) say how a run ended, at the four levels of Streamlit's alert boxes:
success, info, warning or error. Both are this class, so a page shows either the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.StrEnum):
    """How a verdict is shown. Values are the strings pages and tests compare with."""

    # Whether a run may start (rnnlab.budget).
    OK = "ok"
    WARN = "warn"  # it fits, but it is heavy
    REFUSE = "refuse"
    # How a run ended (rnnlab.explain), as Streamlit's alert boxes name their colours.
    SUCCESS = "success"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    """A level, a sentence for the learner, and (for the budget) the settings to turn down first, named as the
    learner sees them ("" when no setting helps or none is asked)."""

    level: Level
    sentence: str
    knob: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))  # a bare string is checked and made a Level
