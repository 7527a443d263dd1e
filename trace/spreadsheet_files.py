"""Writing the traceability spreadsheet's rows (:mod:`trace.spreadsheet`) as files a regulator opens directly.

XLSX: the header row frozen, an autofilter over every column (so each sorts and filters), set widths, dates and
times as real spreadsheet date-times (in the offset the enterprise recorded, which has a column of its own),
quantities as numbers, the entry link clickable, and a second sheet saying what was asked and when. CSV: UTF-8
with a byte-order mark, so spreadsheet programs read the Chinese text correctly.

Text from statements (names, reasons, notes) is never read as a formula: XLSX cells are typed as text, and a CSV
cell starting with ``=``, ``+``, ``-``, ``@`` or a tab gets a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .spreadsheet import Period, Row, Scope


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    width: float


COLUMNS: tuple[Column, ...] = (
    Column("event", "事件", "Event", 16),
    Column("time", "日期时间", "Date and time", 20),
    Column("offset", "UTC偏移", "UTC offset", 10),
    Column("entry", "账本条目", "Ledger entry", 11),
    Column("gtin", "GTIN", "GTIN", 16),
    Column("lot", "批号", "Lot code", 14),
    Column("product", "产品描述", "Product description", 24),
    Column("quantity", "数量", "Quantity", 11),
    Column("unit", "单位(UN/ECE)", "Unit (UN/ECE)", 9),
    Column("from_name", "发出方", "From party", 24),
    Column("from_code", "发出方信用代码", "From credit code", 21),
    Column("to_name", "接收方", "To party", 24),
    Column("to_code", "接收方信用代码", "To credit code", 21),
    Column("location_name", "地点", "Location", 18),
    Column("location_gln", "地点GLN", "Location GLN", 15),
    Column("location_address", "地址", "Address", 28),
    Column("related", "关联批次", "Related lots", 30),
    Column("documents", "参考文件", "Reference documents", 40),
    Column("note", "备注", "Notes", 24),
    Column("corrected_by", "已被更正(条目)", "Corrected by entry", 12),
    Column("link", "条目链接", "Entry link", 48),
)

KIND_LABELS = {
    "commission": ("生产/采收", "Commissioning"),
    "ship": ("发货", "Shipping"),
    "receive": ("收货", "Receiving"),
    "transform_input": ("加工投入", "Transformation input"),
    "transform_output": ("加工产出", "Transformation output"),
    "sell": ("销售", "Sale"),
    "destroy": ("销毁", "Destruction"),
}
_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def headers(english: bool) -> list[str]:
    return [column.en if english else column.zh for column in COLUMNS]


def values(row: Row, english: bool) -> list[Any]:
    """The row's cells in column order: the time as a naive local date-time (its offset in the next column),
    the quantity as a number, ``None`` for an empty optional cell."""
    offset = row.time.strftime("%z")
    return [KIND_LABELS[row.kind][1 if english else 0], row.time.replace(tzinfo=None),
            f"UTC{offset[:3]}:{offset[3:]}" if offset else "", row.entry_index, row.gtin, row.lot, row.product,
            row.quantity, row.unit, row.from_name, row.from_code, row.to_name, row.to_code, row.location_name,
            row.location_gln, row.location_address, row.related, row.documents, row.note, row.corrected_by, row.link]


def write_xlsx(rows: Sequence[Row], out: IO[bytes], *, scope: Scope, period: Period, english: bool,
               generated: datetime, product: str = "") -> None:
    """Write ``rows`` as an XLSX workbook to ``out`` (streamed: memory stays flat for large sheets)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Traceability" if english else "追溯记录")
    for position, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = column.width
    sheet.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E8F3EC")
    header_cells = []
    for text in headers(english):
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, column.key, value) for column, value in zip(COLUMNS, values(row, english),
                                                                                       strict=True)])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    about = book.create_sheet("About" if english else "说明")
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 22, 70
    for label, value in _about(scope, period, english, generated, product, len(rows)):
        about.append([WriteOnlyCell(about, value=label), _text_cell(about, value)])
    book.save(out)


def write_csv(rows: Sequence[Row], out: IO[str], *, english: bool) -> None:
    """Write ``rows`` as CSV to a text stream; open it with ``encoding="utf-8-sig"`` (a byte-order mark) and
    ``newline=""``."""
    writer = csv.writer(out)
    writer.writerow(headers(english))
    for row in rows:
        writer.writerow([_csv_text(value) for value in values(row, english)])


def _xlsx_cell(sheet: Any, key: str, value: Any) -> Any:
    if key == "time":
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _TIME_FORMAT
        return cell
    if key == "link" and value:
        cell = _text_cell(sheet, value)
        cell.hyperlink = value
        return cell
    if isinstance(value, str) and value.startswith(("=", "#")):
        return _text_cell(sheet, value)  # else a formula or an error value ("#N/A"); other text is text already
    return value


def _text_cell(sheet: Any, value: str) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text


def _about(scope: Scope, period: Period, english: bool, generated: datetime, product: str,
           count: int) -> list[tuple[str, str]]:
    dates = ("each event's own time, in the UTC offset the enterprise recorded; the period is selected by the "
             "date in China time (UTC+8)") if english else \
        "各事件由企业记录的时间及其UTC偏移；按中国时间(UTC+8)的日期筛选"
    lines = [("产品(GTIN)", "Product (GTIN)", f"{scope.gtin} {product}".strip()),
             ("批号", "Lot", scope.lot or ("all lots" if english else "全部批次")),
             ("起始日期", "From", period.start.isoformat()), ("截止日期", "To", period.end.isoformat()),
             ("行数", "Rows", str(count)), ("生成时间", "Generated", generated.isoformat(timespec="seconds")),
             ("日期说明", "Dates", dates)]
    return [(en if english else zh, value) for zh, en, value in lines]
