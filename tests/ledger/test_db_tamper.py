"""The database verifier against tampered rows: one direct SQL change to any ledger table — an entry's leaf or
any of its indexed columns, a stored subtree, a checkpoint, the head row, or the derived author, batch and key
tables — is found, with its code and, where there is one, the first bad entry."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, select, text

from ledger import VerificationError, verify_database
from ledger.db import UTCDateTime
from ledger.models import Entry
from ledger.verifier import Replay
from tests.conftest import AcceptTestEvents, LedgerHarness
from tests.ledger.forge import SampleLedger, build_sample_ledger

Expected = tuple[str, int | None]


@dataclass(frozen=True)
class Tamper:
    """Direct SQL against the harness database, outside the ledger code."""

    harness: LedgerHarness
    sample: SampleLedger

    @property
    def event(self) -> int:
        """A ``test.event`` entry in the middle of the log (linking a batch)."""
        return self.sample.rotate_index + 1

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.harness.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar_one()

    def execute(self, sql: str, **params: Any) -> None:
        with self.harness.engine.begin() as connection:
            result = connection.execute(text(sql), params)
            assert result.rowcount == 1, sql

    def execute_without_foreign_keys(self, sql: str, **params: Any) -> None:
        """As an attacker with full access would: with foreign-key enforcement switched off."""
        engine = self.harness.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                assert connection.execute(text(sql), params).rowcount == 1, sql
            return
        raw = engine.raw_connection()
        try:
            sqlite = raw.driver_connection
            assert sqlite is not None
            sqlite.execute("PRAGMA foreign_keys=OFF")
            sqlite.execute("BEGIN IMMEDIATE")
            sqlite.execute(sql, params)
            sqlite.execute("COMMIT")
            sqlite.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()


def flip_byte(value: bytes, position: int) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1:]


def other_hash(value: bytes) -> bytes:
    return flip_byte(value, len(value) - 1)


# --- the cases: each tampers with one row and returns the expected (code, index) ----------------------------------


def entry_leaf_statement_byte(t: Tamper) -> Expected:
    leaf = t.scalar("SELECT leaf FROM ledger_entries WHERE entry_index = :i", i=t.event)
    digit = re.search(rb'"n":(\d+)', leaf)
    assert digit is not None
    t.execute("UPDATE ledger_entries SET leaf = :v WHERE entry_index = :i", v=flip_byte(leaf, digit.end(1) - 1),
              i=t.event)
    return "signature.invalid", t.event


def entry_leaf_received_byte(t: Tamper) -> Expected:
    leaf = t.scalar("SELECT leaf FROM ledger_entries WHERE entry_index = :i", i=t.event)
    t.execute("UPDATE ledger_entries SET leaf = :v WHERE entry_index = :i",
              v=flip_byte(leaf, leaf.index(b'"received":"') + 12), i=t.event)  # the year's first digit
    return "verify.chain", t.event


def entry_bytes_column(column: str) -> Callable[[Tamper], Expected]:
    def tamper(t: Tamper) -> Expected:
        value = t.scalar(f"SELECT {column} FROM ledger_entries WHERE entry_index = :i", i=t.event)
        t.execute(f"UPDATE ledger_entries SET {column} = :v WHERE entry_index = :i", v=other_hash(value), i=t.event)
        return ("verify.chain" if column == "chain_hash" else "verify.row_entry"), t.event
    return tamper


def entry_text_column(column: str, value: str) -> Callable[[Tamper], Expected]:
    def tamper(t: Tamper) -> Expected:
        t.execute(f"UPDATE ledger_entries SET {column} = :v WHERE entry_index = :i", v=value, i=t.event)
        return "verify.row_entry", t.event
    return tamper


def entry_seq(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_entries SET seq = seq + 1000 WHERE entry_index = :i", i=t.event)
    return "verify.row_entry", t.event


def entry_received_at(t: Tamper) -> Expected:
    with t.harness.sessions() as session:
        moment = session.scalars(select(Entry.received_at).where(Entry.index == t.event)).one()
    with t.harness.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_entries SET received_at = :v WHERE entry_index = :i")
                           .bindparams(bindparam("v", type_=UTCDateTime())),
                           {"v": moment + timedelta(seconds=1), "i": t.event})
    return "verify.row_entry", t.event


def delete_last_entry(t: Tamper) -> Expected:
    t.execute_without_foreign_keys("DELETE FROM ledger_entries WHERE entry_index = :i", i=t.sample.size - 1)
    return "verify.checkpoint_size", None


def delete_middle_entry(t: Tamper) -> Expected:
    t.execute_without_foreign_keys("DELETE FROM ledger_entries WHERE entry_index = :i", i=t.event)
    return "verify.order", t.event


def insert_extra_entry(t: Tamper) -> Expected:
    """A copy of the last entry appended after it (with unique columns made unique): the rules refuse it."""
    last = t.sample.size - 1
    t.execute("INSERT INTO ledger_entries (entry_index, leaf, leaf_hash, chain_hash, statement_hash, author, seq, "
              "key_id, type, received_at) SELECT entry_index + 1, leaf, leaf_hash, chain_hash, :h, author, "
              "seq + 1000, key_id, type, received_at FROM ledger_entries WHERE entry_index = :i",
              h=bytes(32), i=last)
    return "sequence.conflict", last + 1


def node_hash(t: Tamper) -> Expected:
    value = t.scalar("SELECT hash FROM ledger_tree_nodes WHERE level = 2 AND position = 3")
    t.execute("UPDATE ledger_tree_nodes SET hash = :v WHERE level = 2 AND position = 3", v=other_hash(value))
    return "verify.row_node", (4 << 2) - 1


def delete_node(t: Tamper) -> Expected:
    t.execute("DELETE FROM ledger_tree_nodes WHERE level = 1 AND position = 5")
    return "verify.row_node", (6 << 1) - 1


def insert_node(t: Tamper) -> Expected:
    t.execute("INSERT INTO ledger_tree_nodes (level, position, hash) VALUES (1, 1000000, :v)", v=bytes(32))
    return "verify.row_node", None


def checkpoint_note_signature(t: Tamper) -> Expected:
    size = t.sample.early_size
    note: str = t.scalar("SELECT note FROM ledger_checkpoints WHERE tree_size = :s", s=size)
    head, signature = note.rstrip("\n").rsplit(" ", 1)
    middle = len(signature) // 2
    changed = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    t.execute("UPDATE ledger_checkpoints SET note = :v WHERE tree_size = :s", v=f"{head} {changed}\n", s=size)
    return "checkpoint.signature", None


def checkpoint_note_swapped(t: Tamper) -> Expected:
    """The note of another (genuine) checkpoint stored under this size: the columns disagree with it."""
    size = t.sample.early_size
    t.execute("UPDATE ledger_checkpoints SET note = (SELECT note FROM ledger_checkpoints WHERE tree_size = :o) "
              "WHERE tree_size = :s", o=t.sample.rotate_index + 1, s=size)
    return "verify.row_checkpoint", size - 1


def checkpoint_root_hash(t: Tamper) -> Expected:
    size = t.sample.early_size
    value = t.scalar("SELECT root_hash FROM ledger_checkpoints WHERE tree_size = :s", s=size)
    t.execute("UPDATE ledger_checkpoints SET root_hash = :v WHERE tree_size = :s", v=other_hash(value), s=size)
    return "verify.row_checkpoint", size - 1


def checkpoint_created_at(t: Tamper) -> Expected:
    """``created_at`` is the receive time of the checkpoint's batch, that is of its last entry."""
    size = t.sample.early_size
    t.execute("UPDATE ledger_checkpoints SET created_at = (SELECT received_at FROM ledger_entries WHERE "
              "entry_index = 0) WHERE tree_size = :s", s=size)
    return "verify.row_checkpoint", size - 1


