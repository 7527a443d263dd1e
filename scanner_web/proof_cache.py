"""Batch proof bundles for the public pages, against the earliest checkpoint that covers the batch's latest event.

Such a bundle changes only when the batch gets a new event, so each worker keeps the recent ones, with the
server's verdict on each, in a small in-memory cache keyed by the checkpoint's root hash and the batch: a page
view then costs one indexed query for the checkpoint instead of building and checking the proofs again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ledger import LedgerError, VerifierKey, batch_bundle, checkpoint_covering, verify_batch_bundle

_CAPACITY = 2048


@dataclass(frozen=True)
class BatchProof:
    """A batch's bundle, the checkpoint it is proved against, and the server's check of it (``error`` is None
    when every check passed)."""

    bundle: dict[str, Any]
    tree_size: int
    checkpoint_time: str
    error: str | None


_cache: OrderedDict[tuple[bytes, str], BatchProof] = OrderedDict()
_lock = threading.Lock()


def batch_proof(session: Session, ref: str, indexes: list[int], operator_key: VerifierKey) -> BatchProof:
    """The proof of batch ``ref`` whose events are the entries ``indexes`` (ascending). Raises
    :class:`ledger.LedgerError` (``proof.no_checkpoint`` when no checkpoint covers the latest event yet)."""
    checkpoint = checkpoint_covering(session, indexes[-1])
    key = (checkpoint.root_hash, ref)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    bundle = batch_bundle(session, ref, indexes, tree_size=checkpoint.tree_size)
    error = None
    try:
        verify_batch_bundle(bundle, operator_key)
    except LedgerError as exc:
        error = f"{exc.code}: {exc.message}"
    proof = BatchProof(bundle=bundle, tree_size=checkpoint.tree_size,
                       checkpoint_time=checkpoint.created_at.isoformat(), error=error)
    with _lock:
        _cache[key] = proof
        if len(_cache) > _CAPACITY:
            _cache.popitem(last=False)
    return proof
