"""The offline verifier: replays an export (or the database) and proves it intact, or names the first bad entry.

For each entry ``i`` in order it checks, numbered as in ``docs/ledger-format.md`` §9:

1. the entry's index is ``i`` and its leaf parses, is canonical and is a valid statement;
2. the signing key: entry 0 is signed by the operator key given out of band, every later entry by a key
   registered for its author and not revoked at an earlier index;
3. the Ed25519 signature over the statement;
4. the ledger rules: origin, clock skew, the author's sequence number and previous hash, every batch link,
   and the ``ledger.*`` key statements' authority;
5. receive times never decrease;
6. the chain hash;
   then, when the caller passes a :class:`DomainReplay` and the statement's type is outside ``ledger.*``, the
   domain layer's own rules (``domain.apply``, in index order, once steps 1-6 have passed for the entry; not part
   of the format, which treats bodies as opaque): a :class:`LedgerError` from it is reported as
   ``verify.domain`` at ``i``, with the domain error's code kept at the start of the message;
7. every checkpoint's operator signature, its origin, and its root against the Merkle root at its size;
8. the final checkpoint covers every entry, and it is consistent with the checkpoint trusted from the last run
   (a smaller tree is a rollback, a different root at the trusted size a fork).

Steps 1 and 3 need no state, so they run a chunk of entries at a time in worker processes
(:mod:`ledger.verify_workers`); everything else runs here, in order. The first failure in log order is reported
all the same: a worker's signature result counts only when it checked the key that step 2 finds valid here,
and an entry whose key the worker did not have yet is checked again, in the background, before any later
failure is reported. (So ``domain.apply`` may already have seen a few entries after one whose signature turns out
bad; the signature failure is what is reported.)

Memory stays bounded: a few chunks are in flight at a time, batch heads spill to a temporary SQLite file past a
threshold, and the Merkle tree is kept as its O(log n) right edge.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Protocol

from .checkpoint import Checkpoint, VerifierKey, open_checkpoint
from .errors import LedgerError, VerificationError
from .export import MAX_LINE_BYTES, ExportCheckpoint, ExportEntry, ExportItem, read_export
from .keys import key_id
from .merkle import MerkleAccumulator, Node
from .rules import KeyRecord, apply_statement, signing_key
from .statements import GENESIS_CHAIN, Leaf, Statement, entry_chain_hash, parse_time
from .verify_workers import Checked, SignatureJob, WorkerPool, bad_signatures, check_leaves, from_wire

CHUNK = 1024
BATCH_HEADS_IN_MEMORY = 200_000
_IN_FLIGHT_PER_WORKER = 2


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


class DomainReplay(Protocol):
    """The domain layer's rules, replayed by the verifier over statements outside ``ledger.*``.

    ``apply`` is called in index order for every such entry once the ledger's own checks of it have passed, with
    the entry's receive time; it records the statement's effects or raises :class:`LedgerError` to refuse it.
    """

    def apply(self, statement: Statement, index: int, received: datetime) -> None: ...


def verify_export_lines(lines: Iterable[bytes], operator_key: VerifierKey, *, trusted: Checkpoint | None = None,
                        progress: Callable[[int], None] | None = None, threads: int | None = None,
                        domain: DomainReplay | None = None) -> VerifyReport:
    """Verify an export given as its raw lines (each ending in LF) against the out-of-band operator key.

    ``threads`` is the number of worker processes that parse leaves and check signatures (default: the number
    of CPUs; 1 does everything in this process). ``domain``, when given, replays the domain rules too.
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
    with Replay(operator_key, trusted=trusted, threads=threads, domain=domain) as replay:
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


def default_workers() -> int:
    """The number of worker processes used when the caller names none: one per CPU."""
    return os.cpu_count() or 1


