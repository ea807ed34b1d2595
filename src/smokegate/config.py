"""The target config: what to test, where, and against which budgets.

`smokegate.toml` names targets (production, staging, the local testbed). Each is validated into a
:class:`Target` on load; every problem becomes one :class:`ConfigError` that names the file and
the key, so the plugin can turn it into a single usage error.  Budgets default to the operations
guide's promises.  Secrets never live in the file: it names environment variables, and
:meth:`Target.secret` reads them.
"""

from __future__ import annotations

import os
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from smokegate.load.config import LoadConfig
from smokegate.ops.config import AlertSettings
from smokegate.ops.maintenance import MaintenanceWindow
from smokegate.ops.watch_config import WatchSettings
from smokegate.providers.config import ProvidersConfig, provider_token_envs
from smokegate.security.config import SecurityConfig
from smokegate.synthetic.config import SyntheticConfig
from smokegate.vercel_protection import Bypass


class ConfigError(Exception):
    """The target config cannot be used; the message says where and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str) -> str:
    """An absolute http(s) URL with a valid port, without the space around it and a trailing slash.

    Space around a URL is dropped, as the URL standard's parser and the command line (``--base-url``)
    do; space inside one is an error.
    """
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"not a URL: {value!r} contains whitespace")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {value!r} ({exc})") from None
    return value.rstrip("/")


class Budgets(_Model):
    """The guide's performance promises; any target may tighten or relax one."""

    health_ms: float = Field(500, gt=0)
    api_ms: float = Field(500, gt=0)
    page_ms: float = Field(2000, gt=0)
    db_ms: float = Field(100, gt=0)
    ai_ms: float = Field(3000, gt=0)
    error_rate: float = Field(0.01, ge=0, le=1)
    # The guide's key metrics, judged when the health endpoint reports them.
    memory_ratio: float = Field(0.8, gt=0, le=1)
    response_ms: float = Field(2000, gt=0)
    uptime_ratio: float = Field(0.999, ge=0, le=1)


class Page(_Model):
    """A page a visitor must be able to load."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: str = Field(pattern=r"^/")
    text: str = Field(min_length=1)
    budget_ms: float | None = Field(None, gt=0)
    # Pages whose HTML and scripts are scanned for leaked secrets and checked for security headers.
    scan: StrictBool = True


class ApiEndpoint(_Model):
    """A public API endpoint: status and response time."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: str = Field(pattern=r"^/")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    expect_status: int = Field(200, ge=100, le=599)
    budget_ms: float | None = Field(None, gt=0)
    json_body: dict[str, Any] | None = None


class HealthMetricField(_Model):
    """Where the health body reports one of the guide's metrics, for a shape the suite cannot read by
    itself: a dotted ``path`` and its ``unit``; for memory, ``limit_path`` instead of a unit (used / limit)."""

    path: str = Field(min_length=1, pattern=r"^[^.\s]+(\.[^.\s]+)*$")
    unit: Literal["percent", "ratio", "ms", "s"] | None = None
    limit_path: str | None = Field(None, min_length=1, pattern=r"^[^.\s]+(\.[^.\s]+)*$")

    @model_validator(mode="after")
    def _unit_or_limit(self) -> HealthMetricField:
        if (self.unit is None) == (self.limit_path is None):
            raise ValueError("give either unit (percent, ratio, ms, s) or limit_path (memory used / limit)")
        return self


class Health(_Model):
    """The health endpoint and how it is sampled."""

    path: str = Field("/api/health", pattern=r"^/")
    samples: int = Field(5, ge=1, le=50)
    components: tuple[str, ...] = ("database", "auth", "ai", "payments")
    database_component: str = "database"
    # The guide's health is real-time (refreshed every 30 s): a body timestamp older than this is a past state.
    max_age_s: float = Field(60, gt=0, le=3600)
    # Where the guide's metrics are, when the health body's shape is one the suite does not read by itself.
    metrics: dict[Literal["memory", "error_rate", "response_time", "uptime"], HealthMetricField] = {}

    @model_validator(mode="after")
    def _limit_only_for_memory(self) -> Health:
        wrong = [name for name, spec in self.metrics.items() if spec.limit_path is not None and name != "memory"]
        if wrong:
            raise ValueError(f"metrics.{wrong[0]}: limit_path is for memory only; give a unit")
        return self


