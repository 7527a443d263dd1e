"""Inclusion and consistency proofs from the stored tree: correct, and one statement each (one round trip to the
database per proof request, whatever the tree size)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from ledger import Signer, consistency, inclusion, latest_checkpoint
from ledger.errors import ProofError
from ledger.merkle import verify_consistency, verify_inclusion
from ledger.models import Entry
from ledger.tree import root_at
from tests.conftest import LedgerHarness


@contextmanager
def counted(harness: LedgerHarness) -> Iterator[list[str]]:
    """The SQL statements run on the harness's engine meanwhile (transaction control left out)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)
    event.listen(harness.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(harness.engine, "before_cursor_execute", record)


def test_each_proof_is_one_statement_and_verifies(harness: LedgerHarness) -> None:
    for number in range(12):
        harness.register(Signer.from_seed(f"member-{number}", bytes([number]) * 32))
    with harness.sessions() as session:
        checkpoint = latest_checkpoint(session)
        assert checkpoint is not None and checkpoint.tree_size == 13
        size, root = checkpoint.tree_size, checkpoint.root_hash
        rows = session.execute(select(Entry.index, Entry.leaf_hash))
        leaves: dict[int, bytes] = {index: value for index, value in rows}
        for index in (0, 5, 12):
            with counted(harness) as statements:
                proof = inclusion(session, index, size)
            assert len(statements) == 1, statements
            verify_inclusion(leaves[index], index, size, proof, root)
        for old in (1, 6, 8, 13):
            with counted(harness) as statements:
                proof = consistency(session, old, size)
            assert len(statements) == 1, statements
            verify_consistency(old, size, proof, root_at(session, old), root)


def test_a_size_past_the_latest_checkpoint_is_refused_first(harness: LedgerHarness) -> None:
    harness.register(Signer.from_seed("member", bytes(32)))
    with harness.sessions() as session:
        for call in (lambda: inclusion(session, 0, 3), lambda: inclusion(session, 7, 3),
                     lambda: consistency(session, 1, 3), lambda: consistency(session, 5, 3)):
            with pytest.raises(ProofError) as refused:
                call()
            assert (refused.value.code, refused.value.message) == (
                "proof.size", "tree size 3 exceeds the latest checkpoint (2)")
        with pytest.raises(ProofError) as outside:
            inclusion(session, 2, 2)
        assert outside.value.code == "proof.size" and "exceeds" not in outside.value.message
