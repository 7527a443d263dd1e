"""The traceability rules as the sequencer's domain policy: one instance per append call.

``check`` applies each statement to a book backed by the sequencing session (records load on first use, the
batch's earlier statements are visible to later ones, a refused statement leaves nothing behind); ``record``
writes the book's changes after the ledger rows, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ledger import Statement

from .book import Book, Source
from .rules import apply_event, handles
from .store import SessionSource, ledger_registrar, write_changes


class TracePolicy:
    def __init__(self) -> None:
        self._book: Book | None = None
        self._registrar = ""

    def handles(self, statement_type: str) -> bool:
        return handles(statement_type)

    def check(self, session: Session, statement: Statement, index: int, received: datetime) -> None:
        if self._book is None:
            self._registrar = ledger_registrar(session)
            self._book = Book(self._source(session, index))
        apply_event(self._book, statement, index, received, registrar=self._registrar)

    def record(self, session: Session, statement: Statement, index: int) -> None:
        if self._book is not None:
            write_changes(session, self._book)

    def _source(self, session: Session, first_index: int) -> Source:
        """Where the book reads records, made at the batch's first check (``first_index`` is its first entry)."""
        return SessionSource(session)
