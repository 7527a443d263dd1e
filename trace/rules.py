"""Applying one domain statement to the traceability state: the dispatcher shared by the live sequencer (through
:class:`trace.policy.TracePolicy`), ``rebuild-state`` and the verifier's custody replay, plus corrections.

:func:`apply_event` either applies every effect of the statement or raises a :class:`DomainError` (or another
:class:`ledger.LedgerError`) and leaves the book unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ledger import Statement, StatementError

from . import (
    audits,
    complaint_handling,
    complaints,
    custody,
    inspections,
    processing,
    quality,
    recall_tracking,
    registry,
    risks,
    spot_checks,
)
from .body import Body
from .book import Book
from .context import Context
from .errors import CustodyError, DomainError
from .records import BY_TABLE, BatchRecord, EventRecord, Record, record_from_dict, to_json

CORRECT = "trace.correct"

HANDLERS: dict[str, Callable[[Context], None]] = {
    registry.ENTERPRISE_REGISTER: registry.register_enterprise,
    registry.ENTERPRISE_UPDATE: registry.update_enterprise,
    registry.ENTERPRISE_STATUS: registry.set_enterprise_status,
    registry.PRODUCT_DEFINE: registry.define_product,
    custody.COMMISSION: custody.commission,
    custody.SHIP: custody.ship,
    custody.RECEIVE: custody.receive,
    processing.TRANSFORM: processing.transform,
    processing.AGGREGATE: processing.aggregate,
    processing.DISAGGREGATE: processing.disaggregate,
    custody.SELL: custody.sell,
    quality.INSPECT: quality.inspect,
    quality.RECALL: quality.recall,
    custody.DESTROY: custody.destroy,
    quality.SENSOR: quality.record_sensor,
    complaints.ANCHOR: complaints.anchor_complaint,
    complaint_handling.HANDLE: complaint_handling.handle_complaint,
    inspections.ORDER: inspections.order_inspection,
    inspections.RESULT: inspections.record_result,
    spot_checks.DRAW: spot_checks.record_draw,
    audits.AUDIT_REPORT: audits.record_audit_report,
    recall_tracking.ACKNOWLEDGE: recall_tracking.acknowledge_recall,
    recall_tracking.CLOSE: recall_tracking.close_recall,
    risks.RISK_REVIEW: risks.review_warning,
}
EVENT_TYPES = frozenset(HANDLERS) | {CORRECT}
REGISTRY_TYPES = frozenset({registry.ENTERPRISE_REGISTER, registry.ENTERPRISE_UPDATE, registry.ENTERPRISE_STATUS,
                            registry.PRODUCT_DEFINE})
#: Master data is changed by its own statements; a complaint's anchor may never be withdrawn.
UNCORRECTABLE = REGISTRY_TYPES | {CORRECT, complaints.ANCHOR, complaint_handling.HANDLE,
                                 inspections.ORDER, inspections.RESULT, spot_checks.DRAW, audits.AUDIT_REPORT,
                                 risks.RISK_REVIEW}


def handles(statement_type: str) -> bool:
    """Whether ``statement_type`` is a traceability statement this module applies."""
    return statement_type in EVENT_TYPES


def apply_event(book: Book, statement: Statement, index: int, received: datetime, *, registrar: str) -> None:
    """Check ``statement`` (already accepted by the ledger rules) as entry ``index`` and record its effects.

    Raises :class:`DomainError` subclasses with stable codes, or :class:`StatementError`
    (``statement.unknown_type``); on any error the book is unchanged.
    """
    handler = _handler(statement.type)
    book.begin()
    try:
        ctx = Context(book, statement, index, received, registrar)
        handler(ctx)
        ctx.finish_links()
        undo = [[cls.TABLE, list(key), None if prior is None else prior.to_dict()]
                for cls, key, prior in book.priors() if not cls.HISTORY and cls is not EventRecord]
        book.put(EventRecord(entry_index=index, type=statement.type, actor=statement.author, time=statement.time,
                             location=ctx.location, refs=to_json(sorted(ctx.touched)), summary=to_json(ctx.summary),
                             undo=to_json(undo), corrected_by=None))
    except BaseException:
        book.rollback()
        raise
    book.commit()


def touched_refs(book: Book, statement: Statement, index: int, received: datetime, *, registrar: str) -> set[str]:
    """The batch references ``statement`` touches, that is the keys its ``links`` must have, found by applying it
    on trial whatever links it carries. Raises the domain error it would be refused with; the book is unchanged."""
    handler = _handler(statement.type)
    book.begin()
    try:
        ctx = Context(book, statement, index, received, registrar)
        handler(ctx)
        return set(ctx.touched)
    finally:
        book.rollback()


def _handler(statement_type: str) -> Callable[[Context], None]:
    """The function applying ``statement_type``; raises ``statement.unknown_type`` for any other type."""
    handler = _correct if statement_type == CORRECT else HANDLERS.get(statement_type)
    if handler is None:
        raise StatementError(f"statement type {statement_type} is not a traceability event",
                             code="statement.unknown_type")
    return handler


def _correct(ctx: Context) -> None:
    """Declare an earlier custody event erroneous (CBV error declaration) and restore the state it changed.

    Allowed for the event's author or the registrar, once, and only while the event is still the latest on every
    batch it touched, so restoring its priors cannot undo anything that came after. The corrected event stays in
    the ledger and on every public page, marked as corrected; the corrective event follows as a new statement.
    """
    body = Body(ctx.statement.body, "body", {"entry", "reason"})
    target_index = body.integer("entry")
    reason = body.required_text("reason", 500)
    target = ctx.book.get(EventRecord, target_index)
    if target is None:
        raise DomainError(f"entry {target_index} is not a traceability event", code="correct.unknown_entry")
    if target.type in UNCORRECTABLE:
        raise DomainError(f"a {target.type} event cannot be corrected this way", code="correct.not_correctable")
    if target.corrected_by is not None:
        raise DomainError(f"entry {target_index} was already corrected by entry {target.corrected_by}",
                          code="correct.already_corrected")
    if target.actor != ctx.actor and not ctx.is_registrar:
        raise CustodyError(f"only {target.actor} or the registrar may correct entry {target_index}",
                           code="correct.not_author")
    if not ctx.is_registrar:
        ctx.acting_enterprise()
    refs: list[str] = json.loads(target.refs)
    for ref in refs:
        batch = ctx.book.get(BatchRecord, ref)
        if batch is None or batch.last_index != target_index:
            latest = None if batch is None else batch.last_index
            raise CustodyError(f"entry {target_index} is no longer the latest event of batch {ref} (entry {latest} "
                               "is); record a compensating event instead", code="correct.not_latest")
    for table, key, prior in json.loads(target.undo):
        cls: type[Record] = BY_TABLE[table]
        if prior is not None:
            ctx.book.put(record_from_dict(cls, prior))
        elif cls is BatchRecord:
            current = ctx.book.get(BatchRecord, *key)
            assert current is not None
            ctx.book.put(replace(current, status="voided", outstanding="0"))
        else:
            ctx.book.delete(cls, *key)
    ctx.book.put(replace(target, corrected_by=ctx.index))
    ctx.touched.update(refs)
    ctx.summary = {"entry": target_index, "type": target.type, "reason": reason}
