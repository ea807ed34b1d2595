"""User activity (daily health report): users and active sessions from Clerk's Backend API, counts
only, recorded for the report's trend; and a platform nobody used for a day is a finding (sign-in or
sessions may be broken, or the deployment talks to another Clerk instance).  The synthetic monitor's
own sign-ins are not counted as activity.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from smokegate.config import Target

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="providers")]


@pytest.mark.check(severity="medium", feature="user-activity")
def test_users_were_active_in_the_last_day(target: Target, clerk_backend: Any, check_record: Any) -> None:
    from smokegate.providers.apis import clerk_active_sessions, clerk_count, clerk_user_ids

    cfg = target.providers.clerk
    since_ms = int((time.time() - 86_400) * 1000)
    total = clerk_count(clerk_backend)
    active = clerk_count(clerk_backend, last_active_at_since=since_ms)
    monitor = target.synthetic.clerk.user_email
    monitors = set(clerk_user_ids(clerk_backend, limit=10, email_address=monitor, last_active_at_since=since_ms)
                   if monitor else [])
    looked_up = clerk_user_ids(clerk_backend, limit=cfg.max_session_lookups, last_active_at_since=since_ms,
                               order_by="-last_active_at")
    sessions = sum(clerk_active_sessions(clerk_backend, user) for user in looked_up if user not in monitors)
    people = active - len(monitors)
    check_record.detail("figures", {"users.total": total, "users.active_24h": people, "sessions.active": sessions})
    check_record.detail("sessions_counted_for", len([u for u in looked_up if u not in monitors]))
    assert people >= cfg.min_active_users, (
        f"{people} of {total} Clerk users were active in the last 24 h (the synthetic monitor not counted) < "
        f"{cfg.min_active_users} (providers.clerk.min_active_users): nobody is using the platform; sign-in or "
        "sessions may be broken, or the deployment uses another Clerk instance (guide: User Activity)"
    )
