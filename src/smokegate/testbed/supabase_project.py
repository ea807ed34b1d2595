"""A stand-in for one Supabase project's public APIs: the Data API (PostgREST), Storage and Auth settings.

What a browser holding the project's anon key reaches at ``https://<ref>.supabase.co``: ``/rest/v1/``,
``/storage/v1/`` and ``/auth/v1/``, each behind the API gateway that wants an ``apikey``.  It answers
as the real services document it (PostgREST's ``Content-Range`` and error JSON with SQLSTATE or
``PGRST`` codes, Storage's bucket and object lists, GoTrue's ``/settings``) for a project that has:

- ``profiles`` and ``invoices``: private (row level security on, no policy for ``anon``, and since
  Supabase's October 2026 change no write privilege granted to ``anon``); ``plans``: public by design
  (a ``select`` policy ``using (true)``);
- the buckets ``avatars`` (public by design) and ``invoices`` (private, no storage policy);
- sign-ups, e-mail autoconfirm and anonymous sign-ins off (the platform signs users in with Clerk).

Each fault bends one of these the way a real project gets it wrong (``rls-disabled``,
``anon-writes-granted``, ``bucket-listable``, ``signups-open``, ``schema-exposed``).  Nothing is ever
written: a write the fault lets through matches no row, as the suite's probes always do.

Served on the testbed's other origin (``https://127.0.0.1:<port>``), like the identity provider:
the app's build inlines that URL and the anon key where the browser client is created.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from smokegate.testbed import hosts
from smokegate.testbed.fake_secrets import FAKE_SECRETS, SUPABASE_ANON_KEY
from smokegate.testbed.state import TestbedState

PREFIXES = ("/rest/v1", "/storage/v1", "/auth/v1")
PRIVATE_TABLES = ("profiles", "invoices")
PUBLIC_TABLES = ("plans",)
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth")


def _uuid(label: str) -> str:
    return str(uuid.UUID(hashlib.sha256(label.encode()).hexdigest()[:32]))


def _rows() -> dict[str, list[dict[str, Any]]]:
    profiles = [
        {"id": _uuid(f"profile-{i}"), "email": f"{_FIRST[i % 10].lower()}.{_LAST[i // 10 % 10].lower()}{i}@example.com",
         "full_name": f"{_FIRST[i % 10]} {_LAST[i // 10 % 10]}", "plan": ("assistant", "executive", "chief")[i % 3]}
        for i in range(57)
    ]
    invoices = [{"id": _uuid(f"invoice-{i}"), "profile_id": profiles[i]["id"], "amount_cents": 9900,
                 "status": "paid"} for i in range(12)]
    plans = [{"id": n, "name": name, "price_cents": p} for n, (name, p) in
             enumerate((("Assistant", 2900), ("Executive plan", 9900), ("Chief of Staff", 24900)), 1)]
    return {"profiles": profiles, "invoices": invoices, "plans": plans}


ROWS = _rows()
BUCKETS = (
    {"id": "avatars", "name": "avatars", "public": True},
    {"id": "invoices", "name": "invoices", "public": False},
)
OBJECTS = {"invoices": ["inv-2026-0001.pdf", "inv-2026-0002.pdf", "inv-2026-0003.pdf"], "avatars": ["ada.png"]}
NO_API_KEY = {"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."}
INVALID_API_KEY = {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}


def _error(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    """PostgREST's error body: the SQLSTATE or PGRST code, message, details and hint."""
    return JSONResponse({"code": code, "details": None, "hint": hint, "message": message}, status_code=status)


