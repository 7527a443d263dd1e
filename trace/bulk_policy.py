"""The traceability policy for a batch whose statements are known before it is sequenced: the rules and the
writer of :class:`trace.policy.TracePolicy` (:func:`trace.rules.apply_event`, :func:`trace.store.write_changes`),
with the records loaded in bulk instead of one query per record.

:class:`trace.store.SessionSource` answers each record the rules ask for with one ``SELECT``, including the many
that cannot exist yet (the event, batch-event and flag rows of the entry being applied, the units of a lot created
in this batch): about ten queries per statement. :class:`BulkSource` reads, once per batch and under the
sequencing lock, every record keyed by the batches the statements link and the shipments they name, and answers
the records keyed by an index of this batch or by a batch that did not exist before it as absent without asking.
Everything else it passes to :class:`~trace.store.SessionSource`. The database does not change while the batch is
checked (the policy writes after the last check), so the answers are the ones ``SessionSource`` would give: the
derived state is the same, which ``python -m trace verify --database`` confirms by replaying the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ledger import Statement

from .book import Source
from .lots import unit_id_for
from .models import MODEL_OF
from .policy import TracePolicy
from .records import (
    BatchEventRecord,
    BatchRecord,
    ContentRecord,
    EdgeRecord,
    EventRecord,
    FlagRecord,
    HoldingRecord,
    Key,
    RecallRecord,
    Record,
    ShipmentRecord,
    UnitRecord,
    record_from_dict,
)
from .store import SessionSource

R = TypeVar("R", bound=Record)
_CHUNK = 500
#: Records listed by their first key field (a batch reference), read for every linked batch.
_BY_REF: tuple[type[Record], ...] = (HoldingRecord, RecallRecord, ContentRecord, EdgeRecord)


def _table(cls: type[Record]) -> Table:
    return cast(Table, MODEL_OF[cls].__table__)


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


class BulkSource:
    """A :class:`trace.book.Source` that read the batch's records up front (see the module docstring)."""

    def __init__(self, session: Session, refs: Collection[str], shipments: Collection[tuple[str, str]],
                 units: Collection[tuple[str, str]], first_index: int) -> None:
        self.inner = SessionSource(session)
        self.first_index = first_index
        self.refs = frozenset(refs)
        self.batches = {record.ref: record for record in self._rows(session, BatchRecord, "ref", self.refs)}
        self.new_refs = self.refs - self.batches.keys()
        known = self.refs - self.new_refs
        self.by_ref: dict[type[Record], dict[str, list[Record]]] = {}
        for cls in _BY_REF:
            grouped: dict[str, list[Record]] = {}
            for record in self._rows(session, cls, cls.KEY[0], known):
                grouped.setdefault(record.key[0], []).append(record)
            self.by_ref[cls] = grouped
        unit_table = _table(UnitRecord)
        self.serialised = {ref for chunk in _chunks(known) for ref in session.scalars(
            select(unit_table.c.ref).where(unit_table.c.ref.in_(chunk)).distinct())}
        self.shipment_keys = frozenset(shipments)
        self.shipments: dict[Key, ShipmentRecord] = {}
        table = _table(ShipmentRecord)
        shippers = {shipper for shipper, _ in self.shipment_keys}
        for chunk in _chunks({shipment_id for _, shipment_id in self.shipment_keys}):
            rows = session.execute(select(table).where(table.c.shipper.in_(sorted(shippers)),
                                                       table.c.shipment_id.in_(chunk))).mappings()
            for row in rows:
                record = record_from_dict(ShipmentRecord, dict(row))
                if record.key in self.shipment_keys:
                    self.shipments[record.key] = record
        wanted = {(ref, unit_id_for(ref[3:17], value)) for ref, value in units if ref in self.serialised}
        wanted.update((record.ref, unit_id) for record in self.shipments.values() if record.ref in self.serialised
                      for unit_id in json.loads(record.units))
        self.unit_keys = frozenset(wanted)
        self.units: dict[Key, UnitRecord] = {}
        table = unit_table
        unit_refs = sorted({ref for ref, _ in wanted})
        for chunk in _chunks({unit_id for _, unit_id in wanted}):
            for start in range(0, len(unit_refs), _CHUNK):
                rows = session.execute(select(table).where(table.c.ref.in_(unit_refs[start:start + _CHUNK]),
                                                           table.c.unit_id.in_(chunk))).mappings()
                for row in rows:
                    record = record_from_dict(UnitRecord, dict(row))
                    self.units[record.key] = record

    @staticmethod
    def _rows(session: Session, cls: type[R], column: str, values: Collection[str]) -> Iterable[R]:
        table = _table(cls)
        for chunk in _chunks(values):
            for row in session.execute(select(table).where(table.c[column].in_(chunk))).mappings():
                yield record_from_dict(cls, dict(row))

    def load(self, cls: type[R], key: Key) -> R | None:
        if cls is EventRecord or cls is FlagRecord:
            if key[0] >= self.first_index:
                return None
        elif cls is BatchEventRecord:
            if key[1] >= self.first_index:
                return None
        elif cls is BatchRecord:
            if key[0] in self.refs:
                return cast(R | None, self.batches.get(key[0]))
        elif cls is UnitRecord:
            if key[0] in self.new_refs or (key[0] in self.refs and key[0] not in self.serialised):
                return None
            if key in self.unit_keys:
                return cast(R | None, self.units.get(key))
        elif cls is ShipmentRecord:
            if key in self.shipment_keys:
                return cast(R | None, self.shipments.get(key))
        elif cls in self.by_ref and key[0] in self.refs:
            return next((cast(R, record) for record in self.by_ref[cls].get(key[0], ()) if record.key == key), None)
        return self.inner.load(cls, key)

    def load_prefix(self, cls: type[R], first: Any) -> list[R]:
        if first in self.refs:
            if cls in self.by_ref:
                return [cast(R, record) for record in self.by_ref[cls].get(first, ())]
            if cls is UnitRecord and first not in self.serialised:
                return []
        return self.inner.load_prefix(cls, first)

    def load_all(self, cls: type[R]) -> list[R]:
        return self.inner.load_all(cls)


