"""The fault catalog: every way the testbed can be broken, and the checks that must notice.

Each :class:`Fault` names what breaks and the check ids that must fail when it is switched on
(a check id is a test node id relative to ``tests/``, parameter included).  The self-tests read
this catalog: with a fault on, exactly its checks fail and every other check of the suites it
touches passes; a check caught by no fault fails the build.  A fault whose ``others`` is "skip"
takes the whole target down, so every other check must be skipped rather than passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    catches: tuple[str, ...]
    others: Literal["pass", "skip"] = "pass"

    @property
    def suites(self) -> tuple[str, ...]:
        """The suite directories (smoke, security, synthetic) whose checks this fault touches."""
        return tuple(sorted({check.split("/", 1)[0] for check in self.catches}))


def _f(name: str, description: str, *catches: str, others: Literal["pass", "skip"] = "pass") -> Fault:
    return Fault(name, description, tuple(catches), others)


SMOKE = (
    _f(
        "target-down",
        "the HTTPS listener stops: connections are refused",
        "smoke/test_reachability.py::test_target_is_reachable",
        others="skip",
    ),
    _f(
        "health-db-down",
        "database unreachable: /api/health answers 503 with database in error",
        "smoke/test_health.py::test_health_answers_200",
        "smoke/test_health.py::test_health_reports_every_component_ok",
        "smoke/test_health.py::test_database_latency_within_budget",
        "smoke/test_error_rate.py::test_error_rate_under_budget",
    ),
    _f(
        "health-slow",
        "/api/health takes 800 ms to answer",
        "smoke/test_health.py::test_health_latency_within_budget",
    ),
    _f(
        "health-db-slow",
        "/api/health reports a database latency of 300 ms",
        "smoke/test_health.py::test_database_latency_within_budget",
    ),
    _f(
        "wrong-version",
        "/api/health reports a build other than the one deployed (a stale cache or old alias)",
        "smoke/test_health.py::test_deployment_is_expected_version",
    ),
    _f(
        "page-slow",
        "/pricing takes 2.5 s to render",
        "smoke/test_pages.py::test_page_loads_within_budget[pricing]",
    ),
    _f(
        "page-500",
        "/pricing answers 500 with Next.js's error page",
        "smoke/test_pages.py::test_page_answers_200[pricing]",
        "smoke/test_pages.py::test_page_shows_expected_text[pricing]",
    ),
    _f(
        "page-text-missing",
        "/pricing renders without its plans (the data fetch failed silently)",
        "smoke/test_pages.py::test_page_shows_expected_text[pricing]",
    ),
    _f(
        "chunk-broken",
        "a JavaScript chunk the landing page references answers 404 (a partial deploy)",
        "smoke/test_static.py::test_landing_page_scripts_load",
    ),
    _f(
        "unknown-route-500",
        "an unknown route answers 500 instead of the 404 page",
        "smoke/test_routing.py::test_unknown_route_is_404",
    ),
    _f(
        "error-5pct",
        "under concurrent load (3+ client connections), 1 request in 20 answers 502 (upstream pool exhausted)",
        "smoke/test_error_rate.py::test_error_rate_under_budget",
    ),
    _f(
        "api-slow",
        "GET /api/plans takes 800 ms",
        "smoke/test_api.py::test_api_within_budget[plans]",
    ),
    _f(
        "api-error",
        "GET /api/plans answers 500",
        "smoke/test_api.py::test_api_answers_expected_status[plans]",
    ),
)

SECURITY: tuple[Fault, ...] = ()

SYNTHETIC: tuple[Fault, ...] = ()

CATALOG: dict[str, Fault] = {fault.name: fault for fault in (*SMOKE, *SECURITY, *SYNTHETIC)}


def get(name: str) -> Fault:
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown fault {name!r}; known: {', '.join(sorted(CATALOG))}") from None
