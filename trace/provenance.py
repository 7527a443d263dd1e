"""Provenance queries: the whole chain back to every source, and forward to every downstream holder.

Both walk ``trace_edges`` with one recursive query into a temporary table (corrections delete their edges, so
none is skipped), then read the batches, hops, events and holders of the graph with one query each joined
against that table: a handful of round trips whatever the graph's depth. Figures for a 100-hop chain and
10,000-batch graphs are in ``docs/benchmarks.md`` (``bench/provenance_bench.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CTE, Column, MetaData, Select, String, Table, delete, insert, literal, select
from sqlalchemy.orm import Session

from .models import Batch, BatchEvent, Content, Edge, Enterprise, Event, Holding, Product, Recall, Shipment
from .queries import NotFound


@dataclass(frozen=True, slots=True)
class Hop:
    """One event on a batch: who did what, where and when. ``summary`` is the event's JSON text as stored."""

    entry_index: int
    type: str
    actor: str
    time: str
    location: str | None
    summary: str
    corrected_by: int | None


@dataclass(slots=True)
class BatchNode:
    ref: str
    kind: str
    gtin: str | None
    lot: str | None
    sscc: str | None
    product_name: str | None
    category: str | None
    unit: str
    quantity: str
    outstanding: str
    creator: str
    produced_on: str | None
    expires_on: str | None
    origin: str
    certificates: str
    status: str
    inspection: str | None
    recalls: list[tuple[int, str, str, str]] = field(default_factory=list)
    events: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Link:
    """``child`` was made from or packed with ``parent`` by ``actor`` at ``location`` and ``time``: one hop."""

    parent: str
    child: str
    kind: str
    quantity: str | None
    entry_index: int
    actor: str
    time: str
    location: str | None


@dataclass(frozen=True, slots=True)
class Holder:
    """Where part of a batch is now: ``held`` by an enterprise, ``in_transit`` to one, or ``packed`` in a
    logistic unit."""

    ref: str
    holder: str
    quantity: str
    state: str


@dataclass
class Provenance:
    """A provenance graph around ``root``: its batches, the hops between them, and (when asked) every event of
    every batch (``events``, by entry index; ``BatchNode.events`` lists each batch's). ``sources`` are the
    batches without inputs (backward); ``holders`` who holds what of each batch now (forward). ``enterprises``
    maps the credit codes that appear to ``(name, locations JSON)``."""

    root: str
    direction: str
    nodes: dict[str, BatchNode]
    links: list[Link]
    events: dict[int, Hop] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)
    enterprises: dict[str, tuple[str, str]] = field(default_factory=dict)


#: The batches of the current walk; temporary, so private to the connection and never part of the schema.
_WALKED = Table("trace_walked", MetaData(), Column("ref", String(256), primary_key=True), prefixes=["TEMPORARY"])


class BatchNotFound(NotFound):
    """The walk's starting batch is not in the ledger: a 404 wherever it is asked for."""

    code = "not_found.batch"


def trace_back(session: Session, ref: str, *, with_events: bool = True) -> Provenance:
    """Every batch ``ref`` was made from, transitively, each hop with who, where and when, and (``with_events``)
    every event of every batch. Raises :class:`BatchNotFound`."""
    graph = _graph(session, ref, _materialise(session, ref, upstream=True), upstream=True, with_events=with_events)
    children = {link.child for link in graph.links}
    graph.sources = sorted(node for node in graph.nodes if node not in children)
    return graph


def trace_forward(session: Session, ref: str, *, with_events: bool = False) -> Provenance:
    """Every batch made from or packed with ``ref``, transitively, and who holds how much of each now: the scope
    of a recall. Raises :class:`BatchNotFound`."""
    walk = _materialise(session, ref, upstream=False)
    graph = _graph(session, ref, walk, upstream=False, with_events=with_events)
    walked = select(walk.c.ref)
    held = select(Holding.ref, Holding.holder, Holding.quantity, literal("held", String(12)).label("state")) \
        .where(Holding.ref.in_(walked))
    moving = select(Shipment.ref, Shipment.receiver, Shipment.quantity, literal("in_transit", String(12))) \
        .where(Shipment.ref.in_(walked), Shipment.status == "in_transit")
    packed = select(Content.ref, Content.container, Content.quantity, literal("packed", String(12))) \
        .where(Content.ref.in_(walked))
    rows = session.connection().execute(held.union_all(moving, packed)).all()
    graph.holders = sorted((Holder(*row) for row in rows), key=lambda item: (item.ref, item.state, item.holder))
    graph.enterprises.update(_enterprises(session, {holder.holder for holder in graph.holders
                                                    if holder.state != "packed"} - graph.enterprises.keys()))
    return graph


