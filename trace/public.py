"""What the public may see about a batch, a serialised unit or a logistic unit: the read model of the public page,
the SMS reply and the recall-status link. The pages of a batch's whole history are :mod:`trace.public_history`'s.

Built from the provenance graph (:func:`trace.provenance.trace_back`), then stripped to what is public: who did
what, where and when, inspections, certificates, recalls and each enterprise's credit standing. Quantities, prices,
holdings and shipment identifiers never leave this module, so no template can show them by mistake.

A page lists the latest :data:`TIMELINE_EVENTS` events of each batch, whatever the length of its history (a retail
lot may be sold thousands of times), and counts the rest of its own batch's by type. An input of the chain is
listed only up to its use for this product: its later events (sales and shipments to other customers) are another
chain's history, and a page listing them grew with the age of its sources; what still matters of them (a recall, a
failed inspection) is on the batch itself and warns on the page. :func:`trace.public_history.public_history`
pages through a batch's whole history with the same public fields, built by the functions of the "building"
section below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .context import MARKET_TIME
from .models import BatchEvent, Enterprise, Event, Flag, Product, Unit
from .provenance import BatchNode, Hop, Provenance, Use, trace_back
from .queries import NotFound
from .recall_tracking import ACKNOWLEDGE, CLOSE

#: A page shows at most this many batches of a chain, nearest first: enough for any real product's sources, and
#: a bound on the page's cost for a batch made from thousands of others.
MAX_BATCHES = 200
#: A page lists at most this many events of each batch, its latest; the rest are counted by type and paged on the
#: batch's history page. The page's device check proves the root batch's latest this many (a suffix bundle).
TIMELINE_EVENTS = 25
#: Event types repeated in bulk (each sale, each sensor reading): a run of them in a timeline is one line.
ROUTINE_TYPES = frozenset({"trace.sell", "trace.sensor"})


@dataclass(frozen=True)
class Party:
    """An enterprise as the public sees it: name, roles, where it is, and its standing on the credit lists."""

    credit_code: str
    name: str
    name_en: str
    roles: tuple[str, ...]
    status: str
    status_reason: str
    places: dict[str, str]

    @property
    def standing(self) -> str:
        """``good``, or the list it is on: ``abnormal``, ``blacklisted``, ``deregistered``."""
        return "good" if self.status == "active" else self.status

    def place(self, location: str | None) -> str | None:
        """The address of ``location`` (a location id), else of its first location."""
        if location is not None and location in self.places:
            return self.places[location]
        return next(iter(self.places.values()), None)


@dataclass(frozen=True)
class Step:
    """One event on a batch, public fields only. ``detail`` holds the event's public particulars (activity,
    result, reason, counterparty credit code, pallet, readings range), never quantities."""

    entry_index: int
    type: str
    actor: str
    time: str
    place: str | None
    detail: dict[str, Any]
    corrected_by: int | None
    warning: str | None = None

    @property
    def routine(self) -> bool:
        """A sale or a sensor reading with nothing to flag, uncorrected: one of a run the timeline summarises."""
        return self.type in ROUTINE_TYPES and self.warning is None and self.corrected_by is None


@dataclass(frozen=True)
class StepRun:
    """Consecutive routine events of one type on a batch's timeline, shown as one line: how many, by whom, the
    first and the last."""

    type: str
    steps: tuple[Step, ...]

    @property
    def count(self) -> int:
        return len(self.steps)

    @property
    def first(self) -> Step:
        return self.steps[0]

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def actors(self) -> list[str]:
        return sorted({step.actor for step in self.steps})


@dataclass(frozen=True)
class TypeCount:
    """How many events of one type a batch has in all, with the time of the first and of the latest (by ledger
    order)."""

    type: str
    count: int
    first_time: str
    last_time: str


@dataclass
class PublicBatch:
    ref: str
    kind: str
    gtin: str | None
    lot: str | None
    sscc: str | None
    product: dict[str, Any] | None
    produced_on: str | None
    expires_on: str | None
    origin: dict[str, str]
    certificates: list[dict[str, str]]
    maker: str
    status: str
    inspection: str | None
    recalls: list[dict[str, Any]]
    steps: list[Step]
    inputs: list[str] = field(default_factory=list)
    #: The number of events of the batch; ``steps`` holds its latest :data:`TIMELINE_EVENTS` (for an input of
    #: the chain, its latest up to ``used_at``).
    event_count: int = 0
    #: The batch's events counted by type over its whole history, when ``steps`` leaves some out (the page's own
    #: batch only: an input's other uses are not this product's history).
    counts: list[TypeCount] = field(default_factory=list)
    #: For an input of the chain: the entry that took it into the chain (its latest such use).
    used_at: int | None = None
    #: For an input of the chain: how many of its events came after ``used_at``, none of them listed.
    later: int = 0

    @property
    def earlier(self) -> int:
        """The number of the batch's events before the ones listed."""
        return self.event_count - len(self.steps) - self.later

    @property
    def timeline(self) -> list[Step | StepRun]:
        """``steps`` with each run of two or more consecutive routine events of one type as one :class:`StepRun`."""
        return _timeline(self.steps)


