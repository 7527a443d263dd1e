"""Complaints as an enterprise sees them (those routed to it), and its answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.complaint_desk import MAX_REPLY
from trace.complaints import CATEGORIES, STATUSES

from .common import PageSchema


class ComplaintSummarySchema(Schema):
    ticket = fields.String(required=True, metadata={"description": "the complaint's ticket, e.g. TS-2026-7KQ4ZD"})
    batch = fields.String(required=True, metadata={"description": "the batch complained about"})
    product_name = fields.String(allow_none=True, required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    filed_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True, metadata={"description": "when the authorities' next answer is due"})
    overdue = fields.Boolean(required=True)
    anchor_index = fields.Integer(required=True, metadata={
        "description": "the ledger entry (trace.complaint.anchor) that commits to the complaint"})
    roles = fields.List(fields.String(validate=validate.OneOf(("holder", "producer"))), required=True, metadata={
        "description": "why the complaint was routed to this enterprise: it held or made the batch"})


class EnterpriseComplaintPageSchema(PageSchema):
    complaints = fields.List(fields.Nested(ComplaintSummarySchema), required=True)


class ComplaintPhotoSchema(Schema):
    position = fields.Integer(required=True)
    content_type = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class ComplaintReplySchema(Schema):
    id = fields.Integer(required=True)
    author_kind = fields.String(required=True, validate=validate.OneOf(("inspector", "enterprise", "channel")))
    author = fields.String(required=True, metadata={
        "description": "an enterprise's credit code, or `regulator` for the market regulator"})
    status = fields.String(allow_none=True, required=True, metadata={"description": "the status it set, if any"})
    body = fields.String(allow_none=True, required=True, metadata={
        "description": "the text shown to the complainant; null for a status change alone"})
    created_at = fields.DateTime(required=True)


class EnterpriseComplaintSchema(ComplaintSummarySchema):
    description = fields.String(required=True, metadata={"description": "the complainant's words, as plain text"})
    photos = fields.List(fields.Nested(ComplaintPhotoSchema), required=True)
    replies = fields.List(fields.Nested(ComplaintReplySchema), required=True, metadata={
        "description": "what the complainant is shown, oldest first; internal notes are not"})


class ComplaintAnswerSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REPLY), metadata={
        "description": "the answer, shown to the complainant as plain text"})
