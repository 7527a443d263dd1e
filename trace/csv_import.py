"""CSV bulk import for small enterprises: one template per event type, and a file read into statements to draft
with a report of every bad row (docs/csv-import.md).

A template is a header row of column names and one example row, UTF-8 with a byte-order mark so spreadsheet
programs open it as Unicode. Each column has an English name and a Chinese title accepted as an alias.
:func:`parse_csv` is pure: it checks the file's encoding, size, header and every cell, and turns each good row
into a :class:`trace.drafts.DraftRequest`; every bad cell becomes a :class:`RowError` naming its row (the row
number a spreadsheet shows: the header is row 1), column and reason. :func:`draft_import` then drafts the requests
in order with :func:`trace.drafts.prepare_drafts`, so refusals by the traceability rules (more than held, not the
holder) are reported with their rows too. Nothing is written: the signer signs the drafts and submits them in one
atomic batch, so a file is appended whole or not at all; that is why a file holds at most :data:`MAX_ROWS` rows,
the size of one atomic batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .csv_columns import TEMPLATES, CellError, Column, Group, Template, TemplateError
from .drafts import Draft, DraftRequest, prepare_drafts
from .models import Batch, Shipment
from .quantities import format_quantity

#: A file holds at most this many data rows: one atomic batch (``POST /api/v1/events/batch``) takes 1,000.
MAX_ROWS = 1000
#: A file is at most this many bytes.
MAX_BYTES = 2 * 1024 * 1024
BOM = "\ufeff"


@dataclass(frozen=True)
class RowError:
    """One problem of a file: ``row`` as a spreadsheet numbers it (the header is row 1; None for the whole
    file), ``column`` the template's column name (None for the whole row), ``reason`` in words, ``code`` stable
    (``csv.*``, or the traceability rule's code such as ``custody.over_quantity``)."""

    row: int | None
    column: str | None
    reason: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason, "code": self.code}


@dataclass
class ImportPlan:
    """What a file asks for: ``requests[i]`` comes from data rows ``request_rows[i]`` (several rows for a
    transformation); ``rows`` counts the data rows. With ``errors``, the requests are incomplete and must not be
    drafted."""

    type: str
    rows: int = 0
    requests: list[DraftRequest] = field(default_factory=list)
    request_rows: list[tuple[int, ...]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    """A drafted file: ``drafts`` (one per statement, in order, from the data rows ``draft_rows``) only when
    ``errors`` is empty; ``totals`` the quantities per UN/ECE unit code the statements move, as decimal strings."""

    type: str
    rows: int
    errors: list[RowError]
    drafts: list[Draft]
    draft_rows: list[tuple[int, ...]]
    totals: dict[str, str]


def template_csv(type_: str) -> bytes:
    """The template of ``type_``: a byte-order mark, the header and one example row, CRLF line ends (as
    spreadsheet programs write CSV). Raises :class:`TemplateError` (``csv.type``) for a type without one."""
    template = template_for(type_)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.name for column in template.columns])
    writer.writerow([column.example for column in template.columns])
    return (BOM + out.getvalue()).encode("utf-8")


def template_for(type_: str) -> Template:
    """The template of ``type_``; raises :class:`TemplateError` (``csv.type``) naming the types that have one."""
    template = TEMPLATES.get(type_)
    if template is None:
        raise TemplateError(f"no CSV template for {type_!r}; templates exist for {', '.join(TEMPLATES)}",
                            code="csv.type")
    return template


