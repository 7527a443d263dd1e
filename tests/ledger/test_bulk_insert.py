"""ledger.db.bulk_insert: the append path's driver-level insert (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.db import bind_value, bulk_insert, make_engine, make_session_factory
from ledger.models import CheckpointRecord, TreeNode

from ..conftest import LedgerHarness

LEVEL = 40  # far above any subtree a test ledger has, so the rows cannot clash with the harness's own


def test_rows_read_back_as_sqlalchemy_wrote_them(harness: LedgerHarness) -> None:
    table = CheckpointRecord.__table__
    moment = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with harness.sessions() as session:
        value = bind_value(session, table.c.created_at, moment)
        bulk_insert(session, table, ("tree_size", "root_hash", "note", "created_at"),
                    [(10_000 + n, bytes([n]) * 32, f"note {n}\n— 含中文", value) for n in range(3)])
        session.commit()
    with harness.sessions() as session:
        rows = session.execute(select(CheckpointRecord).where(CheckpointRecord.tree_size >= 10_000)
                               .order_by(CheckpointRecord.tree_size)).scalars().all()
    assert [(row.tree_size, row.root_hash, row.note) for row in rows] == [
        (10_000 + n, bytes([n]) * 32, f"note {n}\n— 含中文") for n in range(3)]
    assert {row.created_at for row in rows} == {moment.astimezone(UTC)}


def test_a_duplicate_row_raises_sqlalchemys_integrity_error_and_writes_nothing(harness: LedgerHarness) -> None:
    table = TreeNode.__table__
    columns = ("level", "position", "hash")
    with harness.sessions() as session:
        with pytest.raises(IntegrityError):
            bulk_insert(session, table, columns, [(LEVEL, 0, bytes(32)), (LEVEL, 1, bytes(32)), (LEVEL, 0, bytes(32))])
        session.rollback()
    with harness.sessions() as session:
        assert session.scalars(select(TreeNode.position).where(TreeNode.level == LEVEL)).all() == []


def test_rows_go_into_the_sessions_transaction(harness: LedgerHarness) -> None:
    table = TreeNode.__table__
    with harness.sessions() as session:
        bulk_insert(session, table, ("level", "position", "hash"), [(LEVEL, 7, bytes(32))])
        session.rollback()
    engine = make_engine(harness.settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalars(select(TreeNode.position).where(TreeNode.level == LEVEL)).all() == []
    finally:
        engine.dispose()
