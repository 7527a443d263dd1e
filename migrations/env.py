"""Alembic environment. Run migrations through `python -m trace init-db` (or `migrate`), which passes the
database URL; the repository root goes first on sys.path so `trace` is this project's package."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import context  # noqa: E402

import ledger.models  # noqa: E402,F401  (registers the ledger tables)
import trace.access_models  # noqa: E402,F401  (registers the access tables)
import trace.audits  # noqa: E402,F401  (registers the integrity audit tables)
import trace.complaint_models  # noqa: E402,F401  (registers the complaint tables)
import trace.epcis_job_models  # noqa: E402,F401  (registers the EPCIS capture jobs)
import trace.models  # noqa: E402,F401  (registers the traceability tables)
import trace.officers  # noqa: E402,F401  (registers the officers' keys)
import trace.recall_notices  # noqa: E402,F401  (registers the recall notices)
import trace.scans  # noqa: E402,F401  (registers the look-up counts)
import trace.verdicts  # noqa: E402,F401  (registers the stored verdicts on batch proofs)
import trace.workspace_models  # noqa: E402,F401  (registers the workspace tables)
from ledger.db import Base, make_engine  # noqa: E402

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
