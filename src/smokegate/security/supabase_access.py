"""The requests of the database-access checks: the Supabase project's APIs, with the public anon key only.

The project is another origin than the target: it gets a probe of its own, without Vercel's bypass
header (that secret is for the target's origin only), with the anon key as a browser sends it
(``apikey``, and ``Authorization: Bearer`` for a JWT key; a ``sb_publishable_`` key is no JWT).  A
project that does not answer cannot be judged: that is "could not be determined", never a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smokegate.checks.jwt import unverified_payload
from smokegate.checks.supabase import Project
from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.probe import Exchange, Probe, TargetUnreachable


@dataclass
class SupabaseAccess:
    """The project's URL and anon key, where they were read, and a probe for its origin."""

    project: Project
    target: Target
    on_request: Any = None
    probe: Probe = field(init=False)

    def __post_init__(self) -> None:
        assert self.project.url is not None
        origin = self.target.model_copy(update={"base_url": self.project.url, "vercel_bypass_env": None})
        self.probe = Probe(origin, on_request=self.on_request)

    @property
    def url(self) -> str:
        return self.project.url or ""

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        key = self.project.key or ""
        sent = {"apikey": key, "accept": "application/json"}
        if unverified_payload(key) is not None:
            sent["authorization"] = f"Bearer {key}"
        return {**sent, **(extra or {})}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Exchange:
        try:
            return self.probe.request(method, path, headers=self.headers(headers), **kwargs)
        except TargetUnreachable as exc:
            raise Inconclusive(f"the Supabase project at {self.url} did not answer ({exc}): "
                               "its access rules cannot be judged") from None

    def close(self) -> None:
        self.probe.close()