class BulkTracePolicy(TracePolicy):
    """:class:`trace.policy.TracePolicy` for one known batch of statements, loading records through
    :class:`BulkSource`. One instance per append call, like ``TracePolicy``."""

    def __init__(self, items: Iterable[tuple[str, str, Collection[str], Any]]) -> None:
        """``items`` are each statement's type, author, linked references and body; bodies may be anything
        (a malformed one is refused later by the rules), so only well-formed members are used here."""
        refs: set[str] = set()
        shipments: set[tuple[str, str]] = set()
        units: set[tuple[str, str]] = set()
        for type_, author, links, body in items:
            refs.update(links)
            if not isinstance(body, dict):
                continue
            inputs = body.get("inputs")
            parts = [] if type_ == "trace.commission" else [body, *(inputs if isinstance(inputs, list) else [])]
            for item in parts:
                listed = item.get("units") if isinstance(item, dict) else None
                if isinstance(listed, list) and isinstance(item.get("batch"), str):
                    units.update((item["batch"], value) for value in listed if isinstance(value, str))
            named = body.get("shipment")
            if isinstance(named, dict) and isinstance(named.get("from"), str) and isinstance(named.get("id"), str):
                shipments.add((named["from"], named["id"]))
            if type_ == "trace.ship" and isinstance(body.get("shipment_id"), str):
                shipments.add((author, body["shipment_id"]))
        super().__init__()
        self._refs, self._shipments, self._units = refs, shipments, units

    @classmethod
    def for_statements(cls, statements: Iterable[Statement]) -> BulkTracePolicy:
        """The policy for statements parsed by the ledger (the API's submissions)."""
        return cls((statement.type, statement.author, statement.links, statement.body) for statement in statements)

    @classmethod
    def for_envelopes(cls, envelopes: Iterable[dict[str, Any]]) -> BulkTracePolicy:
        """The policy for envelopes this process built itself (the synthetic generator)."""
        return cls((envelope["statement"]["type"], envelope["statement"]["author"],
                    envelope["statement"]["links"], envelope["statement"]["body"]) for envelope in envelopes)

    def _source(self, session: Session, first_index: int) -> Source:
        return BulkSource(session, self._refs, self._shipments, self._units, first_index)
