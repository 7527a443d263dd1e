"""Filing a complaint and reading it back with its private key.

Filing is one command with one commit: the registrar signs the complaint's anchor (:mod:`trace.complaints`), and
the complaint, its photos and its recipients are written in the transaction that appends the anchor, so a complaint
exists exactly when its anchor does. The complainant receives a ticket number (not secret: it may be read out on
the phone) and a follow key (secret, stored only as its SHA-256); reading a complaint needs both.

Log lines carry the ticket, the batch and the entry index, never the description or the contact.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer, sessionmaker

from ledger import AppendResult, LedgerConfig, Signer

from .complaint_models import Complaint, ComplaintPhoto, ComplaintRecipient, ComplaintReply
from .complaint_photos import Photo
from .complaints import (
    ANCHOR,
    SALT_BYTES,
    ComplaintError,
    check_complaint,
    commitment_record,
    complaint_commitment,
)
from .context import MARKET_TIME
from .ledger_service import append_authored
from .models import Batch, Enterprise, Holding, Product
from .policy import TracePolicy
from .queries import NotFound

logger = logging.getLogger(__name__)

REGULATOR = "regulator"
#: When the first answer is due (the market regulator decides whether to accept a complaint within seven
#: working days; a calendar week is the stricter reading).
FIRST_ANSWER_DUE = timedelta(days=7)
_TICKET_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out and typed by hand
TICKET = re.compile(r"TS-[0-9]{4}-[2-9A-HJ-NP-Z]{6}")
_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class ComplaintDraft:
    """A complaint as the complainant wrote it, its text already cleaned (:func:`trace.complaints.clean_text`)
    and its photos re-encoded (:func:`trace.complaint_photos.reencode_photo`)."""

    ref: str
    category: str
    description: str
    contact: str | None
    photos: Sequence[Photo]


@dataclass(frozen=True)
class FiledComplaint:
    """What the complainant is given once: the ticket, the follow key (not stored) and the anchor."""

    ticket: str
    key: str
    anchor_index: int
    commitment: str


def file_complaint(sessions: sessionmaker[Session], signer: Signer, draft: ComplaintDraft, *,
                   config: LedgerConfig, clock: Callable[[], datetime]) -> FiledComplaint:
    """Anchor ``draft`` in the ledger as ``signer`` (the registrar) and store it, routed to the batch's current
    holders, its maker and the regulator; one commit (a command of its own, like
    :func:`trace.ledger_service.append_authored`).

    Raises :class:`ComplaintError` for an invalid draft, :class:`trace.queries.NotFound` (``not_found.batch``)
    for a batch the ledger does not know, or the anchor's :class:`ledger.LedgerError` when it is refused.
    """
    check_complaint(draft.category, draft.description, draft.contact, len(draft.photos))
    received_at = clock().astimezone(UTC).replace(microsecond=0)
    received = received_at.isoformat()
    with sessions() as session:
        if session.get(Batch, draft.ref) is None:
            raise NotFound(f"batch {draft.ref} is not in the ledger", code="not_found.batch")
        ticket = _unused_ticket(session, received_at)
    salt = secrets.token_bytes(SALT_BYTES).hex()
    key = secrets.token_urlsafe(24)
    record = commitment_record(ticket=ticket, ref=draft.ref, category=draft.category,
                               description=draft.description, photo_sha256=[photo.sha256 for photo in draft.photos],
                               received=received, salt=salt)
    commitment = complaint_commitment(record)
    body = {"batch": draft.ref, "category": draft.category, "commitment": commitment, "received": received}

    def store(session: Session, result: AppendResult) -> None:
        assert result.index is not None
        session.add(Complaint(ticket=ticket, key_sha256=_digest(key), ref=draft.ref, category=draft.category,
                              description=draft.description, contact=draft.contact, status="received",
                              created_at=received_at, updated_at=received_at,
                              due_at=received_at + FIRST_ANSWER_DUE, anchor_index=result.index, salt=salt,
                              commitment=commitment))
        session.flush()
        for position, photo in enumerate(draft.photos):
            session.add(ComplaintPhoto(ticket=ticket, position=position, content_type=photo.content_type,
                                       width=photo.width, height=photo.height, sha256=photo.sha256,
                                       data=photo.data))
        for party, roles in sorted(recipients_for(session, draft.ref).items()):
            session.add(ComplaintRecipient(ticket=ticket, party=party, roles=",".join(sorted(roles))))
        session.flush()

    result = append_authored(sessions, signer, ANCHOR, body, config=config, clock=clock, policy=TracePolicy(),
                             record=store)
    assert result.index is not None
    logger.info("complaint filed", extra={"ticket": ticket, "ref": draft.ref, "entry_index": result.index,
                                          "photos": len(draft.photos)})
    return FiledComplaint(ticket=ticket, key=key, anchor_index=result.index, commitment=commitment)


def recipients_for(session: Session, ref: str) -> dict[str, set[str]]:
    """Who a complaint about ``ref`` goes to: every current holder, the batch's maker, and the regulator."""
    parties: dict[str, set[str]] = {REGULATOR: {"regulator"}}
    batch = session.get(Batch, ref)
    if batch is not None:
        parties.setdefault(batch.creator, set()).add("producer")
    for holder in session.scalars(select(Holding.holder).where(Holding.ref == ref)):
        parties.setdefault(holder, set()).add("holder")
    return parties


