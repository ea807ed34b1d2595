"""Hostile answers: strange-but-possible HTTP answers served by a raw-socket server, at every route a check reads.

A real TLS server (a trustme CA the suite is told to trust) and a plain-HTTP one beside it that speak
HTTP by hand, so they can say what no framework would: a ``Location`` of every odd form, duplicate
and folded headers, bytes that are not UTF-8, bodies that lie about their length or encoding or never
end, 1xx answers before the real one, invalid status lines, answers dripped a byte at a time...
Each is something a real server, proxy, CDN or broken deployment has been seen to send.

The routes are the paths the suite reads, in groups (:data:`GROUPS`); in run ``k`` group ``i`` serves
:data:`CORPUS` ``[(i + k) % len(CORPUS)]`` to every request, so ``len(CORPUS)`` runs put every answer
at every route without a run per pair.  The first ``GET /api/health`` of a run is answered as
a healthy platform would, so reachability passes and every check meets its hostile answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from smokegate.testbed.certs import Certificates
from smokegate.testbed.state import DEFAULT_VERSION

EVIL = "smokegate-redirect.evil.example"
HEALTH = {
    "status": "healthy", "version": DEFAULT_VERSION, "timestamp": "2026-01-01T00:00:00Z",
    "checks": {name: {"status": "ok", "latency_ms": 5} for name in ("database", "auth", "ai", "payments")},
}
# Every page-like answer links a script, so the routes a page leads to (scripts, maps) are read too.
SCRIPT_TAG = '<script src="/_next/static/chunks/app-hostile.js"></script>'
PAGE = (f"<!DOCTYPE html><html><head><title>Napoleon AI</title>{SCRIPT_TAG}</head>"
        "<body><main>Your executive inbox, handled by AI. Executive plan. Sign in to Napoleon AI</main></body></html>")
# A byte every DRIP_S: slower than the suite's 1 s timeout over a whole answer, faster than a read timeout.
DRIP_S = 0.3


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


Send = Callable[[socket.socket, Request], None]


@dataclass(frozen=True)
class Answer:
    name: str
    what: str
    send: Send
    # A cleanly framed answer leaves the connection open for the next request, as a real server's does.
    keep: bool = False


def _http(status: str, headers: list[tuple[str, str]] | list[tuple[bytes, bytes]], body: bytes = b"", *,
          length: bool = True, close: bool = True, version: bytes = b"HTTP/1.1") -> bytes:
    """An answer's bytes: status line, headers as given (str or raw bytes), Content-Length unless told."""
    lines = [version + b" " + status.encode()]
    for name, value in headers:
        lines.append((name if isinstance(name, bytes) else name.encode()) + b": "
                     + (value if isinstance(value, bytes) else value.encode("utf-8")))
    if length:
        lines.append(f"content-length: {len(body)}".encode())
    if close:
        lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def raw(data: bytes | Callable[[], bytes]) -> Send:
    def send(conn: socket.socket, request: Request) -> None:
        conn.sendall(data() if callable(data) else data)
    return send


def _redirect(location: str | bytes, status: str = "302 Found") -> Send:
    value = location if isinstance(location, bytes) else location.encode("utf-8")
    return raw(_http(status, [(b"location", value), (b"cache-control", b"no-store")], close=False))


def _drip(data: bytes, *, head: bytes = b"") -> Send:
    def send(conn: socket.socket, request: Request) -> None:
        conn.sendall(head)
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            time.sleep(DRIP_S)
    return send


def _reset(conn: socket.socket, request: Request) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close(conn: socket.socket, request: Request) -> None:
    return None


