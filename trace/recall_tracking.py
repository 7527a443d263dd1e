"""Following a recall to its end: every party in its scope acknowledges it, signed with its own key
(``trace.recall.acknowledge``), and the registrar closes it (``trace.recall.close``) once nothing of the recalled
goods is held or in transit and every party has acknowledged — or earlier, with an override and its reason.

The scope of the recall at entry ``R`` is the set of batches carrying the recall mark ``(ref, R)`` that
:func:`trace.quality.recall` put on the recalled batch, everything made from it and the logistic units it travels
in (and later ones it is packed into). Its parties are, over those batches: the makers, whoever holds some now, and
the authors (and addressees) of every custody event on them: shipping, receiving, using, packing, unpacking, selling
and destroying.

Both statements link the batch they are about: they belong to that batch's own hash-linked history, and the rules
find them again from the book alone (a recall's acknowledgements are the acknowledge events on its batches; its
closure the close event on the recalled batch), so a verifier replaying the ledger reaches the same decisions.
Both are accepted on a batch destroyed since the recall: destroying recalled goods is the recall carried out.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .body import Body
from .book import Book
from .context import Context
from .custody import DESTROY, RECEIVE, SELL, SHIP
from .errors import BodyError, CustodyError, DomainError, EnterpriseError
from .processing import AGGREGATE, DISAGGREGATE, TRANSFORM
from .quality import RECALL
from .quantities import ZERO
from .records import (
    BatchEventRecord,
    BatchRecord,
    EdgeRecord,
    EventRecord,
    HoldingRecord,
    RecallRecord,
    ShipmentRecord,
)

ACKNOWLEDGE = "trace.recall.acknowledge"
CLOSE = "trace.recall.close"
#: The events by which an enterprise has goods in its custody: their authors are parties of a recall.
CUSTODY_TYPES = frozenset({SHIP, RECEIVE, TRANSFORM, AGGREGATE, DISAGGREGATE, SELL, DESTROY})
#: An override must say why in at least this many characters.
MIN_OVERRIDE = 10
#: How many open items a refusal names, and a close summary lists, before it only counts them.
_LISTED = 20


class RecallError(DomainError):
    """A recall statement breaks a rule of the recall's course (``recall.*``)."""

    code = "recall.invalid"


@dataclass
class RecallState:
    """What the book says about the recall at entry ``index`` now: its batches (walk order, the recalled batch
    first), its parties, who acknowledged, and what is still held or in transit."""

    index: int
    source: str
    issuer: str
    batches: list[str] = field(default_factory=list)
    parties: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    held: list[tuple[str, str, str]] = field(default_factory=list)
    in_transit: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def unacknowledged(self) -> list[str]:
        return sorted(self.parties - self.acknowledged)


def acknowledge_recall(ctx: Context) -> None:
    """A party of the recall's scope acknowledges the recall on one of its batches. Body ``recall`` (the entry
    index of the ``trace.recall``), ``batch`` (a batch of the scope the author made, shipped, received or holds),
    optional ``note``; links that batch.

    Raises ``recall.unknown``, ``recall.closed``, ``recall.not_in_scope``, ``recall.not_party``,
    ``recall.acknowledged`` (already, on this batch), ``batch.unknown`` and ``body.*``."""
    if ctx.is_registrar:
        raise RecallError("a recall is acknowledged by the enterprises that hold or held the goods, not by the "
                          "registrar", code="recall.not_party")
    ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"recall", "batch"}, {"note"})
    recall, source = _recall(ctx.book, body.integer("recall"))
    batch = _touch(ctx, body.required_text("batch", 256))
    note = body.text("note", 500, optional=True)
    if ctx.book.get(RecallRecord, batch.ref, recall.entry_index) is None:
        raise RecallError(f"batch {batch.ref} is not in the scope of the recall at entry {recall.entry_index}",
                          code="recall.not_in_scope")
    closed = closing_event(ctx.book, recall.entry_index, source)
    if closed is not None:
        raise RecallError(f"the recall at entry {recall.entry_index} was closed at entry {closed}",
                          code="recall.closed")
    if ctx.actor not in parties_of(ctx.book, batch):
        raise RecallError(f"{ctx.actor} never made, shipped, received or held batch {batch.ref}: it is not a party "
                          f"of the recall at entry {recall.entry_index}", code="recall.not_party")
    for earlier in _events(ctx.book, batch.ref, {ACKNOWLEDGE}):
        if earlier.actor == ctx.actor and _summary(earlier).get("recall") == recall.entry_index:
            raise RecallError(f"{ctx.actor} already acknowledged the recall at entry {recall.entry_index} on batch "
                              f"{batch.ref} (entry {earlier.entry_index})", code="recall.acknowledged")
    ctx.summary = {"recall": recall.entry_index, "batch": batch.ref, "source": source, "note": note}


