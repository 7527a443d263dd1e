"""Custody replay for the offline verifier: the same rules the sequencer enforced, applied to an export's
statements in order, so an inspector learns the first entry that breaks one.

The replayed state lives in a :class:`trace.spill.SpillStore` (a temporary SQLite file) behind a book that caches
at most about :data:`RECORDS_IN_MEMORY` records: past that, between two statements, the book's changes are written
to the store in one transaction and its cache is dropped. Memory stays level however long the ledger; the rules
see the same records either way, so the first entry that breaks one is the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

from ledger import LedgerError, Statement, StatementError
from ledger.export import ExportEntry, read_export
from ledger.statements import parse_leaf

from .book import Book
from .records import Record
from .rules import apply_event, handles
from .spill import SpillStore

#: Records (and keys known absent) the replay's book caches before it spills its changes and starts afresh.
RECORDS_IN_MEMORY = 25_000


class CustodyReplay:
    """A :class:`ledger.verifier.DomainReplay` applying :func:`trace.rules.apply_event` to every statement.

    A statement type that is neither ``ledger.*`` nor a traceability event is refused: the live service never
    accepts one, so its presence in an export is itself a finding. :meth:`rows` reads the replayed state back,
    table by table in key order. Close it (or use it as a context manager) to delete its temporary file.
    """

    def __init__(self, registrar: str, *, records_in_memory: int = RECORDS_IN_MEMORY) -> None:
        self.registrar = registrar
        self.events = 0
        self.spills = 0
        self._limit = records_in_memory
        self._store = SpillStore()
        self._book = Book(self._store)

    def apply(self, statement: Statement, index: int, received: datetime) -> None:
        if not handles(statement.type):
            raise StatementError(f"statement type {statement.type} is not a traceability event",
                                 code="statement.unknown_type")
        apply_event(self._book, statement, index, received, registrar=self.registrar)
        self.events += 1
        if self._book.held() > self._limit:
            self._spill()

    def rows(self, cls: type[Record]) -> Iterator[tuple[Any, ...]]:
        """The replayed records of ``cls`` as tuples in field order, sorted by key, read from the store as
        iterated (no statement may be applied meanwhile)."""
        self._store.write(self._book.drain())
        return self._store.rows(cls)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> CustodyReplay:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _spill(self) -> None:
        self._store.write(self._book.drain())
        self._book.forget()
        self.spills += 1


def genesis_registrar(lines: Iterable[bytes]) -> str:
    """The registrar named by an export's entry 0 (which the ledger verifier itself checks against the operator
    key). Returns ``""`` when the export has no readable entry 0; verification then fails on its own."""
    try:
        _, items = read_export(iter(lines))
        for item in items:
            if isinstance(item, ExportEntry) and item.index == 0:
                registrar = parse_leaf(item.leaf).signed.statement.body.get("registrar")
                return registrar if isinstance(registrar, str) else ""
            break
    except LedgerError:  # the full verification that follows reports the damage precisely
        return ""
    return ""