@cache
def _bomb() -> bytes:
    """``Content-Encoding: gzip, gzip`` of 4 GiB of zeros in under 10 kB: the inner stream is one
    full-flushed deflate block of a MiB of zeros repeated (it is cut at the probe's cap long before
    its missing trailer would matter)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    outer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return outer.compress(first + block * 4095) + outer.flush()


def _chunked(status: str, headers: list[tuple[str, str]], chunks: list[bytes], tail: bytes) -> bytes:
    head = _http(status, [*headers, ("transfer-encoding", "chunked")], length=False)
    return head + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + tail


def _huge_headers() -> bytes:
    return _http("200 OK", [("content-type", "text/html"), *((f"x-filler-{i}", "v" * 100) for i in range(2000))],
                 PAGE.encode())


def _deep_json() -> bytes:
    return _http("200 OK", [("content-type", "application/json")], b"[" * 200_000 + b"]" * 200_000)


_CLOUDFLARE = (b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head><body>"
               b"<script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8f\">"
               b"</script></body></html>")
_WEIRD_LINKS = (
    "<!DOCTYPE html><html><head>"
    '<meta http-equiv="refresh" content="0; url=https:' + EVIL + '">'
    '<script src="//[::1"></script><script src="http://["></script><script src="https://[::1]:99999/x.js">'
    '</script><script src="javascript:alert(1)"></script><script src="data:text/javascript,1"></script>'
    '<script src="/_next/static/chunks/%zz%00.js"></script><script src="\\\\' + EVIL + '/x.js"></script>'
    '<script src="/_next/static/chunks/app-\u00fc\u2028.js"></script>'
    '<link rel="preload" href="//' + EVIL + '"></head><body>Executive plan'
    '<script>self.__next_f.push([1,"0:[\\"$\\",\\"x\\",null,{}]"])</script>'
    "<script>//# sourceMappingURL=https://[/x.map</script></body></html>"
)

CORPUS: tuple[Answer, ...] = (
    # -- Location, every odd form -------------------------------------------------------------------
    Answer("location-scheme-without-slashes", "Next.js redirect() passing a return URL through (issue 19)",
           _redirect(f"https:{EVIL}"), keep=True),
    Answer("location-scheme-relative", "a return URL echoed as is", _redirect(f"//{EVIL}/x"), keep=True),
    Answer("location-data", "a data: URL", _redirect("data:text/html,<script>alert(1)</script>"), keep=True),
    Answer("location-javascript", "a javascript: URL", _redirect("javascript:alert(document.domain)"), keep=True),
    Answer("location-empty", "an empty Location", _redirect(""), keep=True),
    Answer("location-spaces", "spaces inside and around", _redirect("  /a b  c?d e  "), keep=True),
    Answer("location-tab", "a tab between the slashes (browsers drop it)", _redirect(f"/\t/{EVIL}/"), keep=True),
    Answer("location-backslashes", "backslashes (browsers read slashes)", _redirect(f"/\\{EVIL}\\x"), keep=True),
    Answer("location-idn", "a raw UTF-8 host and path", _redirect("https://bücher.example/straße"), keep=True),
    Answer("location-bad-percent", "percent signs that are no escapes", _redirect("/%zz%2F%2F%00%"), keep=True),
    Answer("location-relative-dots", "dot segments above the root", _redirect("../../../../etc/passwd"), keep=True),
    Answer("location-broken-ipv6", "an unclosed IPv6 literal", _redirect("http://[::1/x"), keep=True),
    Answer("redirect-without-location", "a 302 with no Location at all", raw(_http("302 Found", []))),
    # -- headers ------------------------------------------------------------------------------------------
    Answer("duplicate-headers", "two Content-Types, two CSPs, two HSTS, two Set-Cookies of one name", raw(_http(
        "200 OK", [("content-type", "application/json"), ("content-type", "text/html"),
                   ("content-security-policy", "default-src 'self'"), ("content-security-policy", "script-src *"),
                   ("strict-transport-security", "max-age=63072000"), ("strict-transport-security", "max-age=0"),
                   ("set-cookie", "__session=a; Secure; HttpOnly"), ("set-cookie", "__session=b"),
                   ("access-control-allow-origin", "*"), ("access-control-allow-origin", "https://napoleonai.app")],
        PAGE.encode()))),
    Answer("folded-headers", "obs-fold continuation lines (RFC 9112 5.2)", raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html;\r\n charset=utf-8\r\ncontent-security-policy: default-src\r\n"
        b"\t'self'; frame-ancestors\r\n 'none'\r\nset-cookie: a=1;\r\n Secure\r\nconnection: close\r\n"
        + f"content-length: {len(PAGE)}\r\n\r\n".encode() + PAGE.encode())),
    Answer("non-utf8-header-bytes", "header values in Latin-1 and raw 0xFF", raw(_http("200 OK", [
        (b"content-type", b"text/html; charset=\xff"), (b"x-frame-options", b"DENY\xe9"),
        (b"set-cookie", b"caf\xe9=cr\xe8me; Path=/\xff; Secure"), (b"server", b"nginx/1.2\xff"),
        (b"strict-transport-security", b"max-age=\xb2"), (b"retry-after", b"\xb2"),
        (b"access-control-allow-origin", b"https://napoleonai.app\xff")], PAGE.encode()))),
    Answer("header-line-without-colon", "a header line with no colon", raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nthis line has no colon\r\ncontent-length: 2\r\n"
        b"connection: close\r\n\r\nok")),
    Answer("huge-header-section", "2000 headers (200 kB)", raw(_huge_headers)),
    Answer("odd-cookies-and-cors", "cookie attributes and CORS values no browser would accept", raw(_http(
        "200 OK", [("content-type", "text/html"), ("set-cookie", "__Host-x=1; Domain=evil.example; Path=/a"),
                   ("set-cookie", "b=2; SameSite=Bogus; Max-Age=abc; Expires=not a date"),
                   ("set-cookie", "=; ;;; ="), ("set-cookie", "c=" + "x" * 8000),
                   ("access-control-allow-origin", "*, https://evil.example"),
                   ("access-control-allow-credentials", "TRUE"), ("access-control-allow-methods", "*, \x7f"),
                   ("vary", ",,,"), ("cache-control", "max-age=²"), ("age", "-5")], PAGE.encode()))),
    # -- bodies ------------------------------------------------------------------------------------------
    Answer("json-type-html-body", "a catch-all route's HTML page labelled application/json", raw(_http(
        "200 OK", [("content-type", "application/json; charset=utf-8")], PAGE.encode()))),
    Answer("non-utf8-body", "a body that is not UTF-8, and a charset Python does not know", raw(_http(
        "200 OK", [("content-type", "text/html; charset=x-no-such-charset")],
        b"<html>\xff\xfe\x00caf\xe9 " + SCRIPT_TAG.encode() + b"</html>"))),
    Answer("deep-json", "JSON nested 200 000 deep", raw(_deep_json)),
    Answer("odd-json", "JSON with NaN, 1e999, huge integers and the wrong shapes", raw(_http(
        "200 OK", [("content-type", "application/json")],
        b'{"status": NaN, "version": 5, "timestamp": "yesterday", "checks": {"database": {"status": "ok", '
        b'"latency_ms": 1e999}, "auth": "ok", "ai": {"latency_ms": -Infinity}, "payments": [1]}, '
        b'"memory": {"used_pct": ' + b"9" * 5000 + b'}, "error": {"stack": "at x (/var/task/index.js:1:1)"}}'))),
    Answer("body-over-16-mib", "a 17 MiB page", raw(lambda: _http("200 OK", [("content-type", "text/html")],
                                                                 b"a" * (17 << 20)))),
    Answer("gzip-bomb", "Content-Encoding: gzip, gzip expanding to 4 GiB", raw(lambda: _http(
        "200 OK", [("content-type", "text/html"), ("content-encoding", "gzip, gzip")], _bomb()))),
    Answer("gzip-that-is-not", "Content-Encoding: gzip over a plain body", raw(_http(
        "200 OK", [("content-type", "text/html"), ("content-encoding", "gzip")], PAGE.encode()))),
    Answer("truncated-chunked", "a chunked body cut in the middle of a chunk", raw(_chunked(
        "200 OK", [("content-type", "text/html")], [PAGE.encode()[:40]], b"100\r\npartial"))),
    Answer("close-delimited-http10", "an HTTP/1.0 answer without length, ended by closing", raw(_http(
        "200 OK", [("content-type", "text/html")], PAGE.encode(), length=False, version=b"HTTP/1.0"))),
    Answer("content-length-too-long", "Content-Length 100000 over 40 bytes, then close", raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n" + PAGE.encode()[:40])),
    Answer("content-length-too-short", "Content-Length 5 over a whole page (the rest spills over)", raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\n" + PAGE.encode())),
    # -- status lines and interim answers ------------------------------------------------------------------
    Answer("continue-then-answer", "a 100 Continue before the real answer", raw(
        b"HTTP/1.1 100 Continue\r\n\r\n" + _http("200 OK", [("content-type", "text/html")], PAGE.encode()))),
    Answer("early-hints-then-answer", "a 103 Early Hints (Link preloads) before the real answer", raw(
        b"HTTP/1.1 103 Early Hints\r\nlink: </_next/static/chunks/app-hostile.js>; rel=preload; as=script\r\n\r\n"
        + _http("200 OK", [("content-type", "text/html")], PAGE.encode()))),
    Answer("status-418", "I'm a teapot", raw(_http("418 I'm a teapot", [("content-type", "text/plain")], b"short"))),
    Answer("status-599", "a status past the registry", raw(_http("599 Network Connect Timeout", [], b""))),
    Answer("invalid-status-line", "a status line that is not one", raw(b"HTTP/1.1 OK 200\r\n\r\nhello")),
    # -- the way the answer arrives ------------------------------------------------------------------------
    Answer("drip-fed-head", "the status line and headers a byte every 0.3 s", _drip(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok")),
    Answer("drip-fed-body", "headers at once, then the body a byte every 0.3 s", _drip(
        PAGE.encode(), head=b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n"
        + f"content-length: {len(PAGE)}\r\n\r\n".encode())),
    Answer("reset", "the connection reset (RST) under the request", _reset),
    # -- answers from something in front of the app ------------------------------------------------------
    Answer("rate-limited-long", "429 with a Retry-After of an hour", raw(_http(
        "429 Too Many Requests", [("retry-after", "3600"), ("content-type", "application/json")],
        b'{"error":"Too Many Requests"}'))),
    Answer("rate-limited-odd-retry-after", "429 with Retry-After values that are no numbers", raw(_http(
        "429 Too Many Requests", [("retry-after", "²"), ("ratelimit", "limit=², reset=-1"),
                                  ("ratelimit-reset", "1e9")], b""))),
    Answer("maintenance-503", "503 with Retry-After (maintenance)", raw(_http(
        "503 Service Unavailable", [("retry-after", "120"), ("content-type", "text/html")],
        b"<h1>Down for maintenance</h1>"))),
    Answer("cloudflare-challenge", "Cloudflare's managed challenge", raw(_http(
        "403 Forbidden", [("cf-mitigated", "challenge"), ("server", "cloudflare"),
                          ("content-type", "text/html; charset=UTF-8")], _CLOUDFLARE))),
    Answer("vercel-checkpoint", "Vercel's Security Checkpoint", raw(_http(
        "429 Too Many Requests", [("x-vercel-mitigated", "challenge"), ("server", "Vercel"),
                                  ("content-type", "text/html")],
        b"<title>Vercel Security Checkpoint</title>We're verifying your browser"))),
    Answer("vercel-protection", "Vercel Authentication's login page", raw(_http(
        "401 Unauthorized", [("set-cookie", "_vercel_sso_nonce=abc; Path=/; Secure; HttpOnly"),
                             ("content-type", "text/html")],
        b'<a href="https://vercel.com/sso-api?url=x">Authenticating</a>'))),
    Answer("weird-links-page", "a page whose script, refresh and map URLs no parser agrees on", raw(_http(
        "200 OK", [("content-type", "text/html; charset=utf-8")], _WEIRD_LINKS.encode()))),
)

# Answers read by the probe-level self-test only (test_hostile_probe.py): the whole suite against each
# costs a run apiece, and the probe is what meets them (they end in the same exceptions as the
# CORPUS answers beside them: an invalid answer, a truncated one, a redirect's odd Location).
PROBE_ONLY: tuple[Answer, ...] = (
    Answer("switching-protocols", "a 101 to a plain GET", raw(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n\x81\x05hello")),
    Answer("content-length-conflict", "two different Content-Lengths", raw(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok!")),
    Answer("invalid-chunk-size", "a chunk size that is not hex", raw(_chunked(
        "200 OK", [("content-type", "application/json")], [b'{"a":'], b"zz\r\n1}\r\n0\r\n\r\n"))),
    Answer("location-twice", "two different Location headers",
           raw(_http("302 Found", [("location", "/first"), ("location", f"https://{EVIL}/")]))),
    Answer("location-latin1", "bytes that are not UTF-8", _redirect(b"/caf\xe9/\xff\xfe"), keep=True),
)

# The routes the suite reads, grouped so that every check reads one group (a check parametrized over the
# pages reads the "pages" group whichever page it is given): a group's routes serve the same answer in a
# run, so N runs put every answer in front of every check.  Matched by path prefix, in this order;
# "other" takes the rest (sensitive files, not-found probes, odd hops), "http" the plain-HTTP listener.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("health", ("/api/health",)),
    ("public-api", ("/api/plans", "/api/status")),
    ("user-api", ("/api/user",)),
    ("waitlist", ("/api/waitlist",)),
    ("webhooks", ("/api/webhooks/",)),
    ("other-api", ("/api/",)),
    ("static", ("/_next/",)),
    ("dashboard", ("/dashboard",)),
    ("pages", ("/pricing", "/sign-in", "/sign-out", "/?", "/")),
    ("other", ()),
    ("http", ()),
)
ROUTES = tuple(name for name, _ in GROUPS)


def route_of(path: str, plain: bool) -> int:
    if plain:
        return ROUTES.index("http")
    for i, (_, prefixes) in enumerate(GROUPS):
        if any(path == p or (path.startswith(p) and p != "/") for p in prefixes):
            return i
    return ROUTES.index("other")


@dataclass
class HostileServer:
    url: str
    http_url: str
    ca_file: str
    run: int = 0
    health_served: bool = False
    # Served at every route instead of the rotation (the probe-level self-tests).
    fixed: Answer | None = None
    served: dict[tuple[str, str], int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_run(self, run: int) -> None:
        with self.lock:
            self.run, self.health_served, self.served = run, False, {}

    def answer_for(self, request: Request, plain: bool) -> Answer | None:
        with self.lock:
            if not plain and request.path.startswith("/api/health") and not self.health_served:
                self.health_served = True
                return None
            route = route_of(request.path, plain)
            answer = self.fixed or CORPUS[(route + self.run) % len(CORPUS)]
            key = (ROUTES[route], answer.name)
            self.served[key] = self.served.get(key, 0) + 1
            return answer


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    # Read the whole request body: closing over unread bytes would reset the connection under the answer.
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(parts[0], parts[1] if len(parts) > 1 else "/", headers, body)


def _serve(raw_socket: socket.socket, context: ssl.SSLContext | None, server: HostileServer) -> None:
    with contextlib.suppress(OSError, ValueError), raw_socket:
        raw_socket.settimeout(10)
        conn: socket.socket = context.wrap_socket(raw_socket, server_side=True) if context else raw_socket
        with conn:
            while (request := _read_request(conn)) is not None:
                answer = server.answer_for(request, plain=context is None)
                if answer is None:
                    body = json.dumps(HEALTH).encode()
                    conn.sendall(_http("200 OK", [("content-type", "application/json")], body, close=False))
                    continue
                answer.send(conn, request)
                if not answer.keep:
                    return


def _listen(server: HostileServer, context: ssl.SSLContext | None) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.settimeout(0.2)

    def accept_loop() -> None:
        while not server.stop.is_set():
            try:
                raw_socket, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve, args=(raw_socket, context, server), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return listener, int(listener.getsockname()[1])


@contextlib.contextmanager
def hostile_server(directory: Path) -> Iterator[HostileServer]:
    """Serve the corpus on free loopback ports (HTTPS and plain HTTP) until the block ends."""
    certs = Certificates.create(directory)
    server = HostileServer("", "", str(certs.ca_file))
    tls, tls_port = _listen(server, certs.server_context())
    plain, plain_port = _listen(server, None)
    server.url, server.http_url = f"https://localhost:{tls_port}", f"http://localhost:{plain_port}"
    try:
        yield server
    finally:
        server.stop.set()
        tls.close()
        plain.close()
