"""``[targets.NAME.watch]`` (or ``[defaults.watch]``): how often ``smokegate watch`` runs each suite.

Defaults follow the operations guide: the health checks every 30 s, the smoke suite every 5 min,
the safe security checks and the synthetic journeys every 15 min, the providers' APIs every 15 min
(the daily report's user activity and payment trends, backups, the providers' status).  Per suite::

    [defaults.watch.smoke]
    every_s = 600        # seconds between planned starts
    enabled = false      # do not run this suite at all
    timeout_s = 300      # a run still going after this long is stopped (and reported)

Only the target's own settings decide what a suite may do: the watcher adds nothing intrusive
(the security suite runs its ``safe`` checks only, whatever the target allows).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

SUITE_NAMES = ("health", "smoke", "security", "synthetic", "providers")


class SuiteSchedule(BaseModel):
    """One suite's schedule; each suite below has its own defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every_s: float = Field(300.0, ge=1, le=86_400)
    enabled: StrictBool = True
    timeout_s: float = Field(600.0, gt=0, le=3_600)


class HealthSchedule(SuiteSchedule):
    every_s: float = Field(30.0, ge=1, le=86_400)
    timeout_s: float = Field(120.0, gt=0, le=3_600)


class SmokeSchedule(SuiteSchedule):
    every_s: float = Field(300.0, ge=1, le=86_400)
    timeout_s: float = Field(600.0, gt=0, le=3_600)


class SecuritySchedule(SuiteSchedule):
    every_s: float = Field(900.0, ge=1, le=86_400)
    timeout_s: float = Field(900.0, gt=0, le=3_600)


class SyntheticSchedule(SuiteSchedule):
    every_s: float = Field(900.0, ge=1, le=86_400)
    timeout_s: float = Field(900.0, gt=0, le=3_600)


class ProvidersSchedule(SuiteSchedule):
    every_s: float = Field(900.0, ge=1, le=86_400)
    timeout_s: float = Field(600.0, gt=0, le=3_600)


class WatchSettings(BaseModel):
    """The ``watch`` section of a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    health: HealthSchedule = HealthSchedule()
    smoke: SmokeSchedule = SmokeSchedule()
    security: SecuritySchedule = SecuritySchedule()
    synthetic: SyntheticSchedule = SyntheticSchedule()
    providers: ProvidersSchedule = ProvidersSchedule()

    def schedule(self, suite: str) -> SuiteSchedule:
        if suite not in SUITE_NAMES:
            raise KeyError(suite)
        schedule: SuiteSchedule = getattr(self, suite)
        return schedule
