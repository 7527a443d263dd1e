"""Console area for inspectors: the complaint queue and each complaint's page, where it is assigned, answered,
given a new status or due date, and escalated into a recall or an inspection.

Every action is a ``trace.complaint.handle`` statement signed with the acting officer's key, appended with the
complaint's rows in one transaction (:mod:`trace.complaint_desk`). The queue never shows the complainant's contact;
the complaint's own page does, to inspectors only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.context import app_context, read_session
from ledger import AppendResult
from ledger.errors import LedgerError
from trace.complaint_desk import (
    MAX_REASON,
    MAX_REPLY,
    Planned,
    clean_reason,
    inspection_order,
    plan_assignment,
    plan_due_date,
    plan_escalation,
    plan_reply,
)
from trace.complaint_handling import SETTABLE_STATUSES
from trace.complaint_models import ComplaintPhoto
from trace.complaint_queue import (
    ASSIGNED_ANYONE,
    UNASSIGNED,
    ComplaintCase,
    QueueFilter,
    complaint_case,
    complaint_history,
    complaint_queue,
    inspectors,
    overdue_by,
)
from trace.complaint_service import TICKET
from trace.complaints import CATEGORIES, STATUSES
from trace.identifiers import IdentifierError, normalise_gtin
from trace.inspections import ORDER as INSPECTION_ORDER
from trace.queries import NotFound

from .guard import act, current_officer, officer_required, page, private

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_complaints", __name__, url_prefix="/console/complaints")

PAGE_SIZE = 50
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def status_labels() -> dict[str, str]:
    return {"received": _("Awaiting handling"), "investigating": _("Investigating"), "referred": _("Referred"),
            "resolved": _("Resolved")}


def category_labels() -> dict[str, str]:
    return {"quality": _("Quality"), "foreign_matter": _("Foreign matter"), "counterfeit": _("Counterfeit"),
            "expired": _("Expired"), "adverse_reaction": _("Adverse reaction"), "labelling": _("Labelling"),
            "other": _("Other")}


def overdue_text(delta: timedelta) -> str:
    """How long overdue, in days and hours."""
    hours = int(delta.total_seconds() // 3600)
    if hours >= 24:
        return _("%(days)s d %(hours)s h overdue", days=hours // 24, hours=hours % 24)
    return _("%(hours)s h overdue", hours=hours)


@blueprint.get("/")
@officer_required("inspector")
def index() -> Any:
    values = {name: request.args.get(name, "").strip()[:300] for name in
              ("status", "category", "overdue", "assigned", "product", "enterprise", "filed_from", "filed_to")}
    people = inspectors(read_session())
    filters, errors = _filters(values, {person.username for person in people})
    number = request.args.get("page", "1")
    current = int(number) if number.isascii() and number.isdigit() and 0 < int(number) < 10_000 else 1
    result = complaint_queue(read_session(), filters, now=app_context().clock(), limit=PAGE_SIZE,
                             offset=(current - 1) * PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    arguments = {name: value for name, value in values.items() if value}
    return page("console/complaints/index.html", 400 if errors else 200, result=result, values=values,
                errors=errors, inspectors=people, statuses=status_labels(), categories=category_labels(),
                overdue_text=overdue_text, current_page=current, pages=pages,
                page_url=lambda number: url_for(".index", **arguments, page=number),
                status_url=lambda status: url_for(".index", **_without(arguments, "status", "overdue"),
                                                  **({"status": status} if status else {})))


def _without(arguments: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in arguments.items() if name not in names}


def _filters(values: dict[str, str], people: set[str]) -> tuple[QueueFilter, dict[str, str]]:
    """The queue's filters from the query string; each bad value gets a message and is left out."""
    errors: dict[str, str] = {}
    status = values["status"] or None
    if status is not None and status not in STATUSES:
        errors["status"], status = _("Choose a status from the list."), None
    category = values["category"] or None
    if category is not None and category not in CATEGORIES:
        errors["category"], category = _("Choose a kind of problem from the list."), None
    assigned: str | None = None
    choice = values["assigned"]
    officer = current_officer()
    assert officer is not None
    if choice == "me":
        assigned = officer.username
    elif choice == "any":
        assigned = ASSIGNED_ANYONE
    elif choice == "none":
        assigned = UNASSIGNED
    elif choice in people:
        assigned = choice
    elif choice:
        errors["assigned"] = _("Choose whom the complaints are assigned to from the list.")
    gtin = ref = None
    product = values["product"]
    if product.isascii() and product.isdigit():
        try:
            gtin = normalise_gtin(product)
        except IdentifierError:
            errors["product"] = _("%(value)s is not a valid GTIN (8, 12, 13 or 14 digits with the check digit).",
                                  value=product[:20])
    elif product:
        if "/" in product and len(product) <= 256 and product.isprintable():
            ref = product.strip("/")
        else:
            errors["product"] = _("Enter a GTIN or a batch code such as 01/06901234560015/10/LOT1.")
    enterprise = values["enterprise"].upper() or None
    if enterprise is not None and not _CREDIT_CODE.fullmatch(enterprise):
        errors["enterprise"], enterprise = _("A unified social credit code has 18 characters (digits and capital "
                                             "letters except I, O, S, V, Z)."), None
    filed_from, filed_to = _day(values, "filed_from", errors), _day(values, "filed_to", errors)
    if filed_from and filed_to and filed_from > filed_to:
        errors["filed_to"], filed_to = _("The end of the period is before its start."), None
    return QueueFilter(status=status, category=category, overdue=values["overdue"] == "1", assigned=assigned,
                       gtin=gtin, ref=ref, enterprise=enterprise, filed_from=filed_from, filed_to=filed_to), errors


