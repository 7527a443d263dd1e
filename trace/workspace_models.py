"""Tables of the enterprise workspace: invites for staff, the devices (browser-held keys) they enrolled, and the
certificate documents enterprises uploaded.

None of these is derived from the ledger. A device's standing is never copied here: whether its key is active or
revoked is read from the ledger key registry (``ledger_keys``), and whether it waits or was rejected from its key
request (``access_key_requests``). An invite's secret is stored only as its SHA-256 digest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, UTCDateTime


class WorkspaceInvite(Base):
    """A one-time invitation for one person. ``approval`` is ``on_enrol`` (issued by the registrar, whose
    ``officer`` account, or the registrar key itself when ``None``, signs the key at enrolment) or ``by_admin``
    (an enterprise administrator approves the enrolled device)."""

    __tablename__ = "workspace_invites"

    invite_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    staff: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(8))
    approval: Mapped[str] = mapped_column(String(10))
    officer: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkspaceDevice(Base):
    """One Ed25519 key of an enterprise held in one browser, enrolled with ``invite_id``; its key request
    ``request_id`` carries the decision (who, when), the ledger key registry its standing."""

    __tablename__ = "workspace_devices"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    public_key: Mapped[str] = mapped_column(String(44))
    staff: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(8))
    invite_id: Mapped[str] = mapped_column(String(16), ForeignKey("workspace_invites.invite_id"), unique=True)
    request_id: Mapped[str] = mapped_column(String(32), ForeignKey("access_key_requests.request_id"), unique=True)
    invited_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Document(Base):
    """A certificate document's bytes exactly as uploaded (an image or a PDF), by their SHA-256: the digest
    statements carry in ``certificates[].sha256``."""

    __tablename__ = "workspace_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DocumentUpload(Base):
    """Which enterprise uploaded a document (the same bytes may be uploaded by several)."""

    __tablename__ = "workspace_document_uploads"

    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("workspace_documents.sha256", ondelete="CASCADE"),
                                        primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True, index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
