"""The inspectors' actions on a complaint: each is planned here as one ``trace.complaint.handle`` statement (its
body) and the rows it stands for (``record``), which the caller appends as the acting officer in one transaction
(:func:`scanner_web.console.guard.act`, or :meth:`trace.officers.Officers.append`).

Planning checks what the ledger cannot know (the assignee is an inspector, the status really changes, the reply's
length) and raises :class:`trace.complaints.ComplaintError` with a stable code; the statement's own rules are
:func:`trace.complaint_handling.handle_complaint`. A reply's text stays in ``complaint_replies``; the statement
carries its salted digest.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ledger import AppendResult

from .complaint_handling import HANDLE, SETTABLE_STATUSES, reply_digest
from .complaint_models import Complaint, ComplaintAction, ComplaintReply
from .complaint_queue import find_complaint, is_inspector, recipients_of
from .complaints import SALT_BYTES, ComplaintError, clean_text
from .context import MARKET_TIME

MAX_REPLY = 2000
#: What an escalation's reason may hold (it is public: it goes into the ledger with the order).
MAX_REASON = 500
#: How far ahead a due date may be set.
LONGEST_DUE = timedelta(days=366)


@dataclass(frozen=True)
class Planned:
    """A statement to append as the acting officer, and the rows to write in the same transaction."""

    type: str
    body: dict[str, Any]
    record: Callable[[Session, AppendResult], None]


def plan_assignment(session: Session, ticket: str, assignee: str, *, officer: str, now: datetime) -> Planned:
    """Assign complaint ``ticket`` to ``assignee``, who must be an active inspector (``complaint.assignee``)
    other than the one already assigned (``complaint.unchanged``)."""
    complaint = find_complaint(session, ticket)
    if not is_inspector(session, assignee):
        raise ComplaintError(f"{assignee[:64]!r} is not an active inspector's account", code="complaint.assignee")
    if complaint.assignee == assignee:
        raise ComplaintError(f"complaint {ticket} is already assigned to {assignee}", code="complaint.unchanged")
    body = {"complaint": complaint.anchor_index, "action": "assign", "assignee": assignee}

    def record(writer: Session, result: AppendResult) -> None:
        row = _row(writer, ticket, now)
        row.assignee = assignee
        _log(writer, result, row, "assign", officer, now, assignee=assignee)
    return Planned(HANDLE, body, record)


def plan_reply(session: Session, ticket: str, *, text: str, visible: bool, status: str | None, officer: str,
               now: datetime) -> Planned:
    """A reply to the complainant (``visible``) or an internal note, and/or a new ``status``.

    Raises ``complaint.empty`` with neither text nor a status, ``complaint.reply`` for text over
    :data:`MAX_REPLY` characters, ``complaint.status`` for a status no one sets (``received``) and
    ``complaint.unchanged`` for the complaint's current status."""
    complaint = find_complaint(session, ticket)
    text = clean_text(text, multiline=True)
    if len(text) > MAX_REPLY:
        raise ComplaintError(f"a reply has at most {MAX_REPLY} characters, found {len(text)}",
                             code="complaint.reply")
    if status is not None:
        if status not in SETTABLE_STATUSES:
            raise ComplaintError(f"status must be one of {', '.join(SETTABLE_STATUSES)}, found {status[:20]!r}",
                                 code="complaint.status")
        if status == complaint.status:
            raise ComplaintError(f"complaint {ticket} is already {status}", code="complaint.unchanged")
    if not text and status is None:
        raise ComplaintError("write a reply or a note, or choose a new status", code="complaint.empty")
    salt = secrets.token_bytes(SALT_BYTES).hex() if text else None
    body: dict[str, Any] = {"complaint": complaint.anchor_index, "action": "reply" if status is None else "status"}
    if status is not None:
        body["status"] = status
    if salt is not None:
        body["reply_sha256"] = reply_digest(ticket, text, salt)

    def record(writer: Session, result: AppendResult) -> None:
        row = _row(writer, ticket, now)
        if status is not None:
            row.status = status
        # A status change is always shown to the complainant (their page shows the status); the text only when
        # it is a reply rather than an internal note.
        reply = ComplaintReply(ticket=ticket, author_kind="inspector", author=officer, body=text, status=status,
                               visible=visible and bool(text), created_at=now, salt=salt)
        writer.add(reply)
        writer.flush()
        _log(writer, result, row, body["action"], officer, now, status=status, reply_id=reply.id)
    return Planned(HANDLE, body, record)


def due_time(day: date) -> datetime:
    """A due date as a moment: the end of that day in China time, in UTC."""
    return datetime.combine(day, time(23, 59, 59), MARKET_TIME).astimezone(UTC)


