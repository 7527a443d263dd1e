"""Proof requests on PostgreSQL: statements per request and latency, on a copy of a SQLite ledger.

    python -m bench.proof_round_trips var/bench/public-1m.db                 # copy into `proof_bench`, measure
    python -m bench.proof_round_trips var/bench/public-1m.db --keep --no-copy  # measure the copy made before

The SQLite ledger is copied with :func:`bench.ledger_bench.copy_sqlite_to_postgres` into the database
``--database`` (dropped and created first unless ``--no-copy``), then :func:`bench.ledger_bench.proof_latencies`
runs random inclusion and consistency proofs at the latest checkpoint, one read session per request as the API
opens it (``ledger.db.open_for_reads``: autocommit, and a ping only for a connection idle 5 s). Then 100 more
requests of each kind count what the engine sends per request, by kind (``BEGIN``, ``ROLLBACK`` and the proof's own
statements). Figures go to ``bench/results/proofs.json``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench.common import DEFAULT_PG_ADMIN, log, machine
from bench.ledger_bench import Ledger, copy_sqlite_to_postgres, proof_latencies
from bench.synth_bench import fresh_postgres
from ledger import LedgerConfig, Signer, consistency, inclusion
from ledger.db import make_engine, make_session_factory
from trace.settings import ROOT

RESULTS = ROOT / "bench" / "results" / "proofs.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sqlite", type=Path, help="the SQLite ledger to copy (read only)")
    parser.add_argument("--database", default="proof_bench", help="the PostgreSQL database to (re)create")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--no-copy", action="store_true", help="measure the copy made by an earlier run")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    url = args.postgres_admin_url.rsplit("/", 1)[0] + "/" + args.database
    if not args.no_copy:
        url = fresh_postgres(args.postgres_admin_url, args.database)
        copy_sqlite_to_postgres(args.sqlite, url)
    engine = make_engine(url)
    kinds: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.lstrip().split(None, 1)
        kinds[words[0].upper() if words else "?"] += 1

    def on_the_wire(connection: Any) -> bool:
        # SQLAlchemy fires its begin and rollback events in autocommit too, where psycopg sends nothing
        return not connection.connection.dbapi_connection.autocommit

    def count_begin(connection: Any) -> None:
        if on_the_wire(connection):
            kinds["BEGIN"] += 1  # psycopg sends it itself, before the first statement of a transaction

    def count_rollback(connection: Any) -> None:
        if on_the_wire(connection):
            kinds["ROLLBACK"] += 1

    try:
        with engine.connect() as connection:
            size = int(connection.execute(text("SELECT max(tree_size) FROM ledger_checkpoints")).scalar_one())
            origin = str(connection.execute(text("SELECT origin FROM ledger_head WHERE id = 1")).scalar_one())
        # The operator key is not used: proofs only read.
        ledger = Ledger("postgresql", url, engine, make_session_factory(engine),
                        LedgerConfig(origin=origin, operator=Signer.from_seed("operator", bytes(32))))
        figures = proof_latencies(ledger, size, args.requests)
        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "begin", count_begin)
        event.listen(engine, "rollback", count_rollback)
        for number in range(100):
            with ledger.read_session() as session:
                inclusion(session, number * (size // 100), size)
            with ledger.read_session() as session:
                consistency(session, 1 + number * (size // 100), size)
        figures["statements_per_request"] = {kind: round(number / 200, 2) for kind, number in kinds.items()}
    finally:
        engine.dispose()
    log(f"statements per request: {figures['statements_per_request']}")
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results.update(machine())
    results.setdefault("runs", {})[f"{args.sqlite.name} (autocommit reads, idle ping)"] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
