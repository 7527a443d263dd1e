"""The traceability spreadsheet: every commissioning, shipment, receipt, transformation (inputs and outputs), sale
and destruction of one product (GTIN) or one lot over a date range, one row per lot and event, with the key data
elements regulators ask for (FDA FSMA 204 style): what, when (with the UTC offset the enterprise recorded), which
ledger entry, GTIN, lot, product, quantity and UN/ECE unit, from and to whom, where (name, GLN, address), the
reference documents (certificate hashes, shipment id) and a link to the entry's proof bundle.

Rows are read from the state tables (events with their JSON summaries, batches, products, enterprises); a pallet
(SSCC) shipped or received counts for each lot of the scope packed on it, with the quantity packed. The date range
applies to the event's own time, as a date in China time (UTC+8). :mod:`trace.spreadsheet_files` writes the rows
as XLSX or CSV.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import LedgerError

from . import codes
from .context import MARKET_TIME, lot_ref
from .custody import COMMISSION, DESTROY, RECEIVE, SELL, SHIP
from .models import Batch, BatchEvent, Edge, Enterprise, Event, Product
from .processing import TRANSFORM
from .provenance import HOP_COLUMNS
from .queries import NotFound

#: The longest period one spreadsheet covers: a year, leap day included.
MAX_DAYS = 366
#: Rows above this are refused: an XLSX sheet holds 1,048,576 rows.
MAX_ROWS = 1_000_000
EVENT_TYPES = (COMMISSION, SHIP, RECEIVE, TRANSFORM, SELL, DESTROY)
#: The row kinds, in the order a lot lives through them.
KINDS = ("commission", "ship", "receive", "transform_input", "transform_output", "sell", "destroy")

#: Codes and words the rows spell out, in Chinese and English.
_WORDS: dict[str, tuple[str, str]] = {
    "harvest": ("采收", "harvest"), "slaughter": ("屠宰", "slaughter"), "produce": ("生产", "production"),
    "pack": ("包装", "packing"), "process": ("加工", "processing"), "split": ("拆分", "split"),
    "merge": ("合并", "merge"), "repack": ("分装", "repacking"),
    "compliance_promise": ("承诺达标合格证", "compliance promise certificate"),
    "quarantine": ("检疫证明", "quarantine certificate"), "inspection_report": ("检验报告", "inspection report"),
    "origin": ("产地证明", "certificate of origin"), "organic": ("有机认证", "organic certificate"),
    "gi": ("地理标志证明", "geographical indication certificate"),
    "drug_release": ("药品放行证明", "drug release certificate"), "other": ("其他证明", "other certificate"),
    "shipment": ("发货单", "shipment"), "shipped": ("发货数量", "shipped"), "carrier": ("承运方", "carrier"),
    "sold_twice": ("重复销售的单品", "sold twice"),
}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class SpreadsheetError(LedgerError):
    """The request for a spreadsheet is not one that can be answered; the message says what to change."""

    code = "spreadsheet.invalid"


@dataclass(frozen=True)
class Scope:
    """What the spreadsheet covers: every lot of product ``gtin``, or the one lot ``ref``."""

    gtin: str
    ref: str | None = None

    @property
    def lot(self) -> str | None:
        return None if self.ref is None else unquote(self.ref.rsplit("/", 1)[1])

    @property
    def slug(self) -> str:
        """A file-name-safe name of the scope."""
        lot = re.sub(r"[^A-Za-z0-9._-]", "_", self.lot) if self.lot is not None else None
        return self.gtin if lot is None else f"{self.gtin}-{lot}"


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in China time."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Row:
    """One event as it concerns one lot of the scope. ``time`` keeps the offset the enterprise recorded."""

    kind: str
    time: datetime
    entry_index: int
    gtin: str
    lot: str
    product: str
    quantity: Decimal
    unit: str
    from_name: str
    from_code: str
    to_name: str
    to_code: str
    location_name: str
    location_gln: str
    location_address: str
    related: str
    documents: str
    note: str
    corrected_by: int | None
    link: str


# --- reading the request --------------------------------------------------------------------------------------

def parse_period(start: str, end: str) -> Period:
    """``start`` and ``end`` as ``YYYY-MM-DD``; raises :class:`SpreadsheetError` (``spreadsheet.date``) for a bad
    date and (``spreadsheet.range``) when ``start`` is after ``end`` or the period is longer than
    :data:`MAX_DAYS` days."""
    days = []
    for name, text in (("from", start), ("to", end)):
        try:
            if not _DATE.fullmatch(text.strip()):
                raise ValueError
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise SpreadsheetError(f"the {name} date must be a date YYYY-MM-DD, found {text.strip()[:20]!r}",
                                   code="spreadsheet.date") from None
    first, last = days
    if first > last:
        raise SpreadsheetError(f"the from date {first} is after the to date {last}", code="spreadsheet.range")
    length = (last - first).days + 1
    if length > MAX_DAYS:
        raise SpreadsheetError(f"the period is {length} days; one spreadsheet covers at most {MAX_DAYS} days",
                               code="spreadsheet.range")
    return Period(first, last)


def read_code(text: str) -> tuple[str, str | None]:
    """A product code as ``(GTIN-14, lot or None)``, read as the public pages read it (:func:`trace.codes.read_code`:
    a GTIN and lot separated by a space, ``/`` or ``,``, a GS1 element string, a GS1 Digital Link URI or path), and
    also a GTIN alone, which names the product. Check digits are verified; a serial is ignored. Raises
    :class:`SpreadsheetError` (``spreadsheet.code``), also for an SSCC or a drug code, which name no product."""
    if not text.strip():
        raise SpreadsheetError("give a GTIN, or a GTIN and lot, or a GS1 code", code="spreadsheet.code")
    try:
        code = codes.read_code(text)
    except codes.CodeError as exc:
        if exc.reason == "gtin_only":
            return str(exc.params["gtin"]).zfill(14), None
        raise SpreadsheetError(exc.message, code="spreadsheet.code") from None
    if code.gtin is None:
        raise SpreadsheetError(f"{code.display} does not name a product (GTIN, AI 01)", code="spreadsheet.code")
    return code.gtin, code.lot


def product_scope(session: Session, text: str) -> Scope:
    """Every lot of the product ``text`` names (a lot in it is ignored). Raises :class:`SpreadsheetError` for a
    malformed code and :class:`NotFound` (``not_found.product``) for a product nobody defined."""
    gtin, _ = read_code(text)
    if session.get(Product, gtin) is None:
        raise NotFound(f"product {gtin} is not defined in the ledger", code="not_found.product")
    return Scope(gtin)


def batch_scope(session: Session, text: str) -> Scope:
    """The lot ``text`` names (GTIN and lot). Raises :class:`SpreadsheetError` for a malformed code or one
    without a lot, and :class:`NotFound` (``not_found.batch``) for a lot that is not in the ledger."""
    gtin, lot = read_code(text)
    if lot is None:
        raise SpreadsheetError(f"{gtin} is a product; a batch needs its lot too, for example {gtin}/LOT1 or "
                               f"(01){gtin}(10)LOT1", code="spreadsheet.code")
    ref = lot_ref(gtin, lot)
    if session.get(Batch, ref) is None:
        raise NotFound(f"lot {lot} of product {gtin} is not in the ledger", code="not_found.batch")
    return Scope(gtin, ref)


def product_label(session: Session, gtin: str, *, english: bool = False) -> str:
    """The product's description as the rows give it (name · specification), ``""`` if it is not defined."""
    return _products(session, {gtin}, english).get(gtin, "")


