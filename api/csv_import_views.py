"""CSV bulk import: downloadable templates, and a file checked and drafted for its signer (docs/csv-import.md).

Nothing is written here. The enterprise uploads a CSV file; the answer reports every bad row, or, when there is
none, the statements to sign. The signer (the command-line client or the workspace page) signs every draft and
submits them in one atomic batch, so a file is appended whole or not at all.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for

from ledger import LedgerError
from trace.csv_import import MAX_BYTES, MAX_ROWS, TEMPLATES, draft_import, parse_csv, template_csv
from trace.drafts import require_live_key

from .auth import require_enterprise_or_role
from .bodies import MAX_BATCH_BODY, raw_body
from .context import app_context, read_session
from .responses import json_response
from .schemas.csv_import import CsvImportQuerySchema, CsvImportReportSchema, CsvTemplateListSchema

blueprint = Blueprint("csv_import", __name__)

_CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


@blueprint.get("/csv-templates")
def list_templates() -> Any:
    """The CSV import templates.
    ---
    get:
      summary: The CSV templates, one per event type, with their columns and Chinese aliases
      responses:
        200: {description: every template, content: {application/json: {schema: CsvTemplateList}}}
        429: {$ref: '#/components/responses/Error'}
    """
    templates = [{"type": template.type, "title": template.title, "title_zh": template.title_zh,
                  "url": url_for(".download_template", type_=template.type),
                  "columns": [{"name": column.name, "alias": column.alias, "required": column.required,
                               "format": column.format, "example": column.example} for column in template.columns]}
                 for template in TEMPLATES.values()]
    return json_response(CsvTemplateListSchema().dump({"templates": templates, "max_rows": MAX_ROWS,
                                                       "max_bytes": MAX_BYTES}), cache="public, max-age=3600")


@blueprint.get("/csv-templates/<type_>.csv")
def download_template(type_: str) -> Any:
    """One CSV template.
    ---
    get:
      summary: Download the CSV template of one event type (UTF-8 with a byte-order mark, header and an example row)
      parameters:
        - {name: type_, in: path, required: true, schema: {type: string, maxLength: 40}}
      responses:
        200: {description: the template, content: {text/csv: {schema: {type: string}}}}
        404: {$ref: '#/components/responses/Error'}
        429: {$ref: '#/components/responses/Error'}
    """
    if type_ not in TEMPLATES:
        raise LedgerError(f"no CSV template for {type_!r}; templates exist for {', '.join(TEMPLATES)}",
                          code="not_found.csv_template")
    response = Response(template_csv(type_), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{type_}.csv"'
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@blueprint.post("/enterprises/<code>/imports")
def import_csv(code: str) -> Any:
    """Check and draft a CSV file.
    ---
    post:
      summary: Check a CSV file of one event type and draft its statements; nothing is written
      description: >
        For the enterprise (a request signed with one of its live keys, or its API token with ?key=) or a
        registrar (with ?key=). The body is the file itself (Content-Type text/csv, UTF-8 or GB18030, at most
        1,000 data rows and 2 MiB). The answer lists every bad row (row, column, reason, code), including the
        refusals the traceability rules would give, or, when there is none, the drafts: sign every one as it is
        and submit them together to POST /events/batch with mode atomic, so the file is appended whole or not
        at all.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: type, in: query, required: true, schema: {type: string},
           description: 'statement type, e.g. trace.ship'}
        - {name: key, in: query, required: false, schema: {type: string, pattern: '^[0-9a-f]{16}$'},
           description: 'the signing key id; default: the key that signed the request'}
      requestBody: {required: true, content: {text/csv: {schema: {type: string}}}}
      responses:
        200: {description: the report, content: {application/json: {schema: CsvImportReport}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        413: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = require_enterprise_or_role(code, ("registrar",), f"importing a CSV file for {code}")
    query = CsvImportQuerySchema().load(request.args.to_dict())
    if request.mimetype not in _CSV_TYPES:
        raise LedgerError(f"send the file as text/csv, not {request.mimetype or 'nothing'}",
                          code="request.content_type")
    key_id = query["key"] or (caller.key_id if caller.enterprise == code else None)
    if key_id is None:
        raise LedgerError("give ?key= (the id of the key that will sign) or sign the request with that key",
                          code="request.parameter")
    session = read_session()
    require_live_key(session, code, key_id)
    plan = parse_csv(raw_body(MAX_BATCH_BODY), query["type"])
    report = draft_import(session, plan, author=code, key=key_id, clock=app_context().clock)
    return json_response(CsvImportReportSchema().dump({
        "type": report.type, "rows": report.rows, "errors": [error.to_dict() for error in report.errors],
        "drafts": [draft.to_dict() for draft in report.drafts],
        "draft_rows": [list(rows) for rows in report.draft_rows],
        "totals": report.totals}),
        cache="private, no-store")
