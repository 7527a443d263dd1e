"""Submitting signed statements and reading the author chain's head."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ledger.sequencer import MAX_BATCH

from .common import ItemErrorSchema


class EnvelopeSchema(Schema):
    """A signed statement as its author's client produced it (docs/ledger-format.md §4)."""

    signature = fields.String(required=True, validate=validate.Length(max=200),
                              metadata={"description": "base64 Ed25519 signature over the tagged canonical "
                                                       "statement bytes"})
    statement = fields.Dict(required=True, metadata={"description": "the statement object: v, ledger, type, "
                                                                    "author, key, seq, prev, links, time, body"})


class BatchSubmitSchema(Schema):
    statements = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=MAX_BATCH),
                             metadata={"description": f"1 to {MAX_BATCH} envelopes, in order"})
    mode = fields.String(load_default="atomic", validate=validate.OneOf(["atomic", "per_item"]),
                         metadata={"description": "atomic: all or nothing; per_item: each statement on its own"})


class AppendResultSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "0-based position in the submission"})
    index = fields.Integer(allow_none=True, required=True, metadata={"description": "ledger entry index"})
    statement_hash = fields.String(allow_none=True, required=True)
    duplicate = fields.Boolean(required=True, metadata={
        "description": "true when the statement was already in the ledger: index is the original one"})
    error = fields.Nested(ItemErrorSchema, allow_none=True, required=True)


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(AppendResultSchema), required=True)
    appended = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)


class AuthorHeadSchema(Schema):
    author = fields.String(required=True)
    next_seq = fields.Integer(required=True, metadata={"description": "the seq the author's next statement "
                                                                     "must carry"})
    prev = fields.String(allow_none=True, required=True, metadata={
        "description": "hex hash of the author's latest statement; null before the first"})


class BatchRefusedSchema(Schema):
    """An atomic batch with a refusal: the usual error (code ``batch.refused``, ``fields`` naming each refused
    position) and every item's result; nothing was appended."""

    error = fields.Dict(required=True, metadata={"description": "code, message and fields, as every error"})
    results = fields.List(fields.Nested(AppendResultSchema), required=True)
