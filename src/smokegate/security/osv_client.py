"""Published advisories for one npm package version: OSV's query API, a day's cache, a shipped snapshot.

``POST <api>/v1/query {"package": {"ecosystem": "npm", "name": ...}, "version": ...}`` answers
``{"vulns": [<OSV record>, ...]}`` (``{}`` when none apply).  Answers are kept for ``cache_hours`` in
the user's cache directory, keyed by API, package and version.  When OSV cannot be asked (offline, a
network fault after one retry, an answer that is not OSV's), the dated snapshot shipped with smokegate
(``smokegate/data/osv_snapshot.json``) answers instead, and says so: it holds every advisory from its
``complete_from`` severity up, and a check that must judge lower severities cannot be determined from it.

``python -m smokegate.security.osv_client --refresh`` rewrites the snapshot from OSV (every advisory of
each package, all severities), where OSV is reachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from smokegate.cache import cache_dir
from smokegate.failures import is_transient

SNAPSHOT = "osv_snapshot.json"
PACKAGES = ("next", "react", "react-dom", "react-server-dom-webpack", "react-server-dom-turbopack")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    records: list[dict[str, Any]]
    # Where they came from: "OSV (https://api.osv.dev)", "OSV, cached 2 h ago", or the snapshot and why.
    source: str
    # The lowest severity the answer is complete for (OSV: "low"; the snapshot: its complete_from).
    complete_from: str = "low"
    from_snapshot: bool = False


def load_snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("smokegate.data").joinpath(SNAPSHOT).read_text())
    return data


def _cache_file(api: str, package: str, version: str) -> Path:
    digest = hashlib.sha256(f"{api}\n{package}\n{version}".encode()).hexdigest()[:24]
    return cache_dir("advisories") / f"{package}-{digest}.json"


def _read_cache(path: Path, max_age_s: float) -> tuple[list[dict[str, Any]], float] | None:
    try:
        age = time.time() - path.stat().st_mtime
        if age > max_age_s:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return (data, age) if isinstance(data, list) else None


def _write_cache(path: Path, records: list[dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(records))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written is skipped


def _post(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """One OSV call, retried once on a transient network fault; raises httpx.HTTPError or ValueError."""
    for attempt in (1, 2):
        try:
            response = client.post(url, json=body)
            break
        except httpx.TransportError as exc:
            if attempt == 2 or not is_transient(exc):  # a refusal or a failed lookup lasts (smokegate.failures)
                raise
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not an OSV answer")
    return data


def query(api: str, package: str, version: str, *, cache_hours: float = 24, verify: Any = True,
          timeout_s: float = TIMEOUT_S) -> Answer:
    """The advisories OSV knows for ``package`` at ``version`` (cached), else the snapshot's."""
    api = api.rstrip("/")
    cached_file = _cache_file(api, package, version)
    cached = _read_cache(cached_file, cache_hours * 3600)
    if cached is not None:
        records, age = cached
        return Answer(records, f"OSV ({api}), cached {age / 3600:.1f} h ago")
    body = {"package": {"ecosystem": "npm", "name": package}, "version": version}
    try:
        with httpx.Client(timeout=timeout_s, verify=verify, trust_env=False) as client:
            data = _post(client, f"{api}/v1/query", body)
        vulns = data.get("vulns", [])
        if not isinstance(vulns, list):
            raise ValueError("vulns is not a list")
    except (httpx.HTTPError, ValueError) as exc:
        snapshot = load_snapshot()
        records = [r for r in snapshot["packages"].get(package, []) if isinstance(r, dict)]
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return Answer(records, f"the snapshot of {snapshot['taken']} shipped with smokegate (OSV at {api} could "
                      f"not be asked: {reason})", snapshot.get("complete_from", "low"), from_snapshot=True)
    _write_cache(cached_file, vulns)
    return Answer(vulns, f"OSV ({api})")


def refresh(api: str = "https://api.osv.dev", path: Path | None = None) -> Path:
    """Rewrite the shipped snapshot from OSV: every advisory of each package (a package-only query)."""
    packages: dict[str, list[dict[str, Any]]] = {}
    with httpx.Client(timeout=60, trust_env=False) as client:
        for package in PACKAGES:
            records: list[dict[str, Any]] = []
            token = None
            while True:
                body: dict[str, Any] = {"package": {"ecosystem": "npm", "name": package}}
                if token:
                    body["page_token"] = token
                data = _post(client, f"{api.rstrip('/')}/v1/query", body)
                records += data.get("vulns", [])
                token = data.get("next_page_token")
                if not token:
                    break
            packages[package] = records
    target = path or Path(str(resources.files("smokegate.data").joinpath(SNAPSHOT)))
    target.write_text(json.dumps({"taken": dt.date.today().isoformat(), "source": f"OSV ({api}), every advisory",
                                  "complete_from": "low", "packages": packages}, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smokegate.security.osv_client", description=__doc__)
    parser.add_argument("--refresh", action="store_true", help="rewrite the shipped snapshot from OSV")
    parser.add_argument("--api", default="https://api.osv.dev")
    args = parser.parse_args(argv)
    if args.refresh:
        print(f"snapshot written: {refresh(args.api)}")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
