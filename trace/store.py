"""Moving traceability state between the book and the database: loading records on demand, writing what a
batch of statements changed, rebuilding every table from the ledger (``python -m trace rebuild-state``), and
comparing the live tables with a replay of the ledger.

The comparison streams: each table is read in key order from both sides (``ORDER BY`` the primary key on the live
table, in code-point order on PostgreSQL too; the replay's store sorts the same way) and merged, so neither side
is held in memory. Only the count of differing rows and the first few of them are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import String, Table, and_, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from ledger.models import Entry, LedgerHead
from ledger.statements import parse_leaf, parse_time

from .book import Book
from .models import MODEL_OF
from .records import RECORD_TYPES, Key, Record, record_from_dict
from .replay import CustodyReplay
from .rules import apply_event, handles

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)
_REPLAY_PAGE = 2000
_COMPARE_PAGE = 2000
#: Differing rows kept per table and side (in key order) for the report; the count is always exact.
SAMPLE_ROWS = 10


def _table(cls: type[Record]) -> Table:
    return cast(Table, MODEL_OF[cls].__table__)


def _where_key(cls: type[Record], key: Key) -> Any:
    table = _table(cls)
    return and_(*(table.c[name] == value for name, value in zip(cls.KEY, key, strict=True)))


class SessionSource:
    """Loads records from the database through the caller's session (the sequencing transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def load(self, cls: type[R], key: Key) -> R | None:
        row = self.session.execute(select(_table(cls)).where(_where_key(cls, key))).mappings().first()
        return None if row is None else record_from_dict(cls, dict(row))

    def load_prefix(self, cls: type[R], first: Any) -> list[R]:
        table = _table(cls)
        rows = self.session.execute(select(table).where(table.c[cls.KEY[0]] == first)).mappings()
        return [record_from_dict(cls, dict(row)) for row in rows]

    def load_all(self, cls: type[R]) -> list[R]:
        return [record_from_dict(cls, dict(row)) for row in self.session.execute(select(_table(cls))).mappings()]


