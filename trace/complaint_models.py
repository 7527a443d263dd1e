"""Tables of the complaint channel: complaints, their photos, the replies to them, who they were routed to, and
the authorities' actions on them.

None of these is derived from the ledger or public. A complaint holds personal data (the optional contact) and the
complainant's own words; the ledger holds only its salted commitment (:mod:`trace.complaints`), whose entry
index is kept here so the complaint and its anchor can be matched both ways. The follow key is stored as its
SHA-256 digest only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, UTCDateTime

_TICKET = String(16)


class Complaint(Base):
    """One complaint: ``status`` is one of :data:`trace.complaints.STATUSES`; ``due_at`` is when the first
    answer is due; ``salt`` and ``commitment`` are what entry ``anchor_index`` commits to."""

    __tablename__ = "complaints"

    ticket: Mapped[str] = mapped_column(_TICKET, primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(256), index=True)
    category: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    anchor_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    #: The inspector handling it (issue 6: :mod:`trace.complaint_desk`), or ``None`` while unassigned.
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)


class ComplaintPhoto(Base):
    """A photo as re-encoded by :func:`trace.complaint_photos.reencode_photo` (metadata stripped), by position."""

    __tablename__ = "complaint_photos"

    ticket: Mapped[str] = mapped_column(_TICKET, ForeignKey("complaints.ticket", ondelete="CASCADE"),
                                        primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ComplaintRecipient(Base):
    """Who a complaint was routed to when it was filed: a credit code (the batch's holders and maker) or
    ``regulator``; ``roles`` is a sorted comma-separated subset of holder, producer, regulator."""

    __tablename__ = "complaint_recipients"

    ticket: Mapped[str] = mapped_column(_TICKET, ForeignKey("complaints.ticket", ondelete="CASCADE"),
                                        primary_key=True)
    party: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    roles: Mapped[str] = mapped_column(String(40))


class ComplaintReply(Base):
    """An answer or a status change on a complaint, by an inspector, an enterprise or the channel itself.
    ``visible`` replies are shown to the complainant; ``status`` is the status the reply set, if any."""

    __tablename__ = "complaint_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket: Mapped[str] = mapped_column(_TICKET, ForeignKey("complaints.ticket", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(16))
    visible: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: For an inspector's text: the salt of the digest its ``trace.complaint.handle`` entry carries
    #: (:func:`trace.complaint_handling.reply_digest`); ``None`` for text that is not in the ledger.
    salt: Mapped[str | None] = mapped_column(String(64))


class ComplaintAction(Base):
    """An authority's action on a complaint, signed in the ledger as entry ``entry_index`` (a
    ``trace.complaint.handle`` statement by ``officer``): what it set, and the reply it carried, if any."""

    __tablename__ = "complaint_actions"

    entry_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket: Mapped[str] = mapped_column(_TICKET, ForeignKey("complaints.ticket", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    officer: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation: Mapped[str | None] = mapped_column(String(16))
    order_index: Mapped[int | None] = mapped_column(BigInteger)
    reply_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("complaint_replies.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
