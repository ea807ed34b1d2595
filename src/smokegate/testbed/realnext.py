"""The real Next.js testbed: the platform as a Next.js 16 app, built by ``next build``, served as users serve it.

``nextjs-testbed/`` (beside ``src/``) is a small App Router app of the platform's shape, pinned in its
lock file; ``make nextjs-testbed`` installs it (``npm ci``) and builds it.  This module serves that
build: ``next start`` on loopback behind Debian's nginx, which terminates TLS with a chain from the
testbed's CA (:mod:`.certs`, :mod:`.tls_setups`) and redirects plain HTTP to HTTPS
(:mod:`.nginx_conf`).  Optionally a :class:`~.chaos.ChaosProxy` stands in front of nginx.

It offers the control surface of the Python testbed (:class:`~.control.RunningTestbed`): a state
directory with ``testbed.json`` (URLs, CA, version, admin token), one testbed per directory
(:mod:`.instance`), and an admin API on its own loopback port.  ``PUT /faults`` switches faults the
way a real deployment breaks: the app reads a JSON file (``TESTBED_FAULTS_FILE``) on every request;
the proxy's faults rewrite nginx's config and reload it.  Only faults whose catalog entry names the
``next`` testbed are accepted: Clerk, the identity providers, Vercel's protection, TLS chains and
network chaos stay with the Python testbed.

The app's pages talk to a Supabase project (``lib/supabase/client.js``: ``createBrowserClient`` with
``NEXT_PUBLIC_SUPABASE_URL`` and ``_ANON_KEY``).  Its stand-in (:mod:`.supabase_project`, the one the
Python testbed serves) gets an origin of its own, ``https://127.0.0.1:<port>`` with the testbed's
certificate, and the project's faults from the same switch.  ``next build`` inlines those variables
into the client chunks, but each testbed's project listens on a port chosen at start: the build is
made once with placeholders and each testbed deploys it (:func:`deploy`) as a container entrypoint
does, a copy of ``.next`` (hard links) whose files holding a placeholder are rewritten with the
project's URL and anon key.

One fault is a config ``next start`` reads when it starts (``image-optimizer-open``: an open
``images.remotePatterns`` in ``next.config.mjs``): switching it restarts ``next start``, the other
faults staying on.  ``next start`` runs with ``nextjs-testbed/loopback-dns.cjs`` preloaded: no name but
localhost's resolves, so an open image optimizer fetches nothing off loopback.  ``--build vulnerable``
serves ``nextjs-testbed-vulnerable/`` (Next.js 15.2.2, CVE-2025-29927) instead, for ``make matrix-all``;
that app reads no faults file (the build itself is the fault).

``python -m smokegate.testbed.realnext`` serves it until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import ssl
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smokegate.ports import free_port
from smokegate.testbed import fake_secrets, nginx_conf, osv
from smokegate.testbed.certs import Certificates
from smokegate.testbed.chaos import ChaosProxy, ChaosSettings, ChaosSpecError
from smokegate.testbed.faults import CATALOG, NEXT_TESTBED
from smokegate.testbed.instance import AlreadyRunning, claim, write_info
from smokegate.testbed.server import ListenerError, _bind, _ipv6_loopback, _server, _stopping_on_signals
from smokegate.testbed.state import DEFAULT_VERSION, TestbedState
from smokegate.testbed.supabase_project import SupabaseProject
from smokegate.testbed.tls_setups import healthy_context, healthy_pem

log = logging.getLogger("smokegate.testbed.realnext")

APP_DIR = Path(__file__).resolve().parents[3] / "nextjs-testbed"
APP_DIR_ENV = "SMOKEGATE_NEXTJS_DIR"
# --build: the app dirs beside src/; "vulnerable" is Next.js 15.2.2 (CVE-2025-29927, make matrix-all).
BUILDS = {"main": APP_DIR, "vulnerable": APP_DIR.with_name("nextjs-testbed-vulnerable")}
FAULTS_FILE = "faults.json"
SESSION_KEY_FILE = "session-key.pem"
# Above nginx's upstream keepalive_timeout: Node never closes a connection nginx is about to reuse.
NEXT_KEEP_ALIVE_MS = 65000
PORT_ATTEMPTS = 8  # nginx started again on other ports when one it was given was taken meanwhile
EXPRESSIBLE = frozenset(name for name, fault in CATALOG.items() if NEXT_TESTBED in fault.testbeds)
PAGES = ("/", "/pricing", "/sign-in")
# What nextjs-testbed/.env.production gives next build; each deployment's values replace them (deploy()).
SUPABASE_URL_PLACEHOLDER = "https://next-public-supabase-url.deploy.invalid"
SUPABASE_KEY_PLACEHOLDER = "supabase-anon-key.deploy-placeholder"
# The Supabase project's own faults (testbed/supabase_project.py); the app's and nginx's are the rest.
SUPABASE_FAULTS = frozenset({"rls-disabled", "anon-writes-granted", "bucket-listable", "signups-open",
                             "schema-exposed"})
# A fault of the config `next start` reads when it starts (next.config.mjs: images.remotePatterns open
# when TESTBED_IMAGES_OPEN=1): switching it restarts next start, as redeploying the config would.
IMAGES_OPEN_FAULT = "image-optimizer-open"
# Preloaded into next start (NODE_OPTIONS): every name lookup but localhost's answers ENOTFOUND.
LOOPBACK_DNS = "loopback-dns.cjs"


class NotBuilt(RuntimeError):
    """The Next.js app is not installed or not built (``make nextjs-testbed``)."""


def app_dir() -> Path:
    return Path(os.environ.get(APP_DIR_ENV) or APP_DIR)


def next_binary(app: Path) -> Path:
    return app / "node_modules" / "next" / "dist" / "bin" / "next"


def not_ready(app: Path | None = None) -> str | None:
    """Why the real Next.js testbed cannot be served here, or None when it can."""
    app = app or app_dir()
    if not next_binary(app).exists():
        return f"{app}: Next.js is not installed (run `make nextjs-testbed`: npm ci, next build)"
    if not (app / ".next" / "BUILD_ID").exists():
        return f"{app}: not built (run `make nextjs-testbed`: next build)"
    if shutil.which("node") is None:
        return "node is not installed (Debian: apt-get install nodejs)"
    if nginx_binary() is None:
        return "nginx is not installed (Debian: apt-get install nginx; `make nextjs-testbed` does it as root)"
    return None


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def _die_with_parent() -> None:
    """In the child, before exec: killed when the testbed process dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system (or one without hard links): a copy, 15 MB
        shutil.copy2(source, destination)