class SupabaseProject:
    """One project's APIs over the testbed's state (which faults are on)."""

    def __init__(self, state: TestbedState) -> None:
        self.state = state
        self.url = ""

    def configure(self, url: str) -> None:
        self.url = url.rstrip("/")

    def role(self, request: Request) -> str | None:
        """The database role a request runs as, or None when the gateway turns it away."""
        key = request.headers.get("apikey") or request.query_params.get("apikey")
        roles = {SUPABASE_ANON_KEY: "anon", FAKE_SECRETS["SUPABASE_SERVICE_ROLE_KEY"]: "service_role"}
        if key not in roles:
            return None
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if bearer and bearer not in roles:
            return None
        return roles[bearer or key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        key = request.headers.get("apikey") or request.query_params.get("apikey")
        role = self.role(request)
        if role is None:
            response: Response = JSONResponse(NO_API_KEY if not key else INVALID_API_KEY, status_code=401)
        elif scope["path"].startswith("/rest/v1"):
            response = await self.rest(request, role)
        elif scope["path"].startswith("/storage/v1"):
            response = await self.storage(request, role)
        else:
            response = self.auth(request)
        await response(scope, receive, send)

    # -- the Data API (PostgREST) --------------------------------------------------------------------

    async def rest(self, request: Request, role: str) -> Response:
        table = request.url.path.removeprefix("/rest/v1").strip("/")
        if not table:
            return self.schema(role)
        if table not in ROWS:
            return _error(404, "PGRST205", f"Could not find the table 'public.{table}' in the schema cache")
        method = request.method
        if method in ("GET", "HEAD"):
            return self.read(request, table, role)
        if method in ("PATCH", "DELETE"):
            # Recorded for the self-tests: the production-safety guard must keep every write off a target.
            self.state.record("supabase-write", method=method, table=table, query=request.url.query)
            if role != "service_role" and not (self.state.on("anon-writes-granted") and table == "profiles"):
                # No UPDATE/DELETE privilege for anon: PostgREST answers 401 to the anonymous role.
                return _error(401, "42501", f"permission denied for table {table}")
            if not any(k not in ("select", "order", "limit", "offset") for k, _ in parse_qsl(request.url.query)):
                return _error(400, "21000", f"{method} requires a WHERE clause")  # pg-safeupdate, as Supabase runs it
            # The probes filter on a value no row has: nothing matches, nothing changes.
            return Response(status_code=204, headers={"content-range": "*/0"})
        return _error(401, "42501", f"permission denied for table {table}")

    def _visible(self, table: str, role: str) -> list[dict[str, Any]]:
        if role == "service_role" or table in PUBLIC_TABLES:
            return ROWS[table]
        if table == "profiles" and self.state.on("rls-disabled"):
            return ROWS[table]
        return []  # row level security on, no policy for this role: no row is visible

    def read(self, request: Request, table: str, role: str) -> Response:
        rows = self._visible(table, role)
        params = dict(parse_qsl(request.url.query))
        start, end = 0, len(rows) - 1
        limit = params.get("limit")
        if limit is not None and limit.isdigit():
            end = min(end, int(limit) - 1)
        found = re.fullmatch(r"\s*(\d+)-(\d*)\s*", request.headers.get("range", ""))
        if found:
            start = int(found.group(1))
            if found.group(2):
                end = min(end, int(found.group(2)))
        page = rows[start:end + 1]
        counted = "count=exact" in request.headers.get("prefer", "")
        total = str(len(rows)) if counted else "*"
        spans = f"{start}-{start + len(page) - 1}" if page else "*"
        status = 206 if counted and page and len(page) < len(rows) else 200
        headers = {"content-range": f"{spans}/{total}"}
        if counted:
            headers["preference-applied"] = "count=exact"
        body = b"" if request.method == "HEAD" else json.dumps(page).encode()
        return Response(body, status_code=status, media_type="application/json; charset=utf-8", headers=headers)

    def schema(self, role: str) -> Response:
        if role != "service_role" and not self.state.on("schema-exposed"):
            return JSONResponse({"message": "Access to schema is forbidden"}, status_code=401)
        # PostgREST's OpenAPI (Swagger 2.0) description: every table the role may see, its columns.
        paths: dict[str, Any] = {"/": {"get": {"produces": ["application/openapi+json", "application/json"]}}}
        definitions: dict[str, Any] = {}
        for table, rows in ROWS.items():
            paths[f"/{table}"] = {verb: {"tags": [table]} for verb in ("get", "post", "delete", "patch")}
            definitions[table] = {"type": "object", "properties": {c: {"type": "string"} for c in rows[0]}}
        return JSONResponse({"swagger": "2.0", "info": {"title": "standard public schema", "version": "12.2.3"},
                             "host": self.url.split("://", 1)[-1], "basePath": "/", "schemes": ["https"],
                             "paths": paths, "definitions": definitions},
                            media_type="application/openapi+json; charset=utf-8")

    # -- Storage ---------------------------------------------------------------------------------------

    def _listable(self, role: str) -> bool:
        return role == "service_role" or self.state.on("bucket-listable")

    async def storage(self, request: Request, role: str) -> Response:
        path = request.url.path.removeprefix("/storage/v1")
        if path in ("/bucket", "/bucket/") and request.method == "GET":
            # storage.buckets has row level security: without a policy the anon role sees no bucket.
            listed = [{**b, "owner": "", "file_size_limit": None, "allowed_mime_types": None,
                       "created_at": "2026-01-12T09:30:00.000Z", "updated_at": "2026-01-12T09:30:00.000Z"}
                      for b in BUCKETS] if self._listable(role) else []
            return JSONResponse(listed)
        found = re.fullmatch(r"/object/list/([^/]+)", path)
        if found and request.method == "POST":
            bucket = found.group(1)
            if bucket not in OBJECTS:
                return JSONResponse({"statusCode": "404", "error": "Bucket not found", "message": "Bucket not found"},
                                    status_code=400)
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                body = {}
            limit = body.get("limit", 100) if isinstance(body, dict) else 100
            names = OBJECTS[bucket] if self._listable(role) or bucket == "avatars" else []
            return JSONResponse([
                {"name": name, "id": _uuid(f"{bucket}/{name}"), "updated_at": "2026-11-02T08:00:00.000Z",
                 "created_at": "2026-11-02T08:00:00.000Z", "last_accessed_at": "2026-11-02T08:00:00.000Z",
                 "metadata": {"size": 48213, "mimetype": "application/pdf", "cacheControl": "max-age=3600"}}
                for name in names[: int(limit) if isinstance(limit, int) else 100]
            ])
        return JSONResponse({"statusCode": "404", "error": "not_found", "message": "Route not found"},
                            status_code=404)

    # -- Auth (GoTrue) -------------------------------------------------------------------------------

    def auth(self, request: Request) -> Response:
        if request.url.path.rstrip("/") != "/auth/v1/settings":
            return JSONResponse({"code": 404, "error_code": "not_found", "msg": "Not Found"}, status_code=404)
        providers = ("apple", "azure", "bitbucket", "discord", "facebook", "figma", "github", "gitlab", "google",
                     "kakao", "keycloak", "linkedin_oidc", "notion", "slack_oidc", "spotify", "twitch", "twitter",
                     "workos", "zoom")
        external = {"anonymous_users": False, "email": True, "phone": False, **dict.fromkeys(providers, False)}
        return JSONResponse({
            "external": external,
            "disable_signup": not self.state.on("signups-open"),
            "mailer_autoconfirm": False,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        })


def by_host(app: ASGIApp, project: SupabaseProject, host: str) -> ASGIApp:
    """Serve the project's APIs to requests for ``host`` under their prefixes; everything else to ``app``."""
    for prefix in PREFIXES:
        app = hosts.by_host(app, host, project, path_prefix=prefix)
    return app
