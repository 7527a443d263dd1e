"""The request target as the client sent it, percent-encoding intact.

``request.path`` is decoded, so a lot holding ``%2F`` could not be told from a path separator; the resolver, the
public page's own links and the label routes read the raw target instead.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import request


def raw_target() -> str:
    """Path and query as sent: ``RAW_URI`` (gunicorn, Werkzeug) or ``REQUEST_URI`` (mod_wsgi, uWSGI); without
    either, the decoded path re-encoded, where a lot with '/' cannot be told apart from a separator."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    query = request.query_string.decode("latin-1")
    return quote(request.path, safe="/") + (f"?{query}" if query else "")


def raw_path() -> str:
    """The path of :func:`raw_target`, without the query."""
    return urlsplit(raw_target()).path
