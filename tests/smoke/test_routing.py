"""Routing: an unknown route is a 404 page, not a server error."""

from __future__ import annotations

import secrets

import pytest

from smokegate.probe import Probe

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]


@pytest.mark.check(severity="medium", feature="routing")
def test_unknown_route_is_404(probe: Probe) -> None:
    path = f"/smokegate-no-such-page-{secrets.token_hex(4)}"
    answer = probe.get(path, headers={"accept": "text/html"})
    soft = " (a soft 404: the not-found page served as a success, so nothing can tell missing from present)"
    assert answer.status == 404, (
        f"unknown route {path} answered {answer.status}, expected 404{soft if 200 <= answer.status < 300 else ''}"
    )
