"""Ledger events as EPCIS 2.0 events: one entry, one batch's history, or a SimpleEventQuery over the ledger.

What the columns of ``trace_events`` and ``ledger_entries`` allow (statement type, entry index, record time, the
reader's own events) is filtered in SQL; the rest (event time, bizStep, disposition, EPCs, classes, business
location) on the exported events, reading on in chunks until a page is full or the ledger ends. Pages follow
entry order, so a page boundary (the last entry index read) stays valid while the ledger grows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger.models import Entry
from ledger.statements import parse_leaf

from .epcis import EXPORTED_TYPES, ExportEntry, export_event
from .models import Batch, BatchEvent, Enterprise, Event, Shipment

#: The statement types behind each EPCIS event type (the SQL pre-filter of ``eventType``; the exported event's
#: own ``type`` decides).
STATEMENT_TYPES: dict[str, tuple[str, ...]] = {
    "ObjectEvent": tuple(name for name in EXPORTED_TYPES
                         if name not in ("trace.transform", "trace.aggregate", "trace.disaggregate")),
    "AggregationEvent": ("trace.aggregate", "trace.disaggregate"),
    "TransformationEvent": ("trace.transform",),
    "AssociationEvent": (),
    "TransactionEvent": (),
}
_CBV_PREFIXES = ("urn:epcglobal:cbv:bizstep:", "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/BizStep-",
                 "https://ref.gs1.org/cbv/Disp-", "https://gs1.org/voc/BizStep-", "https://gs1.org/voc/Disp-")
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


@dataclass(frozen=True)
class EventQuery:
    """A SimpleEventQuery. Every set given must match (values within one set are alternatives); ``None`` means
    no condition. Times are timezone-aware; ``GE_`` bounds are inclusive, ``LT_`` exclusive. ``party`` limits the
    answer to events that credit code authored or that name it as a shipment's receiver or sender."""

    event_types: frozenset[str] | None = None
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    ge_record_time: datetime | None = None
    lt_record_time: datetime | None = None
    biz_steps: frozenset[str] | None = None
    dispositions: frozenset[str] | None = None
    epcs: frozenset[str] | None = None
    epc_classes: frozenset[str] | None = None
    any_epcs: frozenset[str] | None = None
    any_epc_classes: frozenset[str] | None = None
    biz_locations: frozenset[str] | None = None
    party: str | None = None


@dataclass(frozen=True)
class EventPage:
    """Up to a page of ``(entry index, EPCIS event)`` in entry order; ``last_index`` is the last entry read when
    more may follow (the next page starts after it), None at the end of the ledger."""

    events: list[tuple[int, dict[str, Any]]]
    last_index: int | None


class EventExporter:
    """Builds the EPCIS event of a ledger entry, caching the master data and batch units it looks up (one per
    request: the cache never outlives the session's snapshot)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._names: dict[str, dict[str, Any] | None] = {}
        self._units: dict[str, str | None] = {}

    def names(self, credit_code: str) -> dict[str, Any] | None:
        """The enterprise's registered master data (credit code, name, locations), or None."""
        if credit_code not in self._names:
            row = self.session.get(Enterprise, credit_code)
            self._names[credit_code] = None if row is None else {
                "credit_code": row.credit_code, "name": row.name, "locations": json.loads(row.locations)}
        return self._names[credit_code]

    def export(self, index: int, leaf: bytes, refs: Iterable[str]) -> dict[str, Any]:
        """The EPCIS event of entry ``index`` (its leaf bytes and the batch references its event row names).
        Raises :class:`trace.epcis.EpcisError` for a statement type without an EPCIS counterpart."""
        statement = parse_leaf(leaf).statement
        shipment_batch = None
        if statement.type == "trace.receive":
            shipment = statement.body.get("shipment") or {}
            row = self.session.get(Shipment, (shipment.get("from"), shipment.get("id")))
            shipment_batch = row.ref if row is not None else None
        named = {*refs, *statement.links, *([shipment_batch] if shipment_batch else [])}
        measures = {ref: unit for ref in sorted(named) if (unit := self._unit(ref)) is not None}
        entry = ExportEntry(index=index, type=statement.type, author=statement.author, time=statement.time,
                            body=statement.body, links=statement.links, statement_hash=statement.hash_hex,
                            measures=measures, shipment_batch=shipment_batch)
        return export_event(entry, self.names)

    def _unit(self, ref: str) -> str | None:
        if ref not in self._units:
            row = self.session.get(Batch, ref)
            self._units[ref] = row.unit if row is not None else None
        return self._units[ref]


def batch_events(session: Session, ref: str) -> list[tuple[int, dict[str, Any]]]:
    """Every exportable event on batch ``ref`` in entry order, as ``(entry index, EPCIS event)``. The caller
    checks the batch exists (:func:`trace.queries.batch_entries`)."""
    query = (select(Event.entry_index, Event.refs, Entry.leaf)
             .join(BatchEvent, BatchEvent.entry_index == Event.entry_index)
             .join(Entry, Entry.index == Event.entry_index)
             .where(BatchEvent.ref == ref, Event.type.in_(EXPORTED_TYPES)).order_by(Event.entry_index))
    exporter = EventExporter(session)
    return [(index, exporter.export(index, leaf, json.loads(refs))) for index, refs, leaf in session.execute(query)]


