"""One HTTP client for every provider API and status page: bounded, retried once, judged the same way.

What an answer means, for every provider alike (:class:`ProviderApi`):

- a network fault on the way (reset, timeout, EOF) is tried once more on a fresh connection; a
  lasting one (DNS, refused, TLS) is not.  Either way the result is
  :class:`~smokegate.failures.Inconclusive`: the network between runner and provider failed, which
  says nothing about the deployment (the one classifier: :func:`smokegate.failures.is_transient` and
  :func:`smokegate.probe.describe_transport_error`);
- 429 and 5xx are asked once more after ``Retry-After`` (at most 5 s); twice in a row they are the
  provider's degradation: :class:`~smokegate.failures.CheckFailure` of kind ``third-party``;
- 401 and 403 mean the token is wrong for this project, 404 that the project named in the config
  does not exist, any other 4xx that the request was refused: ``test-setup`` (not an outage), the
  provider's own error message quoted;
- an answer that is not JSON, or larger than :data:`MAX_ANSWER_BYTES`, is a ``third-party`` finding.

Tokens go in the ``Authorization`` header only, over HTTPS only (config and preflight see to it),
and are masked by the one scrubber like every secret the target names.  What an answer holds that
could identify a person (emails, names, phone numbers, user and customer ids) is handed to the
scrubber as soon as it is read (:func:`remember_personal`), though no check writes it anywhere.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from smokegate.failures import CheckFailure, FailureKind, Inconclusive, is_transient
from smokegate.probe import USER_AGENT, describe_transport_error
from smokegate.scrub import SCRUBBER

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER_S = 5.0
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Keys whose values can identify a person, in the answers of Stripe and Clerk (and any other).
PERSONAL_KEYS = frozenset({
    "email", "email_address", "receipt_email", "name", "first_name", "last_name", "username", "phone",
    "phone_number", "customer", "user_id", "ip_address", "line1", "line2", "postal_code", "external_id",
})
PERSONAL_ID_PREFIXES = ("user_", "cus_", "sess_", "client_", "idn_")


class ProviderSetupError(CheckFailure):
    """The provider refused what the suite asked for a reason on the suite's side (token, project name)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(FailureKind.TEST_SETUP, message)
        self.detail = detail or message  # the reason alone, for a one-line hint


class ProviderDegraded(CheckFailure):
    """The provider's API answered with errors twice, or with something no client can read."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(FailureKind.THIRD_PARTY, message)
        self.detail = detail or message


class ProviderUnreachable(Inconclusive):
    """The network between runner and provider failed (after a retry where one could help)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.detail = detail


