"""Reading what a page references, without a browser: script sources, inline scripts, absolute URLs."""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser

from smokegate.checks import urls

# Attributes whose value is a URL (``content`` only on the <meta> tags that carry one).
_URL_ATTRIBUTES = ("href", "src", "action", "content")


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []
        self.inline: list[str] = []
        self._in_script = False
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            src = values.get("src")
            if src:
                self.sources.append(src)
            else:
                self._in_script = True
                self._buffer = []
        elif tag == "link" and values.get("as") == "script" and values.get("href"):
            self.sources.append(values["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self.inline.append("".join(self._buffer))
            self._in_script = False


def script_sources(html: str) -> list[str]:
    """``src`` of every ``<script>`` and ``href`` of every script preload, deduplicated, in order."""
    parser = _Scripts()
    parser.feed(html)
    return list(dict.fromkeys(parser.sources))


def inline_scripts(html: str) -> list[str]:
    """The text of every inline ``<script>`` (such as Next.js's ``self.__next_f.push`` payloads)."""
    parser = _Scripts()
    parser.feed(html)
    return parser.inline


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value and value.strip().lower().startswith(("http://", "https://", "//")):
                self.urls.append(value.strip())


def absolute_urls(html: str) -> list[str]:
    """Every absolute URL the page's tags point at (links, scripts, images, forms, meta), in order."""
    parser = _Urls()
    parser.feed(html)
    return list(dict.fromkeys(parser.urls))


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urls.parse(url if "://" in url else "https:" + url)
    return (parsed.scheme, parsed.host, parsed.port) if parsed is not None else ("", "", None)


def development_urls(html: str, own_origin: str, hosts: Iterable[str]) -> list[str]:
    """URLs the page points at on a development host (``localhost:3000``…) other than the page's own origin.

    A production page that links to a development server was built with a development value for
    its public URL (``NEXT_PUBLIC_APP_URL``): canonical links, social previews and redirects break for
    every visitor.  ``hosts`` lists host names, and suffixes starting with a dot (``.local``).
    """
    own = _origin(own_origin)
    names = {h.lower().strip("[]") for h in hosts if not h.startswith(".")}
    suffixes = tuple(h.lower() for h in hosts if h.startswith("."))
    found = []
    for url in absolute_urls(html):
        origin = _origin(url)
        host = origin[1].strip("[]")
        if origin != own and (host in names or host.endswith(suffixes)):
            found.append(url)
    return found
