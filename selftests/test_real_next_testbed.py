"""The real Next.js testbed itself: served as users serve it, driven as the Python one is, faults that switch back.

The fault matrix proves the checks against it; these prove the testbed: nginx in front of ``next
start`` with the testbed's CA and a 308 from plain HTTP, a session the app really verifies (the
access-control checks only ever see refusals), faults it cannot express refused, a proxy-level fault
that reverts with its reload, a config fault that restarts next start (its Node never resolving a
name off loopback), and nothing left running once it stops.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
from pathlib import Path

import httpx
import pytest

from smokegate.testbed import control, faults, realnext
from smokegate.testbed.control import RunningTestbed

from .conftest import start_testbed_script

pytestmark = pytest.mark.selftest_slow


def _get(testbed: RunningTestbed, path: str, **kwargs: object) -> httpx.Response:
    trust = ssl.create_default_context(cafile=testbed.ca_file)
    return httpx.get(testbed.url + path, verify=trust, timeout=15, trust_env=False, **kwargs)  # type: ignore[arg-type]


def _session(testbed: RunningTestbed, name: str, ttl_s: int = 600) -> str:
    """A session JWT signed with the key the app was given (as Clerk would sign one)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(Path(testbed.info["session_key_file"]).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    now = int(time.time())

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"sub": "user_ada", "name": name, "email": "ada@example.com", "iat": now, "exp": now + ttl_s}
    signed = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_served_by_next_start_behind_nginx(healthy_next_testbed: RunningTestbed) -> None:
    testbed = healthy_next_testbed
    page = _get(testbed, "/")
    assert page.status_code == 200 and "Your executive inbox, handled by AI." in page.text
    assert page.headers["server"] == "nginx", "nginx answers, without its version (server_tokens off)"
    assert "/_next/static/chunks/" in page.text and "self.__next_f.push" in page.text, "a real build's chunks and RSC"
    # Next.js 16 sends an RSC request without its cache-busting _rsc parameter (a hash of the router
    # headers) a 307 to the URL with it.
    rsc = _get(testbed, "/pricing", headers={"rsc": "1"}, follow_redirects=True)
    assert rsc.headers["content-type"].startswith("text/x-component"), rsc.headers
    plain = httpx.get(testbed.http_url + "/pricing?x=1", timeout=15, trust_env=False)
    assert plain.status_code == 308 and plain.headers["location"] == testbed.url + "/pricing?x=1"
    health = _get(testbed, "/api/health").json()
    assert health["version"] == testbed.version and health["status"] == "healthy"


def test_a_session_signed_with_its_key_is_accepted(healthy_next_testbed: RunningTestbed) -> None:
    testbed = healthy_next_testbed
    token = _session(testbed, "Ada Lovelace")
    user = _get(testbed, "/api/user", cookies={"__session": token})
    assert user.status_code == 200 and user.json()["name"] == "Ada Lovelace", user.text
    dashboard = _get(testbed, "/dashboard", cookies={"__session": token})
    assert dashboard.status_code == 200 and "Ada Lovelace" in dashboard.text
    expired = _get(testbed, "/api/user", cookies={"__session": _session(testbed, "Ada", ttl_s=-60)})
    assert expired.status_code == 401
    signed_out = _get(testbed, "/dashboard")
    assert signed_out.status_code == 307 and "/sign-in?redirect_url=" in signed_out.headers["location"]


def test_faults_it_cannot_express_are_refused(next_testbed: RunningTestbed) -> None:
    python_only = sorted(set(faults.CATALOG) - realnext.EXPRESSIBLE)
    assert "tls-expired-leaf" in python_only and "clerk-ticket-refused" in python_only
    with pytest.raises(control.TestbedError, match="cannot express tls-expired-leaf"):
        next_testbed.set_faults(["tls-expired-leaf"])
    with pytest.raises(control.TestbedError, match="unknown fault"):
        next_testbed.set_faults(["no-such-fault"])
    assert next_testbed.faults() == []


def test_a_proxy_fault_switches_and_reverts(next_testbed: RunningTestbed) -> None:
    before = _get(next_testbed, "/")
    assert "strict-transport-security" in before.headers
    next_testbed.set_faults(["headers-lost"])
    try:
        lost = _get(next_testbed, "/")
        assert "strict-transport-security" not in lost.headers and lost.headers["server"].startswith("nginx/")
    finally:
        next_testbed.set_faults([])
    again = _get(next_testbed, "/")
    assert "strict-transport-security" in again.headers and again.headers["server"] == "nginx"


