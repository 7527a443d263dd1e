"""The Merkle tree in the database: every complete subtree stored once, so roots and proofs of any size are
answered from O(log n) stored hashes fetched in at most two queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import LargeBinary, and_, bindparam, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from .errors import ProofError
from .merkle import EMPTY_ROOT, Node, hash_ranges, range_subtrees
from .models import CheckpointRecord, Entry, TreeNode


def fetch_nodes(session: Session, nodes: Sequence[Node]) -> dict[Node, bytes]:
    """Stored hashes of the given complete subtrees (level 0 comes from the entries)."""
    found: dict[Node, bytes] = {}
    leaves = [position for level, position in nodes if level == 0]
    inner = [(level, position) for level, position in nodes if level > 0]
    if leaves:
        leaf_rows = session.execute(select(Entry.index, Entry.leaf_hash).where(Entry.index.in_(leaves)))
        found.update({(0, index): leaf_hash for index, leaf_hash in leaf_rows})
    for start in range(0, len(inner), _NODES_PER_QUERY):
        part = inner[start:start + _NODES_PER_QUERY]
        # Padded to a power of two by repeating the last pair: a handful of query shapes, each compiled once
        # (compiling a new shape costs ~50 ms, ten times the query).
        width = max(8, 1 << (len(part) - 1).bit_length())
        padded = part + [part[-1]] * (width - len(part))
        params = {}
        for number, (level, position) in enumerate(padded):
            params[f"level_{number}"], params[f"position_{number}"] = level, position
        node_rows = session.execute(_nodes_query(width), params)
        found.update({(level, position): value for level, position, value in node_rows})
    return found


_NODES_PER_QUERY = 256
_SIZE_ROW = -1  # the level that marks the row holding the latest checkpoint's size


def fetch_nodes_and_size(session: Session, nodes: Sequence[Node]) -> tuple[int, dict[Node, bytes]]:
    """The latest checkpoint's tree size (0 before the first) and the stored hashes of ``nodes``, in one statement:
    a proof request is then one round trip to the database (the leaf hashes, the inner subtrees and the size are
    three parts of one ``UNION ALL``). Nodes past what one statement holds are fetched as :func:`fetch_nodes` does."""
    leaves = [position for level, position in nodes if level == 0]
    inner = [(level, position) for level, position in nodes if level > 0]
    part, rest = inner[:_NODES_PER_QUERY], inner[_NODES_PER_QUERY:]
    width = max(8, 1 << (len(part) - 1).bit_length()) if part else 8
    padded = part + [part[-1] if part else (_SIZE_ROW, -1)] * (width - len(part))
    params: dict[str, Any] = {"leaves": leaves}
    for number, (level, position) in enumerate(padded):
        params[f"level_{number}"], params[f"position_{number}"] = level, position
    size, found = 0, {}
    for level, position, value in session.execute(_nodes_and_size_query(width), params):
        if level == _SIZE_ROW:
            size = position
        else:
            found[(level, position)] = value
    if rest:
        found.update(fetch_nodes(session, rest))
    return size, found


@lru_cache(maxsize=16)
def _nodes_and_size_query(count: int) -> Any:
    """:func:`_nodes_query` for ``count`` subtrees, with the leaves (an expanding ``IN``) and the latest size."""
    size = select(literal(_SIZE_ROW), func.coalesce(func.max(CheckpointRecord.tree_size), 0),
                  cast(null(), LargeBinary))
    leaves = select(literal(0), Entry.index, Entry.leaf_hash).where(
        Entry.index.in_(bindparam("leaves", expanding=True)))
    return union_all(size, leaves, _nodes_query(count))


@lru_cache(maxsize=_NODES_PER_QUERY)
def _nodes_query(count: int) -> Any:
    """The query for ``count`` subtrees, as OR-ed ``level = ? AND position = ?`` pairs with bound parameters.

    Not ``tuple_(level, position).in_(...)``: SQLite answers that row-value IN with a full scan of the table
    (about 90 ms at a million nodes), each pair here with a primary-key search; PostgreSQL plans both alike.
    Built once per count, because building the expression costs more than running the query.
    """
    return select(TreeNode.level, TreeNode.position, TreeNode.hash).where(or_(
        *(and_(TreeNode.level == bindparam(f"level_{number}"), TreeNode.position == bindparam(f"position_{number}"))
          for number in range(count))))


def _lookup(session: Session) -> Callable[[Sequence[Node]], dict[Node, bytes]]:
    return lambda nodes: fetch_nodes(session, nodes)


def root_at(session: Session, size: int) -> bytes:
    """MTH of the first ``size`` leaves; raises :class:`ProofError` if the store lacks a subtree."""
    if size == 0:
        return EMPTY_ROOT
    return hash_ranges([(0, size)], _lookup(session))[0]


def peak_nodes(session: Session, size: int) -> list[tuple[Node, bytes]]:
    """The complete subtrees on the right edge of the tree of ``size`` leaves, largest first."""
    if size == 0:
        return []
    nodes = range_subtrees(0, size)
    found = fetch_nodes(session, nodes)
    missing = [node for node in nodes if node not in found]
    if missing:
        raise ProofError(f"tree store lacks subtrees {missing[:4]}", code="proof.store")
    return [(node, found[node]) for node in nodes]