def deploy(app: Path, target: Path, values: dict[str, str]) -> Path:
    """The build at ``app`` deployed to ``target`` with ``values`` (placeholder -> value) in its files.

    ``.next`` is copied as hard links (instant, no space), its cache left out; a file holding a
    placeholder is written anew (a new inode: the shared build is never changed).  The rest of the app
    (``node_modules``, ``next.config.mjs``, ``package.json``...) is linked.  Raises :class:`NotBuilt`
    when no file holds a placeholder (a build from before them: ``make nextjs-testbed``).
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for entry in app.iterdir():
        if entry.name != ".next":
            (target / entry.name).symlink_to(entry)
    shutil.copytree(app / ".next", target / ".next", copy_function=_link_or_copy, symlinks=True,
                    ignore=lambda folder, names: ["cache"] if Path(folder) == app / ".next" else [])
    wanted = [(old.encode(), new.encode()) for old, new in values.items()]
    rewritten = 0
    for folder in ("static", "server"):
        for path in (target / ".next" / folder).rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            if not any(old in data for old, _ in wanted):
                continue
            for old, new in wanted:
                data = data.replace(old, new)
            fresh = path.with_name(path.name + ".deploy")
            fresh.write_bytes(data)
            fresh.replace(path)
            rewritten += 1
    if not rewritten:
        raise NotBuilt(f"{app}: no file of the build holds {', '.join(values)} (run `make nextjs-testbed`)")
    return target


@dataclass(frozen=True)
class BuildInfo:
    """What nginx's faults need from the build: the landing page's own chunk and a chunk every page loads."""

    landing_chunk: str
    shared_chunk: str
    shared_chunk_start: str


def read_build(app: Path, pages: dict[str, str]) -> BuildInfo:
    """Find the chunks in the pages ``next start`` served (path -> HTML) and the build's files."""
    from urllib.parse import urlsplit

    from smokegate.checks.html import script_sources

    scripts = {path: [urlsplit(s).path for s in script_sources(html) if s.startswith("/_next/static/")]
               for path, html in pages.items()}
    others = {s for path, found in scripts.items() if path != "/" for s in found}
    landing = [s for s in scripts["/"] if s not in others and s.endswith(".js")]
    shared = [s for s in scripts["/"] if all(s in found for found in scripts.values()) and s.endswith(".js")]
    for chunk in shared:
        start = (app / ".next" / chunk.removeprefix("/_next/")).read_text(errors="replace")[:24]
        if len(start) == 24 and not set(start) & nginx_conf.UNSAFE_LITERAL and start.isprintable():
            break
    else:
        raise NotBuilt(f"no chunk shared by {', '.join(pages)} to inline a secret into: {scripts}")
    if not landing:
        raise NotBuilt(f"the landing page loads no chunk of its own: {scripts}")
    return BuildInfo(landing_chunk=landing[0], shared_chunk=chunk, shared_chunk_start=start)