def test_an_app_fault_switches_on_the_next_request(next_testbed: RunningTestbed) -> None:
    next_testbed.set_faults(["health-db-down"])
    try:
        assert _get(next_testbed, "/api/health").status_code == 503
    finally:
        next_testbed.set_faults([])
    assert _get(next_testbed, "/api/health").status_code == 200


def test_its_pages_carry_their_own_supabase_project_which_takes_its_faults(next_testbed: RunningTestbed) -> None:
    from smokegate.checks.html import script_sources
    from smokegate.testbed.fake_secrets import SUPABASE_ANON_KEY

    project = str(next_testbed.info["supabase_url"])
    call = f'"{project}","{SUPABASE_ANON_KEY}"'  # createBrowserClient's two literals, once deployed
    chunks = {src: _get(next_testbed, src).text for src in script_sources(_get(next_testbed, "/").text)
              if src.startswith("/_next/static/")}
    holding = [src for src, text in chunks.items() if call in text]
    assert len(holding) == 1, f"no chunk of / creates the browser client for {project}: {sorted(chunks)}"
    # Deployed, not built in: the shared build still holds the placeholders, for the next testbed.
    built = Path(next_testbed.info["app_dir"]) / ".next" / holding[0].removeprefix("/_next/")
    assert realnext.SUPABASE_URL_PLACEHOLDER in built.read_text() and project not in built.read_text()

    def profiles() -> list[object]:
        trust = ssl.create_default_context(cafile=next_testbed.ca_file)
        answer = httpx.get(f"{project}/rest/v1/profiles", params={"select": "id", "limit": "1"}, verify=trust,
                           headers={"apikey": SUPABASE_ANON_KEY}, timeout=15, trust_env=False)
        assert answer.status_code == 200, answer.text
        rows: list[object] = answer.json()
        return rows

    assert profiles() == []
    next_testbed.set_faults(["rls-disabled"])
    try:
        assert len(profiles()) == 1
    finally:
        next_testbed.set_faults([])
    assert profiles() == []


def test_an_open_image_config_restarts_next_start_and_never_leaves_loopback(next_testbed: RunningTestbed) -> None:
    """image-optimizer-open is a config next start reads when it starts: switching it restarts next start
    (the faults already on stay on), and the real optimizer then tries to fetch the probe's URL, whose
    name the preloaded loopback-dns.cjs refuses without asking a resolver (next.log says so)."""
    from smokegate.checks import nextjs_holes as nextjs

    log_file = Path(next_testbed.state_dir) / "next.log"

    def image() -> httpx.Response:
        return _get(next_testbed, "/_next/image", params=nextjs.IMAGE_PROBE_QUERY)

    refused = image()
    assert (refused.status_code, refused.text) == (400, '"url" parameter is not allowed'), refused.text
    # page-500 on too: a restart waits for next start itself, not for pages the faults on break.
    next_testbed.set_faults(["health-db-down", "page-500"])
    try:
        logged = log_file.stat().st_size
        started = time.monotonic()
        next_testbed.set_faults(["health-db-down", "page-500", "image-optimizer-open"])
        restart_s = time.monotonic() - started
        assert _get(next_testbed, "/api/health").status_code == 503, "the faults already on stay on"
        assert _get(next_testbed, "/pricing").status_code == 500
        fetched = image()
        assert (fetched.status_code, fetched.text) == (500, "Internal Server Error"), fetched.text
        tail = log_file.read_bytes()[logged:].decode(errors="replace")
        assert "Ready in" in tail, f"next start was not restarted:\n{tail}"
        assert "loopback-dns: refused a lookup of smokegate.invalid" in tail, tail
        assert "getaddrinfo ENOTFOUND smokegate.invalid (the testbed's Node resolves loopback names only)" in tail
        assert restart_s < 15, f"restart took {restart_s:.1f} s"
    finally:
        next_testbed.set_faults([])
    again = image()
    assert (again.status_code, again.text) == (400, '"url" parameter is not allowed'), again.text
    assert _get(next_testbed, "/api/health").status_code == 200


