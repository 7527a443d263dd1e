"""Ledger benchmark: one command that measures, in one run, everything ``docs/benchmarks.md`` reports.

    python -m bench.ledger_bench                     # 1,000,000 entries, ~14 minutes on 2 cores
    python -m bench.ledger_bench --quick             # 20,000 entries, smoke run (~1 minute)
    python -m bench.ledger_bench --entries 300000    # another size

Phases (progress on stderr, figures in ``bench/results/ledger.json``, a summary on stdout):

1. micro: Ed25519 verify (one core, and two threads) and sign, SHA-256 of a 300-byte entry, canonicalisation
   of a ~500-byte statement, and the per-statement parse costs the append and verify paths pay;
2. clients pre-sign every statement (multiprocessing, one process per supply chain up to the core count);
3. SQLite (file, WAL): the ledger is built to ``--entries`` through ``trace.ledger_service.append`` in batches
   of 1000 with a commit per batch, then batches of 100, single statements, and batches of 1000 from two client
   processes at once are appended;
4. PostgreSQL: the SQLite ledger at ``--entries`` is copied row for row (COPY) into a scratch database
   ``bench``, then the same append phases run through the same path;
5. inclusion and consistency proofs at ``--entries`` (random requests, one read session per request as the
   API opens them) on both databases;
6. the export is written and verified with ``ledger.verify_export_lines`` (threads=2); the verifier's peak RSS
   is measured in a subprocess (``python -m trace verify``) at three ledger sizes;
7. a breakdown of where append and verification time goes, and each phase's share of the machine.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bench.workload import SHARDS, BenchPolicy, all_enterprises, default_start, shard_statements, write_shard
from ledger import LedgerConfig, initialise_ledger, read_lines, verifier_key, verify_export_lines, write_export
from ledger.canonical import canonicalize
from ledger.db import Base, make_engine, make_session_factory, open_for_reads
from ledger.keys import encode_public_key
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.models import CheckpointRecord, Entry
from ledger.proofs import consistency, inclusion
from ledger.statements import encode_leaf, parse_envelope, parse_leaf
from ledger.tree import root_at
from trace.authority import AuthorityKeys, ledger_config, load_authority_keys
from trace.ledger_service import StatementWriter, append
from trace.migrate import upgrade_database
from trace.settings import ROOT, Settings

ORIGIN = "bench.example/ledger"
PASSPHRASE = "bench-only-passphrase"
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "bench"
BREAKDOWN_BATCHES = 5
CLIENTS = 2
TARGETS = {"append_vs_verify": 0.5, "verify_vs_verify": 1.5, "proof_p99_ms": 5.0}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------------- load


class CpuMonitor:
    """Per-phase CPU accounting, to show how much of the machine the benchmark had to itself.

    ``other_cores`` is the machine's busy CPU (``/proc/stat``) minus this process and its children and minus the
    PostgreSQL server's processes, divided by the wall time: other users of the machine. Linux only; elsewhere
    the phases are recorded with wall time only.
    """

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, Any]] = {}
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _busy(self) -> float | None:
        try:
            fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...
        return (sum(fields[:3]) + sum(fields[5:8])) / self._tick

    def _postgres(self) -> dict[str, float]:
        """CPU seconds of each running PostgreSQL server process, by pid."""
        found: dict[str, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.find("(") + 1:stat.rfind(")")]
            if name.startswith("postgres"):
                fields = stat[stat.rfind(")") + 2:].split()
                found[entry.name] = (int(fields[11]) + int(fields[12])) / self._tick
        return found

    @staticmethod
    def _own() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def start(self) -> tuple[float, float | None, float, dict[str, float]]:
        return time.perf_counter(), self._busy(), self._own(), self._postgres()

    def stop(self, name: str, begun: tuple[float, float | None, float, dict[str, float]]) -> dict[str, Any]:
        wall = time.perf_counter() - begun[0]
        busy, own = self._busy(), self._own() - begun[2]
        # Server processes that exited during the phase are missed (their CPU counts as "other").
        postgres = sum(seconds - begun[3].get(pid, 0.0) for pid, seconds in self._postgres().items())
        figures: dict[str, Any] = {"wall_seconds": round(wall, 1), "own_cores": round(own / wall, 2),
                                   "postgres_cores": round(postgres / wall, 2),
                                   "loadavg_1min_end": float(Path("/proc/loadavg").read_text().split()[0])
                                   if Path("/proc/loadavg").exists() else None}
        if busy is not None and begun[1] is not None:
            machine = (busy - begun[1]) / wall
            figures["machine_busy_cores"] = round(machine, 2)
            figures["other_cores"] = round(max(0.0, machine - own / wall - postgres / wall), 2)
        self.phases[name] = figures
        if figures.get("other_cores", 0) > 0.2:
            log(f"note: other processes used {figures['other_cores']} cores during {name}")
        return figures


MONITOR = CpuMonitor()


class Phase:
    """``with Phase("name"):`` records the CPU accounting of the block under ``load`` in the results."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self._begun = MONITOR.start()

    def __exit__(self, *exc: object) -> None:
        MONITOR.stop(self.name, self._begun)


