"""Shapes shared by several resources: pages with cursors, item errors."""

from __future__ import annotations

from marshmallow import Schema, fields


class ItemErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable error code, e.g. custody.not_holder"})
    message = fields.String(required=True)


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "pass as ?cursor= to get the next page; null on the last page"})
