"""The enterprise workspace: invites, enrolment of a device's key, devices."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from trace.workspace import DEFAULT_INVITE_HOURS, MAX_INVITE_HOURS, NAME, ROLES


def _name_rule(value: str) -> None:
    """A person's or device's name: no control characters (line breaks included), not padded with spaces."""
    if not NAME.fullmatch(value):
        raise ValidationError("must be text without control characters or leading or trailing spaces")


class InviteCreateSchema(Schema):
    staff = fields.String(required=True, validate=[validate.Length(min=1, max=100), _name_rule],
                          metadata={"description": "the person's name, as the device label will show it"})
    role = fields.String(load_default="staff", validate=validate.OneOf(ROLES), metadata={
        "description": "staff, or admin (only a registrar invites an administrator)"})
    expires_in_hours = fields.Integer(load_default=DEFAULT_INVITE_HOURS, strict=True,
                                      validate=validate.Range(min=1, max=MAX_INVITE_HOURS))


class InviteSchema(Schema):
    invite_id = fields.String(required=True)
    staff = fields.String(required=True)
    role = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    used_at = fields.DateTime(allow_none=True, required=True)
    created_by = fields.String(required=True)
    approval = fields.String(required=True, metadata={
        "description": "on_enrol (a registrar's invite: the key is registered at enrolment) or by_admin (an "
                       "administrator approves the enrolled device)"})


class NewInviteSchema(Schema):
    invite_id = fields.String(required=True)
    secret = fields.String(required=True, metadata={"description": "the one-time secret twi_…; shown only here"})
    join_url = fields.String(required=True, metadata={"description": "/workspace/join#invite=<secret>"})
    staff = fields.String(required=True)
    role = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    approval = fields.String(required=True)


class InviteListSchema(Schema):
    invites = fields.List(fields.Nested(InviteSchema), required=True)


class InviteOpenSchema(Schema):
    invite = fields.String(required=True, validate=validate.Length(min=1, max=100),
                           metadata={"description": "the invite's secret (the join link's #invite=…)"})


class InviteDetailsSchema(Schema):
    """What a phone needs before it enrols: the label it must sign is built from these."""

    credit_code = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    staff = fields.String(required=True)
    role = fields.String(required=True)
    approval = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    ledger = fields.String(required=True, metadata={"description": "the ledger origin the proof names"})


class EnrolSchema(Schema):
    invite = fields.String(required=True, validate=validate.Length(min=1, max=100))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               metadata={"description": "base64 Ed25519 public key (32 bytes)"})
    device = fields.String(required=True, validate=[validate.Length(min=1, max=60), _name_rule],
                           metadata={"description": "the device's name, e.g. Redmi 12"})
    proof = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "base64 signature by the new key over the key request message with the label "
                       "workspace:<role>:<staff> / <device> (docs/workspace.md)"})


class DeviceDecisionSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class DeviceSchema(Schema):
    credit_code = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    staff = fields.String(required=True)
    device = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "staff or admin"})
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    request_id = fields.String(required=True, metadata={"description": "its key request (GET /key-requests/{id})"})
    status = fields.String(required=True, metadata={
        "description": "pending, rejected, active or revoked (the last two read from the ledger key registry)"})
    invited_by = fields.String(required=True)
    approved_by = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True, metadata={"description": "why it was rejected"})
    entry_index = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "the ledger.key.add entry once approved"})
    revoked_index = fields.Integer(allow_none=True, required=True,
                                   metadata={"description": "the ledger.key.revoke entry once revoked"})


class DeviceListSchema(Schema):
    devices = fields.List(fields.Nested(DeviceSchema), required=True)


class WorkspaceEnterpriseSchema(Schema):
    credit_code = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    status = fields.String(required=True)


class WorkspaceMeSchema(Schema):
    device = fields.Nested(DeviceSchema, allow_none=True, required=True, metadata={
        "description": "the device whose key signed the request; null for another key of the enterprise"})
    enterprise = fields.Nested(WorkspaceEnterpriseSchema, required=True)
    is_admin = fields.Boolean(required=True)
