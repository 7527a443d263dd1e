"""How fast can any verifier of the export format go in CPython with the ``cryptography`` Ed25519 primitive on
this machine? The verifier against two floors beneath it, measured in alternating rounds on one export:

    python -m bench.verify_floor                        # builds a 100,000-entry ledger first (~2 minutes)
    python -m bench.verify_floor --entries 20000 --rounds 2

Each round measures, in this order:

1. ``raw``: the single-core Ed25519 verify rate (the denominator of the targets in ``docs/benchmarks.md``);
2. ``signatures``: only the signatures, in the verifier's shape: 2 worker processes, chunks of 1024 (key id,
   signature, message) triples read from the export beforehand;
3. ``parse_and_signatures``: the least per entry any verifier of the format must do: the main process splits the
   export lines (``ledger.export.read_export``) and chains the entry hashes; 2 worker processes parse each leaf
   (``orjson``), re-serialise its statement for the signature message, decode the signature, verify it and hash
   the leaf. No canonical-form proof, no field rules, no key validity, no author or batch links, no Merkle tree;
4. ``verifier``: ``ledger.verify_export_lines`` with 2 worker processes, everything checked.

Rates are entries per second of wall time, each divided by the same round's ``raw`` rate; the figures go to
``bench/results/verify_floor.json``.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bench.common import log, machine, write_results
from bench.workload import all_enterprises
from ledger import parse_verifier_key, read_lines, verifier_key, verify_export_lines
from ledger.export import ExportEntry, read_export
from ledger.keys import decode_public_key, key_id
from ledger.merkle import leaf_hash
from ledger.statements import GENESIS_CHAIN, SIGNATURE_TAG, entry_chain_hash
from trace.settings import ROOT

RESULTS = ROOT / "bench" / "results" / "verify_floor.json"
CHUNK = 1024
WORKERS = 2
RAW_SECONDS = 3.0

Triple = tuple[str, bytes, bytes]  # (key id, signature, message)


def raw_verify_rate(seconds: float = RAW_SECONDS) -> float:
    """Ed25519 verifications per CPU second on this thread, of a message as long as a workload statement's."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    message = SIGNATURE_TAG + bytes(836)
    signature = private.sign(message)
    count = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(200):
            public.verify(signature, message)
        count += 200
    return count / (time.process_time() - start)


def export_keys(path: Path) -> dict[str, bytes]:
    """Every public key the export's ``ledger.*`` statements register, by key id (they come first in the
    benchmark's ledgers: the genesis entry and one registration per enterprise)."""
    keys: dict[str, bytes] = {}
    for leaf in islice(_leaves(path), 1 + len(all_enterprises())):
        body = orjson.loads(leaf)["statement"]["body"]
        for name in ("operator_public_key", "registrar_public_key", "public_key"):
            if name in body:
                public = decode_public_key(body[name])
                keys[key_id(public)] = public
    return keys


def _leaves(path: Path) -> Iterator[bytes]:
    _, items = read_export(read_lines(path))
    return (item.leaf for item in items if isinstance(item, ExportEntry))


def _chunks(items: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(items, CHUNK)):
        yield chunk


# Worker state, set before the pool forks.
_KEYS: dict[str, Ed25519PublicKey] = {}


def _verify_triples(chunk: list[Triple]) -> int:
    for key, signature, message in chunk:
        _verify(key, signature, message)
    return len(chunk)


def _verify(key: str, signature: bytes, message: bytes) -> None:
    try:
        _KEYS[key].verify(signature, message)
    except InvalidSignature:
        raise RuntimeError("a signature of the benchmark ledger does not verify") from None


def _signed_message(data: bytes) -> Triple:
    """The key id, signature and signed message of the leaf ``data``: parsed, with none of the format's checks."""
    leaf = orjson.loads(data)
    statement = leaf["statement"]
    return (statement["key"], base64.b64decode(leaf["signature"]),
            SIGNATURE_TAG + orjson.dumps(statement, option=orjson.OPT_SORT_KEYS))


def _parse_and_verify(chunk: list[bytes]) -> list[bytes]:
    hashes = []
    for data in chunk:
        _verify(*_signed_message(data))
        hashes.append(leaf_hash(data))
    return hashes


