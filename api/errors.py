"""One error shape for the whole API and one table from error codes to HTTP statuses.

Every API error answers ``{"error": {"code": ..., "message": ..., "fields": {...}}}``. An unexpected exception
is logged with its traceback and answered with a generic message; under testing it is re-raised so no test
passes over a hidden 500. Non-API paths get an HTML error page.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ledger import LedgerError

logger = logging.getLogger(__name__)

# Longest matching prefix wins: "proof.size" -> "proof." -> default 400. A refused statement is 422 when it is
# malformed or badly signed, 409 when it conflicts with the ledger's current state (custody, sequence), 403 when
# its author may not make it.
STATUS_BY_CODE: dict[str, int] = {
    "request.": 400,
    "request.invalid": 422,
    "request.too_large": 413,
    "statement.": 422,
    "statement.too_large": 413,
    "leaf.": 422,
    "signature.": 422,
    "key.": 422,
    "key.revoked": 403,
    "key.duplicate": 409,
    "body.": 422,
    "domain.": 422,
    "authority.": 403,
    "sequence.conflict": 409,
    "link.conflict": 409,
    "custody.": 409,
    "correct.": 409,
    "shipment.": 409,
    "unit.": 409,
    "recall.exists": 409,
    "recall.": 409,
    "recall.unknown": 422,
    "recall.not_in_scope": 422,
    "recall.not_party": 403,
    "batch.exists": 409,
    "batch.unknown": 422,
    "batch.certificate_required": 422,
    "batch.refused": 422,
    "batch.too_large": 413,
    "product.exists": 409,
    "product.unknown": 422,
    "enterprise.": 422,
    "enterprise.exists": 409,
    "enterprise.status": 409,
    "enterprise.deregistered": 403,
    "enterprise.blacklisted": 403,
    "enterprise.role": 403,
    "enterprise.not_registrar": 403,
    "auth.": 401,
    "auth.forbidden": 403,
    "account.": 422,
    "account.exists": 409,
    "token.unknown": 404,
    "key_request.": 409,
    "key_request.proof": 422,
    "key_request.unknown": 404,
    "invite.": 409,
    "invite.unknown": 404,
    "device.unknown": 404,
    "document.": 422,
    "document.media_type": 415,
    "not_found.": 404,
    "complaint.not_recipient": 403,
    "proof.no_checkpoint": 404,
    "proof.size": 404,
    "proof.": 400,
    "ledger.not_initialised": 503,
    "ledger.private": 401,
    "epcis.": 422,
    "epcis.schema": 400,
    "epcis.too_large": 413,
    "capture.": 409,
    "capture.unknown": 404,
    "capture.signatures": 422,
    "capture.behaviour": 400,
    "capture.key": 422,
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

    @app.errorhandler(ValidationError)
    def invalid_request(exc: ValidationError) -> Any:
        fields = _flatten(exc.messages)
        first = next(iter(fields.items()), ("request", "invalid"))
        return error_response(422, "request.invalid", f"invalid request: {first[0]}: {first[1]}", fields)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = f"http.{(exc.name or 'error').lower().replace(' ', '_')}"
        if not _wants_json():
            return render_template_string(_PAGE, status=status, message=exc.description), status
        response = error_response(status, code, exc.description or exc.name)
        if status == 429 and exc.response is not None and "Retry-After" in exc.response.headers:
            response.headers["Retry-After"] = exc.response.headers["Retry-After"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        if app.testing:
            raise exc
        logger.exception("unexpected error", extra={"path": request.path, "method": request.method})
        message = "internal error; it has been logged"
        if not _wants_json():
            return render_template_string(_PAGE, status=500, message=message), 500
        return error_response(500, "server.internal", message)


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"statements.3.signature": "Missing data for required field."}``."""
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "request": " ".join(messages)}
    if isinstance(messages, list):
        out = {}
        for position, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}.{position}" if prefix else str(position)))
        return out
    return {prefix or "request": str(messages)}
