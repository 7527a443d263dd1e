"""Appending from several OS processes at once, and a process killed while it sequences a batch.

Each child process builds its own engine from the database URL and reads the operator key from the key files,
as a separate server worker would; the statements are signed beforehand in the test process so that each
author's ``seq``/``prev`` chain and each batch's links are right whatever order the processes run in.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import Signer, Statement, verify_database
from ledger.db import make_engine, make_session_factory
from ledger.keys import encode_public_key
from ledger.models import Entry, LedgerHead
from ledger.statements import parse_envelope
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow
from trace.authority import ledger_config, load_authority_keys
from trace.ledger_service import append
from trace.settings import Settings

PROCESSES = 4
PER_PROCESS = 500
BATCH = 50
TIMEOUT = 120

Envelope = dict[str, Any]


# --- child processes (module level, so that the 'spawn' start method can import them) ----------------------------


def append_batches(settings: Settings, batches: Sequence[Sequence[Envelope]], barrier: Barrier | None) -> None:
    """Append each batch in its own transaction, as one request would; exit non-zero on any refusal."""
    config = ledger_config(settings, load_authority_keys(settings))
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        policy = AcceptTestEvents()
        if barrier is not None:
            barrier.wait(timeout=TIMEOUT)
        for batch in batches:
            with sessions() as session, sessions() as read_session:
                results = append(session, read_session, batch, config=config, clock=utcnow, policy=policy)
                session.commit()
            failed = [result for result in results if result.error is not None or result.duplicate]
            if failed or len(results) != len(batch):
                raise SystemExit(f"batch not appended as one: {failed[:3]}")
    finally:
        engine.dispose()


class KillingPolicy(AcceptTestEvents):
    """Accepts ``test.*`` statements, and kills its own process with SIGKILL at the chosen point."""

    def __init__(self, where: str, after: int) -> None:
        super().__init__()
        self.where, self.after, self.checked = where, after, 0

    def check(self, session: Session, statement: Statement, index: int, received: datetime) -> None:
        super().check(session, statement, index, received)
        self.checked += 1
        if self.where == "check" and self.checked > self.after:
            os.kill(os.getpid(), signal.SIGKILL)

    def record(self, session: Session, statement: Statement, index: int) -> None:
        super().record(session, statement, index)
        if self.where == "record" and len(self.recorded) > self.after:
            os.kill(os.getpid(), signal.SIGKILL)


def crash_while_sequencing(settings: Settings, batch: Sequence[Envelope], where: str) -> None:
    """Start sequencing ``batch`` and die by SIGKILL before the transaction commits."""
    config = ledger_config(settings, load_authority_keys(settings))
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    policy = KillingPolicy(where, after=len(batch) // 3)
    with sessions() as session, sessions() as read_session:
        append(session, read_session, batch, config=config, clock=utcnow, policy=policy)
        session.flush()
        if where == "commit":
            os.kill(os.getpid(), signal.SIGKILL)
        session.rollback()
    engine.dispose()
    raise SystemExit("the process should have been killed")


# --- helpers -----------------------------------------------------------------------------------------------------


def register(harness: LedgerHarness, signers: Sequence[Signer], policy: AcceptTestEvents) -> None:
    registrar = harness.writer(harness.keys.registrar)
    results = harness.append([registrar.sign("ledger.key.add", {
        "subject": signer.author, "public_key": encode_public_key(signer.public_key), "label": signer.author},
        utcnow()) for signer in signers], policy=policy)
    assert all(result.error is None for result in results)


def presign(harness: LedgerHarness, signer: Signer, count: int, refs: int = 7) -> list[Envelope]:
    """``count`` statements by ``signer``, each linking one of ``refs`` batches of its own (some two)."""
    writer = harness.writer(signer)
    heads: dict[str, str | None] = {}
    envelopes = []
    for number in range(count):
        linked = [f"{signer.author}/LOT-{number % refs}"] + ([f"{signer.author}/MIX"] if number % 5 == 0 else [])
        envelopes.append(writer.sign("test.event", {"n": number}, utcnow(),
                                     links={ref: heads.get(ref) for ref in linked}))
        for ref in linked:
            heads[ref] = writer.prev
    return envelopes


def chunks(envelopes: Sequence[Envelope], size: int) -> list[list[Envelope]]:
    return [list(envelopes[start:start + size]) for start in range(0, len(envelopes), size)]


def tree_size(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        head = session.get(LedgerHead, 1)
        assert head is not None
        return head.tree_size


def verified_size(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return verify_database(session, harness.operator_key).tree_size


def run(processes: Sequence[multiprocessing.process.BaseProcess]) -> list[int | None]:
    for process in processes:
        process.start()
    for process in processes:
        process.join(TIMEOUT)
    alive = [process for process in processes if process.is_alive()]
    for process in alive:
        process.kill()
        process.join()
    assert not alive, "a child process hung"
    return [process.exitcode for process in processes]


def authors_interleave(harness: LedgerHarness, start: int) -> int:
    with harness.sessions() as session:
        authors = session.scalars(select(Entry.author).where(Entry.index >= start).order_by(Entry.index)).all()
    return 1 + sum(1 for before, after in zip(authors, authors[1:], strict=False) if before != after)


# --- tests -------------------------------------------------------------------------------------------------------


def test_processes_append_concurrently_without_gaps_or_duplicates(harness: LedgerHarness,
                                                                  policy: AcceptTestEvents) -> None:
    signers = [Signer.from_seed(f"ENT-P{number}", bytes([number + 1]) * 32) for number in range(PROCESSES)]
    register(harness, signers, policy)
    start = tree_size(harness)
    signed = {signer.author: presign(harness, signer, PER_PROCESS) for signer in signers}
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    processes = [context.Process(target=append_batches, args=(harness.settings, chunks(signed[signer.author], BATCH),
                                                              barrier), name=signer.author) for signer in signers]
    assert run(processes) == [0] * PROCESSES

    total = start + PROCESSES * PER_PROCESS
    with harness.sessions() as session:
        count, lowest, highest = session.execute(select(func.count(), func.min(Entry.index),
                                                        func.max(Entry.index))).one()
        assert (count, lowest, highest) == (total, 0, total - 1)
        stored = {author: session.execute(select(Entry.statement_hash, Entry.seq).where(Entry.author == author)
                                          .order_by(Entry.index)).all() for author in signed}
    for author, envelopes in signed.items():
        hashes = [parse_envelope(envelope).statement.hash for envelope in envelopes]
        assert [row.statement_hash for row in stored[author]] == hashes  # each once, in the author's order
        assert [row.seq for row in stored[author]] == list(range(1, PER_PROCESS + 1))
    runs = authors_interleave(harness, start)
    assert runs >= PROCESSES
    assert verified_size(harness) == total


@pytest.mark.parametrize("where", ["check", "record", "commit"])
def test_process_killed_while_sequencing_leaves_the_log_intact(harness: LedgerHarness, policy: AcceptTestEvents,
                                                               where: str) -> None:
    """SIGKILL under the sequencing lock — before any row is written, after the entry rows are written, or
    just before the commit — loses the batch and nothing else; the next append proceeds."""
    signer = Signer.from_seed("ENT-CRASH", b"\x61" * 32)
    register(harness, [signer], policy)
    before = tree_size(harness)
    batch = presign(harness, signer, 30)
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=crash_while_sequencing, args=(harness.settings, batch, where))
    assert run([process]) == [-signal.SIGKILL]

    assert tree_size(harness) == before
    assert verified_size(harness) == before
    results = harness.append(batch, policy=policy)
    assert [result.index for result in results] == list(range(before, before + len(batch)))
    assert verified_size(harness) == before + len(batch)


def test_killed_process_does_not_block_concurrent_appends(harness: LedgerHarness, policy: AcceptTestEvents) -> None:
    """One process dies holding the sequencing lock while others append: they all finish, the log is whole."""
    signers = [Signer.from_seed(f"ENT-Q{number}", bytes([number + 0x70]) * 32) for number in range(3)]
    victim = Signer.from_seed("ENT-VICTIM", b"\x7f" * 32)
    register(harness, [*signers, victim], policy)
    start = tree_size(harness)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=append_batches, args=(harness.settings, chunks(
        presign(harness, signer, 200), 25), None)) for signer in signers]
    doomed = presign(harness, victim, 40)
    processes.insert(1, context.Process(target=crash_while_sequencing, args=(harness.settings, doomed, "record")))
    assert run(processes) == [0, -signal.SIGKILL, 0, 0]
    assert verified_size(harness) == start + 600
    assert [result.index for result in harness.append(doomed, policy=policy)] == list(range(start + 600,
                                                                                            start + 640))
    assert verified_size(harness) == start + 640