def parse_csv(data: bytes, type_: str) -> ImportPlan:
    """Read ``data`` (a CSV file of ``type_``'s template) into draft requests, reporting every bad row.

    Invariant: the plan has requests for every data row exactly when it has no errors. File-level problems
    (size, encoding, no rows, too many rows, header) stop the reading; otherwise every row is checked and every
    bad cell is reported. Raises :class:`TemplateError` only for a type without a template.
    """
    template = template_for(type_)
    plan = ImportPlan(type_)
    if len(data) > MAX_BYTES:
        plan.errors.append(RowError(None, None, f"the file has {len(data):,} bytes; at most {MAX_BYTES:,} "
                                    f"(2 MiB) are accepted: split it into smaller files", "csv.too_large"))
        return plan
    text = _decode(data, plan)
    if text is None:
        return plan
    records = [(number, record) for number, record in enumerate(csv.reader(io.StringIO(text)), start=1)]
    if not records or not any(cell.strip() for cell in records[0][1]):
        plan.errors.append(RowError(1, None, "the first row must name the columns (download the template)",
                                    "csv.header"))
        return plan
    columns = _read_header(template, records[0][1], plan)
    body_rows = [(number, record) for number, record in records[1:] if any(cell.strip() for cell in record)]
    plan.rows = len(body_rows)
    if columns is None:
        return plan
    if not body_rows:
        plan.errors.append(RowError(None, None, "the file has no data rows below the header", "csv.empty"))
    elif plan.rows > MAX_ROWS:
        plan.errors.append(RowError(None, None, f"the file has {plan.rows:,} data rows; at most {MAX_ROWS:,} "
                                    f"rows are imported together (one all-or-nothing batch): split it into files "
                                    f"of at most {MAX_ROWS:,} rows", "csv.too_many_rows"))
    if plan.errors:
        return plan
    seen: dict[tuple[str, ...], int] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    for number, record in body_rows:
        values = _read_row(number, record, columns, template, plan, seen)
        if values is not None:
            good.append((number, values))
    grouped: list[Group] = [((number,), values) for number, values in good]
    if template.group is not None:
        grouped, group_errors = template.group(good)
        plan.errors.extend(RowError(exc.row, exc.column, exc.reason, exc.code) for exc in group_errors)
    for numbers, values in grouped:
        try:
            body = template.build(values)
        except CellError as exc:
            plan.errors.append(RowError(exc.row or numbers[0], exc.column, exc.reason, exc.code))
            continue
        plan.requests.append(DraftRequest(type_, body, values.get("time")))
        plan.request_rows.append(numbers)
    plan.errors.sort(key=lambda error: (error.row or 0))
    return plan


def draft_import(session: Session, plan: ImportPlan, *, author: str, key: str,
                 clock: Callable[[], datetime]) -> ImportReport:
    """Draft a plan without errors in order for ``author``'s ``key`` (:func:`trace.drafts.prepare_drafts`);
    each refused draft becomes a :class:`RowError` on its first row. A plan with errors is reported as it is,
    without drafts. Writes nothing; raises what :func:`prepare_drafts` raises for an uninitialised ledger."""
    if plan.errors:
        return ImportReport(plan.type, plan.rows, list(plan.errors), [], [], {})
    drafts = prepare_drafts(session, author=author, key=key, requests=plan.requests, clock=clock)
    errors = [RowError(rows[0], None, draft.error.message, draft.error.code)
              for draft, rows in zip(drafts, plan.request_rows, strict=True) if draft.error is not None]
    if errors:
        return ImportReport(plan.type, plan.rows, errors, [], [], {})
    return ImportReport(plan.type, plan.rows, [], drafts, list(plan.request_rows), _totals(session, plan.requests))


