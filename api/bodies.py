"""Reading request bodies: JSON only, bounded in size, parsed strictly (no duplicate keys, no floats), then
loaded through a marshmallow schema that refuses unknown fields."""

from __future__ import annotations

from typing import Any

from flask import g, request
from marshmallow import Schema

from ledger import LedgerError
from ledger.canonical import strict_loads

#: The default bound of a JSON request body; the batch endpoint allows more.
MAX_BODY = 256 * 1024
#: The bound of a batch of statements (1,000 statements of a few kilobytes each).
MAX_BATCH_BODY = 16 * 1024 * 1024


def raw_body(limit: int = MAX_BODY) -> bytes:
    """The request body, refused (``request.too_large``) past ``limit`` bytes before it is read whole; read once
    per request (a signed request's check and the view both need it)."""
    if "raw_body" in g:
        cached: bytes = g.raw_body
        if len(cached) > limit:
            raise LedgerError(f"request body exceeds the limit of {limit} bytes", code="request.too_large")
        return cached
    length = request.content_length
    if length is not None and length > limit:
        raise LedgerError(f"request body of {length} bytes exceeds the limit of {limit}", code="request.too_large")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise LedgerError(f"request body exceeds the limit of {limit} bytes", code="request.too_large")
    g.raw_body = data
    return data


def json_body(schema: Schema, limit: int = MAX_BODY) -> Any:
    """Parse the JSON body and load it with ``schema``. Raises :class:`LedgerError` (``request.content_type``,
    ``request.json``, ``request.too_large``) or marshmallow's ``ValidationError`` (answered 422)."""
    if request.mimetype != "application/json":
        raise LedgerError(f"send the body as application/json, not {request.mimetype or 'nothing'}",
                          code="request.content_type")
    data = raw_body(limit)
    try:
        value = strict_loads(data)
    except LedgerError as exc:
        raise LedgerError(f"request body: {exc.message}", code="request.json") from None
    return schema.load(value)
