"""Provenance queries: the whole chain back to every source, and forward to every downstream holder.

Both walk ``trace_edges`` with one recursive query into a temporary table (corrections delete their edges, so
none is skipped), then read the batches, hops, events and holders of the graph with one query each joined
against that table: a handful of round trips whatever the graph's depth. Figures for a 100-hop chain and
10,000-batch graphs are in ``docs/benchmarks.md`` (``bench/provenance_bench.py``).

The graph keeps the driver's plain row tuples and builds each record (a named tuple) when it is read. A tuple of
strings and numbers is dropped from the garbage collector's tracking at its first pass; objects (SQLAlchemy rows,
dataclasses, named tuples) stay tracked, and the 40,000 to 60,000 that a 10,000-batch graph used to keep made
most calls pay a full collection, as long as the queries themselves. A record read once and dropped, as a
serialiser does, is freed at once and never reaches the collector's older generations.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby, starmap
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar, cast, overload

from sqlalchemy import CTE, Column, Connection, MetaData, Select, String, Table, delete, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from .models import Batch, BatchEvent, Content, Edge, Enterprise, Event, Holding, Product, Recall, Shipment
from .queries import NotFound


class Hop(NamedTuple):
    """One event on a batch: who did what, where and when. ``summary`` is the event's JSON text as stored."""

    entry_index: int
    type: str
    actor: str
    time: str
    location: str | None
    summary: str
    corrected_by: int | None


#: The columns of a :class:`Hop`, in the order of its fields: ``select(*HOP_COLUMNS)`` reads hops.
HOP_COLUMNS = (Event.entry_index, Event.type, Event.actor, Event.time, Event.location, Event.summary,
               Event.corrected_by)


class BatchNode(NamedTuple):
    """One batch of the graph as stored, with its product's name and category; its recalls ``(entry index,
    source batch, issuer, reason)``; and, when events were read, the entry indexes of its events in ledger order
    (``events``: all of them, or only the latest few when bounded) and how many it has in all (``event_count``,
    ``None`` when events were not read)."""

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
    recalls: tuple[tuple[int, str, str, str], ...] = ()
    events: tuple[int, ...] = ()
    event_count: int | None = None


class Link(NamedTuple):
    """``child`` was made from or packed with ``parent`` by ``actor`` at ``location`` and ``time``: one hop."""

    parent: str
    child: str
    kind: str
    quantity: str | None
    entry_index: int
    actor: str
    time: str
    location: str | None


class Use(NamedTuple):
    """An input batch's latest use in a backward walk: the entry index of the hop, and how many of the batch's
    events came after it (its other customers' history, not this chain's)."""

    entry_index: int
    later_events: int


class Holder(NamedTuple):
    """Where part of a batch is now: ``held`` by an enterprise, ``in_transit`` to one, or ``packed`` in a
    logistic unit."""

    ref: str
    holder: str
    quantity: str
    state: str


_K = TypeVar("_K")
_R = TypeVar("_R")


