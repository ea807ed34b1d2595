"""Can the target be tested at all? One probe before the checks run.

If the target gives no HTTP answer (DNS failure, refused connection, TLS handshake failure,
timeout), the run reports that once, as "target unreachable: <reason>", and skips every other
check with the same reason instead of failing each with its own traceback.  Any HTTP answer,
a 503 included, means reachable: the checks then say what is wrong.  An answer from Vercel's
Deployment Protection instead of the app is recorded as ``protection`` (:mod:`smokegate.vercel`):
the run cannot judge the app behind it and ends with one message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smokegate import vercel
from smokegate.config import Target
from smokegate.probe import Probe, TargetUnreachable


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    reason: str | None = None
    status: int | None = None
    version: str | None = None
    requests: int = 0
    # How Vercel's Deployment Protection answered instead of the app (None: the app answered).
    protection: str | None = None
    bypass_sent: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "reason": self.reason, "status": self.status,
                "version": self.version, "requests": self.requests, "protection": self.protection,
                "bypass_sent": self.bypass_sent}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reachability:
        return cls(**data)


def probe_target(target: Target) -> Reachability:
    """GET the health endpoint once; report reachability and the build it says it runs."""
    with Probe(target) as probe:
        try:
            answer = probe.get(target.health.path, headers={"cache-control": "no-cache"})
        except TargetUnreachable as exc:
            return Reachability(False, reason=str(exc), requests=probe.requests_sent)
    protection = vercel.protection_of(answer.status, answer.headers, answer.text)
    if protection:
        return Reachability(True, status=answer.status, requests=1, protection=protection,
                            bypass_sent=target.bypass() is not None)
    version = None
    try:
        body = json.loads(answer.text)
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            version = body["version"]
    except ValueError:
        pass
    return Reachability(True, status=answer.status, version=version, requests=1)
