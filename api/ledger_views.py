"""Public ledger endpoints: health, latest checkpoint, proofs, entry bundles. Immutable answers (a proof at a
fixed tree size, an entry) carry long-lived cache headers and ETags."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from ledger import LedgerError, consistency, entry_bundle, inclusion, latest_checkpoint
from ledger.models import LedgerHead

from .context import app_context, read_session
from .errors import error_response

blueprint = Blueprint("ledger", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"


@blueprint.get("/health")
def health() -> Any:
    session = read_session()
    head = session.scalars(select(LedgerHead)).first()
    context = app_context()
    body: dict[str, Any] = {"status": "ok" if head is not None else "uninitialised",
                            "database": context.engine.url.get_backend_name(),
                            "ledger": {"origin": context.settings.ledger_origin,
                                       "size": head.tree_size if head else 0,
                                       "operator_key": context.operator_key.text()}}
    response = jsonify(body)
    response.status_code = 200 if head is not None else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/ledger/checkpoint")
def checkpoint() -> Any:
    record = latest_checkpoint(read_session())
    if record is None:
        return error_response(404, "ledger.not_initialised", "the ledger has no checkpoint yet")
    response = Response(record.note, mimetype="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/ledger/proofs/inclusion")
def inclusion_proof() -> Any:
    index, size = _int_arg("index"), _int_arg("tree_size")
    proof = inclusion(read_session(), index, size)
    return _immutable({"index": index, "tree_size": size, "inclusion": [_b64(value) for value in proof]})


@blueprint.get("/ledger/proofs/consistency")
def consistency_proof() -> Any:
    old, new = _int_arg("old_size"), _int_arg("new_size")
    proof = consistency(read_session(), old, new)
    return _immutable({"old_size": old, "new_size": new, "consistency": [_b64(value) for value in proof]})


@blueprint.get("/ledger/entries/<int:index>/bundle")
def bundle(index: int) -> Any:
    size = request.args.get("tree_size")
    body = entry_bundle(read_session(), index, tree_size=_int_arg("tree_size") if size is not None else None)
    if size is None:
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-cache"
        return response
    return _immutable(body)


def _int_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not raw.isdigit() or len(raw) > 18:
        raise LedgerError(f"query parameter {name} must be a non-negative integer", code="request.parameter")
    return int(raw)


def _immutable(body: dict[str, Any]) -> Any:
    response = jsonify(body)
    etag = hashlib.sha256(response.get_data()).hexdigest()[:32]
    response.set_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE
    return response.make_conditional(request)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
