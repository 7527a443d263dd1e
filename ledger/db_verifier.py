"""Verifying the live database: the export checks of :mod:`ledger.verifier` over the stored leaves, plus every
row derived from them — leaf, statement and chain hashes, indexed columns, stored subtrees, checkpoints, the
head row and the author, batch and key tables — so a tampered row is found whichever table it is in."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .checkpoint import Checkpoint, VerifierKey
from .errors import VerificationError
from .export import ExportCheckpoint, ExportEntry, ExportItem
from .merkle import Node
from .models import AuthorHead, BatchHead, CheckpointRecord, Entry, LedgerHead, LedgerKey, TreeNode
from .statements import Leaf, parse_time
from .verifier import DomainReplay, EntryObserver, Replay, VerifyReport

_CHUNK = 2000


def verify_database(session: Session, operator_key: VerifierKey, *, trusted: Checkpoint | None = None,
                    progress: Callable[[int], None] | None = None, threads: int | None = None,
                    domain: DomainReplay | None = None) -> VerifyReport:
    """Verify the ledger tables against the out-of-band operator key.

    ``threads`` and ``domain`` are as for :func:`ledger.verify_export_lines`.

    Returns the report when intact; raises :class:`VerificationError` naming the first bad entry or row.
    """
    head = session.get(LedgerHead, 1)
    if head is None:
        raise VerificationError("the database holds no ledger (no head row)", code="verify.no_ledger")
    if head.origin != operator_key.name:
        raise VerificationError(f"database holds ledger {head.origin!r}, the operator key is for "
                                f"{operator_key.name!r}", code="verify.origin")
    rows: dict[int, Entry] = {}
    nodes = _NodeComparer(session)

    def on_entry(index: int, leaf: Leaf, leaf_hash: bytes, chain_hash: bytes) -> None:
        _compare_entry(rows.pop(index), leaf, leaf_hash)

    observer = EntryObserver(on_entry=on_entry, on_node=nodes.add)
    with Replay(operator_key, trusted=trusted, threads=threads, observer=observer, domain=domain) as replay:
        report = replay.run(_items(session, rows), progress=progress)
        nodes.flush()
        _compare_head(head, replay)
        nodes.check_count(report.tree_size)
        _compare_state(session, replay)
    return report


def _items(session: Session, rows: dict[int, Entry]) -> Iterator[ExportItem]:
    checkpoints = _checkpoints(session)
    upcoming = next(checkpoints, None)
    start = 0
    while True:
        chunk = session.scalars(select(Entry).where(Entry.index >= start).order_by(Entry.index).limit(_CHUNK)).all()
        for row in chunk:
            rows[row.index] = row
            yield ExportEntry(row.index, row.chain_hash, row.leaf)
            while upcoming is not None and upcoming.tree_size <= row.index + 1:
                if upcoming.created_at != row.received_at:  # the batch's receive time, already checked
                    raise VerificationError(f"checkpoint row {upcoming.tree_size}: created_at differs from the "
                                            "receive time of its last entry", code="verify.row_checkpoint",
                                            index=upcoming.tree_size - 1)
                yield _checkpoint_item(upcoming)
                upcoming = next(checkpoints, None)
        if len(chunk) < _CHUNK:
            break
        start = chunk[-1].index + 1
        session.expunge_all()
    if upcoming is not None:
        raise VerificationError(f"checkpoint of size {upcoming.tree_size} exceeds the {start + len(chunk)} "
                                "stored entries", code="verify.checkpoint_size")


def _checkpoints(session: Session) -> Iterator[CheckpointRecord]:
    after = 0
    while True:
        chunk = session.scalars(select(CheckpointRecord).where(CheckpointRecord.tree_size > after)
                                .order_by(CheckpointRecord.tree_size).limit(_CHUNK)).all()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1].tree_size


def _checkpoint_item(record: CheckpointRecord) -> ExportCheckpoint:
    lines = record.note.split("\n")
    stored_root = record.root_hash
    if len(lines) < 3 or lines[1] != str(record.tree_size) or base64.b64encode(stored_root).decode() != lines[2]:
        raise VerificationError(f"checkpoint row {record.tree_size}: tree_size or root_hash columns differ from "
                                "its signed note", code="verify.row_checkpoint", index=record.tree_size - 1)
    return ExportCheckpoint(record.note)


def _compare_entry(row: Entry, leaf: Leaf, leaf_hash: bytes) -> None:
    statement = leaf.statement
    _compare_columns(row, {
        "leaf_hash": leaf_hash, "statement_hash": statement.hash, "author": statement.author,
        "seq": statement.seq, "key_id": statement.key, "type": statement.type,
        "received_at": parse_time(leaf.received),
    }, what="column", code="verify.row_entry", index=row.index)


def _compare_head(head: LedgerHead, replay: Replay) -> None:
    _compare_columns(head, {"tree_size": replay.tree.size, "chain_hash": replay.chain,
                            "last_received": replay.last_received, "registrar": replay.state.registrar},
                     what="head row", code="verify.row_head", index=None)


def _compare_columns(row: object, expected: dict[str, object], *, what: str, code: str, index: int | None) -> None:
    for column, value in expected.items():
        found = getattr(row, column)
        if found != value:
            shown = (value.hex(), found.hex()) if isinstance(value, bytes) else (value, found)
            raise VerificationError(f"{what} {column} expected {shown[0]}, found {shown[1]}", code=code, index=index)


def _compare_state(session: Session, replay: Replay) -> None:
    authors = replay.state.authors()
    stored_authors = {row.author: row for row in session.scalars(select(AuthorHead))}
    if stored_authors.keys() != authors.keys():
        raise VerificationError(f"author table lists {sorted(stored_authors.keys() ^ authors.keys())[:5]} "
                                "differently from the entries", code="verify.row_author")
    for author, (seq, statement_hash) in authors.items():
        row = stored_authors[author]
        if (row.seq, row.statement_hash, row.entry_index) != (seq, statement_hash, replay.state.author_entry(author)):
            raise VerificationError(f"author {author}: stored head seq {row.seq} {row.statement_hash.hex()}, "
                                    f"entries give seq {seq} {statement_hash.hex()}", code="verify.row_author")
    keys = replay.state.keys()
    stored_keys = {row.key_id: row for row in session.scalars(select(LedgerKey))}
    if stored_keys.keys() != keys.keys():
        raise VerificationError(f"key table lists {sorted(stored_keys.keys() ^ keys.keys())[:5]} differently "
                                "from the entries", code="verify.row_key")
    for key_id, record in keys.items():
        key_row = stored_keys[key_id]
        if (key_row.author, key_row.public_key, key_row.label, key_row.added_index, key_row.revoked_index) != \
                (record.author, record.public_key, record.label, record.added_index, record.revoked_index):
            raise VerificationError(f"key {key_id}: stored row differs from the key statements",
                                    code="verify.row_key")
    count = session.scalar(select(func.count()).select_from(BatchHead)) or 0
    if count != replay.state.batch_head_count():
        raise VerificationError(f"batch head table has {count} rows, the entries give "
                                f"{replay.state.batch_head_count()}", code="verify.row_batch")
    after = ""
    while True:
        chunk = session.scalars(select(BatchHead).where(BatchHead.ref > after).order_by(BatchHead.ref)
                                .limit(_CHUNK)).all()
        for head_row in chunk:
            if replay.state.batch_head_entry(head_row.ref) != (head_row.statement_hash, head_row.entry_index):
                raise VerificationError(f"batch {head_row.ref}: stored head {head_row.statement_hash.hex()} is not the "
                                        "latest statement linking it", code="verify.row_batch")
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1].ref


class _NodeComparer:
    """Compares recomputed subtrees with stored ones, a chunk at a time, then checks no extra rows exist."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._buffer: dict[Node, bytes] = {}

    def add(self, node: Node, value: bytes) -> None:
        self._buffer[node] = value
        if len(self._buffer) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        spans: dict[int, tuple[int, int]] = {}
        for level, position in self._buffer:
            low, high = spans.get(level, (position, position))
            spans[level] = (min(low, position), max(high, position))
        stored: dict[Node, bytes] = {}
        for level, (low, high) in spans.items():  # a primary-key range per level (row-value IN scans on SQLite)
            stored.update({(level, position): value for position, value in self._session.execute(
                select(TreeNode.position, TreeNode.hash)
                .where(TreeNode.level == level, TreeNode.position.between(low, high)))})
        for node, value in sorted(self._buffer.items()):
            found = stored.get(node)
            if found != value:
                level, position = node
                raise VerificationError(
                    f"stored subtree level {level} position {position} is "
                    f"{found.hex() if found else 'missing'}, expected {value.hex()}",
                    code="verify.row_node", index=((position + 1) << level) - 1)
        self._buffer.clear()

    def check_count(self, size: int) -> None:
        expected = sum(size >> level for level in range(1, size.bit_length()))
        found = self._session.scalar(select(func.count()).select_from(TreeNode)) or 0
        if found != expected:
            raise VerificationError(f"tree node table has {found} rows, a tree of {size} leaves has {expected}",
                                    code="verify.row_node")