def _session_key(state_dir: Path) -> str:
    """A fresh RS256 key pair: the private half in the state dir (to sign sessions), the public for the app."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path = state_dir / SESSION_KEY_FILE
    path.write_bytes(private)
    path.chmod(0o600)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class NextTestbedServer:
    """nginx in front of ``next start``, their faults, an admin API; one per state directory."""

    state_dir: Path
    https_port: int = 0
    http_port: int = 0
    admin_port: int = 0
    faults: list[str] = field(default_factory=list)
    version: str | None = None
    chaos: ChaosSettings | None = None
    app: Path = field(default_factory=app_dir)

    def __post_init__(self) -> None:
        self.state_dir = self.state_dir.resolve()
        self.admin_token = secrets.token_urlsafe(24)
        self.active: set[str] = set()
        self.hosts = ("127.0.0.1", *(("::1",) if _ipv6_loopback() else ()))
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.proxies: dict[str, ChaosProxy] = {}
        self.site: nginx_conf.Site | None = None
        # The Supabase project the pages talk to, on its own origin; its faults are a part of ours.
        self.supabase = SupabaseProject(TestbedState(version=self.version or DEFAULT_VERSION))
        self._supabase_server: Any = None
        self._supabase_task: asyncio.Task[None] | None = None
        self._nginx_active: frozenset[str] | None = None
        self._next_images_open: bool | None = None  # what the running next start was started with
        self._next_port = 0
        self._public_key = ""
        self._deployed: Path | None = None
        self.next_restarts_s: list[float] = []
        self._switch = asyncio.Lock()
        self._stop = asyncio.Event()

    # -- faults ------------------------------------------------------------------------------------

    @staticmethod
    def refused(names: Iterable[str]) -> str | None:
        """Why these faults cannot be switched on here, or None."""
        unknown = sorted(n for n in names if n not in CATALOG)
        if unknown:
            return f"unknown fault(s): {', '.join(unknown)}"
        foreign = sorted(n for n in names if n not in EXPRESSIBLE)
        if foreign:
            return (f"the real Next.js testbed cannot express {', '.join(foreign)} "
                    "(its catalog entry does not name it: use the Python testbed)")
        return None

    async def set_faults(self, names: Iterable[str]) -> None:
        wanted = set(names)
        problem = self.refused(wanted)
        if problem:
            raise ValueError(problem)
        async with self._switch:
            self.active = wanted
            self.supabase.state.set_faults(wanted & SUPABASE_FAULTS)
            _write_atomic(self.state_dir / FAULTS_FILE, json.dumps({"active": sorted(wanted)}))
            await self._apply_nginx()
            await self._apply_next_config()

    async def _apply_next_config(self) -> None:
        """Restart next start when the config it must be started with changed (the other faults stay:
        the app reads them per request from the faults file, nginx and the Supabase stand-in keep theirs)."""
        images_open = IMAGES_OPEN_FAULT in self.active
        process = self.processes.get("next")
        if process is None or process.returncode is not None or images_open == self._next_images_open:
            return
        started = time.monotonic()
        await _stop(process)
        await self._start_next(restart=True)
        self.next_restarts_s.append(time.monotonic() - started)
        log.info("next start restarted (%s: %s) in %.2f s", IMAGES_OPEN_FAULT, images_open, self.next_restarts_s[-1])

    def _nginx_conf(self) -> Path:
        return self.state_dir / "nginx.conf"

    async def _apply_nginx(self) -> None:
        """Rewrite nginx's config and reload it when its faults changed; back when its new worker serves."""
        assert self.site is not None
        wanted = frozenset(self.active & nginx_conf.NGINX_FAULTS)
        if wanted == self._nginx_active:
            return
        _write_atomic(self._nginx_conf(), nginx_conf.render(self.site, wanted))
        self._nginx_active = wanted
        nginx = self.processes.get("nginx")
        if nginx is None or nginx.returncode is not None:
            return  # not started yet: it starts with this config
        await self._run([self._nginx(), *self._nginx_args(), "-t", "-q"], "nginx -t")
        before = _children(nginx.pid)
        nginx.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        # The master starts new workers with the new config and tells the old ones to finish.
        while time.monotonic() < deadline:
            now = _children(nginx.pid)
            if now and not now & before:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"nginx did not reload within 10 s (see {self.state_dir / 'nginx.log'})")

    # -- processes ---------------------------------------------------------------------------------

    def _nginx(self) -> str:
        binary = nginx_binary()
        if binary is None:
            raise NotBuilt(not_ready(self.app) or "nginx is not installed")
        return binary

    def _nginx_args(self) -> list[str]:
        return ["-p", str(self.state_dir), "-c", str(self._nginx_conf()), "-e", "stderr"]

    async def _run(self, command: Sequence[str], what: str) -> None:
        done = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        output, _ = await done.communicate()
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed: {output.decode(errors='replace').strip()}")

    async def _spawn(self, name: str, command: Sequence[str], env: dict[str, str] | None = None,
                     cwd: Path | None = None) -> None:
        log_file = (self.state_dir / f"{name}.log").open("ab")
        try:
            self.processes[name] = await asyncio.create_subprocess_exec(
                *command, stdout=log_file, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
                env=env, cwd=cwd, preexec_fn=_die_with_parent)
        finally:
            log_file.close()

    def _next_env(self, next_port: int, public_key: str) -> dict[str, str]:
        """What the deployment is given: its secrets, version, session key and where its faults are."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "TMPDIR")}
        env.update(fake_secrets.env())
        # The pooler's connection string, as Supabase's Vercel integration sets it.
        env["DATABASE_URL"] = fake_secrets.DATABASE_URL
        env.update({
            # Inherited by any Node process next start runs: none of them resolves a name off loopback.
            "NODE_OPTIONS": f'--require "{APP_DIR / LOOPBACK_DNS}"',
            "NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1", "PORT": str(next_port),
            "TESTBED_FAULTS_FILE": str(self.state_dir / FAULTS_FILE),
            "APP_VERSION": self.version or DEFAULT_VERSION,
            "SESSION_PUBLIC_KEY": public_key,
        })
        if IMAGES_OPEN_FAULT in self.active:
            env["TESTBED_IMAGES_OPEN"] = "1"
        return env

    async def _start_next(self, restart: bool = False) -> dict[str, str]:
        """next start on the deployed build, with the config the active faults ask for; the pages it served.

        A restart (faults on) waits for any answer from a path no fault touches (the build's own files,
        outside proxy.js: a name that is not there answers 404): a page the faults break or slow is no
        sign of next start being up or not."""
        assert self._deployed is not None
        self._next_images_open = IMAGES_OPEN_FAULT in self.active
        node = shutil.which("node") or "node"
        await self._spawn("next", [node, str(next_binary(self.app)), "start", "-H", "127.0.0.1",
                                   "-p", str(self._next_port), "--keepAliveTimeout", str(NEXT_KEEP_ALIVE_MS)],
                          env=self._next_env(self._next_port, self._public_key), cwd=self._deployed)
        next_url = f"http://127.0.0.1:{self._next_port}"
        if restart:
            await self._wait_http(next_url + "/_next/static/restarted", "next start (restarted)", any_status=True)
            return {}
        return {path: (await self._wait_http(next_url + path, f"next start ({path})")).text for path in PAGES}

    async def _wait_http(self, url: str, what: str, verify: ssl.SSLContext | bool = False,
                         timeout_s: float = 60, any_status: bool = False) -> Any:
        import httpx

        deadline = time.monotonic() + timeout_s
        last = ""
        async with httpx.AsyncClient(verify=verify, timeout=5, trust_env=False) as client:
            while time.monotonic() < deadline:
                for name, process in self.processes.items():
                    if process.returncode is not None:
                        raise RuntimeError(f"{name} exited with {process.returncode}: {self._tail(name)}")
                try:
                    answer = await client.get(url, headers={"host": "localhost", "x-forwarded-proto": "https"})
                    if answer.status_code == 200 or any_status:
                        return answer
                    last = f"{answer.status_code}"
                except httpx.HTTPError as exc:
                    last = str(exc) or type(exc).__name__
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{what} did not answer 200 within {timeout_s:g} s ({last})")

    def _tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.state_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- admin API ---------------------------------------------------------------------------------

    def _admin_app(self, info: dict[str, Any]) -> Any:
        from smokegate.testbed.admin_api import FaultsRefused, admin_app

        async def set_faults(names: list[str]) -> None:
            try:
                await self.set_faults(names)
            except ValueError as exc:
                raise FaultsRefused(str(exc)) from None
            except RuntimeError as exc:
                raise FaultsRefused(str(exc), status=500) from None

        return admin_app(lambda: self.admin_token, active=lambda: self.active, known=EXPRESSIBLE,
                         set_faults=set_faults, info=info, proxies=self.proxies)

    # -- life --------------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until interrupted, holding the state directory (see :func:`instance.claim`)."""
        problem = not_ready(self.app)
        if problem:
            raise NotBuilt(problem)
        with claim(self.state_dir):
            asyncio.run(self.serve())

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        with _stopping_on_signals(loop, self._stop.set):
            try:
                await self._serve()
            finally:
                await self._close()

    async def _start_proxy(self, name: str, upstream: int, public: int) -> int:
        assert self.chaos is not None
        proxy = ChaosProxy(("127.0.0.1", upstream), self.hosts, public, self.chaos)
        try:
            port = await proxy.start()
        except OSError as exc:
            await proxy.stop()
            raise ListenerError(f"cannot listen on port {public}: {exc.strerror or exc}") from None
        self.proxies[name] = proxy
        return port

    async def _serve(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.state_dir / "nginx-temp" / kind).mkdir(parents=True, exist_ok=True)
        # Ports: nginx takes the public ones, unless chaos proxies stand in front of it.
        nginx_https = free_port() if self.chaos or not self.https_port else self.https_port
        nginx_http = free_port() if self.chaos or not self.http_port else self.http_port
        for port in {nginx_https, nginx_http}:
            _bind("127.0.0.1", port).close()  # a taken public port is refused here, in our words
        next_port = free_port()
        public_https, public_http = nginx_https, nginx_http
        if self.chaos:
            public_https = await self._start_proxy("https", nginx_https, self.https_port)
            public_http = await self._start_proxy("http", nginx_http, self.http_port)

        certs = Certificates.create(self.state_dir)
        key_pem, chain_pem = healthy_pem(certs)
        key_file, cert_file = self.state_dir / "leaf-key.pem", self.state_dir / "leaf-chain.pem"
        key_file.write_bytes(key_pem)
        key_file.chmod(0o600)
        cert_file.write_bytes(chain_pem)
        public_key = _session_key(self.state_dir)
        _write_atomic(self.state_dir / FAULTS_FILE, json.dumps({"active": []}))
        supabase_url = await self._serve_supabase(certs)
        deployed = deploy(self.app, self.state_dir / "app", {SUPABASE_URL_PLACEHOLDER: supabase_url,
                                                             SUPABASE_KEY_PLACEHOLDER: fake_secrets.SUPABASE_ANON_KEY})

        self._next_port, self._public_key, self._deployed = next_port, public_key, deployed
        self.active = set(self.faults)  # next start is started with the config they ask for
        pages = await self._start_next()
        next_url = f"http://127.0.0.1:{next_port}"
        build = read_build(deployed, pages)

        # nginx binds the ports picked above only now, seconds later: another process may have taken one
        # meanwhile (a fresh-clone make test saw "bind() to 127.0.0.1:36211 failed (98: Address already in
        # use)").  A port this testbed picked is picked again, the chaos proxies told; one the user named is not.
        picked = (bool(self.chaos) or not self.https_port, bool(self.chaos) or not self.http_port)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.site = nginx_conf.Site(
                state_dir=self.state_dir, https_port=nginx_https, http_port=nginx_http,
                public_https_port=public_https, next_port=next_port, hosts=self.hosts, cert_file=cert_file,
                key_file=key_file, as_root=os.geteuid() == 0, landing_chunk=build.landing_chunk,
                shared_chunk=build.shared_chunk, shared_chunk_start=build.shared_chunk_start,
                inlined_secret=fake_secrets.FAKE_SECRETS["STRIPE_SECRET_KEY"])
            self._nginx_active = None  # written afresh for these ports
            await self.set_faults(self.faults)
            await self._run([self._nginx(), *self._nginx_args(), "-t", "-q"], "nginx -t")
            await self._spawn("nginx", [self._nginx(), *self._nginx_args()])
            if "target-down" in self.active:
                break
            try:
                context = ssl.create_default_context(cafile=str(certs.ca_file))
                await self._wait_http(f"https://localhost:{nginx_https}/api/health", "nginx", verify=context)
                break
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or not any(picked) or attempt == PORT_ATTEMPTS:
                    raise
                log.info("nginx: a port picked for it was taken meanwhile; picking again (%s)", exc)
                self.processes.pop("nginx")
                nginx_https = free_port() if picked[0] else nginx_https
                nginx_http = free_port() if picked[1] else nginx_http
                if self.chaos:
                    self.proxies["https"].upstream = ("127.0.0.1", nginx_https)
                    self.proxies["http"].upstream = ("127.0.0.1", nginx_http)
                else:
                    public_https, public_http = nginx_https, nginx_http

        admin_sock = _bind("127.0.0.1", self.admin_port)
        admin_port = admin_sock.getsockname()[1]
        info = {
            "kind": NEXT_TESTBED,
            "https_url": f"https://localhost:{public_https}",
            "http_url": f"http://localhost:{public_http}",
            "admin_url": f"http://127.0.0.1:{admin_port}",
            "next_url": next_url,
            "supabase_url": supabase_url,
            "osv_api_url": supabase_url,
            "ca_file": str(certs.ca_file.resolve()),
            "session_key_file": str(self.state_dir / SESSION_KEY_FILE),
            "version": self.version or DEFAULT_VERSION,
            "app_dir": str(self.app),
            "build_id": (self.app / ".next" / "BUILD_ID").read_text().strip(),
            "pid": os.getpid(),
            "chaos": self.chaos.as_dict() if self.chaos else None,
        }
        admin = _server(self._admin_app(info), admin_port)
        admin_task = asyncio.create_task(admin.serve(sockets=[admin_sock]))
        while not admin.started:
            if admin_task.done():
                admin_task.result()
                raise RuntimeError("the admin API stopped at start")
            await asyncio.sleep(0.01)
        log.warning("real Next.js testbed up: %s (HTTP %s, CA %s)%s", info["https_url"], info["http_url"],
                    info["ca_file"], f" through network chaos: {self.chaos.describe()}" if self.chaos else "")
        write_info(self.state_dir, {**info, "admin_token": self.admin_token})
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await self._watch(stopping, admin_task)
        finally:
            stopping.cancel()
            admin.should_exit = True
            with contextlib.suppress(Exception):
                await admin_task

    async def _watch(self, stopping: asyncio.Task[Any], admin_task: asyncio.Task[None]) -> None:
        """Until stopped: a process that ends is the testbed's end, unless a fault switch restarted it."""
        while True:
            current = dict(self.processes)
            waits = [asyncio.create_task(p.wait()) for p in current.values()]
            try:
                done, _ = await asyncio.wait([stopping, admin_task, *waits], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            if stopping in done:
                return
            if admin_task not in done:
                async with self._switch:  # a restart under way ends with its process replaced
                    pass
                if all(p.returncode is None for p in self.processes.values()):
                    continue
            ended = [n for n, p in self.processes.items() if p.returncode is not None]
            raise RuntimeError(f"{', '.join(ended) or 'the admin API'} stopped: "
                               + "; ".join(self._tail(n) for n in ended))

    async def _serve_supabase(self, certs: Certificates) -> str:
        """Start the Supabase project's stand-in on an origin of its own; its URL.

        That origin also answers OSV's query API (:mod:`.osv`), as the Python testbed's other origin
        does: the advisory checks never reach the network from a self-test."""
        sock = _bind("127.0.0.1", 0)
        url = f"https://127.0.0.1:{sock.getsockname()[1]}"
        self.supabase.configure(url)
        server = _server(osv.by_host(self.supabase, "127.0.0.1"), sock.getsockname()[1], healthy_context(certs))
        self._supabase_server = server
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the Supabase stand-in stopped at start")
            await asyncio.sleep(0.01)
        self._supabase_task = task
        return url

    async def _close(self) -> None:
        for name in ("nginx", "next"):  # the front first: no request reaches a stopping app
            process = self.processes.get(name)
            if process is None or process.returncode is not None:
                continue
            await _stop(process)
        for proxy in self.proxies.values():
            await proxy.stop()
        if self._supabase_server is not None and self._supabase_task is not None:
            self._supabase_server.should_exit = True
            with contextlib.suppress(Exception):
                await self._supabase_task


async def _stop(process: asyncio.subprocess.Process, grace_s: float = 10) -> None:
    """SIGTERM, then SIGKILL when it has not ended within ``grace_s``."""
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        process.kill()
        await process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smokegate.testbed.realnext", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".smokegate/nextjs-testbed"),
                        help="where the CA, nginx's config and testbed.json (URLs, admin token) are written")
    parser.add_argument("--https-port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--http-port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--admin-port", type=int, default=0)
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="switch a fault on at start (repeatable); see --list-faults")
    parser.add_argument("--version", dest="build_version", default=None, help="build SHA /api/health reports")
    parser.add_argument("--chaos", metavar="SPEC", default=None,
                        help="serve through the network chaos proxy, e.g. 'delay=0-150,reset=1%%' (see "
                             "python -m smokegate.testbed --help)")
    parser.add_argument("--build", choices=sorted(BUILDS), default=None,
                        help=f"which app to serve (default: ${APP_DIR_ENV} or main; vulnerable: Next.js 15.2.2, "
                             "make nextjs-testbed-vulnerable)")
    parser.add_argument("--list-faults", action="store_true", help="print the faults it can express and exit")
    args = parser.parse_args(argv)
    if args.list_faults:
        for name in sorted(EXPRESSIBLE):
            print(f"{name:28} {CATALOG[name].description}")
        return 0
    problem = NextTestbedServer.refused(args.fault)
    if problem:
        parser.error(f"--fault: {problem}")
    try:
        chaos = ChaosSettings.parse(args.chaos) if args.chaos is not None else None
    except ChaosSpecError as exc:
        parser.error(f"--chaos: {exc}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    server = NextTestbedServer(state_dir=args.state_dir, https_port=args.https_port, http_port=args.http_port,
                               admin_port=args.admin_port, faults=args.fault, version=args.build_version, chaos=chaos,
                               app=BUILDS[args.build] if args.build else app_dir())
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    except (AlreadyRunning, ListenerError, NotBuilt) as exc:
        print(f"real Next.js testbed not started: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
