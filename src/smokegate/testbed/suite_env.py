"""What a whole run of the suite against the testbed needs: the suites it runs and the environment.

Shared by ``make demo`` (tools/demo.py), ``make screenshots`` and the benches and soak that run the
suite as the demo does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smokegate.testbed.control import RunningTestbed

SUITES = ("tests/smoke", "tests/security", "tests/synthetic", "tests/providers")


def testbed_environment(testbed: RunningTestbed) -> dict[str, str]:
    """Environment the suite needs for the testbed: its fake secrets, its test account, its Vercel bypass
    secret, its Clerk Backend API and its provider stand-ins (tokens and URLs)."""
    from smokegate.testbed import fake_secrets, idp
    from smokegate.testbed import providers as provider_apis

    return {**fake_secrets.env(), **idp.account_env(), "VERCEL_AUTOMATION_BYPASS_SECRET": testbed.bypass_secret,
            "CLERK_API_URL": testbed.clerk_api_url, "OSV_API_URL": testbed.clerk_api_url,
            **provider_apis.environment(testbed.provider_urls)}