# --------------------------------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Plan:
    """How many statements each phase appends, and how the run is sized."""

    entries: int
    memory_sizes: tuple[int, ...]
    sqlite_b100: int
    sqlite_single: int
    pg_b1000: int
    pg_b100: int
    pg_single: int
    proof_requests: int
    concurrent_per_client: int

    @classmethod
    def make(cls, entries: int, quick: bool, proof_requests: int) -> Plan:
        # Verifier memory is measured at a tenth, six tenths and all of the ledger: with this workload the verifier's
        # in-memory batch heads reach their spill threshold (ledger.verifier.BATCH_HEADS_IN_MEMORY, 200,000) at
        # about 560,000 entries, so at 1,000,000 entries the last two sizes are both past it.
        sizes = tuple(sorted({max(1000, entries // 10), max(1000, entries * 6 // 10)})) + (entries,)
        if quick:
            return cls(entries, sizes, 2_000, 200, 5_000, 2_000, 200, proof_requests, 2_000)
        return cls(entries, sizes, 20_000, 2_000, 50_000, 20_000, 1_000, proof_requests, 10_000)

    @property
    def after_bulk(self) -> int:
        """Statements needed past the bulk build (the PostgreSQL phases need the most)."""
        concurrent = CLIENTS * self.concurrent_per_client
        return max(self.sqlite_b100 + self.sqlite_single + BREAKDOWN_BATCHES * 1000 + concurrent,
                   self.pg_b1000 + self.pg_b100 + self.pg_single + concurrent) + SHARDS


# -------------------------------------------------------------------------------------------------- micro


def _rate(function: Callable[[], object], seconds: float = 1.0, repeats: int = 3) -> float:
    """Best-of-``repeats`` calls per second of ``function`` over about ``seconds`` each."""
    calls = 1
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(seconds / once))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        best = max(best, calls / elapsed)
    return best


def _loop_rate(function: Callable[[int], object], count: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` rate of ``function(count)`` doing ``count`` operations itself (no call overhead)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        function(count)
        best = max(best, count / (time.perf_counter() - start))
    return best


def verify_rate_one_core(sample: dict[str, Any], count: int = 10_000, repeats: int = 5) -> float:
    """Best-of-``repeats`` Ed25519 verifications per second on one thread, of a workload statement's message."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    message = parse_envelope(sample).statement.signing_message()
    signature = private.sign(message)

    def verify_loop(count: int) -> None:
        for _ in range(count):
            public.verify(signature, message)

    return _loop_rate(verify_loop, count, repeats)


def micro_benchmarks(sample: dict[str, Any]) -> dict[str, Any]:
    """Primitive costs; ``sample`` is a typical pre-signed envelope of the workload."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    signed = parse_envelope(sample)
    message = signed.statement.signing_message()
    signature = private.sign(message)

    def verify_loop(count: int) -> None:
        for _ in range(count):
            public.verify(signature, message)

    def sign_loop(count: int) -> None:
        for _ in range(count):
            private.sign(message)

    log("micro: Ed25519 verify on one core")
    verify_rate = verify_rate_one_core(sample)
    sign_rate = _loop_rate(sign_loop, 30_000, repeats=5)
    log("micro: Ed25519 verify on two threads")
    per_thread = 20_000
    best_two = 0.0
    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            start = time.perf_counter()
            list(pool.map(verify_loop, [per_thread, per_thread]))
            best_two = max(best_two, 2 * per_thread / (time.perf_counter() - start))

    entry = os.urandom(300)

    def sha_loop(count: int) -> None:
        sha = hashlib.sha256
        for _ in range(count):
            sha(entry).digest()

    sha_rate = _loop_rate(sha_loop, 500_000)

    statement_500 = _statement_of_about(sample["statement"], 500)
    statement_full = sample["statement"]
    canonical_500 = _rate(lambda: canonicalize(statement_500))
    canonical_full = _rate(lambda: canonicalize(statement_full))
    parse_env = _rate(lambda: parse_envelope(sample))
    leaf = encode_leaf(signed, "2026-01-01T00:00:00.000000Z")
    parse_leaf_rate = _rate(lambda: parse_leaf(leaf))
    return {
        "ed25519_verify_per_s_one_core": round(verify_rate),
        "ed25519_verify_us": round(1e6 / verify_rate, 2),
        "ed25519_verify_per_s_two_threads": round(best_two),
        "ed25519_sign_per_s_one_core": round(sign_rate),
        "ed25519_sign_us": round(1e6 / sign_rate, 2),
        "verify_message_bytes": len(message),
        "sha256_300_bytes_per_s": round(sha_rate),
        "sha256_300_bytes_us": round(1e6 / sha_rate, 3),
        "canonicalize_statement_bytes": len(canonicalize(statement_500)),
        "canonicalize_per_s": round(canonical_500),
        "canonicalize_us": round(1e6 / canonical_500, 2),
        "canonicalize_workload_statement_bytes": len(canonicalize(statement_full)),
        "canonicalize_workload_statement_us": round(1e6 / canonical_full, 2),
        "parse_envelope_us": round(1e6 / parse_env, 2),
        "parse_leaf_bytes": len(leaf),
        "parse_leaf_us": round(1e6 / parse_leaf_rate, 2),
    }


def _statement_of_about(statement: dict[str, Any], size: int) -> dict[str, Any]:
    """A copy of ``statement`` with body members dropped until its canonical form is at most ``size`` bytes."""
    trimmed: dict[str, Any] = json.loads(json.dumps(statement))
    body = trimmed["body"]
    for name in sorted(body, key=lambda member: len(json.dumps(body[member], ensure_ascii=False))):
        if len(canonicalize(trimmed)) <= size:
            break
        if name != "batch":
            del body[name]
    return trimmed


# ----------------------------------------------------------------------------------------------- presign


class EnvelopeStream:
    """Reads the shard files line by line, round-robin, which is an order every author and batch accepts."""

    def __init__(self, paths: list[Path], offsets: list[int] | None = None) -> None:
        self._files = [path.open("rb") for path in paths]
        for handle, offset in zip(self._files, offsets or [0] * len(paths), strict=True):
            handle.seek(offset)
        self._turn = 0
        self.decode_seconds = 0.0

    def take(self, count: int) -> list[dict[str, Any]]:
        lines: list[bytes] = []
        for _ in range(count):
            line = self._files[self._turn].readline()
            if not line:
                raise RuntimeError("ran out of pre-signed statements")
            lines.append(line)
            self._turn = (self._turn + 1) % len(self._files)
        start = time.perf_counter()
        envelopes = [json.loads(line) for line in lines]
        self.decode_seconds += time.perf_counter() - start
        return envelopes

    def offsets(self) -> list[int]:
        """Where each shard file has been read to: a stream opened there continues every author and batch."""
        return [handle.tell() for handle in self._files]

    def close(self) -> None:
        for handle in self._files:
            handle.close()


def presign(workdir: Path, total: int) -> tuple[list[Path], dict[str, Any]]:
    per_shard = -(-total // SHARDS)
    start_time = default_start(per_shard)
    processes = max(1, min(SHARDS, os.cpu_count() or 1))
    paths = [workdir / f"shard-{shard}.jsonl" for shard in range(SHARDS)]
    jobs = [(shard, per_shard, ORIGIN, start_time.isoformat(), str(path)) for shard, path in enumerate(paths)]
    log(f"presign: {per_shard * SHARDS:,} statements from {len(all_enterprises())} enterprises in "
        f"{SHARDS} supply chains, {processes} processes")
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        written = sum(size for _, size in pool.imap_unordered(write_shard, jobs))
    seconds = time.perf_counter() - started
    log(f"presign: done in {seconds:.1f} s ({per_shard * SHARDS / seconds:,.0f} statements/s)")
    return paths, {"statements": per_shard * SHARDS, "processes": processes, "seconds": round(seconds, 2),
                   "statements_per_s": round(per_shard * SHARDS / seconds),
                   "envelope_bytes_mean": round(written / (per_shard * SHARDS), 1)}


def workload_stats(path: Path, sample_size: int = 2000) -> dict[str, Any]:
    bodies: list[int] = []
    statements: list[int] = []
    links: list[int] = []
    types: dict[str, int] = {}
    with path.open("rb") as handle:
        for _, line in zip(range(sample_size), handle, strict=False):
            statement = json.loads(line)["statement"]
            bodies.append(len(canonicalize(statement["body"])))
            statements.append(len(canonicalize(statement)))
            links.append(len(statement["links"]))
            types[statement["type"]] = types.get(statement["type"], 0) + 1
    return {"enterprises": len(all_enterprises()), "supply_chains": SHARDS,
            "body_bytes": {"min": min(bodies), "mean": round(statistics.mean(bodies)), "max": max(bodies)},
            "statement_bytes_mean": round(statistics.mean(statements)),
            "links_per_statement_mean": round(statistics.mean(links), 2),
            "type_share": {name: round(count / len(bodies), 3) for name, count in sorted(types.items())}}


# ------------------------------------------------------------------------------------------------ ledger


@dataclass
class Ledger:
    name: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    config: LedgerConfig
    policy: BenchPolicy = field(default_factory=BenchPolicy)

    def read_session(self) -> Session:
        """A session as the API opens it for reads (``ledger.db.open_for_reads``)."""
        return open_for_reads(self.sessions())

    def tree_size(self) -> int:
        with self.read_session() as session:
            return int(session.execute(text("SELECT tree_size FROM ledger_head WHERE id = 1")).scalar_one())


def create_sqlite_ledger(workdir: Path) -> tuple[Ledger, AuthorityKeys]:
    path = workdir / "ledger.db"
    url = f"sqlite:///{path}"
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": PASSPHRASE, "log_level": "WARNING"}, environ={})
    upgrade_database(url)
    keys = load_authority_keys(settings, create=True)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    config = ledger_config(settings, keys)
    with sessions() as session:
        initialise_ledger(session, config=config, registrar=keys.registrar, clock=utcnow)
        session.commit()
    ledger = Ledger("sqlite", url, engine, sessions, config)
    with sessions() as session:
        writer = StatementWriter.resume(session, keys.registrar, ORIGIN)
    registrations = [writer.sign("ledger.key.add", {"subject": member.credit_code,
                                                    "public_key": encode_public_key(member.signer.public_key),
                                                    "label": f"{member.role} (benchmark-only key)"}, utcnow())
                     for member in all_enterprises()]
    append_batch(ledger, registrations)
    return ledger, keys


def append_batch(ledger: Ledger, envelopes: list[dict[str, Any]]) -> float:
    """One request: prepare and sequence ``envelopes``, commit; returns the seconds it took."""
    start = time.perf_counter()
    # append() itself opens the read session deferred on SQLite (no write lock while preparing).
    with ledger.sessions() as session, ledger.sessions() as read_session:
        try:
            results = append(session, read_session, envelopes, config=ledger.config, clock=utcnow,
                             policy=ledger.policy)
        except Exception:
            session.rollback()
            raise
        session.commit()
    elapsed = time.perf_counter() - start
    failed = [result for result in results if result.error is not None or result.duplicate]
    if failed:
        raise RuntimeError(f"{len(failed)} statements refused, first: {failed[0]}")
    return elapsed


@dataclass
class AppendRun:
    statements: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, batch: int) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        figures: dict[str, Any] = {
            "batch_size": batch, "statements": self.statements, "seconds": round(self.seconds, 2),
            "statements_per_s": round(self.statements / self.seconds) if self.seconds else 0,
            "cpu_us_per_statement": round(1e6 * self.cpu_seconds / self.statements, 1) if self.statements else 0,
            "commit_latency_ms_p50": round(1000 * _percentile(ordered, 50), 2),
            "commit_latency_ms_p99": round(1000 * _percentile(ordered, 99), 2),
        }
        if self.segments:
            figures["segments"] = self.segments
        return figures


def run_appends(ledger: Ledger, stream: EnvelopeStream, count: int, batch: int, *,
                on_size: Callable[[int], None] | None = None, segments: int = 0) -> AppendRun:
    """Append ``count`` statements from ``stream`` in batches of ``batch``; ``on_size`` runs between batches
    (outside the timing) with the new tree size."""
    run = AppendRun()
    size = ledger.tree_size()
    segment_size = -(-count // segments) if segments else 0
    segment_start, segment_seconds, segment_from = 0, 0.0, size
    next_report = time.perf_counter() + 15
    while run.statements < count:
        envelopes = stream.take(min(batch, count - run.statements))
        cpu = _cpu()
        elapsed = append_batch(ledger, envelopes)
        run.cpu_seconds += _cpu() - cpu
        run.statements += len(envelopes)
        run.seconds += elapsed
        run.latencies.append(elapsed)
        size += len(envelopes)
        segment_seconds += elapsed
        if segment_size and (run.statements - segment_start >= segment_size or run.statements == count):
            done = run.statements - segment_start
            run.segments.append({"tree_size_from": segment_from, "tree_size_to": size,
                                 "statements_per_s": round(done / segment_seconds)})
            segment_start, segment_seconds, segment_from = run.statements, 0.0, size
        if on_size is not None:
            on_size(size)
        if time.perf_counter() >= next_report:
            next_report = time.perf_counter() + 15
            log(f"{ledger.name}: batch {batch}: {run.statements:,}/{count:,} "
                f"({run.statements / run.seconds:,.0f} statements/s), tree size {size:,}")
    log(f"{ledger.name}: batch {batch}: {run.statements:,} statements in {run.seconds:.1f} s = "
        f"{run.statements / run.seconds:,.0f} statements/s")
    return run


def concurrent_appends(ledger: Ledger, paths: list[Path], offsets: list[int], per_client: int) -> dict[str, Any]:
    """Appends from ``CLIENTS`` processes at once, each sending batches of 1000 from its own supply chains (so
    their statements never conflict), as a server with several workers would receive them.

    The sequencing lock serialises ``sequence_statements``; ``prepare_statements`` (parsing and signatures)
    of one request runs while another holds the lock.
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    go = context.Event()
    ledger.engine.dispose()  # no pooled connection crosses the fork
    workers = []
    for client in range(CLIENTS):
        mine = list(range(client, len(paths), CLIENTS))
        worker = context.Process(target=_append_client, args=(
            ledger.name, ledger.url, ledger.config, [paths[i] for i in mine], [offsets[i] for i in mine],
            per_client, go, queue))
        worker.start()
        workers.append(worker)
    for _ in workers:
        message = queue.get(timeout=600)
        if message != "ready":
            raise RuntimeError(f"append client failed to start: {message}")
    cpu_before = _children_cpu()
    start = time.perf_counter()
    go.set()
    reports = [queue.get(timeout=1200) for _ in workers]
    wall = time.perf_counter() - start
    for worker in workers:
        worker.join()
    failed = [report for report in reports if "error" in report]
    if failed:
        raise RuntimeError(f"append client failed: {failed[0]['error']}")
    statements = sum(report["statements"] for report in reports)
    log(f"{ledger.name}: {CLIENTS} concurrent clients, batch 1000: {statements:,} statements in {wall:.1f} s = "
        f"{statements / wall:,.0f} statements/s")
    return {"clients": CLIENTS, "batch_size": 1000, "statements": statements, "seconds": round(wall, 2),
            "statements_per_s": round(statements / wall),
            "cpu_us_per_statement": round(1e6 * (_children_cpu() - cpu_before) / statements, 1),
            "per_client_statements_per_s": [round(report["statements"] / report["seconds"]) for report in reports]}


def _append_client(name: str, url: str, config: LedgerConfig, paths: list[Path], offsets: list[int], count: int,
                   go: Any, queue: Any) -> None:
    try:
        engine = make_engine(url)
        ledger = Ledger(name, url, engine, make_session_factory(engine), config)
        stream = EnvelopeStream(paths, offsets)
        batches = [stream.take(min(1000, count - start)) for start in range(0, count, 1000)]
        queue.put("ready")
        go.wait()
        started = time.perf_counter()
        for envelopes in batches:
            append_batch(ledger, envelopes)
        queue.put({"statements": count, "seconds": time.perf_counter() - started})
        engine.dispose()
    except Exception as exc:  # reported to the parent, which raises
        queue.put({"error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        queue.close()
        queue.join_thread()
        os._exit(0)


def _cpu() -> float:
    """This process's CPU seconds, all threads (the database server's are not included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# ---------------------------------------------------------------------------------------------- postgres


def postgres_ledger(admin_url: str, source: Ledger, keys: AuthorityKeys) -> tuple[Ledger | None, dict[str, Any]]:
    """Create the scratch database and copy the SQLite ledger into it row for row."""
    try:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
            connection.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
        admin.dispose()
    except Exception as exc:  # reported; the SQLite figures stand alone
        log(f"postgresql: skipped ({exc.__class__.__name__}: {exc})")
        return None, {"skipped": f"{exc.__class__.__name__}: {exc}"}
    url = admin_url.rsplit("/", 1)[0] + "/" + PG_DATABASE
    copied = copy_sqlite_to_postgres(Path(source.url.removeprefix("sqlite:///")), url)
    engine = make_engine(url)
    ledger = Ledger("postgresql", url, engine, make_session_factory(engine), source.config)
    return ledger, {"server_version": version, **copied}


def copy_sqlite_to_postgres(source_path: Path, url: str) -> dict[str, Any]:
    """Migrate the empty PostgreSQL database ``url`` and copy every table of the SQLite database at
    ``source_path`` into it row for row (COPY, in foreign-key order), then set each serial column's sequence past
    the copied rows and ``VACUUM ANALYZE``. Raises if the SQLite file holds a table the models do not know."""
    import psycopg

    import trace.access_models  # noqa: F401  (registers every table, as migrations/env.py does)
    import trace.audits  # noqa: F401
    import trace.complaint_models  # noqa: F401
    import trace.models  # noqa: F401
    import trace.officers  # noqa: F401
    import trace.recall_notices  # noqa: F401
    import trace.scans  # noqa: F401

    upgrade_database(url)
    log("postgresql: copying the SQLite ledger (COPY, table by table)")
    started = time.perf_counter()
    rows_copied: dict[str, int] = {}
    with sqlite3.connect(source_path) as lite, psycopg.connect(url.replace("+psycopg", "")) as pg:
        present = {name for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                   if not name.startswith("sqlite_") and name != "alembic_version"}
        unknown = present - set(Base.metadata.tables)
        if unknown:
            raise RuntimeError(f"tables without a model, not copied: {sorted(unknown)}")
        pg.execute("SET TIME ZONE 'UTC'")
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            columns = [column.name for column in table.columns]
            names = ", ".join(f'"{name}"' for name in columns)
            count = 0
            with pg.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {names} FROM {table.name}"):
                    copy.write_row(row)
                    count += 1
            rows_copied[table.name] = count
        serials = pg.execute("SELECT table_name, column_name FROM information_schema.columns "
                             "WHERE table_schema = 'public' AND column_default LIKE 'nextval(%'").fetchall()
        for table_name, column in serials:
            pg.execute(f"SELECT setval(pg_get_serial_sequence('{table_name}', '{column}'), "
                       f"COALESCE(MAX({column}), 0) + 1, false) FROM {table_name}")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    log(f"postgresql: copied {sum(rows_copied.values()):,} rows in {seconds:.1f} s")
    return {"copy_seconds": round(seconds, 1), "rows_copied": rows_copied}


def drop_postgres(admin_url: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
    admin.dispose()


# ------------------------------------------------------------------------------------------------ proofs


def proof_latencies(ledger: Ledger, size: int, requests: int, seed: int = 7) -> dict[str, Any]:
    """Random inclusion and consistency proofs at ``size``, one read session per request (as the API)."""
    rng = random.Random(seed)
    with ledger.read_session() as session:
        root = session.get(CheckpointRecord, size)
        if root is None:
            raise RuntimeError(f"no checkpoint of size {size}")
        root_hash = root.root_hash
    figures: dict[str, Any] = {"tree_size": size, "requests": requests}
    for kind in ("inclusion", "consistency"):
        samples: list[float] = []
        calls: list[float] = []
        for number in range(requests + 50):
            start = time.perf_counter()
            with ledger.read_session() as session:
                begun = time.perf_counter()
                if kind == "inclusion":
                    index = rng.randrange(size)
                    proof = inclusion(session, index, size)
                else:
                    old = rng.randrange(1, size)
                    proof = consistency(session, old, size)
                called = time.perf_counter()
            end = time.perf_counter()
            if number < 50:
                # Warm-up requests are not timed; they are checked against the checkpoint root instead.
                _check_proof(ledger, kind, index if kind == "inclusion" else old, size, proof, root_hash)
                continue
            samples.append(end - start)
            calls.append(called - begun)
        samples.sort()
        calls.sort()
        figures[kind] = {"p50_ms": round(1000 * _percentile(samples, 50), 3),
                         "p99_ms": round(1000 * _percentile(samples, 99), 3),
                         "max_ms": round(1000 * samples[-1], 3),
                         "proof_call_p50_ms": round(1000 * _percentile(calls, 50), 3),
                         "proof_call_p99_ms": round(1000 * _percentile(calls, 99), 3)}
        log(f"{ledger.name}: {kind} proofs at {size:,}: p50 {figures[kind]['p50_ms']} ms, "
            f"p99 {figures[kind]['p99_ms']} ms")
    return figures


def _check_proof(ledger: Ledger, kind: str, at: int, size: int, proof: list[bytes], root: bytes) -> None:
    with ledger.read_session() as session:
        if kind == "inclusion":
            entry = session.get(Entry, at)
            assert entry is not None
            verify_inclusion(leaf_hash(entry.leaf), at, size, proof, root)
        else:
            verify_consistency(at, size, proof, root_at(session, at), root)


# ------------------------------------------------------------------------------------------ verification


def export_ledger(ledger: Ledger, path: Path, origin: str = ORIGIN) -> dict[str, Any]:
    start = time.perf_counter()
    with ledger.read_session() as session, path.open("wb") as out:
        size = write_export(session, out, origin=origin)
    seconds = time.perf_counter() - start
    return {"entries": size, "bytes": path.stat().st_size, "seconds": round(seconds, 2),
            "entries_per_s": round(size / seconds)}


def verify_in_process(path: Path, operator_key_text: str, threads: int) -> dict[str, Any]:
    from ledger import parse_verifier_key
    key = parse_verifier_key(operator_key_text)
    gc.collect()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = _children_cpu()
    start = time.perf_counter()
    report = verify_export_lines(read_lines(path), key, threads=threads)
    seconds = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    cpu += _children_cpu() - children_before  # the worker processes
    return {"entries": report.tree_size, "threads": threads, "seconds": round(seconds, 2),
            "entries_per_s": round(report.tree_size / seconds), "cpu_seconds": round(cpu, 1),
            "cores_busy": round(cpu / seconds, 2), "checkpoints_checked": report.checkpoints_checked}


_RSS_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-2000:],
                  "wall": wall, "maxrss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def verify_subprocess(path: Path, key_file: Path, entries: int, *, custody: bool = False) -> dict[str, Any]:
    """Peak RSS of ``python -m trace verify`` measured by a wrapper whose only child is that process; with
    ``custody`` the verifier also replays the traceability events (the command's default)."""
    command = [sys.executable, "-m", "trace", "verify", str(path), "--operator-key", str(key_file), "--quiet",
               "--threads", "2", *([] if custody else ["--no-custody"])]
    env = {**os.environ, "TRACE_LOG_FORMAT": "text"}
    done = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout)
    if result["returncode"] != 0 or "INTACT" not in result["stdout"]:
        raise RuntimeError(f"verify failed: {result['stdout']} {result['stderr']}")
    return {"entries": entries, "peak_rss_mib": round(result["maxrss_kib"] / 1024, 1),
            "wall_seconds": round(result["wall"], 2), "entries_per_s_wall": round(entries / result["wall"]),
            "cpu_seconds": round(result["cpu"], 1), "cli_summary": result["stdout"].strip().splitlines()[-1]}


# ------------------------------------------------------------------------------------------- breakdown


def _cpu_per_call(function: Callable[[], object], calls: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` CPU microseconds per call (CPU time of this thread: steadier on a shared machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(calls):
            function()
        best = min(best, (time.thread_time() - start) / calls)
    return round(best * 1e6, 2)


def append_breakdown(ledger: Ledger, stream: EnvelopeStream, batches: int) -> dict[str, Any]:
    """The parts of ``append`` measured separately over a few batches of 1000 (per statement, wall and CPU)."""
    from ledger import load_public_keys, prepare_statements, sequence_statements

    parts = {name: [0.0, 0.0] for name in ("prepare", "sequence", "commit")}
    statements = 0
    for _ in range(batches):
        envelopes = stream.take(1000)
        with ledger.sessions() as session, ledger.sessions() as read_session:
            open_for_reads(read_session)  # as append() does
            marks = [(time.perf_counter(), _cpu())]
            prepared = prepare_statements(envelopes, known_keys=lambda ids: load_public_keys(read_session, ids),
                                          max_statement_bytes=ledger.config.max_statement_bytes)
            read_session.rollback()
            marks.append((time.perf_counter(), _cpu()))
            results = sequence_statements(session, prepared, config=ledger.config, clock=utcnow,
                                          policy=ledger.policy)
            marks.append((time.perf_counter(), _cpu()))
            session.commit()
            marks.append((time.perf_counter(), _cpu()))
        if any(result.error is not None for result in results):
            raise RuntimeError("breakdown batch refused")
        statements += len(envelopes)
        for name, before, after in zip(parts, marks, marks[1:], strict=False):
            parts[name][0] += after[0] - before[0]
            parts[name][1] += after[1] - before[1]
    return {name: {"wall_us_per_statement": round(1e6 * wall / statements, 1),
                   "cpu_us_per_statement": round(1e6 * cpu / statements, 1)} for name, (wall, cpu) in parts.items()}


def verify_breakdown(export: Path, operator_key_text: str) -> dict[str, Any]:
    """CPU per entry of the verifier's single-threaded work, in total and by its main parts."""
    from ledger import parse_verifier_key
    from ledger.canonical import MAX_DEPTH, loads_proven_canonical, strict_loads
    from ledger.export import read_export
    from ledger.keys import verify_signature
    from ledger.statements import parse_statement

    lines: list[bytes] = []
    with export.open("rb") as handle:
        header_line = handle.readline()
        for _, line in zip(range(2000), handle, strict=False):
            if line.startswith(b'{"chain"'):
                lines.append(line)
    raw = [line[line.index(b'"leaf":') + 7:-2] for line in lines]
    parsed = [strict_loads(leaf, max_depth=MAX_DEPTH + 1) for leaf in raw]
    canonical = [canonicalize(fields["statement"]) for fields in parsed]
    leaves = [parse_leaf(leaf) for leaf in raw]
    count = len(raw)
    position = [0]

    def cycling(function: Callable[[int], object]) -> Callable[[], object]:
        def call() -> object:
            position[0] = (position[0] + 1) % count
            return function(position[0])
        return call

    def split_lines() -> None:
        _, items = read_export(iter([header_line, *lines]))
        for _ in items:
            pass

    figures: dict[str, Any] = {
        "sample_entries": count,
        "export_line_split_us": round(_cpu_per_call(split_lines, 5, 3) / count, 2),
        "parse_leaf_us": _cpu_per_call(cycling(lambda i: parse_leaf(raw[i])), 5000),
        # The compiled fast path (orjson) that proves a leaf canonical; the two figures after it are the Python
        # path's, taken only by the leaves it cannot prove (proven_canonical_share says how many it proves).
        "of_which_proven_canonical_us": _cpu_per_call(cycling(
            lambda i: loads_proven_canonical(raw[i], max_depth=MAX_DEPTH + 1)), 5000),
        "proven_canonical_share": round(sum(loads_proven_canonical(leaf, max_depth=MAX_DEPTH + 1) is not None
                                            for leaf in raw) / count, 4),
        "of_which_strict_loads_us": _cpu_per_call(cycling(
            lambda i: strict_loads(raw[i], max_depth=MAX_DEPTH + 1)), 5000),
        "of_which_canonicalize_statement_us": _cpu_per_call(cycling(
            lambda i: canonicalize(parsed[i]["statement"])), 5000),
        "of_which_parse_statement_us": _cpu_per_call(cycling(
            lambda i: parse_statement(parsed[i]["statement"], canonical=canonical[i])), 5000),
        "leaf_and_chain_hash_us": _cpu_per_call(cycling(
            lambda i: hashlib.sha256(b"\x00" + raw[i]).digest() + hashlib.sha256(bytes(72)).digest()), 20000),
    }
    signed = leaves[0].signed
    signer_key = Ed25519PrivateKey.generate()
    public = signer_key.public_key().public_bytes_raw()
    message = signed.statement.signing_message()
    signature = signer_key.sign(message)
    figures["verify_signature_us"] = _cpu_per_call(lambda: verify_signature(public, signature, message), 3000)

    # The verifier in one process (threads=1: parsing, signatures and the in-order replay all here), then with
    # two worker processes: wall time, and the CPU of this process and of the workers per entry.
    key = parse_verifier_key(operator_key_text)
    for name, threads in (("one_process", 1), ("two_workers", 2)):
        gc.collect()
        start_cpu, start_children, start = _cpu(), _children_cpu(), time.perf_counter()
        report = verify_export_lines(read_lines(export), key, threads=threads)
        wall = time.perf_counter() - start
        main_cpu, workers_cpu = _cpu() - start_cpu, _children_cpu() - start_children
        figures[name] = {"entries": report.tree_size, "entries_per_s": round(report.tree_size / wall),
                         "main_process_cpu_us": round(1e6 * main_cpu / report.tree_size, 1),
                         "workers_cpu_us": round(1e6 * workers_cpu / report.tree_size, 1),
                         "cores_busy": round((main_cpu + workers_cpu) / wall, 2)}
    return figures


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------------------------- machine


def machine_info(postgres_version: str | None) -> dict[str, Any]:
    import cryptography
    import sqlalchemy
    from cryptography.hazmat.backends.openssl import backend

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        pass
    commit = ""
    dirty = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version,
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
        "sqlalchemy": sqlalchemy.__version__,
        "git_commit": commit,
        "git_tracked_changes": dirty,
    }


# ------------------------------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan.make(args.entries, args.quick, args.proof_requests)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-", dir=args.workdir))
    log(f"work directory {workdir}; plan {plan}")
    started = time.perf_counter()
    results: dict[str, Any] = {"parameters": {"entries": plan.entries, "quick": args.quick,
                                              "proof_requests": plan.proof_requests,
                                              "memory_sizes": list(plan.memory_sizes)}}
    pg_ledger: Ledger | None = None
    try:
        # Registrations take entries 1..24 after the genesis entry 0; the bulk build ends at exactly --entries.
        registrations = 1 + len(all_enterprises())
        bulk = plan.entries - registrations
        if bulk < 1000:
            raise SystemExit(f"--entries must be at least {registrations + 1000}")
        sample = next(shard_statements(0, 1, ORIGIN, default_start(1)))
        with Phase("micro"):
            results["micro"] = micro_benchmarks(sample)
        with Phase("presign"):
            paths, results["presign"] = presign(workdir, bulk + plan.after_bulk)
        results["workload"] = workload_stats(paths[0])

        ledger, keys = create_sqlite_ledger(workdir)
        key_text = verifier_key(ORIGIN, keys.operator.public_key).text()
        key_file = workdir / "operator.key"
        key_file.write_text(key_text + "\n", encoding="utf-8")
        exports: list[tuple[Path, dict[str, Any]]] = []
        pending_sizes = list(plan.memory_sizes[:-1])

        def export_on_the_way(size: int) -> None:
            # Exports for the memory comparison, written between batches (outside the append timing).
            if pending_sizes and size >= pending_sizes[0]:
                pending_sizes.pop(0)
                path = workdir / f"export-{size}.jsonl"
                log(f"sqlite: writing the export at {size:,} entries (verifier memory)")
                exports.append((path, export_ledger(ledger, path)))

        stream = EnvelopeStream(paths)
        log(f"sqlite: building the ledger to {plan.entries:,} entries in batches of 1000")
        with Phase("sqlite_b1000_build"):
            bulk_run = run_appends(ledger, stream, bulk, 1000, on_size=export_on_the_way, segments=10)
        # PostgreSQL continues from the same point: each shard file from where the bulk build left it.
        offsets = _shard_offsets(paths, bulk)
        size = ledger.tree_size()
        assert size == plan.entries, (size, plan.entries)
        sqlite_append: dict[str, Any] = {"b1000": bulk_run.summary(1000)}
        sqlite_append["b1000"]["json_decode_us_per_statement_not_timed"] = round(
            1e6 * stream.decode_seconds / bulk, 2)

        full_export = workdir / "export-full.jsonl"
        log(f"sqlite: writing the export of {size:,} entries")
        with Phase("export"):
            exports.append((full_export, export_ledger(ledger, full_export)))
        results["export"] = {"full": exports[-1][1], "partial": [figures for _, figures in exports[:-1]]}
        with ledger.read_session() as session:
            results["workload"]["batch_refs"] = session.execute(text("SELECT count(*) FROM ledger_batch_heads")) \
                .scalar_one()
        log(f"sqlite: export written: {results['export']['full']}")

        postgres: dict[str, Any] = {}
        if not args.no_postgres:
            with Phase("postgresql_copy"):
                pg_ledger, postgres = postgres_ledger(args.postgres_admin_url, ledger, keys)

        with Phase("sqlite_b100"):
            sqlite_append["b100"] = run_appends(ledger, stream, plan.sqlite_b100, 100).summary(100)
        with Phase("sqlite_single"):
            sqlite_append["single"] = run_appends(ledger, stream, plan.sqlite_single, 1).summary(1)
        results["append"] = {"sqlite": sqlite_append}
        with Phase("sqlite_proofs"):
            results["proofs"] = {"sqlite": proof_latencies(ledger, plan.entries, plan.proof_requests)}
        log("breakdown: append parts (prepare / sequence / commit), 5 batches of 1000 on SQLite")
        with Phase("breakdown_append"):
            results["breakdown"] = {"append_sqlite_b1000": append_breakdown(ledger, stream, BREAKDOWN_BATCHES)}
        offsets_now = stream.offsets()
        stream.close()
        with Phase("sqlite_concurrent"):
            sqlite_append["concurrent"] = concurrent_appends(ledger, paths, offsets_now, plan.concurrent_per_client)

        if pg_ledger is not None:
            pg_stream = EnvelopeStream(paths, offsets)
            pg_append: dict[str, Any] = {}
            with Phase("postgresql_b1000"):
                pg_append["b1000"] = run_appends(pg_ledger, pg_stream, plan.pg_b1000, 1000).summary(1000)
            with Phase("postgresql_b100"):
                pg_append["b100"] = run_appends(pg_ledger, pg_stream, plan.pg_b100, 100).summary(100)
            with Phase("postgresql_single"):
                pg_append["single"] = run_appends(pg_ledger, pg_stream, plan.pg_single, 1).summary(1)
            offsets_now = pg_stream.offsets()
            pg_stream.close()
            results["append"]["postgresql"] = pg_append
            with Phase("postgresql_proofs"):
                results["proofs"]["postgresql"] = proof_latencies(pg_ledger, plan.entries, plan.proof_requests)
            with Phase("postgresql_concurrent"):
                pg_append["concurrent"] = concurrent_appends(pg_ledger, paths, offsets_now,
                                                             plan.concurrent_per_client)
        results["postgresql"] = postgres
        ledger.engine.dispose()

        log(f"verify: in process, {size:,} entries, threads=2")
        with Phase("verify_in_process"):
            results["verify"] = {"in_process": verify_in_process(full_export, key_text, 2)}
        log(f"verify: {results['verify']['in_process']}")
        log("breakdown: the verifier's single-threaded work per entry")
        with Phase("breakdown_verify"):
            results["breakdown"]["verify"] = verify_breakdown(exports[0][0], key_text)
        log(f"breakdown: {results['breakdown']}")
        memory = []
        for path, figures in exports:
            entries = figures["entries"]
            log(f"verify: subprocess `python -m trace verify` of {entries:,} entries (peak RSS)")
            with Phase(f"verify_subprocess_{entries}"):
                memory.append(verify_subprocess(path, key_file, entries))
            log(f"verify: {memory[-1]}")
        results["verify"]["subprocess"] = memory
        with Phase("micro_end"):
            results["micro_end"] = {"ed25519_verify_per_s_one_core": round(verify_rate_one_core(sample))}
    finally:
        if pg_ledger is not None:
            pg_ledger.engine.dispose()
            if not args.keep:
                drop_postgres(args.postgres_admin_url)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = machine_info(results.get("postgresql", {}).get("server_version"))
    results["load"] = MONITOR.phases
    results["targets"] = evaluate(results)
    return results


def _shard_offsets(paths: list[Path], consumed: int) -> list[int]:
    """Byte offsets in each shard file after ``consumed`` statements taken round-robin."""
    offsets = []
    for shard, path in enumerate(paths):
        lines = consumed // len(paths) + (1 if shard < consumed % len(paths) else 0)
        with path.open("rb") as handle:
            for _ in range(lines):
                handle.readline()
            offsets.append(handle.tell())
    return offsets


def evaluate(results: dict[str, Any]) -> dict[str, Any]:
    # The denominator is the better of the single-core verify rates measured at the start and at the end of the
    # run: if the machine was busier at one of them, the ratios err on the strict side.
    verify_rate = max(results["micro"]["ed25519_verify_per_s_one_core"],
                      results.get("micro_end", {}).get("ed25519_verify_per_s_one_core", 0))
    targets: dict[str, Any] = {"ed25519_verify_per_s_one_core": verify_rate}
    for backend, figures in results.get("append", {}).items():
        rate = figures["b1000"]["statements_per_s"]
        ratio = rate / verify_rate
        targets[f"append_b1000_{backend}"] = {"statements_per_s": rate, "ratio": round(ratio, 3),
                                              "target": TARGETS["append_vs_verify"],
                                              "met": ratio >= TARGETS["append_vs_verify"]}
        if "concurrent" in figures:
            # Supplementary: the same batches from two client processes at once, as a server receives them.
            rate = figures["concurrent"]["statements_per_s"]
            targets[f"append_b1000_{backend}_{CLIENTS}_clients"] = {
                "statements_per_s": rate, "ratio": round(rate / verify_rate, 3),
                "target": TARGETS["append_vs_verify"], "met": rate / verify_rate >= TARGETS["append_vs_verify"]}
    in_process = results.get("verify", {}).get("in_process")
    if in_process:
        ratio = in_process["entries_per_s"] / verify_rate
        targets["verify_threads2"] = {"entries_per_s": in_process["entries_per_s"], "ratio": round(ratio, 3),
                                      "target": TARGETS["verify_vs_verify"],
                                      "met": ratio >= TARGETS["verify_vs_verify"]}
    for backend, figures in results.get("proofs", {}).items():
        worst = max(figures["inclusion"]["p99_ms"], figures["consistency"]["p99_ms"])
        targets[f"proofs_p99_{backend}"] = {"worst_p99_ms": worst, "target_ms": TARGETS["proof_p99_ms"],
                                            "tree_size": figures["tree_size"],
                                            "met": worst <= TARGETS["proof_p99_ms"]}
    memory = results.get("verify", {}).get("subprocess", [])
    if len(memory) >= 2:
        peaks = [item["peak_rss_mib"] for item in memory]
        last = peaks[-1] / peaks[-2]
        # Flat: the verifier's peak RSS does not follow the ledger size between the two largest sizes.
        targets["verifier_memory_flat"] = {
            "sizes": [item["entries"] for item in memory], "peak_rss_mib": peaks,
            "growth_between_last_two": round(last, 3), "growth_overall": round(peaks[-1] / peaks[0], 3),
            "met": last <= 1.10}
    return targets


def summary(results: dict[str, Any]) -> str:
    micro = results["micro"]
    lines = [f"Ledger benchmark, {results['parameters']['entries']:,} entries, "
             f"{results['machine']['cpu_count']} cores, Python {results['machine']['python']}, "
             f"total {results['total_seconds']:.0f} s",
             f"  Ed25519 verify {micro['ed25519_verify_per_s_one_core']:,}/s on one core "
             f"({micro['ed25519_verify_per_s_two_threads']:,}/s on two threads), sign "
             f"{micro['ed25519_sign_per_s_one_core']:,}/s; SHA-256(300 B) {micro['sha256_300_bytes_us']} us; "
             f"canonicalize({micro['canonicalize_statement_bytes']} B) {micro['canonicalize_us']} us"]
    for backend, figures in results.get("append", {}).items():
        lines.append(f"  append on {backend}: " + ", ".join(
            (f"{item['clients']} clients, batch {item['batch_size']}" if "clients" in item else
             f"batch {item['batch_size']}") + f": {item['statements_per_s']:,}/s" for item in figures.values()))
    if "in_process" in results.get("verify", {}):
        item = results["verify"]["in_process"]
        lines.append(f"  verify export (threads=2): {item['entries_per_s']:,} entries/s "
                     f"({item['cores_busy']} cores busy)")
    for item in results.get("verify", {}).get("subprocess", []):
        lines.append(f"  verifier peak RSS at {item['entries']:,} entries: {item['peak_rss_mib']} MiB")
    for backend, figures in results.get("proofs", {}).items():
        lines.append(f"  proofs on {backend} at {figures['tree_size']:,}: inclusion p50/p99 "
                     f"{figures['inclusion']['p50_ms']}/{figures['inclusion']['p99_ms']} ms, consistency "
                     f"{figures['consistency']['p50_ms']}/{figures['consistency']['p99_ms']} ms")
    breakdown = results.get("breakdown", {})
    if "append_sqlite_b1000" in breakdown:
        parts = breakdown["append_sqlite_b1000"]
        lines.append("  append per statement (SQLite, batch 1000): " + ", ".join(
            f"{name} {item['wall_us_per_statement']} us wall / {item['cpu_us_per_statement']} us CPU"
            for name, item in parts.items()))
    if "verify" in breakdown:
        item = breakdown["verify"]
        lines.append(f"  verifier in one process {item['one_process']['entries_per_s']:,} entries/s; with 2 worker "
                     f"processes {item['two_workers']['entries_per_s']:,} entries/s, main process "
                     f"{item['two_workers']['main_process_cpu_us']} us/entry + workers "
                     f"{item['two_workers']['workers_cpu_us']} us/entry of CPU (parse_leaf {item['parse_leaf_us']} us)")
    busy = {name: item.get("other_cores", 0.0) for name, item in results.get("load", {}).items()}
    if busy:
        worst = max(busy, key=lambda name: busy[name])
        lines.append(f"  other processes on the machine: up to {busy[worst]} cores busy (during {worst})")
    lines.append("  targets:")
    for name, item in results["targets"].items():
        if isinstance(item, dict):
            lines.append(f"    {name}: {'MET' if item['met'] else 'MISSED'} {json.dumps(item)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=None, help="ledger size to build (default 1,000,000; "
                        "20,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 entries, small samples")
    parser.add_argument("--proof-requests", type=int, default=2000, help="timed requests per proof kind")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL", DEFAULT_PG_ADMIN),
                        help=f"PostgreSQL URL of an existing database; the scratch database {PG_DATABASE!r} "
                        "is created (dropped first if present) and dropped afterwards")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--workdir", default=None, help="parent of the scratch directory (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and database")
    parser.add_argument("--out", default=None, help="results file (default bench/results/ledger.json, or "
                        "ledger-quick.json with --quick)")
    args = parser.parse_args(argv)
    if args.entries is None:
        args.entries = 20_000 if args.quick else 1_000_000
    out = Path(args.out) if args.out else RESULTS / ("ledger-quick.json" if args.quick else "ledger.json")
    results = run(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, out)
    print(summary(results))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

