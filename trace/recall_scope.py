"""The downstream scope of a recall: every batch it reaches, every party that holds or held any of it, and per batch
and party what was made, received, shipped, returned, used, sold and destroyed, what is still held and what is on
its way.

The batches come from one set-based step into a temporary table: for a recall in force, the batches carrying its
mark (``trace_recalls``, put by :func:`trace.quality.recall` on the recalled batch, everything made from it and the
logistic units it travels in); for a preview before a recall, one recursive query along provenance edges and into
the goods a logistic unit holds (the walk the recall itself will make). The quantities then come from one query
per table joined against that set (batches, edges, shipments, holdings, events, enterprises): a fixed handful of
round trips however many batches the recall reaches. ``bench/`` figures are quoted in ``docs/console-recalls.md``.

The parties are the ones :mod:`trace.recall_tracking` derives from the book (makers, shippers, receivers,
holders), so the console shows the same open items the rules check when a recall is closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CTE, Column, Connection, MetaData, String, Table, delete, insert, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import true

from ledger.models import Entry

from .custody import DESTROY, SELL
from .models import Batch, BatchEvent, Content, Edge, Enterprise, Event, Holding, Product, Recall, Shipment
from .processing import DISAGGREGATE
from .quality import RECALL
from .quantities import ZERO, format_quantity
from .queries import NotFound
from .recall_tracking import ACKNOWLEDGE, CLOSE

#: How a party stands in a recall: it made the recalled batch, made something from it, holds some (or has some
#: on its way to it), or held some and passed all of it on (goods merely packed with recalled ones count as held).
RELATIONS = ("maker", "processor", "holder", "former")
#: The per-position quantities, in the order the pages and exports show them.
QUANTITIES = ("made", "received", "shipped", "returned", "used", "sold", "destroyed", "held", "in_transit")

#: The batches of the scope being measured; temporary, so private to the connection and never part of the schema.
_SCOPE = Table("trace_recall_scope", MetaData(), Column("ref", String(256), primary_key=True),
               prefixes=["TEMPORARY"])


class RecallNotFound(NotFound):
    """No recall in force at that entry: a 404 wherever it is asked for."""

    code = "not_found.recall"


class ScopeBatchNotFound(NotFound):
    """The batch to preview a recall of is not in the ledger."""

    code = "not_found.batch"


@dataclass(frozen=True, slots=True)
class RecallInfo:
    """A ``trace.recall`` entry and, when closed, the ``trace.recall.close`` entry that closed it."""

    index: int
    source: str
    reason: str
    level: str | None
    issuer: str
    issued_at: datetime
    affected: int
    closed_index: int | None = None
    closed_at: datetime | None = None
    close_note: str | None = None
    override: str | None = None

    @property
    def closed(self) -> bool:
        return self.closed_index is not None


@dataclass(frozen=True, slots=True)
class ScopeBatch:
    ref: str
    kind: str
    gtin: str | None
    lot: str | None
    sscc: str | None
    product: str | None
    unit: str
    quantity: str
    creator: str
    status: str
    created_index: int
    parents: tuple[str, ...]


@dataclass(slots=True)
class Position:
    """One party's dealings with one batch of the scope, in the batch's unit. ``received`` counts goods unpacked
    from a logistic unit too, ``used`` what went into a transformation or a logistic unit, ``returned`` what was
    shipped back to the maker after the recall, ``destroyed_since`` what was destroyed after the recall, and
    ``in_transit`` what is on its way to this party."""

    ref: str
    party: str
    unit: str
    made: Decimal = ZERO
    received: Decimal = ZERO
    shipped: Decimal = ZERO
    returned: Decimal = ZERO
    used: Decimal = ZERO
    sold: Decimal = ZERO
    destroyed: Decimal = ZERO
    destroyed_since: Decimal = ZERO
    held: Decimal = ZERO
    in_transit: Decimal = ZERO

    def quantity(self, name: str) -> Decimal:
        value: Decimal = getattr(self, name)  # names from QUANTITIES only
        return value


@dataclass(slots=True)
class ScopeParty:
    """A party of the scope: its registry name and roles, how it stands in the recall, and its first
    acknowledgement (entry index and receive time) when there is one."""

    code: str
    name: str
    roles: tuple[str, ...]
    relation: str
    acknowledged: tuple[int, datetime] | None = None

    def totals(self, positions: Iterable[Position], name: str) -> dict[str, Decimal]:
        """The sum of quantity ``name`` over this party's ``positions``, by unit (units are never added up)."""
        out: dict[str, Decimal] = {}
        for position in positions:
            if position.party == self.code and position.quantity(name) != ZERO:
                out[position.unit] = out.get(position.unit, ZERO) + position.quantity(name)
        return out


