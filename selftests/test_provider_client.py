"""One client for every provider API: what each answer means, and the network's faults never a finding.

Against local servers only: pytest-httpserver for answers, a raw socket server for resets.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from smokegate.failures import FailureKind, Inconclusive
from smokegate.providers.client import ProviderApi, ProviderDegraded, ProviderSetupError, remember_personal
from smokegate.scrub import SCRUBBER

TOKEN = "tok_" + "k3y" * 10


def _api(url: str, *, timeout_s: float = 5.0, personal: bool = False) -> ProviderApi:
    return ProviderApi("Example's API", url, timeout_s, ssl.create_default_context(), token=TOKEN,
                       token_env="EXAMPLE_TOKEN", personal=personal)


def test_a_json_answer_and_the_token_only_in_the_authorization_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/things", headers={"authorization": f"Bearer {TOKEN}"},
                              query_string="limit=5").respond_with_json({"data": [1]})
    with _api(httpserver.url_for("/")) as api:
        assert api.get("/v1/things", limit=5) == {"data": [1]}
    request, _ = httpserver.log[0]
    assert TOKEN not in request.url


def test_a_5xx_is_asked_again_once(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v1/x").respond_with_json({"error": {"message": "boom"}}, status=503,
                                                                   headers={"retry-after": "0"})
    httpserver.expect_ordered_request("/v1/x").respond_with_json({"ok": True})
    with _api(httpserver.url_for("/")) as api:
        assert api.get("/v1/x") == {"ok": True}
        assert api.requests_sent == 2


def test_twice_a_5xx_is_the_providers_degradation(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/x").respond_with_json({"error": {"code": "internal", "message": "down"}}, status=502)
    with _api(httpserver.url_for("/")) as api, pytest.raises(ProviderDegraded) as caught:
        api.get("/v1/x")
    assert caught.value.kind == FailureKind.THIRD_PARTY
    assert "answered GET /v1/x with 502 (internal: down) twice" in str(caught.value)


def test_429_honours_retry_after_within_bounds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v1/x").respond_with_json({}, status=429, headers={"retry-after": "0.3"})
    httpserver.expect_ordered_request("/v1/x").respond_with_json({"ok": 1})
    started = time.monotonic()
    with _api(httpserver.url_for("/")) as api:
        assert api.get("/v1/x") == {"ok": 1}
    assert 0.25 <= time.monotonic() - started < 3


@pytest.mark.parametrize(("status", "body", "words"), [
    (401, {"message": "Unauthorized"}, "refused the token in EXAMPLE_TOKEN (401 Unauthorized)"),
    (403, {"error": {"code": "forbidden", "message": "Not authorized"}}, "(403 forbidden: Not authorized)"),
    (404, {"errors": [{"code": "resource_not_found", "long_message": "no such project"}]},
     "with 404 (resource_not_found: no such project): check the project named in the config"),
])
def test_a_refusal_is_a_setup_problem_never_quoting_the_token(httpserver: HTTPServer, status: int, body: object,
                                                              words: str) -> None:
    httpserver.expect_request("/v1/x").respond_with_json(body, status=status)
    with _api(httpserver.url_for("/")) as api, pytest.raises(ProviderSetupError) as caught:
        api.get("/v1/x")
    assert caught.value.kind == FailureKind.TEST_SETUP
    assert words in str(caught.value) and TOKEN not in str(caught.value)


def test_an_accepted_status_is_returned_not_judged(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/x").respond_with_json({"error": {"code": "not_found"}}, status=404)
    with _api(httpserver.url_for("/")) as api:
        answer = api.send("GET", "/v1/x", accept=(404,))
    assert answer.status == 404 and answer.body == {"error": {"code": "not_found"}}


def test_an_answer_that_is_not_json_is_the_providers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/x").respond_with_data("<html>maintenance</html>", content_type="text/html")
    with _api(httpserver.url_for("/")) as api, pytest.raises(ProviderDegraded, match="not JSON"):
        api.get("/v1/x")


def test_a_slow_answer_times_out_and_is_inconclusive(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(json.dumps({}), content_type="application/json")

    httpserver.expect_request("/v1/x").respond_with_handler(slow)
    with _api(httpserver.url_for("/"), timeout_s=0.5) as api, pytest.raises(Inconclusive) as caught:
        api.get("/v1/x")
    assert "timed out after 0.5 s" in str(caught.value) and "2 attempts" in str(caught.value)


@contextlib.contextmanager
def _resetting(plan: list[str]) -> Iterator[str]:
    """A raw HTTP server: per connection, "reset" (RST after reading) or "ok" (a JSON answer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        for action in plan:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            if action == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                body = b'{"ok": true}'
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_a_reset_is_retried_once_on_a_fresh_connection() -> None:
    with _resetting(["reset", "ok"]) as url, _api(url) as api:
        assert api.get("/v1/x") == {"ok": True}
        assert api.requests_sent == 2


def test_two_resets_are_inconclusive_never_a_finding() -> None:
    with _resetting(["reset", "reset"]) as url, _api(url) as api, pytest.raises(Inconclusive) as caught:
        api.get("/v1/x")
    message = str(caught.value)
    assert message.startswith("could not be determined: Example's API")
    assert "did not answer GET /v1/x: connection reset by peer (2 attempts)" in message, message


def test_a_refused_connection_lasts_and_is_not_retried(closed_port: int) -> None:
    with _api(f"http://127.0.0.1:{closed_port}") as api, pytest.raises(Inconclusive) as caught:
        api.get("/v1/x")
    assert "connection refused (not retried: it lasts)" in str(caught.value)
    assert api.requests_sent == 1


def test_personal_values_of_an_answer_go_to_the_scrubber(httpserver: HTTPServer) -> None:
    email = "dorothy.vaughan.unique@customers.example"
    httpserver.expect_request("/v1/charges").respond_with_json({"data": [
        {"id": "ch_1", "billing_details": {"name": "Dorothy Vaughanson", "email": email}, "customer": "cus_Q1w2e3r4"},
    ]})
    with _api(httpserver.url_for("/"), personal=True) as api:
        api.get("/v1/charges")
    text = SCRUBBER.text(f"{email} Dorothy Vaughanson cus_Q1w2e3r4")
    assert email not in text and "Vaughanson" not in text and "cus_Q1w2e3r4" not in text


def test_remember_personal_walks_nested_lists() -> None:
    remember_personal([{"users": [{"email_addresses": [{"email_address": "nested.person.x@example.org"}]}]}])
    assert "nested.person.x@example.org" not in SCRUBBER.text("to nested.person.x@example.org")


def test_lists_follow_starting_after_and_stop_at_the_page_limit(httpserver: HTTPServer) -> None:
    pages = {None: (["a", "b"], True), "b": (["c", "d"], True), "d": (["e"], False)}

    def page(request: Request) -> Response:
        data, more = pages[request.args.get("starting_after")]
        body = {"object": "list", "has_more": more, "data": [{"id": i} for i in data]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/v1/charges").respond_with_handler(page)
    with _api(httpserver.url_for("/")) as api:
        everything, more = api.list_pages("/v1/charges", max_pages=5, params={"limit": 2})
        cut, cut_more = api.list_pages("/v1/charges", max_pages=2, params={"limit": 2})
    assert [o["id"] for o in everything] == ["a", "b", "c", "d", "e"] and more is False
    assert [o["id"] for o in cut] == ["a", "b", "c", "d"] and cut_more is True
