"""A stand-in for OSV's query API (https://api.osv.dev/v1/query), for runs against the testbed.

It answers as OSV documents it: ``POST /v1/query`` with ``{"package": {"ecosystem", "name"},
"version"}`` gets ``{"vulns": [<OSV record>, ...]}`` of the advisories that apply to that version, or
``{}`` when none does; a query without a version gets every advisory of the package.  Its records are
the dated snapshot smokegate ships (``smokegate/data/osv_snapshot.json``), so the self-tests never
reach the network and judge real advisories.  Served on the testbed's other origin, like the
identity provider.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from smokegate.checks.advisories import applies
from smokegate.security.osv_client import load_snapshot
from smokegate.testbed import hosts

PATH = "/v1/query"


async def _query(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    if request.method != "POST" or request.url.path != PATH:
        await JSONResponse({"code": 5, "message": "Not Found"}, status_code=404)(scope, receive, send)
        return
    try:
        body: Any = json.loads(await request.body())
        package = body["package"]
        name, ecosystem = package["name"], package.get("ecosystem", "")
    except (ValueError, KeyError, TypeError):
        await JSONResponse({"code": 3, "message": "Invalid query."}, status_code=400)(scope, receive, send)
        return
    records = load_snapshot()["packages"].get(name, []) if ecosystem == "npm" else []
    version = body.get("version")
    if version:
        records = [r for r in records if applies(r, name, str(version)) is not None]
    await JSONResponse({"vulns": records} if records else {})(scope, receive, send)


def by_host(app: ASGIApp, host: str) -> ASGIApp:
    """Serve the query API to ``/v1/query`` requests for ``host``; everything else to ``app``."""
    return hosts.by_host(app, host, _query, path_prefix=PATH)
