"""What a provider's status page says about the components the platform uses (pure, no network).

Two formats: Atlassian Statuspage's ``/api/v2/summary.json`` (Vercel, Supabase, OpenAI, Clerk) —
``components`` with ``status`` one of ``operational``, ``degraded_performance``, ``partial_outage``,
``major_outage``, ``under_maintenance``, grouped by ``group_id``, and the unresolved ``incidents``
naming the components they affect — and Stripe's own ``status.stripe.com/current``
(``{"statuses": {"api": "up"|"degraded"|"down", ...}, "largestatus", "message", "time"}``).

A page whose shape is not one of these, or that does not list a component the config names, is
reported as such: an unknown page is never read as a healthy one.

What comes out is used twice: the gate's check (a *major* outage of a used component fails it) and
the hint every incident and alert carries (:func:`hint_lines`), which is labelled as a hint and
never changes a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LEVELS = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
WORDS = {
    "operational": "no problem", "under_maintenance": "maintenance", "degraded_performance": "degraded performance",
    "partial_outage": "partial outage", "major_outage": "major outage",
}
STRIPE_LEVELS = {"up": "operational", "degraded": "degraded_performance", "down": "major_outage"}


@dataclass(frozen=True)
class ComponentState:
    """One used component as the page reports it."""

    wanted: str  # as the config names it: "Database/eu-west-1"
    shown: str  # as a person reads it: "Database in eu-west-1"
    status: str  # one of LEVELS
    since: datetime | None = None
    incident: str | None = None

    @property
    def problem(self) -> bool:
        return self.status != "operational"


@dataclass
class PageReport:
    """What one status page said, or why it could not be read."""

    provider: str  # "Supabase"
    url: str
    components: list[ComponentState] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # configured components the page does not list
    unreadable: str | None = None  # why the page could not be read or understood
    fetched_at: datetime | None = None

    @property
    def major(self) -> list[ComponentState]:
        return [c for c in self.components if c.status == "major_outage"]

    @property
    def problems(self) -> list[ComponentState]:
        return [c for c in self.components if c.problem]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_statuspage(provider: str, url: str, body: Any, wanted: Sequence[str]) -> PageReport:
    """A Statuspage ``summary.json`` answer, for the components named in ``wanted``."""
    report = PageReport(provider, url)
    components = body.get("components") if isinstance(body, Mapping) else None
    if not isinstance(components, list) or not all(isinstance(c, Mapping) for c in components):
        report.unreadable = "the answer is not a Statuspage summary (no components list)"
        return report
    by_id = {str(c.get("id")): c for c in components}
    incidents = [i for i in (body.get("incidents") or []) if isinstance(i, Mapping)]
    for name in wanted:
        found = _find(components, by_id, name)
        if found is None:
            report.missing.append(name)
            continue
        component, shown = found
        status = str(component.get("status") or "")
        if status not in LEVELS:
            report.unreadable = f"component {shown!r} has an unknown status {status!r}"
            continue
        since, incident = _incident_for(incidents, str(component.get("id")), component)
        report.components.append(ComponentState(name, shown, status, since, incident))
    return report


def _find(components: list[Mapping[str, Any]], by_id: Mapping[str, Mapping[str, Any]],
          name: str) -> tuple[Mapping[str, Any], str] | None:
    group_name, _, child_name = name.rpartition("/")
    for component in components:
        if str(component.get("name", "")).casefold() != child_name.casefold():
            continue
        if not group_name:
            return component, str(component.get("name"))
        group = by_id.get(str(component.get("group_id")))
        if group is not None and str(group.get("name", "")).casefold() == group_name.casefold():
            return component, f"{group.get('name')} in {component.get('name')}"
    return None


def _incident_for(incidents: list[Mapping[str, Any]], component_id: str,
                  component: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
    """When the trouble began: the earliest unresolved incident naming the component, else its last change."""
    touching = [i for i in incidents if any(isinstance(c, Mapping) and str(c.get("id")) == component_id
                                             for c in i.get("components") or [])]
    dated = sorted(((_time(i.get("started_at")) or _time(i.get("created_at")), str(i.get("name") or ""))
                    for i in touching), key=lambda item: item[0] or datetime.max.replace(tzinfo=UTC))
    if dated and dated[0][0] is not None:
        return dated[0]
    return _time(component.get("updated_at")), (dated[0][1] if dated else None)


def read_stripe(provider: str, url: str, body: Any, wanted: Sequence[str]) -> PageReport:
    """Stripe's ``/current`` answer, for the services named in ``wanted`` (``api``, ``webhooks``...)."""
    report = PageReport(provider, url)
    statuses = body.get("statuses") if isinstance(body, Mapping) else None
    if not isinstance(statuses, Mapping):
        report.unreadable = "the answer is not Stripe's status (no statuses)"
        return report
    since = _time(body.get("time"))
    message = body.get("message") if isinstance(body.get("message"), str) else None
    for name in wanted:
        value = statuses.get(name)
        if value is None:
            report.missing.append(name)
            continue
        status = STRIPE_LEVELS.get(str(value))
        if status is None:
            report.unreadable = f"service {name!r} has an unknown status {value!r}"
            continue
        problem = status != "operational"
        report.components.append(ComponentState(name, name, status, since if problem else None,
                                                message if problem else None))
    return report


def _when(moment: datetime, now: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%H:%M} UTC" if moment.date() == now.astimezone(UTC).date() else f"{moment:%Y-%m-%d %H:%M} UTC"


def describe(state: ComponentState, provider: str, now: datetime) -> str:
    """``Supabase reports a partial outage of Database in eu-west-1 since 10:42 UTC (incident: ...)``."""
    article = "" if state.status == "under_maintenance" else "a "
    text = f"{provider} reports {article}{WORDS[state.status]} of {state.shown}"
    if state.since is not None:
        text += f" since {_when(state.since, now)}"
    if state.incident:
        text += f" (incident: {state.incident})"
    return text


HINT_TITLE = "Provider status at detection time (a hint, not the cause)"


def hint_lines(reports: Sequence[PageReport], now: datetime | None = None) -> list[str]:
    """What the providers said, one line each, for an incident or an alert; never a verdict."""
    now = now or datetime.now(UTC)
    lines: list[str] = []
    for report in reports:
        lines += [describe(state, report.provider, now) for state in report.problems]
        if report.unreadable:
            lines.append(f"{report.provider}'s status page could not be read ({report.unreadable})")
    if not lines and reports:
        names = ", ".join(r.provider for r in reports)
        lines.append(f"no provider reports a problem with a component the platform uses ({names})")
    return lines
