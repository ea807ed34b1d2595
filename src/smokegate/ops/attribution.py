"""What the providers said when a run failed: a hint on every incident and alert, never the cause.

A failing run reads the status pages of ``providers.status`` (cached for a minute, in parallel,
bounded by one page timeout) and its ``incident.md`` and alert quote what they report about the
components the platform uses — "Supabase reports a partial outage of Database in eu-west-1 since
10:42 UTC" — under a title that says it is a hint.  Nothing here changes a verdict, a failure kind
or whether anyone is paged; a page that cannot be read is said to be so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smokegate.checks.provider_status import HINT_TITLE, hint_lines

if TYPE_CHECKING:
    from smokegate.config import Target


def provider_hints(target: Target) -> list[str]:
    """One line per provider problem (or one saying there is none), read now; never raises."""
    from smokegate.providers.status import read_all

    try:
        reports = read_all(target)
    except Exception as exc:  # a hint must never break the run's finish
        return [f"the providers' status pages could not be read ({type(exc).__name__})"]
    return hint_lines(reports, datetime.now(UTC))


def incident_section(lines: Sequence[str]) -> str:
    if not lines:
        return ""
    return "\n".join(["", f"## {HINT_TITLE}", "", *(f"- {line}" for line in lines), ""])


def with_hints(payload: dict[str, Any], lines: Sequence[str]) -> dict[str, Any]:
    """A Slack message with the hint as one more section, before the links (a copy; ``text`` unchanged)."""
    if not lines:
        return payload
    text = f"*{HINT_TITLE}*\n" + "\n".join(f"• {_escape(line)}" for line in lines)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    blocks = list(payload.get("blocks") or [])
    at = len(blocks) - 1 if blocks and blocks[-1].get("type") == "context" else len(blocks)
    return {**payload, "blocks": [*blocks[:at], block, *blocks[at:]]}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
