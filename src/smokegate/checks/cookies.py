"""Cookie attributes from ``Set-Cookie`` headers, and the rules a production cookie must follow.

Each rule is its own function so a check says which attribute is wrong on which cookie.  Values are
never returned: a finding names the cookie, not its content.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SetCookie:
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    # For the one caller that must store the cookie (the Vercel bypass); never in a finding or a repr.
    value: str = field(default="", repr=False)

    def has(self, attribute: str) -> bool:
        return attribute.lower() in self.attributes

    def get(self, attribute: str) -> str | None:
        return self.attributes.get(attribute.lower())

    @property
    def same_site(self) -> str | None:
        value = self.get("samesite")
        return value.capitalize() if value else None


def parse_set_cookie(header: str) -> SetCookie:
    """One ``Set-Cookie`` header: the cookie's name and its attributes (names lower-cased)."""
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attributes: dict[str, str] = {}
    for part in rest:
        key, _, attribute = part.strip().partition("=")
        if key:
            attributes[key.strip().lower()] = attribute.strip()
    return SetCookie(name.strip(), attributes, value.strip())


def secure_problem(cookie: SetCookie) -> str | None:
    if not cookie.has("secure"):
        return f"{cookie.name} is set without Secure (it would travel over plain HTTP)"
    return None


def httponly_problem(cookie: SetCookie, script_readable: Collection[str]) -> str | None:
    if cookie.name in script_readable or cookie.has("httponly"):
        return None
    return f"{cookie.name} is readable by scripts (no HttpOnly) and not in the script-readable allowlist"


def samesite_problem(cookie: SetCookie) -> str | None:
    same_site = cookie.same_site
    if same_site in ("Lax", "Strict"):
        return None
    if same_site == "None":
        return None if cookie.has("secure") else f"{cookie.name} has SameSite=None without Secure"
    if same_site is None:
        return f"{cookie.name} has no SameSite attribute (expected Lax or Strict)"
    return f"{cookie.name} has an invalid SameSite={cookie.get('samesite')!r}"


def host_prefix_problem(cookie: SetCookie) -> str | None:
    """``__Host-`` cookies must be Secure, ``Path=/`` and carry no ``Domain`` (RFC 6265bis)."""
    if not cookie.name.startswith("__Host-"):
        return None
    wrong = []
    if cookie.get("path") != "/":
        wrong.append(f"Path={cookie.get('path')!r}")
    if cookie.has("domain"):
        wrong.append(f"Domain={cookie.get('domain')}")
    if not cookie.has("secure"):
        wrong.append("no Secure")
    return f"{cookie.name}: {', '.join(wrong)} (a __Host- cookie needs Path=/, no Domain, Secure)" if wrong else None
