"""Running ledger operations for the application: opening the database, initialising it, appending.

These functions take sessions from their caller and never commit, except :func:`initialise`, which is itself a
command (the CLI's ``init-db``) and is the single commit point of that command.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    AppendResult,
    BatchRefused,
    DomainPolicy,
    LedgerConfig,
    Statement,
    author_position,
    build_statement,
    initialise_ledger,
    load_public_keys,
    prepare_statements,
    sequence_statements,
    sign_statement,
)
from ledger.db import make_engine, make_session_factory, open_for_reads
from ledger.keys import Signer
from ledger.models import BatchHead

from .authority import AuthorityKeys, ledger_config, load_authority_keys
from .migrate import upgrade_database
from .settings import Settings

#: Seconds of the longest pause before the first retry of a statement whose chain head another writer took.
_BACKOFF = 0.02


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    return engine, make_session_factory(engine)


def initialise(settings: Settings, clock: Callable[[], datetime]) -> tuple[AuthorityKeys, bool]:
    """Migrate the schema, create the authority keys if absent and append the genesis entry once.

    Returns the keys and whether the ledger was created now. Raises :class:`ledger.LedgerError` when the
    database belongs to another ledger or operator key.
    """
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.database_url)
    keys = load_authority_keys(settings, create=True)
    engine, sessions = open_database(settings)
    try:
        with sessions() as session:
            created = initialise_ledger(session, config=ledger_config(settings, keys), registrar=keys.registrar,
                                        clock=clock)
            session.commit()
    finally:
        engine.dispose()
    return keys, created


def append(session: Session, read_session: Session, envelopes: Sequence[Any], *, config: LedgerConfig,
           clock: Callable[[], datetime], policy: DomainPolicy | None = None,
           policy_for: Callable[[list[Statement]], DomainPolicy] | None = None,
           atomic: bool = True) -> list[AppendResult]:
    """Prepare ``envelopes`` using ``read_session`` (no lock held), then sequence them in ``session`` under
    ``policy``, or under ``policy_for(the parsed statements)`` (a policy that reads their records in bulk).

    The caller commits ``session``. Raises :class:`ledger.BatchRefused` for an atomic batch with a refusal.
    """
    open_for_reads(read_session)  # no write lock while preparing
    prepared = prepare_statements(envelopes, known_keys=lambda ids: load_public_keys(read_session, ids),
                                  max_statement_bytes=config.max_statement_bytes)
    read_session.rollback()
    if policy_for is not None:
        policy = policy_for([item.signed.statement for item in prepared if item.signed is not None])
    return sequence_statements(session, prepared, config=config, clock=clock, policy=policy, atomic=atomic)


class StatementWriter:
    """Signs one author's successive statements, chaining ``seq`` and ``prev`` locally so a batch of them can
    be submitted at once."""

    def __init__(self, signer: Signer, origin: str, seq: int, prev: str | None) -> None:
        self.signer, self.origin, self.seq, self.prev = signer, origin, seq, prev

    @classmethod
    def resume(cls, session: Session, signer: Signer, origin: str) -> StatementWriter:
        """Continue from the author's head in the committed ledger."""
        seq, prev = author_position(session, signer.author)
        return cls(signer, origin, seq, prev)

    def sign(self, type: str, body: dict[str, Any], time: datetime,
             links: dict[str, str | None] | None = None) -> dict[str, Any]:
        statement = build_statement(ledger=self.origin, type=type, author=self.signer.author,
                                    key=self.signer.key_id, seq=self.seq, prev=self.prev,
                                    time=time.isoformat(timespec="seconds"), body=body, links=links)
        self.seq, self.prev = self.seq + 1, statement.hash_hex
        return sign_statement(self.signer, statement).envelope()


def append_authored(sessions: sessionmaker[Session], signer: Signer, type: str, body: dict[str, Any], *,
                    config: LedgerConfig, clock: Callable[[], datetime], policy: DomainPolicy | None = None,
                    attempts: int = 8,
                    record: Callable[[Session, AppendResult], None] | None = None,
                    links: Sequence[str] = ()) -> AppendResult:
    """Sign one statement as ``signer`` on its current chain head and append it, committing (a command of its
    own: the registrar acting through the API). Retries when another request took the head first
    (``sequence.conflict``), after a short random pause that grows with each attempt. Raises the statement's
    :class:`ledger.LedgerError` when it is refused.

    ``record``, when given, adds the rows the statement stands for (a complaint for its anchor) in the same
    transaction, after the append: both are committed, or neither. ``links`` names the batches the statement
    touches; each is linked to its head when the statement is signed."""
    attempt = 0
    while True:
        attempt += 1
        with sessions() as session, sessions() as read_session:
            writer = StatementWriter.resume(read_session, signer, config.origin)
            heads = batch_heads(read_session, links) if links else None
            read_session.rollback()
            envelope = writer.sign(type, body, clock(), links=heads)
            try:
                result = append(session, read_session, [envelope], config=config, clock=clock, policy=policy)[0]
            except BatchRefused as refused:
                session.rollback()
                error = refused.results[0].error
                assert error is not None
                if error.code == "sequence.conflict" and attempt < attempts:
                    time.sleep(random.uniform(0, _BACKOFF * attempt))  # let the other writers through
                    continue
                raise error from None
            if record is not None:
                record(session, result)
            session.commit()
            return result


def batch_heads(session: Session, refs: Sequence[str]) -> dict[str, str | None]:
    """The statement hash (hex) of each batch's latest entry, ``None`` for a batch not in the ledger yet: the
    ``links`` of a statement touching ``refs``."""
    found = {ref: digest.hex() for ref, digest in session.execute(
        select(BatchHead.ref, BatchHead.statement_hash).where(BatchHead.ref.in_(list(refs))))}
    return {ref: found.get(ref) for ref in refs}
