"""Can the target be tested at all? One probe before the checks run.

If the target gives no usable HTTP answer, the run reports that once, as "target unreachable:
<reason>", and skips every other check with the same reason instead of failing each with its own
traceback.  No usable answer means: a DNS failure, a refused connection or a TLS handshake failure
(these last, and are not retried); a reset, an EOF or a timeout that persists after the probe's
one retry (a single one never ends the run); an answer that never ends or outgrows the probe's
cap; a redirect loop on the target's own origin.  The same holds when the health endpoint answers
with a web page instead of the platform's health JSON (a parked domain, a catch-all rewrite, the
wrong URL): one finding, "target does not serve the platform: ...", not a hundred.  An answer from
Vercel's Deployment Protection instead of the app is recorded as ``protection``
(:mod:`smokegate.vercel_protection`), and a bot challenge (Cloudflare's, Vercel's Security Checkpoint:
:mod:`smokegate.intercepted`) as ``challenge``: the run cannot judge the app behind either and
ends with one message, verdict ``error``, never an outage.  Any
other complete HTTP answer, a 503 included, means testable: the checks then say what is wrong.

Reachability is the one check whose subject is the path to the target: a target that fails twice
in a row to answer is down for its users too, so a persisting network fault here is a finding
(``fail``), where for every other check it is "could not be determined".
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smokegate import vercel_protection as vercel
from smokegate.checks import urls
from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.intercepted import challenge_of
from smokegate.probe import Exchange, Probe, TargetUnreachable, UnusableAnswer

MAX_REDIRECTS = 10

UNREACHABLE = "target unreachable"
NOT_THE_PLATFORM = "target does not serve the platform"


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    reason: str | None = None
    status: int | None = None
    version: str | None = None
    requests: int = 0
    # What the reason means: no HTTP answer at all, or an answer that is not the platform's.
    kind: str = UNREACHABLE
    # How Vercel's Deployment Protection answered instead of the app (None: the app answered).
    protection: str | None = None
    bypass_sent: bool = False
    # Which bot challenge answered instead of the app (Cloudflare's, Vercel's Security Checkpoint).
    challenge: str | None = None
    # Setting up the first connection (TCP connect and TLS handshake, ms): how far away the target is.
    setup_ms: float | None = None

    @property
    def summary(self) -> str:
        """One line for the failure, the skips and the verdict: ``target unreachable: connection refused``."""
        return f"{self.kind}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "reason": self.reason, "status": self.status,
                "version": self.version, "requests": self.requests, "kind": self.kind,
                "protection": self.protection, "bypass_sent": self.bypass_sent, "setup_ms": self.setup_ms,
                "challenge": self.challenge}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reachability:
        return cls(**data)


def probe_target(target: Target) -> Reachability:
    """GET the health endpoint once (a retry on a transient error); report reachability and the build."""
    # Every answer as it came (about=None): reachability tells protection and web pages apart itself.
    with Probe(target, about=None) as probe:
        try:
            answer = probe.get(target.health.path, headers={"cache-control": "no-cache"})
            final = _follow(probe, answer)
        except TargetUnreachable as exc:
            reason, sent = str(exc), probe.requests_sent
            if _not_tls(exc):
                reason, sent = _plain_http_reason(target, reason), sent + 1
            return Reachability(False, reason=reason, requests=sent)
        except Inconclusive as exc:
            return Reachability(False, reason=exc.reason, requests=probe.requests_sent)
        except UnusableAnswer as exc:
            return Reachability(False, reason=f"no usable answer: {exc}", requests=probe.requests_sent)
        except RedirectLoop as exc:
            return Reachability(False, reason=str(exc), requests=probe.requests_sent)
    protection = vercel.protection_of(answer.status, answer.headers, answer.text)
    if protection:
        return Reachability(True, status=answer.status, requests=probe.requests_sent, protection=protection,
                            bypass_sent=target.bypass() is not None)
    challenge = challenge_of(answer.status, answer.headers, answer.text)
    if challenge:
        # A bot challenge is a web page too, but not the wrong URL: the platform may well be behind it.
        return Reachability(True, status=answer.status, requests=probe.requests_sent, challenge=challenge)
    # Checked after Vercel's protection and bot challenges, whose pages are web pages too.
    content_type = final.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        problem = (f"GET {target.health.path} answered {final.status} with a web page ({content_type}), not the "
                   "health JSON: is the URL the platform's?")
        return Reachability(False, reason=problem, status=final.status, requests=probe.requests_sent,
                            kind=NOT_THE_PLATFORM)
    version = None
    try:
        body = final.json()
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            version = body["version"]
    except ValueError:
        pass
    return Reachability(True, status=answer.status, version=version, requests=probe.requests_sent,
                        setup_ms=_setup_ms(answer))


def _not_tls(exc: BaseException) -> bool:
    """Did the TLS handshake fail because the server's first bytes were no TLS record at all?"""
    cursor: BaseException | None = exc
    while cursor is not None:
        if isinstance(cursor, ssl.SSLError) and getattr(cursor, "reason", None) in NOT_TLS_REASONS:
            return True
        cursor = cursor.__cause__ or cursor.__context__
    return False


# OpenSSL's words for a first answer that is not TLS (a plain-HTTP server answers "HTTP/1.1 400").
NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE", "HTTP_REQUEST")


def _plain_http_reason(target: Target, reason: str) -> str:
    """The handshake met no TLS: ask the port in plain HTTP, once, and say what answers there."""
    parts = urlsplit(target.base_url)
    host, port = parts.hostname or "", parts.port or 443
    where = f"{host}:{port}"
    request = (f"HEAD {target.health.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: smokegate\r\n"
               "Connection: close\r\n\r\n").encode("ascii", "replace")
    try:
        with socket.create_connection((host, port), timeout=target.timeout_s) as sock:
            sock.sendall(request)
            first = sock.recv(256).split(b"\r\n", 1)[0].decode("latin-1").strip()
    except OSError:
        first = ""
    if first.startswith("HTTP/"):
        return (f"TLS handshake failed: {where} answers plain HTTP ({first[:60]}), not HTTPS: the URL's port is an "
                f"HTTP port (use its HTTPS port, or an http:// URL)")
    return f"{reason} ({where} does not answer in TLS)"


def _setup_ms(answer: Exchange) -> float | None:
    timing = answer.timing
    return None if timing.connect_ms is None else timing.connect_ms + (timing.tls_ms or 0.0)


class RedirectLoop(Exception):
    """The target's redirects lead back where they started (or on and on): no page can ever load."""


def _follow(probe: Probe, answer: Exchange) -> Exchange:
    """Follow same-origin redirects far enough to tell a loop from a redirect that lands somewhere.

    Redirects to another origin are not followed (no request leaves the target); the checks judge
    the redirect itself.
    """
    origin = urls.origin(answer.url)
    seen = [_path(answer.url)]
    while 300 <= answer.status < 400 and answer.headers.get("location") is not None:
        # Resolved as a browser does (WHATWG URL): a Location it cannot parse goes nowhere.
        url = urls.resolve(answer.url, answer.headers["location"])
        if url is None or urls.origin(url) != origin:
            return answer
        step = _path(url)
        if step in seen or len(seen) > MAX_REDIRECTS:
            hops = " -> ".join([*seen, step])
            raise RedirectLoop(f"redirect loop: {hops} ({answer.status}); a browser gives up with too many redirects")
        seen.append(step)
        answer = probe.get(url, headers={"cache-control": "no-cache"})
    return answer


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