def remember_personal(data: Any) -> None:
    """Hand every value of ``data`` that could identify a person to the scrubber (recursively)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(value, str) and (key in PERSONAL_KEYS or value.startswith(PERSONAL_ID_PREFIXES)):
                    SCRUBBER.add(value, name="personal data")
                elif isinstance(value, Mapping | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def error_detail(body: Any) -> str:
    """The provider's own words from an error answer: Vercel/Stripe ``{"error": {...}}``, Clerk's
    ``{"errors": [...]}``, Supabase's ``{"message": ...}``."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            code = error.get("code") or error.get("type") or "error"
            return f"{code}: {error.get('message') or ''}".strip().rstrip(":")
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
            return f"{first.get('code') or 'error'}: {first.get('long_message') or first.get('message') or ''}".strip()
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "no error detail"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass
class ProviderApi:
    """A provider's HTTPS API (or status page), as one named thing the messages can talk about."""

    name: str  # "Vercel's REST API", "Supabase's status page"
    base_url: str
    timeout_s: float
    verify: ssl.SSLContext
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None  # where the token came from, for messages (never its value)
    url_source: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    personal: bool = False  # the answers may hold personal data (Stripe, Clerk)
    on_request: Callable[[], None] | None = None
    requests_sent: int = 0

    def __post_init__(self) -> None:
        headers = {"user-agent": USER_AGENT, "accept": "application/json", **self.headers}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        self.client = httpx.Client(
            base_url=self.base_url.rstrip("/"), headers=headers, verify=self.verify, follow_redirects=False,
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 5.0)), trust_env=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ProviderApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.name} ({self.base_url}{', from ' + self.url_source if self.url_source else ''})"

    def send(self, method: str, path: str, *, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
             json_body: Any = None, accept: tuple[int, ...] = ()) -> Answer:
        """One request and its JSON answer (see the module docstring for what each outcome means).

        ``path`` is relative to :attr:`base_url`, or an absolute URL; answers with a status in
        ``accept`` (a 404 that means "no such deployment") are returned rather than judged.
        """
        first_reason = ""
        for attempt in (1, 2):
            self.requests_sent += 1
            if self.on_request is not None:
                self.on_request()
            try:
                status, headers, raw = self._exchange(method, path, params, json_body)
            except httpx.TransportError as exc:
                reason = describe_transport_error(exc, self.timeout_s)
                if attempt == 1 and is_transient(exc):
                    first_reason = reason
                    continue
                both = reason if not first_reason or reason == first_reason else f"{first_reason}, then {reason}"
                tries = "2 attempts" if first_reason else "not retried: it lasts"
                raise ProviderUnreachable(f"{self._where()} did not answer {method} {path}: {both} ({tries})",
                                          both) from None
            if status in RETRY_STATUSES and attempt == 1:
                time.sleep(_retry_after(headers.get("retry-after")))
                continue
            return self._judge(method, path, status, raw, accept)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _exchange(self, method: str, path: str, params: Any, json_body: Any) -> tuple[int, httpx.Headers, bytes]:
        request = self.client.build_request(method, path, params=params, json=json_body)
        response = self.client.send(request, stream=True)
        try:
            chunks, size = [], 0
            deadline = time.monotonic() + self.timeout_s
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES or time.monotonic() > deadline:
                    what = "more than 8 MiB" if size > MAX_ANSWER_BYTES else "a body that did not end in time"
                    raise ProviderDegraded(f"{self._where()} answered {method} {path} with {what}; stopped reading")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)
        finally:
            response.close()

    def _judge(self, method: str, path: str, status: int, raw: bytes, accept: tuple[int, ...] = ()) -> Answer:
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
            if 200 <= status < 300:
                raise ProviderDegraded(f"{self._where()} answered {method} {path} with {status} and a body that "
                                       "is not JSON", "the answer is not JSON") from None
        if self.personal:
            remember_personal(body)
        if status in accept:
            return Answer(status, body)
        if status in (401, 403):
            key = f"the token in {self.token_env}" if self.token_env else "the request"
            raise ProviderSetupError(f"{self._where()} refused {key} ({status} {error_detail(body)}): use a token "
                                     "with read access to this project", f"refused ({status})")
        if status in RETRY_STATUSES:
            raise ProviderDegraded(f"{self._where()} answered {method} {path} with {status} ({error_detail(body)}) "
                                   "twice: the provider is degraded", f"answered {status} twice")
        if status >= 400:
            raise ProviderSetupError(f"{self._where()} answered {method} {path} with {status} "
                                     f"({error_detail(body)}): check the project named in the config",
                                     f"answered {status}")
        return Answer(status, body)

    def get(self, path: str, **params: Any) -> Any:
        return self.send("GET", path, params={k: v for k, v in params.items() if v is not None}).body

    def list_pages(self, path: str, *, max_pages: int, params: Mapping[str, Any]) -> tuple[list[Any], bool]:
        """Stripe's list pagination (``has_more``, ``starting_after``): the objects, and whether more
        remained after ``max_pages`` pages."""
        objects: list[Any] = []
        query = dict(params)
        for _ in range(max_pages):
            body = self.get(path, **query)
            data = body.get("data") if isinstance(body, Mapping) else None
            if not isinstance(data, list):
                raise ProviderDegraded(f"{self._where()} answered GET {path} without a list (no data)")
            objects += data
            if not body.get("has_more") or not data:
                return objects, False
            last = data[-1].get("id") if isinstance(data[-1], Mapping) else None
            if not isinstance(last, str):
                raise ProviderDegraded(f"{self._where()} answered GET {path} with has_more but no object id")
            query["starting_after"] = last
        return objects, True


def _retry_after(value: str | None) -> float:
    try:
        wait = float(value) if value is not None else 1.0
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def verify_context(ca_bundle: str) -> ssl.SSLContext:
    """The OS trust store, plus the target's own CA when it has one (a staging CA, the testbed's)."""
    context = ssl.create_default_context()
    if ca_bundle != "system":
        context.load_verify_locations(cafile=ca_bundle)
    return context
