"""Side by side with pymerkle (a pure-Python Merkle-tree library, RFC 9162 hashing like ours): building the tree
over the ledger's own leaves, and producing inclusion and consistency proofs for the same random requests.

Four trees over the same leaves, whose roots must all equal the ledger's root at that size:

* ``ours_in_memory``: :class:`ledger.merkle.MerkleAccumulator` fed the leaf hashes, every complete subtree it
  closes kept in a dict; proofs by :func:`ledger.merkle.hash_ranges` from that dict (the code path of the stored
  tree, without the database);
* ``ours_stored``: the ledger itself, proofs through :mod:`ledger.proofs` in a read session (its figures come from
  the suite's proof measurement; the stored tree is built while appending, so it has no build time of its own);
* ``pymerkle_in_memory``: ``pymerkle.InmemoryTree`` (a node per leaf and per inner node);
* ``pymerkle_sqlite``: ``pymerkle.SqliteTree`` in a scratch file (leaves and their hashes; inner nodes computed
  on demand, those over 128 leaves or more cached in memory). Its first proof, which computes and caches the
  large subtrees, is reported apart from the others.

pymerkle counts leaves from 1; the requests are the same, shifted. A sample of pymerkle's proofs is checked to
hold exactly our proof's hashes.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.api_bench import percentile
from bench.common import log
from ledger.merkle import (
    MerkleAccumulator,
    Node,
    consistency_ranges,
    hash_ranges,
    inclusion_ranges,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

CHECKED_PROOFS = 20


def read_leaves(sqlite_path: Path, size: int) -> list[bytes]:
    """The first ``size`` leaves of the ledger in the SQLite file, in index order."""
    with sqlite3.connect(sqlite_path) as connection:
        leaves = [bytes(leaf) for (leaf,) in connection.execute(
            "SELECT leaf FROM ledger_entries WHERE entry_index < ? ORDER BY entry_index", (size,))]
    if len(leaves) != size:
        raise RuntimeError(f"expected {size} leaves, found {len(leaves)}")
    return leaves


def requests_for(size: int, count: int, seed: int) -> tuple[list[int], list[int]]:
    """``count`` random leaf indexes (from 0) and ``count`` random old sizes (1 .. size - 1) for ``size``."""
    rng = random.Random(seed)
    return [rng.randrange(size) for _ in range(count)], [rng.randrange(1, size) for _ in range(count)]


def compare(sqlite_path: Path, size: int, root: bytes, proofs: int, seed: int, workdir: Path,
            ours_stored: dict[str, Any]) -> dict[str, Any]:
    """Build each tree over the ledger's first ``size`` leaves, check its root against ``root``, and time
    ``proofs`` inclusion and consistency proofs on it; ``ours_stored`` is the suite's proof figures."""
    import pymerkle

    leaves = read_leaves(sqlite_path, size)
    indexes, old_sizes = requests_for(size, proofs, seed)
    figures: dict[str, Any] = {"leaves": size, "leaf_bytes_mean": round(sum(map(len, leaves)) / size, 1),
                               "proofs": proofs, "pymerkle": pymerkle.__version__}

    log(f"pymerkle comparison: our tree in memory over {size:,} leaves")
    started = time.perf_counter()
    hashes = [leaf_hash(leaf) for leaf in leaves]
    accumulator = MerkleAccumulator()
    inner: dict[Node, bytes] = {}
    for value in hashes:
        inner.update(accumulator.append(value))
    build = time.perf_counter() - started
    _check_root("ours_in_memory", accumulator.root(), root)

    def lookup(nodes: Any) -> dict[Node, bytes]:
        return {node: hashes[node[1]] if node[0] == 0 else inner[node] for node in nodes}

    def our_inclusion(index: int) -> list[bytes]:
        return hash_ranges(inclusion_ranges(index, size), lookup)

    def our_consistency(old: int) -> list[bytes]:
        return hash_ranges(consistency_ranges(old, size), lookup)

    def old_root(old: int) -> bytes:
        return hash_ranges([(0, old)], lookup)[0]

    figures["ours_in_memory"] = {**_build(build, size), **_proofs(our_inclusion, our_consistency, indexes,
                                                                  old_sizes)}
    for index, old in zip(indexes[:CHECKED_PROOFS], old_sizes[:CHECKED_PROOFS], strict=True):
        verify_inclusion(hashes[index], index, size, our_inclusion(index), root)
        verify_consistency(old, size, our_consistency(old), old_root(old), root)
    figures["ours_stored"] = {"inclusion": ours_stored["inclusion"], "consistency": ours_stored["consistency"]}

    log("pymerkle comparison: pymerkle.InmemoryTree")
    started = time.perf_counter()
    in_memory = pymerkle.InmemoryTree(algorithm="sha256")
    in_memory.append_entries(leaves)
    build = time.perf_counter() - started
    _check_root("pymerkle_in_memory", in_memory.get_root(), root)
    figures["pymerkle_in_memory"] = {**_build(build, size), **_pymerkle_proofs(
        in_memory, size, indexes, old_sizes, our_inclusion, old_root, root)}
    del in_memory

    log("pymerkle comparison: pymerkle.SqliteTree")
    path = workdir / "pymerkle.db"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    with pymerkle.SqliteTree(str(path), algorithm="sha256") as stored:
        stored.append_entries(leaves)
        build = time.perf_counter() - started
        started = time.perf_counter()
        stored.prove_inclusion(indexes[0] + 1, size)
        first_seconds = time.perf_counter() - started
        _check_root("pymerkle_sqlite", stored.get_root(size), root)
        figures["pymerkle_sqlite"] = {**_build(build, size), "file_bytes": path.stat().st_size,
                                      "first_proof_ms": round(first_seconds * 1000, 2), **_pymerkle_proofs(
                                          stored, size, indexes, old_sizes, our_inclusion, old_root, root)}
    path.unlink(missing_ok=True)
    return figures


