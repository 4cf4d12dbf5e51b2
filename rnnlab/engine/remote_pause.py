"""Pause, step and resume for a run training in a Dask worker: the server's presses reach the worker's gate, and the
paused weights come back.

The web server owns, per run, a `distributed.Variable` holding every press so far, in order (["pause", "step",
"resume", ...]), and a `distributed.Event` it sets after each new press, like the run's stop event
(rnnlab/engine/worker.py). In the worker, `PauseWatcher` waits on the event, clears it, reads the presses it has not
applied and applies them to the trainer's `rnnlab.pausing.PauseGate`. The worker clears the event before it reads,
and the server writes before it sets, so no press is lost however quickly they come, and each is applied once.

When the gate starts to hold, `PauseReporter` publishes a "paused" event on the engine's topic: the batch points not
yet sent (so the server's record shows exactly where it stopped), the time it paused and the weights
(`model.get_weights()`), which the server keeps to rebuild the paused network for Inside the cell, Gradients and
Next word. "resumed" follows when it carries on. The server sends nothing but presses, and only to a run that has
started: a queued run has nothing to pause.

    send_presses(client, run_id, ["pause"])                 # in the web server
    PauseWatcher(client, run_id, trainer.pause_gate, ended).start()   # in the worker
"""

from __future__ import annotations

import threading
import time

from distributed import Event, Variable

PRESSES = ("pause", "step", "resume")
# How long the watcher waits on its event before it looks whether its run has ended (a blocking scheduler call).
_WATCH_SECONDS = 0.5
# How long one read of the presses may take before it is tried again.
_READ_SECONDS = 5.0


def pause_event_name(run_id: str) -> str:
    return f"rnnlab-pause-{run_id}"


def presses_name(run_id: str) -> str:
    return f"rnnlab-presses-{run_id}"


def send_presses(client, run_id: str, presses: list[str]) -> None:
    """Tell the worker training `run_id` every press so far (in the web server, in press order)."""
    Variable(presses_name(run_id), client=client).set(list(presses))
    Event(pause_event_name(run_id), client=client).set()


def release(client, run_id: str) -> None:
    """Drop the run's event and variable from the scheduler once it has ended."""
    Event(pause_event_name(run_id), client=client).clear()  # a cleared event is dropped by the scheduler
    Variable(presses_name(run_id), client=client).delete()


class PauseWatcher(threading.Thread):
    """In the worker: applies the server's presses to the trainer's gate until the run has ended."""

    def __init__(self, client, run_id: str, gate, ended: threading.Event) -> None:
        super().__init__(name="rnnlab-pause-watcher", daemon=True)
        self.event = Event(pause_event_name(run_id), client=client)
        self.presses = Variable(presses_name(run_id), client=client)
        self.gate = gate
        self.ended = ended
        self.applied = 0

    def run(self) -> None:
        unread = False  # the event was set and cleared, and the presses it announced are not read yet
        while not self.ended.is_set():
            try:
                if not unread:
                    if not self.event.wait(timeout=_WATCH_SECONDS):
                        continue
                    self.event.clear()
                    unread = True
                presses = self.presses.get(timeout=_READ_SECONDS)
            except TimeoutError:
                # A scheduler slow to answer (a busy machine) is not a closed one: read again. (The watcher used to
                # end here, and every later press of the run, a Step after a Pause, was lost without a word.)
                continue
            except Exception:  # noqa: BLE001 - the scheduler went away: the worker is closing anyway.
                return
            unread = False
            for press in presses[self.applied:]:
                if press in PRESSES:
                    getattr(self.gate, press)()
            self.applied = len(presses)


class PauseReporter:
    """A `PauseGate` watcher in the worker: publishes "paused" (with the weights) and "resumed" to the server."""

    def __init__(self, publish, reporter) -> None:
        self.publish = publish
        self.reporter = reporter  # the run's progress reporter: it knows which batch points the server has

    def on_pause(self, record, weights: list) -> None:
        payload = self.reporter._new_batches(record)
        payload.update(paused_since=record.paused_since or time.time(), steps_done=record.steps_done,
                       weights=weights)
        self.publish("paused", payload)

    def on_resume(self, record) -> None:
        self.publish("resumed", {"paused_seconds": record.paused_seconds})
