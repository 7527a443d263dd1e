"""Pages that are nobody's business but their reader's (a complaint, the inspectors' console): never cached,
never indexed, sent with no referrer, and under a content security policy that allows only this site's scripts,
so hostile text stays text even if escaping failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}


def private(response: Any, status: int = 200, headers: Mapping[str, str] = PRIVATE_HEADERS) -> Response:
    """``response`` (a rendered page or a Response) with ``headers``."""
    out = response if isinstance(response, Response) else Response(response, status=status, mimetype="text/html")
    out.headers.update(headers)
    return out
