"""Can the target be tested at all? One probe before the checks run.

If the target gives no HTTP answer (DNS failure, refused connection, TLS handshake failure,
timeout), the run reports that once, as "target unreachable: <reason>", and skips every other
check with the same reason instead of failing each with its own traceback.  The same holds when
the health endpoint answers with a web page instead of the platform's health JSON (a parked domain,
a catch-all rewrite, the wrong URL): one finding, "target does not serve the platform: ...", not
a hundred.  An answer from Vercel's Deployment Protection instead of the app is recorded as
``protection`` (:mod:`smokegate.vercel`): the run cannot judge the app behind it and ends with one
message.  Any other HTTP answer, a 503 included, means testable: the checks then say what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smokegate import vercel
from smokegate.config import Target
from smokegate.probe import Probe, TargetUnreachable

UNREACHABLE = "target unreachable"
NOT_THE_PLATFORM = "target does not serve the platform"


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    reason: str | None = None
    status: int | None = None
    version: str | None = None
    requests: int = 0
    # What the reason means: no HTTP answer at all, or an answer that is not the platform's.
    kind: str = UNREACHABLE
    # How Vercel's Deployment Protection answered instead of the app (None: the app answered).
    protection: str | None = None
    bypass_sent: bool = False

    @property
    def summary(self) -> str:
        """One line for the failure, the skips and the verdict: ``target unreachable: connection refused``."""
        return f"{self.kind}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "reason": self.reason, "status": self.status,
                "version": self.version, "requests": self.requests, "kind": self.kind,
                "protection": self.protection, "bypass_sent": self.bypass_sent}

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
    # Checked after Vercel's protection, whose login page is a web page too.
    content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        problem = (f"GET {target.health.path} answered {answer.status} with a web page ({content_type}), not the "
                   "health JSON: is the URL the platform's?")
        return Reachability(False, reason=problem, status=answer.status, requests=1, kind=NOT_THE_PLATFORM)
    version = None
    try:
        body = json.loads(answer.text)
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            version = body["version"]
    except ValueError:
        pass
    return Reachability(True, status=answer.status, version=version, requests=1)
