"""Input validation (ops guide: "Input validation working"): bad input gets a 4xx, never a 5xx or a stack trace.

Intrusive: each probe sends one malformed request to a state-changing route (5 requests per route).
"""

from __future__ import annotations

import json
import secrets

import pytest

from smokegate.checks import leaks
from smokegate.probe import Exchange, Probe
from smokegate.security.config import JsonRoute

pytestmark = pytest.mark.check(epic="security")

REJECTIONS = (400, 405, 413, 415, 422)


def _verdict(what: str, route: JsonRoute, answer: Exchange, expected: tuple[int, ...] = REJECTIONS) -> None:
    assert answer.status in expected, (
        f"{what} to {route.method} {route.path} answered {answer.status}; expected {'/'.join(map(str, expected))}"
    )
    trace = leaks.stack_trace(answer.text)
    assert trace is None, f"{what} to {route.path}: the {answer.status} body shows a {trace}"
    framework = leaks.framework_name(answer.text)
    assert framework is None, f"{what} to {route.path}: the {answer.status} body names {framework!r}"


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="input-validation")
def test_malformed_json_rejected(security_probe: Probe, json_route: JsonRoute) -> None:
    body = json.dumps(json_route.valid_body)[:-1] + ",}"
    answer = security_probe.request(json_route.method, json_route.path, content=body,
                                    headers={"content-type": "application/json"})
    _verdict("malformed JSON", json_route, answer)


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="input-validation")
def test_wrong_types_rejected(security_probe: Probe, json_route: JsonRoute) -> None:
    answer = security_probe.request(json_route.method, json_route.path, json=json_route.wrong_types_body)
    _verdict("a body with wrong types", json_route, answer, (400, 422))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_wrong_content_type_rejected(security_probe: Probe, json_route: JsonRoute) -> None:
    answer = security_probe.request(json_route.method, json_route.path, content=json.dumps(json_route.valid_body),
                                    headers={"content-type": "text/plain"})
    _verdict("a JSON body sent as text/plain", json_route, answer, (400, 415))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_oversized_body_rejected(security_probe: Probe, json_route: JsonRoute) -> None:
    size = 2 * json_route.max_body_bytes
    body = {**json_route.valid_body, "padding": "x" * size}
    answer = security_probe.request(json_route.method, json_route.path, json=body)
    _verdict(f"a {size // 1024} KiB body", json_route, answer, (400, 413))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_unexpected_method_rejected(security_probe: Probe, json_route: JsonRoute) -> None:
    method = "DELETE" if json_route.method != "DELETE" else "PUT"
    answer = security_probe.request(method, json_route.path)
    _verdict(f"{method}", json_route, answer, (405,))


@pytest.mark.safe
@pytest.mark.check(severity="medium", feature="input-validation")
def test_error_pages_hide_internals(security_probe: Probe) -> None:
    missing = secrets.token_hex(4)
    for path in (f"/smokegate-missing-{missing}", f"/api/smokegate-missing-{missing}"):
        answer = security_probe.get(path)
        # Whether it is a 404 at all is the routing check's (smoke) finding; this one reads the page.
        trace = leaks.stack_trace(answer.text)
        assert trace is None, f"the 404 page at {path} shows a {trace}"