def query_events(session: Session, query: EventQuery, *, after: int | None, limit: int,
                 chunk: int = 500) -> EventPage:
    """The first ``limit`` events after entry ``after`` that match ``query``, in entry order. Reads the ledger in
    chunks of ``chunk`` rows until the page is full or the ledger ends."""
    types: Sequence[str] = EXPORTED_TYPES
    if query.event_types is not None:
        types = sorted({name for event_type in query.event_types for name in STATEMENT_TYPES.get(event_type, ())})
    statement = (select(Event.entry_index, Event.refs, Entry.leaf)
                 .join(Entry, Entry.index == Event.entry_index).where(Event.type.in_(types)))
    if query.ge_record_time is not None:
        statement = statement.where(Entry.received_at >= query.ge_record_time)
    if query.lt_record_time is not None:
        statement = statement.where(Entry.received_at < query.lt_record_time)
    if query.party is not None:
        statement = statement.where(or_(Event.actor == query.party, Event.type.in_(("trace.ship", "trace.receive"))))
    exporter = EventExporter(session)
    found: list[tuple[int, dict[str, Any]]] = []
    cursor = -1 if after is None else after
    while True:
        rows = session.execute(statement.where(Event.entry_index > cursor).order_by(Event.entry_index)
                               .limit(chunk)).all()
        for index, refs, leaf in rows:
            cursor = index
            if query.party is not None and not _concerns(leaf, query.party):
                continue
            event = exporter.export(index, leaf, json.loads(refs))
            if _matches(event, query):
                found.append((index, event))
                if len(found) == limit:
                    return EventPage(found, index)
        if len(rows) < chunk:
            return EventPage(found, None)


def _concerns(leaf: bytes, party: str) -> bool:
    """Whether the statement is ``party``'s own, or a shipment to it, or its receipt of a shipment from it."""
    statement = parse_leaf(leaf).statement
    body = statement.body
    if statement.author == party:
        return True
    if statement.type == "trace.ship":
        return body.get("to") == party
    if statement.type == "trace.receive":
        return isinstance(body.get("shipment"), dict) and body["shipment"].get("from") == party
    return False


def cbv_term(value: str) -> str:
    """A CBV value in its bare form: ``urn:epcglobal:cbv:bizstep:shipping`` and
    ``https://ref.gs1.org/cbv/BizStep-shipping`` are both ``shipping``."""
    for prefix in _CBV_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def _matches(event: dict[str, Any], query: EventQuery) -> bool:
    checks: list[Callable[[], bool]] = [
        lambda: query.event_types is None or event.get("type") in query.event_types,
        lambda: _in_time(event, query),
        lambda: query.biz_steps is None or cbv_term(str(event.get("bizStep", ""))) in query.biz_steps,
        lambda: query.dispositions is None or cbv_term(str(event.get("disposition", ""))) in query.dispositions,
        lambda: query.epcs is None or _any_match(_epcs(event, _EPC_LISTS), query.epcs),
        lambda: query.epc_classes is None or _any_match(_classes(event), query.epc_classes),
        lambda: query.any_epcs is None or _any_match(
            [*_epcs(event, _EPC_LISTS), *([event["parentID"]] if "parentID" in event else [])], query.any_epcs),
        lambda: query.any_epc_classes is None or _any_match(_classes(event), query.any_epc_classes),
        lambda: query.biz_locations is None or (event.get("bizLocation") or {}).get("id") in query.biz_locations,
    ]
    return all(check() for check in checks)


def _in_time(event: dict[str, Any], query: EventQuery) -> bool:
    if query.ge_event_time is None and query.lt_event_time is None:
        return True
    moment = datetime.fromisoformat(str(event["eventTime"]))
    return (query.ge_event_time is None or moment >= query.ge_event_time) and \
        (query.lt_event_time is None or moment < query.lt_event_time)


def _epcs(event: dict[str, Any], names: Sequence[str]) -> list[str]:
    return [value for name in names for value in event.get(name) or [] if isinstance(value, str)]


def _classes(event: dict[str, Any]) -> list[str]:
    return [element["epcClass"] for name in _QUANTITY_LISTS for element in event.get(name) or []
            if isinstance(element, dict) and isinstance(element.get("epcClass"), str)]


def _any_match(values: Iterable[str], patterns: frozenset[str]) -> bool:
    """Whether a value equals a pattern, or starts with a pattern's text before its final ``*``."""
    prefixes = tuple(pattern[:-1] for pattern in patterns if pattern.endswith("*"))
    return any(value in patterns or (prefixes and value.startswith(prefixes)) for value in values)
