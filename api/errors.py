"""One error shape for the whole API and one table from error codes to HTTP statuses.

Every API error answers ``{"error": {"code": ..., "message": ..., "fields": {...}}}``. An unexpected exception
is logged with its traceback and answered with a generic message; under testing it is re-raised so no test
passes over a hidden 500. Non-API paths get an HTML error page.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from ledger import LedgerError

logger = logging.getLogger(__name__)

# Longest matching prefix wins: "proof.size" -> "proof." -> default.
STATUS_BY_CODE: dict[str, int] = {
    "statement.": 422,
    "leaf.": 422,
    "signature.": 422,
    "key.": 422,
    "authority.": 403,
    "sequence.conflict": 409,
    "link.conflict": 409,
    "batch.refused": 422,
    "batch.too_large": 413,
    "statement.too_large": 413,
    "proof.no_checkpoint": 404,
    "proof.size": 404,
    "proof.": 400,
    "ledger.not_initialised": 503,
    "request.": 400,
}

_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ status }} · 产品追溯</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<h1>{{ status }}</h1><p>{{ message }}</p><p><a href="/">返回首页 · Home</a></p></body></html>"""


def status_for(code: str) -> int:
    best, status = "", 400
    for prefix, value in STATUS_BY_CODE.items():
        if (code == prefix or (prefix.endswith(".") and code.startswith(prefix))) and len(prefix) > len(best):
            best, status = prefix, value
    return status


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(LedgerError)
    def ledger_error(exc: LedgerError) -> Any:
        status = status_for(exc.code)
        if not _wants_json():
            return render_template_string(_PAGE, status=status, message=exc.message), status
        return error_response(status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = f"http.{(exc.name or 'error').lower().replace(' ', '_')}"
        if not _wants_json():
            return render_template_string(_PAGE, status=status, message=exc.description), status
        return error_response(status, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        if app.testing:
            raise exc
        logger.exception("unexpected error", extra={"path": request.path, "method": request.method})
        message = "internal error; it has been logged"
        if not _wants_json():
            return render_template_string(_PAGE, status=500, message=message), 500
        return error_response(500, "server.internal", message)