class ErrorBurst(_Model):
    """A bounded burst of requests over key endpoints to measure the error rate."""

    paths: tuple[str, ...] = ("/", "/api/health")
    requests: int = Field(100, ge=10, le=500)
    concurrency: int = Field(4, ge=1, le=10)


class Target(_Model):
    """One deployment the suite can test."""

    name: str
    base_url: str
    description: str = ""
    # "system" uses the operating system's trust store; anything else is a PEM file path.
    ca_bundle: str = "system"
    # A safety switch: only a real TOML boolean counts ("yes" is an error, not true).
    intrusive: StrictBool = False
    timeout_s: float = Field(10.0, gt=0, le=120)
    page_samples: int = Field(3, ge=1, le=20)
    budgets: Budgets = Budgets()
    health: Health = Health()
    pages: tuple[Page, ...] = ()
    api: tuple[ApiEndpoint, ...] = ()
    error_burst: ErrorBurst = ErrorBurst()
    # Names of environment variables whose values are secrets for this target.
    secret_env: tuple[str, ...] = ()
    # Hosts a production page must never point at (a development value of NEXT_PUBLIC_APP_URL);
    # entries starting with a dot are suffixes.  The target's own origin is always allowed.
    development_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "0.0.0.0", "::1", ".localhost", ".local")
    # The variable holding Vercel's Protection Bypass for Automation secret (smokegate.vercel_protection); unset or
    # empty means no bypass is sent.
    vercel_bypass_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Sections owned by the security, synthetic and operations suites; validated by their own models.
    security: SecurityConfig = SecurityConfig()
    synthetic: SyntheticConfig = SyntheticConfig()
    alerts: AlertSettings = AlertSettings()
    watch: WatchSettings = WatchSettings()
    # Provider APIs (smokegate.providers) and planned maintenance (smokegate.ops.maintenance).
    providers: ProvidersConfig = ProvidersConfig()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    # The load check (tests/load): declared after pages and api, whose names its weights may use.
    load: LoadConfig = LoadConfig()

    _check_base_url = field_validator("base_url")(classmethod(lambda cls, v: _check_url(v)))

    @field_validator("pages", "api")
    @classmethod
    def _unique_names(cls, items: tuple[Page, ...] | tuple[ApiEndpoint, ...]) -> Any:
        # A field validator, not a model one: its error names the key (``defaults.pages``), once.
        names = [item.name for item in items]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate name(s): {', '.join(duplicates)} (each names a check's parameter)")
        return items

    @model_validator(mode="before")
    @classmethod
    def _provider_tokens_are_secrets(cls, data: Any) -> Any:
        """The variables holding provider tokens join ``secret_env``: masked, and never to be served."""
        if isinstance(data, Mapping) and isinstance(data.get("secret_env", ()), list | tuple):
            names = (*data.get("secret_env", ()), *provider_token_envs(data.get("providers")))
            return {**data, "secret_env": tuple(dict.fromkeys(names))}
        return data

    @field_validator("load")
    @classmethod
    def _load_routes(cls, value: LoadConfig, info: ValidationInfo) -> LoadConfig:
        pages, api = info.data.get("pages"), info.data.get("api")
        if pages is None or api is None:
            return value  # pages or api are invalid themselves: reported there
        problems = value.problems([p.name for p in pages], [a.name for a in api])
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context trusting the OS store, or only the configured CA bundle."""
        if self.ca_bundle == "system":
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=self.ca_bundle)

    def page_budget(self, page: Page) -> float:
        return page.budget_ms if page.budget_ms is not None else self.budgets.page_ms

    def api_budget(self, endpoint: ApiEndpoint) -> float:
        return endpoint.budget_ms if endpoint.budget_ms is not None else self.budgets.api_ms

    def secret(self, env_name: str) -> str | None:
        """The value of a secret environment variable this target names, or None when unset."""
        if env_name not in self.secret_env:
            raise KeyError(f"{env_name} is not listed in secret_env of target {self.name}")
        return os.environ.get(env_name) or None

    def bypass(self) -> Bypass | None:
        """Vercel's automation bypass for this target's origin, when its secret is set."""
        return Bypass.for_target(self.base_url, self.vercel_bypass_env)

    def with_base_url(self, base_url: str) -> Target:
        return self.model_copy(update={"base_url": _check_url(base_url)})


class SuiteConfig(_Model):
    """The whole file: the targets (``[defaults]`` already merged into each)."""

    targets: dict[str, Target]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config file, with what each target's keys were written as (for error messages)."""

    path: Path
    suite: SuiteConfig
    raw_targets: Mapping[str, Any]

    def where(self, target: str, key: str) -> str:
        """``file: targets.NAME.key``, or ``file: defaults.key`` when the target inherited it."""
        body = self.raw_targets.get(target)
        section = f"targets.{target}" if isinstance(body, Mapping) and key in body else "defaults"
        return f"{self.path}: {section}.{key}"


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for item in loc:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def _message(item: Any) -> str:
    if item["type"] == "missing":
        return "required key is missing"
    if item["type"] == "extra_forbidden":
        return "unknown key"
    return str(item["msg"]).removeprefix("Value error, ")


def _written_in(raw: Any, loc: tuple[int | str, ...]) -> bool:
    """Is the value at ``loc`` (or a parent of it) written in ``raw`` itself?"""
    node = raw
    for part in loc:
        if isinstance(part, int) or not isinstance(node, Mapping) or part not in node:
            return isinstance(part, int) and node is not raw
        node = node[part]
    return True


def _defaults_errors(defaults: Mapping[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """Validate ``[defaults]`` on its own, so a typo there is reported once, where it was written."""
    probe = {"name": "defaults", "base_url": "https://defaults.invalid", **defaults}
    try:
        Target.model_validate(probe)
    except ValidationError as exc:
        return [(tuple(e["loc"]), _message(e)) for e in exc.errors()]
    return []


def _format_errors(path: Path, lines: list[str]) -> str:
    unique = list(dict.fromkeys(lines))
    return "invalid target config\n  " + "\n  ".join(f"{path}: {line}" for line in unique)


def load_config(path: str | os.PathLike[str]) -> LoadedConfig:
    """Read and validate the whole config file.

    Keys under ``[defaults]`` are merged into every target, so a target lists only what differs.
    A mistake under ``[defaults]`` is reported once as ``defaults.key``, not once per target.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: target config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a target config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the target config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "settings" in raw:
        raise ConfigError(f"{path}: settings: unknown section (there is no default target: pass --target NAME)")
    defaults = raw.pop("defaults", {})
    targets = raw.get("targets")
    lines: list[str] = []
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{path}: defaults: must be a table")
    lines += [f"defaults.{_location(loc)}: {msg}" for loc, msg in _defaults_errors(defaults)]
    raw_targets = dict(targets) if isinstance(targets, Mapping) else {}
    if isinstance(targets, Mapping):
        raw["targets"] = {
            name: _merge(defaults, {**body, "name": name}) if isinstance(body, Mapping) else body
            for name, body in targets.items()
        }
    try:
        suite = SuiteConfig.model_validate(raw)
    except ValidationError as exc:
        for item in exc.errors():
            loc = tuple(item["loc"])
            inherited = len(loc) >= 3 and loc[0] == "targets" and not _written_in(raw_targets.get(str(loc[1])), loc[2:])
            if inherited and lines:
                continue  # a mistake in [defaults], already reported there once
            lines.append(f"{_location(loc) or '(top level)'}: {_message(item)}")
        raise ConfigError(_format_errors(path, lines)) from None
    if lines:
        raise ConfigError(_format_errors(path, lines))
    return LoadedConfig(path, suite, raw_targets)


def resolve_target(loaded: LoadedConfig, target_name: str, base_url: str | None = None) -> Target:
    """The target to test, chosen by name, its URL optionally overridden (``--base-url``)."""
    suite = loaded.suite
    if target_name not in suite.targets:
        known = ", ".join(sorted(suite.targets)) or "none"
        raise ConfigError(f"--target: unknown target {target_name!r} in {loaded.path} (known targets: {known})")
    target = suite.targets[target_name]
    if base_url:
        try:
            target = target.with_base_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"--base-url: {exc}") from None
    if target.ca_bundle != "system":
        ca = Path(target.ca_bundle)
        if not ca.is_absolute():
            ca = loaded.path.resolve().parent / ca
        target = target.model_copy(update={"ca_bundle": str(ca)})
    return target