@dataclass
class PublicView:
    """The public page of ``root``: its batches in walk order (the root first, sources last), the parties that
    appear, the root's status and its warnings (each a code the page translates)."""

    root: str
    batches: list[PublicBatch]
    parties: dict[str, Party]
    status: str
    warnings: list[dict[str, Any]]
    sources: list[str]
    unit: dict[str, Any] | None = None
    #: Batches of the chain beyond :data:`MAX_BATCHES`, not shown (the proof bundle and the API have them all).
    hidden_batches: int = 0

    @property
    def batch(self) -> PublicBatch:
        return self.batches[0]

    @cached_property
    def shown(self) -> dict[str, tuple[int, PublicBatch]]:
        """Each shown batch by reference, with its 1-based place on the page (the anchor ``#batch-N``)."""
        return {batch.ref: (place, batch) for place, batch in enumerate(self.batches, start=1)}


def public_view(session: Session, ref: str, *, today: date, unit_id: str | None = None) -> PublicView:
    """The public view of batch ``ref`` (and of its serialised unit ``unit_id``) on ``today``. Raises
    :class:`trace.queries.NotFound` (``not_found.batch``, ``not_found.unit``)."""
    graph = trace_back(session, ref, with_events=True, latest_events=TIMELINE_EVENTS, until_used=True)
    unit = _unit(session, ref, unit_id) if unit_id is not None else None
    parties = read_parties(session, _party_codes(graph))
    products = read_products(session, {node.gtin for node in graph.nodes.values() if node.gtin})
    parents: dict[str, set[str]] = {}
    for link in graph.links:
        parents.setdefault(link.child, set()).add(link.parent)
    inputs = {child: sorted(refs) for child, refs in parents.items()}
    order = _walk_order(graph.root, inputs)
    closed = _recall_closures(session, [node.ref for node in graph.nodes.values() if node.recalls])
    shown = order[:MAX_BATCHES]
    counts = _type_counts(session, [node_ref for node_ref in shown if node_ref not in graph.uses
                                    and (graph.nodes[node_ref].event_count or 0) > len(graph.nodes[node_ref].events)])
    batches = [build_batch(graph.nodes[node_ref], _steps(graph, node_ref, parties), parties,
                           products.get(graph.nodes[node_ref].gtin or ""), inputs.get(node_ref, []), closed,
                           counts.get(node_ref, []), use=graph.uses.get(node_ref))
               for node_ref in shown]
    flags = _flags(session, [batch.ref for batch in batches], unit_id)
    root = batches[0]
    warnings = _warnings(root, batches, flags, unit, today)
    return PublicView(root=ref, batches=batches, parties=parties, status=_status(root, warnings),
                      warnings=warnings, sources=graph.sources, unit=unit, hidden_batches=len(order) - len(batches))


