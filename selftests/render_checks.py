"""What a rendered report page must hold, measured in a real Chromium: boxes that do not overlap,
links that resolve, no secret anywhere.  Shared by the gate-report and health-report self-tests."""

from __future__ import annotations

import base64
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from smokegate.synthetic.browser import find_chromium, launch_flags

CHROMIUM_ARGS = launch_flags()  # the suite's own quiet-run flags, --no-sandbox as root


def chromium() -> str:
    """The browser the render self-tests open reports in: the one the synthetic suite picks (find_chromium),
    the headless shell where it is installed: the same Blink, at about a third of full Chromium's CPU for a
    launch and a few pages (2.6 CPU-s against 7.3 for three launches of four report pages, measured).
    Raises NoBrowser when there is none."""
    found = find_chromium(None)
    assert found is not None  # with no Playwright browser given, a system executable or NoBrowser
    return found
VIEWPORT = {"width": 1280, "height": 800}

# Every rendered line of text (one box per line, per text node) and every drawn bar or line of a chart.
_BOXES_JS = """
() => {
  const text = [];
  const shapes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const words = node.textContent.trim();
    const parent = node.parentElement;
    if (!words || !parent || parent.closest('template, script, style, title')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width < 1 || r.height < 1) continue;
      text.push({text: words.slice(0, 80), x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height});
    }
  }
  for (const el of document.querySelectorAll('svg rect, svg line, svg path, svg polyline, svg circle')) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 && r.height < 1) continue;
    if (el.closest('svg').getBoundingClientRect().width < 1) continue;
    shapes.push({text: '<' + el.tagName + ' ' + (el.getAttribute('class') || '') + '>',
                 x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height});
  }
  return {text, shapes};
}
"""


@dataclass(frozen=True)
class Box:
    text: str
    x: float
    y: float
    w: float
    h: float

    def overlap(self, other: Box, slack: float = 1.5) -> bool:
        """Do two boxes share more than ``slack`` pixels both ways (anti-aliasing and rounding aside)?"""
        dx = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        dy = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return dx > slack and dy > slack


def boxes(page: Any) -> tuple[list[Box], list[Box]]:
    """The page's text boxes and chart shapes, in page coordinates."""
    found = page.evaluate(_BOXES_JS)
    return [Box(**b) for b in found["text"]], [Box(**b) for b in found["shapes"]]


def overlaps(page: Any) -> list[tuple[Box, Box]]:
    """Pairs of text boxes that overlap each other, or overlap a bar or line of a chart."""
    text, shapes = boxes(page)
    clashes = _pairs(sorted(text, key=lambda b: b.y), sorted(text, key=lambda b: b.y), same=True)
    clashes += _pairs(sorted(text, key=lambda b: b.y), sorted(shapes, key=lambda b: b.y), same=False)
    return clashes


def _pairs(left: list[Box], right: list[Box], *, same: bool) -> list[tuple[Box, Box]]:
    """Overlapping pairs; both lists sorted by top edge, so a scan stops below the box."""
    found = []
    for i, a in enumerate(left):
        for b in (right[i + 1:] if same else right):
            if b.y > a.y + a.h:
                break
            if a.overlap(b):
                found.append((a, b))
    return found


def local_links(page: Any) -> list[str]:
    """Every link of the page to a file (not a fragment, data URI or web address)."""
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and not h.startswith(("#", "data:", "http:", "https:", "mailto:"))]


def resolve(href: str, base: Path) -> Path:
    return base / urllib.parse.unquote(href.split("#", 1)[0])


def files_and_members(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under ``root`` and every member of every archive (traces are zips)."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name)


def secret_hits(roots: Iterable[Path], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(file, secret) for every secret found raw, URL-encoded or base64-encoded in any file."""
    variants = {}
    for secret in secrets:
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            variants[form.encode()] = secret
        variants[base64.b64encode(secret.encode())] = secret
    return [
        (name, secret[:12] + "…")
        for root in roots
        for name, data in files_and_members(root)
        for form, secret in variants.items()
        if form in data
    ]
