"""The pages of a batch's whole history, reached from the public page (:mod:`trace.public`): its events in ledger
order, :data:`HISTORY_PAGE` a page, with the same public fields as the page's timelines (built by
:mod:`trace.public`'s functions), so that a retail lot sold thousands of times can be read to its first event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import BatchEvent, Event
from .provenance import HOP_COLUMNS, Hop, trace_back
from .public import Party, PublicBatch, build_batch, build_step, collect_party_codes, read_parties, read_products
from .queries import NotFound

#: Events of a history page.
HISTORY_PAGE = 50


class NotInChain(NotFound):
    """A history page asked for a batch that is not in the chain of the page's own batch."""

    code = "not_found.history"


@dataclass
class PublicHistory:
    """One page of the whole history of batch ``batch.ref``, reached from the public page of ``root`` (the batch
    itself or one it was made from): ``batch.steps`` are its events ``first``–``last`` (1 = its first event) of
    ``batch.event_count``, in order; ``earlier_before`` is the ``before`` of the page of the events before them (None
    on the first page of its history)."""

    root: str
    batch: PublicBatch
    parties: dict[str, Party]
    first: int
    last: int
    earlier_before: int | None


def public_history(session: Session, root: str, ref: str, *, before: int | None = None,
                   limit: int | None = None) -> PublicHistory:
    """Up to ``limit`` (default :data:`HISTORY_PAGE`) events of batch ``ref`` before entry ``before`` (its latest when
    None), public fields only, for the page of ``root``. Raises :class:`trace.queries.NotFound`
    (``not_found.batch`` when ``root`` is not in the ledger; :class:`NotInChain` when ``ref`` is not in its
    chain)."""
    graph = trace_back(session, root, with_events=True, latest_events=0)
    node = graph.nodes.get(ref)
    if node is None:
        raise NotInChain(f"batch {ref!r:.80} is not in the chain of this product")
    limit = HISTORY_PAGE if limit is None else limit
    query = select(BatchEvent.entry_index).where(BatchEvent.ref == ref)
    if before is not None:
        query = query.where(BatchEvent.entry_index < before)
    indexes = sorted(session.scalars(query.order_by(BatchEvent.entry_index.desc()).limit(limit + 1)))
    earlier_before = indexes[1] if len(indexes) > limit else None
    indexes = indexes[-limit:]
    hops = [Hop(*row) for row in session.execute(
        select(*HOP_COLUMNS).where(Event.entry_index.in_(indexes)).order_by(Event.entry_index))]
    later = 0 if before is None else session.scalar(
        select(func.count()).select_from(BatchEvent).where(BatchEvent.ref == ref, BatchEvent.entry_index >= before))
    parties = read_parties(session, {node.creator} | collect_party_codes(hops))
    steps = [build_step(hop, parties) for hop in hops]
    total = node.event_count if node.event_count is not None else len(steps)
    product = read_products(session, {node.gtin} if node.gtin else set()).get(node.gtin or "")
    batch = build_batch(node, steps, parties, product, [], {}, [])
    last = total - (later or 0)
    return PublicHistory(root=root, batch=batch, parties=parties, first=last - len(steps) + 1, last=last,
                         earlier_before=earlier_before)
