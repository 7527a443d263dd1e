"""Submitting signed statements: one, or a batch of up to 1,000 (all or nothing, or each on its own).

Statements authenticate themselves by their signatures, so these endpoints need no credential. Resubmitting an
accepted statement is idempotent: it answers the original entry with ``duplicate: true``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, url_for

from ledger import AppendResult, BatchRefused, LedgerError, author_position
from ledger.models import LedgerHead
from trace.bulk_policy import BulkTracePolicy
from trace.ledger_service import append

from .bodies import MAX_BATCH_BODY, json_body
from .context import app_context, read_session, write_session
from .responses import json_response
from .schemas import AppendResultSchema, AuthorHeadSchema, BatchResultSchema, BatchSubmitSchema, EnvelopeSchema

blueprint = Blueprint("events", __name__)

_RESULT = AppendResultSchema()
_BATCH_RESULT = BatchResultSchema()


@blueprint.post("/events")
def submit_event() -> Any:
    """Append one signed statement.
    ---
    post:
      tags: [events]
      summary: Append one signed statement
      description: >
        The statement authenticates itself by its signature. 201 when appended, 200 when it was already in the
        ledger (idempotent resubmission: the original entry is answered). Refusals use the error codes of
        docs/domain.md §3 and docs/ledger-format.md.
      requestBody:
        required: true
        content:
          application/json:
            schema: Envelope
      responses:
        201:
          description: appended
          content:
            application/json:
              schema: AppendResult
        200:
          description: already in the ledger; the original entry
          content:
            application/json:
              schema: AppendResult
        400: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        413: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    envelope = json_body(EnvelopeSchema())
    results = _append([envelope], atomic=True, single=True)
    result = results[0]
    response = json_response(_RESULT.dump(_result_body(result)), status=200 if result.duplicate else 201)
    if result.index is not None:
        response.headers["Location"] = url_for("ledger.bundle", index=result.index)
    return response


@blueprint.post("/events/batch")
def submit_batch() -> Any:
    """Append up to 1,000 signed statements in order.
    ---
    post:
      tags: [events]
      summary: Append a batch of signed statements
      description: >
        mode=atomic (default) appends all or nothing: one refusal answers 422 batch.refused with every item's
        result and appends none. mode=per_item appends each acceptable statement and reports each refusal.
        Statements already in the ledger are answered as duplicates with their original index.
      requestBody:
        required: true
        content:
          application/json:
            schema: BatchSubmit
      responses:
        200:
          description: one result per submitted statement, in order
          content:
            application/json:
              schema: BatchResult
        400: {$ref: '#/components/responses/Error'}
        413: {$ref: '#/components/responses/Error'}
        422:
          description: >
            request.invalid (the request's shape), or batch.refused for an atomic batch with a refusal: then every
            item's result is included and nothing was appended
          content:
            application/json:
              schema:
                oneOf:
                  - {$ref: '#/components/schemas/Error'}
                  - BatchRefused
    """
    request_body = json_body(BatchSubmitSchema(), MAX_BATCH_BODY)
    atomic = request_body["mode"] == "atomic"
    try:
        results = _append(request_body["statements"], atomic=atomic)
    except BatchRefused as refused:
        failed = {f"statements.{item.position}": f"{item.error.code}: {item.error.message}"
                  for item in refused.results if item.error is not None}
        return json_response({"error": {"code": refused.code, "message": refused.message, "fields": failed},
                              "results": [_RESULT.dump(_result_body(item)) for item in refused.results]}, status=422)
    head = read_session().get(LedgerHead, 1)
    return jsonify(_BATCH_RESULT.dump({
        "results": [_result_body(item) for item in results],
        "appended": sum(1 for item in results if item.index is not None and not item.duplicate),
        "duplicates": sum(1 for item in results if item.duplicate),
        "refused": sum(1 for item in results if item.error is not None),
        "tree_size": head.tree_size if head is not None else 0}))


@blueprint.get("/authors/<author>/head")
def author_head(author: str) -> Any:
    """Where an author's next statement goes.
    ---
    get:
      tags: [events]
      summary: The seq and prev an author's next statement must carry
      parameters:
        - {name: author, in: path, required: true, schema: {type: string, maxLength: 64}}
      responses:
        200:
          description: the author's chain head as of the committed ledger
          content:
            application/json:
              schema: AuthorHead
        400: {$ref: '#/components/responses/Error'}
    """
    if not 0 < len(author) <= 64:
        raise LedgerError("author must be 1 to 64 characters", code="request.parameter")
    seq, prev = author_position(read_session(), author)
    return json_response(AuthorHeadSchema().dump({"author": author, "next_seq": seq, "prev": prev}),
                         cache="no-store")


def _append(envelopes: list[Any], *, atomic: bool, single: bool = False) -> list[AppendResult]:
    """Append in the request's write session and commit once; with ``single``, a refusal raises the statement's
    own error instead of :class:`BatchRefused`."""
    context = app_context()
    session = write_session()
    with context.sessions() as preparing:
        try:
            results = append(session, preparing, envelopes, config=context.ledger, clock=context.clock,
                             policy_for=BulkTracePolicy.for_statements, atomic=atomic)
        except BatchRefused as refused:
            session.rollback()
            if single and refused.results[0].error is not None:
                raise refused.results[0].error from None
            raise
        except Exception:
            session.rollback()
            raise
    session.commit()
    return results


def _result_body(result: AppendResult) -> dict[str, Any]:
    error = None if result.error is None else {"code": result.error.code, "message": result.error.message}
    return {"position": result.position, "index": result.index, "statement_hash": result.statement_hash,
            "duplicate": result.duplicate, "error": error}
