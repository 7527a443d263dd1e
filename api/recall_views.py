"""Recall notices for the enterprises that hold or held recalled goods (the enterprise itself, or an inspector or
the registrar). An enterprise acknowledges a notice by submitting ``trace.recall.acknowledge``, signed with its own
key, to ``POST /events`` (body ``recall``, ``batch``, optional ``note``; it links the batch)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields

from trace import queries
from trace.quantities import format_quantity
from trace.recall_notices import notices_of, quantities, refresh_open_recalls
from trace.recall_scope import recall_scope

from .auth import require_enterprise_or_role
from .context import now, read_session, write_session
from .pages import text_arg
from .responses import json_response

blueprint = Blueprint("recalls", __name__)

#: Who besides the enterprise itself may read its notices: the console's recall roles.
READERS = ("inspector", "registrar")


class RecallPositionSchema(Schema):
    batch = fields.String(required=True, metadata={"description": "a batch of the recall's scope"})
    unit = fields.String(required=True)
    held = fields.String(required=True, metadata={"description": "what the enterprise holds of it now"})
    in_transit = fields.String(required=True, metadata={"description": "what is on its way to the enterprise"})
    returned = fields.String(required=True, metadata={"description": "shipped back to the maker since the recall"})
    destroyed = fields.String(required=True, metadata={"description": "destroyed since the recall"})


class RecallAcknowledgementSchema(Schema):
    entry_index = fields.Integer(required=True)
    at = fields.DateTime(required=True)


class RecallNoticeSchema(Schema):
    recall = fields.Integer(required=True, metadata={"description": "entry index of the trace.recall"})
    batch = fields.String(required=True, metadata={"description": "the recalled batch"})
    reason = fields.String(required=True)
    level = fields.String(allow_none=True, required=True, metadata={"description": "risk level 1, 2 or 3"})
    issued_at = fields.DateTime(required=True)
    status = fields.String(required=True, metadata={"description": "open or closed"})
    closed_at = fields.DateTime(allow_none=True, required=True)
    role = fields.String(required=True, metadata={"description": "maker, processor, holder or former"})
    notified_at = fields.DateTime(required=True)
    acknowledged = fields.Nested(RecallAcknowledgementSchema, allow_none=True, required=True)
    returned = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "quantities shipped back since the recall, by unit"})
    destroyed = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                            metadata={"description": "quantities destroyed since the recall, by unit"})
    batches = fields.List(fields.Nested(RecallPositionSchema), required=True,
                          metadata={"description": "the enterprise's batches in the scope: acknowledge on one"})


class RecallNoticeListSchema(Schema):
    recalls = fields.List(fields.Nested(RecallNoticeSchema), required=True)


@blueprint.get("/enterprises/<credit_code>/recalls")
def enterprise_recalls(credit_code: str) -> Any:
    """The recall notices of an enterprise (the enterprise or an inspector or the registrar).
    ---
    get:
      tags: [recalls]
      summary: Recalls the enterprise was notified of, newest first, with what it still holds of each
      description: >-
        Every recall whose scope the enterprise is in: it made, shipped, received, used, sold, destroyed or holds
        some of the recalled goods. Acknowledge a notice by submitting trace.recall.acknowledge (body recall,
        batch, optional note; linking that batch) signed with the enterprise's key to POST /events.
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: status, in: query, schema: {type: string, enum: [open, closed]}}
      responses:
        200: {description: the notices, content: {application/json: {schema: RecallNoticeListSchema}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    require_enterprise_or_role(credit_code, READERS, f"reading enterprise {credit_code}'s recall notices")
    status = text_arg("status", choices=frozenset({"open", "closed"}))
    writer = write_session()
    queries.enterprise(writer, credit_code)
    recalls = {recall.index: recall for recall in refresh_open_recalls(writer, now())}
    writer.commit()
    session = read_session()
    items = []
    for notice in notices_of(session, credit_code):
        recall = recalls.get(notice.recall_index)
        if recall is None or (status is not None and (status == "closed") != recall.closed):
            continue
        scope = recall_scope(session, recall.index)
        batches = [{"batch": position.ref, "unit": position.unit, "held": format_quantity(position.held),
                    "in_transit": format_quantity(position.in_transit),
                    "returned": format_quantity(position.returned),
                    "destroyed": format_quantity(position.destroyed_since)}
                   for position in scope.positions_of(credit_code)]
        acknowledged = None if notice.acknowledged_index is None else \
            {"entry_index": notice.acknowledged_index, "at": notice.acknowledged_at}
        items.append({"recall": recall.index, "batch": recall.source, "reason": recall.reason, "level": recall.level,
                      "issued_at": recall.issued_at, "status": "closed" if recall.closed else "open",
                      "closed_at": recall.closed_at, "role": notice.role, "notified_at": notice.notified_at,
                      "acknowledged": acknowledged, "returned": quantities(notice.returned),
                      "destroyed": quantities(notice.destroyed), "batches": batches})
    return json_response(RecallNoticeListSchema().dump({"recalls": items}), cache="private, no-store")
