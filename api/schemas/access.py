"""Logins, API tokens and key requests."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class LoginResultSchema(Schema):
    token = fields.String(required=True, metadata={"description": "bearer token trs_…, shown once"})
    username = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime(required=True)


class CallerSchema(Schema):
    via = fields.String(required=True, metadata={"description": "none, token, signature or session"})
    enterprise = fields.String(allow_none=True, required=True)
    username = fields.String(allow_none=True, required=True)
    roles = fields.List(fields.String(), required=True)


class TokenCreateSchema(Schema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))


class TokenSchema(Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    last_used_at = fields.DateTime(allow_none=True, required=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "the secret trk_…; shown only in this answer"})


class TokenListSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), required=True)


class KeyRequestCreateSchema(Schema):
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               metadata={"description": "base64 Ed25519 public key (32 bytes)"})
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    proof = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "base64 signature by the new key over trace.access.key_request_message(...)"})


class KeyRequestDecisionSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class KeyRequestSchema(Schema):
    id = fields.String(required=True)
    credit_code = fields.String(required=True)
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    label = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending, approved or rejected"})
    created_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    entry_index = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "the ledger.key.add entry once approved"})


class KeyRequestListSchema(Schema):
    requests = fields.List(fields.Nested(KeyRequestSchema), required=True)