def _timed(count_entries: Callable[[], int]) -> dict[str, Any]:
    """Wall time and CPU (this process and its finished children) of ``count_entries``, which returns how many
    entries it went through."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    entries = count_entries()
    wall = time.perf_counter() - start
    cpu = _cpu_since(resource.RUSAGE_CHILDREN, children) + _cpu_since(resource.RUSAGE_SELF, own)
    return {"entries": entries, "entries_per_s": round(entries / wall), "cores_busy": round(cpu / wall, 2),
            "cpu_us_per_entry": round(1e6 * cpu / entries, 1)}


def _timed_pool(work: Callable[[Any], Any], chunks: Iterator[list[Any]],
                consume: Callable[[Any], int]) -> dict[str, Any]:
    def run() -> int:
        pool = multiprocessing.get_context("fork").Pool(WORKERS)
        entries = sum(consume(result) for result in pool.imap(work, chunks))
        pool.close()
        pool.join()  # the workers' CPU counts once they are reaped
        return entries
    return _timed(run)


def _cpu_since(who: int, before: resource.struct_rusage) -> float:
    after = resource.getrusage(who)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def signatures_floor(triples: list[Triple]) -> dict[str, Any]:
    return _timed_pool(_verify_triples, _chunks(iter(triples)), lambda verified: verified)


def parse_floor(path: Path) -> dict[str, Any]:
    _, items = read_export(read_lines(path))
    entries = (item for item in items if isinstance(item, ExportEntry))
    chain, index = GENESIS_CHAIN, 0
    chain_hashes: list[bytes] = []  # as the export states them, checked against the leaf hashes

    def leaves() -> Iterator[list[bytes]]:
        for chunk in _chunks(entries):
            chain_hashes.extend(entry.chain_hash for entry in chunk)
            yield [entry.leaf for entry in chunk]

    def consume(hashes: list[bytes]) -> int:
        nonlocal chain, index
        for hashed in hashes:
            chain = entry_chain_hash(chain, index, hashed)
            if chain != chain_hashes[index]:
                raise RuntimeError(f"chain hash of entry {index} does not match")
            index += 1
        return len(hashes)
    return _timed_pool(_parse_and_verify, leaves(), consume)


def full_verifier(path: Path, key_text: str) -> dict[str, Any]:
    key = parse_verifier_key(key_text)
    return _timed(lambda: verify_export_lines(read_lines(path), key, threads=WORKERS).tree_size)


def signature_triples(path: Path) -> list[Triple]:
    return [_signed_message(data) for data in _leaves(path)]


def build_export(workdir: Path, entries: int) -> tuple[Path, str]:
    """A benchmark ledger of ``entries`` entries on SQLite and its export; returns the export and the operator's
    verifier key text."""
    from bench import ledger_bench

    registrations = 1 + len(all_enterprises())
    paths, _ = ledger_bench.presign(workdir, entries - registrations)
    ledger, keys = ledger_bench.create_sqlite_ledger(workdir)
    stream = ledger_bench.EnvelopeStream(paths)
    try:
        ledger_bench.run_appends(ledger, stream, entries - registrations, 1000)
    finally:
        stream.close()
    export = workdir / "export.jsonl"
    ledger_bench.export_ledger(ledger, export)
    ledger.engine.dispose()
    return export, verifier_key(ledger_bench.ORIGIN, keys.operator.public_key).text()


def run(export: Path, key_text: str, rounds: int) -> dict[str, Any]:
    _KEYS.clear()
    _KEYS.update({name: Ed25519PublicKey.from_public_bytes(public) for name, public in export_keys(export).items()})
    triples = signature_triples(export)
    measured: list[dict[str, Any]] = []
    for number in range(rounds):
        figures: dict[str, Any] = {"raw_per_s": round(raw_verify_rate())}
        figures["signatures"] = signatures_floor(triples)
        figures["parse_and_signatures"] = parse_floor(export)
        figures["verifier"] = full_verifier(export, key_text)
        for name in ("signatures", "parse_and_signatures", "verifier"):
            figures[name]["ratio"] = round(figures[name]["entries_per_s"] / figures["raw_per_s"], 3)
        log(f"round {number + 1}/{rounds}: raw {figures['raw_per_s']:,}/s; " + ", ".join(
            f"{name} {figures[name]['ratio']} x" for name in ("signatures", "parse_and_signatures", "verifier")))
        measured.append(figures)
    median = {name: statistics.median(figures[name]["ratio"] for figures in measured)
              for name in ("signatures", "parse_and_signatures", "verifier")}
    return {"entries": len(triples), "workers": WORKERS, "chunk": CHUNK, "rounds": measured,
            "median_ratio": median, **machine()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="size of the ledger to build (default 100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--workdir", default=None, help="parent of the scratch directory (default: system temp)")
    parser.add_argument("--out", default=str(RESULTS), help="results file (default bench/results/verify_floor.json)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="verify-floor-", dir=args.workdir))
    try:
        log(f"building a ledger of {args.entries:,} entries in {workdir}")
        export, key_text = build_export(workdir, args.entries)
        results = run(export, key_text, args.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_results(Path(args.out), results)
    print(f"median ratios to the single-core verify rate: {results['median_ratio']}")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
