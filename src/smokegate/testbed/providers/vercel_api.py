"""Vercel's REST API for the platform's project, as Vercel documents it.

``Authorization: Bearer <token>`` on every call (a missing or wrong one: 403
``{"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": true}}``), ``teamId``
accepted for the project's team.

- ``GET /v9/projects/{idOrName}``: the project, ``targets.production`` the deployment serving it.
- ``GET /v10/projects/{idOrName}/env``: ``{"envs": [...]}``, each ``key``, ``type`` (``encrypted``,
  ``sensitive``), ``target`` and an encrypted ``value`` (``decrypt=true`` would be the only way to
  a plain one; the stand-in refuses it, as a read-only token would be refused).
- ``GET /v13/deployments/{idOrUrl}``: by id (``dpl_…``) or by the deployment's host name.
- ``POST /v1/projects/{projectId}/rollback/{deploymentId}``: instant rollback to a deployment that
  served production (201, no body); 404 for an unknown one, 409 when the deployment is not eligible
  (never production, not ready) or already live.

Faults: ``vercel-env-missing`` (``STRIPE_WEBHOOK_SECRET`` was added for Preview and Development but
not Production), ``vercel-rollback-refused`` (every rollback answers 409: the deployments' build
output was removed by the project's retention policy).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smokegate.providers.config import GUIDE_ENV

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

ENV_MISSING = "vercel-env-missing"
ROLLBACK_REFUSED = "vercel-rollback-refused"
PROJECT_ID = "prj_Np4leonTestbed8kQ2vXr7Ya1"
PROJECT_NAME = "napoleon-ai"
TEAM_ID = "team_napoleonTestbedX9"
MISSING_IN_PRODUCTION = "STRIPE_WEBHOOK_SECRET"


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


@dataclass
class Deployment:
    id: str
    sha: str
    created_ms: int
    target: str | None = "production"
    ready: str = "READY"

    @property
    def url(self) -> str:
        return f"{PROJECT_NAME}-{self.id[4:13].lower()}-napoleon.vercel.app"

    def json(self, production_id: str) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "name": PROJECT_NAME, "projectId": PROJECT_ID,
            "ownerId": TEAM_ID, "target": self.target, "readyState": self.ready, "readySubstate":
            "PROMOTED" if self.id == production_id else "STAGED", "createdAt": self.created_ms,
            "buildingAt": self.created_ms + 1_000, "ready": self.created_ms + 64_000, "source": "git",
            "meta": {"githubCommitSha": self.sha, "githubCommitRef": "main", "githubOrg": "napoleon-ai"},
            "alias": [f"{PROJECT_NAME}.vercel.app", "napoleonai.app"] if self.id == production_id else [],
            "aliasAssigned": self.target == "production",
        }


def _sha(n: int) -> str:
    return hashlib.sha1(f"napoleon-commit-{n}".encode()).hexdigest()


def known_deployments() -> list[Deployment]:
    """The project's deployments, a day apart, oldest first: four that served production and, fourth, a
    preview (never production: not eligible for rollback).  The last one is live."""
    now = int(time.time() * 1000)
    day = 86_400_000
    return [Deployment(f"dpl_{base64.b32encode(hashlib.sha256(str(n).encode()).digest()).decode()[:24]}", _sha(n),
                       now - (5 - n) * day, target=None if n == 4 else "production")
            for n in range(1, 6)]


@dataclass
class VercelProject:
    """The project as Vercel knows it: its variables and its deployments (newest last)."""

    tb: Testbed
    token: str
    deployments: list[Deployment] = field(default_factory=list)
    production_id: str = ""
    rollbacks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deployments = known_deployments()
        self.production_id = self.deployments[-1].id

    def find(self, id_or_url: str) -> Deployment | None:
        for deployment in self.deployments:
            if id_or_url in (deployment.id, deployment.url):
                return deployment
        return None

    def envs(self) -> list[dict[str, Any]]:
        made = int(time.time() * 1000) - 40 * 86_400_000
        found = []
        for index, key in enumerate(GUIDE_ENV):
            targets = ["production", "preview", "development"]
            if key == MISSING_IN_PRODUCTION and self.tb.state.on(ENV_MISSING):
                targets = ["preview", "development"]
            secret = not key.startswith("NEXT_PUBLIC_")
            # What an encrypted value looks like from outside: ciphertext, never the variable's value.
            cipher = base64.b64encode(hashlib.sha256(f"{key}:{index}".encode()).digest() * 2).decode()
            found.append({
                "type": "sensitive" if secret else "encrypted",
                "id": f"env_{hashlib.sha256(key.encode()).hexdigest()[:16]}",
                "key": key, "value": "" if secret else cipher, "target": targets, "configurationId": None,
                "createdAt": made, "updatedAt": made, "createdBy": None, "updatedBy": None, "decrypted": False,
            })
        return found


def routes(project: VercelProject) -> list[Route]:
    tb = project.tb

    def authorized(request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), project.token.encode()):
            return _error(403, "forbidden", "Not authorized", invalidToken=True)
        team = request.query_params.get("teamId")
        if team is not None and team != TEAM_ID:
            return _error(403, "forbidden", "You don't have permission to access this resource.")
        return None

    def named(request: Request) -> bool:
        return request.path_params["project"] in (PROJECT_ID, PROJECT_NAME)

    async def project_json(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        if not named(request):
            return _error(404, "not_found", "Project not found")
        return JSONResponse({"id": PROJECT_ID, "name": PROJECT_NAME, "accountId": TEAM_ID, "framework": "nextjs",
                             "targets": {"production": project.find(project.production_id).json(  # type: ignore[union-attr]
                                 project.production_id)}})

    async def envs(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        if not named(request):
            return _error(404, "not_found", "Project not found")
        if request.query_params.get("decrypt") == "true":
            return _error(403, "forbidden", "The token's scope does not allow decrypting environment variables.")
        return JSONResponse({"envs": project.envs()})

    async def deployment(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        found = project.find(request.path_params["id_or_url"])
        if found is None:
            return _error(404, "not_found", "Deployment not found")
        return JSONResponse(found.json(project.production_id))

    async def rollback(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        if request.path_params["project_id"] != PROJECT_ID:
            return _error(404, "not_found", "Project not found")
        found = project.find(request.path_params["deployment_id"])
        if found is None:
            return _error(404, "not_found", "Deployment not found")
        if tb.state.on(ROLLBACK_REFUSED):
            return _error(409, "rollback_not_allowed", "This deployment cannot be rolled back to: its build output "
                          "was removed by the project's deployment retention policy.")
        if found.target != "production" or found.ready != "READY":
            return _error(409, "rollback_not_allowed", "Only deployments that served production can be rolled back to.")
        if found.id == project.production_id:
            return _error(409, "rollback_not_allowed", "This deployment is already the current production deployment.")
        project.production_id = found.id
        project.rollbacks.append(found.id)
        tb.state.record("vercel-rollback", deployment=found.id, description=request.query_params.get("description"))
        return Response(status_code=201)

    return [
        Route("/v9/projects/{project}", project_json),
        Route("/v10/projects/{project}/env", envs),
        Route("/v13/deployments/{id_or_url}", deployment),
        Route("/v1/projects/{project_id}/rollback/{deployment_id}", rollback, methods=["POST"]),
    ]
