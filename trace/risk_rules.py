"""The risk rules (:mod:`trace.risks`) as queries: each rule is one or two set-based queries over the state tables
(and the complaint and look-up tables), never a query per row; Python only groups the rows it gets by subject and
writes the evidence. Nothing is changed. The rules of quantities that do not add up are in
:mod:`trace.risk_quantity_rules`; what differs between SQLite and PostgreSQL, and the helpers every rule shares,
in :mod:`trace.risk_sql`.

The evidence of a warning holds only what does not change with the passing of time (no ages, no look-up
counts), so a review's digest stays valid until new evidence appears; such figures go to ``facts``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Entry, LedgerKey
from ledger.statements import parse_time

from .complaint_models import Complaint
from .custody import SELL
from .models import Batch, Event, Flag, Product, Recall, Shipment, Unit
from .officers import officer_of
from .quantities import ZERO
from .risk_quantity_rules import holdings_mismatches, short_receipts, transform_gains
from .risk_sql import RiskSql, RuleRun, by_subject, codes, evidence, utc
from .risks import (
    CODE_MANY_PLACES,
    COLD_CHAIN,
    COMPLAINTS_BATCH,
    COMPLAINTS_ENTERPRISE,
    HOLDINGS_MISMATCH,
    LATE_RECORD,
    RISK_REVIEW,
    RULES,
    SALE_AFTER_EXPIRY,
    SALE_AFTER_RECALL,
    SHIPMENT_NOT_RECEIVED,
    SHORT_RECEIPT,
    TRANSFORM_GAIN,
    RiskWarning,
    Thresholds,
)
from .scans import Scan, ScanPlace


def compute_warnings(session: Session, *, now: datetime, thresholds: Thresholds | None = None,
                     rules: Sequence[str] = RULES) -> list[RiskWarning]:
    """Every warning of ``rules`` (default all, in :data:`trace.risks.RULES` order) as of ``now``, each rule's
    warnings ordered by subject. Raises :class:`ValueError` for an empty or unknown rule list or a naive
    ``now``."""
    unknown = sorted(set(rules) - set(RULES))
    if not rules or unknown:
        raise ValueError(f"rules must be a non-empty subset of {', '.join(RULES)}; unknown: {', '.join(unknown)}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    run = RuleRun(session, RiskSql(session), now, thresholds or Thresholds())
    warnings: list[RiskWarning] = []
    for rule in RULES:
        if rule in rules:
            warnings.extend(_RULES[rule](run))
    return warnings


# -- 1. complaint clusters -------------------------------------------------------------------------------------


def _complaints_by_batch(run: RuleRun) -> list[RiskWarning]:
    recent = Complaint.created_at >= run.now - timedelta(days=run.limits.complaint_days)
    clustered = (select(Complaint.ref).where(recent).group_by(Complaint.ref)
                 .having(func.count() >= run.limits.complaints))
    rows = run.session.execute(
        select(Complaint.ref.label("subject"), Complaint.ref, Complaint.ticket, Complaint.anchor_index,
               Complaint.category, Complaint.created_at, Batch.creator)
        .select_from(Complaint).outerjoin(Batch, Batch.ref == Complaint.ref)
        .where(recent, Complaint.ref.in_(clustered))
        .order_by(Complaint.ref, Complaint.anchor_index))
    return [_complaint_warning(run, COMPLAINTS_BATCH, ref, ref, list(group)) for ref, group in by_subject(rows)]


def _complaints_by_enterprise(run: RuleRun) -> list[RiskWarning]:
    recent = Complaint.created_at >= run.now - timedelta(days=run.limits.complaint_days)
    owner = func.coalesce(Product.owner, Batch.creator)
    clustered = (select(owner).select_from(Complaint).join(Batch, Batch.ref == Complaint.ref)
                 .outerjoin(Product, Product.gtin == Batch.gtin).where(recent).group_by(owner)
                 .having(func.count() >= run.limits.complaints, func.count(Complaint.ref.distinct()) >= 2))
    rows = run.session.execute(
        select(owner.label("subject"), Complaint.ref, Complaint.ticket, Complaint.anchor_index, Complaint.category,
               Complaint.created_at, Batch.creator)
        .select_from(Complaint).join(Batch, Batch.ref == Complaint.ref)
        .outerjoin(Product, Product.gtin == Batch.gtin)
        .where(recent, owner.in_(clustered))
        .order_by(owner, Complaint.anchor_index))
    return [_complaint_warning(run, COMPLAINTS_ENTERPRISE, code, None, list(group))
            for code, group in by_subject(rows)]


def _complaint_warning(run: RuleRun, rule: str, subject: str, batch: str | None, rows: list[Any]) -> RiskWarning:
    items = [{"entry": row.anchor_index, "ticket": row.ticket, "batch": row.ref, "category": row.category,
              "filed_at": utc(row.created_at)} for row in rows]
    refs = {row.ref for row in rows}
    return RiskWarning(
        rule=rule, subject=subject, batch=batch, enterprises=codes([subject] if batch is None else [],
                                                                   (row.creator for row in rows)),
        at=max(row.created_at for row in rows),
        facts={"count": len(rows), "days": run.limits.complaint_days, "batches": len(refs)},
        evidence=evidence(run, items, {"complaints": len(rows), "batches": len(refs)}))


# -- 2. cold-chain excursions ----------------------------------------------------------------------------------


def _cold_chain(run: RuleRun) -> list[RiskWarning]:
    rows = run.session.execute(
        select(Flag.subject, Flag.entry_index, Flag.detail, Event.actor, Entry.received_at, Batch.creator)
        .join(Event, Event.entry_index == Flag.entry_index).join(Entry, Entry.index == Flag.entry_index)
        .outerjoin(Batch, Batch.ref == Flag.subject)
        .where(Flag.code == "sensor.excursion", Event.corrected_by.is_(None))
        .order_by(Flag.subject, Flag.entry_index))
    warnings = []
    for ref, group in by_subject(rows):
        reports = list(group)
        items, readings = [], 0
        for row in reports:
            detail = json.loads(row.detail)
            readings += detail["count"]
            items.append({"entry": row.entry_index, "reporter": row.actor, "measurement": detail["measurement"],
                          "allowed": _range(detail.get("minimum"), detail.get("maximum"), detail["uom"]),
                          "readings": detail["count"], "extreme": _extreme(detail),
                          "reported_at": utc(row.received_at)})
        warnings.append(RiskWarning(
            rule=COLD_CHAIN, subject=ref, batch=ref,
            enterprises=codes((row.actor for row in reports), (row.creator for row in reports)),
            at=max(row.received_at for row in reports), facts={"readings": readings, "reports": len(reports)},
            evidence=evidence(run, items, {"readings": readings, "reports": len(reports)})))
    return warnings


def _range(low: str | None, high: str | None, uom: str) -> str:
    return f"{low if low is not None else '…'} – {high if high is not None else '…'} {uom}"


def _extreme(detail: dict[str, Any]) -> str:
    """The recorded out-of-range reading furthest from the allowed range."""
    low = Decimal(detail["minimum"]) if detail.get("minimum") is not None else None
    high = Decimal(detail["maximum"]) if detail.get("maximum") is not None else None

    def distance(reading: dict[str, str]) -> Decimal:
        value = Decimal(reading["value"])
        return max(low - value if low is not None else ZERO, value - high if high is not None else ZERO)
    worst = max(detail["excursions"], key=distance)
    return f"{worst['value']} {detail['uom']}"


# -- 3. sales after expiry or recall ---------------------------------------------------------------------------


def _sales_after_expiry(run: RuleRun) -> list[RiskWarning]:
    sql = run.sql
    sold_day, recorded_day = sql.local_day_of_text(Event.time), sql.local_day_of_stamp(Entry.received_at)
    rows = run.session.execute(
        select(Batch.ref.label("subject"), Event.entry_index, Event.actor, Event.time, Event.summary,
               Entry.received_at, Batch.expires_on, Batch.creator)
        .select_from(Entry).join(Event, Event.entry_index == Entry.index)
        .join(Batch, Batch.ref == sql.json_text(Event.summary, "batch"))
        .where(Entry.type == SELL, Event.corrected_by.is_(None), Batch.expires_on.is_not(None),
               or_(sold_day > Batch.expires_on, recorded_day > Batch.expires_on))
        .order_by(Batch.ref, Event.entry_index))
    warnings = []
    for ref, group in by_subject(rows):
        sales = list(group)
        items = [_sale_item(row) for row in sales]
        expires = sales[0].expires_on
        warnings.append(RiskWarning(
            rule=SALE_AFTER_EXPIRY, subject=ref, batch=ref,
            enterprises=codes((row.actor for row in sales), (row.creator for row in sales)),
            at=max(row.received_at for row in sales), facts={"sales": len(sales), "expires": expires},
            evidence=evidence(run, items, {"sales": len(sales), "expires_on": expires})))
    return warnings


def _sales_after_recall(run: RuleRun) -> list[RiskWarning]:
    """Sales recorded after a recall that covers the batch (directly or through an input), or claiming a time
    after the time the recall claims (a recall may be dated back to when the fault was found)."""
    sql = run.sql
    recall_event = aliased(Event)
    rows = run.session.execute(
        select(Recall.ref.label("subject"), Event.entry_index, Event.actor, Event.time, Event.summary,
               Entry.received_at, Recall.recall_index, Recall.source_ref, recall_event.time.label("recall_time"),
               Batch.creator)
        .select_from(Entry).join(Event, Event.entry_index == Entry.index)
        .join(Recall, Recall.ref == sql.json_text(Event.summary, "batch"))
        .join(recall_event, recall_event.entry_index == Recall.recall_index)
        .join(Batch, Batch.ref == Recall.ref)
        .where(Entry.type == SELL, Event.corrected_by.is_(None),
               or_(Recall.recall_index < Event.entry_index,
                   sql.hours_of_text(Event.time) > sql.hours_of_text(recall_event.time)))
        .order_by(Recall.ref, Event.entry_index, Recall.recall_index))
    warnings = []
    for ref, group in by_subject(rows):
        pairs = list(group)
        first_recall: dict[int, Any] = {}
        for row in pairs:
            first_recall.setdefault(row.entry_index, row)
        sales = list(first_recall.values())
        items = [{**_sale_item(row), "recall_entry": row.recall_index, "recalled_batch": row.source_ref,
                  "recall_claimed": row.recall_time} for row in sales]
        earliest = min(sales, key=lambda row: row.recall_index)
        warnings.append(RiskWarning(
            rule=SALE_AFTER_RECALL, subject=ref, batch=ref,
            enterprises=codes((row.actor for row in sales), (row.creator for row in sales)),
            at=max(row.received_at for row in sales),
            facts={"sales": len(sales), "source": earliest.source_ref, "recall": earliest.recall_index},
            evidence=evidence(run, items, {"sales": len(sales)})))
    return warnings


def _sale_item(row: Any) -> dict[str, Any]:
    summary = json.loads(row.summary)
    return {"entry": row.entry_index, "seller": row.actor, "quantity": summary["quantity"], "unit": summary["unit"],
            "claimed": row.time, "recorded_at": utc(row.received_at)}


# -- 4. shipments never received -------------------------------------------------------------------------------


def _shipments_not_received(run: RuleRun) -> list[RiskWarning]:
    rows = run.session.execute(
        select(Shipment.ref.label("subject"), Shipment.shipper, Shipment.shipment_id, Shipment.receiver,
               Shipment.quantity, Shipment.unit, Shipment.ship_index, Entry.received_at)
        .join(Entry, Entry.index == Shipment.ship_index)
        .where(Shipment.status == "in_transit",
               Entry.received_at < run.now - timedelta(days=run.limits.transit_days))
        .order_by(Shipment.ref, Shipment.ship_index))
    warnings = []
    for ref, group in by_subject(rows):
        shipments = list(group)
        items = [{"entry": row.ship_index, "shipment": f"{row.shipper}/{row.shipment_id}", "from": row.shipper,
                  "to": row.receiver, "quantity": row.quantity, "unit": row.unit,
                  "shipped_at": utc(row.received_at)} for row in shipments]
        oldest = min(row.received_at for row in shipments)
        warnings.append(RiskWarning(
            rule=SHIPMENT_NOT_RECEIVED, subject=ref, batch=ref,
            enterprises=codes((row.shipper for row in shipments), (row.receiver for row in shipments)),
            at=max(row.received_at for row in shipments),
            facts={"shipments": len(shipments), "days": run.limits.transit_days,
                   "oldest": (run.now - oldest).days},
            evidence=evidence(run, items, {"shipments": len(shipments)})))
    return warnings


# -- 5. quantities that do not add up: trace.risk_quantity_rules ------------------------------------------


# -- 6. codes looked up from too many places -------------------------------------------------------------------


def _codes_from_many_places(run: RuleRun) -> list[RiskWarning]:
    places = (select(ScanPlace.code, func.count().label("places"), func.min(ScanPlace.first_at).label("first_at"),
                     func.max(ScanPlace.last_at).label("last_at"))
              .group_by(ScanPlace.code).having(func.count() > run.limits.places).subquery())
    rows = run.session.execute(
        select(places.c.code.label("subject"), places.c.places, places.c.first_at, places.c.last_at, Unit.ref,
               Unit.holder, Unit.status, Unit.first_sold_index, Batch.creator, Batch.created_index,
               Scan.count.label("lookups"))
        .join(Unit, Unit.unit_id == places.c.code).join(Batch, Batch.ref == Unit.ref)
        .outerjoin(Scan, Scan.code == places.c.code)
        .order_by(places.c.code, Unit.ref))
    warnings = []
    for code, group in by_subject(rows):
        units = list(group)
        unit = units[0]
        entries = sorted({row.created_index for row in units}
                         | {row.first_sold_index for row in units if row.first_sold_index is not None})
        items = [{"batch": row.ref, "holder": row.holder, "status": row.status} for row in units]
        warnings.append(RiskWarning(
            rule=CODE_MANY_PLACES, subject=code, batch=unit.ref,
            enterprises=codes((row.creator for row in units), (row.holder for row in units)), at=unit.last_at,
            facts={"places": unit.places, "limit": run.limits.places, "lookups": unit.lookups or 0,
                   "first_at": utc(unit.first_at), "last_at": utc(unit.last_at)},
            evidence={"entries": entries, "figures": {"places": unit.places}, "items": items,
                      "items_total": len(items)}))
    return warnings


# -- 7. events recorded long after they claim to have happened -------------------------------------------------


def _late_records(run: RuleRun) -> list[RiskWarning]:
    rows = run.session.execute(
        select(Event.actor.label("subject"), Event.entry_index, Event.type, Event.time, Event.refs, Entry.received_at)
        .join(Entry, Entry.index == Event.entry_index)
        .where(Event.corrected_by.is_(None),
               run.sql.later_than(Entry.received_at, Event.time, run.limits.late_hours))
        .order_by(Event.entry_index))  # not by actor: SQLite would then walk the actor index, row by row
    by_actor: dict[str, list[Any]] = {}
    for row in rows:
        by_actor.setdefault(row.subject, []).append(row)
    warnings = []
    for actor, events in sorted(by_actor.items()):
        items = [{"entry": row.entry_index, "type": row.type, "batch": (json.loads(row.refs) or [None])[0],
                  "claimed": row.time, "recorded_at": utc(row.received_at),
                  "hours": int((row.received_at - parse_time(row.time)) / timedelta(hours=1))} for row in events]
        longest = max(item["hours"] for item in items)
        warnings.append(RiskWarning(
            rule=LATE_RECORD, subject=actor, batch=None, enterprises=(actor,),
            at=max(row.received_at for row in events),
            facts={"count": len(events), "hours": run.limits.late_hours, "longest": longest},
            evidence=evidence(run, items, {"events": len(events), "longest_hours": longest})))
    return warnings


_RULES: dict[str, Callable[[RuleRun], list[RiskWarning]]] = {
    COMPLAINTS_BATCH: _complaints_by_batch,
    COMPLAINTS_ENTERPRISE: _complaints_by_enterprise,
    COLD_CHAIN: _cold_chain,
    SALE_AFTER_EXPIRY: _sales_after_expiry,
    SALE_AFTER_RECALL: _sales_after_recall,
    SHIPMENT_NOT_RECEIVED: _shipments_not_received,
    SHORT_RECEIPT: short_receipts,
    TRANSFORM_GAIN: transform_gains,
    HOLDINGS_MISMATCH: holdings_mismatches,
    CODE_MANY_PLACES: _codes_from_many_places,
    LATE_RECORD: _late_records,
}
assert set(_RULES) == set(RULES)


# -- reviews ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """The latest review of one warning: who (the officer whose key signed it; ``None`` for the bureau's own
    key), when (the ledger's receive time) and what."""

    rule: str
    subject: str
    decision: str
    note: str | None
    evidence_sha256: str
    entry_index: int
    officer: str | None
    received_at: datetime

    def covers(self, warning: RiskWarning) -> bool:
        """Whether this review saw the warning's current evidence (else the evidence changed since)."""
        return self.evidence_sha256 == warning.evidence_sha256


def read_reviews(session: Session) -> dict[tuple[str, str], Review]:
    """The latest review of each (rule, subject), by entry index; one query."""
    rows = session.execute(
        select(Event.entry_index, Event.summary, Entry.received_at, LedgerKey.label)
        .join(Entry, Entry.index == Event.entry_index)
        .outerjoin(LedgerKey, LedgerKey.key_id == Entry.key_id)
        .where(Event.type == RISK_REVIEW)
        .order_by(Event.entry_index))
    reviews: dict[tuple[str, str], Review] = {}
    for index, summary, received_at, label in rows:
        data = json.loads(summary)
        reviews[(data["rule"], data["subject"])] = Review(
            rule=data["rule"], subject=data["subject"], decision=data["decision"], note=data["note"],
            evidence_sha256=data["evidence_sha256"], entry_index=index,
            officer=None if label is None else officer_of(label), received_at=received_at)
    return reviews
