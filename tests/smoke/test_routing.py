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
    assert answer.status == 404, f"unknown route {path} answered {answer.status}, expected 404"
