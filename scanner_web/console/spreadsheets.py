"""Console area: the traceability spreadsheet. An inspector or the registrar names a product (GTIN or any GS1
code) or one batch and a date range, sees how many rows there are and the first of them, and downloads the whole
sheet as XLSX or CSV (:mod:`trace.spreadsheet`, :mod:`trace.spreadsheet_files`).

Reading changes nothing, so the form is a GET and appends no statement; each download is logged with the officer.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, request
from flask_babel import gettext as _

from api.context import app_context, read_session
from ledger import LedgerError
from trace.context import MARKET_TIME
from trace.spreadsheet import (
    Period,
    Row,
    Scope,
    SpreadsheetError,
    batch_scope,
    build_rows,
    parse_period,
    product_label,
    product_scope,
)
from trace.spreadsheet_files import KIND_LABELS, write_csv, write_xlsx

from ..i18n import current_language
from .guard import current_officer, officer_required, page, private

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_spreadsheets", __name__, url_prefix="/console/spreadsheet")

PREVIEW_ROWS = 50
DEFAULT_DAYS = 30
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blueprint.get("/")
@officer_required("inspector", "registrar")
def index() -> Any:
    values = _values()
    if not values["code"]:
        return page("console/spreadsheets/index.html", values=values, kinds=_kinds(), error=None, rows=None)
    try:
        scope, period = _read(values)
        rows = _rows(scope, period)
    except LedgerError as error:
        return _refused(values, error)
    return page("console/spreadsheets/index.html", values=values, kinds=_kinds(), error=None,
                rows=rows[:PREVIEW_ROWS], count=len(rows), scope=scope, period=period,
                product=product_label(read_session(), scope.gtin, english=_english()), labels=_labels(),
                query=_query(values))


@blueprint.get("/export.<fmt>")
@officer_required("inspector", "registrar")
def export(fmt: str) -> Any:
    values = _values()
    if fmt not in ("xlsx", "csv"):
        return _refused(values, SpreadsheetError(f"no format {fmt[:10]!r}: choose xlsx or csv",
                                                 code="spreadsheet.format"))
    try:
        scope, period = _read(values)
        rows = _rows(scope, period)
    except LedgerError as error:
        return _refused(values, error)
    name = f"traceability-{scope.slug}-{period.start}-{period.end}.{fmt}"
    if fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(rows, buffer, scope=scope, period=period, english=_english(), generated=app_context().clock(),
                   product=product_label(read_session(), scope.gtin, english=_english()))
        data, mimetype = buffer.getvalue(), _XLSX
    else:
        text = io.StringIO(newline="")
        write_csv(rows, text, english=_english())
        data, mimetype = text.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    officer = current_officer()
    logger.info("traceability spreadsheet exported", extra={
        "account": officer.username if officer else None, "gtin": scope.gtin, "lot": scope.lot,
        "from": period.start.isoformat(), "to": period.end.isoformat(), "rows": len(rows), "format": fmt})
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return private(response)


def _values() -> dict[str, str]:
    today = app_context().clock().astimezone(MARKET_TIME).date()
    kind = request.args.get("kind", "product")
    return {"kind": kind if kind in ("product", "batch") else "product",
            "code": request.args.get("code", "").strip()[:512],
            "from": request.args.get("from", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()).strip()[:20],
            "to": request.args.get("to", today.isoformat()).strip()[:20]}


def _read(values: dict[str, str]) -> tuple[Scope, Period]:
    period = parse_period(values["from"], values["to"])
    session = read_session()
    scope = product_scope(session, values["code"]) if values["kind"] == "product" else \
        batch_scope(session, values["code"])
    return scope, period


def _rows(scope: Scope, period: Period) -> list[Row]:
    base = app_context().settings.public_base_url
    return build_rows(read_session(), scope, period, entry_url=f"{base}/api/v1/ledger/entries/{{index}}/bundle",
                      english=_english())


def _refused(values: dict[str, str], error: LedgerError) -> Response:
    headline = {
        "spreadsheet.code": _("The code is not a GTIN, a GTIN with its lot, or a GS1 code."),
        "spreadsheet.date": _("A date is not a date in the form YYYY-MM-DD."),
        "spreadsheet.range": _("The date range is not possible: the from date must not be after the to date, "
                               "and one spreadsheet covers at most 366 days."),
        "spreadsheet.too_large": _("The spreadsheet would be too large: choose a shorter period or one batch."),
        "spreadsheet.format": _("Choose XLSX or CSV."),
        "not_found.product": _("No product with this GTIN is defined in the ledger."),
        "not_found.batch": _("This batch is not in the ledger."),
    }.get(error.code, _("The spreadsheet could not be made."))
    status = 404 if error.code.startswith("not_found.") else 422
    return page("console/spreadsheets/index.html", status, values=values, kinds=_kinds(), rows=None,
                error={"headline": headline, "detail": error.message, "code": error.code})


def _kinds() -> dict[str, str]:
    return {"product": _("Product (every lot of a GTIN)"), "batch": _("One batch (GTIN and lot)")}


def _labels() -> dict[str, str]:
    return {kind: labels[1] if _english() else labels[0] for kind, labels in KIND_LABELS.items()}


def _english() -> bool:
    return current_language() == "en"


def _query(values: dict[str, str]) -> dict[str, str]:
    return {name: values[name] for name in ("kind", "code", "from", "to")}
