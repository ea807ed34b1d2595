"""The provider API calls the checks and ``smokegate rollback`` make, each as its provider documents it.

- Vercel REST API (``Authorization: Bearer <token>``, ``teamId`` on every call for a team's project):
  ``GET /v9/projects/{idOrName}``, ``GET /v10/projects/{idOrName}/env`` (names and targets; values
  stay encrypted, ``decrypt`` is never asked for and ``value`` is never read),
  ``GET /v13/deployments/{idOrUrl}``, and instant rollback
  ``POST /v1/projects/{projectId}/rollback/{deploymentId}`` (201; no rebuild).
- Supabase Management API (a personal access token): ``GET /v1/projects/{ref}/database/migrations``
  (``[{version, name}]``) and ``GET /v1/projects/{ref}/database/backups`` (``pitr_enabled``,
  ``backups[{status, inserted_at}]``, ``physical_backup_data``).
- Stripe (a restricted key as bearer token), lists paginated with ``has_more``/``starting_after``:
  ``GET /v1/webhook_endpoints``, ``GET /v1/events?delivery_success=false&created[gte]=``,
  ``GET /v1/charges?created[gte]=``.
- Clerk Backend API (the instance's secret key): ``GET /v1/users/count`` (``last_active_at_since``
  in milliseconds), ``GET /v1/users`` (ids only are read), ``GET /v1/sessions?user_id=&status=active``.

Every call goes through :class:`~smokegate.providers.client.ProviderApi` (timeout, one retry, the
meaning of each status).  Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from smokegate.checks.provider_state import PaymentCounts, payment_counts
from smokegate.providers.client import ProviderApi, ProviderDegraded, verify_context

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.providers.config import ApiSection, Stripe, Supabase, Vercel

OnRequest = Callable[[], None] | None


def _api(name: str, section: ApiSection, key: str, ca_bundle: str, on_request: OnRequest, *,
         personal: bool = False) -> ProviderApi | None:
    token = section.token()
    if token is None:
        return None
    url, source = section.resolved_url(key)
    return ProviderApi(name, url, section.timeout_s, verify_context(ca_bundle), token=token,
                       token_env=section.token_env, url_source=source, personal=personal, on_request=on_request)


def vercel_api(target: Target, on_request: OnRequest = None) -> ProviderApi | None:
    return _api("Vercel's REST API", target.providers.vercel, "vercel", target.ca_bundle, on_request)


def supabase_api(target: Target, on_request: OnRequest = None) -> ProviderApi | None:
    return _api("Supabase's Management API", target.providers.supabase, "supabase", target.ca_bundle, on_request)


def stripe_api(target: Target, on_request: OnRequest = None) -> ProviderApi | None:
    return _api("Stripe's API", target.providers.stripe, "stripe", target.ca_bundle, on_request, personal=True)


def clerk_api(target: Target, on_request: OnRequest = None) -> ProviderApi | None:
    clerk = target.synthetic.clerk
    key = clerk.secret_key()
    if key is None:
        return None
    url, source = clerk.backend_url()
    return ProviderApi("Clerk's Backend API", url, clerk.timeout_s, verify_context(target.ca_bundle), token=key,
                       token_env=clerk.secret_key_env, url_source=source, personal=True, on_request=on_request)


def _segment(value: str) -> str:
    return quote(value, safe="")


# -- Vercel ------------------------------------------------------------------------------------------


def _team(cfg: Vercel) -> dict[str, str]:
    return {"teamId": cfg.team_id} if cfg.team_id else {}


def vercel_envs(api: ProviderApi, cfg: Vercel) -> list[Any]:
    body = api.get(f"/v10/projects/{_segment(cfg.project)}/env", **_team(cfg))
    envs = body.get("envs") if isinstance(body, Mapping) else None
    if not isinstance(envs, list):
        raise ProviderDegraded(f"{api.name} answered GET /v10/projects/{cfg.project}/env without an envs list")
    return envs


def vercel_project(api: ProviderApi, cfg: Vercel) -> Mapping[str, Any]:
    body = api.get(f"/v9/projects/{_segment(cfg.project)}", **_team(cfg))
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise ProviderDegraded(f"{api.name} answered GET /v9/projects/{cfg.project} without a project id")
    return body


def vercel_deployment(api: ProviderApi, cfg: Vercel, id_or_url: str) -> Mapping[str, Any] | None:
    """A deployment by id or by its URL's host name; None when Vercel knows no such deployment."""
    key = urlsplit(id_or_url).hostname or id_or_url if "://" in id_or_url else id_or_url
    answer = api.send("GET", f"/v13/deployments/{_segment(key)}", params=_team(cfg), accept=(404,))
    if answer.status == 404:
        return None
    if not isinstance(answer.body, Mapping) or not isinstance(answer.body.get("id"), str):
        raise ProviderDegraded(f"{api.name} answered GET /v13/deployments/{key} without a deployment id")
    return answer.body