class Replay:
    """Replays entries in order; shared by the export and the database verifiers.

    With ``threads`` > 1, entries are read ``chunk`` (default :data:`CHUNK`) at a time and each chunk is parsed
    and signature-checked in one of ``threads`` worker processes (started once the first chunk is full), a few
    chunks ahead of the in-order replay; with 1, or for fewer entries than one chunk, everything runs here.
    """

    def __init__(self, operator_key: VerifierKey, *, trusted: Checkpoint | None = None, threads: int | None = None,
                 observer: EntryObserver | None = None, domain: DomainReplay | None = None,
                 batch_heads_in_memory: int = BATCH_HEADS_IN_MEMORY, chunk: int | None = None) -> None:
        self.key = operator_key
        self.trusted = trusted
        self.threads = max(1, threads if threads is not None else default_workers())
        self.chunk = max(1, chunk if chunk is not None else CHUNK)
        self.observer = observer or EntryObserver()
        self.domain = domain
        self.state = _ReplayState(batch_heads_in_memory)
        # Entry 0 is checked under the out-of-band operator key.
        self.state.key_log.append((key_id(operator_key.public_key), operator_key.public_key))
        self.state.live_keys.update(self.state.key_log)
        self.tree = MerkleAccumulator()
        self.chain = GENESIS_CHAIN
        self.last_received = ""
        self.last_checkpoint: Checkpoint | None = None
        self.report = VerifyReport(operator_key.name)
        self._received_at: datetime | None = None
        self._pool: WorkerPool | None = None
        self._in_flight: deque[list[ExportItem] | None] = deque()  # per pool task: its items, None for signatures
        self._late: list[SignatureJob] = []

    def run(self, items: Iterable[ExportItem], *, progress: Callable[[int], None] | None = None) -> VerifyReport:
        started = time.perf_counter()
        try:
            self._run(iter(items), progress)
        except VerificationError:
            # A later check failed; an earlier signature failure, if any, is the first bad entry.
            self._raise_bad_signature()
            raise
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        if progress is not None:
            progress(self.tree.size)
        self._finish()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _run(self, items: Iterator[ExportItem], progress: Callable[[int], None] | None) -> None:
        chunk: list[ExportItem] = []
        entries = 0
        for item in _until_failure(items, failure := _Failure()):
            chunk.append(item)
            if isinstance(item, ExportEntry):
                entries += 1
                if entries == self.chunk:
                    self._dispatch(chunk)
                    chunk, entries = [], 0
                    if progress is not None:
                        progress(self.tree.size)
        self._dispatch(chunk)
        while self._in_flight:
            self._take()
        self._raise_bad_signature()
        if failure.error is not None:
            raise failure.error

    def _dispatch(self, chunk: list[ExportItem]) -> None:
        """Hand a chunk to a worker, or replay it here when there are no workers."""
        if not chunk:
            return
        if self._pool is None and self.threads > 1 and len(chunk) >= self.chunk:
            self._pool = WorkerPool(self.threads)
        if self._pool is None:
            leaves = (item.leaf for item in chunk if isinstance(item, ExportEntry))
            self._replay_chunk(chunk, check_leaves(self.state.live_keys, leaves))
            return
        self._submit(chunk)
        while len(self._in_flight) > _IN_FLIGHT_PER_WORKER * self.threads:
            self._take()

    def _submit(self, chunk: list[ExportItem] | None) -> None:
        assert self._pool is not None
        if chunk is None:
            self._pool.submit("signatures", self._late, self.state.key_log)
            self._late = []
        else:
            self._pool.submit("leaves", [item.leaf for item in chunk if isinstance(item, ExportEntry)],
                              self.state.key_log)
        self._in_flight.append(chunk)

    def _take(self) -> None:
        assert self._pool is not None
        chunk = self._in_flight.popleft()
        result = self._pool.take()
        if chunk is None:
            if result:
                raise _signature_error(result[0])
            return
        wires, failure = result
        leaves = [item.leaf for item in chunk if isinstance(item, ExportEntry)]
        # The worker stops at a leaf that does not parse, so wires may be shorter than leaves.
        checked: Iterator[Checked | tuple[str, str]] = (
            from_wire(wire, data) for wire, data in zip(wires, leaves, strict=False))
        self._replay_chunk(chunk, chain(checked, [failure]) if failure is not None else checked)

    def _replay_chunk(self, chunk: list[ExportItem], checked: Iterator[Checked | tuple[str, str]]) -> None:
        for item in chunk:
            if isinstance(item, ExportCheckpoint):
                self._check_checkpoint(item.note)
            else:
                self._entry(item, next(checked))

    def _raise_bad_signature(self) -> None:
        """Finish the background signature checks; raise for the first that fails."""
        if self._pool is None:
            return
        if self._late:
            self._submit(None)
        while self._in_flight:
            chunk = self._in_flight.popleft()
            result = self._pool.take()
            if chunk is None and result:
                raise _signature_error(result[0])

    def _entry(self, entry: ExportEntry, checked: Checked | tuple[str, str]) -> None:
        index = self.tree.size
        # Step 1.
        if entry.index != index:
            raise VerificationError(f"expected entry {index}, found entry {entry.index} (missing, duplicated or "
                                    "reordered entries)", code="verify.order", index=index)
        if len(checked) == 2:
            raise VerificationError(checked[1], code=checked[0], index=index)
        leaf, hashed, worker_key, verified = checked
        statement = leaf.statement
        try:
            # Step 2.
            public = signing_key(self.state, statement, index, self.key.public_key)
        except LedgerError as exc:
            raise VerificationError(exc.message, code=exc.code, index=index) from None
        # Step 3, when the worker checked the signature under this very key.
        checked_here = worker_key == public
        if checked_here and not verified:
            raise _signature_error(index)
        job = (index, public, leaf.signed.signature, statement.signing_message())
        try:
            self._replay(index, entry, leaf, hashed)
        except VerificationError:
            # Report an altered statement as such: its signature (step 3) comes before steps 4-6.
            if not checked_here and bad_signatures([job]):
                raise _signature_error(index) from None
            raise
        if not checked_here:
            # Step 3 for a key the worker did not have yet (registered in an entry still in flight).
            if self._pool is None:
                if bad_signatures([job]):
                    raise _signature_error(index)
            else:
                self._late.append(job)
                if len(self._late) >= self.chunk:
                    self._submit(None)

    def _replay(self, index: int, entry: ExportEntry, leaf: Leaf, hashed: bytes) -> None:
        statement = leaf.statement
        if leaf.received != self.last_received or self._received_at is None:
            self._received_at = parse_time(leaf.received)
        received_at = self._received_at
        try:
            # Step 4.
            apply_statement(self.state, statement, index, received_at, origin=self.key.name,
                            operator_key=self.key.public_key)
        except LedgerError as exc:
            raise VerificationError(exc.message, code=exc.code, index=index) from None
        # Step 5.
        if leaf.received < self.last_received:
            raise VerificationError(f"received {leaf.received} is earlier than the previous entry's "
                                    f"{self.last_received}", code="verify.received_order", index=index)
        self.last_received = leaf.received
        # Step 6.
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
        types = self.report.types
        types[statement.type] = types.get(statement.type, 0) + 1
        # The domain rules, after the ledger's own.
        if self.domain is not None and not statement.type.startswith("ledger."):
            try:
                self.domain.apply(statement, index, received_at)
            except LedgerError as exc:
                raise VerificationError(f"{exc.code}: {exc.message}", code="verify.domain", index=index) from exc

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
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.state.close()


def _signature_error(index: int) -> VerificationError:
    return VerificationError("statement signature does not verify under the key valid at this index",
                             code="signature.invalid", index=index)


@dataclass(slots=True)
class _Failure:
    error: VerificationError | None = None


def _until_failure(items: Iterator[ExportItem], failure: _Failure) -> Iterator[ExportItem]:
    """``items`` until they end or raise; a :class:`VerificationError` they raise is kept in ``failure``, to be
    reported once the entries read before it have been replayed (one of them may fail first)."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except VerificationError as exc:
            failure.error = exc
            return
        yield item


class _ReplayState:
    """Ledger state for replay: authors and keys in memory (they grow with enterprises, not with entries);
    batch heads in memory up to a threshold, then in a temporary SQLite file."""

    def __init__(self, batch_heads_in_memory: int) -> None:
        self.registrar: str | None = None
        # Every key registered, in order, and the same as a table: what the signature workers look keys up in.
        self.key_log: list[tuple[str, bytes]] = []
        self.live_keys: dict[str, bytes] = {}
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
        self.key_log.append((record.key_id, record.public_key))
        self.live_keys[record.key_id] = record.public_key

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
