"""EPCIS 2.0 query and export: ledger events as GS1 EPCIS 2.0 JSON-LD (docs/epcis.md).

``GET /epcis/events`` answers the SimpleEventQuery parameters of the EPCIS 2.0 REST binding with an
``EPCISQueryDocument`` in entry order, paginated with ``perPage`` and an opaque ``nextPageToken`` (also sent in a
``Link: <…>; rel="next"`` header). The token is the last entry index read, authenticated with the application's
secret and bound to the query's filters, so a token this API did not issue for this query is refused. Who may
read: authorities see every event; an enterprise credential sees the events it authored and the shipments to it
or received from it; anonymous callers only when the deployment publishes its ledger (``TRACE_PUBLIC_LEDGER``).

``GET /batches/…/epcis`` is a batch's history as an ``EPCISDocument``: public, like the history it exports.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request

from ledger import LedgerError
from trace import queries
from trace.access import AccessError
from trace.epcis import export_document
from trace.epcis_query import STATEMENT_TYPES, EventQuery, batch_events, cbv_term, query_events

from .auth import AUTHORITY_ROLES, current_caller
from .context import app_context, now, read_session
from .errors import error_response

blueprint = Blueprint("epcis", __name__)

DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 1000
#: Headers every EPCIS answer carries (EPCIS 2.0 REST binding).
GS1_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0", "GS1-EPCIS-Min": "2.0.0",
               "GS1-EPCIS-Max": "2.0.0"}
_LIST_PARAMETERS = ("eventType", "EQ_bizStep", "EQ_disposition", "MATCH_epc", "MATCH_epcClass", "MATCH_anyEPC",
                    "MATCH_anyEPCClass", "EQ_bizLocation")
_TIME_PARAMETERS = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
_PAGING_PARAMETERS = ("perPage", "nextPageToken")
_TOKEN_TAG = b"trace-api/v1/epcis-page\x00"


@blueprint.get("/epcis/events")
def query() -> Any:
    """EPCIS events matching a SimpleEventQuery.
    ---
    get:
      tags: [epcis]
      summary: EPCIS 2.0 events matching the SimpleEventQuery parameters, in ledger order
      description: >
        Answers an EPCISQueryDocument (queryName SimpleEventQuery). A list parameter takes several values
        separated by `|` or repeated; MATCH_ values ending in `*` match by prefix. Authorities see every event; an
        enterprise credential its own events and shipments to or from it; anonymous callers only when the ledger
        is public. The next page is linked in `Link: <…>; rel="next"`.
      security: [{}, {bearerAuth: []}, {traceSignature: []}]
      parameters:
        - name: eventType
          in: query
          schema: {type: string}
          description: 'ObjectEvent, AggregationEvent, TransformationEvent'
        - {name: GE_eventTime, in: query, schema: {type: string, format: date-time}}
        - {name: LT_eventTime, in: query, schema: {type: string, format: date-time}}
        - {name: GE_recordTime, in: query, schema: {type: string, format: date-time}}
        - {name: LT_recordTime, in: query, schema: {type: string, format: date-time}}
        - {name: EQ_bizStep, in: query, schema: {type: string}, description: 'e.g. shipping or its CBV URI'}
        - {name: EQ_disposition, in: query, schema: {type: string}}
        - {name: MATCH_epc, in: query, schema: {type: string}}
        - {name: MATCH_epcClass, in: query, schema: {type: string}, description: 'e.g. https://id.gs1.org/01/{gtin}/10/{lot}'}
        - {name: MATCH_anyEPC, in: query, schema: {type: string}}
        - {name: MATCH_anyEPCClass, in: query, schema: {type: string}}
        - {name: EQ_bizLocation, in: query, schema: {type: string}}
        - {name: perPage, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 30}}
        - {name: nextPageToken, in: query, schema: {type: string}, description: 'from the previous page'}
      responses:
        200:
          description: an EPCISQueryDocument
          headers:
            Link: {description: 'the next page, rel="next"; absent on the last page', schema: {type: string}}
          content: {application/ld+json: {schema: {type: object}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    unknown = sorted(set(request.args) - {*_LIST_PARAMETERS, *_TIME_PARAMETERS, *_PAGING_PARAMETERS})
    if unknown:
        return error_response(400, "request.parameter", f"QueryParameterException: unknown query parameter "
                              f"{unknown[0]}", {name: "unknown query parameter" for name in unknown})
    party = _reader_party()
    filters = _event_query(party)
    per_page = _per_page()
    fingerprint = _fingerprint()
    token = request.args.get("nextPageToken")
    after = None if token is None else _token_index(token, fingerprint)
    page = query_events(read_session(), filters, after=after, limit=per_page)
    events = [event for _, event in page.events]
    document = _query_document(events)
    response = _ld_json(document)
    if page.last_index is not None:
        next_token = _page_token(page.last_index, fingerprint)
        pairs = [(name, value) for name in request.args if name != "nextPageToken"
                 for value in request.args.getlist(name)]
        response.headers["Link"] = f'<{request.base_url}?{urlencode([*pairs, ("nextPageToken", next_token)])}>; ' \
                                   'rel="next"'
    response.headers["Cache-Control"] = "private, no-store" if party is not None else "no-cache"
    return response


def _reader_party() -> str | None:
    """None when the caller may read every event; the caller's credit code when only its own."""
    caller = current_caller()
    public = app_context().settings.public_ledger
    if caller.has_role(*AUTHORITY_ROLES) or public:
        return None
    if caller.enterprise is not None:
        return caller.enterprise
    if caller.username is not None:
        raise AccessError(f"account {caller.username} lacks role {' or '.join(AUTHORITY_ROLES)}",
                          code="auth.forbidden")
    raise AccessError("EPCIS queries need an enterprise credential or an authority's login (the ledger is not "
                      "public)", code="auth.required")


def _event_query(party: str | None) -> EventQuery:
    values = {name: _list_arg(name) for name in _LIST_PARAMETERS}
    times = {name: _time_arg(name) for name in _TIME_PARAMETERS}
    event_types = values["eventType"]
    if event_types is not None and not event_types <= set(STATEMENT_TYPES):
        raise LedgerError(f"eventType must be among {', '.join(STATEMENT_TYPES)}", code="request.parameter")

    def terms(given: frozenset[str] | None) -> frozenset[str] | None:
        return None if given is None else frozenset(cbv_term(value) for value in given)

    return EventQuery(event_types=event_types, ge_event_time=times["GE_eventTime"],
                      lt_event_time=times["LT_eventTime"], ge_record_time=times["GE_recordTime"],
                      lt_record_time=times["LT_recordTime"], biz_steps=terms(values["EQ_bizStep"]),
                      dispositions=terms(values["EQ_disposition"]), epcs=values["MATCH_epc"],
                      epc_classes=values["MATCH_epcClass"], any_epcs=values["MATCH_anyEPC"],
                      any_epc_classes=values["MATCH_anyEPCClass"], biz_locations=values["EQ_bizLocation"],
                      party=party)


def _list_arg(name: str) -> frozenset[str] | None:
    raw = request.args.getlist(name)
    if not raw:
        return None
    values = frozenset(value for text in raw for value in text.split("|"))
    if "" in values or any(len(value) > 500 for value in values) or len(values) > 100:
        raise LedgerError(f"query parameter {name} must be up to 100 values of 1 to 500 characters separated by |",
                          code="request.parameter")
    return values


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise LedgerError(f"query parameter {name} must be an RFC 3339 time with its offset, e.g. "
                          "2026-11-21T08:00:00+08:00", code="request.parameter")
    return moment


def _per_page() -> int:
    raw = request.args.get("perPage")
    if raw is None:
        return DEFAULT_PER_PAGE
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_PER_PAGE:
        raise LedgerError(f"perPage must be an integer from 1 to {MAX_PER_PAGE}", code="request.parameter")
    return int(raw)


def _fingerprint() -> bytes:
    """The query's filters, so a page token only continues the query it was issued for."""
    pairs = sorted((name, value) for name in request.args if name not in _PAGING_PARAMETERS
                   for value in request.args.getlist(name))
    return "\n".join(f"{name}={value}" for name, value in pairs).encode("utf-8")


def _mac(index: int, fingerprint: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, _TOKEN_TAG + str(index).encode("ascii") + b"\x00" + fingerprint,
                    hashlib.sha256).digest()[:16]


def _page_token(index: int, fingerprint: bytes) -> str:
    raw = index.to_bytes(8, "big") + _mac(index, fingerprint)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _token_index(token: str, fingerprint: bytes) -> int:
    """The entry index a page token continues after; ``request.cursor`` for a token not issued for this query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 24:
        index = int.from_bytes(raw[:8], "big")
        if hmac.compare_digest(raw[8:], _mac(index, fingerprint)):
            return index
    raise LedgerError("nextPageToken is not one this API issued for this query; start again without it",
                      code="request.cursor")


def _query_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    """An EPCISQueryDocument around ``events``: the export document's context and date, the body as query
    results."""
    document = export_document(events, created=now())
    return {"@context": document["@context"], "type": "EPCISQueryDocument", "schemaVersion": "2.0",
            "creationDate": document["creationDate"],
            "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                                           "resultsBody": {"eventList": document["epcisBody"]["eventList"]}}}}


def _ld_json(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.mimetype = "application/ld+json"
    response.headers.update(GS1_HEADERS)
    return response


def _batch_document(ref: str) -> Any:
    session = read_session()
    queries.batch_entries(session, ref)  # 404 for an unknown batch
    events = [event for _, event in batch_events(session, ref)]
    response = _ld_json(export_document(events, created=now()))
    response.headers["Cache-Control"] = "no-cache"
    return response


_BATCH_DOC = """The batch's history as an EPCIS document.
    ---
    get:
      tags: [epcis]
      summary: Every custody event {what} as an EPCIS 2.0 EPCISDocument, in ledger order
      description: >
        Public, like the history. Each event carries its CBV 2.0 event hash ID as eventID and links its ledger
        entry and the entry's proof bundle (/api/v1/ledger/entries/{{index}}/bundle); see docs/epcis.md.
      parameters:
{parameters}
      responses:
        200: {{description: an EPCISDocument, content: {{application/ld+json: {{schema: {{type: object}}}}}}}}
        400: {{$ref: '#/components/responses/Error'}}
        404: {{$ref: '#/components/responses/Error'}}
    """
_LOT_PARAMETERS = """        - {name: gtin, in: path, required: true, schema: {type: string, pattern: '^[0-9]{8,14}$'}}
        - {name: lot, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 20}}"""
_SSCC_PARAMETERS = """\
        - {name: sscc, in: path, required: true, schema: {type: string, pattern: '^[0-9]{18}$'}}"""


def lot_document(gtin: str, lot: str) -> Any:
    return _batch_document(queries.lot_ref_of(gtin, lot))


def sscc_document(sscc: str) -> Any:
    return _batch_document(queries.sscc_ref_of(sscc))


lot_document.__doc__ = _BATCH_DOC.format(what="of a lot", parameters=_LOT_PARAMETERS)
sscc_document.__doc__ = _BATCH_DOC.format(what="of a logistic unit", parameters=_SSCC_PARAMETERS)
blueprint.add_url_rule("/batches/01/<gtin>/10/<lot>/epcis", view_func=lot_document)
blueprint.add_url_rule("/batches/00/<sscc>/epcis", view_func=sscc_document)
