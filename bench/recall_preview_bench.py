"""Recall preview benchmark: :func:`trace.recall_scope.preview_scope` for random lots of a ledger someone else
built (a ``python -m trace synth`` ledger, or the suite's), as the suite's "recall scope preview, random lots" row
measures it, on SQLite and, copied, on PostgreSQL.

    python -m bench.recall_preview_bench LEDGER.db                     # SQLite, opened read-only
    python -m bench.recall_preview_bench LEDGER.db --postgres URL      # and the copy of it at URL
    python -m bench.recall_preview_bench LEDGER.db --postgres URL --copy   # copy it there first (URL: empty)

The lots are the suite's choice (``bench.suite_measures.random_lots``: ``--lots`` of them drawn with ``--seed``
from the ledger's lots in order). Each preview runs on a fresh read session, opened as the API opens it, and is
timed from before the session opens to after it closes: wall time, and this process's CPU time (on PostgreSQL the
server's share is not in it). ``scopes_sha256`` is a digest of every preview's result (batches, positions,
parties), to show that a change to the queries leaves the results as they were. Figures go to
``bench/results/recall_preview-NAME.json`` (``--name``, by default the ledger file's name).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.api_bench import latency_figures
from bench.common import log, machine, write_results
from bench.ledger_bench import copy_sqlite_to_postgres
from ledger.db import make_engine, make_session_factory, open_for_reads
from trace.models import Batch
from trace.recall_scope import RecallScope, preview_scope
from trace.settings import ROOT

RESULTS_DIR = ROOT / "bench" / "results"


def read_only_url(path: Path) -> str:
    """The SQLite URL that opens ``path`` read-only: the benchmark never writes to a shared ledger."""
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"


def random_lots(sessions: sessionmaker[Session], count: int, seed: int) -> list[str]:
    """As ``bench.suite_measures.random_lots``: ``count`` lots drawn with ``seed`` from the lots in order."""
    with sessions() as session:
        refs = sorted(session.scalars(select(Batch.ref).where(Batch.kind == "lot")))
    return random.Random(seed).sample(refs, min(count, len(refs)))


def describe(scope: RecallScope) -> str:
    """The whole result of a preview as text (the dataclasses' reprs), for the digest."""
    return repr((list(scope.batches.values()), scope.positions, sorted(scope.parties.items())))


def measure(url: str, lots: list[str]) -> dict[str, Any]:
    """Wall and CPU time of the preview of each lot, the scopes' sizes and the digest of their results."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    wall, cpu, sizes = [], [], []
    digest = hashlib.sha256()
    try:
        for ref in lots:
            started, started_cpu = time.perf_counter(), time.process_time()
            with open_for_reads(sessions()) as session:
                scope = preview_scope(session, ref)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            sizes.append(len(scope.batches))
            digest.update(describe(scope).encode())
    finally:
        engine.dispose()
    ordered = sorted(sizes)
    return {"wall": latency_figures(wall), "cpu": latency_figures(cpu), "cpu_total_ms": round(sum(cpu) * 1000, 1),
            "batches_p50": ordered[len(ordered) // 2], "batches_max": ordered[-1],
            "scopes_sha256": digest.hexdigest()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ledger", type=Path, help="the SQLite ledger")
    parser.add_argument("--postgres", help="a PostgreSQL database holding a copy of the ledger")
    parser.add_argument("--copy", action="store_true", help="copy the ledger into --postgres first")
    parser.add_argument("--lots", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", help="results file suffix (default: the ledger file's stem)")
    args = parser.parse_args(argv)
    if args.copy and not args.postgres:
        parser.error("--copy needs --postgres")
    sqlite_url = read_only_url(args.ledger)
    engine = make_engine(sqlite_url)
    try:
        lots = random_lots(make_session_factory(engine), args.lots, args.seed)
    finally:
        engine.dispose()
    results: dict[str, Any] = {**machine(), "ledger": args.ledger.name, "lots": len(lots), "seed": args.seed}
    log(f"recall preview: {len(lots)} lots of {args.ledger.name}")
    results["sqlite"] = measure(sqlite_url, lots)
    if args.postgres:
        if args.copy:
            results["postgresql_copy"] = copy_sqlite_to_postgres(args.ledger, args.postgres)["copy_seconds"]
        results["postgresql"] = measure(args.postgres, lots)
    write_results(RESULTS_DIR / f"recall_preview-{args.name or args.ledger.stem}.json", results)
    print(json.dumps({name: results[name] for name in ("sqlite", "postgresql") if name in results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