def _walk(ref: str, *, upstream: bool) -> CTE:
    """The batches reachable from ``ref`` along provenance edges; ``UNION`` (not ``UNION ALL``) visits a batch
    reached along several paths once."""
    walk = select(literal(ref, String(256)).label("ref")).cte("walk", recursive=True)
    near, far = (Edge.child, Edge.parent) if upstream else (Edge.parent, Edge.child)
    step: Select[Any] = select(far.label("ref")).join(walk, near == walk.c.ref)
    return walk.union(step)


def _materialise(session: Session, ref: str, *, upstream: bool) -> Table:
    """Run the walk once into a temporary table (one per connection, emptied first), so the queries that follow
    join an indexed table instead of each re-running the recursion."""
    connection = session.connection()
    _WALKED.create(connection, checkfirst=True)
    connection.execute(delete(_WALKED))
    walk = _walk(ref, upstream=upstream)
    connection.execute(insert(_WALKED).from_select(["ref"], select(walk.c.ref)))
    return _WALKED


def _graph(session: Session, ref: str, walk: Table, *, upstream: bool, with_events: bool) -> Provenance:
    connection = session.connection()  # Core rows: the ORM's per-row bookkeeping would double the time
    # `ref IN (SELECT ref FROM trace_walked)`, not a join: the temporary table has no statistics, and SQLite and
    # PostgreSQL then plan a join as a scan of the large table (88 ms at a million events) instead of index
    # lookups per walked batch.
    walked = select(walk.c.ref)
    rows = connection.execute(
        select(Batch.ref, Batch.kind, Batch.gtin, Batch.lot, Batch.sscc, Product.name, Product.category, Batch.unit,
               Batch.quantity, Batch.outstanding, Batch.creator, Batch.produced_on, Batch.expires_on, Batch.origin,
               Batch.certificates, Batch.status, Batch.inspection, Recall.recall_index, Recall.source_ref,
               Recall.issuer, Recall.reason)
        .outerjoin(Product, Product.gtin == Batch.gtin).outerjoin(Recall, Recall.ref == Batch.ref)
        .where(Batch.ref.in_(walked))).all()
    nodes: dict[str, BatchNode] = {}
    for row in rows:
        node = nodes.get(row[0])
        if node is None:
            node = nodes[row[0]] = BatchNode(*cast(tuple[Any, ...], row[:17]))
        if row[17] is not None:
            node.recalls.append((row[17], row[18], row[19], row[20]))
    if ref not in nodes:
        raise BatchNotFound(f"batch {ref} is not in the ledger")
    joined = Edge.child if upstream else Edge.parent
    links = [Link(*row) for row in connection.execute(
        select(Edge.parent, Edge.child, Edge.kind, Edge.quantity, Edge.entry_index, Event.actor, Event.time,
               Event.location)
        .join(Event, Event.entry_index == Edge.entry_index).where(joined.in_(walked))
        .order_by(Edge.entry_index, Edge.parent, Edge.child))]
    graph = Provenance(root=ref, direction="back" if upstream else "forward", nodes=nodes, links=links)
    actors = {node.creator for node in nodes.values()} | {link.actor for link in links}
    if with_events:
        for batch_ref, index in connection.execute(select(BatchEvent.ref, BatchEvent.entry_index)
                                                .where(BatchEvent.ref.in_(walked))
                                                .order_by(BatchEvent.entry_index)):
            nodes[batch_ref].events.append(index)
        wanted = select(BatchEvent.entry_index).where(BatchEvent.ref.in_(walked))
        graph.events = {row[0]: Hop(*row) for row in connection.execute(
            select(Event.entry_index, Event.type, Event.actor, Event.time, Event.location, Event.summary,
                   Event.corrected_by).where(Event.entry_index.in_(wanted)))}
        actors |= {hop.actor for hop in graph.events.values()}
    graph.enterprises = _enterprises(session, actors)
    return graph


def _enterprises(session: Session, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    wanted = sorted(set(codes))
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):
        for code, name, locations in session.connection().execute(
                select(Enterprise.credit_code, Enterprise.name, Enterprise.locations)
                .where(Enterprise.credit_code.in_(wanted[start:start + 500]))):
            out[code] = (name, locations)
    return out
