"""The operations sections of a target (``[targets.NAME.alerts]``): validated with the rest of the config.

Pure pydantic, so the core config can embed it without importing the alerting machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_TIMEOUT_S = 5.0


class AlertSettings(BaseModel):
    """``[targets.<name>.alerts]`` in the target config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consecutive_failures: int = Field(2, ge=1, le=100)
    remind_every_minutes: float = Field(60, ge=0)
    timeout_s: float = Field(MAX_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
    # How many failed checks a Slack message lists before it says "and N more".
    max_listed: int = Field(10, ge=1, le=40)


def parse_alert_settings(raw: AlertSettings | Mapping[str, Any] | None) -> AlertSettings:
    """Validate a target's ``alerts`` section; raises ``ValueError`` naming the bad key."""
    if isinstance(raw, AlertSettings):
        return raw
    try:
        return AlertSettings.model_validate(dict(raw or {}))
    except ValidationError as exc:
        problems = "; ".join(f"alerts.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ValueError(problems) from None
