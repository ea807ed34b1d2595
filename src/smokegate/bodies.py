"""Content decoding with a cap on what comes out: a gzip bomb stops at the cap, not in the memory.

httpx decodes ``Content-Encoding`` a network chunk at a time with no limit on the output: 64 KiB of
``gzip`` can expand to 64 MiB, and ``Content-Encoding: gzip, gzip`` to gigabytes, before the probe's
size cap sees a byte.  :class:`BoundedDecoder` decodes the same encodings httpx does without
optional packages (``gzip``, ``deflate``; an unknown coding is passed through, as httpx does), and
never produces more than ``limit + 1`` bytes from any layer, so the probe can stop at its cap.
:func:`parse_json` reads a JSON body without letting its nesting crash the reader.

Pure logic: no network.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

# What the probe asks for: exactly what it can decode bounded (httpx would add br/zstd when their
# packages happen to be installed, and decode those unbounded).
ACCEPT_ENCODING = "gzip, deflate"


def parse_json(text: str) -> Any:
    """``json.loads`` for a body the target sent: JSON nested past the parser's recursion limit is a
    ``ValueError`` like any other broken JSON (``json.loads`` raises ``RecursionError``)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested deeper than the parser goes") from None


class Oversized(Exception):
    """The decoded body outgrew the limit."""


class Undecodable(Exception):
    """The body does not decode as its ``Content-Encoding`` says (a browser shows ERR_CONTENT_DECODING_FAILED)."""


class _Inflate:
    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.first = True
        self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)

    def feed(self, data: bytes, bound: int) -> bytes:
        first, self.first = self.first, False
        try:
            out = self.inflater.decompress(data, bound)
        except zlib.error as exc:
            if first and self.coding == "deflate":
                # "deflate" is zlib-wrapped by the RFC, raw in some servers: httpx accepts both.
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, bound)
            raise Undecodable(f"{self.coding}: {exc}") from None
        if self.inflater.unconsumed_tail:
            raise Oversized
        return out

    def flush(self, bound: int) -> bytes:
        try:
            out = self.inflater.flush(bound)
        except zlib.error as exc:  # pragma: no cover - flush of a broken stream
            raise Undecodable(f"{self.coding}: {exc}") from None
        if len(out) >= bound:
            raise Oversized
        return out


class BoundedDecoder:
    """Decodes ``Content-Encoding`` layers (as listed, applied in that order); never holds more than
    ``limit + 1`` decoded bytes of one chunk, and raises :class:`Oversized` past ``limit`` in all."""

    def __init__(self, codings: Sequence[str], limit: int) -> None:
        known = [c.strip().lower() for c in codings if c.strip().lower() in ("gzip", "deflate")]
        self.layers = [_Inflate(c) for c in reversed(known)]
        self.limit = limit
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        for layer in self.layers:
            data = layer.feed(data, self.limit + 1)
        return self._count(data)

    def flush(self) -> bytes:
        data = b""
        for layer in self.layers:
            data = (layer.feed(data, self.limit + 1) if data else b"") + layer.flush(self.limit + 1)
        return self._count(data)

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise Oversized
        return data