# --- building the rows ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Lot:
    gtin: str
    lot: str
    unit: str
    certificates: str


@dataclass(frozen=True, slots=True)
class _Party:
    name: str
    locations: dict[str, dict[str, str]]
    first: dict[str, str]


def build_rows(session: Session, scope: Scope, period: Period, *, entry_url: str,
               english: bool = False) -> list[Row]:
    """The rows of ``scope`` over ``period``, sorted by time, entry and lot. ``entry_url`` is a format string with
    ``{index}`` (the entry's proof bundle); ``english`` picks enterprises' and products' English names where they
    have one. Raises :class:`SpreadsheetError` (``spreadsheet.too_large``) beyond :data:`MAX_ROWS` rows."""
    lots = _lots(session, scope)
    # Times are compared as text only to narrow the query: an offset moves a local date by at most a day.
    low = (period.start - timedelta(days=1)).isoformat()
    high = (period.end + timedelta(days=2)).isoformat()
    in_scope = select(Batch.ref).where(Batch.gtin == scope.gtin) if scope.ref is None else \
        select(Batch.ref).where(Batch.ref == scope.ref)
    events = list(session.execute(
        select(*HOP_COLUMNS)
        .where(Event.entry_index.in_(select(BatchEvent.entry_index).where(BatchEvent.ref.in_(in_scope))),
               Event.type.in_(EVENT_TYPES), Event.time >= low, Event.time < high)))
    pallets: dict[str, list[tuple[str, str]]] = {}
    for packed, container, amount in session.execute(
            select(Edge.parent, Edge.child, Edge.quantity).where(Edge.kind == "aggregate", Edge.parent.in_(in_scope))):
        pallets.setdefault(container, []).append((packed, amount or "0"))
    if pallets:
        events += session.execute(
            select(*HOP_COLUMNS)
            .where(Event.entry_index.in_(select(BatchEvent.entry_index).where(BatchEvent.ref.in_(sorted(pallets)))),
                   Event.type.in_((SHIP, RECEIVE)), Event.time >= low, Event.time < high)).all()
    chosen = []
    for event in events:
        moment = datetime.fromisoformat(event.time)
        if period.start <= moment.astimezone(MARKET_TIME).date() <= period.end:
            chosen.append((moment, event))
    summaries = [(moment, event, json.loads(event.summary)) for moment, event in chosen]
    parties = _parties(session, _codes(summaries), english)
    products = _products(session, {item.gtin for item in lots.values()}, english)
    rows: list[Row] = []
    for moment, event, summary in summaries:
        for kind, ref, quantity, unit, related, pallet in _subjects(event.type, summary, lots, pallets):
            lot = lots[ref]
            rows.append(_row(kind, moment, event, summary, lot, products.get(lot.gtin, ""), quantity,
                             unit or lot.unit, related, pallet, parties, entry_url, english))
            if len(rows) > MAX_ROWS:
                raise SpreadsheetError(f"more than {MAX_ROWS:,} rows: choose a shorter period or one batch",
                                       code="spreadsheet.too_large")
    rows.sort(key=lambda row: (row.time.timestamp(), row.entry_index, KINDS.index(row.kind), row.lot))
    return rows


