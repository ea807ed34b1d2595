"""The watcher's dead-man's switch: a URL it calls after every run, so that silence raises the alarm.

A monitor that stops monitoring pages nobody by itself.  Set ``SMOKEGATE_HEARTBEAT_URL`` to a
heartbeat check of an outside service (healthchecks.io's ``https://hc-ping.com/<uuid>``, Better
Stack's or Cronitor's heartbeat URL): ``smokegate watch`` sends it a ``GET`` once at start and after
every finished run (each cycle of its schedule), at most one every ``min_interval_s`` (5 s: twenty
targets' health probes every 30 s would otherwise ping forty times a minute).  When the watcher
dies, hangs, or its runs stop finishing, the pings stop and the outside service alerts after the
grace period set there (a few health intervals, e.g. 2 minutes for the 30 s health suite).

The URL is a secret (whoever holds it can keep the switch quiet): read from the environment only,
never printed or written; a ping's failure is said once (and its recovery), never with the URL.
Pings run in a background thread with a timeout: a dead heartbeat service never slows a run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

HEARTBEAT_ENV = "SMOKEGATE_HEARTBEAT_URL"
TIMEOUT_S = 5.0


class Heartbeat:
    """Pings ``url``; :meth:`beat` returns at once, the request runs in a daemon thread."""

    def __init__(self, url: str, *, say: Callable[[str], None], min_interval_s: float = 5.0,
                 timeout_s: float = TIMEOUT_S) -> None:
        self._url = url
        self._say = say
        self._min_interval_s = min_interval_s
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._busy = False
        self._failing = False
        self.sent = 0
        self.failed = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, say: Callable[[str], None],
                 min_interval_s: float = 5.0) -> Heartbeat | None:
        url = environ.get(HEARTBEAT_ENV, "").strip()
        return cls(url, say=say, min_interval_s=min_interval_s) if url else None

    def beat(self) -> bool:
        """Ping unless one was sent within ``min_interval_s`` or is still under way; True when sent."""
        with self._lock:
            now = time.monotonic()
            if self._busy or now - self._last < self._min_interval_s:
                return False
            self._busy, self._last = True, now
        threading.Thread(target=self._send, name="heartbeat", daemon=True).start()
        return True

    def _send(self) -> None:
        import httpx

        problem: str | None = None
        try:
            with httpx.Client(timeout=httpx.Timeout(self._timeout_s), follow_redirects=True, trust_env=False) as client:
                status = client.get(self._url, headers={"user-agent": "smokegate-watch heartbeat"}).status_code
            if not 200 <= status < 300:
                problem = f"HTTP {status}"
        except Exception as exc:  # any failure is the heartbeat's, never the watcher's
            # The exception's text may quote the URL, which is a secret: the type only.
            problem = type(exc).__name__
        with self._lock:
            self._busy = False
            if problem is None:
                self.sent += 1
                recovered, self._failing = self._failing, False
            else:
                self.failed += 1
                first, self._failing = not self._failing, True
        if problem is None and recovered:
            self._say(f"heartbeat ({HEARTBEAT_ENV}) answered again")
        elif problem is not None and first:
            self._say(f"heartbeat ({HEARTBEAT_ENV}) failed: {problem}; the outside service will raise the alarm "
                      "if this lasts (said once until it answers again)")
