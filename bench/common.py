"""What the benchmarks share: a log line with the time, the machine's description, a scratch PostgreSQL
database, refreshing the planner's statistics after a load, and the usual run of one measurement on a fresh
SQLite file and then on PostgreSQL."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
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


def database_arguments(description: str | None, *, repeat: int) -> argparse.ArgumentParser:
    """The options every per-database benchmark takes: ``--sqlite`` (SQLite only), ``--postgres-admin`` and
    ``--repeat``; the caller adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-admin", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def run_each_database(run: Callable[[str, str, Path], dict[str, Any]], args: argparse.Namespace, *, sqlite_file: str,
                      pg_database: str) -> dict[str, dict[str, Any]]:
    """``run(name, url, workdir)`` on a fresh SQLite file ``sqlite_file`` in a temporary directory, then, unless
    ``args.sqlite``, on the scratch PostgreSQL database ``pg_database``; the figures by database name."""
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir)
        results["sqlite"] = run("sqlite", f"sqlite:///{path / sqlite_file}", path / "sqlite")
        if not args.sqlite:
            with scratch_postgres(args.postgres_admin, pg_database) as url:
                results["postgresql"] = run("postgresql", url, path / "pg")
    return results


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