def write_changes(session: Session, book: Book) -> int:
    """Write every record the book changed since the last call; returns the number of rows touched."""
    by_class: dict[type[Record], tuple[list[Key], list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for cls, key, value, stored in book.drain():
        deletes, updates, inserts = by_class.setdefault(cls, ([], [], []))
        if value is None:
            if stored:
                deletes.append(key)
        elif stored:
            updates.append(value.to_dict())
        else:
            inserts.append(value.to_dict())
    touched = 0
    for cls, (deletes, updates, inserts) in by_class.items():
        table = _table(cls)
        columns = [table.c[name] for name in cls.KEY]
        for start in range(0, len(deletes), 500):
            session.execute(delete(table).where(tuple_(*columns).in_(deletes[start:start + 500])))
        if updates:
            session.execute(update(MODEL_OF[cls]), updates)
        if inserts:
            session.execute(insert(table), inserts)
        touched += len(deletes) + len(updates) + len(inserts)
    return touched


def iter_statements(session: Session, start: int = 0) -> Iterator[tuple[int, Any, datetime]]:
    """Every ledger entry from ``start`` in index order as ``(index, statement, received)``, read in pages."""
    next_index = start
    while True:
        rows = session.execute(select(Entry.index, Entry.leaf).where(Entry.index >= next_index)
                               .order_by(Entry.index).limit(_REPLAY_PAGE)).all()
        if not rows:
            return
        for index, leaf in rows:
            parsed = parse_leaf(leaf)
            yield index, parsed.signed.statement, parse_time(parsed.received)
        next_index = rows[-1][0] + 1


def ledger_registrar(session: Session) -> str:
    """The registrar named by the genesis entry, or ``""`` before the ledger is initialised."""
    head = session.get(LedgerHead, 1)
    return (head.registrar or "") if head is not None else ""


def replay_state(session: Session) -> CustodyReplay:
    """The state that the committed ledger implies, computed from its entries alone into a disk-backed replay
    (bounded memory; the caller closes it). Raises as :func:`replay_ledger`."""
    replay = CustodyReplay(ledger_registrar(session))
    try:
        for index, statement, received in iter_statements(session):
            if index > 0 and handles(statement.type):
                replay.apply(statement, index, received)
    except BaseException:
        replay.close()
        raise
    return replay


def replay_ledger(session: Session) -> Book:
    """A book holding the state that the committed ledger implies, computed from its entries alone, in memory.

    Raises the domain error of the first entry that breaks a rule (it should never happen: every entry was
    checked by the same rules when it was appended).
    """
    book = Book()
    registrar = ""
    for index, statement, received in iter_statements(session):
        if index == 0:
            registrar = statement.body["registrar"]
        elif handles(statement.type):
            apply_event(book, statement, index, received, registrar=registrar)
    return book


def dump_tables(session: Session) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every traceability table, as tuples in field order."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for cls in RECORD_TYPES:
        rows = session.execute(select(_table(cls))).mappings()
        out[cls.TABLE] = {tuple(record_from_dict(cls, dict(row)).to_dict().values()) for row in rows}
    return out


def dump_book(book: Book) -> dict[str, set[tuple[Any, ...]]]:
    return {cls.TABLE: {tuple(record.to_dict().values()) for record in book.records(cls)} for cls in RECORD_TYPES}


@dataclass
class DifferingRows:
    """How many rows of one table are on one side only, and the first :data:`SAMPLE_ROWS` of them in key order."""

    count: int = 0
    first: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, row: tuple[Any, ...]) -> None:
        self.count += 1
        if len(self.first) < SAMPLE_ROWS:
            self.first.append(row)


@dataclass
class StateDifference:
    """Rows present only in the live tables (``extra``) or only in the replay (``missing``), per table. A row whose
    key is on both sides with other values counts on both."""

    extra: dict[str, DifferingRows] = field(default_factory=dict)
    missing: dict[str, DifferingRows] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.extra and not self.missing

    def describe(self) -> str:
        """The count and the first differing row of each table, in a line an officer can act on."""
        parts = [f"{table}: {rows.count} row(s) only in the live tables, first {rows.first[0]!r}"
                 for table, rows in sorted(self.extra.items())]
        parts += [f"{table}: {rows.count} row(s) missing from the live tables, first {rows.first[0]!r}"
                  for table, rows in sorted(self.missing.items())]
        return "; ".join(parts)


def live_rows(session: Session, cls: type[Record]) -> Iterator[tuple[Any, ...]]:
    """The live table of ``cls`` as tuples in field order, sorted by key as Python sorts it (text in code-point
    order: ``COLLATE "C"`` on PostgreSQL, whose default collation may differ; SQLite's BINARY already is), read a
    page at a time."""
    table = _table(cls)
    postgres = session.get_bind().dialect.name == "postgresql"
    order = [table.c[name].collate("C") if postgres and isinstance(table.c[name].type, String) else table.c[name]
             for name in cls.KEY]
    query = (select(*(table.c[item.name] for item in fields(cls))).order_by(*order)
             .execution_options(yield_per=_COMPARE_PAGE))
    for row in session.execute(query):
        yield tuple(row)


def compare_live_state(session: Session, replayed: Callable[[type[Record]], Iterable[tuple[Any, ...]]]
                       ) -> StateDifference:
    """Compare every live traceability table with ``replayed(cls)`` (rows in field order, sorted by key, such as
    :meth:`trace.replay.CustodyReplay.rows`), one table at a time in one merge pass; memory stays bounded."""
    difference = StateDifference()
    for cls in RECORD_TYPES:
        _merge_table(cls, live_rows(session, cls), replayed(cls), difference)
    return difference


def _key_getter(cls: type[Record]) -> Callable[[tuple[Any, ...]], Any]:
    names = [item.name for item in fields(cls)]
    return itemgetter(*(names.index(name) for name in cls.KEY))


def _merge_table(cls: type[Record], live: Iterable[tuple[Any, ...]], replayed: Iterable[tuple[Any, ...]],
                 difference: StateDifference) -> None:
    """Merge two key-ordered row streams of one table, recording the rows on one side only."""
    key_of = _key_getter(cls)
    left, right = _in_key_order(live, key_of, "live"), _in_key_order(replayed, key_of, "replayed")
    extra, missing = DifferingRows(), DifferingRows()
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and key_of(a) < key_of(b)):
            extra.add(a)  # type: ignore[arg-type]
            a = next(left, None)
        elif a is None or key_of(b) < key_of(a):
            missing.add(b)
            b = next(right, None)
        else:
            if a != b:
                extra.add(a)
                missing.add(b)
            a, b = next(left, None), next(right, None)
    if extra.count:
        difference.extra[cls.TABLE] = extra
    if missing.count:
        difference.missing[cls.TABLE] = missing


def _in_key_order(rows: Iterable[tuple[Any, ...]], key_of: Callable[[tuple[Any, ...]], Any], side: str
                  ) -> Iterator[tuple[Any, ...]]:
    """The rows, checked to come in strictly increasing key order (the merge relies on it: two sorts that disagreed
    would show as differences that are not there)."""
    previous: Any = None
    for row in rows:
        key = key_of(row)
        if previous is not None and not previous < key:
            raise RuntimeError(f"the {side} rows are not in key order: {key!r} after {previous!r}")
        previous = key
        yield row


def rebuild_state(session: Session) -> tuple[StateDifference, int]:
    """Replace every traceability table with the state replayed from the ledger, in the caller's transaction.

    Returns how the live tables differed from the replay before the rebuild, and the rows written. Memory stays
    bounded: the replay is disk-backed and its rows are written a thousand at a time.
    """
    with replay_state(session) as replay:
        difference = compare_live_state(session, replay.rows)
        for cls in RECORD_TYPES:
            session.execute(delete(_table(cls)))
        written = 0
        for cls in RECORD_TYPES:
            names = [item.name for item in fields(cls)]
            rows = replay.rows(cls)
            while chunk := [dict(zip(names, row, strict=True)) for row in islice(rows, 1000)]:
                session.execute(insert(_table(cls)), chunk)
                written += len(chunk)
    session.flush()
    logger.info("rebuilt traceability state", extra={"rows": written, "differences": not difference.empty})
    return difference, written
