"""Synthetic scale-data benchmark: how fast :func:`trace.synth.generate` builds a verifiable ledger.

    python -m bench.synth_bench                        # 1,000,000 entries into SQLite and PostgreSQL, then verify
    python -m bench.synth_bench --no-postgres          # SQLite only
    python -m bench.synth_bench --entries 100000 --no-verify
    python -m bench.synth_bench --compare 20000        # only: bulk vs stock policy, worker vs none (SQLite)

SQLite: a fresh file ``var/bench/synth-1m.db`` (``synth-<N>.db`` for other sizes), kept afterwards for other
measurements; open it with ``TRACE_DATABASE_URL=sqlite:///var/bench/synth-1m.db TRACE_KEY_DIR=var/bench/keys
TRACE_KEY_PASSPHRASE=bench-only-passphrase`` (origin: the default). PostgreSQL: the database ``synth_bench`` at
``--postgres-admin-url``'s server, dropped and created first, kept afterwards. Then ``python -m trace verify
--database`` (custody replay and state comparison included) on the SQLite result, in a subprocess, timed.

Figures (entries/s, wall time, rate per tenth of the run, statement mix, flags, database size, the machine's
other load) go to ``bench/results/synth.json``; each phase rewrites the file, so an interrupted run keeps what it
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ledger import verifier_key
from ledger.db import make_engine
from trace.authority import ledger_config
from trace.ledger_service import initialise, open_database
from trace.settings import ROOT, VAR, Settings
from trace.synth import generate

RESULTS = ROOT / "bench" / "results" / "synth.json"
BENCH_DIR = VAR / "bench"
KEY_DIR = BENCH_DIR / "keys"
PASSPHRASE = "bench-only-passphrase"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "synth_bench"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _busy_jiffies() -> int:
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


class Load:
    """CPU this process (and its children) used, and what the rest of the machine used, over a phase."""

    def __init__(self) -> None:
        self.wall, self.busy, self.own = time.perf_counter(), _busy_jiffies(), self._own()

    @staticmethod
    def _own() -> float:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system

    def figures(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        ticks = os.sysconf("SC_CLK_TCK")
        busy = (_busy_jiffies() - self.busy) / ticks
        own = self._own() - self.own
        return {"cores_busy_total": round(busy / wall, 2), "cores_busy_this_run": round(own / wall, 2),
                "other_cores": round(max(0.0, busy - own) / wall, 2)}


def settings_for(url: str) -> Settings:
    return Settings.load({"database_url": url, "key_dir": str(KEY_DIR), "key_passphrase": PASSPHRASE},
                         environ={})


def run_generate(url: str, entries: int, *, workers: int | None = None, stock_policy: bool = False,
                 seed: int = 1, settings: Settings | None = None) -> dict[str, Any]:
    """Initialise the (empty) database at ``url`` and generate ``entries`` entries into it; the figures.
    ``settings`` (default: :func:`settings_for` ``url``) names the keys and the origin."""
    settings = settings or settings_for(url)
    keys, created = initialise(settings, lambda: datetime.now(UTC))
    assert created, f"{url} was not empty"
    engine, sessions = open_database(settings)
    marks: list[tuple[int, float]] = []
    tenth = max(1, entries // 10)
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done // tenth > len(marks) or done == entries:
            marks.append((done, time.perf_counter() - started))
            log(f"  {done:,} entries, {done / marks[-1][1]:,.0f} /s overall")
    load = Load()
    try:
        report = generate(sessions, config=ledger_config(settings, keys), registrar=keys.registrar,
                          clock=lambda: datetime.now(UTC), entries=entries, seed=seed, progress=progress,
                          workers=workers, stock_policy=stock_policy)
    finally:
        engine.dispose()
    segments = []
    previous = (0, 0.0)
    for done, at in marks:
        segments.append({"up_to": done, "per_s": round((done - previous[0]) / (at - previous[1]), 1)})
        previous = (done, at)
    return {"entries": report.appended, "ledger_size": report.end_size, "seconds": round(report.seconds, 1),
            "entries_per_s": round(report.rate, 1), "workers": report.workers,
            "policy": "TracePolicy" if stock_policy else "BulkTracePolicy", "segments": segments,
            "enterprises": report.enterprises, "products": report.products, "mix": report.mix,
            "flags": report.flags, "refused": report.refused, "load": load.figures()}


def sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(candidate.stat().st_size for candidate in (path, path.with_name(path.name + "-wal"))
               if candidate.exists())


def fresh_sqlite(path: Path) -> str:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def fresh_postgres(admin_url: str, database: str = PG_DATABASE) -> str:
    """The URL of ``database``, dropped if it exists and created empty through ``admin_url``."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            connection.execute(text(f"CREATE DATABASE {database}"))
    finally:
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + database


