"""Drafts: what a signer whose key is elsewhere wants recorded, and the statements it should sign."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .common import ItemErrorSchema

#: At most this many statements are drafted in one request (a phone's offline queue, not a bulk import).
MAX_DRAFTS = 100


class DraftItemSchema(Schema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=160),
                         metadata={"description": "statement type, e.g. trace.ship"})
    body = fields.Dict(required=True, metadata={"description": "the statement body (docs/domain.md)"})
    time = fields.String(load_default=None, validate=validate.Length(min=1, max=40), metadata={
        "description": "RFC 3339 time with offset the statement will carry; the server's clock when absent"})


class DraftCreateSchema(Schema):
    author = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "the author's credit code"})
    key = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{16}$"),
                        metadata={"description": "id of the live author key that will sign"})
    statements = fields.List(fields.Nested(DraftItemSchema), required=True,
                             validate=validate.Length(min=1, max=MAX_DRAFTS),
                             metadata={"description": f"1 to {MAX_DRAFTS} statements, in the order they will "
                                                      "be signed and submitted"})


class DraftSchema(Schema):
    statement = fields.Dict(allow_none=True, required=True, metadata={
        "description": "the ten statement members to sign as they are (v, ledger, type, author, key, seq, prev, "
                       "links, time, body); null when refused"})
    statement_hash = fields.String(allow_none=True, required=True,
                                   metadata={"description": "hex SHA-256 statement hash; null when refused"})
    error = fields.Nested(ItemErrorSchema, allow_none=True, required=True, metadata={
        "description": "the refusal the rules would give (code and message); null when the draft is good"})


class DraftListSchema(Schema):
    drafts = fields.List(fields.Nested(DraftSchema), required=True)