def _lots(session: Session, scope: Scope) -> dict[str, _Lot]:
    query = select(Batch.ref, Batch.gtin, Batch.lot, Batch.unit, Batch.certificates).where(Batch.kind == "lot")
    query = query.where(Batch.gtin == scope.gtin) if scope.ref is None else query.where(Batch.ref == scope.ref)
    return {ref: _Lot(gtin or "", lot or "", unit, certificates)
            for ref, gtin, lot, unit, certificates in session.execute(query)}


def _subjects(type_: str, summary: dict[str, Any], lots: dict[str, _Lot], pallets: dict[str, list[tuple[str, str]]]
              ) -> Iterable[tuple[str, str, str, str | None, str, str | None]]:
    """``(kind, lot ref, quantity, unit, related lots, pallet SSCC)`` for each lot of the scope the event moved."""
    if type_ == TRANSFORM:
        inputs, outputs = summary.get("inputs", []), summary.get("outputs", [])
        for side, items, others in (("transform_input", inputs, outputs), ("transform_output", outputs, inputs)):
            for item in items:
                if item["batch"] in lots:
                    yield side, item["batch"], item["quantity"], item.get("unit"), _refs(other["batch"]
                                                                                         for other in others), None
        return
    kind = type_.removeprefix("trace.")
    ref = summary.get("batch", "")
    if ref in lots:
        yield kind, ref, summary.get("quantity", "0"), summary.get("unit"), "", None
    elif ref in pallets and kind in ("ship", "receive"):
        received_nothing = kind == "receive" and summary.get("quantity") == "0"
        for lot_ref_, quantity in pallets[ref]:
            if lot_ref_ in lots:
                yield kind, lot_ref_, "0" if received_nothing else quantity, None, "", ref.removeprefix("00/")