def postgres_size(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def run_verify(url: str) -> dict[str, Any]:
    """``python -m trace verify --database URL`` in a subprocess: wall time, its report, peak RSS."""
    settings = settings_for(url)
    from trace.authority import load_authority_keys
    key_file = BENCH_DIR / "operator.key"
    key_file.write_text(verifier_key(settings.ledger_origin, load_authority_keys(settings).operator.public_key)
                        .text() + "\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACE_")}
    env.update(TRACE_KEY_DIR=str(KEY_DIR), TRACE_KEY_PASSPHRASE=PASSPHRASE, TRACE_LOG_FORMAT="text")
    load = Load()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "trace", "verify", "--database", url, "--operator-key",
                             str(key_file), "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    seconds = time.perf_counter() - started
    log(f"  verify exit {result.returncode} in {seconds:.1f} s: {result.stdout.strip()} {result.stderr.strip()}")
    return {"exit_code": result.returncode, "seconds": round(seconds, 1), "output": result.stdout.strip(),
            "errors": result.stderr.strip()[-2000:],
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "load": load.figures()}


def compare(entries: int) -> dict[str, Any]:
    """The same run three ways on scratch SQLite files: what the worker process and the bulk loader give."""
    out = {}
    with tempfile.TemporaryDirectory(dir=VAR) as scratch:
        for name, workers, stock in (("bulk_worker", 1, False), ("bulk_no_worker", 0, False),
                                     ("stock_policy_worker", 1, True)):
            log(f"compare {name}: {entries:,} entries")
            figures = run_generate(fresh_sqlite(Path(scratch) / f"{name}.db"), entries, workers=workers,
                                   stock_policy=stock)
            out[name] = {key: figures[key] for key in ("entries", "seconds", "entries_per_s", "load")}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (keeps the SQLite figures)")
    parser.add_argument("--no-verify", action="store_true", help="do not run `python -m trace verify`")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--compare", type=int, metavar="N", help="only compare policies and workers at N entries")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform(), "sqlite": sqlite3.sqlite_version}

    def save(phase: str, figures: Any) -> None:
        results[phase] = figures
        results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    if args.compare:
        save("compare", compare(args.compare))
        return 0
    suffix = "1m" if args.entries == 1_000_000 else str(args.entries)
    sqlite_path = BENCH_DIR / f"synth-{suffix}.db"
    phases: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    if not args.no_sqlite:
        def sqlite_phase() -> dict[str, Any]:
            log(f"SQLite: {args.entries:,} entries into {sqlite_path}")
            figures = run_generate(fresh_sqlite(sqlite_path), args.entries)
            figures["database"] = str(sqlite_path.relative_to(ROOT))
            figures["database_bytes"] = sqlite_size(sqlite_path)
            return figures
        phases.append(("sqlite", sqlite_phase))
        if not args.no_verify:
            phases.append(("sqlite_verify", lambda: run_verify(f"sqlite:///{sqlite_path}")))
    if not args.no_postgres:
        def postgres_phase() -> dict[str, Any]:
            url = fresh_postgres(args.postgres_admin_url)
            log(f"PostgreSQL: {args.entries:,} entries into {PG_DATABASE}")
            figures = run_generate(url, args.entries)
            figures["database"] = PG_DATABASE
            figures["database_bytes"] = postgres_size(url)
            return figures
        phases.append(("postgresql", postgres_phase))
    for name, phase in phases:
        save(name, phase())
        log(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k in ('entries_per_s', 'seconds')})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
