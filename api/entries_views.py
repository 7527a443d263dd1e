"""Bulk reads of the ledger: entries by index range and the streaming export.

Public when the deployment sets ``TRACE_PUBLIC_LEDGER=true``; otherwise an authority's login (inspector,
registrar, administrator) is needed, so trading relationships cannot be harvested in bulk. Per-batch bundles,
checkpoints and proofs stay public either way.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response

from ledger.export import entries_range, export_lines
from ledger.statements import parse_leaf

from .auth import AUTHORITY_ROLES, require_account
from .context import app_context, read_session
from .pages import int_arg, limit_arg
from .responses import IMMUTABLE, PRIVATE_IMMUTABLE, immutable_response, json_response
from .schemas import EntryPageSchema

blueprint = Blueprint("entries", __name__)


@blueprint.get("/ledger/entries")
def entries() -> Any:
    """Entries by index range.
    ---
    get:
      tags: [ledger]
      summary: Ledger entries from index start, at most limit of them
      description: >
        Public when the deployment publishes its ledger (TRACE_PUBLIC_LEDGER); otherwise an inspector's,
        registrar's or administrator's login. A full page (exactly limit entries, all sequenced) never changes
        and is cached as immutable.
      security: [{}, {bearerAuth: []}]
      parameters:
        - {name: start, in: query, required: true, schema: {type: integer, minimum: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - name: If-None-Match
          in: header
          required: false
          description: the ETag of an earlier full page; answered 304 when unchanged
          schema: {type: string}
      responses:
        200: {description: the entries, content: {application/json: {schema: EntryPage}}}
        304:
          description: not modified (the `If-None-Match` ETag matches)
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    _require_ledger_reader()
    start, limit = int_arg("start"), limit_arg()
    rows = entries_range(read_session(), start, start + limit)
    items = []
    for index, chain_hash, leaf in rows:
        statement = parse_leaf(leaf).statement
        items.append({"index": index, "leaf": base64.b64encode(leaf).decode("ascii"),
                      "chain_hash": chain_hash.hex(), "type": statement.type, "author": statement.author})
    body = EntryPageSchema().dump({"entries": items,
                                   "next_cursor": str(start + limit) if len(rows) == limit else None})
    if len(rows) < limit:  # the last page grows as entries are appended
        return json_response(body, cache="no-cache")
    return immutable_response(body, IMMUTABLE if app_context().settings.public_ledger else PRIVATE_IMMUTABLE)


@blueprint.get("/ledger/export")
def export() -> Any:
    """Stream the whole ledger as an export file.
    ---
    get:
      tags: [ledger]
      summary: The export file of docs/ledger-format.md, streamed, up to the latest checkpoint
      description: Verify it offline with `python -m trace verify FILE --operator-key KEY`.
      security: [{}, {bearerAuth: []}]
      responses:
        200: {description: JSON lines, content: {application/x-ndjson: {schema: {type: string}}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    _require_ledger_reader()
    context = app_context()

    def generate() -> Iterator[bytes]:
        with context.sessions() as session:  # its own session: the stream outlives the request
            session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            yield from export_lines(session, origin=context.settings.ledger_origin)[1]

    response = Response(generate(), mimetype="application/x-ndjson")
    response.headers["Content-Disposition"] = 'attachment; filename="ledger-export.jsonl"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_ledger_reader() -> None:
    if not app_context().settings.public_ledger:
        require_account(*AUTHORITY_ROLES)