@dataclass
class RecallScope:
    """The scope of a recall of ``source`` (``recall`` is ``None`` for a preview): batches in walk order (the
    recalled batch first), positions by batch then party, and the parties by credit code."""

    source: str
    recall: RecallInfo | None
    batches: dict[str, ScopeBatch]
    positions: list[Position]
    parties: dict[str, ScopeParty] = field(default_factory=dict)

    def positions_of(self, party: str) -> list[Position]:
        return [position for position in self.positions if position.party == party]

    def open_parties(self) -> list[str]:
        """Parties that still hold goods, have goods on their way to them, or have not acknowledged."""
        return [code for code, party in sorted(self.parties.items())
                if party.acknowledged is None or party.totals(self.positions, "held")
                or party.totals(self.positions, "in_transit")]


def load_recall(session: Session, index: int) -> RecallInfo:
    """The recall at entry ``index`` with its closure, if any. Raises :class:`RecallNotFound`."""
    recalls = list_recalls(session, indexes=[index])
    if not recalls:
        raise RecallNotFound(f"entry {index} is not a recall in force")
    return recalls[0]


def list_recalls(session: Session, *, indexes: list[int] | None = None) -> list[RecallInfo]:
    """Every recall in force (or those at ``indexes``), newest first, each with its closure if it was closed."""
    query = (select(Event.entry_index, Event.actor, Event.summary, Entry.received_at)
             .join(Entry, Entry.index == Event.entry_index)
             .where(Event.type == RECALL, Event.corrected_by.is_(None)).order_by(Event.entry_index.desc()))
    if indexes is not None:
        query = query.where(Event.entry_index.in_(indexes))
    rows = session.execute(query).all()
    closes: dict[int, tuple[int, datetime, dict[str, Any]]] = {}
    if rows:
        for index, summary_text, received in session.execute(
                select(Event.entry_index, Event.summary, Entry.received_at)
                .join(Entry, Entry.index == Event.entry_index)
                .where(Event.type == CLOSE, Event.corrected_by.is_(None))):
            summary = json.loads(summary_text)
            closes.setdefault(int(summary["recall"]), (index, received, summary))
    out = []
    for index, actor, summary_text, received in rows:
        summary = json.loads(summary_text)
        closed = closes.get(index)
        out.append(RecallInfo(
            index=index, source=summary["batch"], reason=summary["reason"], level=summary.get("level"),
            issuer=actor, issued_at=received, affected=int(summary.get("affected_batches", 1)),
            closed_index=closed[0] if closed else None, closed_at=closed[1] if closed else None,
            close_note=closed[2].get("note") if closed else None,
            override=closed[2].get("override") if closed else None))
    return out


def recall_scope(session: Session, index: int) -> RecallScope:
    """The scope of the recall at entry ``index``: the batches carrying its mark. Raises :class:`RecallNotFound`."""
    recall = load_recall(session, index)
    connection = _fresh_scope(session)
    connection.execute(insert(_SCOPE).from_select(["ref"], select(Recall.ref).where(Recall.recall_index == index)))
    return _measure(session, recall.source, recall)


def preview_scope(session: Session, ref: str) -> RecallScope:
    """What a recall of batch ``ref`` would reach now. Raises :class:`ScopeBatchNotFound`."""
    connection = _fresh_scope(session)
    walk = _downstream(connection, ref)
    connection.execute(insert(_SCOPE).from_select(["ref"], select(walk.c.ref)))
    scope = _measure(session, ref, None)
    if ref not in scope.batches:
        raise ScopeBatchNotFound(f"batch {ref} is not in the ledger")
    return scope


