"""EPCIS 2.0 capture jobs: the signatures an enterprise sends for a job's drafted statements, and the job as the
API shows it (the binding's capture job members, then the statements to sign and each one's outcome)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .common import ItemErrorSchema

#: The most events one captured document may hold (``GS1-EPCIS-Capture-Limit``).
CAPTURE_LIMIT = 500


class CaptureSignaturesSchema(Schema):
    signatures = fields.List(fields.String(validate=validate.Length(max=200)), required=True,
                             validate=validate.Length(min=1, max=CAPTURE_LIMIT),
                             metadata={"description": "base64 Ed25519 signatures of the job's statements, in the "
                                                      "order of `statements`"})


class CaptureEventErrorSchema(Schema):
    eventIndex = fields.Integer(required=True, metadata={"description": "0-based position in the eventList"})
    eventID = fields.String(required=True, metadata={"description": "the event's CBV 2.0 hash ID"})
    code = fields.String(required=True, metadata={"description": "e.g. epcis.unmappable, custody.not_holder"})
    reason = fields.String(required=True)


class CaptureStatementSchema(Schema):
    eventIndex = fields.Integer(required=True)
    eventID = fields.String(required=True)
    statement = fields.Dict(required=True, metadata={"description": "the drafted statement to sign: v, ledger, "
                                                                    "type, author, key, seq, prev, links, time, body"})
    statement_hash = fields.String(required=True)


class CaptureResultSchema(Schema):
    eventIndex = fields.Integer(required=True)
    eventID = fields.String(required=True)
    statement_hash = fields.String(required=True)
    index = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the ledger entry; null when refused or not appended (its atomic batch was refused)"})
    duplicate = fields.Boolean(required=True)
    error = fields.Nested(ItemErrorSchema, allow_none=True, required=True)


class CaptureJobSchema(Schema):
    captureID = fields.String(required=True)
    createdAt = fields.DateTime(required=True)
    finishedAt = fields.DateTime(allow_none=True, required=True)
    running = fields.Boolean(required=True, metadata={"description": "true while the job awaits signatures"})
    success = fields.Boolean(required=True)
    captureErrorBehaviour = fields.String(required=True, metadata={"description": "rollback or proceed"})
    errors = fields.List(fields.Nested(CaptureEventErrorSchema), required=True)
    state = fields.String(required=True, metadata={
        "description": "awaiting_signatures, succeeded, failed or expired (unsigned past expiresAt)"})
    expiresAt = fields.DateTime(required=True)
    author = fields.String(required=True, metadata={"description": "the capturing enterprise's credit code"})
    key = fields.String(required=True, metadata={"description": "the key id the statements must be signed with"})
    eventCount = fields.Integer(required=True, metadata={"description": "events in the captured document"})
    statements = fields.List(fields.Nested(CaptureStatementSchema), required=True)
    results = fields.List(fields.Nested(CaptureResultSchema), required=True, metadata={
        "description": "one per statement once signatures were submitted, in the same order"})
