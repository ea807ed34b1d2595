"""URLs found in answers (a ``Location``, a script's ``src``, a ``sourceMappingURL``), read as a browser reads them.

The WHATWG URL parser — ada, the one Node.js uses, through ``ada-url`` — resolves a reference
against the URL it was found on exactly as a browser does (tabs and newlines dropped, backslashes
read as slashes, IDNA, IPv4 in any notation), and says "no URL" where a browser fails, where urllib
raises on ``//[::1`` or a port past 65535 and resolves ``/\\host`` as a path.  Every check that reads
a URL out of an answer goes through here, so no answer's URL can crash it.

Pure logic: no pytest, no network.
"""

from __future__ import annotations

from dataclasses import dataclass

import ada_url


@dataclass(frozen=True)
class Url:
    """A parsed absolute URL: what the checks compare."""

    href: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: str

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}{f':{self.port}' if self.port is not None else ''}"

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def resolve(base: str, reference: str) -> str | None:
    """The absolute URL a browser makes of ``reference`` found on ``base``; None when it cannot."""
    try:
        return str(ada_url.join_url(base, reference))
    except ValueError:
        return None


def parse(url: str | None) -> Url | None:
    """``url`` parsed as a browser parses it (the default port left out); None when it is not a URL."""
    if not url:
        return None
    try:
        found = ada_url.URL(url)
    except ValueError:
        return None
    port = str(found.port)
    return Url(str(found.href), str(found.protocol).removesuffix(":").lower(), str(found.hostname).lower(),
               int(port) if port else None, str(found.pathname), str(found.search).removeprefix("?"))


def origin(url: str | None) -> str | None:
    """The origin of an http(s) URL (``https://host:port``, the default port left out); None otherwise."""
    parsed = parse(url)
    return parsed.origin if parsed is not None and parsed.scheme in ("http", "https") else None