def _decode(data: bytes, plan: ImportPlan) -> str | None:
    """UTF-8 (with or without a byte-order mark), else GB18030 (what Chinese Excel and WPS save as "CSV")."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        plan.errors.append(RowError(None, None, "the file is UTF-16 (Excel's \"Unicode text\"); save it as "
                                    "\"CSV UTF-8\" instead", "csv.encoding"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            plan.errors.append(RowError(None, None, f"the file is neither UTF-8 nor GB18030 (byte "
                                        f"{utf8_error.start} is 0x{data[utf8_error.start]:02X}): save it as "
                                        "\"CSV UTF-8\"", "csv.encoding"))
            return None
    if "\x00" in text:
        plan.errors.append(RowError(None, None, "the file holds NUL characters: it is not a text CSV file (save "
                                    "it as \"CSV UTF-8\")", "csv.encoding"))
        return None
    return text.removeprefix(BOM)


def _read_header(template: Template, header: list[str], plan: ImportPlan) -> list[Column | None] | None:
    """The template column of each header cell (None for an empty trailing cell); header errors go to row 1."""
    by_name = template.by_name()
    columns: list[Column | None] = []
    for position, cell in enumerate(header, start=1):
        name = cell.strip().removeprefix(BOM).strip()
        column = by_name.get(name.casefold())
        if column is None and name:
            plan.errors.append(RowError(1, name, f"unknown column {name!r} (column {position}); the "
                                        f"{template.type} template has: {template.names()}", "csv.column_unknown"))
        elif column is not None and column in columns:
            plan.errors.append(RowError(1, column.name, f"column {column.name} ({column.alias}) is given twice",
                                        "csv.column_repeated"))
        columns.append(column)
    for column in template.columns:
        if column.required and column not in columns:
            plan.errors.append(RowError(1, column.name, f"required column {column.name} ({column.alias}) is "
                                        "missing", "csv.column_missing"))
    return None if plan.errors else columns


def _read_row(number: int, record: list[str], columns: list[Column | None], template: Template, plan: ImportPlan,
              seen: dict[tuple[str, ...], int]) -> dict[str, Any] | None:
    """The row's checked values by column name, or None after reporting every bad cell of the row."""
    errors_before = len(plan.errors)
    extra = [cell for cell in record[len(columns):] if cell.strip()]
    if extra:
        plan.errors.append(RowError(number, None, f"{len(record)} cells, but the header names {len(columns)} "
                                    "columns", "csv.cells"))
        return None
    cells = {column.name: cell.strip() for column, cell in zip(columns, record, strict=False) if column}
    key = tuple(cells.get(column.name, "") for column in template.columns)
    if key in seen:
        plan.errors.append(RowError(number, None, f"the same as row {seen[key]}: remove the duplicate row",
                                    "csv.duplicate_row"))
        return None
    seen[key] = number
    values: dict[str, Any] = {}
    for column in template.columns:
        cell = cells.get(column.name, "")
        if not cell:
            if column.required:
                plan.errors.append(RowError(number, column.name, f"{column.name} ({column.alias}) is empty; "
                                            "it is required", "csv.required"))
            continue
        try:
            values[column.name] = column.read(cell)
        except CellError as exc:
            plan.errors.append(RowError(number, column.name, exc.reason, exc.code))
    return None if len(plan.errors) > errors_before else values


def _totals(session: Session, requests: list[DraftRequest]) -> dict[str, str]:
    """The quantities the statements move, per unit: from the row for new lots, else from the batch or the
    shipment the statement names."""
    refs = {request.body["batch"] for request in requests if "batch" in request.body}
    inputs = {item["batch"] for request in requests for item in request.body.get("inputs", ())}
    units = {row.ref: row.unit for row in session.execute(select(Batch.ref, Batch.unit).where(
        Batch.ref.in_(refs | inputs)))}
    shipments = {(request.body["shipment"]["from"], request.body["shipment"]["id"])
                 for request in requests if "shipment" in request.body}
    shipment_units = {(row.shipper, row.shipment_id): row.unit for row in session.execute(
        select(Shipment.shipper, Shipment.shipment_id, Shipment.unit).where(
            Shipment.shipper.in_({shipper for shipper, _ in shipments})))}
    totals: dict[str, Decimal] = {}

    def add(unit: str | None, quantity: str) -> None:
        if unit is not None:
            totals[unit] = totals.get(unit, Decimal(0)) + Decimal(quantity)

    for request in requests:
        body = request.body
        if "outputs" in body:
            for output in body["outputs"]:
                add(output["unit"], output["quantity"])
        elif "unit" in body and "quantity" in body:
            add(body["unit"], body["quantity"])
        elif "shipment" in body:
            add(shipment_units.get((body["shipment"]["from"], body["shipment"]["id"])), body["quantity"])
        elif "batch" in body and "quantity" in body:
            add(units.get(body["batch"]), body["quantity"])
    return {unit: format_quantity(total) for unit, total in sorted(totals.items())}


__all__ = ["BOM", "MAX_BYTES", "MAX_ROWS", "TEMPLATES", "ImportPlan", "ImportReport", "RowError", "Template",
           "TemplateError", "draft_import", "parse_csv", "template_csv", "template_for"]
