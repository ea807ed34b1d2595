"""Next.js's own holes, seen from outside: the middleware bypass and the image optimizer as a proxy.

The middleware bypass (CVE-2025-29927, GHSA-f82v-jwr5-mffw): Next.js 11.1.4 to 15.2.2 used the
``x-middleware-subrequest`` header to stop middleware recursion, and trusted it from clients.  Up to
12.1 a value naming the middleware file (``pages/_middleware``, ``middleware``, ``src/middleware``)
skipped it; from 13 on the name must appear five times.  :data:`SUBREQUEST_VALUES` are the values
scanners send (projectdiscovery's nuclei template ``CVE-2025-29927.yaml``: one polyglot covering every
version and file layout, and the plain repetitions).

The image optimizer (``/_next/image``) fetches remote images only from hosts ``images.remotePatterns``
allows; an open pattern (``hostname: "**"``) turns the deployment into a proxy for any URL (SSRF, and
the 2025 image-optimizer advisories).  A host under ``.invalid`` never resolves (RFC 6761), so the
probe makes the target fetch nothing and reaches nobody.  Next.js validates the URL *before* the width
and quality, so the probe's ``w`` and ``q`` are values every version accepts by default (640 is in
``deviceSizes``; Next.js 16 allows only ``q=75`` and dropped 16 from ``imageSizes``): a refusal then
names the URL, and an open optimizer gets as far as fetching.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBREQUEST_VALUES = (
    # nuclei's polyglot: the 15.x depth for both layouts, and the 12.x names.
    "src/middleware:nowaf:src/middleware:src/middleware:src/middleware:src/middleware:middleware:middleware:"
    "nowaf:middleware:middleware:middleware:pages/_middleware",
    "middleware:middleware:middleware:middleware:middleware",
    "src/middleware:src/middleware:src/middleware:src/middleware:src/middleware",
    "pages/_middleware",
    "middleware",
    "src/middleware",
)
IMAGE_PROBE_URL = "https://smokegate.invalid/x.png"
IMAGE_PROBE_QUERY = {"url": IMAGE_PROBE_URL, "w": "640", "q": "75"}
# Next.js's refusals of the url parameter itself (next/dist/server/image-optimizer.js).
_URL_REFUSED = ('"url" parameter is not allowed', '"url" parameter is invalid',
                '"url" parameter cannot be a protocol-relative URL', "url parameter is not allowed")
# Vercel's image optimization answers a URL outside remotePatterns with this error code.
_VERCEL_REFUSED = "INVALID_IMAGE_OPTIMIZE_REQUEST"


@dataclass(frozen=True)
class ImageVerdict:
    refused: bool
    reason: str
    # A rate limit or a gateway's hiccup: no statement about the optimizer either way.
    undetermined: bool = False


def judge_image_answer(status: int, body: str) -> ImageVerdict:
    """Did ``/_next/image?url=<a host outside every allowlist>`` refuse the URL?"""
    text = body.strip()[:200]
    if status in (408, 429):
        return ImageVerdict(False, f"{status} (try again later)", undetermined=True)
    if status == 400 and ('"w" parameter' in text or '"q" parameter' in text):
        # The URL passed the allowlist; only the width or quality stopped the fetch.
        return ImageVerdict(False, f"400 {text!r}: the URL passed images.remotePatterns")
    if status == 400 and (any(m in text for m in _URL_REFUSED) or _VERCEL_REFUSED in text):
        return ImageVerdict(True, f"400 {text!r}")
    if 400 <= status < 500:
        # No optimizer here (unoptimized: 404; a minimal-mode server's bare 400 "Bad Request"): nothing fetched.
        return ImageVerdict(True, f"{status} {text[:60]!r} (the URL was not fetched)")
    if 500 <= status < 600:
        return ImageVerdict(False, f"{status} {text!r}: the server tried to fetch the URL")
    return ImageVerdict(False, f"{status}: the URL was accepted")
