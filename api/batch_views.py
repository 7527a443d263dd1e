"""Batches (GTIN + lot) and logistic units (SSCC): state, history, provenance, recall scope and proof bundle.

Each resource answers under ``/batches/01/{gtin}/10/{lot}`` and ``/batches/00/{sscc}``, the GS1 Digital Link
paths of the ledger references. A lot containing ``/`` cannot be addressed in a path; list with
``/batches?gtin=…`` to find it. State, history, provenance and the bundle are public: they are what the QR code's
page shows. The downstream scope (who holds what now) is an authority's or the batch maker's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from ledger import batch_bundle
from trace import queries
from trace.provenance import Provenance, trace_back, trace_forward

from .auth import AUTHORITY_ROLES, require_enterprise_or_role
from .context import read_session
from .pages import MAX_LATEST, cursor_arg, latest_arg, limit_arg, page_cursor, text_arg
from .responses import json_response
from .schemas import BatchBundleSchema, BatchPageSchema, BatchSchema, HistorySchema, ProvenanceSchema

blueprint = Blueprint("batches", __name__)

_LOT_PARAMETERS = """        - {name: gtin, in: path, required: true, schema: {type: string, pattern: '^[0-9]{8,14}$'}}
        - {name: lot, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 20}}"""
_SSCC_PARAMETERS = """\
        - {name: sscc, in: path, required: true, schema: {type: string, pattern: '^[0-9]{18}$'}}"""
_ERRORS = """        400: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}"""


@blueprint.get("/batches")
def list_batches() -> Any:
    """List batches.
    ---
    get:
      tags: [batches]
      summary: Batches and logistic units by reference
      parameters:
        - {name: gtin, in: query, schema: {type: string, pattern: '^[0-9]{14}$'}}
        - {name: creator, in: query, schema: {type: string, maxLength: 18}}
        - {name: status, in: query, schema: {type: string, maxLength: 12}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: BatchPage}}}
        400: {$ref: '#/components/responses/Error'}
    """
    after, limit = cursor_arg(str), limit_arg()
    rows = queries.list_batches(read_session(), after=after[0] if after else None, limit=limit,
                                gtin=text_arg("gtin", 14, pattern="[0-9]{14}"), creator=text_arg("creator", 18),
                                status=text_arg("status", 12))
    return jsonify(BatchPageSchema().dump({"batches": rows, "next_cursor": page_cursor(rows, "ref", limit)}))


def _state(ref: str) -> Any:
    return json_response(BatchSchema().dump(queries.batch(read_session(), ref)), cache="no-cache")


def _history(ref: str) -> Any:
    after, limit = cursor_arg(int), limit_arg()
    events = queries.batch_history(read_session(), ref, after=after[0] if after else None, limit=limit)
    return jsonify(HistorySchema().dump({"ref": ref, "events": events,
                                         "next_cursor": page_cursor(events, "entry_index", limit)}))


def _provenance(ref: str) -> Any:
    graph = trace_back(read_session(), ref)
    return jsonify(ProvenanceSchema().dump(_graph(graph)))


def _downstream(ref: str) -> Any:
    session = read_session()
    state = queries.batch(session, ref)
    require_enterprise_or_role(state["creator"], AUTHORITY_ROLES,
                               f"the downstream scope of {ref} (who holds how much)")
    graph = trace_forward(session, ref)
    return json_response(ProvenanceSchema().dump(_graph(graph)), cache="private, no-store")


def _bundle(ref: str) -> Any:
    latest = latest_arg(request.args.get("latest"))
    session = read_session()
    bundle = batch_bundle(session, ref, queries.batch_entries(session, ref), latest=latest)
    return json_response(BatchBundleSchema().dump(bundle), cache="no-cache")


def _graph(graph: Provenance) -> dict[str, Any]:
    nodes = []
    for node in graph.nodes.values():
        nodes.append({"ref": node.ref, "kind": node.kind, "gtin": node.gtin, "lot": node.lot, "sscc": node.sscc,
                      "product_name": node.product_name, "category": node.category, "unit": node.unit,
                      "quantity": node.quantity, "outstanding": node.outstanding, "creator": node.creator,
                      "produced_on": node.produced_on, "expires_on": node.expires_on,
                      "origin": json.loads(node.origin), "certificates": json.loads(node.certificates),
                      "status": node.status, "inspection": node.inspection, "events": node.events,
                      "recalls": [{"entry_index": index, "source_ref": source, "issuer": issuer, "reason": reason}
                                  for index, source, issuer, reason in node.recalls]})
    return {"root": graph.root, "direction": graph.direction, "nodes": nodes,
            "links": [link._asdict() for link in graph.links],
            "events": [queries.event_view(hop) for _, hop in sorted(graph.events.items())],
            "sources": graph.sources, "holders": [holder._asdict() for holder in graph.holders],
            "enterprises": {code: {"name": name, "locations": json.loads(locations)}
                            for code, (name, locations) in graph.enterprises.items()}}


_VIEWS: list[tuple[str, str, Callable[[str], Any], str]] = [
    ("", "state", _state, """The batch's current state.
    ---
    get:
      tags: [batches]
      summary: Current state {what} (product, quantities, dates, status, inspection, recalls)
      parameters:
{parameters}
      responses:
        200: {{description: the state, content: {{application/json: {{schema: Batch}}}}}}
{errors}
    """),
    ("/history", "history", _history, """The batch's events.
    ---
    get:
      tags: [batches]
      summary: Every event {what}, in ledger order, corrected ones marked
      parameters:
{parameters}
        - {{name: limit, in: query, schema: {{type: integer, minimum: 1, maximum: 1000, default: 100}}}}
        - {{name: cursor, in: query, schema: {{type: string}}}}
      responses:
        200: {{description: one page, content: {{application/json: {{schema: History}}}}}}
{errors}
    """),
    ("/provenance", "provenance", _provenance, """The chain back to every source.
    ---
    get:
      tags: [batches]
      summary: Provenance {what}, upstream to every source, with every hop's who, where and when
      parameters:
{parameters}
      responses:
        200: {{description: the upstream graph, content: {{application/json: {{schema: Provenance}}}}}}
{errors}
    """),
    ("/downstream", "downstream", _downstream, """The recall scope.
    ---
    get:
      tags: [batches]
      summary: Downstream {what}, every batch made from or packed with it and who holds how much now
      security: [{{bearerAuth: []}}, {{traceSignature: []}}]
      parameters:
{parameters}
      responses:
        200:
          description: the downstream graph with holders
          content: {{application/json: {{schema: Provenance}}}}
        401: {{$ref: '#/components/responses/Error'}}
        403: {{$ref: '#/components/responses/Error'}}
{errors}
    """),
    ("/bundle", "bundle", _bundle, """The proof bundle of the batch's history, or of its latest events.
    ---
    get:
      tags: [batches]
      summary: Proof bundle {what}, every entry on it with inclusion proofs against the latest checkpoint
      description: >-
        With latest=K, only the batch's latest K events are proved (ledger-format §11.2): the bundle then states
        previous, the statement hash of the event before them, and earlier, how many events it leaves out. A K of
        at least the number of events is the whole history.
      parameters:
{parameters}
        - {{name: latest, in: query, schema: {{type: integer, minimum: 1, maximum: {max_latest}}}}}
      responses:
        200:
          description: the bundle (verify with ledger.verify_batch_bundle)
          content: {{application/json: {{schema: BatchBundle}}}}
{errors}
    """),
]


def _register() -> None:
    for suffix, name, handler, doc in _VIEWS:
        def lot_view(gtin: str, lot: str, handler: Callable[[str], Any] = handler) -> Any:
            return handler(queries.lot_ref_of(gtin, lot))

        def sscc_view(sscc: str, handler: Callable[[str], Any] = handler) -> Any:
            return handler(queries.sscc_ref_of(sscc))

        lot_view.__doc__ = doc.format(what="of a lot", parameters=_LOT_PARAMETERS, errors=_ERRORS,
                                      max_latest=MAX_LATEST)
        sscc_view.__doc__ = doc.format(what="of a logistic unit", parameters=_SSCC_PARAMETERS, errors=_ERRORS,
                                       max_latest=MAX_LATEST)
        blueprint.add_url_rule(f"/batches/01/<gtin>/10/<lot>{suffix}", endpoint=f"lot_{name}", view_func=lot_view)
        blueprint.add_url_rule(f"/batches/00/<sscc>{suffix}", endpoint=f"sscc_{name}", view_func=sscc_view)


_register()
