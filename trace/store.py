"""Moving traceability state between the book and the database: loading records on demand, writing what a
batch of statements changed, and rebuilding every table from the ledger (``python -m trace rebuild-state``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from ledger.models import Entry, LedgerHead
from ledger.statements import parse_leaf, parse_time

from .book import Book
from .models import MODEL_OF
from .records import RECORD_TYPES, Key, Record, record_from_dict
from .rules import apply_event, handles

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)
_REPLAY_PAGE = 2000


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


def replay_ledger(session: Session) -> Book:
    """A book holding the state that the committed ledger implies, computed from its entries alone.

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
class StateDifference:
    """Rows present only in the live tables (``extra``) or only in the replay (``missing``), per table."""

    extra: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    missing: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.extra and not self.missing


def compare_state(live: dict[str, set[tuple[Any, ...]]], replayed: dict[str, set[tuple[Any, ...]]]
                  ) -> StateDifference:
    difference = StateDifference()
    for table in live.keys() | replayed.keys():
        extra = live.get(table, set()) - replayed.get(table, set())
        missing = replayed.get(table, set()) - live.get(table, set())
        if extra:
            difference.extra[table] = sorted(extra, key=repr)
        if missing:
            difference.missing[table] = sorted(missing, key=repr)
    return difference


def rebuild_state(session: Session) -> tuple[StateDifference, int]:
    """Replace every traceability table with the state replayed from the ledger, in the caller's transaction.

    Returns how the live tables differed from the replay before the rebuild, and the rows written.
    """
    book = replay_ledger(session)
    difference = compare_state(dump_tables(session), dump_book(book))
    for cls in RECORD_TYPES:
        session.execute(delete(_table(cls)))
    written = 0
    for cls in RECORD_TYPES:
        rows = [record.to_dict() for record in book.records(cls)]
        for start in range(0, len(rows), 1000):
            session.execute(insert(_table(cls)), rows[start:start + 1000])
        written += len(rows)
    session.flush()
    logger.info("rebuilt traceability state", extra={"rows": written, "differences": not difference.empty})
    return difference, written
