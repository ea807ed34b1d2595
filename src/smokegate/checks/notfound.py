"""Sensitive paths judged by what they serve, against the site's own not-found answer.

A site that answers unknown routes with its not-found page and status 200 (a *soft 404*: a
catch-all route rendering "not found" without ``notFound()``, an nginx ``error_page 404 =200``, an
SPA fallback) answers ``/.env`` with that page too.  That is one finding, the routing check's, and
not a leaked ``.env``.  So the not-found answer is learned once (a random path) and a sensitive
path counts as served only when what comes back is what that file holds: ``KEY=value`` lines for
``.env``, a ``[core]`` section for ``.git/config``, JSON for a manifest, a PEM block for a key.
A path whose content has no signature (``/api/debug``) is served when it answers 2xx with
anything other than the not-found page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal
from urllib.parse import quote

from smokegate.bodies import parse_json

Content = Literal["dotenv", "git-config", "git-head", "json", "private-key", "any"]

_ENV_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.]*[ \t]*=", re.MULTILINE)
_GIT_SECTION = re.compile(r"^\s*\[(?:core|remote|branch)\b", re.MULTILINE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# Per-request noise in an otherwise identical page: nonces, digests, request ids, build hashes.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}")
SIMILAR = 0.9


@dataclass(frozen=True)
class Answer:
    """What one path answered: enough to compare it with the not-found answer."""

    path: str
    status: int
    text: str


@dataclass(frozen=True)
class Verdict:
    served: bool
    # What was seen, for the message or the record ("12 KEY=value lines", "the not-found page").
    reason: str
    soft_404: bool = False


def content_of(path: str) -> Content:
    """The kind of content a sensitive path holds, from its name."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    if name.startswith(".env"):
        return "dotenv"
    if path.rstrip("/").endswith(".git/config"):
        return "git-config"
    if path.rstrip("/").endswith(".git/HEAD"):
        return "git-head"
    if name.endswith(".json"):
        return "json"
    if name.endswith((".pem", ".key")) or name in ("id_rsa", "id_ed25519", "id_ecdsa"):
        return "private-key"
    return "any"


def _is_html(text: str) -> bool:
    head = text.lstrip()[:512].lower()
    return head.startswith(("<!doctype html", "<html")) or "<head" in head


def signature(content: Content, text: str) -> str | None:
    """What in ``text`` shows it is that kind of file (None: it is not)."""
    if content == "any" or _is_html(text):
        return None
    if content == "dotenv":
        lines = len(_ENV_LINE.findall(text))
        return f"{lines} KEY=value line(s)" if lines else None
    if content == "git-config":
        return "a git config ([core] section)" if _GIT_SECTION.search(text) else None
    if content == "git-head":
        return "a git HEAD (ref: refs/…)" if text.lstrip().startswith("ref: refs/") else None
    if content == "json":
        try:
            data = parse_json(text)
        except ValueError:
            return None
        return f"a JSON {'object' if isinstance(data, dict) else 'document'}" if isinstance(data, dict | list) else None
    if content == "private-key":
        return "a PEM private key" if "-----BEGIN" in text and "PRIVATE KEY-----" in text else None
    return None


def title(text: str) -> str | None:
    match = _TITLE.search(text[:20000])
    return " ".join(match.group(1).split()) if match else None


def _normalized(answer: Answer) -> str:
    text = answer.text[:20000]
    for form in {answer.path, quote(answer.path), answer.path.lstrip("/")}:
        if form:
            text = text.replace(form, "")
    return _TOKEN.sub("#", text)


def looks_like(answer: Answer, not_found: Answer) -> bool:
    """Whether ``answer`` is the site's not-found page (give or take the path and per-request tokens)."""
    if answer.status != not_found.status:
        return False
    a, b = _normalized(answer), _normalized(not_found)
    if a == b:
        return True
    theirs, ours = title(answer.text), title(not_found.text)
    if theirs is not None and theirs == ours and _is_html(answer.text):
        return True
    if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < SIMILAR:
        return False
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


def judge(answer: Answer, not_found: Answer, content: Content | None = None) -> Verdict:
    """Whether ``answer`` serves the sensitive file at its path (see the module docstring)."""
    kind = content or content_of(answer.path)
    if not 200 <= answer.status < 300:
        return Verdict(False, f"answered {answer.status}")
    found = signature(kind, answer.text)
    if found is not None:
        return Verdict(True, found)
    if looks_like(answer, not_found):
        return Verdict(False, f"answered {answer.status} with the site's not-found page (a soft 404)", soft_404=True)
    if kind == "any":
        return Verdict(True, f"answered {answer.status} with {len(answer.text)} bytes that are not the not-found page")
    return Verdict(False, f"answered {answer.status} with {len(answer.text)} bytes that are not a {kind} file")
