"""API benchmark: ingest over HTTP through gunicorn (two workers) on PostgreSQL, and the latency of a batch's state
and provenance requests on a large ledger.

    python -m bench.api_bench            # ingest, then read latency on every large ledger found or built
    python -m bench.api_bench --quick    # smaller samples; reads only ledgers that already exist

What one run does (progress on stderr, figures in ``bench/results/api.json``, a summary on stdout):

1. the raw Ed25519 verify rate on one core (``bench.ledger_bench.verify_rate_one_core``), at the start and at the
   end of the run; the better of the two is the denominator of every ratio;
2. ingest: the scratch database ``api_bench`` is created afresh (``python -m trace init-db``), gunicorn serves
   ``api:create_app()`` with two workers, the registrar registers the benchmark's enterprises and keys through
   ``POST /api/v1/events/batch``, and then, with every statement signed and serialised beforehand: single
   statements through ``POST /api/v1/events`` from four client threads, and batches of 1,000 (mode atomic) through
   ``POST /api/v1/events/batch`` from two. Every response is checked after the timing (201, or 200 with 1,000
   appended and none refused). The statements are product definitions, commissions of distinct lots by several
   producers, and ship/receive pairs to wholesalers, all under the real traceability rules;
3. read latency: for each large ledger (``--read-db``; by default the synthetic SQLite ledger at
   ``var/bench/synth-1m.db`` and the PostgreSQL database ``api_bench_1m`` when they exist, the latter built with
   ``python -m trace synth`` when ``--build-pg`` asks), gunicorn serves it and one client times
   ``GET /api/v1/batches/{ref}`` and ``GET …/provenance`` over random lots and over the lots with the most
   batches upstream. The SQLite ledger's key directory is ``var/bench/keys`` and the PostgreSQL one's
   ``var/bench/api-keys-pg`` (passphrase ``bench-only-passphrase``); the origin is read from ``ledger_head``.

The client runs on the same machine as the server and PostgreSQL (on 2 cores they share them); the CPU each side
used in each timed phase is recorded under ``cpu`` so the figures can be read with that in mind.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.ledger_bench import verify_rate_one_core
from ledger import Signer
from ledger.db import make_engine
from ledger.keys import encode_public_key
from trace.authority import load_authority_keys
from trace.identifiers import gs1_check_digit, uscc_check_character
from trace.ledger_service import StatementWriter
from trace.settings import ROOT, Settings

ORIGIN = "bench.example/api"
PASSPHRASE = "bench-only-passphrase"
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INGEST_DB = "api_bench"
READ_PG_DB = "api_bench_1m"
SYNTH_SQLITE = ROOT / "var" / "bench" / "synth-1m.db"
SYNTH_KEYS = ROOT / "var" / "bench" / "keys"
READ_PG_KEYS = ROOT / "var" / "bench" / "api-keys-pg"
READ_PG_ORIGIN = "bench.example/synth-pg"
CHINA = timezone(timedelta(hours=8))
WORKERS = 2
SINGLE_CLIENTS = 4
BATCH_CLIENTS = 2
BATCH = 1000
PAIRS_PER_LANE = 3
TARGET_BATCH_RATIO = 0.3
COMMITMENT = hashlib.sha256("本企业承诺依法诚信经营（基准测试）".encode()).hexdigest()
CERTIFICATE = hashlib.sha256(b"bench certificate scan").hexdigest()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# ------------------------------------------------------------------------------------------------ workload


def _credit_code(serial: int) -> str:
    body = f"91350100{serial:09d}"[:17]
    return body + uscc_check_character(body)


def _gtin(item: int) -> str:
    body = f"0695077{item:06d}"
    return body + gs1_check_digit(body)


@dataclass
class Pair:
    """A producer that commissions lots and ships each one to its wholesaler, which receives it."""

    producer: StatementWriter
    wholesaler: StatementWriter
    gtins: list[str]
    heads: dict[str, str | None] = field(default_factory=dict)
    step: int = 0

    def next(self, tag: str) -> dict[str, Any]:
        """The pair's next statement: two product definitions, then commission, ship, receive, repeated."""
        step, self.step = self.step, self.step + 1
        now = datetime.now(CHINA).replace(microsecond=0)
        if step < len(self.gtins):
            category = ("farm", "food")[step % 2]
            return self.producer.sign("trace.product.define", {
                "gtin": self.gtins[step], "name": ("福鼎白茶（白毫银针）", "闽侯青菜（小包装）")[step % 2],
                "category": category, "spec": ("500 g/罐", "250 g/袋")[step % 2]}, now)
        cycle, phase = divmod(step - len(self.gtins), 3)
        lot = f"{tag}-{cycle}"
        gtin = self.gtins[cycle % len(self.gtins)]
        ref = f"01/{gtin}/10/{lot}"
        shipment = f"S-{lot}"
        if phase == 0:
            day = now.date() - timedelta(days=1)
            body = {"gtin": gtin, "lot": lot, "quantity": f"{1000 + cycle % 500}.5", "unit": "KGM",
                    "produced_on": day.isoformat(), "expires_on": (day + timedelta(days=180)).isoformat(),
                    "activity": "harvest", "location": "farm",
                    "origin": {"place": "福建省宁德市福鼎市点头镇柏柳村", "farm": "柏柳村茶叶专业合作社第三基地"},
                    "certificates": [{"kind": "compliance_promise", "sha256": CERTIFICATE,
                                      "issuer": "福鼎市点头镇农产品质量安全监管站"}]}
            envelope = self.producer.sign("trace.commission", body, now, links={ref: None})
            self.heads[ref] = self.producer.prev
        elif phase == 1:
            envelope = self.producer.sign("trace.ship", {
                "batch": ref, "quantity": "1000", "to": self.wholesaler.signer.author, "shipment_id": shipment,
                "location": "farm"}, now, links={ref: self.heads[ref]})
            self.heads[ref] = self.producer.prev
        else:
            envelope = self.wholesaler.sign("trace.receive", {
                "shipment": {"from": self.producer.signer.author, "id": shipment}, "quantity": "1000",
                "location": "dc"}, now, links={ref: self.heads.pop(ref)})
        return envelope