def test_the_loopback_dns_preload_refuses_every_name_but_localhost(tmp_path: Path) -> None:
    """loopback-dns.cjs (what next start is given) against Node's own lookups and fetch, nothing else loaded.

    The names are under .invalid (RFC 6761): a preload that let one through would still reach nobody,
    and its missing "refused" line on stderr would tell."""
    import subprocess

    script = tmp_path / "lookups.mjs"
    script.write_text(
        'import dns from "node:dns";\n'
        'import { lookup } from "dns/promises";\n'
        "const codes = {};\n"
        'try { await lookup("smokegate.invalid", { all: true }); codes.promises = "resolved"; }'
        " catch (e) { codes.promises = e.code; }\n"
        'try { await dns.promises.lookup("promises.smokegate.invalid"); codes.dnsPromises = "resolved"; }'
        " catch (e) { codes.dnsPromises = e.code; }\n"
        "codes.callback = await new Promise((done) =>"
        ' dns.lookup("callback.smokegate.invalid", (e) => done(e ? e.code : "resolved")));\n'
        'try { await fetch("https://fetch.smokegate.invalid/", { signal: AbortSignal.timeout(5000) });'
        ' codes.fetch = "fetched"; }'
        " catch (e) { codes.fetch = e.cause ? e.cause.code : String(e); }\n"
        'codes.localhost = (await lookup("localhost")).address;\n'
        "console.log(JSON.stringify(codes));\n")
    started = time.monotonic()
    done = subprocess.run(["node", "--require", str(realnext.APP_DIR / realnext.LOOPBACK_DNS), str(script)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout)
    assert codes == {"promises": "ENOTFOUND", "dnsPromises": "ENOTFOUND", "callback": "ENOTFOUND",
                     "fetch": "ENOTFOUND", "localhost": codes["localhost"]}, codes
    assert codes["localhost"] in ("127.0.0.1", "::1")
    assert time.monotonic() - started < 10, "refused at once, not after a resolver's timeout"
    assert done.stderr.count("loopback-dns: refused a lookup of") == 4, done.stderr


def test_stopping_leaves_nothing_running(tmp_path: Path) -> None:
    problem = realnext.not_ready()
    if problem:
        pytest.fail(problem, pytrace=False)
    testbed = RunningTestbed.start(tmp_path / "tb", kind="next", timeout_s=90)
    try:
        nginx_pid = int((tmp_path / "tb" / "nginx.pid").read_text())
        children = realnext._children(testbed.process.pid)
        assert nginx_pid in children and len(children) == 2, children  # nginx's master and next start
        workers = realnext._children(nginx_pid)
        assert workers
    finally:
        testbed.stop()
    assert testbed.process.returncode == 0
    deadline = time.monotonic() + 5
    alive = {pid for pid in (*children, *workers) if Path(f"/proc/{pid}").exists()}
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {pid for pid in alive if Path(f"/proc/{pid}").exists()}
    assert not alive, f"still running after stop: {alive}"
    assert not (tmp_path / "tb" / "testbed.json").exists()
    assert os.path.exists(tmp_path / "tb" / "ca.pem")


# The testbed as `python -m smokegate.testbed.realnext` runs it, except that its third port pick (next start's,
# made after the picked ports were checked free) first takes nginx's HTTPS port, as another process may in
# those seconds: nginx then fails to bind it.
TAKES_NGINX_PORT = """
import socket, sys
from smokegate.testbed import realnext

picks, held = [], []
free_port = realnext.free_port

def taking_one() -> int:
    picks.append(free_port())
    if len(picks) == 3:
        held.append(socket.create_server(("127.0.0.1", picks[0])))
        print("took", picks[0], flush=True)
    return picks[-1]

realnext.free_port = taking_one
sys.exit(realnext.main(sys.argv[1:]))
"""


def test_a_picked_port_taken_before_nginx_binds_it_is_picked_again(tmp_path: Path) -> None:
    """A fresh-clone make test saw nginx fail: "bind() to 127.0.0.1:36211 failed (98: Address already in use)"."""
    problem = realnext.not_ready()
    if problem:
        pytest.fail(problem, pytrace=False)
    state = tmp_path / "tb"
    log = tmp_path / "testbed.log"
    process, info = start_testbed_script(TAKES_NGINX_PORT, state, log, timeout_s=90)
    try:
        taken = int(log.read_text().split("took ", 1)[1].split()[0])
        assert info["https_url"] != f"https://localhost:{taken}"
        trust = ssl.create_default_context(cafile=info["ca_file"])
        answer = httpx.get(info["https_url"] + "/api/health", verify=trust, timeout=15, trust_env=False)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(30)
