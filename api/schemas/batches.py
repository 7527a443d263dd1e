"""Batches and logistic units: state, history, provenance upstream and the recall scope downstream."""

from __future__ import annotations

from marshmallow import Schema, fields

from .common import PageSchema


class RecallSchema(Schema):
    entry_index = fields.Integer(required=True)
    source_ref = fields.String(required=True, metadata={"description": "the batch the recall was issued on"})
    issuer = fields.String(required=True)
    reason = fields.String(required=True)


class BatchSchema(Schema):
    ref = fields.String(required=True, metadata={"description": "01/{gtin}/10/{lot} or 00/{sscc}"})
    kind = fields.String(required=True, metadata={"description": "lot or logistic"})
    gtin = fields.String(allow_none=True, required=True)
    lot = fields.String(allow_none=True, required=True)
    sscc = fields.String(allow_none=True, required=True)
    product_name = fields.String(allow_none=True, required=True)
    category = fields.String(allow_none=True, required=True)
    unit = fields.String(required=True, metadata={"description": "UN/ECE unit code"})
    quantity = fields.String(required=True, metadata={"description": "decimal string, as commissioned"})
    outstanding = fields.String(required=True, metadata={"description": "decimal string, not yet sold, "
                                                                       "destroyed or consumed"})
    creator = fields.String(required=True)
    produced_on = fields.String(allow_none=True, required=True)
    expires_on = fields.String(allow_none=True, required=True)
    origin = fields.Dict(required=True)
    certificates = fields.List(fields.Dict(), required=True)
    status = fields.String(required=True)
    inspection = fields.String(allow_none=True, required=True)
    recalls = fields.List(fields.Nested(RecallSchema), required=True)
    head = fields.String(allow_none=True, metadata={
        "description": "hash of the latest statement linking the batch: the link the next statement names"})


class BatchPageSchema(PageSchema):
    batches = fields.List(fields.Nested(BatchSchema(exclude=("recalls", "origin", "certificates", "head"))),
                          required=True)


class EventSchema(Schema):
    entry_index = fields.Integer(required=True)
    type = fields.String(required=True)
    actor = fields.String(required=True)
    time = fields.String(required=True)
    location = fields.String(allow_none=True, required=True)
    summary = fields.Dict(required=True, metadata={"description": "what the event did, as recorded"})
    corrected_by = fields.Integer(allow_none=True, required=True)


class HistorySchema(PageSchema):
    ref = fields.String(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


class LinkSchema(Schema):
    parent = fields.String(required=True)
    child = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "transform or aggregate"})
    quantity = fields.String(allow_none=True, required=True)
    entry_index = fields.Integer(required=True)
    actor = fields.String(required=True)
    time = fields.String(required=True)
    location = fields.String(allow_none=True, required=True)


class NodeSchema(BatchSchema):
    class Meta:
        exclude = ("head",)

    events = fields.List(fields.Integer(), required=True, metadata={"description": "entry indexes"})


class EnterpriseNameSchema(Schema):
    name = fields.String(required=True)
    locations = fields.List(fields.Dict(), required=True)


class HolderSchema(Schema):
    ref = fields.String(required=True)
    holder = fields.String(required=True, metadata={"description": "credit code, or the SSCC it is packed in"})
    quantity = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "held, in_transit or packed"})


class ProvenanceSchema(Schema):
    root = fields.String(required=True)
    direction = fields.String(required=True, metadata={"description": "back or forward"})
    nodes = fields.List(fields.Nested(NodeSchema), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
    sources = fields.List(fields.String(), required=True)
    holders = fields.List(fields.Nested(HolderSchema), required=True)
    enterprises = fields.Dict(keys=fields.String(), values=fields.Nested(EnterpriseNameSchema), required=True)


class BatchBundleSchema(Schema):
    format = fields.String(required=True)
    checkpoint = fields.String(required=True)
    ref = fields.String(required=True)
    indexes = fields.List(fields.Integer(), required=True, metadata={"description": "the batch's entries"})
    entries = fields.List(fields.Dict(), required=True, metadata={
        "description": "each entry with its leaf and inclusion proof, plus the genesis and key entries"})
    previous = fields.String(metadata={
        "description": "a bundle of the latest events only (latest=K, ledger-format §11.2): the statement hash, in "
                       "hex, of the event before them, to which the first of them links the batch"})
    earlier = fields.Integer(metadata={
        "description": "a bundle of the latest events only: how many of the batch's events it leaves out"})
