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
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smokegate.ops.watch_config import WatchSettings
from smokegate.security.config import SecurityConfig
from smokegate.synthetic.config import SyntheticConfig

SEVERITIES = ("critical", "high", "medium", "low")
Severity = Literal["critical", "high", "medium", "low"]
DEFAULT_CONFIG_NAME = "smokegate.toml"


class ConfigError(Exception):
    """The target config cannot be used; the message says where and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value.rstrip("/")


class Budgets(_Model):
    """The guide's performance promises; any target may tighten or relax one."""

    health_ms: float = Field(500, gt=0)
    api_ms: float = Field(500, gt=0)
    page_ms: float = Field(2000, gt=0)
    db_ms: float = Field(100, gt=0)
    ai_ms: float = Field(3000, gt=0)
    error_rate: float = Field(0.01, ge=0, le=1)


class Page(_Model):
    """A page a visitor must be able to load."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: str = Field(pattern=r"^/")
    text: str = Field(min_length=1)
    budget_ms: float | None = Field(None, gt=0)
    # Pages whose HTML and scripts are scanned for leaked secrets and checked for security headers.
    scan: bool = True


class ApiEndpoint(_Model):
    """A public API endpoint: status and response time."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: str = Field(pattern=r"^/")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    expect_status: int = Field(200, ge=100, le=599)
    budget_ms: float | None = Field(None, gt=0)
    json_body: dict[str, Any] | None = None


class Health(_Model):
    """The health endpoint and how it is sampled."""

    path: str = Field("/api/health", pattern=r"^/")
    samples: int = Field(5, ge=1, le=50)
    components: tuple[str, ...] = ("database", "auth", "ai", "payments")
    database_component: str = "database"


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
    intrusive: bool = False
    timeout_s: float = Field(10.0, gt=0, le=120)
    page_samples: int = Field(3, ge=1, le=20)
    budgets: Budgets = Budgets()
    health: Health = Health()
    pages: tuple[Page, ...] = ()
    api: tuple[ApiEndpoint, ...] = ()
    error_burst: ErrorBurst = ErrorBurst()
    # Names of environment variables whose values are secrets for this target.
    secret_env: tuple[str, ...] = ()
    # Sections owned by the security, synthetic and operations suites; validated by their own models.
    security: SecurityConfig = SecurityConfig()
    synthetic: SyntheticConfig = SyntheticConfig()
    alerts: dict[str, Any] = Field(default_factory=dict)
    watch: WatchSettings = WatchSettings()

    @field_validator("alerts")
    @classmethod
    def _check_alerts(cls, value: dict[str, Any]) -> dict[str, Any]:
        from smokegate.ops.alerts import parse_alert_settings  # the operations suite owns its model

        parse_alert_settings(value)
        return value

    _check_base_url = field_validator("base_url")(classmethod(lambda cls, v: _check_url(v)))

    @model_validator(mode="after")
    def _unique_names(self) -> Target:
        for kind, items in (("pages", self.pages), ("api", self.api)):
            names = [item.name for item in items]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} name(s): {', '.join(duplicates)}")
        return self

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

    def with_base_url(self, base_url: str) -> Target:
        return self.model_copy(update={"base_url": _check_url(base_url)})


class Settings(_Model):
    default_target: str = "production"


class SuiteConfig(_Model):
    """The whole file: settings, shared defaults and the targets."""

    settings: Settings = Settings()
    targets: dict[str, Target]


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


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = _location(tuple(item["loc"])) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{path}: {where}: {message}")
    return "invalid target config\n  " + "\n  ".join(lines)


def load_config(path: str | os.PathLike[str]) -> SuiteConfig:
    """Read and validate the whole config file.

    Keys under ``[defaults]`` are merged into every target, so a target lists only what differs.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: target config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    defaults = raw.pop("defaults", {})
    targets = raw.get("targets")
    if isinstance(targets, dict) and isinstance(defaults, dict):
        raw["targets"] = {
            name: _merge(defaults, {**body, "name": name}) if isinstance(body, dict) else body
            for name, body in targets.items()
        }
    try:
        return SuiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None


def resolve_target(
    config_path: str | os.PathLike[str], target_name: str | None, base_url: str | None = None
) -> Target:
    """The target to test: chosen by name (or the file's default), its URL optionally overridden."""
    suite = load_config(config_path)
    name = target_name or suite.settings.default_target
    if name not in suite.targets:
        known = ", ".join(sorted(suite.targets)) or "none"
        raise ConfigError(f"{config_path}: unknown target {name!r} (known targets: {known})")
    target = suite.targets[name]
    if base_url:
        try:
            target = target.with_base_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"--base-url: {exc}") from None
    if target.ca_bundle != "system":
        ca = Path(target.ca_bundle)
        if not ca.is_absolute():
            ca = Path(config_path).resolve().parent / ca
        target = target.model_copy(update={"ca_bundle": str(ca)})
    return target