def _day(values: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    text = values[name]
    if not text:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return None


def _ticket(ticket: str) -> str:
    if not TICKET.fullmatch(ticket):
        abort(404, description=_("No complaint has this ticket number."))
    return ticket


@blueprint.get("/<ticket>")
@officer_required("inspector")
def show(ticket: str) -> Any:
    try:
        case = complaint_case(read_session(), _ticket(ticket))
    except NotFound:
        abort(404, description=_("No complaint has this ticket number."))
    now = app_context().clock()
    late = overdue_by(case.complaint.status, case.complaint.due_at, now)
    officer = current_officer()
    assert officer is not None
    return page("console/complaints/show.html", case=case, complaint=case.complaint, statuses=status_labels(),
                categories=category_labels(), late=None if late is None else overdue_text(late),
                inspectors=inspectors(read_session()), settable=SETTABLE_STATUSES, history=complaint_history(case),
                max_reply=MAX_REPLY, max_reason=MAX_REASON, me=officer.username,
                today=now.date().isoformat())


@blueprint.get("/<ticket>/photos/<int:position>")
@officer_required("inspector")
def photo(ticket: str, position: int) -> Any:
    row = read_session().get(ComplaintPhoto, (_ticket(ticket), position))
    if row is None:
        abort(404, description=_("This complaint has no such photo."))
    response = Response(row.data, mimetype=row.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{row.ticket}-{position + 1}.jpg"'
    return private(response)


@blueprint.post("/<ticket>/assign")
@officer_required("inspector")
def assign(ticket: str) -> Any:
    assignee = request.form.get("assignee", "").strip()[:64]
    return _carry_out(ticket, lambda me, now: plan_assignment(read_session(), ticket, assignee, officer=me, now=now),
                      _("Assigned to %(name)s.", name=assignee))


@blueprint.post("/<ticket>/reply")
@officer_required("inspector")
def reply(ticket: str) -> Any:
    text = request.form.get("text", "")[:MAX_REPLY * 2]
    status = request.form.get("status", "") or None
    visible = request.form.get("visibility") == "complainant"
    return _carry_out(ticket, lambda me, now: plan_reply(read_session(), ticket, text=text, visible=visible,
                                                         status=status, officer=me, now=now),
                      _("Recorded."))


@blueprint.post("/<ticket>/due")
@officer_required("inspector")
def due(ticket: str) -> Any:
    errors: dict[str, str] = {}
    day = _day({"due": request.form.get("due", "").strip()[:20]}, "due", errors)
    if day is None:
        flash(errors.get("due", _("Enter a date as YYYY-MM-DD.")), "error")
        return redirect(url_for(".show", ticket=_ticket(ticket)), 303)
    return _carry_out(ticket, lambda me, now: plan_due_date(read_session(), ticket, day, officer=me, now=now),
                      _("The due date is now %(day)s.", day=day.isoformat()))


@blueprint.post("/<ticket>/escalate/recall")
@officer_required("inspector")
def escalate_to_recall(ticket: str) -> Any:
    """Record the escalation, then open the recall form (another area's) with the batch and the reason."""
    complaint = _case_or_404(ticket).complaint
    try:
        reason = clean_reason(request.form.get("reason", "")[:MAX_REASON * 2])
        _perform(ticket, lambda me, now: plan_escalation(read_session(), ticket, "recall", officer=me, now=now))
    except LedgerError as error:
        return _refused(ticket, error)
    flash(_("Complaint %(ticket)s is escalated into a recall: complete the recall form.", ticket=ticket), "ok")
    return redirect("/console/recalls/new?" + urlencode({"batch": complaint.ref, "reason": reason}), 303)


@blueprint.post("/<ticket>/escalate/inspection")
@officer_required("inspector")
def escalate_to_inspection(ticket: str) -> Any:
    """Order an inspection of the enterprise (``trace.inspection.order``), then record the escalation."""
    _case_or_404(ticket)
    try:
        body = inspection_order(read_session(), ticket, enterprise=request.form.get("enterprise", "")[:18],
                                inspector=request.form.get("inspector", "")[:64],
                                reason=request.form.get("reason", "")[:MAX_REASON * 2])
        order = act(INSPECTION_ORDER, body)
    except LedgerError as error:
        return _refused(ticket, error)
    logger.info("inspection ordered from a complaint", extra={"ticket": ticket, "entry_index": order.index})
    try:
        _perform(ticket, lambda me, now: plan_escalation(read_session(), ticket, "inspection", officer=me, now=now,
                                                         order_index=order.index))
    except LedgerError as error:
        return _refused(ticket, error, prefix=_("The inspection was ordered (entry %(index)s) but the complaint "
                                                "could not be marked as escalated:", index=order.index))
    flash(_("Inspection ordered (entry %(index)s).", index=order.index), "ok")
    return redirect(url_for(".show", ticket=ticket), 303)


def _case_or_404(ticket: str) -> ComplaintCase:
    try:
        return complaint_case(read_session(), _ticket(ticket))
    except NotFound:
        abort(404, description=_("No complaint has this ticket number."))


def _perform(ticket: str, plan: Callable[[str, datetime], Planned]) -> AppendResult:
    """Plan an action as the logged-in officer, then sign and append it with its rows. Raises the plan's
    :class:`trace.complaints.ComplaintError` or the statement's :class:`ledger.LedgerError`; 404 for an unknown
    complaint."""
    officer = current_officer()
    assert officer is not None
    try:
        planned = plan(officer.username, app_context().clock())
    except NotFound:
        abort(404, description=_("No complaint has this ticket number."))
    result = act(planned.type, planned.body, record=planned.record)
    logger.info("complaint handled", extra={"ticket": ticket, "action": planned.body["action"],
                                            "entry_index": result.index})
    return result


def _carry_out(ticket: str, plan: Callable[[str, datetime], Planned], done: str) -> Response:
    """:func:`_perform`, then back to the complaint's page with ``done`` or with why it was refused."""
    _ticket(ticket)
    try:
        _perform(ticket, plan)
    except LedgerError as error:
        return _refused(ticket, error)
    flash(done, "ok")
    return redirect(url_for(".show", ticket=ticket), 303)


def _refused(ticket: str, error: LedgerError, prefix: str | None = None) -> Response:
    message = _message(error)
    flash(f"{prefix} {message}" if prefix else message, "error")
    return redirect(url_for(".show", ticket=ticket), 303)


def _message(error: LedgerError) -> str:
    """A refusal in the page's language where it is one of the desk's own; the rules' message otherwise."""
    messages = {
        "complaint.assignee": _("Choose an active inspector's account."),
        "complaint.unchanged": _("Nothing changes: the complaint already has this value."),
        "complaint.status": _("Choose a status from the list."),
        "complaint.empty": _("Write a reply or a note, or choose a new status."),
        "complaint.reply": _("The text is longer than %(limit)s characters.", limit=MAX_REPLY),
        "complaint.due_past": _("The due date cannot be in the past."),
        "complaint.due_far": _("The due date can be at most a year ahead."),
        "complaint.reason": _("Give a reason of 1 to %(limit)s characters.", limit=MAX_REASON),
        "complaint.enterprise": _("Choose one of the enterprises the complaint was routed to."),
    }
    return messages.get(error.code, error.message)