def normalise_ticket(text: str) -> str | None:
    """A ticket as typed (any case, spaces, missing dashes) in its canonical form, or ``None``."""
    compact = re.sub(r"[\s-]", "", text).upper()
    candidate = f"{compact[:2]}-{compact[2:6]}-{compact[6:]}"
    return candidate if TICKET.fullmatch(candidate) else None


def open_complaint(session: Session, ticket: str, key: str) -> Complaint:
    """The complaint ``ticket`` if ``key`` is its follow key. Raises :class:`trace.queries.NotFound`
    (``not_found.complaint``) otherwise, the same for an unknown ticket and a wrong key."""
    row = session.get(Complaint, ticket) if TICKET.fullmatch(ticket) and _KEY.fullmatch(key) else None
    if row is None or not hmac.compare_digest(row.key_sha256, _digest(key)):
        raise NotFound("no complaint has this ticket and key", code="not_found.complaint")
    return row


@dataclass(frozen=True)
class ShownReply:
    """A reply or status change as the complainant sees it: ``body`` is ``None`` for an internal note (only the
    status it set is shown)."""

    created_at: datetime
    author_kind: str
    status: str | None
    body: str | None


@dataclass(frozen=True)
class ComplaintPage:
    """Everything the complainant's follow page shows."""

    complaint: Complaint
    product_name: str | None
    product_name_en: str | None
    photos: list[ComplaintPhoto]
    replies: list[ShownReply]
    recipients: list[tuple[str, str, list[str]]]  # party, display name, roles


def complaint_page(session: Session, complaint: Complaint) -> ComplaintPage:
    """The complaint's photos (metadata only), replies visible to the complainant with every status change (the
    text of an internal note left out) and named recipients."""
    photos = list(session.scalars(
        select(ComplaintPhoto).where(ComplaintPhoto.ticket == complaint.ticket).order_by(ComplaintPhoto.position)
        .options(defer(ComplaintPhoto.data))))
    replies = [ShownReply(row.created_at, row.author_kind, row.status, row.body if row.visible else None)
               for row in session.scalars(
                   select(ComplaintReply).where(ComplaintReply.ticket == complaint.ticket,
                                                or_(ComplaintReply.visible, ComplaintReply.status.is_not(None)))
                   .order_by(ComplaintReply.id))]
    rows = session.execute(
        select(ComplaintRecipient.party, ComplaintRecipient.roles, Enterprise.name)
        .outerjoin(Enterprise, Enterprise.credit_code == ComplaintRecipient.party)
        .where(ComplaintRecipient.ticket == complaint.ticket).order_by(ComplaintRecipient.party)).all()
    recipients = [(party, name or party, roles.split(",")) for party, roles, name in rows]
    recipients.sort(key=lambda item: (item[0] == REGULATOR, item[0]))
    product = session.execute(select(Product.name, Product.name_en).join(Batch, Batch.gtin == Product.gtin)
                              .where(Batch.ref == complaint.ref)).first()
    return ComplaintPage(complaint=complaint, product_name=product[0] if product else None,
                         product_name_en=(product[1] or None) if product else None, photos=photos, replies=replies,
                         recipients=recipients)


def anchored_record(session: Session, complaint: Complaint) -> dict[str, Any]:
    """The record ``complaint.commitment`` was computed over, rebuilt from the stored complaint (the complainant
    downloads it to recompute the commitment; an inspector compares it with the ledger entry)."""
    photos = session.scalars(select(ComplaintPhoto.sha256).where(ComplaintPhoto.ticket == complaint.ticket)
                             .order_by(ComplaintPhoto.position))
    return commitment_record(ticket=complaint.ticket, ref=complaint.ref, category=complaint.category,
                             description=complaint.description, photo_sha256=list(photos),
                             received=complaint.created_at.astimezone(UTC).isoformat(), salt=complaint.salt)


def complaint_photo(session: Session, complaint: Complaint, position: int) -> ComplaintPhoto:
    """Photo ``position`` of ``complaint``; raises :class:`trace.queries.NotFound` (``not_found.photo``)."""
    row = session.get(ComplaintPhoto, (complaint.ticket, position))
    if row is None:
        raise NotFound(f"complaint {complaint.ticket} has no photo {position}", code="not_found.photo")
    return row


def local_year(moment: datetime) -> int:
    return moment.astimezone(MARKET_TIME).year


def _unused_ticket(session: Session, now: datetime) -> str:
    for _ in range(20):
        ticket = f"TS-{local_year(now)}-" + "".join(secrets.choice(_TICKET_ALPHABET) for _ in range(6))
        if session.get(Complaint, ticket) is None:
            return ticket
    raise ComplaintError("no free ticket number found; try again", code="complaint.ticket")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()

