"""Open redirects: where a browser would go after an answer, and return URLs that try to leave the site.

Sign-in and sign-out routes take a return URL (Clerk's ``redirect_url``, Auth.js's ``callbackUrl``,
``returnTo``, ``next``…).  A validator that only checks ``startsWith("/")``, refuses ``//`` or
compares the host as a string lets ``/\\evil``, ``/<TAB>/evil``, ``https:/\\evil``, ``https://site@evil``
or ``https://site.evil`` through, and the user (with a fresh session, or just signed out) lands on a
phishing page under the site's name.

Where a browser goes is the WHATWG URL parser's answer, the one browsers and Node.js implement
(:mod:`smokegate.checks.urls`: ``ada-url`` binds ada, the parser Node.js uses), so
``new URL(location, requestUrl)`` in a Next.js handler and the browser reading its ``Location`` agree
with :func:`next_hop` byte for byte (tabs and
newlines dropped anywhere, leading C0 and spaces stripped, a backslash read as a slash, any number of
slashes before a host, ``https:host`` on an https page a *path* on the same origin, IDNA mapping of
full-width letters and ideographic full stops, IPv4 in hex, octal or one number).  A redirect counts
as open only when the browser would land on the probe's own hostile host (or its TEST-NET address):
a sign-in route that hands the return URL on to an identity provider's origin (which validates it)
is not one.

The hostile values (:func:`hostile_values`) are at least what the open-redirect scanners and cheat
sheets in common use try, one value per trick, read from:

- PayloadsAllTheThings, "Open Redirect" (README's filter bypasses and ``Intruder/Open-Redirect-payloads.txt``);
- projectdiscovery nuclei-templates, ``dast/vulnerabilities/redirect/open-redirect.yaml`` and
  ``open-redirect-bypass.yaml`` (its bypass payload list);
- OWASP's Unvalidated Redirects and Forwards Cheat Sheet (absolute URLs carrying the trusted name).

Left out on purpose: ``javascript:`` and ``data:`` values (XSS probes: a browser never follows a
``Location`` or a refresh to a non-HTTP(S) URL, Fetch makes it a network error), values a WHATWG
parser rejects outright (``//evil%00.com``, ``https://%09/evil``: the browser shows an error and goes
nowhere), and the legacy look-alikes ``〱``/``ゝ``/``ー`` (no current browser reads them as slashes).

Pure logic: no pytest, no network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser

from smokegate.checks import urls

HOSTILE_HOST = "smokegate-redirect.evil.example"
# The same host as an address (TEST-NET-1, RFC 5737: nobody's) for the numeric-IP tricks, and how a
# WHATWG parser writes it once normalised.
HOSTILE_IP = "192.0.2.1"
_HOSTILE_IPS = frozenset({HOSTILE_IP, "[::ffff:c000:201]"})


def _fullwidth(text: str) -> str:
    """ASCII letters and digits as their full-width forms (IDNA maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


def hostile_values(site_host: str, host: str = HOSTILE_HOST) -> dict[str, str]:
    """Return URLs that each defeat a classic validator, by the name of the trick (sources: module docstring)."""
    label, _, parent = host.partition(".")
    dotted = parent.replace(".", "。")
    ip_number = "3221225985"  # 192.0.2.1 as one number
    return {
        # The plain ones (OWASP; nuclei's open-redirect.yaml).
        "absolute": f"https://{host}/",
        "absolute-http": f"http://{host}/",
        "uppercase-scheme": f"HTTPS://{host}/",
        # Slashes and backslashes that still start an authority (PayloadsAllTheThings; nuclei bypass).
        "scheme-relative": f"//{host}/",
        "triple-slash": f"///{host}/",
        "quadruple-slash": f"////{host}/",
        "backslash": f"/\\{host}/",
        "double-backslash": f"\\\\{host}/",
        "escaped-slashes": f"\\/\\/{host}/",
        "slash-backslash-slash": f"/\\/{host}/",
        "slash-slash-backslash": f"//\\{host}/",
        # A scheme without (or with odd) slashes: an authority unless it is the page's own scheme.
        "https-without-slashes": f"https:{host}",
        "http-without-slashes": f"http:{host}",
        "https-one-slash": f"https:/{host}",
        "https-slash-backslash": f"https:/\\{host}",
        "https-backslashes": f"https:\\\\{host}",
        "https-triple-slash": f"https:///{host}/",
        # Tabs and newlines are dropped by the parser after a validator looked (PayloadsAllTheThings
        # /%09/, nuclei %0a/ %0d/), leading spaces and controls are stripped.
        "tab-between-slashes": f"/\t/{host}/",
        "newline-between-slashes": f"/\n/{host}/",
        "crlf-between-slashes": f"/\r\n/{host}/",
        "tab-in-scheme": f"ht\ttps://{host}/",
        "crlf-after-scheme": f"https://\n\r{host}/",
        "leading-space": f" //{host}/",
        "leading-tab": f"\t//{host}/",
        # The trusted name where a string comparison looks for it (OWASP; PayloadsAllTheThings).
        "userinfo": f"https://{site_host}@{host}/",
        "userinfo-scheme-relative": f"//{site_host}@{host}/",
        "semicolon-userinfo": f"//;@{host}/",
        "host-prefix": f"https://{site_host}.{host}/",
        "backslash-before-at": f"//{host}\\@{site_host}/",
        "fragment-before-at": f"https://{host}#@{site_host}/",
        "query-before-at": f"https://{host}?@{site_host}/",
        "empty-userinfo-backslash": f"https://:@{host}\\@{site_host}",
        # Values a server glues behind its own origin ("https://site" + value).
        "at-prefix": f"@{host}/",
        "dot-prefix": f".{host}/",
        # IDNA and percent-encoding in the host (PayloadsAllTheThings %E3%80%82, nuclei %69%6e...).
        "ideographic-full-stop": f"//{label}.{dotted}/",
        "ideographic-full-stop-encoded": f"//{label}.{parent.replace('.', '%E3%80%82')}/",
        "fullwidth-host": f"//{_fullwidth(host)}/",
        "percent-encoded-host": "https://" + "".join(f"%{ord(c):02x}" for c in host) + "/",
        # Decoded once more by the app before it redirects (nuclei https%3a%2f%2f, %5c).
        "encoded-scheme-relative": f"%2F%2F{host}/",
        "encoded-absolute": f"https%3A%2F%2F{host}%2F",
        "encoded-backslash": f"/%5c{host}/",
        # The address in the forms a URL parser accepts (PayloadsAllTheThings' IP list).
        "decimal-ip": f"http://{ip_number}/",
        "hex-ip": "http://0xc0.0x0.0x2.0x1/",
        "octal-ip": "http://0300.0.02.01/",
        "ipv4-mapped-ipv6": f"http://[::ffff:{HOSTILE_IP}]/",
        "ip-without-slashes": f"http:{ip_number}",
    }


def lands_on(url: str | None, host: str = HOSTILE_HOST) -> bool:
    """Whether ``url`` is on ``host`` (or below it), or on its address."""
    parsed = urls.parse(url)
    if parsed is None:
        return False
    found = parsed.host.rstrip(".")
    return found == host or found.endswith("." + host) or (host == HOSTILE_HOST and found in _HOSTILE_IPS)


class _Refresh(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.url: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh" and self.url is None:
            match = re.search(r"url\s*=\s*['\"]?([^'\"]*)", values.get("content", ""), re.IGNORECASE)
            if match and match.group(1).strip():
                self.url = match.group(1).strip()


def refresh_url(html: str) -> str | None:
    """The URL of a ``<meta http-equiv="refresh">`` (Next.js's redirect() once streaming started)."""
    parser = _Refresh()
    parser.feed(html[:100000])
    return parser.url


def next_hop(url: str, status: int, headers: Mapping[str, str], text: str) -> str | None:
    """Where a browser goes next from this answer: its Location, or its refresh URL; None to stay.

    A ``Location`` a browser cannot parse, or one on a scheme other than http(s), goes nowhere.
    """
    found: str | None = None
    if 300 <= status < 400 and headers.get("location") is not None:
        found = urls.resolve(url, headers["location"])
    elif 200 <= status < 300 and "html" in headers.get("content-type", ""):
        refresh = refresh_url(text)
        found = urls.resolve(url, refresh) if refresh is not None else None
    if found is None or not found.startswith(("http://", "https://")):
        return None
    return found
