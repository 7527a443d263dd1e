"""The offline verifier: replays an export (or the database) and proves it intact, or names the first bad entry.

For each entry ``i`` in order it checks, numbered as in ``docs/ledger-format.md`` §9:

1. the entry's index is ``i`` and its leaf parses, is canonical and is a valid statement;
2. the signing key: entry 0 is signed by the operator key given out of band, every later entry by a key
   registered for its author and not revoked at an earlier index;
3. the Ed25519 signature over the statement (checked in parallel threads, reported in index order);
4. the ledger rules: origin, clock skew, the author's sequence number and previous hash, every batch link,
   and the ``ledger.*`` key statements' authority;
5. receive times never decrease;
6. the chain hash;
7. every checkpoint's operator signature, its origin, and its root against the Merkle root at its size;
8. the final checkpoint covers every entry, and it is consistent with the checkpoint trusted from the last run
   (a smaller tree is a rollback, a different root at the trusted size a fork).

Memory stays bounded: batch heads spill to a temporary SQLite file past a threshold, and the Merkle tree is
kept as its O(log n) right edge.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import Checkpoint, VerifierKey, open_checkpoint
from .errors import LedgerError, SignatureError, VerificationError
from .export import MAX_LINE_BYTES, ExportCheckpoint, ExportEntry, ExportItem, read_export
from .keys import verify_signature
from .merkle import MerkleAccumulator, Node, leaf_hash
from .rules import KeyRecord, apply_statement, signing_key
from .statements import GENESIS_CHAIN, Leaf, entry_chain_hash, parse_leaf, parse_time

CHUNK = 1024
BATCH_HEADS_IN_MEMORY = 200_000


@dataclass
class VerifyReport:
    """What an intact ledger looked like: its size, root, final checkpoint and a few counts."""

    origin: str
    tree_size: int = 0
    root: bytes = b""
    checkpoint: Checkpoint | None = None
    checkpoints_checked: int = 0
    authors: int = 0
    keys: int = 0
    revoked_keys: int = 0
    trusted_size: int | None = None
    seconds: float = 0.0
    types: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntryObserver:
    """Hooks for callers that compare more than the export holds (the database verifier)."""

    on_entry: Callable[[int, Leaf, bytes, bytes], None] | None = None
    on_node: Callable[[Node, bytes], None] | None = None


def verify_export_lines(lines: Iterable[bytes], operator_key: VerifierKey, *, trusted: Checkpoint | None = None,
                        progress: Callable[[int], None] | None = None, threads: int = 2) -> VerifyReport:
    """Verify an export given as its raw lines (each ending in LF) against the out-of-band operator key.

    Returns the report when the ledger is intact; raises :class:`VerificationError` naming the first bad entry
    otherwise (format errors and checkpoint errors included).
    """
    try:
        header, items = read_export(lines)
    except LedgerError as exc:
        raise VerificationError(exc.message, code=exc.code) from None
    if header.origin != operator_key.name:
        raise VerificationError(f"export is of ledger {header.origin!r}, the operator key is for "
                                f"{operator_key.name!r}", code="verify.origin")
    with Replay(operator_key, trusted=trusted, threads=threads) as replay:
        report = replay.run(_guard_format(items), progress=progress)
    if report.tree_size != header.tree_size:
        raise VerificationError(f"header announces {header.tree_size} entries, export holds {report.tree_size}",
                                code="verify.truncated")
    return report


def read_lines(path: Path) -> Iterator[bytes]:
    """The lines of a file, each with its LF; a line longer than the format allows is cut there (and refused)."""
    with path.open("rb") as handle:
        while True:
            line = handle.readline(MAX_LINE_BYTES + 2)
            if not line:
                return
            yield line


def _guard_format(items: Iterator[ExportItem]) -> Iterator[ExportItem]:
    try:
        yield from items
    except LedgerError as exc:
        raise VerificationError(exc.message, code=exc.code) from None


class Replay:
    """Replays entries in order; shared by the export and the database verifiers."""

    def __init__(self, operator_key: VerifierKey, *, trusted: Checkpoint | None = None, threads: int = 2,
                 observer: EntryObserver | None = None, batch_heads_in_memory: int = BATCH_HEADS_IN_MEMORY) -> None:
        self.key = operator_key
        self.trusted = trusted
        self.threads = max(1, threads)
        self.observer = observer or EntryObserver()
        self.state = _ReplayState(batch_heads_in_memory)
        self.tree = MerkleAccumulator()
        self.chain = GENESIS_CHAIN
        self.last_received = ""
        self.last_checkpoint: Checkpoint | None = None
        self.report = VerifyReport(operator_key.name)

    def run(self, items: Iterable[ExportItem], *, progress: Callable[[int], None] | None = None) -> VerifyReport:
        started = time.perf_counter()
        pending: list[tuple[Future[list[int]], int]] = []
        jobs: list[tuple[int, bytes, bytes, bytes]] = []
        with ThreadPoolExecutor(self.threads) as pool:
            try:
                for item in items:
                    if isinstance(item, ExportCheckpoint):
                        self._settle(pending, jobs, pool, wait_all=True)
                        self._check_checkpoint(item.note)
                        continue
                    jobs.append(self._entry(item))
                    if len(jobs) >= CHUNK:
                        pending.append((pool.submit(_verify_chunk, jobs), jobs[0][0]))
                        jobs = []
                        self._settle(pending, jobs, pool, wait_all=False)
                        if progress is not None:
                            progress(self.tree.size)
            except VerificationError as exc:
                # A later check failed; an earlier signature failure, if any, is the first bad entry.
                self._settle(pending, jobs, pool, wait_all=True, before=exc.index)
                raise
            self._settle(pending, jobs, pool, wait_all=True)
        if progress is not None:
            progress(self.tree.size)
        self._finish()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _entry(self, entry: ExportEntry) -> tuple[int, bytes, bytes, bytes]:
        index = self.tree.size
        # Step 1.
        if entry.index != index:
            raise VerificationError(f"expected entry {index}, found entry {entry.index} (missing, duplicated or "
                                    "reordered entries)", code="verify.order", index=index)
        try:
            leaf = parse_leaf(entry.leaf)
        except LedgerError as exc:
            raise VerificationError(exc.message, code=exc.code, index=index) from None
        statement = leaf.statement
        try:
            # Step 2.
            public = signing_key(self.state, statement, index, self.key.public_key)
        except LedgerError as exc:
            raise VerificationError(exc.message, code=exc.code, index=index) from None
        try:
            self._replay(index, entry, leaf)
        except VerificationError:
            # Report an altered statement as such: its signature (step 3) comes before steps 4-6.
            if _verify_chunk([(index, public, leaf.signed.signature, statement.signing_message())]):
                raise VerificationError("statement signature does not verify under the key valid at this index",
                                        code="signature.invalid", index=index) from None
            raise
        # Step 3 is queued: (index, key, signature, message).
        return index, public, leaf.signed.signature, statement.signing_message()

    def _replay(self, index: int, entry: ExportEntry, leaf: Leaf) -> None:
        statement = leaf.statement
        try:
            # Step 4.
            apply_statement(self.state, statement, index, parse_time(leaf.received), origin=self.key.name,
                            operator_key=self.key.public_key)
        except LedgerError as exc:
            raise VerificationError(exc.message, code=exc.code, index=index) from None
        # Step 5.
        if leaf.received < self.last_received:
            raise VerificationError(f"received {leaf.received} is earlier than the previous entry's "
                                    f"{self.last_received}", code="verify.received_order", index=index)
        self.last_received = leaf.received
        # Step 6.
        hashed = leaf_hash(entry.leaf)
        self.chain = entry_chain_hash(self.chain, index, hashed)
        if self.chain != entry.chain_hash:
            raise VerificationError(f"chain hash expected {self.chain.hex()}, found {entry.chain_hash.hex()}",
                                    code="verify.chain", index=index)
        for node, value in self.tree.append(hashed):
            if self.observer.on_node is not None:
                self.observer.on_node(node, value)
        if self.trusted is not None and self.tree.size == self.trusted.size:
            self._check_trusted_at(self.tree.size, self.tree.root())
        if self.observer.on_entry is not None:
            self.observer.on_entry(index, leaf, hashed, self.chain)
        self.report.types[statement.type] = self.report.types.get(statement.type, 0) + 1

    def _settle(self, pending: list[tuple[Future[list[int]], int]], jobs: list[tuple[int, bytes, bytes, bytes]],
                pool: ThreadPoolExecutor, *, wait_all: bool, before: int | None = None) -> None:
        if wait_all and jobs:
            pending.append((pool.submit(_verify_chunk, list(jobs)), jobs[0][0]))
            jobs.clear()
        while pending and (wait_all or pending[0][0].done() or len(pending) > 2 * self.threads):
            future, _ = pending.pop(0)
            bad = future.result()
            if bad and (before is None or bad[0] <= before):
                raise VerificationError("statement signature does not verify under the key valid at this index",
                                        code="signature.invalid", index=bad[0])

    def _check_checkpoint(self, note: str) -> None:
        # Step 7.
        size = self.tree.size
        try:
            checkpoint = open_checkpoint(note, self.key)
        except LedgerError as exc:
            raise VerificationError(f"checkpoint after entry {size - 1}: {exc.message}", code=exc.code) from None
        if checkpoint.size != size:
            raise VerificationError(f"checkpoint of size {checkpoint.size} placed after {size} entries",
                                    code="verify.checkpoint_size", index=min(size, checkpoint.size))
        root = self.tree.root()
        if checkpoint.root != root:
            raise VerificationError(f"checkpoint of size {size} signs root {checkpoint.root.hex()}, the entries "
                                    f"give {root.hex()}", code="verify.checkpoint_root", index=size - 1)
        self.last_checkpoint = checkpoint
        self.report.checkpoints_checked += 1
        self._check_trusted_at(size, root)

    def _check_trusted_at(self, size: int, root: bytes) -> None:
        # Step 8, at the trusted size.
        if self.trusted is not None and size == self.trusted.size and root != self.trusted.root:
            raise VerificationError(f"fork: the trusted checkpoint of size {size} has root "
                                    f"{self.trusted.root.hex()}, these entries give {root.hex()}",
                                    code="verify.fork", index=size - 1)

    def _finish(self) -> None:
        # Step 8.
        size = self.tree.size
        final = self.last_checkpoint
        if final is None or final.size != size:
            raise VerificationError(f"no operator checkpoint covers all {size} entries (last checkpoint size "
                                    f"{final.size if final else 'none'})", code="verify.no_checkpoint")
        if self.trusted is not None and size < self.trusted.size:
            raise VerificationError(f"rollback: the trusted checkpoint has {self.trusted.size} entries, this "
                                    f"ledger only {size}", code="verify.rollback")
        self.report.tree_size = size
        self.report.root = self.tree.root()
        self.report.checkpoint = final
        self.report.trusted_size = self.trusted.size if self.trusted else None
        self.report.authors = self.state.author_count()
        self.report.keys, self.report.revoked_keys = self.state.key_counts()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.state.close()


def _verify_chunk(jobs: list[tuple[int, bytes, bytes, bytes]]) -> list[int]:
    bad: list[int] = []
    for index, public, signature, message in jobs:
        try:
            verify_signature(public, signature, message)
        except SignatureError:
            bad.append(index)
    return bad


class _ReplayState:
    """Ledger state for replay: authors and keys in memory (they grow with enterprises, not with entries);
    batch heads in memory up to a threshold, then in a temporary SQLite file."""

    def __init__(self, batch_heads_in_memory: int) -> None:
        self.registrar: str | None = None
        self._authors: dict[str, tuple[int, bytes]] = {}
        self._author_entries: dict[str, int] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._heads: dict[str, tuple[bytes, int]] = {}
        self._limit = batch_heads_in_memory
        self._spill: sqlite3.Connection | None = None
        self._spill_dir: tempfile.TemporaryDirectory[str] | None = None

    def author_head(self, author: str) -> tuple[int, bytes] | None:
        return self._authors.get(author)

    def batch_head(self, ref: str) -> bytes | None:
        found = self.batch_head_entry(ref)
        return found[0] if found is not None else None

    def batch_head_entry(self, ref: str) -> tuple[bytes, int] | None:
        """The batch's latest statement hash and the index of its entry."""
        found = self._heads.get(ref)
        if found is None and self._spill is not None:
            row = self._spill.execute("SELECT hash, entry FROM heads WHERE ref = ?", (ref,)).fetchone()
            found = (row[0], row[1]) if row else None
        return found

    def author_entry(self, author: str) -> int | None:
        """The index of the author's latest entry."""
        return self._author_entries.get(author)

    def key(self, key_id: str) -> KeyRecord | None:
        return self._keys.get(key_id)

    def set_author_head(self, author: str, seq: int, statement_hash: bytes, index: int) -> None:
        self._authors[author] = (seq, statement_hash)
        self._author_entries[author] = index

    def set_batch_head(self, ref: str, statement_hash: bytes, index: int) -> None:
        self._heads[ref] = (statement_hash, index)
        if len(self._heads) >= self._limit:
            self._flush_heads()

    def add_key(self, record: KeyRecord) -> None:
        self._keys[record.key_id] = record

    def revoke_key(self, key_id: str, index: int) -> None:
        self._keys[key_id].revoked_index = index

    def iter_batch_heads(self) -> Iterator[tuple[str, bytes]]:
        self._flush_heads()
        if self._spill is not None:
            yield from self._spill.execute("SELECT ref, hash FROM heads")

    def batch_head_count(self) -> int:
        self._flush_heads()
        if self._spill is None:
            return 0
        return int(self._spill.execute("SELECT count(*) FROM heads").fetchone()[0])

    def authors(self) -> dict[str, tuple[int, bytes]]:
        return self._authors

    def keys(self) -> dict[str, KeyRecord]:
        return self._keys

    def author_count(self) -> int:
        return len(self._authors)

    def key_counts(self) -> tuple[int, int]:
        return len(self._keys), sum(1 for record in self._keys.values() if record.revoked_index is not None)

    def _flush_heads(self) -> None:
        if not self._heads:
            return
        if self._spill is None:
            self._spill_dir = tempfile.TemporaryDirectory(prefix="trace-verify-")
            self._spill = sqlite3.connect(Path(self._spill_dir.name) / "heads.db")
            self._spill.execute("PRAGMA journal_mode=OFF")
            self._spill.execute("PRAGMA synchronous=OFF")
            self._spill.execute("CREATE TABLE heads (ref TEXT PRIMARY KEY, hash BLOB NOT NULL, entry INTEGER NOT NULL) "
                                "WITHOUT ROWID")
        self._spill.executemany("INSERT OR REPLACE INTO heads VALUES (?, ?, ?)",
                                ((ref, value, index) for ref, (value, index) in self._heads.items()))
        self._spill.commit()
        self._heads.clear()

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._spill_dir is not None:
            self._spill_dir.cleanup()
            self._spill_dir = None
