"""Every input checked before anything is sent: options, the config file, the CA file, the reports
directory and the webhook URLs in the environment.

Each problem is one line naming where the user wrote the value (``--ca-bundle``,
``env SMOKEGATE_CA_BUNDLE``, ``smokegate.toml: targets.local.ca_bundle``), and never echoes a
secret.  Nothing here opens a network connection.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from smokegate.config import ConfigError, Target, load_config, resolve_target
from smokegate.options import BY_FLAG, Settings

WEBHOOK_ENVS = ("ALERT_WEBHOOK_URL", "MONITORING_WEBHOOK_URL")


def reports_dir_problem(path: Path) -> str | None:
    """Can the run write its reports here? (It is created when missing.)"""
    where = f"{BY_FLAG['--reports-dir'].flag} / env {BY_FLAG['--reports-dir'].env}"
    if path.exists() and not path.is_dir():
        return f"{where}: {path} exists and is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".smokegate-write-test-"):
            pass
    except OSError as exc:
        return f"{where}: cannot write reports to {path} ({exc.strerror or exc})"
    return None


def ca_bundle_problem(ca_bundle: str, where: str) -> str | None:
    """Is this a readable PEM file with at least one certificate (or ``system``)?"""
    if ca_bundle == "system":
        return None
    path = Path(ca_bundle)
    if not path.exists():
        return f"{where}: CA file not found: {path}"
    if not path.is_file():
        return f"{where}: {path} is not a file (a PEM file of CA certificates is needed)"
    try:
        context = ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return f"{where}: {path} is not a PEM file of certificates ({reason})"
    except OSError as exc:
        return f"{where}: cannot read {path} ({exc.strerror or exc})"
    if not context.get_ca_certs():
        return f"{where}: {path} holds no CA certificate"
    return None


def url_problem(value: str, where: str, *, secret: bool = False) -> str | None:
    """An absolute http(s) URL with a host and no whitespace; a secret one is never echoed."""
    shown = "the value" if secret else repr(value)
    if value != value.strip() or any(ch.isspace() for ch in value):
        return f"{where}: {shown} contains whitespace or a line break"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{where}: {shown} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{where}: {shown} is not an absolute http(s) URL"
    return None


def webhook_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Alert and monitoring webhook URLs, when set (an empty variable means not set, as in CI)."""
    env = os.environ if environ is None else environ
    found = []
    for name in WEBHOOK_ENVS:
        value = env.get(name, "")
        if value:
            problem = url_problem(value, f"env {name}", secret=True)
            if problem:
                found.append(problem)
    return found


def path_problems(args: list[str], invocation_dir: Path, *, pyargs: bool = False) -> list[str]:
    """The test files and directories named on the command line exist (pytest would stop on them while
    collecting, after the target was already probed)."""
    if pyargs:
        return []
    missing = []
    for arg in args:
        path = arg.split("::", 1)[0]
        if path and not (invocation_dir / path).exists():
            missing.append(f"file or directory not found: {arg} (in {invocation_dir})")
    return missing


def prepare(settings: Settings) -> tuple[Target | None, list[str]]:
    """The target of the run and every problem that stops it; the target is None when it cannot be made."""
    if settings.target is None:
        return None, ["no target chosen: pass --target NAME (a target of smokegate.toml; env SMOKEGATE_TARGET)"]
    try:
        loaded = load_config(settings.config_path)
        target = resolve_target(loaded, settings.target, settings.base_url)
    except ConfigError as exc:
        # The inputs that do not depend on the config are still checked: one run names them all.
        return None, [str(exc), *webhook_problems(), *history_problems(settings)]
    problems = []
    if settings.ca_bundle:
        ca = settings.ca_bundle if settings.ca_bundle == "system" else str(Path(settings.ca_bundle).resolve())
        target = target.model_copy(update={"ca_bundle": ca})
        where = settings.ca_bundle_source
    else:
        where = loaded.where(target.name, "ca_bundle")
    problem = ca_bundle_problem(target.ca_bundle, where)
    if problem:
        problems.append(problem)
    if settings.http_url:
        problem = url_problem(settings.http_url, "--http-url / env SMOKEGATE_HTTP_URL")
        if problem:
            problems.append(problem)
    problems += webhook_problems()
    problems += history_problems(settings)
    problems += bypass_problems(target, loaded.where(target.name, "vercel_bypass_env"))
    problems += clerk_problems(target)
    problems += provider_problems(target)
    return target, problems


