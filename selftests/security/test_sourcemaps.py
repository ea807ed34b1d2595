"""Unit tests of smokegate.checks.sourcemaps: finding a script's map as browsers do, and knowing one."""

from __future__ import annotations

import json

import httpx

from smokegate.checks import sourcemaps

CHUNK = "https://napoleonai.app/_next/static/chunks/0a1b2c3d4e5f6789.js"
MAP = {"version": 3, "sources": ["turbopack:///[project]/app/page.tsx"], "names": [], "mappings": "AAAA"}


def _urls(refs: list[sourcemaps.MapReference]) -> dict[str, list[str]]:
    return {ref.url: ref.found_by for ref in refs}


def test_turbopack_comment_names_a_map_hashed_apart_from_its_chunk() -> None:
    script = "(globalThis.TURBOPACK=globalThis.TURBOPACK||[]).push([]);\n\n//# sourceMappingURL=ffee00aa11bb22cc.js.map"
    assert _urls(sourcemaps.references(CHUNK, script, {})) == {
        "https://napoleonai.app/_next/static/chunks/ffee00aa11bb22cc.js.map": ["sourceMappingURL comment"],
        CHUNK + ".map": ["conventional name"],
    }


def test_header_and_comment_and_name_are_merged() -> None:
    script = "x();\n//# sourceMappingURL=0a1b2c3d4e5f6789.js.map"
    refs = sourcemaps.references(CHUNK + "?dpl=abc", script, httpx.Headers({"SourceMap": "/maps/m.js.map"}))
    assert _urls(refs) == {
        "https://napoleonai.app/_next/static/chunks/0a1b2c3d4e5f6789.js.map": [
            "sourceMappingURL comment", "conventional name"],
        "https://napoleonai.app/maps/m.js.map": ["SourceMap header"],
    }


def test_last_annotation_wins_and_legacy_forms_count() -> None:
    assert sourcemaps.comment_url("a\n//# sourceMappingURL=old.map\nb\n//# sourceMappingURL=new.map") == "new.map"
    assert sourcemaps.comment_url("a\n//@ sourceMappingURL=legacy.map") == "legacy.map"
    assert sourcemaps.comment_url("a\n/*# sourceMappingURL=block.map */") == "block.map"
    assert sourcemaps.comment_url('var s="no annotation here";') is None


def test_inline_data_url_is_a_map_served_with_the_script() -> None:
    refs = sourcemaps.references(CHUNK, "x();\n//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==",
                                 {})
    assert [r.inline for r in refs] == [True, False]


def test_a_map_is_known_by_its_content() -> None:
    assert sourcemaps.is_source_map(json.dumps(MAP))
    assert sourcemaps.is_source_map(")]}'\n" + json.dumps(MAP))
    assert sourcemaps.is_source_map(json.dumps({"version": 3, "sections": [{"offset": {}, "map": MAP}]}))
    assert sourcemaps.source_count(json.dumps({"version": 3, "sections": [{"offset": {}, "map": MAP}] * 2})) == 2
    # A soft 404 (the not-found page with 200), an error JSON, or an empty answer is no map.
    assert not sourcemaps.is_source_map("<!DOCTYPE html><html><title>404: This page could not be found.</title>")
    assert not sourcemaps.is_source_map('{"error": "Not Found"}')
    assert not sourcemaps.is_source_map("")
