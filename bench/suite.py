"""Benchmark suite: one command that builds a synthetic traceability ledger of each size once and measures on it
what ``docs/benchmarks.md`` tracks, then writes the figures, a short report and plots of how they grow.

    python -m bench.suite                                    # 10,000, 100,000 and 1,000,000 entries
    python -m bench.suite --sizes 10000,100000 --sqlite-only
    make bench                                               # the first line (BENCH_ARGS=... for options)

For each size (progress on stderr):

1. the raw Ed25519 verify rate on one core (``bench.ledger_bench.verify_rate_one_core``), at the start and
   again at the end; the better of the two is the denominator of every ratio;
2. the ledger: ``trace.synth.generate`` (``bench.synth_bench.run_generate``) appends the size's entries to a
   fresh SQLite file through the signed path; with PostgreSQL, the file is copied row for row into the scratch
   database ``suite_<size>`` (``bench.ledger_bench.copy_sqlite_to_postgres``), dropped at the end; each
   database's size on disk;
3. verification of the ledger's export: ``verify_export_lines`` in process (two worker processes), then
   ``python -m trace verify`` with the custody replay in a subprocess, with its peak RSS
   (``bench.ledger_bench``);
4. on each database: inclusion and consistency proofs (``bench.ledger_bench.proof_latencies``), batch proof
   bundles and recall scopes (``bench.suite_measures``), the public page in process
   (``bench.public_bench.measure_ledger``); then gunicorn serves the database: batch state and provenance over
   HTTP (``bench.api_bench.measure_reads``), and, last because they grow the ledger, traceability statements
   appended in process and over HTTP (``bench.suite_measures``);
5. pymerkle and our Merkle tree over the ledger's leaves (``bench.suite_pymerkle``).

Below 10,000 entries (smoke runs) every sample is smaller. Output, in ``--out-dir``: ``suite-<size>.json`` per
size, then ``suite.json`` (every ``suite-<size>.json`` found there: sizes measured by earlier runs stay in the
report until their file is removed), ``suite.md`` and ``suite-*.png``. Each size is written as soon as it is done.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import suite_measures, suite_pymerkle
from bench.api_bench import Lane, Server, measure_reads
from bench.common import DEFAULT_PG_ADMIN, log, scratch_postgres
from bench.ledger_bench import (
    MONITOR,
    Ledger,
    Phase,
    copy_sqlite_to_postgres,
    export_ledger,
    machine_info,
    proof_latencies,
    verify_in_process,
    verify_rate_one_core,
    verify_subprocess,
)
from bench.public_bench import measure_ledger
from bench.suite_report import required_figures, write_markdown, write_plots
from bench.synth_bench import run_generate
from ledger import verifier_key
from ledger.db import make_engine, make_session_factory
from ledger.models import CheckpointRecord
from ledger.proofs import latest_checkpoint
from trace.authority import ledger_config, load_authority_keys
from trace.settings import ROOT, Settings

ORIGIN = "bench.example/suite"
PASSPHRASE = "bench-only-passphrase"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
RESULTS = ROOT / "bench" / "results"
SEED = 1


@dataclass(frozen=True)
class Samples:
    """How much each measurement samples at one size."""

    verify_count: int  # Ed25519 verifications per timed loop (best of 5)
    proofs: int  # timed requests per proof kind
    reads: int  # batch bundles, recall scopes, state and provenance requests
    pages: int  # public page requests
    page_warmup: int
    pymerkle_proofs: int  # per proof kind and tree
    append_statements: int  # per mode (in process, over HTTP)
    batch: int

    @classmethod
    def for_size(cls, size: int) -> Samples:
        if size < 10_000:  # a smoke run: it checks the plumbing; its figures are not worth quoting
            return cls(2_000, 100, 30, 60, 10, 50, 200, 100)
        return cls(10_000, 2_000, 300, 1_000, 100, 500, min(10_000, max(4_000, size // 10 // 2000 * 2000)), 1000)


def run_size(size: int, options: argparse.Namespace) -> dict[str, Any]:
    """Build the ledger of ``size`` entries and measure everything on it; the figures."""
    samples = Samples.for_size(size)
    workdir = Path(tempfile.mkdtemp(prefix=f"suite-{size}-", dir=options.workdir))
    log(f"suite: {size:,} entries in {workdir}; {samples}")
    MONITOR.phases = {}
    started = time.perf_counter()
    results: dict[str, Any] = {"entries": size, "samples": asdict(samples)}
    sqlite_path = workdir / "ledger.db"
    settings = Settings.load({"database_url": f"sqlite:///{sqlite_path}", "ledger_origin": ORIGIN,
                              "key_dir": str(workdir / "keys"), "key_passphrase": PASSPHRASE,
                              "log_level": "WARNING"}, environ={})
    sample = Lane(99, ORIGIN).statements(7)[6]  # a commission: what the verify rate's message looks like
    postgres_version = None
    try:
        with ExitStack() as stack:
            with Phase("verify_rate_start"):
                rate_start = verify_rate_one_core(sample, count=samples.verify_count)
            log(f"suite: Ed25519 verify {rate_start:,.0f}/s on one core")
            with Phase("build"):
                results["build"] = run_generate(settings.database_url, size, seed=SEED, settings=settings)
            keys = load_authority_keys(settings)
            ledgers = {"sqlite": _open("sqlite", settings.database_url, settings)}
            stack.callback(ledgers["sqlite"].engine.dispose)
            tree_size = ledgers["sqlite"].tree_size()
            results["tree_size"] = tree_size
            if not options.sqlite_only:
                try:
                    url = stack.enter_context(scratch_postgres(options.postgres_admin_url, f"suite_{size}"))
                except Exception as exc:  # reported; the SQLite figures stand alone
                    log(f"suite: PostgreSQL skipped ({exc.__class__.__name__}: {exc})")
                    results["postgresql"] = {"skipped": f"{exc.__class__.__name__}: {exc}"}
                else:
                    with Phase("postgresql_copy"):
                        copied = copy_sqlite_to_postgres(sqlite_path, url)
                    ledgers["postgresql"] = _open("postgresql", url, settings)
                    stack.callback(ledgers["postgresql"].engine.dispose)
                    with ledgers["postgresql"].engine.connect() as connection:
                        postgres_version = connection.execute(text("SHOW server_version")).scalar_one()
                    results["postgresql"] = {"copy": copied}
            for name, ledger in ledgers.items():
                results.setdefault(name, {})["database"] = _database(ledger, tree_size)

            key_text = verifier_key(ORIGIN, keys.operator.public_key).text()
            results["verification"] = _verification(ledgers["sqlite"], workdir, key_text)
            for name, ledger in ledgers.items():
                results[name].update(_measure_database(ledger, settings, samples, options, workdir, rate_start))
            with Phase("pymerkle"):
                results["pymerkle"] = suite_pymerkle.compare(
                    sqlite_path, tree_size, _root(ledgers["sqlite"], tree_size), samples.pymerkle_proofs, SEED,
                    workdir, results["sqlite"]["proofs"])
            with Phase("verify_rate_end"):
                rate_end = verify_rate_one_core(sample, count=samples.verify_count)
    finally:
        if options.keep:
            log(f"suite: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    best = max(rate_start, rate_end)
    results["verify_rate"] = {"start": round(rate_start), "end": round(rate_end), "best": round(best)}
    results["verification"]["in_process"]["ratio"] = round(
        results["verification"]["in_process"]["entries_per_s"] / best, 3)
    for name in ledgers:
        for mode in ("in_process", "http"):
            figures = results[name]["append"][mode]
            figures["ratio"] = round(figures["statements_per_s"] / best, 3)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = machine_info(postgres_version)
    results["load"] = MONITOR.phases
    return results


def _open(name: str, url: str, settings: Settings) -> Ledger:
    engine = make_engine(url)
    return Ledger(name, url, engine, make_session_factory(engine),
                  ledger_config(settings, load_authority_keys(settings)))


def _root(ledger: Ledger, tree_size: int) -> bytes:
    with ledger.read_session() as session:
        record = session.get(CheckpointRecord, tree_size)
        if record is None:
            raise RuntimeError(f"no checkpoint of size {tree_size}")
        return bytes(record.root_hash)


def _database(ledger: Ledger, tree_size: int) -> dict[str, Any]:
    size = suite_measures.database_bytes(ledger)
    return {"bytes": size, "gb_per_million_entries": round(size / tree_size * 1e6 / 1e9, 3)}


def _verification(ledger: Ledger, workdir: Path, key_text: str) -> dict[str, Any]:
    export = workdir / "export.jsonl"
    key_file = workdir / "operator.key"
    key_file.write_text(key_text + "\n", encoding="utf-8")
    with Phase("export"):
        written = export_ledger(ledger, export, origin=ORIGIN)
    log(f"suite: verifying the export of {written['entries']:,} entries in process")
    with Phase("verify_in_process"):
        in_process = verify_in_process(export, key_text, 2)
    log(f"suite: {in_process['entries_per_s']:,} entries/s; now `python -m trace verify` with the custody replay")
    with Phase("verify_cli"):
        cli = verify_subprocess(export, key_file, written["entries"], custody=True)
    log(f"suite: {cli['entries_per_s_wall']:,} entries/s, peak RSS {cli['peak_rss_mib']} MiB")
    export.unlink()
    return {"export": written, "in_process": in_process, "cli": cli}


def _measure_database(ledger: Ledger, settings: Settings, samples: Samples, options: argparse.Namespace,
                      workdir: Path, verify_rate: float) -> dict[str, Any]:
    name = ledger.name
    with ledger.read_session() as session:
        checkpoint = latest_checkpoint(session)
        if checkpoint is None:
            raise RuntimeError(f"{name}: the ledger has no checkpoint")
        size = checkpoint.tree_size
    lots = suite_measures.random_lots(ledger, samples.reads, SEED)
    figures: dict[str, Any] = {}
    with Phase(f"{name}_proofs"):
        figures["proofs"] = proof_latencies(ledger, size, samples.proofs)
    with Phase(f"{name}_bundles"):
        figures["batch_bundle"] = suite_measures.bundle_latency(ledger, lots)
    with Phase(f"{name}_recall"):
        figures["recall"] = suite_measures.recall_latency(ledger, lots, samples.reads)
    log(f"{name}: bundles p50 {figures['batch_bundle']['p50_ms']} ms, recall scope p50 "
        f"{figures['recall']['recall_scope']['p50_ms']} ms; the public page")
    with Phase(f"{name}_public_page"):
        figures["public_page"] = measure_ledger(ledger.url, settings.key_dir, PASSPHRASE, requests=samples.pages,
                                                warmup=samples.page_warmup, entries=size, origin=ORIGIN)
    log(f"{name}: public page p50 {figures['public_page']['p50_ms']} ms, p99 {figures['public_page']['p99_ms']} ms")
    server = Server(f"suite-{name}", ledger.url, ORIGIN, Path(settings.key_dir), PASSPHRASE, _free_port(), workdir)
    with server.running():
        with Phase(f"{name}_reads"):
            figures["reads"] = measure_reads(server, f"{name}-suite", ledger.url, samples.reads, SEED)
        workload = suite_measures.Workload(ORIGIN, samples.append_statements, samples.batch)
        workload.register(ledger, load_authority_keys(settings).registrar)
        with Phase(f"{name}_append_in_process"):
            figures["append"] = {"in_process": suite_measures.append_in_process(ledger, workload)}
        with Phase(f"{name}_append_http"):
            figures["append"]["http"] = suite_measures.append_over_http(ledger, server, workload, verify_rate)
    figures["server_errors"] = server.errors()
    return figures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------------------------------------- output


_SIZE_FILE = re.compile(r"suite-(\d+)\.json")


def write_outputs(out_dir: Path, command: str) -> dict[str, Any]:
    """Merge every ``suite-<size>.json`` of ``out_dir`` into ``suite.json``; write ``suite.md`` and the plots."""
    runs = {int(match.group(1)): json.loads(path.read_text(encoding="utf-8"))
            for path in out_dir.iterdir() if (match := _SIZE_FILE.fullmatch(path.name))}
    merged = {"command": command, "sizes": {str(size): runs[size] for size in sorted(runs)},
              "missing": {str(size): [name for name, value in required_figures(run).items() if value is None]
                          for size, run in sorted(runs.items())}}
    _write_json(out_dir / "suite.json", merged)
    write_markdown(out_dir / "suite.md", runs, command)
    write_plots(out_dir, runs)
    return merged


def _write_json(path: Path, value: Any) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES),
                        help="ledger sizes, comma-separated (default %(default)s)")
    parser.add_argument("--sqlite-only", action="store_true", help="no PostgreSQL")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where the figures, report and plots go "
                        "(default bench/results)")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL", DEFAULT_PG_ADMIN),
                        help="a database on the server where the scratch databases suite_<size> are created "
                        "(dropped first if present, and afterwards)")
    parser.add_argument("--workdir", default=None, help="parent of the scratch directories (default: the system's "
                        "temporary directory; about 5 GB at 1,000,000 entries)")
    parser.add_argument("--keep", action="store_true", help="keep each size's scratch directory (SQLite ledger, "
                        "keys)")
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 100:
        parser.error("--sizes needs sizes of at least 100 entries")
    command = "python -m bench.suite " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        _write_json(args.out_dir / f"suite-{size}.json", run_size(size, args))
        merged = write_outputs(args.out_dir, command.strip())
        log(f"suite: {size:,} entries done; missing figures: {merged['missing'][str(size)] or 'none'}")
    print(f"figures in {args.out_dir / 'suite.json'}, report {args.out_dir / 'suite.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