def _downstream(connection: Connection, ref: str) -> CTE:
    """The batches reachable from ``ref`` along provenance edges (parent to child) and into the goods a logistic
    unit holds (container to contents); ``UNION`` visits a batch reached along several paths once.

    Each step looks the walked batches' edges and contents up by primary key, so it reads only what it reaches,
    however large the ledger. Not a join of the walk against ``edges UNION ALL contents``: SQLite materialises
    that union (every edge and content, with an automatic index) at every step of the recursion, and PostgreSQL
    hash-joins a sequential scan of both tables at every step (102 ms p50 at a million entries on SQLite). SQLite
    takes one recursive term per table; PostgreSQL allows a single reference to the walk, so there the two
    lookups are one ``LATERAL`` union per walked batch."""
    walk = select(literal(ref, String(256)).label("ref")).cte("walk", recursive=True)
    if connection.dialect.name == "postgresql":
        following = union_all(select(Edge.child.label("ref")).where(Edge.parent == walk.c.ref),
                              select(Content.ref.label("ref")).where(Content.container == walk.c.ref)) \
            .lateral("following")
        return walk.union(select(following.c.ref).select_from(walk.join(following, true())))
    return walk.union(select(Edge.child.label("ref")).join(walk, Edge.parent == walk.c.ref),
                      select(Content.ref.label("ref")).join(walk, Content.container == walk.c.ref))


def _fresh_scope(session: Session) -> Connection:
    connection = session.connection()
    _SCOPE.create(connection, checkfirst=True)
    connection.execute(delete(_SCOPE))
    return connection


def _measure(session: Session, source: str, recall: RecallInfo | None) -> RecallScope:
    """Read the batches of the scope table and every quantity about them (see the module docstring)."""
    connection = session.connection()  # Core rows: the ORM's per-row bookkeeping is not needed here
    # `ref IN (SELECT ref FROM scope)` rather than a join, as in trace.provenance: index lookups per scope batch.
    scoped = select(_SCOPE.c.ref)
    since = recall.index if recall is not None else None
    parents: dict[str, list[str]] = {}
    used: dict[tuple[str, int], tuple[str, Decimal]] = {}
    for parent, child, index, edge_quantity, actor in connection.execute(
            select(Edge.parent, Edge.child, Edge.entry_index, Edge.quantity, Event.actor)
            .join(Event, Event.entry_index == Edge.entry_index).where(Edge.parent.in_(scoped))):
        parents.setdefault(child, []).append(parent)
        if edge_quantity is not None:  # a split's one input feeds each output: count it once per event
            used[(parent, index)] = (actor, Decimal(edge_quantity))
    rows = connection.execute(
        select(Batch.ref, Batch.kind, Batch.gtin, Batch.lot, Batch.sscc, Product.name, Batch.unit, Batch.quantity,
               Batch.creator, Batch.status, Batch.created_index)
        .outerjoin(Product, Product.gtin == Batch.gtin).where(Batch.ref.in_(scoped))).all()
    refs = {row[0] for row in rows}
    found = {row[0]: ScopeBatch(*row, parents=tuple(sorted(set(parents.get(row[0], ())) & refs))) for row in rows}
    batches = {ref: found[ref] for ref in sorted(found, key=lambda ref: (ref != source, found[ref].created_index,
                                                                          ref))}
    place = {ref: number for number, ref in enumerate(batches)}
    positions: dict[tuple[str, str], Position] = {}

    def at(ref: str, party: str) -> Position:
        key = (ref, party)
        if key not in positions:
            positions[key] = Position(ref, party, batches[ref].unit)
        return positions[key]

    for batch in batches.values():
        at(batch.ref, batch.creator).made += Decimal(batch.quantity)
    for (parent, _index), (actor, amount) in used.items():
        if parent in batches:
            at(parent, actor).used += amount
    source_maker = batches[source].creator if source in batches else None
    for ref, shipper, receiver, quantity, status, ship_index, received in connection.execute(
            select(Shipment.ref, Shipment.shipper, Shipment.receiver, Shipment.quantity, Shipment.status,
                   Shipment.ship_index, Shipment.received_quantity).where(Shipment.ref.in_(scoped))):
        at(ref, shipper).shipped += Decimal(quantity)
        if since is not None and ship_index > since and receiver in {batches[ref].creator, source_maker}:
            at(ref, shipper).returned += Decimal(quantity)
        if status == "in_transit":
            at(ref, receiver).in_transit += Decimal(quantity)
        else:
            at(ref, receiver).received += Decimal(received or "0")
    for ref, holder, quantity in connection.execute(
            select(Holding.ref, Holding.holder, Holding.quantity).where(Holding.ref.in_(scoped))):
        at(ref, holder).held += Decimal(quantity)
    acknowledged: dict[str, tuple[int, datetime]] = {}
    if recall is not None and source_maker == recall.issuer:  # a maker's own recall is its acknowledgement
        acknowledged[recall.issuer] = (recall.index, recall.issued_at)
    # What was sold, destroyed and unpacked, from the events' own rows, in any order (the sums do not depend on
    # it). A preview reads the events of the scope's lots only: sales and destructions are of lots and a pallet
    # holds lots, so a logistic unit's own events (packing, shipping, sensors: most events of a large scope) add
    # nothing. A recall reads every batch's, since a party acknowledges on any batch of the scope, a pallet
    # included; the few acknowledgements take their receive times in a query of their own.
    linked, types = (select(Batch.ref).where(Batch.ref.in_(scoped), Batch.kind == "lot"),
                     [SELL, DESTROY, DISAGGREGATE]) if recall is None else \
        (scoped, [SELL, DESTROY, DISAGGREGATE, ACKNOWLEDGE])
    first_acknowledged: dict[str, int] = {}
    for ref, index, type_, actor, summary_text in connection.execute(
            select(BatchEvent.ref, Event.entry_index, Event.type, Event.actor, Event.summary)
            .join(Event, Event.entry_index == BatchEvent.entry_index)
            .where(BatchEvent.ref.in_(linked), Event.corrected_by.is_(None), Event.type.in_(types))):
        summary = json.loads(summary_text)
        if type_ == SELL and summary["batch"] == ref:
            at(ref, actor).sold += Decimal(summary["quantity"])
        elif type_ == DESTROY and summary["batch"] == ref:
            at(ref, actor).destroyed += Decimal(summary["quantity"])
            if since is not None and index > since:
                at(ref, actor).destroyed_since += Decimal(summary["quantity"])
        elif type_ == DISAGGREGATE:
            for item in summary["contents"]:
                if item["batch"] == ref:
                    at(ref, actor).received += Decimal(item["quantity"])
        elif type_ == ACKNOWLEDGE and recall is not None and summary["recall"] == recall.index:
            first_acknowledged[actor] = min(index, first_acknowledged.get(actor, index))
    if first_acknowledged:
        receive_times: dict[int, datetime] = {index: time for index, time in connection.execute(
            select(Entry.index, Entry.received_at).where(Entry.index.in_(first_acknowledged.values())))}
        for actor, index in first_acknowledged.items():
            acknowledged.setdefault(actor, (index, receive_times[index]))
    ordered = sorted(positions.values(), key=lambda item: (place[item.ref], item.party))
    scope = RecallScope(source=source, recall=recall, batches=batches, positions=ordered)
    scope.parties = _parties(connection, scope, acknowledged)
    return scope