class RecordList(Sequence[_R], Generic[_R]):
    """Rows kept as plain tuples, read as records ``make(*row)``: a new record at each read."""

    __slots__ = ("_make", "_rows")

    def __init__(self, make: Callable[..., _R], rows: list[tuple[Any, ...]]) -> None:
        self._make = make
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[_R]:
        return starmap(self._make, self._rows)

    @overload
    def __getitem__(self, index: int) -> _R: ...

    @overload
    def __getitem__(self, index: slice) -> list[_R]: ...

    def __getitem__(self, index: int | slice) -> _R | list[_R]:
        if isinstance(index, slice):
            return list(starmap(self._make, self._rows[index]))
        return self._make(*self._rows[index])

    def __eq__(self, other: object) -> bool:
        """Equal to a list or another record list of the same records, in the same order, as a list would be."""
        if isinstance(other, RecordList | list):
            return len(self) == len(other) and all(mine == theirs for mine, theirs in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal by content, as a list, so not hashable either

    def __repr__(self) -> str:
        return repr(list(self))


class RecordMap(Mapping[_K, _R], Generic[_K, _R]):
    """Rows kept as plain tuples by key, read as records ``make(*row)``: a new record at each read."""

    __slots__ = ("_make", "_rows")

    def __init__(self, make: Callable[..., _R], rows: dict[_K, tuple[Any, ...]]) -> None:
        self._make = make
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[_K]:
        return iter(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __getitem__(self, key: _K) -> _R:
        return self._make(*self._rows[key])

    def __repr__(self) -> str:
        return repr(dict(self.items()))


@dataclass
class Provenance:
    """A provenance graph around ``root``: its batches, the hops between them, and (when asked) the events of
    every batch (``events``, by entry index; ``BatchNode.events`` lists each batch's). ``sources`` are the
    batches without inputs (backward); ``holders`` who holds what of each batch now (forward). ``enterprises``
    maps the credit codes that appear to ``(name, locations JSON)``."""

    root: str
    direction: str
    nodes: Mapping[str, BatchNode]
    links: Sequence[Link]
    events: Mapping[int, Hop] = field(default_factory=dict)
    #: With ``until_used``: each input batch's latest use in the walk (the entry index of the hop that took it
    #: into a walked batch) and how many of its events came after it, none of them listed.
    uses: dict[str, Use] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    holders: Sequence[Holder] = field(default_factory=list)
    enterprises: dict[str, tuple[str, str]] = field(default_factory=dict)


#: The batches of the current walk; temporary, so private to the connection and never part of the schema.
_WALKED = Table("trace_walked", MetaData(), Column("ref", String(256), primary_key=True), prefixes=["TEMPORARY"])


class BatchNotFound(NotFound):
    """The walk's starting batch is not in the ledger: a 404 wherever it is asked for."""

    code = "not_found.batch"


def trace_back(session: Session, ref: str, *, with_events: bool = True, latest_events: int | None = None,
               until_used: bool = False) -> Provenance:
    """Every batch ``ref`` was made from, transitively, each hop with who, where and when, and (``with_events``)
    every event of every batch, or with ``latest_events=N`` only each batch's latest ``N`` by entry index (its
    ``event_count`` still counts them all). ``until_used`` lists an input batch's events only up to its latest use
    in the walk (``Provenance.uses``): what came after, such as its sales to other customers, is not this chain's
    history. Raises :class:`BatchNotFound`, and ``ValueError`` for a negative ``latest_events``."""
    _check_bound(latest_events)
    return _graph(session, ref, _materialise(session, ref, upstream=True), upstream=True, with_events=with_events,
                  latest_events=latest_events, until_used=until_used)


def trace_forward(session: Session, ref: str, *, with_events: bool = False,
                  latest_events: int | None = None) -> Provenance:
    """Every batch made from or packed with ``ref``, transitively, and who holds how much of each now: the scope
    of a recall. ``with_events`` and ``latest_events`` as for :func:`trace_back`. Raises :class:`BatchNotFound`,
    and ``ValueError`` for a negative ``latest_events``."""
    _check_bound(latest_events)
    walk = _materialise(session, ref, upstream=False)
    graph = _graph(session, ref, walk, upstream=False, with_events=with_events, latest_events=latest_events)
    walked = select(walk.c.ref)
    held = select(Holding.ref, literal("held", String(12)).label("state"), Holding.holder, Holding.quantity) \
        .where(Holding.ref.in_(walked))
    moving = select(Shipment.ref, literal("in_transit", String(12)), Shipment.receiver, Shipment.quantity) \
        .where(Shipment.ref.in_(walked), Shipment.status == "in_transit")
    packed = select(Content.ref, literal("packed", String(12)), Content.container, Content.quantity) \
        .where(Content.ref.in_(walked))
    # Sorted as the plain row tuples (batch, state, holder), then built: no key function called per holder.
    holders = [(batch_ref, holder, quantity, state) for batch_ref, state, holder, quantity
               in sorted(_rows(session.connection(), held.union_all(moving, packed)))]
    graph.holders = RecordList(Holder, holders)
    graph.enterprises.update(_enterprises(session, {holder for _, holder, _, state in holders
                                                    if state != "packed"} - graph.enterprises.keys()))
    return graph


def _check_bound(latest_events: int | None) -> None:
    if latest_events is not None and latest_events < 0:
        raise ValueError(f"latest_events must be 0 or more, not {latest_events}")


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


def _graph(session: Session, ref: str, walk: Table, *, upstream: bool, with_events: bool,
           latest_events: int | None, until_used: bool = False) -> Provenance:
    connection = session.connection()
    # `ref IN (SELECT ref FROM trace_walked)`, not a join: the temporary table has no statistics, and SQLite and
    # PostgreSQL then plan a join as a scan of the large table (88 ms at a million events) instead of index
    # lookups per walked batch.
    walked: Select[str] = select(walk.c.ref)
    rows = _rows(connection, select(
        Batch.ref, Batch.kind, Batch.gtin, Batch.lot, Batch.sscc, Product.name, Product.category, Batch.unit,
        Batch.quantity, Batch.outstanding, Batch.creator, Batch.produced_on, Batch.expires_on, Batch.origin,
        Batch.certificates, Batch.status, Batch.inspection)
        .outerjoin(Product, Product.gtin == Batch.gtin).where(Batch.ref.in_(walked)))
    # Recalls apart: few batches have one, and an outer join would widen every batch's row for them.
    recalls: dict[str, list[tuple[int, str, str, str]]] = {}
    for recalled, *recall in _rows(connection, select(Recall.ref, Recall.recall_index, Recall.source_ref,
                                                      Recall.issuer, Recall.reason)
                                   .where(Recall.ref.in_(walked)).order_by(Recall.recall_index)):
        recalls.setdefault(recalled, []).append(cast(tuple[int, str, str, str], tuple(recall)))
    joined = Edge.child if upstream else Edge.parent
    links = _rows(connection, select(
        Edge.parent, Edge.child, Edge.kind, Edge.quantity, Edge.entry_index, Event.actor, Event.time, Event.location)
        .join(Event, Event.entry_index == Edge.entry_index).where(joined.in_(walked))
        .order_by(Edge.entry_index, Edge.parent, Edge.child))
    # The links come in ledger order, so each input's last one is its latest use.
    used_at = {row[0]: row[4] for row in links} if upstream and until_used else {}
    events: dict[str, tuple[int, ...]] = {}
    counts: dict[str, int] = {}
    uses: dict[str, Use] = {}
    kept = _batch_events(connection, walk, latest_events, used_at, events, counts, uses) if with_events else []
    # Every node, even one without events or recalls, gets its own value, so the records stay immutable.
    nodes = RecordMap(BatchNode, {row[0]: (*row, tuple(recalls.get(row[0], ())), events.get(row[0], ()),
                                           counts.get(row[0], 0) if with_events else None) for row in rows})
    if ref not in nodes:
        raise BatchNotFound(f"batch {ref} is not in the ledger")
    graph = Provenance(root=ref, direction="back" if upstream else "forward", nodes=nodes,
                       links=RecordList(Link, links), uses=uses)
    if upstream:
        children = {row[1] for row in links}
        graph.sources = sorted(node for node in nodes if node not in children)
    actors = {row[10] for row in rows} | {row[5] for row in links}  # creators, and the actors of the hops
    if with_events:
        hops = [row for wanted in kept
                for row in _rows(connection, select(*HOP_COLUMNS).where(Event.entry_index.in_(wanted)))]
        graph.events = RecordMap(Hop, {row[0]: row for row in hops})
        actors |= {row[2] for row in hops}
    graph.enterprises = _enterprises(session, actors)
    return graph


#: Entry indexes sent in one ``IN`` list: well within SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 1000


def _batch_events(connection: Connection, walk: Table, latest: int | None, used_at: dict[str, int],
                  events: dict[str, tuple[int, ...]], counts: dict[str, int],
                  uses: dict[str, Use]) -> list[Select[int] | list[int]]:
    """Fill ``events`` with each walked batch's entry indexes in ledger order (all, or its ``latest`` few; for a
    batch in ``used_at``, only up to that entry, recorded in ``uses``) and ``counts`` with how many it has in all.
    Returns what selects the entry indexes kept, for reading the events themselves: the walk's events as one
    subquery when all are kept, else the indexes in chunks. Every (batch, entry index) pair is read, from the
    primary key alone, since the counts need them; only the events kept are read in full."""
    walked = select(walk.c.ref)
    kept: list[int] = []
    bounded = False
    # By batch, then ledger order: each batch's run of rows becomes its tuple, with no list per batch (10,000
    # lists alive at once would be tracked by the garbage collector, as the module's docstring explains).
    for batch_ref, run in groupby(_rows(connection, select(BatchEvent.ref, BatchEvent.entry_index)
                                        .where(BatchEvent.ref.in_(walked))
                                        .order_by(BatchEvent.ref, BatchEvent.entry_index)), itemgetter(0)):
        indexes = tuple(index for _, index in run)
        counts[batch_ref] = len(indexes)
        use = used_at.get(batch_ref)
        if use is not None:
            end = bisect_right(indexes, use)
            uses[batch_ref] = Use(use, len(indexes) - end)
            indexes, bounded = indexes[:end], bounded or end < len(indexes)
        if latest is not None and len(indexes) > latest:
            indexes, bounded = indexes[len(indexes) - latest:], True
        events[batch_ref] = indexes
        kept.extend(indexes)
    if not bounded:
        return [select(BatchEvent.entry_index).where(BatchEvent.ref.in_(walked))] if kept else []
    return [kept[start:start + _CHUNK] for start in range(0, len(kept), _CHUNK)]


def _rows(connection: Connection, statement: Executable) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` as the driver's plain tuples, not SQLAlchemy ``Row`` objects (which the garbage
    collector tracks, see the module's docstring). Every column read here is a string or an integer, which
    SQLAlchemy does not convert on either database, so the tuples hold what the rows would."""
    result = connection.execute(statement)
    try:
        return cast(list[tuple[Any, ...]], result.cursor.fetchall())
    finally:
        result.close()


def _enterprises(session: Session, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    wanted = sorted(set(codes))
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):
        for code, name, locations in _rows(session.connection(), select(
                Enterprise.credit_code, Enterprise.name, Enterprise.locations)
                .where(Enterprise.credit_code.in_(wanted[start:start + 500]))):
            out[code] = (name, locations)
    return out
