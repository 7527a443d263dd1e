"""Enterprises, their keys, and products."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from trace.context import ROLES
from trace.registry import MAX_LEGAL_BASIS, STATUSES

from .common import PageSchema

#: The statuses that put an enterprise on a public list.
LISTS = frozenset({"abnormal", "blacklisted"})


class LocationSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    gln = fields.String(validate=validate.Regexp(r"^[0-9]{13}$"), metadata={"description": "GLN-13, check digit "
                                                                                           "verified"})


class EnterpriseRegisterSchema(Schema):
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = fields.String(validate=validate.Length(max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLES))), required=True,
                        validate=validate.Length(min=1, max=len(ROLES)))
    locations = fields.List(fields.Nested(LocationSchema), required=True, validate=validate.Length(min=1, max=50))
    commitment_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                                      metadata={"description": "SHA-256 of the signed credit commitment text"})
    check_override = fields.String(validate=validate.Length(min=10, max=500), metadata={
        "description": "reason for registering a code that fails its check character"})


class EnterpriseStatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(sorted(STATUSES)))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    legal_basis = fields.String(validate=validate.Length(min=1, max=MAX_LEGAL_BASIS),
                                metadata={"description": "the provision the decision rests on; required to put an "
                                                         "enterprise on the abnormal-operation list or blacklist"})

    @validates_schema
    def _basis_for_listing(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("status") in LISTS and not data.get("legal_basis"):
            raise ValidationError("putting an enterprise on a list needs its legal basis", "legal_basis")


class KeyAddSchema(Schema):
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))


class KeyRevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class KeySchema(Schema):
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    label = fields.String(required=True)
    added_index = fields.Integer(required=True)
    revoked_index = fields.Integer(allow_none=True, required=True)


class EnterpriseSchema(Schema):
    credit_code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    region = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active, abnormal, blacklisted or "
                                                                  "deregistered"})
    status_reason = fields.String(required=True)
    legal_basis = fields.String(allow_none=True, required=True,
                                metadata={"description": "the provision the current status rests on, if any"})
    status_index = fields.Integer(required=True)
    registered_index = fields.Integer(required=True)
    check_override = fields.String(allow_none=True, required=True)
    commitment_sha256 = fields.String(required=True)
    locations = fields.List(fields.Nested(LocationSchema), required=True)
    keys = fields.List(fields.Nested(KeySchema), required=True)


class EnterprisePageSchema(PageSchema):
    enterprises = fields.List(fields.Nested(EnterpriseSchema(exclude=("keys",))), required=True)


class AppendedSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "the ledger entry the registrar appended"})
    statement_hash = fields.String(required=True)


class ProductSchema(Schema):
    gtin = fields.String(required=True)
    owner = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    category = fields.String(required=True)
    spec = fields.String(required=True)
    approval_number = fields.String(allow_none=True, required=True)
    drug_prefix = fields.String(allow_none=True, required=True)
    defined_index = fields.Integer(required=True)


class ProductPageSchema(PageSchema):
    products = fields.List(fields.Nested(ProductSchema), required=True)


class HoldingSchema(Schema):
    ref = fields.String(required=True)
    quantity = fields.String(required=True)
    unit = fields.String(required=True)
    status = fields.String(required=True)
    gtin = fields.String(allow_none=True, required=True)
    lot = fields.String(allow_none=True, required=True)
    sscc = fields.String(allow_none=True, required=True)
    expires_on = fields.String(allow_none=True, required=True)


class HoldingPageSchema(PageSchema):
    holdings = fields.List(fields.Nested(HoldingSchema), required=True)


class ShipmentSchema(Schema):
    shipper = fields.String(required=True)
    shipment_id = fields.String(required=True)
    ref = fields.String(required=True)
    receiver = fields.String(required=True)
    quantity = fields.String(required=True)
    unit = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "in_transit, received or cancelled"})
    ship_index = fields.Integer(required=True)
    receive_index = fields.Integer(allow_none=True, required=True)
    received_quantity = fields.String(allow_none=True, required=True)
    carrier = fields.String(allow_none=True, required=True)
    units = fields.List(fields.String(), required=True)


class ShipmentPageSchema(PageSchema):
    shipments = fields.List(fields.Nested(ShipmentSchema), required=True)
