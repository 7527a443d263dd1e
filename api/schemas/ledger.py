"""Ledger entries by range."""

from __future__ import annotations

from marshmallow import Schema, fields

from .common import PageSchema


class EntrySchema(Schema):
    index = fields.Integer(required=True)
    leaf = fields.String(required=True, metadata={"description": "base64 leaf bytes (docs/ledger-format.md §6)"})
    chain_hash = fields.String(required=True, metadata={"description": "hex chain hash after this entry"})
    type = fields.String(required=True)
    author = fields.String(required=True)


class EntryPageSchema(PageSchema):
    entries = fields.List(fields.Nested(EntrySchema), required=True)
