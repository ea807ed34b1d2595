"""CORS: the origins a route must refuse, and what a CORS answer may and may not say.

Hostile origins are derived from an allowed one, each imitating a classic matcher bug: reflecting
anything, trusting ``null``, ``startswith``/``endswith`` checks, an unescaped dot in a regex, ignoring
the scheme, and trusting every subdomain.  A matcher may be written per allowed origin (an exact
match for the apex, a sloppy regex for ``www``), so the look-alikes are derived from every one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

# The kinds of hostile origin, in the order the checks report them.
HOSTILE_KINDS = (
    "arbitrary", "null", "prefix-lookalike", "suffix-lookalike", "unescaped-dot", "http-downgrade", "subdomain",
)


def hostile_origins(allowed_origin: str, *, allow_subdomains: bool = False) -> dict[str, str]:
    """Origins that no correct allowlist containing ``allowed_origin`` accepts, by kind."""
    parts = urlsplit(allowed_origin)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    first, dot, rest = host.partition(".")
    origins = {
        "arbitrary": "https://smokegate-probe.evil.example",
        "null": "null",
        # Passes origin.startswith("https://napoleonai.app").
        "prefix-lookalike": f"https://{host}.evil.example{port}",
        # Passes origin.endswith("napoleonai.app").
        "suffix-lookalike": f"https://evil{host}{port}",
        # Passes the regex ^https://napoleonai.app$ when the dot is not escaped.
        "unescaped-dot": f"https://{first}x{rest}{port}" if dot else f"https://{host}x{port}",
        # Passes a check that compares hosts and forgets the scheme.
        "http-downgrade": f"http://{host}{port}",
        # A random label, so no real subdomain (which might legitimately be allowed) is hit.
        "subdomain": f"https://smokegate-{secrets.token_hex(3)}.{host}{port}",
    }
    if allow_subdomains:
        del origins["subdomain"]
    return origins


def hostile_origins_of_all(allowed_origins: Sequence[str], kind: str, *, allow_subdomains: bool = False) -> list[str]:
    """The hostile origins of one ``kind`` derived from every allowed origin, without duplicates.

    ``arbitrary`` and ``null`` do not depend on the allowed origin, so they come once.
    """
    found: list[str] = []
    for allowed in allowed_origins:
        origin = hostile_origins(allowed, allow_subdomains=allow_subdomains).get(kind)
        if origin is not None and origin not in found and origin not in allowed_origins:
            found.append(origin)
    return found


def acao(headers: Mapping[str, str]) -> str | None:
    value = headers.get("access-control-allow-origin")
    return value.strip() if value is not None else None


def allows_credentials(headers: Mapping[str, str]) -> bool:
    return headers.get("access-control-allow-credentials", "").strip().lower() == "true"


def varies_on_origin(headers: Mapping[str, str]) -> bool:
    vary = headers.get("vary", "")
    return any(token.strip().lower() in ("origin", "*") for token in vary.split(","))


def allowed_methods(headers: Mapping[str, str]) -> set[str]:
    value = headers.get("access-control-allow-methods", "")
    return {m.strip().upper() for m in value.split(",") if m.strip()}


def allowed_headers(headers: Mapping[str, str]) -> set[str]:
    value = headers.get("access-control-allow-headers", "")
    return {h.strip().lower() for h in value.split(",") if h.strip()}


def preflight_headers(origin: str, method: str, request_headers: str = "") -> dict[str, str]:
    headers = {"origin": origin, "access-control-request-method": method}
    if request_headers:
        headers["access-control-request-headers"] = request_headers
    return headers