class Lane:
    """One client's statements: a few producer/wholesaler pairs, interleaved. Every author's chain and every lot's
    links stay inside the lane, so lanes can be submitted concurrently and each in its own order."""

    def __init__(self, number: int, origin: str) -> None:
        self.number = number
        self.pairs: list[Pair] = []
        for index in range(PAIRS_PER_LANE):
            serial = 100 * number + 2 * index
            producer = Signer.from_seed(_credit_code(serial), hashlib.sha256(f"producer {serial}".encode()).digest())
            wholesaler = Signer.from_seed(_credit_code(serial + 1),
                                          hashlib.sha256(f"wholesaler {serial}".encode()).digest())
            gtins = [_gtin(1000 * number + 10 * index + item) for item in range(2)]
            self.pairs.append(Pair(StatementWriter(producer, origin, 1, None),
                                   StatementWriter(wholesaler, origin, 1, None), gtins))

    def registrations(self, registrar: StatementWriter) -> list[dict[str, Any]]:
        now = datetime.now(CHINA).replace(microsecond=0)
        envelopes = []
        for pair in self.pairs:
            for writer, roles, name, location in (
                    (pair.producer, ["producer"], "福鼎白茶专业合作社", {"id": "farm", "name": "茶园基地",
                                                                  "address": "福建省宁德市福鼎市点头镇"}),
                    (pair.wholesaler, ["wholesaler"], "福州海峡农产品批发市场", {"id": "dc", "name": "冷链配送中心",
                                                                       "address": "福建省福州市仓山区"})):
                code = writer.signer.author
                envelopes.append(registrar.sign("trace.enterprise.register", {
                    "credit_code": code, "name": f"{name}{code[-4:]}", "roles": roles, "locations": [location],
                    "commitment_sha256": COMMITMENT}, now))
                envelopes.append(registrar.sign("ledger.key.add", {
                    "subject": code, "public_key": encode_public_key(writer.signer.public_key),
                    "label": "benchmark key"}, now))
        return envelopes

    def statements(self, count: int) -> list[dict[str, Any]]:
        return [self.pairs[i % len(self.pairs)].next(f"A{self.number}P{i % len(self.pairs)}")
                for i in range(count)]


