"""The Alembic migrations create exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import ledger.models  # noqa: F401  (registers the tables)
import trace.access_models  # noqa: F401
import trace.audits  # noqa: F401
import trace.complaint_models  # noqa: F401
import trace.epcis_job_models  # noqa: F401
import trace.models  # noqa: F401
import trace.officers  # noqa: F401
import trace.recall_notices  # noqa: F401
import trace.scans  # noqa: F401
import trace.workspace_models  # noqa: F401
from ledger.db import Base, make_engine


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
