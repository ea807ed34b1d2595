"""The real Next.js testbed's nginx: TLS in front of ``next start``, and the faults a proxy config makes.

nginx terminates TLS with the testbed CA's chain (Mozilla's intermediate settings, as
ssl-config.mozilla.org writes them for nginx; HTTP/2 offered by ALPN, as Vercel does), proxies every
request to ``next start`` on loopback
and answers plain HTTP with a 308 to HTTPS, as Vercel does.  ``server_tokens off``: the Server header
says nginx, never its version.

Faults that live in the proxy's config are switched by writing a new config and reloading nginx
(``SIGHUP``; connections already open finish on the old workers): the headers an edge config
drops, a plain-HTTP site, a chunk missing from a partial deploy, a secret inlined in a shared chunk,
source maps no longer blocked, the listener gone, and TLS versions and suites out of the profile.
Every other fault is the app's (a file it reads).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

# Faults this config expresses; the Next.js app never sees them.
NGINX_FAULTS = frozenset({
    "target-down", "http-no-redirect", "no-hsts", "headers-lost", "csp-missing", "chunk-broken",
    "secret-in-chunk", "source-map-turbopack", "tls-legacy-versions", "tls-weak-cipher", "tls13-off",
})
# Headers only there because next.config.mjs headers() (vercel.json on Vercel) adds them.
CONFIGURED_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                      "Permissions-Policy", "Strict-Transport-Security")
# Mozilla's intermediate profile for nginx (ssl-config.mozilla.org, v5.7), without DHE (no dhparam).
MOZILLA_INTERMEDIATE_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
))
# A CBC suite with a SHA-1 MAC: still negotiable, outside every Mozilla profile but "old".
WEAK_CIPHER = "ECDHE-ECDSA-AES128-SHA"
# Characters a literal in an nginx string must not hold (variables, quoting, escapes).
UNSAFE_LITERAL = frozenset("$'\\\n\r")


@dataclass(frozen=True)
class Site:
    """What the config needs to know about one testbed."""

    state_dir: Path
    https_port: int          # where nginx listens for HTTPS
    http_port: int           # where nginx listens for plain HTTP
    public_https_port: int   # the HTTPS port clients use (another one behind a chaos proxy)
    next_port: int           # next start, on 127.0.0.1
    hosts: tuple[str, ...]   # loopback addresses to listen on
    cert_file: Path
    key_file: Path
    as_root: bool
    # From the build (realnext.read_build): the landing page's own chunk, and a chunk every page
    # loads with the text its body starts with (where the secret-in-chunk fault inlines the key).
    landing_chunk: str
    shared_chunk: str
    shared_chunk_start: str
    inlined_secret: str


def _listen(hosts: tuple[str, ...], port: int, ssl: bool) -> str:
    suffix = " ssl http2" if ssl else ""
    return "".join(f"        listen {f'[{h}]' if ':' in h else h}:{port}{suffix};\n" for h in hosts)


def _proxy(extra: str = "") -> str:
    return (
        "            proxy_pass http://next;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_set_header Host $http_host;\n"
        "            proxy_set_header X-Real-IP $remote_addr;\n"
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "            proxy_set_header X-Forwarded-Proto $scheme;\n"
        f"{extra}"
    )


def _hidden(active: Set[str]) -> list[str]:
    if "headers-lost" in active:
        return list(CONFIGURED_HEADERS)
    hidden = []
    if "no-hsts" in active:
        hidden.append("Strict-Transport-Security")
    if "csp-missing" in active:
        hidden.append("Content-Security-Policy")
    return hidden


def _literal(text: str) -> str:
    if set(text) & UNSAFE_LITERAL:
        raise ValueError(f"not a safe nginx literal: {text!r}")
    return f"'{text}'"


def render(site: Site, active: Set[str]) -> str:
    """nginx.conf for ``site`` with the proxy-level faults of ``active`` switched on."""
    state = site.state_dir.resolve()
    hide = "".join(f"            proxy_hide_header {name};\n" for name in _hidden(active))
    locations = f"        location / {{\n{_proxy(hide)}        }}\n"
    if "source-map-turbopack" not in active:
        # The build's source maps stay on the server (uploaded to an error tracker, never served).
        locations += "        location ~ \\.map$ {\n            return 404;\n        }\n"
    if "chunk-broken" in active:
        # A partial deploy: the landing page references a chunk the server does not have.
        locations += f"        location = {site.landing_chunk} {{\n            return 404;\n        }}\n"
    if "secret-in-chunk" in active:
        # STRIPE_SECRET_KEY renamed NEXT_PUBLIC_STRIPE_SECRET_KEY: Next.js inlines it into a shared chunk.
        inlined = f'self.__ENV__={{"NEXT_PUBLIC_STRIPE_SECRET_KEY":"{site.inlined_secret}"}};'
        locations += (
            f"        location = {site.shared_chunk} {{\n"
            + _proxy(hide + '            proxy_set_header Accept-Encoding "";\n')
            + "            sub_filter_types *;\n            sub_filter_once on;\n"
            + f"            sub_filter {_literal(site.shared_chunk_start)} "
              f"{_literal(inlined + site.shared_chunk_start)};\n"
            + "        }\n"
        )
    protocols, ciphers = "TLSv1.2 TLSv1.3", MOZILLA_INTERMEDIATE_CIPHERS
    if "tls-legacy-versions" in active:
        # A legacy-client compatibility switch (OpenSSL 3 offers TLS 1.0 and 1.1 only at security level 0).
        protocols, ciphers = "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", f"{ciphers}:{WEAK_CIPHER}:@SECLEVEL=0"
    elif "tls-weak-cipher" in active:
        ciphers = f"{ciphers}:{WEAK_CIPHER}"
    elif "tls13-off" in active:
        protocols = "TLSv1.2"
    https = ""
    if "target-down" not in active:
        https = (
            "    server {\n"
            + _listen(site.hosts, site.https_port, ssl=True)
            + "        server_name localhost;\n"
            f"        ssl_certificate {state / site.cert_file.name};\n"
            f"        ssl_certificate_key {state / site.key_file.name};\n"
            f"        ssl_protocols {protocols};\n"
            "        ssl_ecdh_curve X25519:prime256v1:secp384r1;\n"
            f"        ssl_ciphers {ciphers};\n"
            "        ssl_prefer_server_ciphers off;\n"
            "        ssl_session_timeout 1d;\n"
            "        ssl_session_cache shared:MozSSL:1m;\n"
            "        ssl_session_tickets off;\n"
            f"{locations}"
            "    }\n"
        )
    if "http-no-redirect" in active:
        plain = f"        location / {{\n{_proxy(hide)}        }}\n"
    else:
        port = "" if site.public_https_port == 443 else f":{site.public_https_port}"
        plain = f"        location / {{\n            return 308 https://$host{port}$request_uri;\n        }}\n"
    temp = "".join(f"    {kind}_temp_path {state / 'nginx-temp' / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        "# Written by smokegate.testbed.realnext: rewritten and reloaded when a proxy-level fault switches.\n"
        + ("user root;\n" if site.as_root else "")
        + "daemon off;\nmaster_process on;\nworker_processes 1;\n"
        f"pid {state / 'nginx.pid'};\n"
        "error_log stderr warn;\n"
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        "    access_log off;\n"
        f"    server_tokens {'on' if 'headers-lost' in active else 'off'};\n"
        "    client_max_body_size 5m;\n"
        "    keepalive_timeout 5s;\n"
        f"{temp}"
        "    upstream next {\n"
        f"        server 127.0.0.1:{site.next_port};\n"
        "        keepalive 16;\n"
        # Below next start's keep-alive (--keepAliveTimeout): nginx never reuses a connection Node closed.
        "        keepalive_timeout 30s;\n"
        "    }\n"
        f"{https}"
        "    server {\n"
        + _listen(site.hosts, site.http_port, ssl=False)
        + f"{plain}"
        "    }\n"
        "}\n"
    )

