"""Database plumbing shared by every package: the declarative base, the engine factory, sessions.

SQLite is configured to behave like PostgreSQL where it matters: foreign keys on, WAL journal, a busy timeout,
and real transactions (``BEGIN IMMEDIATE`` unless a connection asks for a deferred, read-only one). A PostgreSQL
pool checks a connection with a ping only when it has been idle for a while (:data:`PING_AFTER_IDLE_SECONDS`), not
at every checkout, and read sessions run in autocommit (:func:`open_for_reads`): a one-statement proof then costs
one round trip instead of four. The append path writes its thousands of rows per batch through the driver
(:func:`bulk_insert`: ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_SECONDS = 5.0


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it has been idle for :data:`PING_AFTER_IDLE_SECONDS`.

    A dead one (the server restarted, a firewall dropped it) is then replaced before the request uses it. A busy
    pool skips the ping, which ``pool_pre_ping`` would send before every request; if the server restarts under load,
    the first statement on each stale connection fails, and the pool replaces all connections older than that.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below instead of pysqlite's own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


def open_for_reads(session: Session) -> Session:
    """Begin ``session`` for reads only: on SQLite a deferred transaction (one WAL snapshot, no write lock); on
    PostgreSQL autocommit. There a READ COMMITTED transaction gives each statement its own snapshot anyway, so
    autocommit loses no consistency and saves the ``BEGIN`` and ``ROLLBACK`` round trips. Nothing written in such
    a session could be rolled back: write in another."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    else:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
    return session


def insert_on_conflict(session: Session, table: Any) -> Any:
    """An ``INSERT`` into ``table`` that takes ``ON CONFLICT`` clauses (``on_conflict_do_update``,
    ``on_conflict_do_nothing``), in the dialect of the database ``session`` is bound to: PostgreSQL or SQLite."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"no INSERT … ON CONFLICT for database {name}")


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table`` in ``session``'s transaction, through the
    driver: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

    For the append path's thousands of rows per batch. SQLAlchemy's ``executemany`` builds and processes a
    parameter dictionary per row, which cost about as much as the database's own work; here each value must
    already be what the driver takes (convert typed values once with :func:`bind_value`).
    """
    connection = session.connection()
    dialect = connection.dialect
    names = ", ".join(columns)
    copy_rows = dialect.name == "postgresql"
    if copy_rows:
        statement = f"COPY {table.name} ({names}) FROM STDIN"
    else:
        statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if copy_rows:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(statement, rows)
    except dialect.loaded_dbapi.Error as exc:
        # The same exception classes as a statement run through SQLAlchemy (IntegrityError, OperationalError…).
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def bind_value(session: Session, column: Column[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy would hand it to the driver for ``column`` (for :func:`bulk_insert`)."""
    process = column.type.bind_processor(session.get_bind().dialect)
    return value if process is None else process(value)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)
