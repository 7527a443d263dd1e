"""Appending signed statements to the log.

Appending is two calls so that the CPU work stays outside the sequencing lock:

1. :func:`prepare_statements` parses, canonicalises and verifies signatures (in threads: Ed25519 verification
   releases the GIL) with keys read beforehand; it takes no lock.
2. :func:`sequence_statements` locks the ledger head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` write lock), replays the ledger rules against the current state, assigns consecutive
   indexes, and writes entries, subtrees, derived state and a signed checkpoint in the caller's transaction.

The caller commits (one commit point per request or command) or rolls back; nothing is half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from .checkpoint import sign_checkpoint
from .db import bind_value, bulk_insert
from .errors import LedgerError, SignatureError, StatementError
from .keys import Signer, encode_public_key, verify_signature
from .merkle import MerkleAccumulator, leaf_hash
from .models import AuthorHead, BatchHead, CheckpointRecord, Entry, LedgerHead, LedgerKey, TreeNode
from .rules import GENESIS, OPERATOR, KeyRecord, apply_statement, signing_key
from .statements import (
    DEFAULT_MAX_STATEMENT_BYTES,
    GENESIS_CHAIN,
    SignedStatement,
    Statement,
    build_statement,
    encode_leaf,
    entry_chain_hash,
    format_received,
    parse_envelope,
    parse_time,
    sign_statement,
)
from .tree import peak_nodes

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
_PARALLEL_THRESHOLD = 64
_THREADS = 2
_ENTRY_COLUMNS = ("entry_index", "leaf", "leaf_hash", "chain_hash", "statement_hash", "author", "seq", "key_id",
                  "type", "received_at")


@dataclass(frozen=True)
class LedgerConfig:
    """What the sequencer needs to know: the log's origin and the operator's signing key."""

    origin: str
    operator: Signer
    max_statement_bytes: int = DEFAULT_MAX_STATEMENT_BYTES

    def __post_init__(self) -> None:
        if self.operator.author != OPERATOR:
            raise ValueError(f"operator signer must sign as {OPERATOR!r}")

    @property
    def checkpoint_signer(self) -> Signer:
        return Signer(self.origin, self.operator.private_key)


class DomainPolicy(Protocol):
    """Rules for statement types outside ``ledger.*``, supplied by the domain layer.

    ``check`` runs under the sequencing lock before the entry is written and raises a :class:`LedgerError`
    subclass to refuse (it gets the batch's receive time, the clock domain rules such as expiry use); ``record``
    runs after the entry rows are inserted, in the same transaction.
    """

    def handles(self, statement_type: str) -> bool: ...

    def check(self, session: Session, statement: Statement, index: int, received: datetime) -> None: ...

    def record(self, session: Session, statement: Statement, index: int) -> None: ...


@dataclass(slots=True)
class Prepared:
    """One submitted statement after the lock-free work: parsed and signature-checked, or refused."""

    signed: SignedStatement | None
    error: LedgerError | None = None
    verified_with: bytes | None = None


@dataclass(slots=True)
class AppendResult:
    """The outcome for one submitted statement: its index (new or, when ``duplicate``, original) or an error."""

    position: int
    index: int | None = None
    statement_hash: str | None = None
    duplicate: bool = False
    error: LedgerError | None = None


class BatchRefused(LedgerError):
    """An all-or-nothing batch had at least one refused statement; nothing was appended."""

    code = "batch.refused"

    def __init__(self, results: list[AppendResult]) -> None:
        failed = [result for result in results if result.error is not None]
        first = failed[0]
        super().__init__(f"{len(failed)} of {len(results)} statements refused; first at position "
                         f"{first.position}: {first.error}")
        self.results = results


class LedgerNotInitialised(LedgerError):
    code = "ledger.not_initialised"


def load_public_keys(session: Session, key_ids: Collection[str]) -> dict[str, bytes]:
    """Public keys of registered key ids (revoked ones included: validity is decided under the lock)."""
    if not key_ids:
        return {}
    rows = session.execute(select(LedgerKey.key_id, LedgerKey.public_key).where(LedgerKey.key_id.in_(key_ids)))
    return {key: public for key, public in rows}


def prepare_statements(envelopes: Sequence[Any], *, known_keys: Callable[[Collection[str]], dict[str, bytes]],
                       max_statement_bytes: int = DEFAULT_MAX_STATEMENT_BYTES) -> list[Prepared]:
    """Parse each envelope and verify its signature with the key it names, when that key is already known.

    Never raises for a bad envelope: the error is kept per item. A statement whose key is not yet registered
    (it may be added earlier in the same batch) is verified under the lock instead.
    """
    if len(envelopes) > MAX_BATCH:
        raise StatementError(f"a batch holds at most {MAX_BATCH} statements, found {len(envelopes)}",
                             code="batch.too_large")
    prepared: list[Prepared] = []
    for envelope in envelopes:
        try:
            prepared.append(Prepared(parse_envelope(envelope, max_bytes=max_statement_bytes)))
        except LedgerError as exc:
            prepared.append(Prepared(None, exc))
    keys = known_keys({item.signed.statement.key for item in prepared if item.signed is not None})
    work = [(item, keys[item.signed.statement.key]) for item in prepared
            if item.signed is not None and item.signed.statement.key in keys]
    outcomes = _verify_many([(public, item.signed.signature, item.signed.statement.signing_message())
                             for item, public in work if item.signed is not None])
    for (item, public), error in zip(work, outcomes, strict=True):
        if error is None:
            item.verified_with = public
        else:
            item.error = error
    return prepared


def sequence_statements(session: Session, prepared: Sequence[Prepared], *, config: LedgerConfig,
                        clock: Callable[[], datetime], policy: DomainPolicy | None = None,
                        atomic: bool = True) -> list[AppendResult]:
    """Append the prepared statements in order, under the sequencing lock, in the caller's transaction.

    Invariants: indexes are consecutive from the current tree size; each accepted statement passed the ledger
    rules and (for other types) ``policy.check``; a statement already in the log returns its original entry.
    With ``atomic`` any refusal raises :class:`BatchRefused` (the caller must roll back); otherwise refused
    items are reported and the rest appended. Raises :class:`LedgerNotInitialised` before ``init``.
    """
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        raise LedgerNotInitialised("the ledger has no genesis entry yet: run init-db")
    received = max(format_received(clock()), head.last_received)
    received_at = parse_time(received)
    statements = [item.signed.statement for item in prepared if item.signed is not None]
    state = _BatchState(session, head.registrar, statements)
    existing = _existing_entries(session, statements, state)
    operator_key = config.operator.public_key

    results: list[AppendResult] = []
    accepted: list[tuple[SignedStatement, int]] = []
    seen: dict[bytes, int] = {}
    next_index = head.tree_size
    for position, item in enumerate(prepared):
        result = AppendResult(position)
        results.append(result)
        if item.signed is None:
            result.error = item.error
            continue
        statement = item.signed.statement
        result.statement_hash = statement.hash_hex
        original = existing.get(statement.hash, seen.get(statement.hash))
        if original is not None:
            result.index, result.duplicate = original, True
            continue
        if item.error is not None:
            result.error = item.error
            continue
        try:
            public = signing_key(state, statement, next_index, operator_key)
            if item.verified_with != public:
                verify_signature(public, item.signed.signature, statement.signing_message())
            apply_statement(state, statement, next_index, received_at, origin=config.origin,
                            operator_key=operator_key)
            if not statement.type.startswith("ledger."):
                if policy is None or not policy.handles(statement.type):
                    raise StatementError(f"statement type {statement.type} is not accepted by this ledger",
                                         code="statement.unknown_type")
                policy.check(session, statement, next_index, received_at)
        except LedgerError as exc:
            state.rollback_item()
            result.error = exc
            continue
        state.commit_item()
        result.index = next_index
        seen[statement.hash] = next_index
        accepted.append((item.signed, next_index))
        next_index += 1

    if atomic and any(result.error is not None for result in results):
        raise BatchRefused(results)
    if accepted:
        _write(session, head, accepted, received, received_at, state, config)
        if policy is not None:
            for signed, index in accepted:
                if policy.handles(signed.statement.type):
                    policy.record(session, signed.statement, index)
    logger.info("sequenced batch", extra={"accepted": len(accepted), "submitted": len(prepared),
                                          "tree_size": head.tree_size})
    return results


def genesis_statement(config: LedgerConfig, registrar: str, registrar_key: bytes, time: str) -> SignedStatement:
    """The operator-signed entry 0 that names the registrar and its first key."""
    statement = build_statement(
        ledger=config.origin, type=GENESIS, author=OPERATOR, key=config.operator.key_id, seq=1, prev=None,
        time=time, body={"operator_public_key": encode_public_key(config.operator.public_key), "registrar": registrar,
                         "registrar_public_key": encode_public_key(registrar_key)})
    return sign_statement(config.operator, statement)


def initialise_ledger(session: Session, *, config: LedgerConfig, registrar: Signer,
                      clock: Callable[[], datetime]) -> bool:
    """Create the head row and append the genesis statement, once. Returns False when already initialised.

    Raises :class:`LedgerError` if an existing ledger has another origin or operator key.
    """
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is not None:
        if head.origin != config.origin:
            raise LedgerError(f"database holds ledger {head.origin!r}, configured origin is {config.origin!r}",
                              code="ledger.origin_mismatch")
        genesis = session.get(LedgerKey, config.operator.key_id)
        if genesis is None or genesis.author != OPERATOR:
            raise LedgerError("the configured operator key is not the key of this ledger's genesis",
                              code="key.operator_mismatch")
        return False
    session.add(LedgerHead(id=1, origin=config.origin, tree_size=0, chain_hash=GENESIS_CHAIN, last_received=""))
    session.flush()
    signed = genesis_statement(config, registrar.author, registrar.public_key,
                               clock().isoformat(timespec="seconds"))
    envelope = signed.envelope()
    prepared = prepare_statements([envelope], known_keys=lambda ids: {})
    sequence_statements(session, prepared, config=config, clock=clock)
    return True


def _existing_entries(session: Session, statements: list[Statement], state: _BatchState) -> dict[bytes, int]:
    """The entries already holding any of ``statements``: statement hash -> index.

    A statement in the log is its author's entry at its ``seq``, and an author's entries are numbered 1 to the
    head's ``seq``. So only a statement at or below its author's committed head can be a replay, and it is one
    exactly when the entry at its ``(author, seq)`` holds the same statement hash; those entries are looked up by
    the unique ``(author, seq)`` index. (Probing the ``statement_hash`` index for every statement instead costs a
    random index page per statement, more as the ledger grows.)
    """
    wanted: dict[str, set[int]] = {}
    for statement in statements:
        committed = state.committed_seq(statement.author)
        if committed is not None and statement.seq <= committed:
            wanted.setdefault(statement.author, set()).add(statement.seq)
    found: dict[bytes, int] = {}
    for author, seqs in wanted.items():
        ordered = sorted(seqs)
        for start in range(0, len(ordered), 500):
            rows = session.execute(select(Entry.statement_hash, Entry.index)
                                   .where(Entry.author == author, Entry.seq.in_(ordered[start:start + 500])))
            found.update({statement_hash: index for statement_hash, index in rows})
    return found


def _write(session: Session, head: LedgerHead, accepted: list[tuple[SignedStatement, int]], received: str,
           received_at: datetime, state: _BatchState, config: LedgerConfig) -> None:
    accumulator = MerkleAccumulator.from_peaks(head.tree_size, peak_nodes(session, head.tree_size))
    chain = head.chain_hash
    entries = _table(Entry)
    received_value = bind_value(session, entries.c.received_at, received_at)
    entry_rows: list[tuple[Any, ...]] = []
    node_rows: list[tuple[int, int, bytes]] = []
    for signed, index in accepted:
        statement = signed.statement
        leaf = encode_leaf(signed, received)
        hashed = leaf_hash(leaf)
        chain = entry_chain_hash(chain, index, hashed)
        entry_rows.append((index, leaf, hashed, chain, statement.hash, statement.author, statement.seq,
                           statement.key, statement.type, received_value))
        node_rows.extend((level, position, value) for (level, position), value in accumulator.append(hashed))
    bulk_insert(session, entries, _ENTRY_COLUMNS, entry_rows)
    if node_rows:
        bulk_insert(session, _table(TreeNode), ("level", "position", "hash"), node_rows)
    state.write()
    size = accumulator.size
    root = accumulator.root()
    note = sign_checkpoint(config.checkpoint_signer, config.origin, size, root)
    session.add(CheckpointRecord(tree_size=size, root_hash=root, note=note, created_at=received_at))
    head.tree_size, head.chain_hash, head.last_received = size, chain, received
    head.registrar = state.registrar
    session.flush()


def _verify_one(job: tuple[bytes, bytes, bytes]) -> LedgerError | None:
    try:
        verify_signature(*job)
    except SignatureError as exc:
        return exc
    return None


def _verify_chunk(jobs: list[tuple[bytes, bytes, bytes]]) -> list[LedgerError | None]:
    return [_verify_one(job) for job in jobs]


def _verify_many(jobs: list[tuple[bytes, bytes, bytes]]) -> list[LedgerError | None]:
    if len(jobs) < _PARALLEL_THRESHOLD:
        return _verify_chunk(jobs)
    # Whole chunks per task: ThreadPoolExecutor.map ignores ``chunksize``, and a future per signature costs about
    # 40 us of CPU in hand-offs (a third of a verification) and a quarter of the wall time.
    size = -(-len(jobs) // (_THREADS * 4))
    with ThreadPoolExecutor(_THREADS) as pool:
        chunks = pool.map(_verify_chunk, [jobs[start:start + size] for start in range(0, len(jobs), size)])
        return [outcome for chunk in chunks for outcome in chunk]


class _BatchState:
    """The ledger state as the rules see it during one batch: database rows read once up front, then the
    batch's own changes, then the current item's changes (dropped when the item is refused)."""

    def __init__(self, session: Session, registrar: str | None, statements: Iterable[Statement]) -> None:
        self._session = session
        self.registrar = registrar
        authors = {statement.author for statement in statements}
        refs = {ref for statement in statements for ref in statement.links}
        keys = {statement.key for statement in statements}
        # Plain column rows, not ORM entities: a thousand entities cost more than the rest of the batch's reads.
        self._base_authors: dict[str, tuple[int, bytes] | None] = dict.fromkeys(authors)
        for author, seq, value in _chunked_in(session, (AuthorHead.author, AuthorHead.seq, AuthorHead.statement_hash),
                                              AuthorHead.author, authors):
            self._base_authors[author] = (seq, value)
        self._base_batches: dict[str, bytes | None] = dict.fromkeys(refs)
        for ref, value in _chunked_in(session, (BatchHead.ref, BatchHead.statement_hash), BatchHead.ref, refs):
            self._base_batches[ref] = value
        self._base_keys: dict[str, KeyRecord | None] = {}
        self._load_keys(keys)
        self._authors: dict[str, tuple[int, bytes, int]] = {}
        self._batches: dict[str, tuple[bytes, int]] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._item_authors: dict[str, tuple[int, bytes, int]] = {}
        self._item_batches: dict[str, tuple[bytes, int]] = {}
        self._item_keys: dict[str, KeyRecord] = {}

    def _load_keys(self, key_ids: Collection[str]) -> None:
        for key_id in key_ids:
            self._base_keys.setdefault(key_id, None)
        columns = (LedgerKey.key_id, LedgerKey.author, LedgerKey.public_key, LedgerKey.label, LedgerKey.added_index,
                   LedgerKey.revoked_index)
        for row in _chunked_in(self._session, columns, LedgerKey.key_id, key_ids):
            self._base_keys[row[0]] = KeyRecord(*row)

    def author_head(self, author: str) -> tuple[int, bytes] | None:
        found = self._item_authors.get(author) or self._authors.get(author)
        if found is not None:
            return found[0], found[1]
        return self.committed_head(author)

    def committed_head(self, author: str) -> tuple[int, bytes] | None:
        """The author's head as committed before this batch: ``(seq, statement hash)``."""
        if author not in self._base_authors:
            row = self._session.execute(select(AuthorHead.seq, AuthorHead.statement_hash)
                                        .where(AuthorHead.author == author)).first()
            self._base_authors[author] = None if row is None else (row[0], row[1])
        return self._base_authors[author]

    def committed_seq(self, author: str) -> int | None:
        head = self.committed_head(author)
        return None if head is None else head[0]

    def batch_head(self, ref: str) -> bytes | None:
        found = self._item_batches.get(ref) or self._batches.get(ref)
        if found is not None:
            return found[0]
        if ref not in self._base_batches:
            self._base_batches[ref] = self._session.scalar(select(BatchHead.statement_hash)
                                                           .where(BatchHead.ref == ref))
        return self._base_batches[ref]

    def key(self, key_id: str) -> KeyRecord | None:
        found = self._item_keys.get(key_id) or self._keys.get(key_id)
        if found is not None:
            return found
        if key_id not in self._base_keys:
            self._load_keys([key_id])
        return self._base_keys[key_id]

    def set_author_head(self, author: str, seq: int, statement_hash: bytes, index: int) -> None:
        self._item_authors[author] = (seq, statement_hash, index)

    def set_batch_head(self, ref: str, statement_hash: bytes, index: int) -> None:
        self._item_batches[ref] = (statement_hash, index)

    def add_key(self, record: KeyRecord) -> None:
        self._item_keys[record.key_id] = record

    def revoke_key(self, key_id: str, index: int) -> None:
        record = self.key(key_id)
        if record is None:
            raise StatementError(f"key {key_id} is not registered", code="key.unknown")
        self._item_keys[key_id] = replace(record, revoked_index=index)

    def commit_item(self) -> None:
        self._authors.update(self._item_authors)
        self._batches.update(self._item_batches)
        self._keys.update(self._item_keys)
        self.rollback_item()

    def rollback_item(self) -> None:
        self._item_authors, self._item_batches, self._item_keys = {}, {}, {}

    def write(self) -> None:
        """Insert or update the derived rows the batch changed (Core statements: no ORM bookkeeping per row)."""
        self._upsert(_table(AuthorHead), "author", self._base_authors,
                     [{"author": author, "seq": seq, "statement_hash": value, "entry_index": index}
                      for author, (seq, value, index) in self._authors.items()])
        self._upsert(_table(BatchHead), "ref", self._base_batches,
                     [{"ref": ref, "statement_hash": value, "entry_index": index}
                      for ref, (value, index) in self._batches.items()])
        keys = _table(LedgerKey)
        new_keys = [record for key_id, record in self._keys.items() if self._base_keys.get(key_id) is None]
        if new_keys:
            self._session.execute(insert(keys), [
                {"key_id": record.key_id, "author": record.author, "public_key": record.public_key,
                 "label": record.label, "added_index": record.added_index, "revoked_index": record.revoked_index}
                for record in new_keys])
        revoked = [{"b_key_id": key_id, "revoked_index": record.revoked_index}
                   for key_id, record in self._keys.items() if self._base_keys.get(key_id) is not None]
        if revoked:
            self._session.execute(update(keys).where(keys.c.key_id == bindparam("b_key_id"))
                                  .values(revoked_index=bindparam("revoked_index")), revoked)

    def _upsert(self, table: Table, key: str, base: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        fresh = [row for row in rows if base.get(row[key]) is None]
        known = [{("b_" + name if name == key else name): value for name, value in row.items()}
                 for row in rows if base.get(row[key]) is not None]
        if fresh:
            self._session.execute(insert(table), fresh)
        if known:
            values: dict[str, Any] = {name: bindparam(name) for name in known[0] if name != "b_" + key}
            self._session.execute(update(table).where(table.c[key] == bindparam("b_" + key)).values(values), known)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _chunked_in(session: Session, columns: tuple[Any, ...], column: Any, values: Collection[str]) -> Iterable[Any]:
    ordered = sorted(values)
    for start in range(0, len(ordered), 500):
        yield from session.execute(select(*columns).where(column.in_(ordered[start:start + 500])))


def author_position(session: Session, author: str) -> tuple[int, str | None]:
    """The ``(seq, prev)`` an author's next statement must carry, as of the committed ledger."""
    head = session.get(AuthorHead, author)
    return (1, None) if head is None else (head.seq + 1, head.statement_hash.hex())
