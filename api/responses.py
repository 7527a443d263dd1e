"""JSON answers with their caching: one place for the status, the ``Cache-Control`` header and, for answers that
never change, the ETag and the 304."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, jsonify, request

#: An answer that can never change: a proof at a fixed tree size, an entry, a full page of entries.
IMMUTABLE = "public, max-age=31536000, immutable"
#: The same for an answer behind a credential, which shared caches must not keep.
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"


def json_response(body: Any, *, cache: str | None = None, status: int = 200) -> Response:
    """``body`` as JSON with ``status`` and, when given, ``Cache-Control: cache``."""
    response = jsonify(body)
    response.status_code = status
    if cache is not None:
        response.headers["Cache-Control"] = cache
    return response


def immutable_response(body: Any, cache: str = IMMUTABLE) -> Response:
    """``body`` as JSON that never changes: an ETag of its bytes, ``cache``, and 304 for a matching
    ``If-None-Match``."""
    response = json_response(body, cache=cache)
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)
