"""Benchmark: signing the synthetic user in, and what the Vercel bypass costs a page load.

1. A signed-in session by Clerk sign-in token (``smokegate.synthetic.ticket``) beside the OAuth
   journey through the identity provider's login form, the peer doing the same job: wall time from a
   fresh browser context to the dashboard greeting, median of SAMPLES each (the Backend API calls
   included for the ticket, a new sign-in token each time).
2. The landing page's load time (Navigation Timing ``loadEventEnd``) behind the testbed's Deployment
   Protection, median of SAMPLES: with the bypass as Vercel's host-only cookie (what the suite does),
   and with the header added by a route that fetches every request itself and fulfils it
   (``route.fetch`` + ``route.fulfill``, the only header route that does not follow redirects to other
   origins), against the same page unprotected.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Route, sync_playwright

from smokegate.config import load_config, resolve_target
from smokegate.synthetic.browser import find_chromium, launch_flags
from smokegate.synthetic.cert_pin import chromium_trust_args
from smokegate.synthetic.clerk_testing import BackendApi, backend_context
from smokegate.synthetic.journey import sign_in
from smokegate.synthetic.ticket import route_testing_token, ticket_sign_in
from smokegate.testbed import idp
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.vercel_protection import HEADER, SET_COOKIE_HEADER

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 10
LOAD_MS = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, RunningTestbed.start(Path(tmp) / "testbed") as testbed:
        # Playwright's own HTTP client (context.request, route.fetch) trusts the testbed's CA only this way.
        os.environ["NODE_EXTRA_CA_CERTS"] = testbed.ca_file
        return run(testbed)


def run(testbed: RunningTestbed) -> int:
    with sync_playwright() as playwright:
        target = resolve_target(load_config(ROOT / "smokegate.toml"), "local", testbed.url).model_copy(
            update={"ca_bundle": testbed.ca_file})
        syn = target.synthetic
        executable = find_chromium(playwright.chromium.executable_path)
        browser = playwright.chromium.launch(
            executable_path=executable, args=[*launch_flags(), *chromium_trust_args(target.base_url, testbed.ca_file)])
        args: dict[str, Any] = {"base_url": target.base_url, "ignore_https_errors": False}

        def timed(job: Callable[[BrowserContext], object]) -> list[float]:
            values = []
            for _ in range(SAMPLES):
                context = browser.new_context(**args)
                started = time.perf_counter()
                job(context)
                values.append((time.perf_counter() - started) * 1000)
                context.close()
            return values

        api = BackendApi(testbed.clerk_api_url, FAKE_SECRETS["CLERK_SECRET_KEY"], 10, backend_context(testbed.ca_file))
        user, testing = api.user_id(syn.clerk.user_email or ""), api.testing_token()
        frontend_api = target.base_url + "/__clerk"

        def by_ticket(context: BrowserContext) -> None:
            route_testing_token(context, frontend_api, testing)
            ticket_sign_in(context.new_page(), syn, api.sign_in_token(user, 300))

        provider = syn.journey_provider()
        assert provider is not None
        account = idp.account_env()

        def by_oauth(context: BrowserContext) -> None:
            sign_in(context.new_page(), syn, provider, target.base_url, account[idp.EMAIL_ENV],
                    account[idp.PASSWORD_ENV])

        ticket, oauth = timed(by_ticket), timed(by_oauth)
        api.close()

        def load(context: BrowserContext) -> float:
            page = context.new_page()
            page.goto("/", wait_until="load")
            return float(page.evaluate(LOAD_MS))

        def once(prepare: Callable[[BrowserContext], None]) -> float:
            context = browser.new_context(**args)
            prepare(context)
            try:
                return load(context)
            finally:
                context.close()

        secret = testbed.bypass_secret
        testbed.set_protection(True)
        probe = browser.new_context(**args)
        probe.request.get(target.url("/api/health"), headers={HEADER: secret, SET_COOKIE_HEADER: "true"},
                          max_redirects=0)
        cookies = probe.cookies(target.base_url)
        probe.close()

        def with_cookie_(context: BrowserContext) -> None:
            context.add_cookies(cookies)  # type: ignore[arg-type]

        def fetch_route(context: BrowserContext) -> None:
            def handle(route: Route) -> None:
                answer = route.fetch(headers={**route.request.headers, HEADER: secret}, max_redirects=0)
                route.fulfill(response=answer)

            context.route(lambda url: url.startswith(target.base_url), handle)

        # Round-robin after two warm-up rounds, so a warming browser or a busy neighbour hits all three alike.
        unprotected, with_cookie, with_route = [], [], []
        for round_ in range(SAMPLES + 2):
            testbed.set_protection(False)
            a = once(lambda context: None)
            testbed.set_protection(True)
            b, c = once(with_cookie_), once(fetch_route)
            if round_ >= 2:
                unprotected.append(a)
                with_cookie.append(b)
                with_route.append(c)
        browser.close()
    med = statistics.median
    print(f"signed-in session, fresh context to dashboard greeting, median of {SAMPLES}:")
    print(f"  OAuth journey (identity provider's login form): {med(oauth):.0f} ms")
    print(f"  Clerk sign-in token (Backend API + ticket):     {med(ticket):.0f} ms "
          f"(ratio to OAuth {med(ticket) / med(oauth):.2f})")
    print(f"landing page loadEventEnd behind Deployment Protection, median of {SAMPLES}:")
    print(f"  unprotected:                               {med(unprotected):.0f} ms")
    print(f"  bypass as Vercel's cookie (the suite's):   {med(with_cookie):.0f} ms "
          f"(ratio {med(with_cookie) / med(unprotected):.2f})")
    print(f"  bypass header by route.fetch + fulfill:    {med(with_route):.0f} ms "
          f"(ratio {med(with_route) / med(unprotected):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
