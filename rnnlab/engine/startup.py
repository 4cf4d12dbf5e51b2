"""How far an engine has got in starting its training workers, and the sentence a learner reads about it.

    state = engine.state()          # EngineState(ready=1, wanted=3, phase="starting", message="")
    state_sentence(state)           # "Starting the training workers: 1 of 3 ready."

The web server starts its engine when its first page runs (`rnnlab.lab.get_lab`), in the background, so the page
answers at once. A local cluster starts one worker first, so that the first learner's run can train while the other
workers are still importing TensorFlow, then the rest, once that one is warm or as soon as a second run waits
(issue 19). Until every worker is ready the Train area says how many are, and a run pressed meanwhile waits in the
queue with its place shown.
"""

from __future__ import annotations

import dataclasses

STARTING, READY, FAILED = "starting", "ready", "failed"


@dataclasses.dataclass(frozen=True)
class EngineState:
    """`ready` workers that have imported TensorFlow and can take a run, of `wanted`; `phase` is "starting",
    "ready" or "failed" (then `message` says why)."""

    ready: int
    wanted: int
    phase: str = READY
    message: str = ""

    @property
    def starting(self) -> bool:
        return self.phase == STARTING


def state_sentence(state: EngineState) -> str:
    """One sentence for the Train area: "" once every worker is ready."""
    if state.phase == FAILED:
        return f"The training workers could not start: {state.message}"
    if state.phase == STARTING:
        return f"Starting the training workers: {state.ready} of {state.wanted} ready."
    return ""
