"""What the benchmarks share: a log line with the time, the machine's description, a scratch PostgreSQL
database, and refreshing the planner's statistics after a load."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from ledger.db import make_engine

DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    return {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}


@contextmanager
def scratch_postgres(admin_url: str, database: str) -> Iterator[str]:
    """A fresh database ``database`` on the server of ``admin_url``, dropped afterwards; yields its URL."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        connection.execute(text(f"CREATE DATABASE {database}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + database
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        admin.dispose()


def analyze(engine: Engine) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (nothing to do on SQLite)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