# --- building -------------------------------------------------------------------------------------------------

def _unit(session: Session, ref: str, unit_id: str) -> dict[str, Any]:
    row = session.get(Unit, (ref, unit_id))
    if row is None:
        raise NotFound(f"unit {unit_id} is not part of batch {ref}: the code is not registered",
                       code="not_found.unit")
    return {"unit_id": unit_id, "status": row.status, "sold": row.status == "sold"}


def _walk_order(root: str, inputs: dict[str, list[str]]) -> list[str]:
    """Breadth-first from ``root`` back to the sources, each batch once (``inputs``: each batch's parents)."""
    order, seen = [root], {root}
    for ref in order:  # the list is its own queue: batches appended here are visited in turn
        for parent in inputs.get(ref, []):
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
    return order


def _steps(graph: Provenance, ref: str, parties: dict[str, Party]) -> list[Step]:
    return [build_step(graph.events[index], parties) for index in graph.nodes[ref].events if index in graph.events]


def build_batch(node: BatchNode, steps: list[Step], parties: dict[str, Party], product: dict[str, Any] | None,
                inputs: list[str], closed: dict[int, str], counts: list[TypeCount], *,
                use: Use | None = None) -> PublicBatch:
    """The public fields of batch ``node`` with its listed ``steps``: certificates without their files, each
    recall with the day it was closed (``closed``, by recall entry), never quantities; ``use``, for an input of
    the chain, its latest use in it. Raises nothing."""
    certificates = [{name: value for name, value in item.items() if name in {"kind", "issuer", "number", "sha256"}}
                    for item in json.loads(node.certificates)]
    recalls = [{"entry_index": index, "source_ref": source, "issuer": issuer, "reason": reason,
                "closed_on": closed.get(index)} for index, source, issuer, reason in node.recalls]
    return PublicBatch(ref=node.ref, kind=node.kind, gtin=node.gtin, lot=node.lot, sscc=node.sscc, product=product,
                       produced_on=node.produced_on, expires_on=node.expires_on, origin=json.loads(node.origin),
                       certificates=certificates, maker=node.creator, status=node.status,
                       inspection=node.inspection, recalls=recalls, steps=steps, inputs=inputs,
                       event_count=node.event_count if node.event_count is not None else len(steps), counts=counts,
                       used_at=use.entry_index if use else None, later=use.later_events if use else 0)


def _timeline(steps: list[Step]) -> list[Step | StepRun]:
    out: list[Step | StepRun] = []
    for step in steps:
        last = out[-1] if out else None
        if step.routine and isinstance(last, StepRun) and last.type == step.type:
            out[-1] = StepRun(step.type, (*last.steps, step))
        elif step.routine and isinstance(last, Step) and last.routine and last.type == step.type:
            out[-1] = StepRun(step.type, (last, step))
        else:
            out.append(step)
    return out


def _recall_closures(session: Session, recalled: list[str]) -> dict[int, str]:
    """The China-time day each recall of the chain was closed, by recall entry: a closure links the recalled batch
    (one of ``recalled``), which is in the chain of every batch made from it. The goods stay recalled; the page says
    the recall is over. Read apart from the timelines, which may not reach back to the closure."""
    if not recalled:
        return {}
    closed = {}
    on_recalled = select(BatchEvent.entry_index).where(BatchEvent.ref.in_(recalled))
    for time, summary in session.execute(select(Event.time, Event.summary).where(
            Event.type == CLOSE, Event.corrected_by.is_(None), Event.entry_index.in_(on_recalled))):
        closed[int(json.loads(summary)["recall"])] = datetime.fromisoformat(time).astimezone(MARKET_TIME).date() \
            .isoformat()
    return closed