def _parties(connection: Connection, scope: RecallScope,
             acknowledged: dict[str, tuple[int, datetime]]) -> dict[str, ScopeParty]:
    codes = sorted({position.party for position in scope.positions})
    registry: dict[str, tuple[str, str]] = {}
    for start in range(0, len(codes), 500):
        for code, name, roles in connection.execute(
                select(Enterprise.credit_code, Enterprise.name, Enterprise.roles)
                .where(Enterprise.credit_code.in_(codes[start:start + 500]))):
            registry[code] = (name, roles)
    by_party: dict[str, list[Position]] = {}  # one pass, not one per party: a large scope has 50 parties
    for position in scope.positions:
        by_party.setdefault(position.party, []).append(position)
    parties = {}
    for code in codes:
        name, roles = registry.get(code, (code, ""))
        mine = by_party[code]
        made = {position.ref for position in mine if position.made != ZERO}
        if scope.source in made:
            relation = "maker"
        elif any(scope.batches[ref].kind == "lot" and scope.batches[ref].parents for ref in made):
            relation = "processor"
        elif any(position.held != ZERO or position.in_transit != ZERO for position in mine):
            relation = "holder"
        else:
            relation = "former"
        parties[code] = ScopeParty(code=code, name=name, roles=tuple(filter(None, roles.split(","))),
                                   relation=relation, acknowledged=acknowledged.get(code))
    return parties


def format_totals(totals: dict[str, Decimal]) -> str:
    """``{"KGM": 12.5, "EA": 3}`` as ``"12.5 KGM, 3 EA"`` (empty for nothing)."""
    return ", ".join(f"{format_quantity(amount)} {unit}" for unit, amount in sorted(totals.items()))
