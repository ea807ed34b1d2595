"""Next.js's own holes and its advisories, as pure logic: the image optimizer's answers, the versions a
build serves, and OSV's matching (the network client falls back to the shipped snapshot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smokegate.checks import advisories, versions
from smokegate.checks import nextjs_holes as nextjs
from smokegate.security import osv_client
from smokegate.testbed.nextjs import NEXT_VERSION, REACT_VERSION, Build
from smokegate.testbed.nextjs_server import image_error, skips_middleware


@pytest.mark.parametrize(("status", "body", "refused"), [
    (400, '"url" parameter is not allowed', True),
    (400, "400: BAD_REQUEST\nCode: INVALID_IMAGE_OPTIMIZE_REQUEST", True),  # Vercel's optimizer
    (404, "", True),                                                         # unoptimized: no optimizer
    (400, "Bad Request", True),                                              # a minimal-mode server
    (400, '"q" parameter (quality) of 75 is not allowed', False),            # the URL passed the allowlist
    (500, '"url" parameter is valid but upstream response is invalid', False),
    (504, '"url" parameter is valid but upstream response timed out', False),
    (200, "\x89PNG", False),
])
def test_image_optimizer_answers(status: int, body: str, refused: bool) -> None:
    assert nextjs.judge_image_answer(status, body).refused is refused
    assert nextjs.judge_image_answer(429, "").undetermined


def test_testbed_optimizer_validates_the_url_first_as_nextjs_does() -> None:
    query = "url=https%3A%2F%2Fsmokegate.invalid%2Fx.png&w=16&q=10"
    assert image_error(query, open_patterns=False) == (400, '"url" parameter is not allowed')
    # Open remotePatterns: Next.js 16 would still refuse w=16 / q=10, which is why the probe asks w=640 q=75.
    assert image_error(query, open_patterns=True) == (400, '"w" parameter (width) of 16 is not allowed')
    assert image_error("url=https%3A%2F%2Fsmokegate.invalid%2Fx.png&w=640&q=75", open_patterns=True)[0] == 500


def test_middleware_bypass_values() -> None:
    assert all(isinstance(v, str) and "middleware" in v for v in nextjs.SUBREQUEST_VALUES)
    # 15.2.2's rule: the name five times; the nuclei polyglot covers both layouts.
    assert skips_middleware(nextjs.SUBREQUEST_VALUES[0]) and skips_middleware(nextjs.SUBREQUEST_VALUES[1])
    assert not skips_middleware("middleware") and not skips_middleware(None)


def test_versions_from_a_build_as_a_browser_runtime_sets_them() -> None:
    build = Build.create("sha", {})
    docs = sorted(build.files.items())
    assert versions.next_version(docs).version == NEXT_VERSION  # type: ignore[union-attr]
    assert versions.react_version(docs).version == REACT_VERSION  # type: ignore[union-attr]


@pytest.mark.parametrize("chunk", [
    'window.next={version:"15.2.2",appDir:!0}',
    'let r="15.2.2";function x(){};window.next={version:r,appDir:!0}',
    "window.next = {\n    version: '15.2.2',\n    appDir: true\n};",
])
def test_next_version_as_minifiers_leave_it(chunk: str) -> None:
    assert versions.next_version([("c.js", chunk)]).version == "15.2.2"  # type: ignore[union-attr]


def test_react_version_and_bundler() -> None:
    chunk = 'var i={bundleType:0,version:"19.1.0",rendererPackageName:"react-dom",currentDispatcherRef:o}'
    assert versions.react_version([("f.js", chunk)]).version == "19.1.0"  # type: ignore[union-attr]
    assert versions.react_version([("f.js", 'exports.version="19.1.0"')]) is None
    assert versions.bundler([("a.js", "(globalThis.TURBOPACK||(globalThis.TURBOPACK=[])).push([])")]) == "turbopack"
    assert versions.is_app_router("<script>self.__next_f.push([1,\"\"])</script>")


RECORD = {"id": "GHSA-f82v-jwr5-mffw", "aliases": ["CVE-2025-29927"], "summary": "Authorization Bypass",
          "database_specific": {"severity": "CRITICAL"},
          "affected": [{"package": {"ecosystem": "npm", "name": "next"}, "ranges": [{"type": "SEMVER", "events": [
              {"introduced": "13.0.0"}, {"fixed": "13.5.9"}, {"introduced": "15.0.0"}, {"fixed": "15.2.3"}]}]}]}


@pytest.mark.parametrize(("version", "fixed"), [
    ("15.2.2", "15.2.3"), ("15.0.0", "15.2.3"), ("13.5.8", "13.5.9"),
    ("15.2.3", None), ("14.2.0", None), ("16.5.0", None), ("15.0.0-canary.3", None), ("12.9.9", None),
])
def test_osv_ranges(version: str, fixed: str | None) -> None:
    hit = advisories.applies(RECORD, "next", version)
    assert (hit.fixed if hit else None) == fixed
    assert advisories.applies(RECORD, "react", version) is None


def test_semver_precedence_and_last_affected() -> None:
    assert advisories.precedes("19.2.0-canary-1", "19.2.0-rc.1") and advisories.precedes("19.2.0-rc.1", "19.2.0")
    assert advisories.precedes("19.1.9", "19.2.0-canary-1") and not advisories.precedes("19.2.0", "19.2.0")
    record = {"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "react"},
                                       "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"},
                                                                                {"last_affected": "18.2.0"}]}]}]}
    assert advisories.applies(record, "react", "18.2.0") is not None
    assert advisories.applies(record, "react", "18.3.0") is None
    assert advisories.at_least("critical", "high") and not advisories.at_least("unknown", "low")


def test_osv_unreachable_falls_back_to_the_dated_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # A loopback port nobody listens on: refused at once, nothing leaves the machine.
    answer = osv_client.query("http://127.0.0.1:9", "next", "15.2.2", timeout_s=2)
    assert answer.from_snapshot and "snapshot of 2026-" in answer.source and answer.complete_from == "critical"
    ids = {hit.id for hit in advisories.matching(answer.records, "next", "15.2.2")}
    assert {"GHSA-f82v-jwr5-mffw", "GHSA-9qr9-h5gf-34mp"} <= ids
    assert advisories.matching(answer.records, "next", NEXT_VERSION) == []


def test_versions_in_a_real_turbopack_build() -> None:
    # Excerpts of the main chunk of `next build` (Next.js 16.5.0, Turbopack, its vendored React canary).
    chunk = ('c()}):c()}window.next={version:"16.5.0",appDir:!0},("function"==typeof c.default||"object"'
             ';if(!mm.isDisabled&&mm.supportsFiber)try{aA=mm.inject({bundleType:0,version:"19.3.0-canary-'
             '89d7b2b4-20261123",rendererPackageName:"react-dom",currentDispatcherRef:W,reconcilerVersion:"x"})')
    docs = [("0-anpfcst4f44.js", chunk), ("turbopack-3rh6aw8qaij42.js", "globalThis.TURBOPACK_CHUNK_LISTS")]
    assert versions.next_version(docs).version == "16.5.0" == NEXT_VERSION  # type: ignore[union-attr]
    assert versions.react_version(docs).version == REACT_VERSION  # type: ignore[union-attr]
    assert versions.bundler(docs) == "turbopack"
