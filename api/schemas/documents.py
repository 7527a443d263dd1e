"""Certificate documents."""

from __future__ import annotations

from marshmallow import Schema, fields


class DocumentSchema(Schema):
    sha256 = fields.String(required=True, metadata={"description": "hex SHA-256 of the bytes, as statements cite "
                                                                   "it in certificates[].sha256"})
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    media_type = fields.String(required=True)
