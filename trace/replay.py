"""Custody replay for the offline verifier: the same rules the sequencer enforced, applied to an export's
statements in order on an in-memory book, so an inspector learns the first entry that breaks one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ledger import LedgerError, Statement, StatementError
from ledger.export import ExportEntry, read_export
from ledger.statements import parse_leaf

from .book import Book
from .rules import apply_event, handles


class CustodyReplay:
    """A :class:`ledger.verifier.DomainReplay` applying :func:`trace.rules.apply_event` to every statement.

    A statement type that is neither ``ledger.*`` nor a traceability event is refused: the live service never
    accepts one, so its presence in an export is itself a finding.
    """

    def __init__(self, registrar: str) -> None:
        self.registrar = registrar
        self.book = Book()
        self.events = 0

    def apply(self, statement: Statement, index: int, received: datetime) -> None:
        if not handles(statement.type):
            raise StatementError(f"statement type {statement.type} is not a traceability event",
                                 code="statement.unknown_type")
        apply_event(self.book, statement, index, received, registrar=self.registrar)
        self.events += 1


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
