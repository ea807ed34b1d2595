"""The framework versions a deployment serves, read from its scripts as a browser runs them.

Without a browser, from the same files the browser executes:

- Next.js: its client runtime sets ``window.next = {version: "<version>", appDir: true}`` (App Router,
  ``next/dist/client/app-bootstrap.js``) or ``window.next = {version, router, emitter}`` (Pages Router,
  ``next/dist/client/next.js``).  The version is a literal the build inlines; minifiers either keep it
  in place (``window.next={version:"16.5.0",appDir:!0}``) or hoist it into a variable
  (``let r="16.5.0";window.next={version:r,...}``).  Wappalyzer reads the same property in a browser.
- React: react-dom registers each renderer with React DevTools' global hook,
  ``{bundleType:0,version:"<version>",rendererPackageName:"react-dom",...}``, a literal in its
  production bundle whether a hook is installed or not (with one installed before load, as
  DevTools and Wappalyzer do, the hook's ``renderers`` map holds the same object).  React refuses to
  run with a react-dom of another version, so the two are one version.
- The RSC packages (``react-server-dom-webpack`` or ``-turbopack``) run on the server only and carry
  no version of their own in the client; Next.js's App Router (its ``self.__next_f`` payload in the
  page) bundles them at its React's version, and a Turbopack build's chunks say ``TURBOPACK``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEMVER = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?"
_NEXT_LITERAL = re.compile(r"window\.next\s*=\s*\{\s*version\s*:\s*[\"'](" + _SEMVER + r")[\"']")
_NEXT_NAME = re.compile(r"window\.next\s*=\s*\{\s*version\s*:\s*([A-Za-z_$][\w$]*)\s*[,}]")
_REACT_DOM = re.compile(
    r"version\s*:\s*[\"'](" + _SEMVER + r")[\"']\s*,\s*rendererPackageName\s*:\s*[\"']react-dom[\"']"
)


@dataclass(frozen=True)
class Found:
    version: str
    source: str
    evidence: str


def _assigned(name: str, text: str, before: int) -> str | None:
    """The semver literal last assigned to ``name`` before position ``before`` (a hoisted constant)."""
    pattern = re.compile(r"(?<![\w$.])" + re.escape(name) + r"\s*=\s*[\"'](" + _SEMVER + r")[\"']")
    found = [m.group(1) for m in pattern.finditer(text, 0, before)]
    return found[-1] if found else None


def next_version(documents: Iterable[tuple[str, str]]) -> Found | None:
    """Next.js's version from ``window.next = {version: ...}`` in the scripts: ``(source, text)`` pairs."""
    for source, text in documents:
        literal = _NEXT_LITERAL.search(text)
        if literal:
            return Found(literal.group(1), source, literal.group(0))
        named = _NEXT_NAME.search(text)
        if named:
            version = _assigned(named.group(1), text, named.start())
            if version:
                return Found(version, source, f"{named.group(1)}=\"{version}\" … {named.group(0)}")
    return None


def react_version(documents: Iterable[tuple[str, str]]) -> Found | None:
    """React's version from react-dom's DevTools registration in the scripts."""
    for source, text in documents:
        found = _REACT_DOM.search(text)
        if found:
            return Found(found.group(1), source, found.group(0)[:160])
    return None


def is_app_router(html: str) -> bool:
    """The page carries the App Router's RSC payload (``self.__next_f``): React Server Components run."""
    return "self.__next_f" in html


def bundler(documents: Iterable[tuple[str, str]]) -> str:
    """``turbopack`` when a chunk registers with Turbopack's runtime, else ``webpack``."""
    return "turbopack" if any("TURBOPACK" in text for _, text in documents) else "webpack"