def _build(seconds: float, size: int) -> dict[str, Any]:
    return {"build_seconds": round(seconds, 3), "build_us_per_leaf": round(1e6 * seconds / size, 2)}


def _proofs(inclusion: Callable[[int], object], consistency: Callable[[int], object], indexes: list[int],
            old_sizes: list[int]) -> dict[str, Any]:
    return {"inclusion": _latency(inclusion, indexes), "consistency": _latency(consistency, old_sizes)}


def _latency(call: Callable[[int], object], arguments: list[int]) -> dict[str, Any]:
    """p50 / p99 / max in ms, to the tenth of a microsecond (an in-memory proof takes a few)."""
    seconds = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        seconds.append(time.perf_counter() - started)
    return {"p50_ms": round(1000 * statistics.median(seconds), 4), "p99_ms": round(1000 * percentile(seconds, 0.99), 4),
            "max_ms": round(1000 * max(seconds), 4), "requests": len(seconds)}


def _pymerkle_proofs(tree: Any, size: int, indexes: list[int], old_sizes: list[int],
                     our_inclusion: Callable[[int], list[bytes]], old_root: Callable[[int], bytes],
                     root: bytes) -> dict[str, Any]:
    """Time the proofs; then check a sample: an inclusion path must be our proof, hash for hash (after the leaf
    hash pymerkle puts first); a consistency proof (pymerkle's own layout, not RFC 9162's list) must pass
    pymerkle's verification between our old root and the ledger's root."""
    import pymerkle

    figures = _proofs(lambda index: tree.prove_inclusion(index + 1, size),
                      lambda old: tree.prove_consistency(old, size), indexes, old_sizes)
    for index in indexes[:CHECKED_PROOFS]:
        found, expected = tree.prove_inclusion(index + 1, size).path[1:], our_inclusion(index)
        if found != expected:
            raise RuntimeError(f"pymerkle's inclusion proof of {index} differs from ours: "
                               f"{[value.hex()[:12] for value in found]} != {[value.hex()[:12] for value in expected]}")
    for old in old_sizes[:CHECKED_PROOFS]:
        pymerkle.verify_consistency(old_root(old), root, tree.prove_consistency(old, size))
    return figures


def _check_root(name: str, found: bytes, expected: bytes) -> None:
    if found != expected:
        raise RuntimeError(f"{name}: root {found.hex()} differs from the ledger's {expected.hex()}")

