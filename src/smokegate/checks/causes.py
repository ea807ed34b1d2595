"""The causes checks name when they fail, so that one fault is one finding.

A check that fails says what its failure is a symptom of (``check_record.cause(summary, *keys)``);
the gate folds failed checks that share a key into one finding (:mod:`smokegate.gate`).  Causes that
checks of several modules share are named here, once: a key is a promise that every check naming it
fails for the same fix.  Causes built from what a check saw (``asset_key(url)``, ``cookie:<name>``)
are made by the functions below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit, urlunsplit

Cause = tuple[str, str]

# Every page's security headers come from one place (next.config headers(), vercel.json, a proxy).
SECURITY_HEADERS: Cause = (
    "the security headers the deployment adds to its pages (next.config headers(), vercel.json, a proxy)",
    "security-headers",
)
# An expired or mismatched leaf fails the chain, the expiry windows, the Mozilla profile and reachability.
TLS_CERTIFICATE: Cause = ("the certificate chain the server sends", "tls-certificate")
TLS_VERSIONS: Cause = ("the TLS versions the server accepts", "tls-versions")
# The routes share the code that decides which origins get CORS (a middleware, one allowlist or regex).
CORS_POLICY: Cause = ("the CORS policy (the code that decides which origins get Access-Control-Allow-Origin)",
                      "cors-policy")


SOURCE_MAPS: Cause = ("the build setting that ships source maps (productionBrowserSourceMaps)", "source-maps")
# The load check's thresholds at the peak judge one run of one load: a pool, a database or a function
# limit that gives way slows and fails every route behind it, so they are one finding together.
LOAD_CAPACITY: Cause = ("what gives way first when the platform gets ten times its traffic", "load-capacity")
# A health that answers 503 also fails its components and the error rate's health samples.
HEALTH_UNHEALTHY: Cause = ("the health endpoint answering unhealthy", "health-unhealthy")


def asset_key(url: str) -> str:
    """One file the pages load (a chunk, a stylesheet, a script), whichever check saw it fail."""
    parts = urlsplit(url)
    return "asset:" + urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def secret_key(env_name: str) -> str:
    """One secret (named by its environment variable) given away, whichever check saw it: served in a
    page, sent to another origin."""
    return f"secret:{env_name}"


def profile_keys(issues: dict[str, str]) -> list[str]:
    """The causes behind sslyze's Mozilla-profile issues (its keys: certificate_*, tls_versions, ciphers…)."""
    return sorted({TLS_CERTIFICATE[1] if key.startswith(("certificate", "maximum_certificate")) else
                   TLS_VERSIONS[1] if key == "tls_versions" else "tls-ciphers" for key in issues})


def page_key(kind: str, path: str) -> str:
    """One page's status (``page-status``) or latency (``page-latency``), whichever suite measured it."""
    return f"{kind}:{path}"


_URL = re.compile(r"""\bhttps?://[^\s'"<>)]+""")
# A root-relative file in a message: Turbopack's "ChunkLoadError: Failed to load chunk
# /_next/static/chunks/x.js from module 1" names the chunk by its path alone.
_FILE_PATH = re.compile(r"""(?<![\w/:.])/[^\s'"<>)]*\.(?:js|mjs|cjs|css)\b""")


def message_keys(kind: str, messages: Iterable[str], page_url: str | None = None) -> list[str]:
    """A console error or an uncaught exception is the same cause on every page that shows it (a layout
    script); one naming a file (a URL, or a root-relative path resolved against ``page_url``) is the same
    cause as that file failing to load."""
    keys: list[str] = []
    for message in messages:
        keys.append(f"{kind}:{' '.join(message.split())[:200]}")
        keys += [asset_key(url.rstrip(".,;'")) for url in _URL.findall(message)]
        if page_url is not None:
            keys += [asset_key(urljoin(page_url, path)) for path in _FILE_PATH.findall(_URL.sub(" ", message))]
    return keys
