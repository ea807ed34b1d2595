"""Unit tests of smokegate.checks.notfound: a sensitive path is judged by its content, not its status."""

from __future__ import annotations

import pytest

from smokegate.checks.notfound import Answer, content_of, judge, looks_like


def _next_not_found(path: str, nonce: str) -> str:
    """Next.js's not-found page as an App Router build renders it (the path is in the RSC payload)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/><title>404: This page could not be found.'
        f'</title><script nonce="{nonce}" src="/_next/static/chunks/webpack-8f3a2b1c9d0e4f56.js" async=""></script>'
        '</head><body><div><h1 class="next-error-h1">404</h1><h2>This page could not be found.</h2></div>'
        f'<script>self.__next_f.push([1,"0:[\\"buildid123456\\",[[\\"children\\",\\"{path}\\"]]]"])</script>'
        "</body></html>"
    )


LEARNED = Answer("/smokegate-not-found-1a2b3c", 200, _next_not_found("/smokegate-not-found-1a2b3c", "n" * 22))
NOT_FOUND_404 = Answer("/smokegate-not-found-1a2b3c", 404, LEARNED.text)


@pytest.mark.parametrize(("path", "content"), [
    ("/.env", "dotenv"), ("/.env.production", "dotenv"), ("/.git/config", "git-config"), ("/.git/HEAD", "git-head"),
    ("/.next/server/app-paths-manifest.json", "json"), ("/id_rsa", "private-key"), ("/api/debug", "any"),
])
def test_content_is_inferred_from_the_path(path: str, content: str) -> None:
    assert content_of(path) == content


@pytest.mark.parametrize("path", ["/.env", "/.git/config", "/.next/server/app-paths-manifest.json", "/api/debug"])
def test_soft_404_page_is_not_a_served_file(path: str) -> None:
    verdict = judge(Answer(path, 200, _next_not_found(path, "m" * 22)), LEARNED)
    assert not verdict.served and verdict.soft_404, verdict


def test_real_files_are_served_even_on_a_soft_404_site() -> None:
    assert judge(Answer("/.env", 200, "# prod\nNODE_ENV=production\nexport STRIPE_SECRET_KEY=sk_live_x\n"),
                 LEARNED).reason == "2 KEY=value line(s)"
    assert judge(Answer("/.git/config", 200, "[core]\n\trepositoryformatversion = 0\n"), LEARNED).served
    assert judge(Answer("/.next/server/app-paths-manifest.json", 200, '{"/page": "app/page.js"}'), LEARNED).served
    assert judge(Answer("/api/debug", 200, '{"env": {"NODE_ENV": "production"}}'), NOT_FOUND_404).served


def test_refusals_and_other_pages_are_not_served() -> None:
    for status in (404, 403, 401, 301, 500):
        assert not judge(Answer("/.env", status, "KEY=value"), NOT_FOUND_404).served
    # A 200 that is neither the file nor the not-found page (a maintenance page) is no leak of .env.
    maintenance = "<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body>KEY=x</body></html>"
    assert not judge(Answer("/.env", 200, maintenance), LEARNED).served
    assert not judge(Answer("/.git/config", 200, "no sections here"), LEARNED).served


def test_looks_like_ignores_path_and_per_request_tokens_but_not_other_pages() -> None:
    assert looks_like(Answer("/.env", 200, _next_not_found("/.env", "x" * 30)), LEARNED)
    landing = LEARNED.text.replace("404: This page could not be found.", "Napoleon AI").replace(
        "<h2>This page could not be found.</h2>", "<main>" + "Your executive inbox, handled by AI. " * 20 + "</main>")
    assert not looks_like(Answer("/.env", 200, landing), LEARNED)
    assert not looks_like(Answer("/.env", 404, LEARNED.text), LEARNED)