def serialise(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def batch_body(lines: list[bytes]) -> bytes:
    return b'{"mode":"atomic","statements":[' + b",".join(lines) + b"]}"


# ---------------------------------------------------------------------------------------------- the server


class Server:
    """gunicorn serving ``api:create_app()`` with two workers, started from the repository root."""

    def __init__(self, name: str, database_url: str, origin: str, key_dir: Path, passphrase: str, port: int,
                 workdir: Path) -> None:
        self.port = port
        self.env = {**os.environ, "TRACE_DATABASE_URL": database_url, "TRACE_LEDGER_ORIGIN": origin,
                    "TRACE_KEY_DIR": str(key_dir), "TRACE_KEY_PASSPHRASE": passphrase, "TRACE_RATE_LIMITS": "false",
                    "TRACE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        self.log_path = workdir / f"gunicorn-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def init_db(self) -> None:
        subprocess.run([sys.executable, "-m", "trace", "init-db"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    @contextmanager
    def running(self) -> Iterator[Server]:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{self.port}",
                 "--timeout", "300", "api:create_app()"], cwd=ROOT, env=self.env, stdout=log_file, stderr=log_file)
            try:
                self._wait_ready()
                yield self
            finally:
                self.process.terminate()
                self.process.wait(60)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            try:
                if Client(self.port).call("GET", "/api/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 90 s: see {self.log_path}")

    def pids(self) -> list[int]:
        assert self.process is not None
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat[stat.rfind(")") + 2:].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def errors(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return [line for line in lines if "Traceback" in line or "[ERROR]" in line or '"ERROR"' in line][:10]


class Client:
    """One HTTP/1.1 connection (gunicorn's sync workers close it after each response; http.client reopens it)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


# --------------------------------------------------------------------------------------------- CPU shares


def _process_cpu(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_busy() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """Cores used during a timed block by the client (this process), the gunicorn processes, PostgreSQL (all its
    processes, so other users of the server count here too; exited backends are missed) and everything else."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> CpuShare:
        self.pids, self.pg = self.server.pids(), _postgres_pids()
        self.begun = (time.perf_counter(), _machine_busy(), resource.getrusage(resource.RUSAGE_SELF),
                      _process_cpu(self.pids), _process_cpu(self.pg))
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.begun[0]
        own = resource.getrusage(resource.RUSAGE_SELF)
        client = (own.ru_utime + own.ru_stime - self.begun[2].ru_utime - self.begun[2].ru_stime) / wall
        server = (_process_cpu(self.pids) - self.begun[3]) / wall
        postgres = (_process_cpu(self.pg) - self.begun[4]) / wall
        machine = (_machine_busy() - self.begun[1]) / wall
        self.figures = {"client_cores": round(client, 2), "gunicorn_cores": round(server, 2),
                        "postgres_cores": round(postgres, 2), "machine_busy_cores": round(machine, 2),
                        "other_cores": round(max(0.0, machine - client - server - postgres), 2),
                        "loadavg_end": loadavg()}


# -------------------------------------------------------------------------------------------------- timing


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_figures(seconds: list[float]) -> dict[str, float]:
    ms = [value * 1000 for value in seconds]
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(percentile(ms, 0.99), 2),
            "max_ms": round(max(ms), 2), "requests": len(ms)}


def run_clients(port: int, method: str, requests: Sequence[Sequence[tuple[str, bytes | None]]]
                ) -> tuple[float, list[list[tuple[float, int, bytes]]]]:
    """Send each list of requests in order from its own thread, all threads at once; returns the wall time from
    the start to the last response, and each request's latency, status and body."""
    results: list[list[tuple[float, int, bytes]]] = [[] for _ in requests]
    barrier = threading.Barrier(len(requests) + 1)

    def client(number: int) -> None:
        connection = Client(port)
        out = results[number]
        barrier.wait()
        for path, body in requests[number]:
            started = time.perf_counter()
            status, data = connection.call(method, path, body)
            out.append((time.perf_counter() - started, status, data))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(len(requests))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, results


# -------------------------------------------------------------------------------------------------- ingest


def admin_engine(admin_url: str) -> Any:
    return make_engine(admin_url, isolation_level="AUTOCOMMIT")


def recreate_database(admin_url: str, name: str) -> str:
    engine = admin_engine(admin_url)
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _refusals(results: list[list[tuple[float, int, bytes]]], accepted: Any) -> tuple[int, list[str]]:
    count, examples = 0, list[str]()
    for lane in results:
        for _, status, data in lane:
            bad = accepted(status, data)
            if bad:
                count += bad
                if len(examples) < 5:
                    examples.append(f"{status}: {data[:400].decode(errors='replace')}")
    return count, examples


def _single_ok(status: int, data: bytes) -> int:
    body = json.loads(data)
    return 0 if status == 201 and body.get("error") is None and not body.get("duplicate") else 1


def _batch_ok(size: int) -> Callable[[int, bytes], int]:
    """How many statements of a batch of ``size`` a response says were not appended."""
    def check(status: int, data: bytes) -> int:
        if status != 200:
            return size
        body = json.loads(data)
        return int(size - body["appended"] + body["refused"])
    return check


def post_batches(server: Server, port: int, batches: list[list[tuple[str, bytes | None]]], size: int,
                 verify_rate: float) -> dict[str, Any]:
    """POST every client's batches of ``size`` statements (mode atomic) from one thread per client, all at once;
    the rate, its ratio to ``verify_rate``, the refusals (checked after the timing), latency and CPU shares."""
    log(f"batches: {sum(len(lane) for lane in batches)} × {size} from {len(batches)} client threads")
    with CpuShare(server) as cpu:
        wall, results = run_clients(port, "POST", batches)
    refused, examples = _refusals(results, _batch_ok(size))
    count = sum(len(lane) for lane in batches) * size
    log(f"batches: {count / wall:.1f} statements/s, refused {refused}")
    return {"statements": count, "batches": sum(len(lane) for lane in batches), "batch_size": size,
            "client_threads": len(batches), "mode": "atomic", "seconds": round(wall, 2),
            "statements_per_s": round(count / wall, 1), "ratio_to_verify_rate": round(count / wall / verify_rate, 4),
            "refused": refused, "refusal_examples": examples,
            "latency": latency_figures([t for lane in results for t, _, _ in lane]), "cpu": cpu.figures}


def ingest(args: argparse.Namespace, workdir: Path, verify_rate: float) -> dict[str, Any]:
    url = recreate_database(args.postgres_admin_url, INGEST_DB)
    server = Server("ingest", url, ORIGIN, workdir / "keys", PASSPHRASE, args.port, workdir)
    server.init_db()
    settings = Settings.load({"database_url": url, "ledger_origin": ORIGIN, "key_dir": str(workdir / "keys"),
                              "key_passphrase": PASSPHRASE}, environ={})
    registrar = load_authority_keys(settings).registrar
    single_lanes = [Lane(number, ORIGIN) for number in range(SINGLE_CLIENTS)]
    batch_lanes = [Lane(SINGLE_CLIENTS + number, ORIGIN) for number in range(BATCH_CLIENTS)]
    figures: dict[str, Any] = {"database": "postgresql", "workers": WORKERS, "worker_class": "sync"}
    with server.running():
        client = Client(args.port)
        head = json.loads(client.call("GET", f"/api/v1/authors/{registrar.author}/head")[1])
        writer = StatementWriter(registrar, ORIGIN, head["next_seq"], head["prev"])
        registrations = [envelope for lane in single_lanes + batch_lanes for envelope in lane.registrations(writer)]
        status, data = client.call("POST", "/api/v1/events/batch", batch_body([serialise(e) for e in registrations]))
        if status != 200 or json.loads(data)["refused"]:
            raise RuntimeError(f"registration refused: {status} {data[:2000]!r}")
        log(f"registered {len(registrations) // 2} enterprises; signing the workload")
        started = time.perf_counter()
        per_single = args.single // SINGLE_CLIENTS
        singles = [[("/api/v1/events", serialise(e)) for e in lane.statements(per_single)] for lane in single_lanes]
        per_batch_lane = args.batches // BATCH_CLIENTS
        batches = [[("/api/v1/events/batch", batch_body([serialise(e) for e in lane.statements(BATCH)]))
                     for _ in range(per_batch_lane)] for lane in batch_lanes]
        figures["presign_seconds"] = round(time.perf_counter() - started, 1)
        figures["statement_bytes_mean"] = round(statistics.mean(len(body) for lane in singles for _, body in lane))
        figures["batch_body_bytes_mean"] = round(statistics.mean(len(body) for lane in batches for _, body in lane))
        size_before = _tree_size(client)

        log(f"single statements: {per_single * SINGLE_CLIENTS} from {SINGLE_CLIENTS} client threads")
        with CpuShare(server) as cpu:
            wall, results = run_clients(args.port, "POST", singles)
        refused, examples = _refusals(results, _single_ok)
        count = per_single * SINGLE_CLIENTS
        figures["single"] = {"statements": count, "client_threads": SINGLE_CLIENTS, "seconds": round(wall, 2),
                             "statements_per_s": round(count / wall, 1),
                             "ratio_to_verify_rate": round(count / wall / verify_rate, 4), "refused": refused,
                             "refusal_examples": examples,
                             "latency": latency_figures([t for lane in results for t, _, _ in lane]),
                             "cpu": cpu.figures}
        log(f"single: {count / wall:.1f} statements/s, refused {refused}")

        figures["batch_1000"] = post_batches(server, args.port, batches, BATCH, verify_rate)
        count = figures["batch_1000"]["statements"]
        size_after = _tree_size(client)
        expected = per_single * SINGLE_CLIENTS + count
        figures["ledger_entries_after"] = size_after
        figures["ledger_grew_by"] = size_after - size_before
        if size_after - size_before != expected:
            log(f"WARNING: the ledger grew by {size_after - size_before}, expected {expected}")
    figures["server_errors"] = server.errors()
    if not args.keep:
        admin = admin_engine(args.postgres_admin_url)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {INGEST_DB}"))
        admin.dispose()
    return figures


def _tree_size(client: Client) -> int:
    return int(json.loads(client.call("GET", "/api/v1/health")[1])["ledger"]["size"])


# ------------------------------------------------------------------------------------------------- reading


def pick_refs(url: str, count: int, largest: int, seed: int
              ) -> tuple[list[str], list[tuple[str, int, int]], dict[str, int]]:
    """``count`` random lots; the ``largest`` lots with the most batches upstream, as ``(ref, batches upstream,
    longest chain in hops)``; and table sizes. Lots whose number contains ``/`` cannot be addressed in a path and
    are skipped."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sizes = {table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                     for table in ("trace_batches", "trace_edges")}
            sizes["entries"] = int(connection.execute(text("SELECT tree_size FROM ledger_head")).scalar_one())
            lots = [ref for (ref,) in connection.execute(text(
                "SELECT ref FROM trace_batches WHERE kind = 'lot' ORDER BY created_index")) if "%2F" not in ref]
            parents: dict[str, set[str]] = {}
            for parent, child in connection.execute(text("SELECT parent, child FROM trace_edges")):
                parents.setdefault(child, set()).add(parent)
    finally:
        engine.dispose()
    depth: dict[str, int] = {}
    upstream: dict[str, frozenset[str]] = {}
    for start in parents:  # iterative walk upstream, memoised (the graph is acyclic); sets capped at 20,000
        stack = [start]
        while stack:
            node = stack[-1]
            pending = [p for p in parents.get(node, ()) if p not in depth]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            above = parents.get(node, set())
            depth[node] = 1 + max((depth[p] for p in above), default=-1)
            seen = set(above)
            for parent in above:
                if len(seen) < 20_000:
                    seen |= upstream[parent]
            upstream[node] = frozenset(seen)
    ranked = sorted((ref for ref in parents if ref.startswith("01/") and "%2F" not in ref),
                    key=lambda ref: (-len(upstream[ref]), -depth[ref], ref))[:largest]
    chosen = [(ref, len(upstream[ref]), depth[ref]) for ref in ranked]
    return random.Random(seed).sample(lots, min(count, len(lots))), chosen, sizes


def read_latency(name: str, url: str, origin: str, key_dir: Path, passphrase: str, args: argparse.Namespace,
                 workdir: Path) -> dict[str, Any]:
    server = Server(f"read-{name}", url, origin, key_dir, passphrase, args.port, workdir)
    with server.running():
        return measure_reads(server, name, url, args.read_requests, args.seed)


def measure_reads(server: Server, name: str, url: str, requests: int, seed: int) -> dict[str, Any]:
    """State and provenance latency through the running ``server`` of the ledger at ``url``: ``requests``
    requests over random lots, and as many over the 20 lots with the most batches upstream."""
    log(f"{name}: picking batches")
    randoms, largest, sizes = pick_refs(url, requests, 20, seed)
    log(f"{name}: {sizes['entries']:,} entries, {sizes['trace_batches']:,} batches, {sizes['trace_edges']:,} "
        f"edges; largest upstream graph {largest[0][1] + 1 if largest else 1} batches")
    figures: dict[str, Any] = {"database": name.split("-")[0], "url": url.rsplit("/", 1)[-1], "tables": sizes,
                               "largest_refs": [{"ref": ref, "batches_upstream": above, "longest_chain_hops": hops}
                                                for ref, above, hops in largest]}
    kinds = [("state", "", randoms), ("provenance", "/provenance", randoms)]
    if largest:
        refs = [ref for ref, _, _ in largest]
        kinds.append(("provenance_largest", "/provenance", [refs[i % len(refs)] for i in range(requests)]))
    warm = [("/api/v1/batches/" + ref + suffix, None) for ref in randoms[:20] for suffix in ("", "/provenance")]
    run_clients(server.port, "GET", [warm])
    for kind, suffix, refs in kinds:
        paths = [("/api/v1/batches/" + ref + suffix, None) for ref in refs]
        with CpuShare(server) as cpu:
            _, results = run_clients(server.port, "GET", [paths])
        statuses = [status for _, status, _ in results[0]]
        bodies = [json.loads(data) for _, _, data in results[0]]
        item = {**latency_figures([t for t, _, _ in results[0]]), "distinct_batches": len(set(refs)),
                "non_200": sum(1 for status in statuses if status != 200),
                "response_bytes_p50": int(statistics.median(len(data) for _, _, data in results[0])),
                "cpu": cpu.figures}
        if suffix:
            nodes = [len(body.get("nodes", ())) for body in bodies]
            events = [len(body.get("events", ())) for body in bodies]
            item.update({"nodes_p50": statistics.median(nodes), "nodes_max": max(nodes),
                         "events_p50": statistics.median(events), "events_max": max(events)})
        figures[kind] = item
        log(f"{name} {kind}: p50 {item['p50_ms']} ms, p99 {item['p99_ms']} ms, non-200 {item['non_200']}")
    figures["server_errors"] = server.errors()
    return figures


def ledger_origin(url: str) -> tuple[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            origin, size = connection.execute(text("SELECT origin, tree_size FROM ledger_head")).one()
    finally:
        engine.dispose()
    return origin, int(size)


def database_exists(admin_url: str, name: str) -> bool:
    engine = admin_engine(admin_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() \
                is not None
    finally:
        engine.dispose()


def synth_available() -> bool:
    done = subprocess.run([sys.executable, "-m", "trace", "synth", "--help"], cwd=ROOT, capture_output=True)
    return done.returncode == 0


def build_pg_ledger(args: argparse.Namespace) -> dict[str, Any]:
    """Initialise ``api_bench_1m`` and fill it with ``python -m trace synth --entries N``."""
    url = recreate_database(args.postgres_admin_url, args.read_pg_db)
    env = {**os.environ, "TRACE_DATABASE_URL": url, "TRACE_LEDGER_ORIGIN": READ_PG_ORIGIN,
           "TRACE_KEY_DIR": str(READ_PG_KEYS), "TRACE_KEY_PASSPHRASE": PASSPHRASE, "TRACE_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "trace", "init-db"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log(f"building {args.build_pg:,} entries in {args.read_pg_db} with python -m trace synth")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "trace", "synth", "--entries", str(args.build_pg), "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -m trace synth failed ({done.returncode}): {done.stderr[-3000:]}")
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()
    return {"entries": args.build_pg, "seconds": round(seconds, 1), "output": done.stdout[-1500:]}


# ---------------------------------------------------------------------------------------------------- main


def machine(admin_url: str) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    engine = admin_engine(admin_url)
    with engine.connect() as connection:
        postgres = connection.execute(text("SHOW server_version")).scalar_one()
        synchronous = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    engine.dispose()
    import cryptography
    import sqlalchemy
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "memory_gib": round(int(memory) / 2**20, 1),
            "platform": platform.platform(), "python": platform.python_version(), "postgresql": postgres,
            "synchronous_commit": synchronous, "cryptography": cryptography.__version__,
            "gunicorn": importlib.metadata.version("gunicorn"), "sqlalchemy": sqlalchemy.__version__}


def summary(results: dict[str, Any]) -> str:
    lines = [f"API benchmark ({results['measured_at']}, load {results['load']['start']} → {results['load']['end']})",
             f"  Ed25519 verify, one core: {results['verify_rate_per_s']:,.0f} /s (start {results['verify']['start']:,}"
             f", end {results['verify']['end']:,})"]
    ingest_figures = results.get("ingest")
    if ingest_figures:
        for key in ("single", "batch_1000"):
            item = ingest_figures[key]
            lines.append(f"  {key}: {item['statements_per_s']:,} statements/s = {item['ratio_to_verify_rate']} × "
                         f"verify rate, refused {item['refused']}, latency p50 {item['latency']['p50_ms']} ms / p99 "
                         f"{item['latency']['p99_ms']} ms; cores client {item['cpu']['client_cores']}, gunicorn "
                         f"{item['cpu']['gunicorn_cores']}, postgres {item['cpu']['postgres_cores']}, other "
                         f"{item['cpu']['other_cores']}")
    for name, item in results.get("read", {}).items():
        parts = [f"{kind} p50 {item[kind]['p50_ms']} / p99 {item[kind]['p99_ms']} ms"
                 for kind in ("state", "provenance", "provenance_largest") if kind in item]
        lines.append(f"  {name} at {item['tables']['entries']:,} entries: " + ", ".join(parts))
    for note in results["notes"]:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    parser.add_argument("--single", type=int, default=None, help="single statements (default 3,000; 400 quick)")
    parser.add_argument("--batches", type=int, default=None, help="batches of 1,000 (default 40; 8 quick)")
    parser.add_argument("--read-requests", type=int, default=None, help="timed requests per read kind (300; 60)")
    parser.add_argument("--read-db", action="append", default=None, metavar="NAME=URL",
                        help="a ledger to read from (repeatable); default: the synthetic ledgers that exist")
    parser.add_argument("--build-pg", type=int, default=0, metavar="N",
                        help="first build the --read-pg-db database with `python -m trace synth --entries N` "
                        "(dropped and created first)")
    parser.add_argument("--read-pg-db", default=READ_PG_DB, help=f"the PostgreSQL ledger to read from when it "
                        f"exists (default {READ_PG_DB})")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest phase")
    parser.add_argument("--no-read", action="store_true", help="skip the read-latency phase")
    parser.add_argument("--note", action="append", default=[], help="a note to record in the results (repeatable)")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL", DEFAULT_PG_ADMIN))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--keep", action="store_true", help=f"keep the scratch database {INGEST_DB}")
    parser.add_argument("--out", default=None, help="results file (default bench/results/api.json, or "
                        "api-quick.json with --quick)")
    args = parser.parse_args(argv)
    args.single = args.single or (400 if args.quick else 3000)
    args.batches = args.batches or (8 if args.quick else 40)
    args.read_requests = args.read_requests or (60 if args.quick else 300)
    out = Path(args.out) if args.out else RESULTS / ("api-quick.json" if args.quick else "api.json")
    notes = ["the client runs on the same machine as gunicorn and PostgreSQL and shares its cores with them "
             "(see each phase's cpu figures)", *args.note]
    results: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "machine": machine(args.postgres_admin_url), "load": {"start": loadavg()},
                               "notes": notes}
    with tempfile.TemporaryDirectory(prefix="api_bench_") as scratch:
        workdir = Path(scratch)
        # A sample statement of the workload for the verify rate: a commission of the first lane.
        sample = Lane(99, ORIGIN).statements(7)[6]
        log("Ed25519 verify rate on one core")
        start_rate = verify_rate_one_core(sample, count=5000, repeats=5)
        results["verify"] = {"start": round(start_rate)}
        if not args.no_ingest:
            results["ingest"] = ingest(args, workdir, start_rate)
        reads = list(args.read_db or [])
        if args.build_pg:
            if synth_available():
                results["build_pg"] = build_pg_ledger(args)
            else:
                notes.append("`python -m trace synth` is not available: the PostgreSQL ledger was not built")
        if not args.read_db and not args.no_read:
            if SYNTH_SQLITE.exists():
                reads.append(f"sqlite-synth=sqlite:///{SYNTH_SQLITE}")
            else:
                notes.append(f"{SYNTH_SQLITE.relative_to(ROOT)} does not exist: no SQLite read figures")
            if database_exists(args.postgres_admin_url, args.read_pg_db):
                reads.append(f"postgresql-synth={args.postgres_admin_url.rsplit('/', 1)[0]}/{args.read_pg_db}")
        results["read"] = {}
        for item in reads:
            name, url = item.split("=", 1)
            origin, _ = ledger_origin(url)
            key_dir = SYNTH_KEYS if url.startswith("sqlite") else READ_PG_KEYS
            results["read"][name] = read_latency(name, url, origin, key_dir, PASSPHRASE, args, workdir)
        end_rate = verify_rate_one_core(sample, count=5000, repeats=5)
        results["verify"]["end"] = round(end_rate)
    rate = max(start_rate, end_rate)
    results["verify_rate_per_s"] = round(rate)
    results["verify"]["note"] = ("best of 5 × 5,000 verifications of a workload commission on one thread, at the "
                                 "start and at the end of the run; the better of the two is the denominator")
    if "ingest" in results:
        for key in ("single", "batch_1000"):
            item = results["ingest"][key]
            item["ratio_to_verify_rate"] = round(item["statements_per_s"] / rate, 4)
        batch_ratio = results["ingest"]["batch_1000"]["ratio_to_verify_rate"]
        results["target"] = {"batch_ratio": TARGET_BATCH_RATIO, "measured": batch_ratio,
                             "met": batch_ratio >= TARGET_BATCH_RATIO}
    results["load"]["end"] = loadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summary(results))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
