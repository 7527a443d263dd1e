"""Complaints about an enterprise's products, in the enterprise's own view: the complaints routed to it when they
were filed, and its answers, which the complainant sees at once.

The enterprise calls with its API token or a request signed with its key; inspectors may read too. A complaint
routed only to others is refused with ``complaint.not_recipient`` (403). The complainant's contact is never
returned.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response
from marshmallow import ValidationError

from trace.access import AccessError, Caller
from trace.complaint_answers import answer_complaint, complaints_routed_to, routed_complaint, routed_photo, shown_reply
from trace.complaints import STATUSES, clean_text

from .auth import current_caller, require_enterprise_or_role
from .bodies import json_body
from .context import now, read_session, write_session
from .pages import cursor_arg, limit_arg, page_cursor, text_arg
from .responses import json_response
from .schemas.complaints import (
    ComplaintAnswerSchema,
    ComplaintReplySchema,
    EnterpriseComplaintPageSchema,
    EnterpriseComplaintSchema,
)

logger = logging.getLogger(__name__)
blueprint = Blueprint("enterprise_complaints", __name__)

#: Who besides the enterprise itself may read its complaints.
READERS = ("inspector",)
_PRIVATE = "private, no-store"


def _reader(credit_code: str) -> Caller:
    return require_enterprise_or_role(credit_code, READERS, f"reading the complaints routed to {credit_code}")


@blueprint.get("/enterprises/<credit_code>/complaints")
def list_complaints(credit_code: str) -> Any:
    """The complaints routed to an enterprise (the enterprise or an inspector).
    ---
    get:
      tags: [complaints]
      summary: Complaints about batches the enterprise held or made when they were filed, newest first
      description: Without the complainant's contact. The enterprise's API token, a request signed with its key,
        or an inspector's login.
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - name: status
          in: query
          schema: {type: string, enum: [received, investigating, referred, resolved]}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: EnterpriseComplaintPageSchema}}}
        400: {description: a bad query parameter (`request.parameter`) or cursor (`request.cursor`)}
        403: {description: "another enterprise's or an account without the inspector role (`auth.forbidden`)"}
    """
    _reader(credit_code)
    before, limit = cursor_arg(int), limit_arg()
    rows = complaints_routed_to(read_session(), credit_code, now=now(), limit=limit,
                                status=text_arg("status", choices=frozenset(STATUSES)),
                                before=before[0] if before else None)
    body = EnterpriseComplaintPageSchema().dump({"complaints": rows,
                                                 "next_cursor": page_cursor(rows, "anchor_index", limit)})
    return json_response(body, cache=_PRIVATE)


@blueprint.get("/enterprises/<credit_code>/complaints/<ticket>")
def get_complaint(credit_code: str, ticket: str) -> Any:
    """One complaint routed to the enterprise (the enterprise or an inspector).
    ---
    get:
      tags: [complaints]
      summary: A complaint with its description, photos and the replies the complainant sees
      description: Without the complainant's contact or internal notes.
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: ticket, in: path, required: true, schema: {type: string, pattern: '^TS-[0-9]{4}-[2-9A-HJ-NP-Z]{6}$'}}
      responses:
        200: {description: the complaint, content: {application/json: {schema: EnterpriseComplaintSchema}}}
        403: {description: "the complaint was not routed to this enterprise (`complaint.not_recipient`), or the
          caller may not read its complaints (`auth.forbidden`)"}
        404: {description: no complaint has this ticket (`not_found.complaint`)}
    """
    _reader(credit_code)
    found = routed_complaint(read_session(), credit_code, ticket, now=now())
    return json_response(EnterpriseComplaintSchema().dump(found), cache=_PRIVATE)


@blueprint.get("/enterprises/<credit_code>/complaints/<ticket>/photos/<int:position>")
def get_photo(credit_code: str, ticket: str, position: int) -> Any:
    """A photo of a complaint routed to the enterprise (the enterprise or an inspector).
    ---
    get:
      tags: [complaints]
      summary: Photo `position` (from 0) as stored, re-encoded without metadata
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: ticket, in: path, required: true, schema: {type: string}}
        - {name: position, in: path, required: true, schema: {type: integer, minimum: 0}}
      responses:
        200: {description: the photo, content: {image/jpeg: {schema: {type: string, format: binary}}}}
        403: {description: "the complaint was not routed to this enterprise (`complaint.not_recipient`)"}
        404: {description: "no such complaint (`not_found.complaint`) or photo (`not_found.photo`)"}
    """
    _reader(credit_code)
    photo = routed_photo(read_session(), credit_code, ticket, position)
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["Cache-Control"] = _PRIVATE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post("/enterprises/<credit_code>/complaints/<ticket>/replies")
def answer(credit_code: str, ticket: str) -> Any:
    """Answer a complaint routed to the enterprise (the enterprise only).
    ---
    post:
      tags: [complaints]
      summary: Add the enterprise's answer, shown to the complainant at once on their follow page
      description: The enterprise's API token or a request signed with its key. The text is kept as plain text
        (control and bidirectional-override characters removed).
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: ticket, in: path, required: true, schema: {type: string}}
      requestBody: {required: true, content: {application/json: {schema: ComplaintAnswerSchema}}}
      responses:
        201: {description: the answer as recorded, content: {application/json: {schema: ComplaintReplySchema}}}
        403: {description: "the complaint was not routed to this enterprise (`complaint.not_recipient`), or the
          caller is not this enterprise (`auth.forbidden`)"}
        404: {description: no complaint has this ticket (`not_found.complaint`)}
    """
    caller = current_caller()
    if caller.enterprise != credit_code:
        what = f"answering complaints as {credit_code} needs its API token or a request signed with its key"
        if caller.via == "none":
            raise AccessError(what, code="auth.required")
        raise AccessError(f"{caller.name} may not do this: {what}", code="auth.forbidden")
    text = clean_text(json_body(ComplaintAnswerSchema())["body"], multiline=True)
    if not text:
        raise ValidationError({"body": ["the answer is empty once control characters are removed"]})
    writer = write_session()
    reply = answer_complaint(writer, credit_code, ticket, text, now=now())
    writer.commit()
    logger.info("complaint answered", extra={"ticket": ticket, "enterprise": credit_code, "reply": reply.id})
    return json_response(ComplaintReplySchema().dump(shown_reply(reply)), status=201, cache=_PRIVATE)
