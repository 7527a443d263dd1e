"""Batch proof bundles for the public pages, against the earliest checkpoint that covers the batch's latest event.

Such a bundle changes only when the batch gets a new event, so each worker keeps the recent ones, with the
server's verdict on each (:func:`trace.verdicts.check_bundle`), in a small in-memory cache keyed by the checkpoint's
root hash, the batch and how many of its latest events the bundle proves: serving one again then costs one indexed
query for the checkpoint instead of building and checking the proofs again. The public page proves the events it
shows (a suffix bundle of at most ``trace.public.TIMELINE_EVENTS``), so even a first build checks a bounded number
of signatures whatever the length of the batch's history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ledger import VerifierKey, checkpoint_covering
from trace.verdicts import Verdict, check_bundle

_CAPACITY = 2048


@dataclass(frozen=True)
class BatchProof:
    """A batch's bundle and the server's verdict on it."""

    bundle: dict[str, Any]
    verdict: Verdict


_cache: OrderedDict[tuple[bytes, str, int | None], BatchProof] = OrderedDict()
_lock = threading.Lock()


def batch_proof(session: Session, ref: str, operator_key: VerifierKey, *, last_index: int,
                indexes: Callable[[], list[int]], latest: int | None = None) -> BatchProof:
    """The proof of batch ``ref`` whose latest event is entry ``last_index``: of all its events, or with
    ``latest=K`` (fewer than it has) of its latest K (``ledger.batch_bundle``). ``indexes`` gives all its events'
    entries, ascending; it is called only when the proof is not cached. Raises :class:`ledger.LedgerError`
    (``proof.no_checkpoint`` when no checkpoint covers the latest event yet)."""
    checkpoint = checkpoint_covering(session, last_index)
    key = (checkpoint.root_hash, ref, latest)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    bundle, verdict = check_bundle(session, ref, operator_key, checkpoint=checkpoint, indexes=indexes(),
                                   latest=latest)
    proof = BatchProof(bundle=bundle, verdict=verdict)
    with _lock:
        _cache[key] = proof
        if len(_cache) > _CAPACITY:
            _cache.popitem(last=False)
    return proof
