"""CORS (ops guide: "CORS policies configured"): only configured origins are echoed, on GET and preflight."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes, cors
from smokegate.probe import Exchange, Probe
from smokegate.security.config import CorsRoute

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]
# The routes share the code that decides which origins get CORS: a sloppy matcher is one finding.


def _get(probe: Probe, route: CorsRoute, origin: str) -> Exchange:
    return probe.get(route.path, headers={"origin": origin})


def _preflight(probe: Probe, route: CorsRoute, origin: str, method: str = "GET", asked: str = "") -> Exchange:
    return probe.request("OPTIONS", route.path, headers=cors.preflight_headers(origin, method, asked))


@pytest.mark.check(severity="medium", feature="cors")
def test_allowed_origin_echoed(
    security_probe: Probe, cors_route: CorsRoute, allowed_origin: str, check_record: Any
) -> None:
    check_record.cause(*causes.CORS_POLICY)
    for kind, answer in (("GET", _get(security_probe, cors_route, allowed_origin)),
                         ("preflight", _preflight(security_probe, cors_route, allowed_origin))):
        acao = cors.acao(answer.headers)
        assert acao == allowed_origin, (
            f"{kind} {cors_route.path} from {allowed_origin!r} got Access-Control-Allow-Origin {acao!r}; "
            "an allowed origin must get exactly itself back"
        )


@pytest.mark.check(severity="high", feature="cors")
def test_hostile_origin_refused(
    security_probe: Probe, cors_route: CorsRoute, hostile_kind: str, check_record: Any
) -> None:
    check_record.cause(*causes.CORS_POLICY)
    # Derived from every allowed origin: a matcher may be sloppy for one of them only.
    origins = cors.hostile_origins_of_all(cors_route.allowed_origins, hostile_kind,
                                          allow_subdomains=cors_route.allow_subdomains)
    echoed = []
    for origin in origins:
        for kind, answer in (("GET", _get(security_probe, cors_route, origin)),
                             ("preflight", _preflight(security_probe, cors_route, origin))):
            acao = cors.acao(answer.headers)
            if acao is not None:
                credentials = " with credentials" if cors.allows_credentials(answer.headers) else ""
                echoed.append(f"{kind} from {origin!r} got Access-Control-Allow-Origin {acao!r}{credentials}")
    assert not echoed, (
        f"{cors_route.path} ({hostile_kind}): " + "; ".join(echoed)
        + f"; only {', '.join(cors_route.allowed_origins)} may be echoed"
    )


@pytest.mark.check(severity="critical", feature="cors")
def test_no_wildcard_with_credentials(security_probe: Probe, cors_route: CorsRoute, check_record: Any) -> None:
    check_record.cause(*causes.CORS_POLICY)
    for origin in (cors_route.allowed_origins[0], cors.hostile_origins(cors_route.allowed_origins[0])["arbitrary"]):
        answer = _get(security_probe, cors_route, origin)
        assert not (cors.acao(answer.headers) == "*" and cors.allows_credentials(answer.headers)), (
            f"GET {cors_route.path} from {origin!r} answers Access-Control-Allow-Origin: * with "
            "Access-Control-Allow-Credentials: true"
        )


@pytest.mark.check(severity="medium", feature="cors")
def test_echoed_origin_varies_on_origin(security_probe: Probe, cors_route: CorsRoute, check_record: Any) -> None:
    check_record.cause(*causes.CORS_POLICY)
    # Whether an allowed origin is echoed at all is test_allowed_origin_echoed's concern; this one
    # holds every answer that does echo one to Vary: Origin.
    for origin in cors_route.allowed_origins:
        answer = _get(security_probe, cors_route, origin)
        if cors.acao(answer.headers) == origin:
            assert cors.varies_on_origin(answer.headers), (
                f"GET {cors_route.path} echoes {origin!r} but Vary is {answer.headers.get('vary')!r}; "
                "without Vary: Origin a CDN may serve this answer to other origins"
            )


@pytest.mark.check(severity="high", feature="cors")
def test_disallowed_preflight_gets_nothing(security_probe: Probe, cors_route: CorsRoute, check_record: Any) -> None:
    check_record.cause(*causes.CORS_POLICY)
    origin = cors.hostile_origins(cors_route.allowed_origins[0])["arbitrary"]
    answer = _preflight(security_probe, cors_route, origin, "DELETE", "authorization")
    granted = {name: answer.headers[name] for name in (
        "access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers",
        "access-control-allow-credentials") if name in answer.headers}
    assert not granted, (
        f"preflight DELETE {cors_route.path} with authorization from {origin!r} got {granted}; expected no CORS grant"
    )


@pytest.mark.check(severity="medium", feature="cors")
def test_preflight_allows_only_route_methods(security_probe: Probe, cors_route: CorsRoute, check_record: Any) -> None:
    check_record.cause(*causes.CORS_POLICY)
    origin = cors_route.allowed_origins[0]
    answer = _preflight(security_probe, cors_route, origin, "DELETE")
    extra = cors.allowed_methods(answer.headers) - set(cors_route.methods)
    assert not extra, (
        f"preflight {cors_route.path} from {origin!r} allows {', '.join(sorted(extra))}; "
        f"the route serves only {', '.join(cors_route.methods)}"
    )
