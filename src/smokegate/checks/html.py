"""Reading what a page references, without a browser: script sources, inline scripts."""

from __future__ import annotations

from html.parser import HTMLParser


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
