"""Traceability spreadsheet benchmark: rows per second for one product with several thousand events.

    python -m bench.spreadsheet_bench            # SQLite and PostgreSQL (scratch database bench_spreadsheet)
    python -m bench.spreadsheet_bench --sqlite   # SQLite only

A farm, a wholesaler and a shop are registered; the farm commissions ``--lots`` lots of one product over 90 days,
ships each to the wholesaler, who receives it, splits every tenth lot into two and ships the rest on to the shop,
which receives and sells part of it: every statement signed and appended through ``trace.ledger_service.append``
with the traceability policy, so the tables are what the service would hold. Then, ``--repeat`` times on a fresh
read session: ``build_rows`` for the product over a 366-day period (every row), and writing those rows as XLSX and
as CSV. The figures (median seconds, rows per second) go to ``bench/results/spreadsheet.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
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
from trace.settings import ROOT, Settings
from trace.spreadsheet import Period, Scope, build_rows
from trace.spreadsheet_files import write_csv, write_xlsx

ORIGIN = "bench.example/spreadsheet"
RESULTS = ROOT / "bench" / "results" / "spreadsheet.json"
PG_DATABASE = "bench_spreadsheet"
CHINA = timezone(timedelta(hours=8))
BATCH = 1000
URL = "https://trace.example/api/v1/ledger/entries/{index}/bundle"


def _code(serial: int) -> str:
    body = f"91350100{serial:09d}"[:17]
    return body + uscc_check_character(body)


class Builder:
    """Signs the statements of three enterprises with locally tracked links and appends them in batches."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, start: datetime) -> None:
        self.sessions = sessions
        self.keys = load_authority_keys(settings, create=True)
        self.config = ledger_config(settings, self.keys)
        self.clock = lambda: datetime.now(UTC)
        with sessions() as session:
            initialise_ledger(session, config=self.config, registrar=self.keys.registrar, clock=self.clock)
            session.commit()
        self.moment = start
        self.heads: dict[str, str | None] = {}
        self.pending: list[dict[str, Any]] = []
        self.appended = 0
        registrar = self._resume(self.keys.registrar)
        self.writers: dict[str, StatementWriter] = {}
        self.codes: dict[str, str] = {}
        for serial, (role, roles) in enumerate((("farm", ["producer"]), ("market", ["wholesaler", "processor"]),
                                                ("shop", ["retailer"])), start=1):
            code = _code(serial)
            signer = Signer.from_seed(code, hashlib.sha256(f"bench {role}".encode()).digest())
            self.pending += [
                registrar.sign("trace.enterprise.register", {
                    "credit_code": code, "name": f"基准{role}", "roles": roles,
                    "locations": [{"id": "main", "name": role, "address": "福州"}],
                    "commitment_sha256": hashlib.sha256(b"commitment").hexdigest()}, self.now()),
                registrar.sign("ledger.key.add", {"subject": code, "public_key": encode_public_key(signer.public_key),
                                                  "label": "bench"}, self.now())]
            self.codes[role] = code
            self.flush()
            self.writers[role] = self._resume(signer)
        self.gtin = "0695099000001"
        self.gtin += gs1_check_digit(self.gtin)
        self.add("farm", "trace.product.define", {"gtin": self.gtin, "name": "基准青菜", "category": "food",
                                                  "spec": "1 kg"}, [])

    def _resume(self, signer: Signer) -> StatementWriter:
        with self.sessions() as session:
            return StatementWriter.resume(session, signer, self.config.origin)

    def now(self) -> datetime:
        return self.moment.astimezone(CHINA).replace(microsecond=0)

    def ref(self, lot: str) -> str:
        return f"01/{self.gtin}/10/{lot}"

    def add(self, role: str, type_: str, body: dict[str, Any], touches: list[str]) -> None:
        writer = self.writers[role]
        self.pending.append(writer.sign(type_, body, self.now(), links={ref: self.heads.get(ref) for ref in touches}))
        for ref in touches:
            self.heads[ref] = writer.prev
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with self.sessions() as session, self.sessions() as read_session:
            results = append(session, read_session, self.pending, config=self.config, clock=self.clock,
                             policy=TracePolicy())
            refused = [result.error for result in results if result.error is not None]
            if refused:
                raise RuntimeError(f"a benchmark statement was refused: {refused[0]}")
            session.commit()
        self.appended += len(self.pending)
        self.pending = []


