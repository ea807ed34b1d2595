"""Misbehaving HTTPS servers on loopback, for the bad-network self-tests.

Each is a real TLS server (a trustme CA the suite is told to trust) that misbehaves on purpose:

- ``stall``: accepts TCP connections and never says a word (no TLS handshake);
- ``endless``: answers 200 with a chunked body that never ends (a chunk every 50 ms);
- ``huge``: answers 200 with a 50 MB body, as fast as the client reads;
- ``loop``: answers every path with a 307 to itself;
- ``health-only``: answers ``/api/health`` like a healthy platform and resets every other request
  (a network that breaks every connection but the first looks like this to the checks).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from smokegate.testbed.certs import Certificates
from smokegate.testbed.state import DEFAULT_VERSION

HUGE_BYTES = 50 * 1024 * 1024
MODES = ("stall", "endless", "huge", "loop", "health-only")
HEALTH = {
    "status": "healthy", "version": DEFAULT_VERSION,
    "checks": {name: {"status": "ok", "latency_ms": 5} for name in ("database", "auth", "ai", "payments")},
}


@dataclass
class BadServer:
    mode: str
    url: str
    ca_file: str
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def _read_head(conn: ssl.SSLSocket) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split(" ")
    return parts[1] if len(parts) > 1 else "/"


def _answer(conn: ssl.SSLSocket, server: BadServer) -> None:
    path = _read_head(conn)
    if server.mode == "loop":
        conn.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {path}\r\ncontent-length: 0\r\n\r\n".encode())
    elif server.mode == "endless":
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = b"<p>still here</p>\n"
        while not server.stop.wait(0.05):
            conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    elif server.mode == "huge":
        conn.sendall(f"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {HUGE_BYTES}\r\n\r\n".encode())
        block = b"a" * 65536
        for _ in range(HUGE_BYTES // len(block)):
            conn.sendall(block)
    elif server.mode == "health-only" and path.startswith("/api/health"):
        body = json.dumps(HEALTH).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
    else:  # health-only, any other path: the connection is reset under the request
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _serve_one(raw: socket.socket, context: ssl.SSLContext, server: BadServer) -> None:
    with contextlib.suppress(OSError), raw:
        if server.mode == "stall":
            server.stop.wait()
            return
        raw.settimeout(10)
        with context.wrap_socket(raw, server_side=True) as conn:
            _answer(conn, server)


@contextlib.contextmanager
def bad_https_server(mode: str, directory: Path) -> Iterator[BadServer]:
    """Serve ``mode`` on a free loopback port until the block ends."""
    assert mode in MODES, mode
    certs = Certificates.create(directory)
    context = certs.server_context()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    server = BadServer(mode, f"https://localhost:{port}", str(certs.ca_file))

    def accept_loop() -> None:
        while not server.stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=_serve_one, args=(raw, context, server), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        listener.close()
