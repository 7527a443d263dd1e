"""The workspace's CSV import page (``/workspace/import``): choose the event type, download its template, pick a
file, see every bad row or what will be signed, sign every statement on this device and submit them in one atomic
batch, so the file is recorded whole or not at all (docs/csv-import.md §5).

The page is a shell like the other workspace pages; ``static/workspace/import.js`` uploads the file with a request
signed by the device key and signs the drafts with ``core.js``. The template list and the page's words arrive in a
JSON block.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from flask_babel import gettext as _

from trace.csv_import import MAX_BYTES, MAX_ROWS, TEMPLATES

from .actions import unit_names
from .pages import workspace_page

blueprint = Blueprint("workspace_imports", __name__, url_prefix="/workspace")


def reason_words() -> dict[str, str]:
    """Each kind of bad cell or file (the report's ``code``) in plain words, in the page's language; the server's
    own reason (which names the cell's value) is shown below them."""
    return {
        "csv.cells": _("The row has more cells than the header has columns."),
        "csv.choice": _("This is not one of the allowed values."),
        "csv.column_missing": _("A required column is missing from the header row."),
        "csv.column_repeated": _("This column is given twice in the header row."),
        "csv.column_unknown": _("The template has no column of this name."),
        "csv.credit_code": _("This is not a valid unified social credit code (18 characters, the last one a check "
                             "character)."),
        "csv.date": _("This is not a date: write it as YYYY-MM-DD, for example 2026-11-21."),
        "csv.duplicate_row": _("The same as an earlier row: remove the duplicate."),
        "csv.empty": _("The file has no rows below the header row."),
        "csv.encoding": _("The file is not a CSV text file: save it as \"CSV UTF-8\"."),
        "csv.gln": _("This is not a valid GLN (13 digits, the last one a check digit)."),
        "csv.gtin": _("This is not a valid product barcode (GTIN): check the digits; the last one is a check digit."),
        "csv.header": _("The first row must name the columns: start from the template."),
        "csv.lot": _("This is not a valid lot number."),
        "csv.quantity": _("The quantity must be a number greater than zero, such as 500 or 12.5."),
        "csv.required": _("This cell is required but empty."),
        "csv.sha256": _("This is not the SHA-256 of a document (64 hexadecimal digits)."),
        "csv.text": _("This text is not in the expected form."),
        "csv.time": _("This is not a time: write it as 2026-11-21 06:30."),
        "csv.too_large": _("The file is too large: split it into smaller files."),
        "csv.too_many_rows": _("The file has too many rows: split it into smaller files."),
        "csv.transform": _("The rows of this transformation do not agree."),
        "csv.unit": _("This is not a unit code such as KGM (kilogram)."),
    }


def type_names() -> dict[str, tuple[str, str]]:
    """Each importable type's name and its plural noun for the summary, in the page's language."""
    return {
        "trace.product.define": (_("Products"), _("product definitions")),
        "trace.commission": (_("Lots produced or harvested"), _("new lots")),
        "trace.ship": (_("Shipments"), _("shipments")),
        "trace.receive": (_("Receipts"), _("receipts")),
        "trace.sell": (_("Sales"), _("sales")),
        "trace.inspect": (_("Inspection results"), _("inspection results")),
        "trace.destroy": (_("Destructions"), _("destructions")),
        "trace.transform": (_("Processing, splitting, repacking"), _("transformations")),
    }


@blueprint.get("/import")
def import_page() -> Any:
    names = type_names()
    data = {
        "types": [{"type": type_, "name": names[type_][0], "noun": names[type_][1],
                   "template": url_for("csv_import.download_template", type_=type_),
                   "columns": {column.name: column.alias for column in template.columns}}
                  for type_, template in TEMPLATES.items()],
        "units": unit_names(),
        "reasons": reason_words(),
        "maxBytes": MAX_BYTES,
        "messages": {
            "checking": _("Checking the file…"),
            "problems": _("{count} problem(s) found. Nothing was signed. Fix the file and choose it again."),
            "summary": _("{rows} rows: {count} {noun}"),
            "total": _("{quantity} {unit} in total"),
            "ready": _("Every row is correct. Signing puts all of them in the ledger together, or none."),
            "signing": _("Signing {count} statements on this phone…"),
            "sending": _("Sending…"),
            "done": _("Recorded: {count} statements, entries {first} to {last}."),
            "refused": _("Nothing was recorded: the server refused row {row}: {words}"),
            "offline": _("No connection. Nothing was sent; try again when online."),
            "failed": _("The server refused the file: {words}"),
            "no_device": _("This phone has no active key of an enterprise: enrol it first."),
            "too_large": _("The file is larger than {size} MB."),
            "whole_file": _("whole file"),
        },
    }
    return workspace_page("workspace/import.html", page="import", import_data=data, max_rows=MAX_ROWS,
                          max_megabytes=MAX_BYTES // (1024 * 1024))
