"""The risk rules of quantities that do not add up (:mod:`trace.risks`): receipts short of what was shipped
(:data:`~trace.risks.SHORT_RECEIPT`), transformations that make more than they consume
(:data:`~trace.risks.TRANSFORM_GAIN`) and batches whose outstanding quantity the holdings, shipments in transit and
pallets do not account for (:data:`~trace.risks.HOLDINGS_MISMATCH`). Like every rule (:mod:`trace.risk_rules`),
each is a few set-based queries over the state tables; nothing is changed.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from ledger.models import Entry

from .models import Batch, Content, Edge, Event, Holding, Shipment
from .quantities import ZERO, format_quantity
from .risk_sql import RuleRun, by_subject, codes, evidence, number, utc
from .risks import HOLDINGS_MISMATCH, SHORT_RECEIPT, TRANSFORM_GAIN, RiskWarning


def short_receipts(run: RuleRun) -> list[RiskWarning]:
    """Batches received short of what was shipped by more than the tolerance, one warning per batch with every
    such receipt."""
    sql = run.sql
    receipt = aliased(Event)
    shipped, received = sql.number(Shipment.quantity), sql.number(Shipment.received_quantity)
    rows = run.session.execute(
        select(Shipment.ref.label("subject"), Shipment.shipper, Shipment.shipment_id, Shipment.receiver,
               Shipment.quantity, Shipment.received_quantity, Shipment.unit, Shipment.ship_index,
               Shipment.receive_index, receipt.summary, Entry.received_at)
        .join(receipt, receipt.entry_index == Shipment.receive_index)
        .join(Entry, Entry.index == Shipment.receive_index)
        .where(Shipment.status == "received",
               received < shipped * sql.constant(1 - run.limits.short_receipt_tolerance))
        .order_by(Shipment.ref, Shipment.receive_index))
    warnings = []
    for ref, group in by_subject(rows):
        receipts = list(group)
        items = [{"entry": row.receive_index, "ship_entry": row.ship_index,
                  "shipment": f"{row.shipper}/{row.shipment_id}", "from": row.shipper, "to": row.receiver,
                  "shipped": row.quantity, "received": row.received_quantity, "unit": row.unit,
                  "discrepancy": json.loads(row.summary).get("discrepancy"), "received_at": utc(row.received_at)}
                 for row in receipts]
        shipped_total = sum((Decimal(row.quantity) for row in receipts), ZERO)
        received_total = sum((Decimal(row.received_quantity) for row in receipts), ZERO)
        figures = {"shipments": len(receipts), "shipped": format_quantity(shipped_total),
                   "received": format_quantity(received_total), "unit": receipts[0].unit}
        warnings.append(RiskWarning(
            rule=SHORT_RECEIPT, subject=ref, batch=ref,
            enterprises=codes((row.shipper for row in receipts), (row.receiver for row in receipts)),
            at=max(row.received_at for row in receipts), facts=dict(figures),
            evidence=evidence(run, items, figures)))
    return warnings


def transform_gains(run: RuleRun) -> list[RiskWarning]:
    """Transformations whose outputs in a unit exceed their inputs in that unit. The rules refuse this when every
    input and output has one unit; with several units nothing converts between them, so it is checked here."""
    sql = run.sql
    parent, child = aliased(Batch), aliased(Batch)
    inputs = (select(Edge.entry_index, Edge.parent, Edge.quantity, parent.unit)
              .join(parent, parent.ref == Edge.parent).where(Edge.kind == "transform").distinct().subquery())
    outputs = (select(Edge.entry_index, Edge.child, child.quantity, child.unit)
               .join(child, child.ref == Edge.child).where(Edge.kind == "transform").distinct().subquery())
    consumed = (select(inputs.c.entry_index, inputs.c.unit, func.sum(sql.number(inputs.c.quantity)).label("total"))
                .group_by(inputs.c.entry_index, inputs.c.unit).subquery())
    made = (select(outputs.c.entry_index, outputs.c.unit, func.sum(sql.number(outputs.c.quantity)).label("total"))
            .group_by(outputs.c.entry_index, outputs.c.unit).subquery())
    flagged = run.session.execute(
        select(made.c.entry_index, made.c.unit)
        .join(consumed, and_(consumed.c.entry_index == made.c.entry_index, consumed.c.unit == made.c.unit))
        .where(made.c.total > consumed.c.total * sql.constant(1 + run.limits.transform_tolerance))).all()
    if not flagged:
        return []
    entries = sorted({row.entry_index for row in flagged})
    edges = run.session.execute(
        select(Edge.entry_index, Edge.parent, Edge.child, Edge.quantity, parent.unit.label("parent_unit"),
               child.quantity.label("child_quantity"), child.unit.label("child_unit"), Event.actor,
               Entry.received_at)
        .join(parent, parent.ref == Edge.parent).join(child, child.ref == Edge.child)
        .join(Event, Event.entry_index == Edge.entry_index).join(Entry, Entry.index == Edge.entry_index)
        .where(Edge.kind == "transform", Edge.entry_index.in_(entries))
        .order_by(Edge.entry_index, Edge.parent, Edge.child)).all()
    warnings = []
    for index, unit in sorted((row.entry_index, row.unit) for row in flagged):
        rows = [row for row in edges if row.entry_index == index]
        ins = {row.parent: Decimal(row.quantity) for row in rows if row.parent_unit == unit}
        outs = {row.child: Decimal(row.child_quantity) for row in rows if row.child_unit == unit}
        total_in, total_out = sum(ins.values(), ZERO), sum(outs.values(), ZERO)
        if total_out <= total_in * (1 + run.limits.transform_tolerance):
            continue  # a rounding artefact of double precision on SQLite
        items = ([{"role": "input", "batch": ref, "quantity": format_quantity(amount), "unit": unit}
                  for ref, amount in sorted(ins.items())]
                 + [{"role": "output", "batch": ref, "quantity": format_quantity(amount), "unit": unit}
                    for ref, amount in sorted(outs.items())])
        figures = {"input": format_quantity(total_in), "output": format_quantity(total_out), "unit": unit}
        subject = min(outs)
        warnings.append(RiskWarning(
            rule=TRANSFORM_GAIN, subject=subject, batch=subject, enterprises=(rows[0].actor,),
            at=rows[0].received_at, facts=dict(figures),
            evidence={"entries": [index], "figures": figures, "items": items, "items_total": len(items)}))
    return sorted(warnings, key=lambda warning: warning.subject)


def holdings_mismatches(run: RuleRun) -> list[RiskWarning]:
    """Batches whose outstanding quantity differs from what holdings, shipments in transit and pallets account
    for: the state tables disagree with each other (edited outside the ledger, or a rule's bug)."""
    sql = run.sql
    held = (select(Holding.ref, func.sum(sql.number(Holding.quantity)).label("total"))
            .group_by(Holding.ref).subquery())
    moving = (select(Shipment.ref, func.sum(sql.number(Shipment.quantity)).label("total"))
              .where(Shipment.status == "in_transit").group_by(Shipment.ref).subquery())
    packed = (select(Content.ref, func.sum(sql.number(Content.quantity)).label("total"))
              .group_by(Content.ref).subquery())
    zero = sql.constant(ZERO)
    accounted = (func.coalesce(held.c.total, zero) + func.coalesce(moving.c.total, zero)
                 + func.coalesce(packed.c.total, zero))
    rows = run.session.execute(
        select(Batch.ref, Batch.outstanding, Batch.unit, Batch.creator, Batch.created_index, Batch.last_index,
               held.c.total.label("held"), moving.c.total.label("moving"), packed.c.total.label("packed"),
               Entry.received_at)
        .outerjoin(held, held.c.ref == Batch.ref).outerjoin(moving, moving.c.ref == Batch.ref)
        .outerjoin(packed, packed.c.ref == Batch.ref).join(Entry, Entry.index == Batch.last_index)
        .where(Batch.status != "voided",
               func.abs(sql.number(Batch.outstanding) - accounted) > sql.constant(run.limits.quantity_epsilon))
        .order_by(Batch.ref))
    warnings = []
    for row in rows:
        parts = [number(row.held), number(row.moving), number(row.packed)]
        figures = {"outstanding": row.outstanding, "held": format_quantity(parts[0]),
                   "in_transit": format_quantity(parts[1]), "packed": format_quantity(parts[2]),
                   "accounted": format_quantity(sum(parts, ZERO)), "unit": row.unit}
        warnings.append(RiskWarning(
            rule=HOLDINGS_MISMATCH, subject=row.ref, batch=row.ref, enterprises=(row.creator,),
            at=row.received_at, facts=dict(figures),
            evidence={"entries": sorted({row.created_index, row.last_index}), "figures": figures, "items": [],
                      "items_total": 0}))
    return warnings
