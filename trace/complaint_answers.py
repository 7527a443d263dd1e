"""An enterprise's own view of the complaints about its products: those routed to it when they were filed
(``complaint_recipients``), and its answers to them.

An enterprise sees what the complainant sees (the description, photos, status and the replies shown to the
complainant), never the complainant's contact, the follow key, internal notes or which inspector handles the
complaint. Its answers are shown to the complainant at once. A complaint not routed to the enterprise is refused
with ``complaint.not_recipient``, whether read or answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .complaint_desk import MAX_REPLY
from .complaint_models import Complaint, ComplaintPhoto, ComplaintRecipient, ComplaintReply
from .complaint_queue import find_complaint, overdue_by
from .complaints import ComplaintError, clean_text
from .models import Batch, Product
from .queries import NotFound

REGULATOR_AUTHOR = "regulator"


@dataclass(frozen=True)
class Routed:
    """A complaint and the roles (holder, producer) it was routed to an enterprise in."""

    complaint: Complaint
    roles: list[str]


def routed(session: Session, party: str, ticket: str) -> Routed:
    """Complaint ``ticket`` if it was routed to ``party``. Raises :class:`trace.queries.NotFound`
    (``not_found.complaint``) for an unknown ticket and :class:`ComplaintError` (``complaint.not_recipient``)
    for a complaint routed to others only."""
    complaint = find_complaint(session, ticket)
    recipient = session.get(ComplaintRecipient, (ticket, party)) if party else None
    if recipient is None or party == "regulator":
        raise ComplaintError(f"complaint {ticket} was not routed to {party[:64]}: an enterprise sees and answers only "
                             "the complaints about batches it held or made when they were filed",
                             code="complaint.not_recipient")
    return Routed(complaint, recipient.roles.split(","))


def complaints_routed_to(session: Session, party: str, *, now: datetime, status: str | None = None,
                         before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The complaints routed to ``party``, newest first (by anchor entry), ``before`` an anchor index when given."""
    query = (select(Complaint, ComplaintRecipient.roles, Product.name)
             .join(ComplaintRecipient, and_(ComplaintRecipient.ticket == Complaint.ticket,
                                            ComplaintRecipient.party == party))
             .outerjoin(Batch, Batch.ref == Complaint.ref).outerjoin(Product, Product.gtin == Batch.gtin))
    if status is not None:
        query = query.where(Complaint.status == status)
    if before is not None:
        query = query.where(Complaint.anchor_index < before)
    rows = session.execute(query.order_by(Complaint.anchor_index.desc()).limit(limit))
    return [_summary(complaint, roles.split(","), name, now) for complaint, roles, name in rows]


def routed_complaint(session: Session, party: str, ticket: str, *, now: datetime) -> dict[str, Any]:
    """Complaint ``ticket`` as ``party`` sees it (see :func:`routed` for the refusals)."""
    found = routed(session, party, ticket)
    complaint = found.complaint
    name = session.scalar(select(Product.name).join(Batch, Batch.gtin == Product.gtin)
                          .where(Batch.ref == complaint.ref))
    photos = session.execute(select(ComplaintPhoto.position, ComplaintPhoto.content_type, ComplaintPhoto.width,
                                    ComplaintPhoto.height, ComplaintPhoto.sha256)
                             .where(ComplaintPhoto.ticket == ticket).order_by(ComplaintPhoto.position)).all()
    replies = session.scalars(select(ComplaintReply).where(
        ComplaintReply.ticket == ticket, or_(ComplaintReply.visible, ComplaintReply.status.is_not(None)))
        .order_by(ComplaintReply.id))
    return {**_summary(complaint, found.roles, name, now), "description": complaint.description,
            "photos": [row._asdict() for row in photos],
            "replies": [shown_reply(reply) for reply in replies]}


def answer_complaint(session: Session, party: str, ticket: str, text: str, *, now: datetime) -> ComplaintReply:
    """Add ``party``'s answer to complaint ``ticket``, shown to the complainant (adds and flushes; the caller
    commits). Raises as :func:`routed` does, and ``complaint.reply`` for an empty answer or one over
    :data:`trace.complaint_desk.MAX_REPLY` characters once cleaned."""
    routed(session, party, ticket)
    body = clean_text(text, multiline=True)
    if not body or len(body) > MAX_REPLY:
        raise ComplaintError(f"an answer must have 1 to {MAX_REPLY} characters, found {len(body)}",
                             code="complaint.reply")
    reply = ComplaintReply(ticket=ticket, author_kind="enterprise", author=party, body=body, status=None,
                           visible=True, created_at=now, salt=None)
    session.add(reply)
    complaint = session.get(Complaint, ticket)
    assert complaint is not None
    complaint.updated_at = now
    session.flush()
    return reply


def routed_photo(session: Session, party: str, ticket: str, position: int) -> ComplaintPhoto:
    """Photo ``position`` of a complaint routed to ``party``; raises as :func:`routed`, or
    :class:`trace.queries.NotFound` (``not_found.photo``)."""
    routed(session, party, ticket)
    photo = session.get(ComplaintPhoto, (ticket, position))
    if photo is None:
        raise NotFound(f"complaint {ticket} has no photo {position}", code="not_found.photo")
    return photo


def shown_reply(reply: ComplaintReply) -> dict[str, Any]:
    """A reply as enterprises see it: inspectors appear as the regulator; a status change without a visible
    text has ``body`` null."""
    return {"id": reply.id, "author_kind": reply.author_kind,
            "author": reply.author if reply.author_kind == "enterprise" else REGULATOR_AUTHOR,
            "status": reply.status, "body": reply.body if reply.visible and reply.body else None,
            "created_at": reply.created_at}


def _summary(complaint: Complaint, roles: list[str], product_name: str | None, now: datetime) -> dict[str, Any]:
    return {"ticket": complaint.ticket, "batch": complaint.ref, "product_name": product_name,
            "category": complaint.category, "status": complaint.status, "filed_at": complaint.created_at,
            "due_at": complaint.due_at, "overdue": overdue_by(complaint.status, complaint.due_at, now) is not None,
            "anchor_index": complaint.anchor_index, "roles": roles}
