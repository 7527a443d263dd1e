"""The authorities' actions on a complaint as the ledger sees them: ``trace.complaint.handle``.

Every action an inspector takes on a complaint (assigning it, changing its status, replying, moving its due date,
escalating it into a recall or an inspection) is a statement of the registrar, signed with that officer's key,
appended in the transaction that changes the complaint's rows (:mod:`trace.complaint_desk`). The statement names
the complaint by the entry index of its anchor (``trace.complaint.anchor``): the ticket, the description and the
complainant never enter the ledger. A reply's text may hold personal data, so only its salted digest does
(:func:`reply_digest`); the salt is kept with the reply, so whoever holds the text can prove it is the one signed.

Body: ``complaint`` (the anchor's entry index) and ``action``, with the fields that action needs and no others:

=========== ==================== ===================================================
action      required             optional
=========== ==================== ===================================================
assign      ``assignee``
status      ``status``           ``reply_sha256`` (the note or reply that came with it)
reply       ``reply_sha256``
due         ``due`` (a date)
escalate    ``escalation``       ``status`` (``investigating``, when it changed); ``order``
=========== ==================== ===================================================

``escalation`` is ``recall`` or ``inspection``; an escalation into an inspection names the entry of its
``trace.inspection.order`` in ``order``. A handle statement links no batch and can never be corrected.
"""

from __future__ import annotations

import hashlib
import re

from ledger.canonical import canonicalize

from .body import Body
from .complaints import ANCHOR, STATUSES, ComplaintError
from .context import Context
from .errors import EnterpriseError
from .inspections import ORDER as INSPECTION_ORDER
from .records import EventRecord

HANDLE = "trace.complaint.handle"
ACTIONS = ("assign", "status", "reply", "due", "escalate")
ESCALATIONS = ("recall", "inspection")
#: ``received`` is where every complaint starts; no action sets it again.
SETTABLE_STATUSES = tuple(status for status in STATUSES if status != "received")
#: ``SHA-256(REPLY_DOMAIN || canonical JSON of {"v": 1, "ticket", "reply", "salt"})``.
REPLY_DOMAIN = b"trace-ledger/v1/complaint-reply\x00"
USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")

_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "assign": ({"assignee"}, set()),
    "status": ({"status"}, {"reply_sha256"}),
    "reply": ({"reply_sha256"}, set()),
    "due": ({"due"}, set()),
    "escalate": ({"escalation"}, {"status", "order"}),
}
_ALL_FIELDS = {"complaint", "action"} | {name for required, optional in _FIELDS.values()
                                         for name in required | optional}


def reply_digest(ticket: str, text: str, salt: str) -> str:
    """The digest a handle statement carries for reply ``text`` on complaint ``ticket``: SHA-256 over
    :data:`REPLY_DOMAIN` and the RFC 8785 canonical JSON of ``{"v": 1, "ticket", "reply", "salt"}``.

    Raises :class:`trace.complaints.ComplaintError` (``complaint.salt``) unless ``salt`` is 64 lower-case hex
    digits: an unsalted digest of a short reply could be reversed by guessing."""
    if not _HEX64.fullmatch(salt):
        raise ComplaintError("a reply digest needs a salt of 64 lower-case hex digits", code="complaint.salt")
    record = {"v": 1, "ticket": ticket, "reply": text, "salt": salt}
    return hashlib.sha256(REPLY_DOMAIN + canonicalize(record)).hexdigest()


def handle_complaint(ctx: Context) -> None:
    """The registrar records an action on the complaint anchored at entry ``body.complaint``.

    Raises ``enterprise.not_registrar`` for anyone else; ``body.*`` for a missing, unknown or malformed field
    (``body.unknown_field`` also for a field the action does not take); ``complaint.unknown`` when the entry is
    not a complaint's anchor; ``complaint.due_past`` for a due date before the entry's receive day (China time);
    ``complaint.order`` when an escalation into an inspection does not name an inspection order (or a recall
    names one)."""
    if not ctx.is_registrar:
        raise EnterpriseError(f"{HANDLE} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    action = Body(ctx.statement.body, "body", {"complaint", "action"}, _ALL_FIELDS).choice("action", set(ACTIONS))
    required, optional = _FIELDS[action]
    body = Body(ctx.statement.body, "body", {"complaint", "action"} | required, optional)
    anchor_index = body.integer("complaint")
    anchor = ctx.book.get(EventRecord, anchor_index)
    if anchor is None or anchor.type != ANCHOR:
        found = "no traceability event" if anchor is None else f"a {anchor.type} event"
        raise ComplaintError(f"body.complaint: entry {anchor_index} is {found}, not a complaint's anchor",
                             code="complaint.unknown")
    summary: dict[str, object] = {"complaint": anchor_index, "action": action}
    if action == "assign":
        summary["assignee"] = body.required_text("assignee", 64, pattern=USERNAME)
    if body.has("status") or action == "status":
        allowed = {"investigating"} if action == "escalate" else set(SETTABLE_STATUSES)
        summary["status"] = body.choice("status", allowed)
    if body.has("reply_sha256") or action == "reply":
        summary["reply_sha256"] = body.sha256("reply_sha256")
    if action == "due":
        due = body.day("due")
        assert due is not None
        if due < ctx.local_day:
            raise ComplaintError(f"body.due {due.isoformat()} is before the day the statement was received "
                                 f"({ctx.local_day.isoformat()}, China time)", code="complaint.due_past")
        summary["due"] = due.isoformat()
    if action == "escalate":
        escalation = body.choice("escalation", set(ESCALATIONS))
        summary["escalation"] = escalation
        if escalation == "inspection":
            if not body.has("order"):
                raise ComplaintError("an escalation into an inspection names its inspection order in body.order",
                                     code="complaint.order")
            summary["order"] = _inspection_order(ctx, body.integer("order"))
        elif body.has("order"):
            raise ComplaintError("body.order names an inspection order; an escalation into a recall has none",
                                 code="complaint.order")
    ctx.summary = summary


def _inspection_order(ctx: Context, index: int) -> int:
    order = ctx.book.get(EventRecord, index)
    if order is None or order.type != INSPECTION_ORDER:
        found = "no traceability event" if order is None else f"a {order.type} event"
        raise ComplaintError(f"body.order: entry {index} is {found}, not a {INSPECTION_ORDER}",
                             code="complaint.order")
    return index
