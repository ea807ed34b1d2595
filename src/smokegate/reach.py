"""Can the target be tested at all? One probe before the checks run.

If the target gives no HTTP answer (DNS failure, refused connection, TLS handshake failure,
timeout), the run reports that once, as "target unreachable: <reason>", and skips every other
check with the same reason instead of failing each with its own traceback.  Any HTTP answer,
a 503 included, means reachable: the checks then say what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smokegate.config import Target
from smokegate.probe import Probe, TargetUnreachable


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    reason: str | None = None
    status: int | None = None
    version: str | None = None
    requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "reason": self.reason, "status": self.status,
                "version": self.version, "requests": self.requests}

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
    version = None
    try:
        body = json.loads(answer.text)
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            version = body["version"]
    except ValueError:
        pass
    return Reachability(True, status=answer.status, version=version, requests=1)
