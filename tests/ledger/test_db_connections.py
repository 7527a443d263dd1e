"""PostgreSQL connections as ledger.db makes them: read sessions in autocommit, and a ping only for idle ones."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import ledger.db
from ledger.db import make_engine, make_session_factory, open_for_reads

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(postgres_migrated: str) -> str:
    return postgres_migrated


def test_a_read_session_runs_each_statement_on_its_own(url: str) -> None:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            open_for_reads(session)
            same = []
            for _ in range(2):
                # now() is the transaction's start: it equals the statement's time only outside a transaction
                same.append(session.execute(text("SELECT now() = statement_timestamp()")).scalar_one())
                time.sleep(0.02)
        with make_session_factory(engine)() as session:
            session.execute(text("SELECT 1"))
            time.sleep(0.02)
            in_transaction = session.execute(text("SELECT now() = statement_timestamp()")).scalar_one()
    finally:
        engine.dispose()
    assert same == [True, True]
    assert in_transaction is False, "a session not opened for reads is one transaction"


def _kill_pooled_connection(url: str, ping_after: float, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Check a connection back into the pool, have the server end it, and check one out again after ``ping_after``
    is passed: the backend process ids before and after."""
    monkeypatch.setattr(ledger.db, "PING_AFTER_IDLE_SECONDS", ping_after)
    engine = make_engine(url)
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool,
                          isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            before = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before}).scalar_one()
        time.sleep(0.05)
        with engine.connect() as connection:
            after = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    finally:
        engine.dispose()
        admin.dispose()
    return before, after


def test_an_idle_connection_the_server_ended_is_replaced_before_use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _kill_pooled_connection(url, 0.01, monkeypatch)
    assert after != before


def test_a_busy_pool_does_not_ping(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DBAPIError):
        _kill_pooled_connection(url, 3600.0, monkeypatch)  # not idle long enough: used as it is, and fails