def _type_counts(session: Session, refs: list[str]) -> dict[str, list[TypeCount]]:
    """Each batch of ``refs``'s events counted by type over its whole history, with the times of the first and the
    latest of each type: two queries (the counts, then the times of those entries)."""
    if not refs:
        return {}
    rows = session.execute(
        select(BatchEvent.ref, Event.type, func.count(), func.min(BatchEvent.entry_index),
               func.max(BatchEvent.entry_index))
        .join(Event, Event.entry_index == BatchEvent.entry_index).where(BatchEvent.ref.in_(refs))
        .group_by(BatchEvent.ref, Event.type)).all()
    ends = sorted({index for row in rows for index in (row[3], row[4])})
    times = dict(session.execute(select(Event.entry_index, Event.time).where(Event.entry_index.in_(ends))).all())
    counts: dict[str, list[TypeCount]] = {}
    for ref, type_, count, first, last in sorted(rows, key=lambda row: (row[0], row[3])):
        counts.setdefault(ref, []).append(TypeCount(type_, count, times[first], times[last]))
    return counts


#: For each event type, the summary fields the public may see (quantities, units sold and shipment ids never).
_PUBLIC_DETAIL = {
    "trace.commission": ("activity",),
    "trace.ship": ("to", "carrier"),
    "trace.receive": ("from", "discrepancy"),
    "trace.transform": ("kind",),
    "trace.aggregate": ("sscc",),
    "trace.disaggregate": ("sscc",),
    "trace.sell": ("sold_twice",),
    "trace.inspect": ("result", "items", "laboratory", "certificate_sha256", "note"),
    "trace.recall": ("reason", "level"),
    "trace.destroy": ("reason",),
    "trace.sensor": ("measurement", "uom", "min", "max", "excursions", "count"),
    "trace.correct": ("entry", "reason"),
    ACKNOWLEDGE: ("recall",),
    CLOSE: ("recall",),
}


def build_step(hop: Hop, parties: dict[str, Party]) -> Step:
    """The public fields of one event (the summary fields of :data:`_PUBLIC_DETAIL` only) and the warning it
    carries, if any; its place from its actor's locations in ``parties``. Raises nothing."""
    summary = json.loads(hop.summary)
    detail = {name: summary[name] for name in _PUBLIC_DETAIL.get(hop.type, ()) if summary.get(name) is not None}
    if hop.type == "trace.receive":
        detail["discrepancy"] = bool(summary.get("discrepancy"))
    if hop.type == "trace.transform":
        detail["inputs"] = [item["batch"] for item in summary.get("inputs", [])]
        detail["outputs"] = [item["batch"] for item in summary.get("outputs", [])]
    warning = None
    if hop.type == "trace.sensor" and summary.get("excursions"):
        warning = "excursion"
    elif hop.type == "trace.inspect" and summary.get("result") == "non_conformant":
        warning = "non_conformant"
    elif hop.type in {"trace.recall", "trace.destroy"}:
        warning = hop.type.removeprefix("trace.")
    party = parties.get(hop.actor)
    return Step(entry_index=hop.entry_index, type=hop.type, actor=hop.actor, time=hop.time,
                place=party.place(hop.location) if party else None,
                detail=detail, corrected_by=hop.corrected_by, warning=warning)


def _places(locations_json: str) -> dict[str, str]:
    places = {}
    for location in json.loads(locations_json):
        text = location.get("address") or location.get("name")
        if text:
            places[str(location.get("id", ""))] = str(text)
    return places


def _party_codes(graph: Provenance) -> set[str]:
    """The enterprises a page names: each batch's maker, and the actor and counterparties of each listed event."""
    return {node.creator for node in graph.nodes.values()} | collect_party_codes(graph.events.values())


def collect_party_codes(hops: Iterable[Hop]) -> set[str]:
    """The credit codes of the actor and the counterparties (``to``, ``from``, ``carrier``) of each of ``hops``."""
    codes = set()
    for hop in hops:
        codes.add(hop.actor)
        summary = json.loads(hop.summary)
        codes.update(summary[name] for name in ("to", "from", "carrier") if isinstance(summary.get(name), str))
    return codes


