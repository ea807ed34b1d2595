"""Input validation (ops guide: "Input validation working"): bad input gets a 4xx, never a 5xx or a stack trace.

Intrusive: each probe sends one malformed request to a state-changing route (5 requests per route).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from smokegate.checks import leaks
from smokegate.probe import Exchange, Probe
from smokegate.security.config import JsonRoute

pytestmark = pytest.mark.check(epic="security")

REJECTIONS = (400, 405, 413, 415, 422)


# A route without validation fails every kind of bad input; a build that shows its stack traces shows
# them on every error answer: either is one finding, whichever probes show it.
INTERNALS = ("error answers that show the code's internals (a development build, no error handling)",
             "internals-exposed")


def _verdict(what: str, route: JsonRoute, answer: Exchange, check_record: Any,
             expected: tuple[int, ...] = REJECTIONS) -> None:
    trace = leaks.stack_trace(answer.text)
    framework = leaks.framework_name(answer.text)
    keys = [f"input-validation:{route.path}"] if answer.status not in expected else []
    check_record.cause(f"the input validation of {route.path}", *keys,
                       *([INTERNALS[1]] if trace or framework else []))
    assert answer.status in expected, (
        f"{what} to {route.method} {route.path} answered {answer.status}; expected {'/'.join(map(str, expected))}"
    )
    assert trace is None, f"{what} to {route.path}: the {answer.status} body shows a {trace}"
    assert framework is None, f"{what} to {route.path}: the {answer.status} body names {framework!r}"


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="input-validation")
def test_malformed_json_rejected(security_probe: Probe, json_route: JsonRoute, check_record: Any) -> None:
    body = json.dumps(json_route.valid_body)[:-1] + ",}"
    answer = security_probe.request(json_route.method, json_route.path, content=body,
                                    headers={"content-type": "application/json"})
    _verdict("malformed JSON", json_route, answer, check_record)


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="input-validation")
def test_wrong_types_rejected(security_probe: Probe, json_route: JsonRoute, check_record: Any) -> None:
    answer = security_probe.request(json_route.method, json_route.path, json=json_route.wrong_types_body)
    _verdict("a body with wrong types", json_route, answer, check_record, (400, 422))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_wrong_content_type_rejected(security_probe: Probe, json_route: JsonRoute, check_record: Any) -> None:
    answer = security_probe.request(json_route.method, json_route.path, content=json.dumps(json_route.valid_body),
                                    headers={"content-type": "text/plain"})
    _verdict("a JSON body sent as text/plain", json_route, answer, check_record, (400, 415))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_oversized_body_rejected(security_probe: Probe, json_route: JsonRoute, check_record: Any) -> None:
    size = 2 * json_route.max_body_bytes
    body = {**json_route.valid_body, "padding": "x" * size}
    answer = security_probe.request(json_route.method, json_route.path, json=body)
    _verdict(f"a {size // 1024} KiB body", json_route, answer, check_record, (400, 413))


@pytest.mark.intrusive
@pytest.mark.check(severity="medium", feature="input-validation")
def test_unexpected_method_rejected(security_probe: Probe, json_route: JsonRoute, check_record: Any) -> None:
    method = "DELETE" if json_route.method != "DELETE" else "PUT"
    answer = security_probe.request(method, json_route.path)
    _verdict(f"{method}", json_route, answer, check_record, (405,))


@pytest.mark.safe
@pytest.mark.check(severity="medium", feature="input-validation")
def test_error_pages_hide_internals(security_probe: Probe, check_record: Any) -> None:
    check_record.cause(*INTERNALS)
    missing = secrets.token_hex(4)
    for path in (f"/smokegate-missing-{missing}", f"/api/smokegate-missing-{missing}"):
        answer = security_probe.get(path)
        # Whether it is a 404 at all is the routing check's (smoke) finding; this one reads the page.
        trace = leaks.stack_trace(answer.text)
        assert trace is None, f"the 404 page at {path} shows a {trace}"