def _row(kind: str, moment: datetime, event: Any, summary: dict[str, Any], lot: _Lot, product: str, quantity: str,
         unit: str, related: str, pallet: str | None, parties: dict[str, _Party], entry_url: str,
         english: bool) -> Row:
    word = _wording(english)
    actor = event.actor
    other = {"ship": summary.get("to"), "receive": summary.get("from")}.get(kind)
    sender, receiver = {"commission": ("", actor), "ship": (actor, other), "receive": (other, actor),
                        "transform_input": (actor, ""), "transform_output": ("", actor), "sell": (actor, ""),
                        "destroy": (actor, "")}[kind]
    place = _place(parties.get(actor), event.location)
    documents = []
    if kind in ("commission", "transform_output"):
        documents += [_certificate(item, word) for item in json.loads(lot.certificates)]
    if summary.get("shipment_id"):
        shipper = actor if kind == "ship" else summary.get("from", "")
        documents.append(f"{word('shipment')} {shipper}/{summary['shipment_id']}")
    if pallet is not None:
        documents.append(f"SSCC {pallet}")
    return Row(kind=kind, time=moment, entry_index=event.entry_index, gtin=lot.gtin, lot=lot.lot, product=product,
               quantity=Decimal(quantity), unit=unit,
               from_name=_name(parties, sender), from_code=sender or "", to_name=_name(parties, receiver),
               to_code=receiver or "", location_name=place.get("name", ""), location_gln=place.get("gln", ""),
               location_address=place.get("address", ""), related=related, documents="; ".join(documents),
               note=_note(kind, summary, parties, word), corrected_by=event.corrected_by,
               link=entry_url.format(index=event.entry_index))


def _note(kind: str, summary: dict[str, Any], parties: dict[str, _Party], word: Callable[[str], str]) -> str:
    if kind == "commission":
        return word(str(summary.get("activity", "")))
    if kind.startswith("transform"):
        return word(str(summary.get("kind", "")))
    if kind == "ship" and summary.get("carrier"):
        return f"{word('carrier')} {_name(parties, summary['carrier'])} ({summary['carrier']})"
    if kind == "receive":
        shipped = f"{word('shipped')} {summary['shipped']}" \
            if summary.get("shipped") not in (None, summary.get("quantity")) else ""
        return "; ".join(part for part in (shipped, summary.get("discrepancy") or "") if part)
    if kind == "sell" and summary.get("sold_twice"):
        return f"{word('sold_twice')}: {', '.join(summary['sold_twice'])}"
    if kind == "destroy":
        return str(summary.get("reason", ""))
    return ""


def _wording(english: bool) -> Callable[[str], str]:
    """Spells out a code in the sheet's language (an unknown code as it is)."""
    def word(code: str) -> str:
        pair = _WORDS.get(code)
        return code if pair is None else pair[1 if english else 0]
    return word


def _codes(summaries: list[tuple[datetime, Any, dict[str, Any]]]) -> set[str]:
    codes = set()
    for _, event, summary in summaries:
        codes.add(event.actor)
        codes.update(summary[name] for name in ("to", "from", "carrier") if isinstance(summary.get(name), str))
    return codes


def _parties(session: Session, codes: set[str], english: bool) -> dict[str, _Party]:
    wanted, parties = sorted(codes), {}
    for start in range(0, len(wanted), 500):
        for code, name, name_en, locations in session.execute(
                select(Enterprise.credit_code, Enterprise.name, Enterprise.name_en, Enterprise.locations)
                .where(Enterprise.credit_code.in_(wanted[start:start + 500]))):
            places = json.loads(locations)
            parties[code] = _Party((name_en or name) if english else name,
                                   {str(place["id"]): place for place in places}, places[0] if places else {})
    return parties


def _products(session: Session, gtins: set[str], english: bool) -> dict[str, str]:
    wanted, out = sorted(gtins), {}
    for start in range(0, len(wanted), 500):
        for gtin, name, name_en, spec in session.execute(
                select(Product.gtin, Product.name, Product.name_en, Product.spec)
                .where(Product.gtin.in_(wanted[start:start + 500]))):
            label = (name_en or name) if english else name
            out[gtin] = f"{label} · {spec}" if spec else label
    return out


def _place(party: _Party | None, location: str | None) -> dict[str, str]:
    """The event's registered location, else the enterprise's first (the event named none)."""
    if party is None:
        return {}
    return party.locations.get(location, party.first) if location is not None else party.first


def _name(parties: dict[str, _Party], code: str | None) -> str:
    if not code:
        return ""
    party = parties.get(code)
    return party.name if party is not None else code


def _certificate(item: dict[str, str], word: Callable[[str], str]) -> str:
    words = [word(item.get("kind", "other"))] + [item[name] for name in ("issuer", "number") if item.get(name)]
    return f"{' '.join(words)} sha256:{item.get('sha256', '')}"


def _refs(refs: Iterable[str]) -> str:
    """Lot references as GS1 element strings, ``(01)GTIN(10)LOT``, joined."""
    out = []
    for ref in refs:
        parts = ref.split("/")
        out.append(f"(01){parts[1]}(10){unquote(parts[3])}" if len(parts) == 4 and parts[0] == "01" else ref)
    return ", ".join(out)
