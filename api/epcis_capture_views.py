"""EPCIS 2.0 capture, adapted so every event that enters the ledger is signed by the enterprise's own key.

``POST /epcis/capture`` (the enterprise's API token or a request signed with its key) validates the document
against the official schema, maps and drafts its events as the enterprise's statements and answers 202 with the
job's ``Location``. The job lists the statements to sign; ``POST /epcis/capture/{captureID}/signatures`` appends
them with the enterprise's signatures (see :mod:`trace.epcis_jobs`). ``OPTIONS /epcis/capture`` advertises the
limits in the binding's headers.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, request, url_for

from ledger import LedgerError
from trace.access import AccessError, Caller
from trace.epcis import EpcisError, validate_document
from trace.epcis_jobs import get_job, job_view, signing_key, start_capture, submit_signatures

from .auth import AUTHORITY_ROLES, current_caller, require_enterprise_or_role
from .bodies import json_body, raw_body
from .context import app_context, now, write_session
from .epcis_views import GS1_HEADERS
from .errors import error_response
from .responses import json_response
from .schemas import CaptureJobSchema, CaptureSignaturesSchema
from .schemas.epcis import CAPTURE_LIMIT

blueprint = Blueprint("epcis_capture", __name__)

#: The largest captured document, in bytes (``GS1-EPCIS-Capture-File-Size-Limit``).
CAPTURE_FILE_SIZE_LIMIT = 4 * 1024 * 1024
_JOB = CaptureJobSchema()
_DOCUMENT_TYPES = ("application/json", "application/ld+json")


@blueprint.route("/epcis/capture", methods=["OPTIONS"], provide_automatic_options=False)
def capture_options() -> Any:
    response = Response(status=204)
    response.headers["Allow"] = "OPTIONS, POST"
    response.headers.update(_limit_headers())
    return response


@blueprint.post("/epcis/capture", provide_automatic_options=False)
def capture() -> Any:
    """Capture an EPCIS document as statements for the enterprise to sign.
    ---
    post:
      tags: [epcis]
      summary: Capture an EPCISDocument; answers the capture job that awaits the enterprise's signatures
      description: >
        The caller is the capturing enterprise (its API token, or a request signed with its key: the statements
        then name that key; with a token, name the key with ?key= unless the enterprise has only one). The
        document is validated against the official EPCIS 2.0 JSON Schema (400 epcis.schema with the JSON path and
        the rule), mapped event by event and drafted under the traceability rules. GS1-Capture-Error-Behaviour
        rollback (default) fails the job at once if any event cannot be mapped or would be refused; proceed keeps
        the good events and lists the others in errors. Limits are advertised by OPTIONS and in the headers
        GS1-EPCIS-Capture-Limit (events) and GS1-EPCIS-Capture-File-Size-Limit (bytes); beyond them 413.
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - name: GS1-Capture-Error-Behaviour
          in: header
          schema: {type: string, enum: [rollback, proceed], default: rollback}
        - {name: key, in: query, schema: {type: string, maxLength: 16}, description: the signing key id}
      requestBody:
        required: true
        content:
          application/ld+json: {schema: {type: object}}
          application/json: {schema: {type: object}}
      responses:
        202:
          description: the capture job; its address is in Location
          headers:
            Location: {description: 'the job, /api/v1/epcis/capture/{captureID}', schema: {type: string}}
          content: {application/json: {schema: CaptureJob}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        413: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = _enterprise_caller()
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback")
    if request.mimetype not in _DOCUMENT_TYPES:
        raise LedgerError(f"send the EPCIS document as application/ld+json or application/json, not "
                          f"{request.mimetype or 'nothing'}", code="request.content_type")
    document = _load_document(raw_body(CAPTURE_FILE_SIZE_LIMIT))
    validate_document(document)
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument":
        kind = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise EpcisError(f"capture takes an EPCISDocument, found {kind}", code="epcis.document")
    events = document["epcisBody"]["eventList"]
    if len(events) > CAPTURE_LIMIT:
        raise EpcisError(f"the document holds {len(events)} events; GS1-EPCIS-Capture-Limit is {CAPTURE_LIMIT}",
                         code="epcis.too_large")
    session = write_session()
    assert caller.enterprise is not None
    key = caller.key_id or signing_key(session, caller.enterprise, request.args.get("key"))
    job = start_capture(session, document=document, author=caller.enterprise, key=key, error_behaviour=behaviour,
                        clock=app_context().clock)
    session.commit()
    response = json_response(_JOB.dump(job_view(job, now())), status=202, cache="no-store")
    response.headers["Location"] = url_for(".capture_job", capture_id=job.capture_id)
    response.headers.update(_limit_headers())
    return response


@blueprint.get("/epcis/capture/<capture_id>")
def capture_job(capture_id: str) -> Any:
    """A capture job.
    ---
    get:
      tags: [epcis]
      summary: A capture job, its statements to sign and, once signed, each event's entry or refusal
      description: >
        The capturing enterprise's credential or an authority's login. running is true while the job awaits
        signatures; an unsigned job expires after an hour (state expired).
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: capture_id, in: path, required: true, schema: {type: string, maxLength: 32}}
      responses:
        200: {description: the job, content: {application/json: {schema: CaptureJob}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    job = get_job(write_session(), capture_id)
    require_enterprise_or_role(job.author, AUTHORITY_ROLES, f"reading capture job {capture_id}")
    return json_response(_JOB.dump(job_view(job, now())), cache="private, no-store")


@blueprint.post("/epcis/capture/<capture_id>/signatures")
def capture_signatures(capture_id: str) -> Any:
    """Sign a capture job's statements.
    ---
    post:
      tags: [epcis]
      summary: Append a capture job's statements with the enterprise's signatures, in the order of statements
      description: >
        Only the capturing enterprise. Each signature must verify over its drafted statement under the job's key
        (422 signature.invalid, nothing changes). rollback jobs append all or nothing, proceed jobs each statement
        on its own; the job records each event's entry index or refusal. A job whose author appended anything
        else since it was drafted fails with 409 sequence.conflict: capture the document again.
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: capture_id, in: path, required: true, schema: {type: string, maxLength: 32}}
      requestBody:
        required: true
        content: {application/json: {schema: CaptureSignatures}}
      responses:
        200: {description: the finished job, content: {application/json: {schema: CaptureJob}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = _enterprise_caller()
    session = write_session()
    job = get_job(session, capture_id)
    if caller.enterprise != job.author:
        raise AccessError(f"{caller.name} may not sign capture job {capture_id}: only {job.author} may",
                          code="auth.forbidden")
    signatures = json_body(CaptureSignaturesSchema())["signatures"]
    context = app_context()
    with context.sessions() as preparing:
        try:
            job = submit_signatures(session, preparing, job, signatures, config=context.ledger,
                                    clock=context.clock)
        except Exception:
            session.rollback()
            raise
    view = job_view(job, now())
    session.commit()
    stale = [error for error in view["errors"] if error["code"] == "sequence.conflict"]
    if stale and not any(result["index"] is not None for result in view["results"]):
        return error_response(409, "sequence.conflict", stale[0]["reason"])
    return json_response(_JOB.dump(view), cache="no-store")


def _enterprise_caller() -> Caller:
    caller = current_caller()
    if caller.enterprise is not None:
        return caller
    if caller.via == "none":
        raise AccessError("EPCIS capture needs the enterprise's API token or a request signed with its key",
                          code="auth.required")
    raise AccessError(f"{caller.name} may not capture: events are captured by the enterprise that signs them",
                      code="auth.forbidden")


def _load_document(data: bytes) -> Any:
    """The JSON document with its non-integer numbers as exact decimals; ``request.json`` when it is not JSON
    or repeats a member."""
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        members: dict[str, Any] = {}
        for name, value in pairs:
            if name in members:
                raise ValueError(f"member {name!r} appears twice")
            members[name] = value
        return members

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(data.decode("utf-8"), parse_float=Decimal, parse_constant=constant,
                          object_pairs_hook=unique)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"request body is not a JSON document: {exc}", code="request.json") from None


def _limit_headers() -> dict[str, str]:
    return {**GS1_HEADERS, "GS1-EPCIS-Capture-Limit": str(CAPTURE_LIMIT),
            "GS1-EPCIS-Capture-File-Size-Limit": str(CAPTURE_FILE_SIZE_LIMIT),
            "GS1-Capture-Error-Behaviour": "rollback, proceed"}
