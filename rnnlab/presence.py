"""Who has used this server lately: each page run notes its browser session, so a rule can tell a learner alone on
the server from a class (issue 19's polling: a lone learner's panel polls fast for its first point; in a class,
where every poll is a rerun on the shared server and a redraw in a browser on the same cores, it would slow
everyone down).

    presence = Presence(window=120)
    presence.seen("session-a")
    presence.others("session-a")   # 0: alone
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Presence:
    """The sessions seen in the last `window` seconds. Thread-safe; forgets a session `window` seconds after it was
    last seen, so what it holds stays as small as the number of sessions active at once."""

    def __init__(self, window: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def seen(self, session: str) -> None:
        """Note that `session` is here now."""
        now = self._clock()
        with self._lock:
            self._last[session] = now
            self._forget(now)

    def others(self, session: str) -> int:
        """How many sessions other than `session` were seen in the last `window` seconds."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            return len(self._last) - (session in self._last)

    def _forget(self, now: float) -> None:
        for session in [key for key, last in self._last.items() if now - last > self.window]:
            del self._last[session]
