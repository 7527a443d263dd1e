"""Provenance benchmark: ``trace_back`` and ``trace_forward`` on large graphs built through the real append path.

    python -m bench.provenance_bench            # SQLite and PostgreSQL (scratch database bench_provenance)
    python -m bench.provenance_bench --sqlite   # SQLite only

Graphs, each made of signed statements appended through ``trace.ledger_service.append`` with the traceability
policy (so the tables are exactly what the service would hold):

* ``chain``: a lot processed 99 times, each output consumed whole by the next transformation: 100 batches in a
  100-hop chain; measured with ``trace_back`` from the last batch and ``trace_forward`` from the first;
* ``fan_out``: a lot split into 100 lots, each split into 99: 10,001 batches; ``trace_forward`` from the root
  (the scope of a recall, holders included);
* ``fan_in``: 9,900 commissioned lots merged 99 at a time into 100 lots, merged into one: 10,001 batches;
  ``trace_back`` from the final lot, with every batch's events (who/where/when of each hop), and with each
  batch's latest 3 events only (``latest_events=3``, the public page's bound).

Each timing includes reading every record of the graph once (every node, link, event and holder, as the API's
serialiser does): the graph builds its records when they are read, so timing the call alone would leave that out.

On PostgreSQL the tables are analysed after the load (as autovacuum would). Each query runs ``--repeat`` times on
a fresh read session; the figures (median, p95, max in ms) go to
``bench/results/provenance.json``. The target is under 200 ms for each.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench.common import analyze, database_arguments, log, machine, run_each_database, write_results
from ledger import Signer, initialise_ledger
from ledger.db import make_engine, make_session_factory
from ledger.keys import encode_public_key
from trace.authority import ledger_config, load_authority_keys
from trace.identifiers import gs1_check_digit, uscc_check_character
from trace.ledger_service import StatementWriter, append
from trace.migrate import upgrade_database
from trace.policy import TracePolicy
from trace.provenance import Provenance, trace_back, trace_forward
from trace.settings import ROOT, Settings

ORIGIN = "bench.example/provenance"
RESULTS = ROOT / "bench" / "results" / "provenance.json"
PG_DATABASE = "bench_provenance"
TARGET_MS = 200.0
CHINA = timezone(timedelta(hours=8))
BATCH = 1000


def _code(serial: int) -> str:
    body = f"91310000{serial:09d}"[:17]
    return body + uscc_check_character(body)


def _gtin(item: int) -> str:
    body = f"0695099{item:06d}"
    return body + gs1_check_digit(body)


class Builder:
    """Signs one processor's statements with locally tracked links and appends them in batches of 1000."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.keys = load_authority_keys(settings, create=True)
        self.config = ledger_config(settings, self.keys)
        self.clock = lambda: datetime.now(UTC)
        with sessions() as session:
            initialise_ledger(session, config=self.config, registrar=self.keys.registrar, clock=self.clock)
            session.commit()
        self.code = _code(1)
        self.signer = Signer.from_seed(self.code, hashlib.sha256(b"bench processor").digest())
        self.heads: dict[str, str | None] = {}
        self.pending: list[dict[str, Any]] = []
        self.appended = 0
        registrar = self._resume(self.keys.registrar)
        self.pending += [
            registrar.sign("trace.enterprise.register", {
                "credit_code": self.code, "name": "基准测试加工厂", "roles": ["producer", "processor"],
                "locations": [{"id": "plant", "name": "加工厂", "address": "上海"}],
                "commitment_sha256": hashlib.sha256(b"commitment").hexdigest()}, self.now()),
            registrar.sign("ledger.key.add", {"subject": self.code, "public_key": encode_public_key(
                self.signer.public_key), "label": "bench"}, self.now())]
        self.flush()
        self.writer = self._resume(self.signer)
        self.gtin = _gtin(1)
        self.add("trace.product.define", {"gtin": self.gtin, "name": "基准产品", "category": "food",
                                          "spec": "1 kg"}, [])

    def _resume(self, signer: Signer) -> StatementWriter:
        with self.sessions() as session:
            return StatementWriter.resume(session, signer, self.config.origin)

    def now(self) -> datetime:
        return datetime.now(CHINA).replace(microsecond=0)

    def ref(self, lot: str) -> str:
        return f"01/{self.gtin}/10/{lot}"

    def add(self, type_: str, body: dict[str, Any], touches: list[str]) -> None:
        links = {ref: self.heads.get(ref) for ref in touches}
        self.pending.append(self.writer.sign(type_, body, self.now(), links=links))
        for ref in touches:
            self.heads[ref] = self.writer.prev
        if len(self.pending) >= BATCH:
            self.flush()

    def commission(self, lot: str, quantity: str) -> None:
        self.add("trace.commission", {"gtin": self.gtin, "lot": lot, "quantity": quantity, "unit": "KGM",
                                      "produced_on": "2026-11-01"}, [self.ref(lot)])

    def transform(self, kind: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> None:
        self.add("trace.transform", {
            "kind": kind, "location": "plant",
            "inputs": [{"batch": self.ref(lot), "quantity": quantity} for lot, quantity in inputs],
            "outputs": [{"gtin": self.gtin, "lot": lot, "quantity": quantity, "unit": "KGM"}
                        for lot, quantity in outputs]},
            [self.ref(lot) for lot, _ in inputs] + [self.ref(lot) for lot, _ in outputs])

    def flush(self) -> None:
        if not self.pending:
            return
        with self.sessions() as session, self.sessions() as read_session:
            results = append(session, read_session, self.pending, config=self.config, clock=self.clock,
                             policy=TracePolicy())
            session.commit()
        self.appended += len(results)
        self.pending = []


def build(builder: Builder) -> dict[str, str]:
    """The three graphs; returns the refs to query from."""
    started = time.perf_counter()
    builder.commission("C0", "1000")
    for hop in range(1, 100):
        builder.transform("process", [(f"C{hop - 1}", "1000")], [(f"C{hop}", "1000")])
    builder.commission("R", "990000")
    builder.transform("split", [("R", "990000")], [(f"R{i}", "9900") for i in range(100)])
    for i in range(100):
        builder.transform("split", [(f"R{i}", "9900")], [(f"R{i}.{j}", "100") for j in range(99)])
    for i in range(100):
        for j in range(99):
            builder.commission(f"S{i}.{j}", "10")
        builder.transform("merge", [(f"S{i}.{j}", "10") for j in range(99)], [(f"M{i}", "990")])
    builder.transform("merge", [(f"M{i}", "990") for i in range(100)], [("FINAL", "99000")])
    builder.flush()
    log(f"built {builder.appended} entries in {time.perf_counter() - started:.1f} s")
    return {"chain_end": builder.ref("C99"), "chain_start": builder.ref("C0"), "root": builder.ref("R"),
            "final": builder.ref("FINAL")}


def read_every_record(graph: Provenance) -> int:
    """Touch every record of ``graph`` once, as a serialiser would."""
    touched = sum(len(node.events) + len(node.recalls) for node in graph.nodes.values())
    touched += sum(1 for link in graph.links if link.actor) + sum(1 for hop in graph.events.values() if hop.actor)
    return touched + sum(1 for holder in graph.holders if holder.quantity)


def measure(sessions: sessionmaker[Session], query: Callable[[Session], Provenance], repeat: int,
            check: Callable[[Any], None]) -> dict[str, float]:
    timings = []
    for _ in range(repeat):
        with sessions() as session:
            started = time.perf_counter()
            result = query(session)
            read_every_record(result)
            timings.append((time.perf_counter() - started) * 1000)
        check(result)
    timings.sort()
    return {"median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2), "max_ms": round(timings[-1], 2),
            "runs": repeat}


def run_database(name: str, url: str, workdir: Path, repeat: int) -> dict[str, Any]:
    upgrade_database(url)
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": "bench-only"}, environ={})
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        builder = Builder(sessions, settings)
        refs = build(builder)
        # What autovacuum does soon after a bulk load; without statistics PostgreSQL's planner walks the graph by
        # scanning the edge table once per hop.
        analyze(engine)

        def size(expected: int) -> Callable[[Any], None]:
            def check(graph: Any) -> None:
                assert len(graph.nodes) == expected, (len(graph.nodes), expected)
            return check

        figures = {
            "entries": builder.appended,
            "chain_100_back": measure(sessions, lambda s: trace_back(s, refs["chain_end"]), repeat, size(100)),
            "chain_100_forward": measure(sessions, lambda s: trace_forward(s, refs["chain_start"]), repeat,
                                         size(100)),
            "fan_out_10001_forward": measure(sessions, lambda s: trace_forward(s, refs["root"]), repeat,
                                             size(10001)),
            "fan_in_10001_back": measure(sessions, lambda s: trace_back(s, refs["final"], with_events=False),
                                         repeat, size(10001)),
            "fan_in_10001_back_with_every_event": measure(sessions, lambda s: trace_back(s, refs["final"]), repeat,
                                                          size(10001)),
            "fan_in_10001_back_latest_3_events": measure(
                sessions, lambda s: trace_back(s, refs["final"], latest_events=3), repeat, size(10001)),
        }
        log(f"{name}: " + ", ".join(f"{key} {value['median_ms']} ms" for key, value in figures.items()
                                     if isinstance(value, dict)))
        return figures
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = database_arguments(__doc__, repeat=20).parse_args(argv)
    results: dict[str, Any] = {**machine(), "target_ms": TARGET_MS}
    results.update(run_each_database(lambda name, url, workdir: run_database(name, url, workdir, args.repeat), args,
                                     sqlite_file="provenance.db", pg_database=PG_DATABASE))
    write_results(RESULTS, results)
    print(json.dumps({db: {k: v["median_ms"] for k, v in figures.items() if isinstance(v, dict)}
                      for db, figures in results.items() if db in ("sqlite", "postgresql")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
