"""Risk-warning benchmark: how long every rule of :mod:`trace.risk_rules` takes over a synthetic ledger.

    python -m bench.risk_bench                     # 10,000 synthetic entries, SQLite and PostgreSQL
    python -m bench.risk_bench --sqlite            # SQLite only
    python -m bench.risk_bench --entries 100000

The ledger is made by :func:`trace.synth.generate` (TEST-ONLY data through the real append path: commissions,
shipments, receipts with discrepancies, transformations, pallets, sales, sensor readings with excursions,
recalls, corrections), on a clock that advances an hour per batch. Then complaints are filed through
:func:`trace.complaint_service.file_complaint` (each an anchor entry), clustered on a few batches and
enterprises, and look-ups of serialised units are recorded from several networks, so every rule has rows to
read. On PostgreSQL the tables are analysed after the load (as autovacuum would).

Measured: :func:`trace.risk_rules.compute_warnings` with every rule, ``--repeat`` times on a fresh read session
(median, p95, max in ms), each rule alone (median), and the warnings found per rule, "now" being eight days after
the last entry (so shipments left in transit count). Figures go to ``bench/results/risks.json``.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import analyze, database_arguments, log, machine, run_each_database, write_results
from ledger import initialise_ledger
from ledger.db import make_engine, make_session_factory
from ledger.models import Entry
from trace.authority import ledger_config, load_authority_keys
from trace.complaint_service import ComplaintDraft, file_complaint
from trace.migrate import upgrade_database
from trace.models import Batch, Unit
from trace.risk_rules import compute_warnings
from trace.risks import RULES
from trace.scans import record_place
from trace.settings import ROOT, Settings
from trace.synth import generate

ORIGIN = "bench.example/risks"
RESULTS = ROOT / "bench" / "results" / "risks.json"
PG_DATABASE = "risk_bench"
SEED = 6


class SteppingClock:
    """A clock that starts ``days`` ago and moves an hour forward at every reading."""

    def __init__(self, days: int) -> None:
        self.moment = datetime.now(UTC) - timedelta(days=days)

    def __call__(self) -> datetime:
        self.moment += timedelta(hours=1)
        return self.moment


def load(sessions: sessionmaker[Session], settings: Settings, entries: int) -> dict[str, Any]:
    """The synthetic ledger, then complaints and look-up places; returns what was loaded."""
    clock = SteppingClock(days=60)
    keys = load_authority_keys(settings, create=True)
    config = ledger_config(settings, keys)
    with sessions() as session:
        initialise_ledger(session, config=config, registrar=keys.registrar, clock=clock)
        session.commit()
    started = time.perf_counter()
    report = generate(sessions, config=config, registrar=keys.registrar, clock=clock, entries=entries, seed=SEED,
                      workers=0)
    log(f"synthetic ledger: {report.appended} entries in {time.perf_counter() - started:.1f} s")
    picker = random.Random(SEED)
    with sessions() as session:
        lots = list(session.scalars(select(Batch.ref).where(Batch.kind == "lot").order_by(Batch.ref)))
        units = list(session.scalars(select(Unit.unit_id).order_by(Unit.ref, Unit.unit_id).limit(2000)))
    complained = picker.sample(lots, min(len(lots), 120))
    clustered = complained[:10]
    complaints = 0
    for ref in complained + clustered * 2:  # ten batches with three complaints each
        draft = ComplaintDraft(ref=ref, category=picker.choice(["quality", "expired", "foreign_matter"]),
                               description="合成投诉（基准测试）", contact=None, photos=[])
        file_complaint(sessions, keys.registrar, draft, config=config, clock=clock)
        complaints += 1
    copied = picker.sample(units, min(len(units), 300))
    with sessions() as session:
        for position, code in enumerate(copied):
            networks = 7 if position < 20 else picker.randint(1, 3)
            for network in range(networks):
                record_place(session, code, f"{position:08x}{network:08x}", clock())
        session.commit()
        size = session.scalar(select(func.count()).select_from(Entry)) or 0
        last = session.scalar(select(func.max(Entry.received_at)))
    return {"entries": size, "synthetic": report.appended, "complaints": complaints, "units_looked_up": len(copied),
            "flags": report.flags, "now": (last + timedelta(days=8)).isoformat()}


def measure(sessions: sessionmaker[Session], now: datetime, rules: tuple[str, ...], repeat: int) -> dict[str, Any]:
    timings, counts = [], Counter[str]()
    for _ in range(repeat):
        with sessions() as session:
            started = time.perf_counter()
            warnings = compute_warnings(session, now=now, rules=rules)
            timings.append((time.perf_counter() - started) * 1000)
        counts = Counter(warning.rule for warning in warnings)
    timings.sort()
    return {"median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2), "max_ms": round(timings[-1], 2),
            "runs": repeat, "warnings": dict(sorted(counts.items()))}


def run_database(name: str, url: str, workdir: Path, entries: int, repeat: int) -> dict[str, Any]:
    upgrade_database(url)
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": "bench-only"}, environ={})
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        loaded = load(sessions, settings, entries)
        analyze(engine)
        now = datetime.fromisoformat(loaded["now"])
        every = measure(sessions, now, RULES, repeat)
        per_rule = {rule: measure(sessions, now, (rule,), max(3, repeat // 2)) for rule in RULES}
        figures = {**loaded, "all_rules": every,
                   "per_rule_median_ms": {rule: result["median_ms"] for rule, result in per_rule.items()}}
        log(f"{name}: all rules {every['median_ms']} ms over {loaded['entries']} entries; warnings "
            f"{every['warnings']}")
        return figures
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = database_arguments(__doc__, repeat=10)
    parser.add_argument("--entries", type=int, default=10_000, help="synthetic entries (default 10,000)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {**machine()}
    results.update(run_each_database(
        lambda name, url, workdir: run_database(name, url, workdir, args.entries, args.repeat), args,
        sqlite_file="risks.db", pg_database=PG_DATABASE))
    write_results(RESULTS, results)
    print(json.dumps({db: figures["all_rules"] for db, figures in results.items()
                      if db in ("sqlite", "postgresql")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
