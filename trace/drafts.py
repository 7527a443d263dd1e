"""Unsigned statements made ready for a signer whose key is elsewhere: a phone's browser, an EPCIS capture client.

The signer says what it wants to record (type, body, optionally its time); :func:`prepare_drafts` answers each as
a complete statement to sign: the author's next ``seq`` and ``prev``, and ``links`` naming exactly the batches the
statement touches with each one's latest statement hash. Every draft is checked against the traceability rules on
trial first, so a refusal (not the holder, more than held, recalled, …) is known before anything is signed. Drafts
chain on one another in order, as a signer would sign them; a refused draft takes no place in the chain. Statements
outside the traceability domain (``ledger.key.revoke`` of the author's own key) get their chain and empty links
only; the ledger's own rules are checked when they are submitted. Nothing is written: the trial runs on a book that
is thrown away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ledger import LedgerError, Statement, author_position, build_statement
from ledger.models import LedgerHead, LedgerKey

from .book import Book
from .ledger_service import batch_heads
from .rules import apply_event, handles, touched_refs
from .store import SessionSource, ledger_registrar

#: A statement that links nothing yet; its real links are found by the trial.
_NO_LINKS: dict[str, str | None] = {}


@dataclass(frozen=True)
class DraftRequest:
    """What the signer wants recorded; ``time`` (RFC 3339 with offset) defaults to the server's clock."""

    type: str
    body: dict[str, Any]
    time: str | None = None


@dataclass(frozen=True)
class Draft:
    """A statement ready to sign, or the error the rules would refuse it with (``statement`` is then None)."""

    statement: Statement | None
    error: LedgerError | None

    def to_dict(self) -> dict[str, Any]:
        if self.statement is None:
            assert self.error is not None
            return {"statement": None, "statement_hash": None,
                    "error": {"code": self.error.code, "message": str(self.error)}}
        return {"statement": statement_fields(self.statement), "statement_hash": self.statement.hash_hex,
                "error": None}


def statement_fields(statement: Statement) -> dict[str, Any]:
    """The ten members of ``statement`` as a JSON object."""
    return {"v": 1, "ledger": statement.ledger, "type": statement.type, "author": statement.author,
            "key": statement.key, "seq": statement.seq, "prev": statement.prev, "links": dict(statement.links),
            "time": statement.time, "body": statement.body}


def require_live_key(session: Session, author: str, key_id: str) -> None:
    """Drafts are made for a key that can sign them: raises ``key.unknown`` unless ``key_id`` is ``author``'s in
    the ledger's key registry, ``key.revoked`` once it was revoked."""
    key = session.get(LedgerKey, key_id)
    if key is None or key.author != author:
        raise LedgerError(f"{author} has no key {key_id}", code="key.unknown")
    if key.revoked_index is not None:
        raise LedgerError(f"key {key_id} was revoked at entry {key.revoked_index}", code="key.revoked")


def prepare_drafts(session: Session, *, author: str, key: str, requests: Sequence[DraftRequest],
                   clock: Callable[[], datetime]) -> list[Draft]:
    """One draft per request, chained in order from ``author``'s head in the committed ledger."""
    head = session.get(LedgerHead, 1)
    if head is None:
        raise LedgerError("the ledger is not initialised", code="ledger.not_initialised")
    registrar = ledger_registrar(session)
    book = Book(SessionSource(session))
    seq, prev = author_position(session, author)
    index = head.tree_size
    local_heads: dict[str, str] = {}
    drafts = []
    for request in requests:
        received = clock()
        time = request.time or received.isoformat(timespec="seconds")
        try:
            trial = build_statement(ledger=head.origin, type=request.type, author=author, key=key, seq=seq,
                                    prev=prev, time=time, body=request.body, links=_NO_LINKS)
            domain = handles(request.type)
            refs = sorted(touched_refs(book, trial, index, received, registrar=registrar)) if domain else []
            unknown = [ref for ref in refs if ref not in local_heads]
            links = {**batch_heads(session, unknown), **{ref: local_heads[ref] for ref in refs if ref in local_heads}}
            statement = build_statement(ledger=head.origin, type=request.type, author=author, key=key, seq=seq,
                                        prev=prev, time=time, body=request.body, links=links)
            if domain:
                apply_event(book, statement, index, received, registrar=registrar)
        except LedgerError as error:
            drafts.append(Draft(None, error))
            continue
        drafts.append(Draft(statement, None))
        local_heads.update((ref, statement.hash_hex) for ref in refs)
        seq, prev, index = seq + 1, statement.hash_hex, index + 1
    return drafts
