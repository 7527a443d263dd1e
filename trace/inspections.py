"""Inspection orders and their results: the regulator sends an inspector to an enterprise (optionally about one
batch) and later records what the inspector found.

``trace.inspection.order`` (registrar only) body: ``enterprise`` (a registered credit code), ``batch`` (optional:
a ledger reference that must exist; the order neither links nor touches it), ``reason`` (1-500 characters),
``inspector`` (the inspector's username), ``source`` (``spot_check``, ``complaint``, ``risk``, ``manual``) and
``source_ref`` (1-64 characters). An order from a spot check names its draw as ``draw {entry index}`` and must be
one of that draw's target/inspector pairs, once each; ``draw {n}`` is reserved for spot-check orders.

``trace.inspection.result`` (registrar only) body: ``order`` (the order's entry index), ``result``
(``conformant``, ``non_conformant``, ``closed_down``, ``not_found``), ``findings`` (1-2000 characters),
``certificate_sha256`` (optional). One result per order. A non-conformant batch is marked separately with
``trace.inspect``, which links the batch.

Both are kept in ``trace_inspection_orders`` (:class:`trace.records.InspectionOrderRecord`) and in the event
rows' summaries; neither may be corrected (:data:`trace.rules.UNCORRECTABLE`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access_models import Account
from .body import Body
from .context import Context
from .errors import CustodyError, DomainError, EnterpriseError
from .models import Enterprise, Event, InspectionOrder
from .records import BatchRecord, EventRecord, InspectionOrderRecord

ORDER = "trace.inspection.order"
RESULT = "trace.inspection.result"
SOURCES = ("spot_check", "complaint", "risk", "manual")
RESULTS = ("conformant", "non_conformant", "closed_down", "not_found")
#: The statement type of a spot-check draw (:mod:`trace.spot_checks`), whose orders name it ``draw {index}``.
DRAW = "trace.spot_check.draw"
MAX_REASON = 500
MAX_FINDINGS = 2000
USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")
_DRAW_REF = re.compile(r"draw (0|[1-9][0-9]{0,15})")


class InspectionError(DomainError):
    """An inspection order or result breaks a rule (``inspection.*``)."""

    code = "inspection.invalid"


def draw_ref(draw_index: int) -> str:
    """The ``source_ref`` of the orders a spot-check draw creates."""
    return f"draw {draw_index}"


def order_inspection(ctx: Context) -> None:
    """``trace.inspection.order``: the registrar orders an inspection (see the module docstring).

    Raises ``enterprise.not_registrar``, ``enterprise.unknown``, ``batch.unknown``, ``body.*``,
    ``inspection.source_ref``, ``inspection.draw_unknown``, ``inspection.not_drawn``, ``inspection.order_exists``.
    """
    _require_registrar(ctx)
    body = Body(ctx.statement.body, "body", {"enterprise", "reason", "inspector", "source", "source_ref"},
                {"batch"})
    enterprise = ctx.enterprise(body.required_text("enterprise", 18))
    ref = body.text("batch", 256, optional=True)
    if ref is not None:
        batch = ctx.book.get(BatchRecord, ref)  # looked up, not touched: an order is not an event of the batch
        if batch is None or batch.status == "voided":
            raise CustodyError(f"batch {ref} does not exist", code="batch.unknown")
    reason = body.required_text("reason", MAX_REASON)
    inspector = body.required_text("inspector", 64, pattern=USERNAME)
    source = body.choice("source", frozenset(SOURCES))
    source_ref = body.required_text("source_ref", 64)
    drawn = _DRAW_REF.fullmatch(source_ref)
    if source == "spot_check":
        if drawn is None:
            raise InspectionError(f"a spot-check order names its draw as \"draw {{entry index}}\", found "
                                  f"{source_ref!r}", code="inspection.source_ref")
        _check_drawn(ctx, int(drawn.group(1)), source_ref, enterprise.credit_code, inspector)
    elif drawn is not None:
        raise InspectionError(f"source_ref {source_ref!r} is reserved for the orders of a spot-check draw",
                              code="inspection.source_ref")
    ctx.book.put(InspectionOrderRecord(source_ref=source_ref, order_index=ctx.index, source=source,
                                       enterprise=enterprise.credit_code, batch=ref, inspector=inspector,
                                       result=None, result_index=None))
    ctx.summary = {"enterprise": enterprise.credit_code, "batch": ref, "reason": reason, "inspector": inspector,
                   "source": source, "source_ref": source_ref}


def record_result(ctx: Context) -> None:
    """``trace.inspection.result``: the registrar records the result of an order, once.

    Raises ``enterprise.not_registrar``, ``body.*``, ``inspection.unknown_order``, ``inspection.result_exists``.
    """
    _require_registrar(ctx)
    body = Body(ctx.statement.body, "body", {"order", "result", "findings"}, {"certificate_sha256"})
    order = find_order(ctx, body.integer("order"))
    if order.result is not None:
        raise InspectionError(f"order {order.order_index} already has its result ({order.result}, entry "
                              f"{order.result_index}); a result is recorded once", code="inspection.result_exists")
    result = body.choice("result", frozenset(RESULTS))
    findings = body.required_text("findings", MAX_FINDINGS)
    certificate = body.sha256("certificate_sha256", optional=True)
    ctx.book.put(replace(order, result=result, result_index=ctx.index))
    ctx.summary = {"order": order.order_index, "result": result, "findings": findings,
                   "certificate_sha256": certificate, "enterprise": order.enterprise, "batch": order.batch,
                   "inspector": order.inspector}


def find_order(ctx: Context, index: int) -> InspectionOrderRecord:
    """The order appended as entry ``index``; raises ``inspection.unknown_order``."""
    event = ctx.book.get(EventRecord, index)
    if event is None or event.type != ORDER:
        raise InspectionError(f"entry {index} is not an inspection order", code="inspection.unknown_order")
    order = ctx.book.get(InspectionOrderRecord, json.loads(event.summary)["source_ref"], index)
    assert order is not None, "every accepted order has its record"
    return order


def _check_drawn(ctx: Context, draw_index: int, source_ref: str, enterprise: str, inspector: str) -> None:
    draw = ctx.book.get(EventRecord, draw_index)
    if draw is None or draw.type != DRAW:
        raise InspectionError(f"entry {draw_index} is not a spot-check draw", code="inspection.draw_unknown")
    assignments = json.loads(draw.summary)["assignments"]
    if not any(item["enterprise"] == enterprise and inspector in item["inspectors"] for item in assignments):
        raise InspectionError(f"draw {draw_index} did not assign {inspector} to {enterprise}",
                              code="inspection.not_drawn")
    for order in ctx.book.prefix(InspectionOrderRecord, source_ref):
        if order.source == "spot_check" and order.enterprise == enterprise and order.inspector == inspector:
            raise InspectionError(f"draw {draw_index} already ordered {inspector} to {enterprise} (entry "
                                  f"{order.order_index})", code="inspection.order_exists")


def _require_registrar(ctx: Context) -> None:
    if not ctx.is_registrar:
        raise EnterpriseError(f"{ctx.statement.type} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")


# -- reading ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """An inspection order as the console shows it: the order's fields, when it was made, and its result."""

    index: int
    source: str
    source_ref: str
    enterprise: str
    batch: str | None
    inspector: str
    reason: str
    ordered_at: str
    result: str | None
    result_index: int | None
    findings: str | None
    certificate_sha256: str | None
    result_at: str | None

    @property
    def draw_index(self) -> int | None:
        """The draw that made this order, for a spot-check order."""
        drawn = _DRAW_REF.fullmatch(self.source_ref)
        return int(drawn.group(1)) if self.source == "spot_check" and drawn else None


