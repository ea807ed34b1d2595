"""checks/html.py without a server: what a page points at."""

from __future__ import annotations

from smokegate.checks.html import absolute_urls, development_urls

HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "::1", ".localhost", ".local")
PAGE = """<html><head>
<link rel="canonical" href="http://localhost:3000/pricing"/>
<meta property="og:url" content="https://napoleonai.app/pricing"/>
<meta name="description" content="Your executive inbox"/>
<script src="//cdn.example.test/a.js"></script></head>
<body><a href="/relative">x</a><img src="http://api.dev.local/img.png"/>
<form action="https://[::1]:8080/sign-in"></form><a href="https://localhost:8443/own">own</a></body></html>"""


def test_absolute_urls_are_read_from_every_url_attribute() -> None:
    assert absolute_urls(PAGE) == [
        "http://localhost:3000/pricing", "https://napoleonai.app/pricing", "//cdn.example.test/a.js",
        "http://api.dev.local/img.png", "https://[::1]:8080/sign-in", "https://localhost:8443/own",
    ]


def test_development_hosts_are_found_except_the_pages_own_origin() -> None:
    assert development_urls(PAGE, "https://localhost:8443", HOSTS) == [
        "http://localhost:3000/pricing", "http://api.dev.local/img.png", "https://[::1]:8080/sign-in",
    ]


def test_a_production_page_pointing_at_production_is_fine() -> None:
    page = '<link rel="canonical" href="https://napoleonai.app/"/><a href="https://www.napoleonai.app/">w</a>'
    assert development_urls(page, "https://napoleonai.app", HOSTS) == []
    # A preview deployment whose canonical points at production is fine too.
    assert development_urls(page, "https://napoleon-git-feature.vercel.app", HOSTS) == []
