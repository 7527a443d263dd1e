"""What inspectors read about complaints: the queue with its filters and counts, one complaint's whole case
(routing, photos, replies, actions), and the inspectors a complaint may be assigned to.

Filters are plain values checked by the caller; each maps to one fixed clause here (no column is chosen by user
input). The queue never carries the complainant's contact: only :func:`complaint_case` does, for the complaint's
own page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, FromClause, and_, func, or_, select
from sqlalchemy.orm import Session, defer

from .access_models import Account
from .complaint_models import Complaint, ComplaintAction, ComplaintPhoto, ComplaintRecipient, ComplaintReply
from .complaint_service import REGULATOR
from .complaints import STATUSES
from .context import MARKET_TIME
from .models import Batch, Enterprise, Product
from .queries import NotFound

#: A complaint still waiting on the authorities; past its due date it is overdue.
OPEN_STATUSES = ("received", "investigating")
#: ``assigned`` filter values besides a username.
ASSIGNED_ANYONE, UNASSIGNED = "*", ""
EXCERPT = 90


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters, each already checked; ``None`` (or ``False``) means no filter. ``assigned`` is a
    username, :data:`ASSIGNED_ANYONE` or :data:`UNASSIGNED`; ``gtin`` a GTIN-14; ``filed_from`` and
    ``filed_to`` are days in China time, both included."""

    status: str | None = None
    category: str | None = None
    overdue: bool = False
    assigned: str | None = None
    gtin: str | None = None
    ref: str | None = None
    enterprise: str | None = None
    filed_from: date | None = None
    filed_to: date | None = None


@dataclass(frozen=True)
class QueueRow:
    ticket: str
    created_at: datetime
    category: str
    ref: str
    product_name: str | None
    product_name_en: str | None
    status: str
    assignee: str | None
    due_at: datetime
    excerpt: str
    overdue_by: timedelta | None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    #: Complaints per status (and ``overdue``) under every filter but the status and overdue ones.
    counts: dict[str, int] = field(default_factory=dict)


def overdue_by(status: str, due_at: datetime, now: datetime) -> timedelta | None:
    """How long an open complaint is past its due time; ``None`` when it is not overdue."""
    return now - due_at if status in OPEN_STATUSES and now > due_at else None


def complaint_queue(session: Session, filters: QueueFilter, *, now: datetime, limit: int = 50,
                    offset: int = 0) -> QueuePage:
    """The complaints matching ``filters``, soonest due first (then oldest filed), ``limit`` from ``offset``;
    with the counts per status under the other filters."""
    others = _clauses(filters, now)
    selected = [*others]
    if filters.status is not None:
        selected.append(Complaint.status == filters.status)
    if filters.overdue:
        selected.append(_overdue(now))
    query = (select(Complaint, Product.name, Product.name_en)
             .outerjoin(Batch, Batch.ref == Complaint.ref).outerjoin(Product, Product.gtin == Batch.gtin)
             .where(*selected).order_by(Complaint.due_at, Complaint.created_at, Complaint.ticket)
             .options(defer(Complaint.contact), defer(Complaint.key_sha256)).limit(limit).offset(offset))
    rows = [QueueRow(ticket=row.ticket, created_at=row.created_at, category=row.category, ref=row.ref,
                     product_name=name, product_name_en=name_en or None, status=row.status, assignee=row.assignee,
                     due_at=row.due_at, excerpt=_excerpt(row.description),
                     overdue_by=overdue_by(row.status, row.due_at, now))
            for row, name, name_en in session.execute(query)]
    source = _source(filters)
    total = session.scalar(select(func.count()).select_from(source).where(*selected)) or 0
    counts = {status: 0 for status in STATUSES}
    for status, count in session.execute(select(Complaint.status, func.count()).select_from(source)
                                         .where(*others).group_by(Complaint.status)):
        counts[status] = count
    counts["overdue"] = session.scalar(select(func.count()).select_from(source).where(*others, _overdue(now))) or 0
    return QueuePage(rows=rows, total=total, counts=counts)


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Complaint.status.in_(OPEN_STATUSES), Complaint.due_at < now)


def _source(filters: QueueFilter) -> FromClause:
    """What the counts select from: the complaints, joined to their batches when the GTIN filter needs it."""
    complaints = Complaint.__table__
    if filters.gtin is None:
        return complaints
    return complaints.join(Batch.__table__, Batch.ref == Complaint.ref)


def _clauses(filters: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.category is not None:
        clauses.append(Complaint.category == filters.category)
    if filters.assigned == ASSIGNED_ANYONE:
        clauses.append(Complaint.assignee.is_not(None))
    elif filters.assigned == UNASSIGNED:
        clauses.append(Complaint.assignee.is_(None))
    elif filters.assigned is not None:
        clauses.append(Complaint.assignee == filters.assigned)
    if filters.gtin is not None:
        clauses.append(Batch.gtin == filters.gtin)
    if filters.ref is not None:
        clauses.append(Complaint.ref == filters.ref)
    if filters.enterprise is not None:
        clauses.append(Complaint.ticket.in_(select(ComplaintRecipient.ticket)
                                            .where(ComplaintRecipient.party == filters.enterprise)))
    if filters.filed_from is not None:
        clauses.append(Complaint.created_at >= _day_start(filters.filed_from))
    if filters.filed_to is not None:
        clauses.append(Complaint.created_at < _day_start(filters.filed_to + timedelta(days=1)))
    return clauses


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), MARKET_TIME)


