"""CSV import: the templates' description and the report of an uploaded file."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.csv_import import TEMPLATES

from .drafts import DraftSchema


class CsvImportQuerySchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(list(TEMPLATES)),
                         metadata={"description": "the statement type every row records"})
    key = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{16}$"), metadata={
        "description": "id of the live key that will sign; default: the key that signed this request"})


class CsvColumnSchema(Schema):
    name = fields.String(required=True, metadata={"description": "the column name the header writes"})
    alias = fields.String(required=True, metadata={"description": "the Chinese title, accepted instead"})
    required = fields.Boolean(required=True)
    format = fields.String(required=True, metadata={"description": "the cell's form, in words"})
    example = fields.String(required=True, metadata={"description": "the template's example cell"})


class CsvTemplateSchema(Schema):
    type = fields.String(required=True, metadata={"description": "statement type, e.g. trace.ship"})
    title = fields.String(required=True)
    title_zh = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "where to download the template"})
    columns = fields.List(fields.Nested(CsvColumnSchema), required=True)


class CsvTemplateListSchema(Schema):
    templates = fields.List(fields.Nested(CsvTemplateSchema), required=True)
    max_rows = fields.Integer(required=True, metadata={"description": "data rows a file may hold"})
    max_bytes = fields.Integer(required=True, metadata={"description": "bytes a file may hold"})


class CsvRowErrorSchema(Schema):
    row = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the row as a spreadsheet numbers it (the header is row 1); null for the whole file"})
    column = fields.String(allow_none=True, required=True, metadata={
        "description": "the template column name; null for the whole row or file"})
    reason = fields.String(required=True)
    code = fields.String(required=True, metadata={
        "description": "csv.* for the file's form, or the traceability rule's code (custody.over_quantity …)"})


class CsvImportReportSchema(Schema):
    type = fields.String(required=True)
    rows = fields.Integer(required=True, metadata={"description": "data rows in the file"})
    errors = fields.List(fields.Nested(CsvRowErrorSchema), required=True, metadata={
        "description": "every problem found, by row; when not empty, drafts is empty and nothing may be signed"})
    drafts = fields.List(fields.Nested(DraftSchema), required=True, metadata={
        "description": "the statements to sign, in order, when there are no errors: sign every one and submit "
                       "them together to POST /events/batch with mode atomic"})
    draft_rows = fields.List(fields.List(fields.Integer()), required=True, metadata={
        "description": "the data rows each draft comes from (several for a transformation), in the drafts' order"})
    totals = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "quantity moved per UN/ECE unit code, as decimal strings, e.g. {\"KGM\": \"3400\"}"})
