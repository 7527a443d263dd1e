"""Per-application objects and the per-request database sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerConfig, VerifierKey
from ledger.db import open_for_reads
from trace.authority import AuthorityKeys
from trace.officers import Officers
from trace.settings import Settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: AuthorityKeys
    ledger: LedgerConfig
    operator_key: VerifierKey
    clock: Callable[[], datetime]
    officers: Officers


def app_context() -> AppContext:
    context: AppContext = current_app.extensions["trace"]
    return context


def read_session() -> Session:
    """The request's read-only session (``ledger.db.open_for_reads``: on SQLite a deferred transaction, so readers
    never wait on writers; on PostgreSQL autocommit)."""
    if "read_session" not in g:
        g.read_session = open_for_reads(app_context().sessions())
    session_: Session = g.read_session
    return session_


def write_session() -> Session:
    """The request's session for changes; the view that asked for it commits it once, at its end."""
    if "write_session" not in g:
        g.write_session = app_context().sessions()
    session_: Session = g.write_session
    return session_


def now() -> datetime:
    return app_context().clock()


def close_session(_exc: BaseException | None) -> None:
    for name in ("write_session", "read_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()