def _excerpt(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= EXCERPT else line[:EXCERPT - 1] + "…"


@dataclass(frozen=True)
class Recipient:
    party: str
    name: str
    roles: list[str]

    @property
    def is_enterprise(self) -> bool:
        return self.party != REGULATOR


@dataclass(frozen=True)
class ComplaintCase:
    """Everything an inspector's page of one complaint shows, the contact included."""

    complaint: Complaint
    product_name: str | None
    product_name_en: str | None
    batch_exists: bool
    photos: list[ComplaintPhoto]
    recipients: list[Recipient]
    replies: list[ComplaintReply]
    actions: list[ComplaintAction]

    @property
    def enterprises(self) -> list[Recipient]:
        return [recipient for recipient in self.recipients if recipient.is_enterprise]


def find_complaint(session: Session, ticket: str) -> Complaint:
    """The complaint ``ticket``; raises :class:`trace.queries.NotFound` (``not_found.complaint``)."""
    complaint = session.get(Complaint, ticket) if len(ticket) <= 16 else None
    if complaint is None:
        raise NotFound(f"no complaint has ticket {ticket[:20]}", code="not_found.complaint")
    return complaint


def complaint_case(session: Session, ticket: str) -> ComplaintCase:
    """The complaint ``ticket`` with its photos (metadata only), recipients, every reply (internal notes too)
    and every action, oldest first. Raises :class:`trace.queries.NotFound` (``not_found.complaint``)."""
    complaint = find_complaint(session, ticket)
    product = session.execute(select(Product.name, Product.name_en).join(Batch, Batch.gtin == Product.gtin)
                              .where(Batch.ref == complaint.ref)).first()
    photos = list(session.scalars(select(ComplaintPhoto).where(ComplaintPhoto.ticket == ticket)
                                  .order_by(ComplaintPhoto.position).options(defer(ComplaintPhoto.data))))
    replies = list(session.scalars(select(ComplaintReply).where(ComplaintReply.ticket == ticket)
                                   .order_by(ComplaintReply.id)))
    actions = list(session.scalars(select(ComplaintAction).where(ComplaintAction.ticket == ticket)
                                   .order_by(ComplaintAction.entry_index)))
    return ComplaintCase(complaint=complaint, product_name=product[0] if product else None,
                         product_name_en=(product[1] or None) if product else None,
                         batch_exists=session.get(Batch, complaint.ref) is not None, photos=photos,
                         recipients=recipients_of(session, ticket), replies=replies, actions=actions)


def recipients_of(session: Session, ticket: str) -> list[Recipient]:
    """Who complaint ``ticket`` was routed to, enterprises by credit code, then the regulator."""
    rows = session.execute(
        select(ComplaintRecipient.party, ComplaintRecipient.roles, Enterprise.name)
        .outerjoin(Enterprise, Enterprise.credit_code == ComplaintRecipient.party)
        .where(ComplaintRecipient.ticket == ticket)).all()
    recipients = [Recipient(party, name or party, roles.split(",")) for party, roles, name in rows]
    return sorted(recipients, key=lambda item: (not item.is_enterprise, item.party))


@dataclass(frozen=True)
class Inspector:
    username: str
    display_name: str


def inspectors(session: Session) -> list[Inspector]:
    """Active accounts holding the inspector role: whom a complaint may be assigned to."""
    rows = session.scalars(select(Account).where(Account.active, or_(
        Account.roles == "inspector", Account.roles.like("inspector,%"), Account.roles.like("%,inspector"),
        Account.roles.like("%,inspector,%"))).order_by(Account.username))
    return [Inspector(row.username, row.display_name) for row in rows]


def is_inspector(session: Session, username: str) -> bool:
    account = session.get(Account, username) if len(username) <= 64 else None
    return account is not None and account.active and "inspector" in account.roles.split(",")


@dataclass(frozen=True)
class HistoryItem:
    """One line of a complaint's history: an authority's action (with its ledger entry and the text it carried,
    if any) or an enterprise's answer (``action`` is ``answer``, no entry)."""

    when: datetime
    action: str
    author: str
    author_kind: str
    entry_index: int | None = None
    status: str | None = None
    assignee: str | None = None
    due_at: datetime | None = None
    escalation: str | None = None
    order_index: int | None = None
    text: str | None = None
    visible: bool = False


def complaint_history(case: ComplaintCase) -> list[HistoryItem]:
    """The case's actions and replies as one list, oldest first; a reply an action carried is shown with it."""
    replies = {reply.id: reply for reply in case.replies}
    carried = {action.reply_id for action in case.actions if action.reply_id is not None}
    items = []
    for action in case.actions:
        reply = replies.get(action.reply_id) if action.reply_id is not None else None
        items.append(HistoryItem(when=action.created_at, action=action.action, author=action.officer,
                                 author_kind="inspector", entry_index=action.entry_index, status=action.status,
                                 assignee=action.assignee, due_at=action.due_at, escalation=action.escalation,
                                 order_index=action.order_index, text=(reply.body or None) if reply else None,
                                 visible=reply.visible if reply else False))
    for reply in case.replies:
        if reply.id not in carried:
            items.append(HistoryItem(when=reply.created_at, action="answer" if reply.author_kind == "enterprise"
                                     else "reply", author=reply.author, author_kind=reply.author_kind,
                                     status=reply.status, text=reply.body or None, visible=reply.visible))
    return sorted(items, key=lambda item: item.when)
