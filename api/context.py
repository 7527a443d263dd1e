"""Per-application objects and the per-request database session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerConfig, VerifierKey
from trace.authority import AuthorityKeys
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


def app_context() -> AppContext:
    context: AppContext = current_app.extensions["trace"]
    return context


def read_session() -> Session:
    """The request's read-only session (on SQLite a deferred transaction, so readers never wait on writers)."""
    if "read_session" not in g:
        session = app_context().sessions()
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        g.read_session = session
    session_: Session = g.read_session
    return session_


def close_session(_exc: BaseException | None) -> None:
    session = g.pop("read_session", None)
    if session is not None:
        session.close()