def plan_due_date(session: Session, ticket: str, day: date, *, officer: str, now: datetime) -> Planned:
    """Move complaint ``ticket``'s due date to the end of ``day`` (China time): not before today
    (``complaint.due_past``), not more than :data:`LONGEST_DUE` ahead (``complaint.due_far``)."""
    complaint = find_complaint(session, ticket)
    today = now.astimezone(MARKET_TIME).date()
    if day < today:
        raise ComplaintError(f"the due date {day.isoformat()} is before today ({today.isoformat()})",
                             code="complaint.due_past")
    if day > today + LONGEST_DUE:
        raise ComplaintError(f"the due date {day.isoformat()} is more than {LONGEST_DUE.days} days ahead",
                             code="complaint.due_far")
    due_at = due_time(day)
    if due_at == complaint.due_at:
        raise ComplaintError(f"complaint {ticket} is already due on {day.isoformat()}", code="complaint.unchanged")
    body = {"complaint": complaint.anchor_index, "action": "due", "due": day.isoformat()}

    def record(writer: Session, result: AppendResult) -> None:
        row = _row(writer, ticket, now)
        row.due_at = due_at
        _log(writer, result, row, "due", officer, now, due_at=due_at)
    return Planned(HANDLE, body, record)


def clean_reason(text: str) -> str:
    """An escalation's reason as one line of 1 to :data:`MAX_REASON` characters (``complaint.reason``)."""
    reason = clean_text(text, multiline=False)
    if not reason or len(reason) > MAX_REASON:
        raise ComplaintError(f"the reason must have 1 to {MAX_REASON} characters, found {len(reason)}",
                             code="complaint.reason")
    return reason


def plan_escalation(session: Session, ticket: str, escalation: str, *, officer: str, now: datetime,
                    order_index: int | None = None) -> Planned:
    """Record that complaint ``ticket`` was escalated into a ``recall`` or an ``inspection`` (whose order is
    entry ``order_index``) and set it ``investigating`` if it was not."""
    complaint = find_complaint(session, ticket)
    status = None if complaint.status == "investigating" else "investigating"
    body: dict[str, Any] = {"complaint": complaint.anchor_index, "action": "escalate", "escalation": escalation}
    if status is not None:
        body["status"] = status
    if order_index is not None:
        body["order"] = order_index

    def record(writer: Session, result: AppendResult) -> None:
        row = _row(writer, ticket, now)
        reply_id = None
        if status is not None:
            row.status = status
            change = ComplaintReply(ticket=ticket, author_kind="inspector", author=officer, body="", status=status,
                                    visible=False, created_at=now)
            writer.add(change)
            writer.flush()
            reply_id = change.id
        _log(writer, result, row, "escalate", officer, now, status=status, escalation=escalation,
             order_index=order_index, reply_id=reply_id)
    return Planned(HANDLE, body, record)


def inspection_order(session: Session, ticket: str, *, enterprise: str, inspector: str, reason: str) -> dict[str, Any]:
    """The body of the ``trace.inspection.order`` an escalation appends: ``enterprise`` must be one the
    complaint was routed to (``complaint.enterprise``), ``inspector`` an active inspector
    (``complaint.assignee``), ``reason`` one line (:func:`clean_reason`)."""
    complaint = find_complaint(session, ticket)
    parties = {recipient.party for recipient in recipients_of(session, ticket) if recipient.is_enterprise}
    if enterprise not in parties:
        raise ComplaintError(f"complaint {ticket} was not routed to enterprise {enterprise[:18]!r}; choose one of "
                             f"{', '.join(sorted(parties)) or 'none'}", code="complaint.enterprise")
    if not is_inspector(session, inspector):
        raise ComplaintError(f"{inspector[:64]!r} is not an active inspector's account", code="complaint.assignee")
    return {"enterprise": enterprise, "batch": complaint.ref, "reason": clean_reason(reason), "inspector": inspector,
            "source": "complaint", "source_ref": f"entry {complaint.anchor_index}"}


def _row(writer: Session, ticket: str, now: datetime) -> Complaint:
    row = writer.get(Complaint, ticket)
    assert row is not None, f"complaint {ticket} vanished"
    row.updated_at = now
    return row


def _log(writer: Session, result: AppendResult, complaint: Complaint, action: str, officer: str, now: datetime,
         **values: Any) -> None:
    assert result.index is not None
    writer.add(ComplaintAction(entry_index=result.index, ticket=complaint.ticket, action=action, officer=officer,
                               created_at=now, **values))
    writer.flush()