def close_recall(ctx: Context) -> None:
    """The registrar closes the recall. Body ``recall``, ``note``, optional ``override`` (why it is closed
    although goods are still held or in transit or a party has not acknowledged; at least
    :data:`MIN_OVERRIDE` characters); links the recalled batch. The recall marks stay: the goods remain recalled.

    Raises ``enterprise.not_registrar``, ``recall.unknown``, ``recall.closed``, ``recall.open`` (goods held or in
    transit, or parties that have not acknowledged, and no override), ``body.override`` and ``body.*``."""
    if not ctx.is_registrar:
        raise EnterpriseError(f"{CLOSE} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    body = Body(ctx.statement.body, "body", {"recall", "note"}, {"override"})
    recall, source = _recall(ctx.book, body.integer("recall"))
    note = body.required_text("note", 500)
    override = body.text("override", 500, optional=True)
    if override is not None and len(override.strip()) < MIN_OVERRIDE:
        raise BodyError(f"body.override must give the reason in at least {MIN_OVERRIDE} characters, found "
                        f"{len(override.strip())}", code="body.override")
    _touch(ctx, source)
    closed = closing_event(ctx.book, recall.entry_index, source)
    if closed is not None:
        raise RecallError(f"the recall at entry {recall.entry_index} was already closed at entry {closed}",
                          code="recall.closed")
    state = recall_state(ctx.book, recall.entry_index)
    open_items = ([f"{holder} holds {quantity} of {ref}" for ref, holder, quantity in state.held]
                  + [f"{quantity} of {ref} is in transit from {shipper} to {receiver}"
                     for ref, shipper, receiver, quantity in state.in_transit]
                  + [f"{party} has not acknowledged" for party in state.unacknowledged])
    if open_items and override is None:
        more = f" and {len(open_items) - 5} more" if len(open_items) > 5 else ""
        raise RecallError(f"the recall at entry {recall.entry_index} is still open: {'; '.join(open_items[:5])}"
                          f"{more}. Close it when nothing is held or in transit and every party has acknowledged, "
                          "or give an override with its reason", code="recall.open")
    ctx.summary = {
        "recall": recall.entry_index, "batch": source, "note": note, "override": override,
        "batches": len(state.batches), "parties": len(state.parties),
        "held": [{"batch": ref, "holder": holder, "quantity": quantity}
                 for ref, holder, quantity in state.held[:_LISTED]],
        "in_transit": [{"batch": ref, "from": shipper, "to": receiver, "quantity": quantity}
                       for ref, shipper, receiver, quantity in state.in_transit[:_LISTED]],
        "unacknowledged": state.unacknowledged[:_LISTED],
        "open_items": len(open_items)}


def recall_state(book: Book, index: int) -> RecallState:
    """Walk the recall at entry ``index`` in ``book``: from the recalled batch along provenance edges and into
    the goods a logistic unit was packed with, keeping the batches that carry this recall's mark. Raises
    ``recall.unknown``."""
    recall, source = _recall(book, index)
    state = RecallState(index=index, source=source, issuer=recall.actor)
    order, seen = [source], {source}
    for ref in order:  # the list is its own queue
        batch = book.get(BatchRecord, ref)
        if batch is None:
            continue
        following = [edge.child for edge in book.prefix(EdgeRecord, ref)]
        if batch.kind == "logistic":
            packing = book.get(EventRecord, batch.created_index)
            if packing is not None:
                following += [item["batch"] for item in _summary(packing).get("contents", [])]
        for child in following:
            if child not in seen and book.get(RecallRecord, child, index) is not None:
                seen.add(child)
                order.append(child)
    state.batches = order
    for ref in order:
        batch = book.get(BatchRecord, ref)
        if batch is None:
            continue
        state.parties |= parties_of(book, batch)
        state.held += [(ref, holding.holder, holding.quantity) for holding in book.prefix(HoldingRecord, ref)
                       if Decimal(holding.quantity) > ZERO]
        for shipment in _shipments(book, ref):
            if shipment.status == "in_transit":
                state.in_transit.append((ref, shipment.shipper, shipment.receiver, shipment.quantity))
        for event in _events(book, ref, {ACKNOWLEDGE}):
            if _summary(event).get("recall") == index:
                state.acknowledged.add(event.actor)
    if recall.actor in state.parties:  # a maker's own recall is its acknowledgement
        state.acknowledged.add(recall.actor)
    return state


def parties_of(book: Book, batch: BatchRecord) -> set[str]:
    """The enterprises that made ``batch``, hold part of it now, or had part of it in their custody: shipped,
    received (or were sent), used, packed, unpacked, sold or destroyed some."""
    parties = {batch.creator}
    parties.update(holding.holder for holding in book.prefix(HoldingRecord, batch.ref))
    for event in _events(book, batch.ref, CUSTODY_TYPES):
        parties.add(event.actor)
        if event.type == SHIP:
            shipment = book.get(ShipmentRecord, event.actor, _summary(event)["shipment_id"])
            if shipment is not None:
                parties.add(shipment.receiver)
    return parties


def closing_event(book: Book, index: int, source: str) -> int | None:
    """The entry that closed the recall at ``index`` (on its recalled batch ``source``), or ``None``."""
    for event in _events(book, source, {CLOSE}):
        if _summary(event).get("recall") == index:
            return event.entry_index
    return None


def _recall(book: Book, index: int) -> tuple[EventRecord, str]:
    event = book.get(EventRecord, index)
    if event is None or event.type != RECALL or event.corrected_by is not None:
        raise RecallError(f"entry {index} is not a recall in force", code="recall.unknown")
    return event, str(_summary(event)["batch"])


def _touch(ctx: Context, ref: str) -> BatchRecord:
    """The batch, linked by the statement even when it was destroyed (unlike :meth:`Context.batch`)."""
    batch = ctx.book.get(BatchRecord, ref)
    if batch is None or batch.status == "voided":
        raise CustodyError(f"batch {ref} does not exist", code="batch.unknown")
    ctx.touched.add(ref)
    return batch


def _events(book: Book, ref: str, types: Collection[str]) -> list[EventRecord]:
    """The events of ``types`` on batch ``ref`` that were not declared erroneous, in ledger order."""
    found = []
    for link in book.prefix(BatchEventRecord, ref):
        event = book.get(EventRecord, link.entry_index)
        if event is not None and event.type in types and event.corrected_by is None:
            found.append(event)
    return found


def _shipments(book: Book, ref: str) -> list[ShipmentRecord]:
    shipments = []
    for event in _events(book, ref, {SHIP}):
        shipment = book.get(ShipmentRecord, event.actor, _summary(event)["shipment_id"])
        if shipment is not None:
            shipments.append(shipment)
    return shipments


def _summary(event: EventRecord) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(event.summary)
    return summary
