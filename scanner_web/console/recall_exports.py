"""A recall's scope as files: CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese text) and XLSX (the
header row frozen, an autofilter over every column, widths fitted to the contents, quantities as numbers), with
headers in the page's language.

One row per batch and party (:class:`trace.recall_scope.Position`); the XLSX adds a sheet with one row per party:
its notice, acknowledgement and what it still holds, has on its way, returned and destroyed since the recall.
Text from statements is never read as a formula: XLSX cells are typed as text, and a CSV cell starting with ``=``,
``+``, ``-``, ``@`` or a tab gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from trace.context import MARKET_TIME
from trace.quantities import format_quantity
from trace.recall_scope import QUANTITIES, RecallScope, format_totals

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 60


def quantity_columns() -> list[tuple[str, str]]:
    """The quantity columns of a position, with their headings in the request's language."""
    names = {"made": _("Made"), "received": _("Received"), "shipped": _("Shipped"),
             "returned": _("Returned since the recall"), "used": _("Used or packed"), "sold": _("Sold"),
             "destroyed": _("Destroyed"), "held": _("Held now"), "in_transit": _("In transit to them")}
    return [(name, names[name]) for name in QUANTITIES]


def party_totals(scope: RecallScope, party: str, name: str) -> str:
    """What ``party`` has of quantity ``name`` over the scope, by unit: ``"12.5 KGM, 3 EA"``."""
    return format_totals(scope.parties[party].totals(scope.positions_of(party), name))


def relation_label(relation: str) -> str:
    return {"maker": _("Maker of the recalled batch"), "processor": _("Made goods from it"),
            "holder": _("Holds goods"), "former": _("Held goods earlier")}.get(relation, relation)


def export(scope: RecallScope, fmt: str, *, generated: datetime) -> tuple[bytes, str]:
    """The scope as ``fmt`` (``csv`` or ``xlsx``): the file's bytes and its media type."""
    if fmt == "csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(_scope_headers())
        for row in _scope_rows(scope):
            writer.writerow([_csv_text(value) for value in row])
        return text.getvalue().encode("utf-8-sig"), CSV_TYPE
    book = Workbook()
    sheet = book.active
    sheet.title = _("Scope")
    _fill(sheet, _scope_headers(), _scope_rows(scope))
    _fill(book.create_sheet(_("Holders")), _party_headers(), _party_rows(scope))
    about = book.create_sheet(_("About"))
    recall = scope.recall
    for label, value in ((_("Recalled batch"), scope.source),
                         (_("Ledger entry of the recall"), str(recall.index) if recall else ""),
                         (_("Reason"), recall.reason if recall else ""),
                         (_("Status"), (_("Closed") if recall.closed else _("Open")) if recall else ""),
                         (_("Generated"), generated.astimezone(MARKET_TIME).strftime("%Y-%m-%d %H:%M:%S %z"))):
        about.append([_text(label), _text(value)])
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 24, 70
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), XLSX_TYPE


def _scope_headers() -> list[str]:
    return [_("Batch"), _("Product"), _("GTIN"), _("Lot"), _("SSCC"), _("Made from"), _("Maker (credit code)"),
            _("Party credit code"), _("Party"), _("Role in the recall"), _("Acknowledged (entry)"), _("Unit"),
            *[label for _name, label in quantity_columns()]]


def _scope_rows(scope: RecallScope) -> list[list[Any]]:
    rows = []
    for position in scope.positions:
        batch, party = scope.batches[position.ref], scope.parties[position.party]
        rows.append([batch.ref, batch.product or "", batch.gtin or "", batch.lot or "", batch.sscc or "",
                     " ".join(batch.parents), batch.creator, party.code, party.name, relation_label(party.relation),
                     party.acknowledged[0] if party.acknowledged else None, position.unit,
                     *[position.quantity(name) for name in QUANTITIES]])
    return rows


def _party_headers() -> list[str]:
    return [_("Party credit code"), _("Party"), _("Role in the recall"), _("Acknowledged (entry)"),
            _("Acknowledged at"), _("Held now"), _("In transit to them"), _("Returned since the recall"),
            _("Destroyed since the recall")]


def _party_rows(scope: RecallScope) -> list[list[Any]]:
    rows = []
    for code, party in sorted(scope.parties.items()):
        acknowledged = party.acknowledged
        rows.append([code, party.name, relation_label(party.relation), acknowledged[0] if acknowledged else None,
                     _local(acknowledged[1]) if acknowledged else None,
                     *[party_totals(scope, code, name) for name in ("held", "in_transit", "returned",
                                                                    "destroyed_since")]])
    return rows


def _fill(sheet: Any, headers: list[str], rows: list[list[Any]]) -> None:
    """Headers in bold on a frozen first row, the rows below, an autofilter over all, widths to fit."""
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E8F3EC")
    sheet.append([_text(header) for header in headers])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
    widths = [_width(header) for header in headers]
    for row in rows:
        sheet.append([_cell(value) for value in row])
        widths = [max(width, _width(value)) for width, value in zip(widths, row, strict=True)]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(width + 2, _MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> Any:
    cell = Cell(None, value=value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _width(value: Any) -> int:
    """Display width: East Asian wide characters take two columns."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _local(moment: datetime) -> datetime:
    """A naive China-time date-time: spreadsheets have no time zones."""
    return moment.astimezone(MARKET_TIME).replace(tzinfo=None)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_quantity(value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text
