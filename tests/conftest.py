"""Test fixtures: a real database per test (a fresh SQLite file; PostgreSQL too when TRACE_TEST_DATABASE_URL is
set), real keys, a ledger with its genesis entry, and the Flask app over it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import trace.access_models  # noqa: F401  (registers the access tables for reset_postgres)
import trace.complaint_models  # noqa: F401  (registers the complaint tables for reset_postgres)
import trace.epcis_job_models  # noqa: F401  (registers the EPCIS capture jobs for reset_postgres)
import trace.models  # noqa: F401  (registers the traceability tables for reset_postgres)
import trace.scans  # noqa: F401  (registers the look-up counts for reset_postgres)
from ledger import AppendResult, DomainPolicy, LedgerConfig, Signer, initialise_ledger, verifier_key
from ledger.checkpoint import VerifierKey
from ledger.db import Base, make_engine, make_session_factory
from trace.authority import AuthorityKeys, ledger_config, load_authority_keys
from trace.ledger_service import StatementWriter, append
from trace.migrate import upgrade_database
from trace.settings import Settings

POSTGRES_URL = os.environ.get("TRACE_TEST_DATABASE_URL", "")
TEST_ORIGIN = "test.example/ledger"
TEST_PASSPHRASE = "test-passphrase"


def utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need TRACE_TEST_DATABASE_URL (for example "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it")
    upgrade_database(POSTGRES_URL)
    return POSTGRES_URL


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every database test runs twice: on a fresh SQLite file, and on an emptied PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "trace.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    reset_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.load({"database_url": database_url, "ledger_origin": TEST_ORIGIN,
                          "key_dir": str(tmp_path / "keys"), "key_passphrase": TEST_PASSPHRASE,
                          "testing": True}, environ={})


@dataclass
class LedgerHarness:
    """A live ledger for tests, with helpers to sign and append statements."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: AuthorityKeys
    config: LedgerConfig

    @property
    def operator_key(self) -> VerifierKey:
        return verifier_key(self.config.origin, self.keys.operator.public_key)

    def writer(self, signer: Signer) -> StatementWriter:
        with self.sessions() as session:
            return StatementWriter.resume(session, signer, self.config.origin)

    def append(self, envelopes: Sequence[dict[str, Any]], *, policy: DomainPolicy | None = None,
               atomic: bool = True) -> list[AppendResult]:
        with self.sessions() as session, self.sessions() as read_session:
            try:
                results = append(session, read_session, envelopes, config=self.config, clock=utcnow,
                                 policy=policy, atomic=atomic)
            except Exception:
                session.rollback()
                raise
            session.commit()
        return results

    def register(self, signer: Signer, label: str = "test key") -> None:
        """Have the registrar add ``signer``'s key."""
        from ledger.keys import encode_public_key
        envelope = self.writer(self.keys.registrar).sign(
            "ledger.key.add", {"subject": signer.author, "public_key": encode_public_key(signer.public_key),
                               "label": label}, utcnow())
        results = self.append([envelope])
        assert results[0].error is None, results[0].error


@pytest.fixture
def harness(settings: Settings) -> Iterator[LedgerHarness]:
    keys = load_authority_keys(settings, create=True)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    config = ledger_config(settings, keys)
    with sessions() as session:
        initialise_ledger(session, config=config, registrar=keys.registrar, clock=utcnow)
        session.commit()
    yield LedgerHarness(settings, engine, sessions, keys, config)
    engine.dispose()


class AcceptTestEvents:
    """A domain policy for ledger tests: accepts ``test.*`` statements whose body is an object."""

    def __init__(self) -> None:
        self.recorded: list[int] = []

    def handles(self, statement_type: str) -> bool:
        return statement_type.startswith("test.")

    def check(self, session: Session, statement: Any, index: int, received: Any) -> None:
        from ledger import StatementError
        if statement.body.get("refuse"):
            raise StatementError("test policy refuses this statement", code="test.refused")

    def record(self, session: Session, statement: Any, index: int) -> None:
        self.recorded.append(index)


@pytest.fixture
def policy() -> AcceptTestEvents:
    return AcceptTestEvents()


@pytest.fixture
def enterprise(harness: LedgerHarness) -> Signer:
    signer = Signer.from_seed("91350100MA2XYE001C", bytes(range(32)))
    harness.register(signer)
    return signer


@pytest.fixture
def app(harness: LedgerHarness) -> Iterator[Any]:
    from api import create_app
    settings = harness.settings
    application = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                              "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase,
                              "testing": True, "rate_limits": False})
    yield application
    application.extensions["trace"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