def provider_problems(target: Target, environ: Mapping[str, str] | None = None) -> list[str]:
    """The providers' tokens and the URLs that replace theirs, when set (values never echoed).

    A token is a bearer token: one line, sent over HTTPS only, so a URL replacing a provider's must be
    HTTPS; a status page's URL carries no token but is checked the same way.
    """
    env = os.environ if environ is None else environ
    providers = target.providers
    found = []
    for key, section in (("vercel", providers.vercel), ("supabase", providers.supabase), ("stripe", providers.stripe)):
        token = env.get(section.token_env, "")
        if token and (token != token.strip() or any(ch.isspace() or not ch.isprintable() for ch in token)):
            found.append(f"env {section.token_env} (providers.{key}.token_env): the value contains whitespace, a "
                         "line break or a control character")
        found += _https_env(section.api_url_env, env, f"providers.{key}.api_url_env")
    for page in providers.status.pages:
        found += _https_env(page.url_env, env, f"providers.status.pages[{page.name}].url_env")
    return found


def _https_env(name: str | None, env: Mapping[str, str], key: str) -> list[str]:
    if not name or not env.get(name):
        return []
    where = f"env {name} ({key})"
    problem = url_problem(env[name], where)
    if problem is None and urlsplit(env[name]).scheme != "https":
        problem = f"{where}: provider APIs and status pages are only read over HTTPS"
    return [problem] if problem else []


def history_problems(settings: Settings) -> list[str]:
    """The run history the run will be recorded in: a smokegate history (or none yet), named without a
    password on the command line, and no earlier run there with this run's ``--run-id``.

    A PostgreSQL history is not connected to here (nothing opens a connection before the run): a run
    id recorded there already is refused when the run is recorded.
    """
    if settings.no_history:
        return []
    from smokegate.ops.history import HistoryError, checked_source, recorded_run

    if settings.history:
        text, origin = settings.history, settings.history_source
    else:
        text = str(Path(settings.reports_dir) / "history.sqlite")
        origin = "the run history (default <reports-dir>/history.sqlite; --history to choose another)"
    try:
        source = checked_source(text, origin=origin)
    except HistoryError as exc:
        return [str(exc)]
    earlier = recorded_run(source, settings.run_id) if isinstance(source, Path) and settings.run_id else None
    if earlier is not None:
        verdict, finished = earlier
        return [f"{BY_FLAG['--run-id'].flag} / env {BY_FLAG['--run-id'].env}: {settings.run_id!r} is the id of a run "
                f"already recorded in {source} ({verdict}, finished {finished}); give each run its own id (a "
                "recorded run is never replaced)"]
    return []


def clerk_problems(target: Target, environ: Mapping[str, str] | None = None) -> list[str]:
    """The Clerk secret key and Backend API URL from the environment, when set (the values never echoed)."""
    env = os.environ if environ is None else environ
    clerk = target.synthetic.clerk
    found = []
    key = env.get(clerk.secret_key_env, "")
    if key and (key != key.strip() or any(ch.isspace() or not ch.isprintable() for ch in key)):
        found.append(f"env {clerk.secret_key_env}: the value contains whitespace, a line break or a control character")
    if clerk.api_url_env and env.get(clerk.api_url_env):
        where = f"env {clerk.api_url_env}"
        problem = url_problem(env[clerk.api_url_env], where)
        if problem is None and urlsplit(env[clerk.api_url_env]).scheme != "https":
            problem = f"{where}: Clerk's Backend API is only called over HTTPS (the secret key is its bearer token)"
        if problem:
            found.append(problem)
    return found


def bypass_problems(target: Target, where: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The Vercel bypass secret, when its variable is set: one line, usable in a header, sent over HTTPS only."""
    name = target.vercel_bypass_env
    value = (os.environ if environ is None else environ).get(name, "") if name else ""
    if not name or not value:
        return []
    if value != value.strip() or any(ch.isspace() or not ch.isprintable() for ch in value):
        return [f"env {name} (named in {where}): the value contains whitespace, a line break or a control "
                "character; it cannot be sent as a header"]
    if urlsplit(target.base_url).scheme != "https":
        return [f"env {name} (named in {where}) is set, but {target.base_url} is plain HTTP: the Vercel bypass "
                "secret is only ever sent over HTTPS"]
    return []