def get_order(session: Session, index: int) -> Order | None:
    """The order appended as entry ``index`` with its result, or ``None``."""
    row = session.scalar(select(InspectionOrder).where(InspectionOrder.order_index == index))
    return None if row is None else _orders(session, [row])[0]


def orders_for(session: Session, source_ref: str, source: str | None = None) -> list[Order]:
    """The orders naming ``source_ref`` (of ``source`` when given), oldest first: a draw's orders are
    ``orders_for(session, draw_ref(index), "spot_check")``."""
    query = select(InspectionOrder).where(InspectionOrder.source_ref == source_ref)
    if source is not None:
        query = query.where(InspectionOrder.source == source)
    return _orders(session, list(session.scalars(query.order_by(InspectionOrder.order_index))))


def open_orders(session: Session, inspector: str, *, limit: int = 200) -> list[Order]:
    """The orders assigned to ``inspector`` that have no result yet, oldest first."""
    query = (select(InspectionOrder)
             .where(InspectionOrder.inspector == inspector, InspectionOrder.result.is_(None))
             .order_by(InspectionOrder.order_index).limit(limit))
    return _orders(session, list(session.scalars(query)))


def _orders(session: Session, rows: list[InspectionOrder]) -> list[Order]:
    indexes = {row.order_index for row in rows} | {row.result_index for row in rows if row.result_index is not None}
    events: dict[int, tuple[str, dict[str, Any]]] = {}
    ordered = sorted(indexes)
    for start in range(0, len(ordered), 500):
        for index, time, summary in session.execute(select(Event.entry_index, Event.time, Event.summary)
                                                    .where(Event.entry_index.in_(ordered[start:start + 500]))):
            events[index] = (time, json.loads(summary))
    out = []
    for row in rows:
        ordered_at, order = events[row.order_index]
        result_at, result = events[row.result_index] if row.result_index is not None else (None, {})
        out.append(Order(index=row.order_index, source=row.source, source_ref=row.source_ref,
                         enterprise=row.enterprise, batch=row.batch, inspector=row.inspector,
                         reason=order["reason"], ordered_at=ordered_at, result=row.result,
                         result_index=row.result_index, findings=result.get("findings"),
                         certificate_sha256=result.get("certificate_sha256"), result_at=result_at))
    return out


def active_inspectors(session: Session) -> list[Account]:
    """The active accounts holding the inspector role, by username: who may be sent to inspect."""
    rows = session.scalars(select(Account).where(Account.active).order_by(Account.username))
    return [row for row in rows if "inspector" in row.roles.split(",")]


def enterprises_named(session: Session, codes: Iterable[str]) -> dict[str, Enterprise]:
    """The enterprise rows of ``codes`` (those registered), by credit code."""
    wanted = sorted(set(codes))
    found: dict[str, Enterprise] = {}
    for start in range(0, len(wanted), 500):
        found.update((row.credit_code, row) for row in session.scalars(
            select(Enterprise).where(Enterprise.credit_code.in_(wanted[start:start + 500]))))
    return found
