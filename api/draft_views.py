"""Drafts: statements prepared for a signer whose key is elsewhere (a workspace phone's browser).

The author (its API token or a request signed with any of its live keys) or a registrar asks what to sign; the
answer is each statement complete with its chain (``seq``, ``prev``) and ``links``, or the refusal the rules
would give. Nothing is written: the phone signs the drafts and submits them to ``POST /events/batch``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from trace.drafts import DraftRequest, prepare_drafts, require_live_key

from .auth import require_enterprise_or_role
from .bodies import json_body
from .context import app_context, read_session
from .responses import json_response
from .schemas import DraftCreateSchema, DraftListSchema

blueprint = Blueprint("draft", __name__)


@blueprint.post("/events/drafts")
def draft_events() -> Any:
    """Draft statements for a signer.
    ---
    post:
      tags: [events]
      summary: Statements ready to sign (chain and links filled in), or the refusal each would get; nothing written
      description: >
        For the author enterprise (its API token or a request signed with any of its live keys) or a registrar.
        key must be a live key of the author. Drafts chain on one another in order; a refused draft takes no
        place in the chain. Sign each statement as it is and submit the envelopes to POST /events/batch.
      security: [{traceSignature: []}, {bearerAuth: []}]
      requestBody: {required: true, content: {application/json: {schema: DraftCreate}}}
      responses:
        200: {description: one draft per statement in order, content: {application/json: {schema: DraftList}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    body = json_body(DraftCreateSchema())
    author = body["author"]
    require_enterprise_or_role(author, ("registrar",), f"drafting statements of {author}")
    session = read_session()
    require_live_key(session, author, body["key"])
    requests = [DraftRequest(item["type"], item["body"], item["time"]) for item in body["statements"]]
    drafts = prepare_drafts(session, author=author, key=body["key"], requests=requests, clock=app_context().clock)
    return json_response(DraftListSchema().dump({"drafts": [draft.to_dict() for draft in drafts]}),
                         cache="private, no-store")