def build(builder: Builder, lots: int) -> None:
    """Each lot: commission, ship, receive (every tenth also split), ship on, receive, sell."""
    market, shop = builder.codes["market"], builder.codes["shop"]
    step = timedelta(days=90) / lots
    for number in range(lots):
        builder.moment += step
        lot = f"B{number:05d}"
        ref = builder.ref(lot)
        builder.add("farm", "trace.commission", {"gtin": builder.gtin, "lot": lot, "quantity": "100", "unit": "KGM",
                                                 "produced_on": builder.now().date().isoformat()}, [ref])
        builder.add("farm", "trace.ship", {"batch": ref, "quantity": "100", "to": market,
                                           "shipment_id": f"F{number}"}, [ref])
        builder.add("market", "trace.receive", {"shipment": {"from": builder.codes["farm"], "id": f"F{number}"},
                                                "quantity": "100"}, [ref])
        moving = ref
        if number % 10 == 0:
            halves = [builder.ref(f"{lot}-A"), builder.ref(f"{lot}-B")]
            builder.add("market", "trace.transform", {
                "kind": "split", "inputs": [{"batch": ref, "quantity": "100"}],
                "outputs": [{"gtin": builder.gtin, "lot": f"{lot}-{half}", "quantity": "50", "unit": "KGM"}
                            for half in ("A", "B")]}, [ref, *halves])
            moving = halves[0]
        builder.add("market", "trace.ship", {"batch": moving, "quantity": "50", "to": shop,
                                             "shipment_id": f"M{number}"}, [moving])
        builder.add("shop", "trace.receive", {"shipment": {"from": market, "id": f"M{number}"}, "quantity": "50"},
                    [moving])
        builder.add("shop", "trace.sell", {"batch": moving, "quantity": "20"}, [moving])
    builder.flush()


def measure(repeat: int, run: Callable[[], int]) -> dict[str, float]:
    timings, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    return {"rows": rows, "median_s": round(median, 4), "max_s": round(max(timings), 4),
            "rows_per_s": round(rows / median), "runs": repeat}


def run_database(name: str, url: str, workdir: Path, lots: int, repeat: int) -> dict[str, Any]:
    upgrade_database(url)
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": "bench-only"}, environ={})
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        started = time.perf_counter()
        builder = Builder(sessions, settings, datetime.now(UTC) - timedelta(days=100))
        build(builder, lots)
        log(f"{name}: built {builder.appended} entries in {time.perf_counter() - started:.1f} s")
        analyze(engine)
        today = datetime.now(CHINA).date()
        period = Period(today - timedelta(days=365), today)
        scope = Scope(builder.gtin)

        def rows() -> list[Any]:
            with sessions() as session:
                return build_rows(session, scope, period, entry_url=URL)
        sample = rows()

        def build_only() -> int:
            return len(rows())

        def xlsx() -> int:
            write_xlsx(sample, io.BytesIO(), scope=scope, period=period, english=False,
                       generated=datetime.now(UTC))
            return len(sample)

        def csv_file() -> int:
            write_csv(sample, io.StringIO(), english=False)
            return len(sample)

        def end_to_end() -> int:
            made = rows()
            write_xlsx(made, io.BytesIO(), scope=scope, period=period, english=False, generated=datetime.now(UTC))
            return len(made)

        figures = {"entries": builder.appended, "rows": len(sample), "build_rows": measure(repeat, build_only),
                   "write_xlsx": measure(repeat, xlsx), "write_csv": measure(repeat, csv_file),
                   "rows_and_xlsx": measure(repeat, end_to_end)}
        log(f"{name}: " + ", ".join(f"{key} {value['rows_per_s']:,} rows/s" for key, value in figures.items()
                                     if isinstance(value, dict)))
        return figures
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = database_arguments(__doc__, repeat=5)
    parser.add_argument("--lots", type=int, default=1000, help="lots of the product (about 6.2 events each)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {**machine(), "lots": args.lots,
                               "period_days": 366, "today": date.today().isoformat()}
    results.update(run_each_database(
        lambda name, url, workdir: run_database(name, url, workdir, args.lots, args.repeat), args,
        sqlite_file="spreadsheet.db", pg_database=PG_DATABASE))
    write_results(RESULTS, results)
    print(json.dumps({db: {key: value["rows_per_s"] for key, value in figures.items() if isinstance(value, dict)}
                      for db, figures in results.items() if db in ("sqlite", "postgresql")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