def read_parties(session: Session, codes: set[str]) -> dict[str, Party]:
    """The enterprises of ``codes`` as the public sees them, by credit code; unknown codes are left out."""
    wanted, parties = sorted(codes), {}
    for start in range(0, len(wanted), 500):
        for row in session.scalars(select(Enterprise).where(Enterprise.credit_code.in_(wanted[start:start + 500]))):
            parties[row.credit_code] = Party(
                credit_code=row.credit_code, name=row.name, name_en=row.name_en,
                roles=tuple(filter(None, row.roles.split(","))), status=row.status, status_reason=row.status_reason,
                places=_places(row.locations))
    return parties


def read_products(session: Session, gtins: set[str]) -> dict[str, dict[str, Any]]:
    """The public fields of the products of ``gtins``, by GTIN; unknown GTINs are left out."""
    if not gtins:
        return {}
    return {row.gtin: {"gtin": row.gtin, "name": row.name, "name_en": row.name_en, "category": row.category,
                       "spec": row.spec, "approval_number": row.approval_number, "owner": row.owner}
            for row in session.scalars(select(Product).where(Product.gtin.in_(sorted(gtins))))}


def _flags(session: Session, refs: list[str], unit_id: str | None) -> list[Flag]:
    subjects = refs + ([unit_id] if unit_id else [])
    return list(session.scalars(select(Flag).where(Flag.subject.in_(subjects)).order_by(Flag.entry_index)))


# --- status ---------------------------------------------------------------------------------------------------

#: The root's status, from the most serious warning it has.
_STATUS_BY_WARNING = (("recalled", "recalled"), ("destroyed", "destroyed"), ("expired", "expired"),
                      ("non_conformant", "under_investigation"), ("sold_twice", "under_investigation"))


def _warnings(root: PublicBatch, batches: list[PublicBatch], flags: list[Flag], unit: dict[str, Any] | None,
              today: date) -> list[dict[str, Any]]:
    warnings: list[dict[str, Any]] = []
    if root.recalls:
        for recall in root.recalls:
            warnings.append({"code": "recalled", **recall})
    if root.status == "destroyed":  # all of it; destroying part of a recalled batch is the recall at work
        warnings.append({"code": "destroyed"})
    if root.expires_on and date.fromisoformat(root.expires_on) < today:
        warnings.append({"code": "expired", "expires_on": root.expires_on})
    if root.inspection == "non_conformant":
        warnings.append({"code": "non_conformant"})
    for flag in flags:
        detail = json.loads(flag.detail)
        if flag.code == "sensor.excursion":
            warnings.append({"code": "excursion", "batch": flag.subject, "entry_index": flag.entry_index,
                             "count": detail.get("count"), "minimum": detail.get("minimum"),
                             "maximum": detail.get("maximum"), "uom": detail.get("uom")})
        elif flag.code == "unit.sold_twice" and unit is not None and flag.subject == unit["unit_id"]:
            warnings.append({"code": "sold_twice", "entry_index": flag.entry_index})
    upstream_recalls = [batch.ref for batch in batches[1:] if batch.recalls]
    if upstream_recalls and not root.recalls:
        warnings.append({"code": "upstream_recalled", "batches": upstream_recalls})
    # An input's inspection may come after its use in this product, where its timeline no longer reaches.
    failed = [batch.ref for batch in batches[1:] if batch.inspection == "non_conformant"]
    if failed:
        warnings.append({"code": "upstream_non_conformant", "batches": failed})
    return warnings


def _status(root: PublicBatch, warnings: list[dict[str, Any]]) -> str:
    codes = {warning["code"] for warning in warnings}
    for code, status in _STATUS_BY_WARNING:
        if code in codes:
            return status
    return "normal"