def delete_latest_checkpoint(t: Tamper) -> Expected:
    t.execute("DELETE FROM ledger_checkpoints WHERE tree_size = :s", s=t.sample.size)
    return "verify.no_checkpoint", None


def head_tree_size(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_head SET tree_size = tree_size - 1 WHERE id = 1")
    return "verify.row_head", None


def head_chain_hash(t: Tamper) -> Expected:
    value = t.scalar("SELECT chain_hash FROM ledger_head WHERE id = 1")
    t.execute("UPDATE ledger_head SET chain_hash = :v WHERE id = 1", v=other_hash(value))
    return "verify.row_head", None


def head_registrar(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_head SET registrar = :v WHERE id = 1", v="ENT-A")
    return "verify.row_head", None


def head_last_received(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_head SET last_received = :v WHERE id = 1", v="2000-01-01T00:00:00.000000Z")
    return "verify.row_head", None


def author_seq(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_authors SET seq = seq - 1 WHERE author = :a", a="ENT-C")
    return "verify.row_author", None


def author_statement_hash(t: Tamper) -> Expected:
    value = t.scalar("SELECT statement_hash FROM ledger_authors WHERE author = :a", a="ENT-C")
    t.execute("UPDATE ledger_authors SET statement_hash = :v WHERE author = :a", v=other_hash(value), a="ENT-C")
    return "verify.row_author", None


def author_entry_index(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_authors SET entry_index = entry_index - 1 WHERE author = :a", a="ENT-C")
    return "verify.row_author", None


def delete_author(t: Tamper) -> Expected:
    t.execute("DELETE FROM ledger_authors WHERE author = :a", a="ENT-B")
    return "verify.row_author", None


def batch_statement_hash(t: Tamper) -> Expected:
    value = t.scalar("SELECT statement_hash FROM ledger_batch_heads WHERE ref = :r", r="LOT-A1")
    t.execute("UPDATE ledger_batch_heads SET statement_hash = :v WHERE ref = :r", v=other_hash(value), r="LOT-A1")
    return "verify.row_batch", None


def batch_entry_index(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_batch_heads SET entry_index = 0 WHERE ref = :r", r="LOT-C1")
    return "verify.row_batch", None


def delete_batch(t: Tamper) -> Expected:
    t.execute("DELETE FROM ledger_batch_heads WHERE ref = :r", r="LOT-C1")
    return "verify.row_batch", None


def insert_batch(t: Tamper) -> Expected:
    t.execute("INSERT INTO ledger_batch_heads (ref, statement_hash, entry_index) "
              "SELECT :r, statement_hash, entry_index FROM ledger_batch_heads WHERE ref = :o", r="LOT-FAKE",
              o="LOT-A1")
    return "verify.row_batch", None


def key_revoked_index(value: str) -> Callable[[Tamper], Expected]:
    def tamper(t: Tamper) -> Expected:
        t.execute(f"UPDATE ledger_keys SET revoked_index = {value} WHERE key_id = :k",
                  k=t.sample.enterprise_b.key_id)
        return "verify.row_key", None
    return tamper


def key_public_key(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_keys SET public_key = :v WHERE key_id = :k", v=t.sample.enterprise_c.public_key,
              k=t.sample.enterprise_a2.key_id)
    return "verify.row_key", None


def key_author(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_keys SET author = :v WHERE key_id = :k", v="ENT-B", k=t.sample.enterprise_c.key_id)
    return "verify.row_key", None


def key_label(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_keys SET label = :v WHERE key_id = :k", v="key of ENT-A",
              k=t.sample.enterprise_c.key_id)
    return "verify.row_key", None


def key_added_index(t: Tamper) -> Expected:
    t.execute("UPDATE ledger_keys SET added_index = 0 WHERE key_id = :k", k=t.sample.enterprise_c.key_id)
    return "verify.row_key", None


def delete_key(t: Tamper) -> Expected:
    t.execute("DELETE FROM ledger_keys WHERE key_id = :k", k=t.sample.enterprise_b.key_id)
    return "verify.row_key", None


def insert_key(t: Tamper) -> Expected:
    t.execute("INSERT INTO ledger_keys (key_id, author, public_key, label, added_index, revoked_index) "
              "VALUES (:k, :a, :p, :l, :i, NULL)", k="00112233aabbccdd", a="ENT-C", p=bytes(range(32)),
              l="planted key", i=1)
    return "verify.row_key", None


CASES: dict[str, Callable[[Tamper], Expected]] = {
    "entries.leaf_statement_byte": entry_leaf_statement_byte,
    "entries.leaf_received_byte": entry_leaf_received_byte,
    "entries.leaf_hash": entry_bytes_column("leaf_hash"),
    "entries.chain_hash": entry_bytes_column("chain_hash"),
    "entries.statement_hash": entry_bytes_column("statement_hash"),
    "entries.author": entry_text_column("author", "ENT-Z"),
    "entries.seq": entry_seq,
    "entries.key_id": entry_text_column("key_id", "0123456789abcdef"),
    "entries.type": entry_text_column("type", "test.other"),
    "entries.received_at": entry_received_at,
    "entries.delete_last": delete_last_entry,
    "entries.delete_middle": delete_middle_entry,
    "entries.insert": insert_extra_entry,
    "tree_nodes.hash": node_hash,
    "tree_nodes.delete": delete_node,
    "tree_nodes.insert": insert_node,
    "checkpoints.note_signature": checkpoint_note_signature,
    "checkpoints.note_swapped": checkpoint_note_swapped,
    "checkpoints.root_hash": checkpoint_root_hash,
    "checkpoints.created_at": checkpoint_created_at,
    "checkpoints.delete_latest": delete_latest_checkpoint,
    "head.tree_size": head_tree_size,
    "head.chain_hash": head_chain_hash,
    "head.registrar": head_registrar,
    "head.last_received": head_last_received,
    "authors.seq": author_seq,
    "authors.statement_hash": author_statement_hash,
    "authors.entry_index": author_entry_index,
    "authors.delete": delete_author,
    "batch_heads.statement_hash": batch_statement_hash,
    "batch_heads.entry_index": batch_entry_index,
    "batch_heads.delete": delete_batch,
    "batch_heads.insert": insert_batch,
    "keys.revoked_index_cleared": key_revoked_index("NULL"),
    "keys.revoked_index_moved": key_revoked_index("revoked_index + 1"),
    "keys.public_key": key_public_key,
    "keys.author": key_author,
    "keys.label": key_label,
    "keys.added_index": key_added_index,
    "keys.delete": delete_key,
    "keys.insert": insert_key,
}


@pytest.fixture
def sample(harness: LedgerHarness, policy: AcceptTestEvents) -> SampleLedger:
    return build_sample_ledger(harness, policy)


def test_intact_database_verifies(harness: LedgerHarness, sample: SampleLedger) -> None:
    with harness.sessions() as session:
        report = verify_database(session, harness.operator_key)
    assert report.tree_size == sample.size
    assert report.checkpoints_checked == 9  # one per sequenced batch
    assert (report.keys, report.revoked_keys) == (7, 2)


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_row_is_detected(harness: LedgerHarness, sample: SampleLedger, case: str) -> None:
    with harness.sessions() as session:
        verify_database(session, harness.operator_key)
    code, index = CASES[case](Tamper(harness, sample))
    with harness.sessions() as session, pytest.raises(VerificationError) as caught:
        verify_database(session, harness.operator_key)
    assert (caught.value.code, caught.value.index) == (code, index), str(caught.value)


SPILLED_CASES = ["batch_heads.statement_hash", "batch_heads.entry_index", "batch_heads.delete", "batch_heads.insert"]


@pytest.mark.parametrize("case", [None, *SPILLED_CASES])
def test_batch_heads_spilled_to_disk_are_compared_too(harness: LedgerHarness, sample: SampleLedger,
                                                      monkeypatch: pytest.MonkeyPatch, case: str | None) -> None:
    """The verifier keeps batch heads in a temporary SQLite file past a threshold; force that path."""
    monkeypatch.setattr("ledger.db_verifier.Replay", functools.partial(Replay, batch_heads_in_memory=2))
    expected = None if case is None else CASES[case](Tamper(harness, sample))
    with harness.sessions() as session:
        if expected is None:
            assert verify_database(session, harness.operator_key).tree_size == sample.size
            return
        with pytest.raises(VerificationError) as caught:
            verify_database(session, harness.operator_key)
    assert (caught.value.code, caught.value.index) == expected, str(caught.value)
