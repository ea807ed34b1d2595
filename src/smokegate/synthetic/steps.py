"""What every step of a browser journey shares: its failure (:class:`JourneyFailure`, with a *kind*),
URLs fit for a message, the secrets a step hands to the scrubber as soon as it sees them, and the test
for a provider's bot challenge.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext

from smokegate.failures import CheckFailure
from smokegate.scrub import SCRUBBER

BOT_CHALLENGE = re.compile(
    r"recaptcha|hcaptcha|captcha|unusual traffic|verify it'?s you|are you a robot|challenge-platform|"
    r"this browser or app may not be secure",
    re.I,
)

class JourneyFailure(CheckFailure):
    """A step of the journey failed; ``kind`` says whose problem it likely is."""


def looks_like_bot_challenge(url: str, text: str) -> bool:
    """A provider page asking to prove the visitor is human (captcha, "verify it's you")."""
    return bool(BOT_CHALLENGE.search(url) or BOT_CHALLENGE.search(text[:200_000]))


def redact_url(url: str) -> str:
    """A URL fit for a message: parameter values that could be secrets are dropped."""
    parts = urlsplit(url)
    names = list(parse_qs(parts.query, keep_blank_values=True))
    query = "&".join(f"{n}=…" for n in names)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


def remember_secrets_in(url: str) -> None:
    """Hand the secret-bearing parameters of a URL (an OAuth code, tokens) to the scrubber."""
    params = parse_qs(urlsplit(url).query)
    for name in ("code", "id_token", "access_token", "code_verifier"):
        SCRUBBER.add(*params.get(name, []))


def remember_cookies(context: BrowserContext) -> None:
    SCRUBBER.add(*(cookie.get("value") for cookie in context.cookies()))
