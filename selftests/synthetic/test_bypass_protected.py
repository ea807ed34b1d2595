"""bypass_cookies (smokegate.synthetic.protection) against a real TLS server playing Vercel.

The server accepts the bypass secret but sets no cookie when asked, and answers a request without
the secret with Vercel's login page: the browser could not pass the protection, which must be one
test-setup failure, not a run that goes on with no cookie.  Answering with the cookie, the cookie
is what the browser gets.  Loopback only.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from smokegate.config import Target, load_config, resolve_target
from smokegate.failures import CheckFailure, FailureKind
from smokegate.probe import Probe
from smokegate.synthetic.protection import bypass_cookies
from smokegate.vercel_protection import HEADER, SET_COOKIE_HEADER, SSO_NONCE_COOKIE

from ..conftest import ROOT

SECRET = "bypass-secret-for-the-test-0123456789"


class _Vercel(BaseHTTPRequestHandler):
    sets_cookie = False

    def do_GET(self) -> None:
        if self.headers.get(HEADER) != SECRET:
            self.send_response(401)
            self.send_header("set-cookie", f"{SSO_NONCE_COOKIE}=n0nce; Path=/; Secure; HttpOnly")
            self.end_headers()
            return
        self.send_response(307)
        self.send_header("location", self.path)
        if self.headers.get(SET_COOKIE_HEADER) == "true" and self.sets_cookie:
            self.send_header("set-cookie",
                             "_vercel_jwt=eyJ.e30.sig; Max-Age=3600; Path=/; SameSite=Lax; Secure; HttpOnly")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def vercel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[type[_Vercel], Target]]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    handler = type("Handler", (_Vercel,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("VERCEL_AUTOMATION_BYPASS_SECRET", SECRET)
    target = resolve_target(load_config(ROOT / "smokegate.toml"), "local", f"https://localhost:{server.server_port}")
    try:
        yield handler, target.model_copy(update={"ca_bundle": str(ca_file), "timeout_s": 5.0})
    finally:
        server.shutdown()
        server.server_close()


def test_a_protection_that_sets_no_cookie_is_one_setup_failure(vercel: tuple[type[_Vercel], Target]) -> None:
    _, target = vercel
    with Probe(target) as probe, pytest.raises(CheckFailure) as failure:
        bypass_cookies(probe, target)
    assert failure.value.kind is FailureKind.TEST_SETUP
    assert "set no bypass cookie" in str(failure.value) and SECRET not in str(failure.value)


def test_the_cookie_vercel_sets_is_the_browsers(vercel: tuple[type[_Vercel], Target]) -> None:
    handler, target = vercel
    handler.sets_cookie = True
    with Probe(target) as probe:
        cookies = bypass_cookies(probe, target)
    assert [(c["name"], c["value"], c["domain"], c["path"]) for c in cookies] == [
        ("_vercel_jwt", "eyJ.e30.sig", "localhost", "/")]
