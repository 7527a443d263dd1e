"""Recall benchmark: the downstream scope of a recall over a few hundred batches, built through the real append path.

    python -m bench.recall_bench            # SQLite and PostgreSQL (scratch database bench_recalls)
    python -m bench.recall_bench --sqlite   # SQLite only

The graph: a lot split into 10 lots, each processed 30 times in a row (311 batches, 310 provenance edges), with
the last lot of each line partly shipped to a second enterprise (10 shipments still in transit). Measured:

* ``preview_311``: :func:`trace.recall_scope.preview_scope` before the recall (one recursive walk);
* ``scope_311``: :func:`trace.recall_scope.recall_scope` after the recall (the batches carrying its mark);
* ``rules_walk_311``: :func:`trace.recall_tracking.recall_state` on a database-backed book: what the rules read
  when the recall is closed (one lookup per record, as the sequencer does);
* ``recall_append``: appending the ``trace.recall`` itself (marks all 311 batches), once.

Each query runs ``--repeat`` times on a fresh session; figures (median, p95, max in ms) go to
``bench/results/recall.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import analyze, database_arguments, log, machine, run_each_database, write_results
from bench.provenance_bench import Builder, _code, measure
from ledger import Signer
from ledger.db import make_engine, make_session_factory
from ledger.keys import encode_public_key
from ledger.models import Entry
from trace.book import Book
from trace.ledger_service import StatementWriter
from trace.migrate import upgrade_database
from trace.recall_scope import preview_scope, recall_scope
from trace.recall_tracking import recall_state
from trace.settings import ROOT, Settings
from trace.store import SessionSource

ORIGIN = "bench.example/recalls"
RESULTS = ROOT / "bench" / "results" / "recall.json"
PG_DATABASE = "bench_recalls"
LINES, HOPS = 10, 30


def build(builder: Builder) -> tuple[str, int]:
    """The graph of the module docstring; returns the root's reference and the number of batches."""
    started = time.perf_counter()
    market = _code(2)
    market_signer = Signer.from_seed(market, hashlib.sha256(b"bench market").digest())
    builder.flush()
    registrar = _writer(builder.sessions, builder.keys.registrar, builder.config.origin)
    builder.pending += [
        registrar.sign("trace.enterprise.register", {
            "credit_code": market, "name": "基准测试批发市场", "roles": ["wholesaler"],
            "locations": [{"id": "hall", "name": "交易大厅", "address": "上海"}],
            "commitment_sha256": hashlib.sha256(b"commitment").hexdigest()}, builder.now()),
        registrar.sign("ledger.key.add", {"subject": market, "public_key": encode_public_key(
            market_signer.public_key), "label": "bench"}, builder.now())]
    builder.flush()
    builder.commission("R", "30000")
    builder.transform("split", [("R", "30000")], [(f"L{line}", "3000") for line in range(LINES)])
    for line in range(LINES):
        for hop in range(1, HOPS + 1):
            previous = f"L{line}" if hop == 1 else f"L{line}.{hop - 1}"
            builder.transform("process", [(previous, "3000")], [(f"L{line}.{hop}", "3000")])
        last = builder.ref(f"L{line}.{HOPS}")
        builder.add("trace.ship", {"batch": last, "quantity": "1000", "to": market, "shipment_id": f"S-{line}"},
                    [last])
    builder.flush()
    log(f"built {builder.appended} entries in {time.perf_counter() - started:.1f} s")
    return builder.ref("R"), 1 + LINES + LINES * HOPS


def _writer(sessions: sessionmaker[Session], signer: Signer, origin: str) -> StatementWriter:
    with sessions() as session:
        return StatementWriter.resume(session, signer, origin)


def run_database(name: str, url: str, workdir: Path, repeat: int) -> dict[str, Any]:
    upgrade_database(url)
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": "bench-only"}, environ={})
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        builder = Builder(sessions, settings)
        root, batches = build(builder)
        analyze(engine)

        def check(scope: Any) -> None:
            assert len(scope.batches) == batches, (len(scope.batches), batches)

        figures: dict[str, Any] = {"entries": builder.appended, "batches": batches,
                                   "preview_311": measure(sessions, lambda s: preview_scope(s, root), repeat, check)}
        registrar = _writer(sessions, builder.keys.registrar, builder.config.origin)
        builder.pending.append(registrar.sign("trace.recall", {"batch": root, "reason": "bench", "level": "1"},
                                              builder.now(), links={root: builder.heads[root]}))
        started = time.perf_counter()
        builder.flush()
        figures["recall_append_ms"] = round((time.perf_counter() - started) * 1000, 1)
        with sessions() as session:
            index = session.scalars(select(Entry.index).where(Entry.type == "trace.recall")).one()
        figures["scope_311"] = measure(sessions, lambda s: recall_scope(s, index), repeat, check)

        def walk_check(state: Any) -> None:
            assert (len(state.batches), len(state.held), len(state.in_transit)) == (batches, LINES, LINES)
        figures["rules_walk_311"] = measure(sessions, lambda s: recall_state(Book(SessionSource(s)), index),
                                            max(3, repeat // 4), walk_check)
        log(f"{name}: " + ", ".join(f"{key} {value['median_ms']} ms" for key, value in figures.items()
                                     if isinstance(value, dict)) + f", recall append {figures['recall_append_ms']} ms")
        return figures
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = database_arguments(__doc__, repeat=20).parse_args(argv)
    results: dict[str, Any] = {**machine()}
    results.update(run_each_database(lambda name, url, workdir: run_database(name, url, workdir, args.repeat), args,
                                     sqlite_file="recalls.db", pg_database=PG_DATABASE))
    write_results(RESULTS, results)
    print(json.dumps({db: {key: value["median_ms"] if isinstance(value, dict) else value
                           for key, value in figures.items()}
                      for db, figures in results.items() if db in ("sqlite", "postgresql")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