@dataclass(frozen=True)
class RollbackAnswer:
    status: int
    detail: str


def vercel_rollback(api: ProviderApi, cfg: Vercel, project_id: str, deployment_id: str,
                    description: str) -> RollbackAnswer:
    """Instant rollback: Vercel points the production domains at ``deployment_id`` (201), no rebuild."""
    from smokegate.providers.client import error_detail

    answer = api.send("POST", f"/v1/projects/{_segment(project_id)}/rollback/{_segment(deployment_id)}",
                      params={"description": description, **_team(cfg)}, accept=(400, 402, 404, 409, 422))
    return RollbackAnswer(answer.status, "accepted" if answer.status < 300 else error_detail(answer.body))


# -- Supabase ------------------------------------------------------------------------------------------


def supabase_migrations(api: ProviderApi, cfg: Supabase) -> list[Any]:
    path = f"/v1/projects/{_segment(cfg.project_ref)}/database/migrations"
    body = api.get(path)
    if not isinstance(body, list):
        raise ProviderDegraded(f"{api.name} answered GET {path} without a list of migrations")
    return body


def supabase_backups(api: ProviderApi, cfg: Supabase) -> Mapping[str, Any]:
    path = f"/v1/projects/{_segment(cfg.project_ref)}/database/backups"
    body = api.get(path)
    if not isinstance(body, Mapping) or not isinstance(body.get("backups"), list):
        raise ProviderDegraded(f"{api.name} answered GET {path} without a backups list")
    return body


# -- Stripe --------------------------------------------------------------------------------------------


def stripe_endpoints(api: ProviderApi, cfg: Stripe) -> list[Any]:
    endpoints, _ = api.list_pages("/v1/webhook_endpoints", max_pages=cfg.max_pages, params={"limit": 100})
    return endpoints


def stripe_failed_deliveries(api: ProviderApi, cfg: Stripe, since: datetime) -> tuple[int, bool]:
    """Events since ``since`` whose delivery is pending or failed (``delivery_success=false``)."""
    events, more = api.list_pages("/v1/events", max_pages=cfg.max_pages, params={
        "limit": 100, "delivery_success": "false", "created[gte]": int(since.timestamp())})
    return len(events), more


def stripe_payments(api: ProviderApi, cfg: Stripe, since: datetime) -> PaymentCounts:
    charges, more = api.list_pages("/v1/charges", max_pages=cfg.max_pages, params={
        "limit": 100, "created[gte]": int(since.timestamp())})
    return payment_counts(charges, more)


# -- Clerk ----------------------------------------------------------------------------------------------


def clerk_count(api: ProviderApi, **filters: Any) -> int:
    body = api.get("/v1/users/count", **filters)
    total = body.get("total_count") if isinstance(body, Mapping) else None
    if isinstance(total, bool) or not isinstance(total, int):
        raise ProviderDegraded(f"{api.name} answered GET /v1/users/count without a total_count")
    return total


def clerk_user_ids(api: ProviderApi, *, limit: int, **filters: Any) -> list[str]:
    """Ids of users matching ``filters`` (most recently active first); nothing else is read."""
    if limit <= 0:
        return []
    body = api.get("/v1/users", limit=min(limit, 500), **filters)
    users = body.get("data") if isinstance(body, Mapping) else body  # a list, or {"data": [...]} in newer versions
    if not isinstance(users, list):
        raise ProviderDegraded(f"{api.name} answered GET /v1/users without a list of users")
    return [str(u["id"]) for u in users if isinstance(u, Mapping) and isinstance(u.get("id"), str)][:limit]


def clerk_active_sessions(api: ProviderApi, user_id: str) -> int:
    """A user's active sessions (Clerk lists sessions per user or per client, never instance-wide)."""
    body = api.get("/v1/sessions", user_id=user_id, status="active", paginated="true", limit=1)
    if isinstance(body, Mapping) and isinstance(body.get("total_count"), int):
        return int(body["total_count"])
    if isinstance(body, list):  # an instance answering without pagination: count what came
        whole = api.get("/v1/sessions", user_id=user_id, status="active", limit=500)
        return len(whole) if isinstance(whole, list) else 0
    raise ProviderDegraded(f"{api.name} answered GET /v1/sessions without sessions")
