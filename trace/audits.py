"""Integrity audits: the reports an officer's runs of the full verifier leave, the checkpoints they verified, and
the signed statement that records each result in the ledger itself.

``trace.audit.report`` is the registrar's statement (signed by the officer who ran the audit) that it ran one:
body ``source`` ("live" or "export"), ``tree_size``, ``root`` (64 hex digits, or null when no root was verified),
``outcome`` ("INTACT", "BROKEN" or "ERROR"), ``report_sha256`` (SHA-256 of the canonical JSON report that the
console serves for download) and, exactly when the outcome is BROKEN, ``first_bad_index`` (the first bad entry,
or null when the damage is not one entry's: a fork, a rollback, a truncated export). It links no batch and may
never be corrected.

Running an audit is :mod:`trace.audit_runner`; this module holds what is stored (kept apart so that
:mod:`trace.rules`, which the runner's replay imports, can import the handler here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base, UTCDateTime

from .body import Body
from .context import Context
from .errors import BodyError, EnterpriseError

AUDIT_REPORT = "trace.audit.report"
SOURCES = ("live", "export")
OUTCOMES = ("INTACT", "BROKEN", "ERROR")
#: Phases of a running audit, in order; ``done`` once the report is stored and signed (or could not be).
PHASES = ("verifying", "state", "consistency", "signing", "done")
#: A running audit whose progress has not moved for this long was probably cut off by a restart.
STALE_AFTER = timedelta(minutes=10)


class AuditReport(Base):
    """One audit: who ran it and on what, its progress while it runs, and its result once finished.

    ``report_json`` is the canonical JSON report, byte for byte what the console serves and ``report_sha256``
    (and the signed statement at ``statement_index``) names. ``inconsistent`` counts the remembered checkpoints
    the audited ledger is not consistent with (a fork or a rollback).
    """

    __tablename__ = "audit_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    export_name: Mapped[str | None] = mapped_column(String(200))
    export_sha256: Mapped[str | None] = mapped_column(String(64))
    export_bytes: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phase: Mapped[str] = mapped_column(String(16))
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(8))
    tree_size: Mapped[int | None] = mapped_column(BigInteger)
    root: Mapped[str | None] = mapped_column(String(64))
    checkpoint_note: Mapped[str | None] = mapped_column(Text)
    first_bad_index: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    checkpoints_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    authors: Mapped[int] = mapped_column(BigInteger, default=0)
    keys: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked_keys: Mapped[int] = mapped_column(BigInteger, default=0)
    events_replayed: Mapped[int] = mapped_column(BigInteger, default=0)
    milliseconds: Mapped[int | None] = mapped_column(BigInteger)
    inconsistent: Mapped[int] = mapped_column(Integer, default=0)
    report_json: Mapped[str | None] = mapped_column(Text)
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    statement_index: Mapped[int | None] = mapped_column(BigInteger)
    statement_error: Mapped[str | None] = mapped_column(Text)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def stalled(self, now: datetime) -> bool:
        """Still marked running, but without progress for :data:`STALE_AFTER` (its process probably stopped)."""
        return self.finished_at is None and now - self.updated_at > STALE_AFTER


class RememberedCheckpoint(Base):
    """A checkpoint an officer's audit verified: every later audit must find the ledger consistent with it."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    report_id: Mapped[int] = mapped_column(ForeignKey("audit_reports.id"))


@dataclass(frozen=True, slots=True)
class Remembered:
    """A remembered checkpoint as the consistency checks use it."""

    tree_size: int
    root: bytes
    report_id: int | None


def record_audit_report(ctx: Context) -> None:
    """The registrar records an officer's audit result. Body as in the module docstring; links nothing.

    Raises :class:`EnterpriseError` (``enterprise.not_registrar``) for any other author and :class:`BodyError`
    (``body.*``) for a body outside the form.
    """
    if not ctx.is_registrar:
        raise EnterpriseError(f"{AUDIT_REPORT} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    body = Body(ctx.statement.body, "body", {"source", "tree_size", "root", "outcome", "report_sha256"},
                {"first_bad_index"})
    source = body.choice("source", set(SOURCES))
    tree_size = body.integer("tree_size")
    root = body.sha256("root", optional=True)
    outcome = body.choice("outcome", set(OUTCOMES))
    digest = body.sha256("report_sha256")
    summary: dict[str, object] = {"source": source, "tree_size": tree_size, "root": root, "outcome": outcome,
                                  "report_sha256": digest}
    if outcome == "INTACT" and root is None:
        raise BodyError("body.root must be the verified root when the outcome is INTACT", code="body.hash")
    if outcome == "BROKEN":
        if "first_bad_index" not in ctx.statement.body:
            raise BodyError("body lacks first_bad_index (null when no single entry is bad)", code="body.missing")
        summary["first_bad_index"] = None if body.raw("first_bad_index") is None else body.integer("first_bad_index")
    elif "first_bad_index" in ctx.statement.body:
        raise BodyError(f"body.first_bad_index is only given when the outcome is BROKEN, not {outcome}",
                        code="body.unknown_field")
    ctx.summary = summary


# --- reading the stored reports ---------------------------------------------------------------------------------


def recent_reports(session: Session, limit: int = 100) -> list[AuditReport]:
    """The latest ``limit`` audits, newest first."""
    return list(session.scalars(select(AuditReport).order_by(AuditReport.id.desc()).limit(limit)))


def flagged_reports(session: Session, limit: int = 20) -> list[AuditReport]:
    """The latest audits that found the ledger inconsistent with a remembered checkpoint, newest first."""
    return list(session.scalars(select(AuditReport).where(AuditReport.inconsistent > 0)
                                .order_by(AuditReport.id.desc()).limit(limit)))


def remembered_checkpoints(session: Session) -> list[RememberedCheckpoint]:
    """Every remembered checkpoint, smallest first."""
    return list(session.scalars(select(RememberedCheckpoint).order_by(RememberedCheckpoint.tree_size)))


def remembered(session: Session) -> list[Remembered]:
    """The remembered checkpoints as the consistency checks take them."""
    return [Remembered(row.tree_size, bytes.fromhex(row.root), row.report_id)
            for row in remembered_checkpoints(session)]
