"""Console area: double-random spot checks (双随机) and inspection orders.

An inspector draws targets and inspectors from a published checkpoint (``trace.spot_check.draw``, whose rule
re-runs the draw), then the console appends one ``trace.inspection.order`` per target and inspector. Each order's
assigned inspector, and nobody else, records its result (``trace.inspection.result``) and, for a non-conformant
result on an order about a batch, may mark the batch non-conformant (``trace.inspect``). The algorithm and the
statements are in :mod:`trace.spot_checks` and :mod:`trace.inspections`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.context import read_session
from ledger.errors import LedgerError
from trace.context import ROLES
from trace.inspections import (
    MAX_FINDINGS,
    MAX_REASON,
    ORDER,
    RESULT,
    Order,
    active_inspectors,
    draw_ref,
    enterprises_named,
    get_order,
    open_orders,
    orders_for,
)
from trace.models import Batch
from trace.quality import INSPECT
from trace.registry import CATEGORIES
from trace.spot_checks import (
    DRAW,
    MAX_PER_TARGET,
    MAX_TARGETS,
    Criteria,
    PublishedDraw,
    check_published,
    get_draw,
    list_draws,
    missing_orders,
    plan_draw,
    recent_checkpoints,
)

from .guard import act, current_officer, officer_required, page, require_role

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_spot_checks", __name__, url_prefix="/console/spot-checks")

_REGION = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: How often a draw is planned again when an enterprise registered between planning and appending.
_ATTEMPTS = 3


def category_labels() -> dict[str, str]:
    return {"food": _("Food"), "drug": _("Drugs"), "farm": _("Farm products"), "daily": _("Daily goods"),
            "special_equipment": _("Special equipment"), "gi": _("Geographical-indication products")}


def role_labels() -> dict[str, str]:
    return {"producer": _("Producer"), "processor": _("Processor"), "wholesaler": _("Wholesaler"),
            "retailer": _("Retailer"), "caterer": _("Caterer"), "logistics": _("Logistics")}


def result_labels() -> dict[str, str]:
    return {"conformant": _("Conformant"), "non_conformant": _("Non-conformant"),
            "closed_down": _("Closed down"), "not_found": _("Not found at the address")}


def source_labels() -> dict[str, str]:
    return {"spot_check": _("Double-random spot check"), "complaint": _("Complaint"), "risk": _("Risk warning"),
            "manual": _("Ordered by hand")}


def _labels() -> dict[str, Any]:
    return {"categories": category_labels(), "roles": role_labels(), "results": result_labels(),
            "sources": source_labels()}


@blueprint.get("/")
@officer_required("inspector", "administrator")
def index() -> Any:
    officer = current_officer()
    assert officer is not None
    session = read_session()
    mine = open_orders(session, officer.username)
    draws = list_draws(session)
    names = enterprises_named(session, [order.enterprise for order in mine])
    return page("console/spot_checks/index.html", mine=mine, draws=draws, names=names,
                may_draw=officer.may("inspector"), **_labels())


@blueprint.get("/new")
@officer_required("inspector")
def new() -> Any:
    session = read_session()
    people = active_inspectors(session)
    values = {"category": "", "region": "", "role": "", "targets": "5", "per_target": "2", "checkpoint": "",
              "reason": _("Double-random spot check")}
    return page("console/spot_checks/new.html", values=values, errors={}, people=people,
                pool={person.username for person in people}, checkpoints=recent_checkpoints(session),
                max_targets=MAX_TARGETS, max_per_target=MAX_PER_TARGET, max_reason=MAX_REASON, **_labels())


@blueprint.post("/new")
@officer_required("inspector")
def draw() -> Any:
    session = read_session()
    people = active_inspectors(session)
    values = {name: request.form.get(name, "").strip()[:MAX_REASON * 2]
              for name in ("category", "region", "role", "targets", "per_target", "checkpoint", "reason")}
    pool = sorted(set(request.form.getlist("pool")))
    criteria, size, errors = _draw_form(values, pool, {person.username for person in people})
    if criteria is None or errors:
        return _draw_form_again(values, pool, people, errors)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            body = plan_draw(read_session(), criteria, pool, size)
            read_session().rollback()  # the append below commits on its own connection; start the next read fresh
            appended = act(DRAW, body)
            break
        except LedgerError as error:
            if error.code in {"spot_check.targets_differ", "spot_check.assignments_differ"} and attempt < _ATTEMPTS:
                continue
            return _draw_form_again(values, pool, people, {"form": _message(error)})
    assert appended.index is not None
    logger.info("spot-check draw", extra={"entry_index": appended.index, "targets": len(body["targets"])})
    made, problem = _append_orders(appended.index, values["reason"])
    if problem is None:
        flash(_("Draw recorded as entry %(index)s; %(count)s inspection orders made.", index=appended.index,
                count=made), "ok")
    else:
        flash(_("Draw recorded as entry %(index)s, but not every order could be made (%(problem)s). Make the "
                "missing orders from the draw's page.", index=appended.index, problem=problem), "error")
    return redirect(url_for(".show_draw", index=appended.index), 303)


def _draw_form(values: dict[str, str], pool: list[str], inspectors: set[str]
               ) -> tuple[Criteria | None, int | None, dict[str, str]]:
    """The criteria and checkpoint size from the form; each bad value gets a message."""
    errors: dict[str, str] = {}
    if values["category"] and values["category"] not in CATEGORIES:
        errors["category"] = _("Choose a product category from the list.")
    if values["role"] and values["role"] not in ROLES:
        errors["role"] = _("Choose a role from the list.")
    if values["region"] and not _REGION.fullmatch(values["region"]):
        errors["region"] = _("A region is 2 (province), 4 (city) or 6 (county) digits of the administrative "
                             "division code, such as 35, 3501 or 350102.")
    targets = _number(values["targets"], MAX_TARGETS)
    if targets is None:
        errors["targets"] = _("Enter a number of targets from 1 to %(limit)s.", limit=MAX_TARGETS)
    per_target = _number(values["per_target"], MAX_PER_TARGET)
    if per_target is None:
        errors["per_target"] = _("Enter a number of inspectors per target from 1 to %(limit)s.",
                                 limit=MAX_PER_TARGET)
    if not pool:
        errors["pool"] = _("Choose at least one inspector for the pool.")
    elif not set(pool) <= inspectors:
        errors["pool"] = _("The pool may hold active inspectors' accounts only.")
    elif per_target is not None and len(pool) < per_target:
        errors["pool"] = _("The pool has %(count)s inspectors; each target needs %(needed)s.", count=len(pool),
                           needed=per_target)
    size = None
    if values["checkpoint"]:
        size = _number(values["checkpoint"], 2**53)
        if size is None:
            errors["checkpoint"] = _("Choose a checkpoint from the list.")
    if not values["reason"] or len(values["reason"]) > MAX_REASON:
        errors["reason"] = _("Give the orders' reason in 1 to %(limit)s characters.", limit=MAX_REASON)
    if targets is None or per_target is None:
        return None, size, errors
    criteria = Criteria(values["category"] or None, values["region"] or None, values["role"] or None, targets,
                        per_target)
    return criteria, size, errors


def _number(text: str, limit: int) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= limit else None


def _draw_form_again(values: dict[str, str], pool: list[str], people: list[Any], errors: dict[str, str]) -> Response:
    return page("console/spot_checks/new.html", 400, values=values, errors=errors, people=people, pool=set(pool),
                checkpoints=recent_checkpoints(read_session()), max_targets=MAX_TARGETS,
                max_per_target=MAX_PER_TARGET, max_reason=MAX_REASON, **_labels())


def _append_orders(draw_index: int, reason: str) -> tuple[int, str | None]:
    """Append the draw's missing orders one by one; returns how many were made and the first refusal's message."""
    published = get_draw(read_session(), draw_index)
    assert published is not None
    bodies = missing_orders(read_session(), published, reason)
    read_session().rollback()
    made = 0
    for body in bodies:
        try:
            act(ORDER, body)
        except LedgerError as error:
            logger.warning("spot-check order refused", extra={"entry_index": draw_index, "code": error.code})
            return made, _message(error)
        made += 1
    return made, None


@blueprint.get("/draws/<int:index>")
@officer_required("inspector", "administrator")
def show_draw(index: int) -> Any:
    session = read_session()
    published = _draw_or_404(index)
    orders = orders_for(session, draw_ref(index), "spot_check")
    by_pair = {(order.enterprise, order.inspector): order for order in orders}
    missing = len(missing_orders(session, published, "-"))
    problem = _check(published)
    officer = current_officer()
    assert officer is not None
    return page("console/spot_checks/draw.html", draw=published, by_pair=by_pair, missing=missing,
                names=enterprises_named(session, published.targets), problem=problem, me=officer.username,
                may_act=officer.may("inspector"), max_findings=MAX_FINDINGS, max_reason=MAX_REASON, **_labels())


@blueprint.post("/draws/<int:index>/orders")
@officer_required("inspector")
def make_missing_orders(index: int) -> Any:
    _draw_or_404(index)
    reason = request.form.get("reason", "").strip()[:MAX_REASON * 2] or _("Double-random spot check")
    made, problem = _append_orders(index, reason)
    if problem is None:
        flash(_("%(count)s inspection orders made.", count=made), "ok")
    else:
        flash(problem, "error")
    return redirect(url_for(".show_draw", index=index), 303)


@blueprint.get("/orders/<int:index>")
@officer_required("inspector", "administrator")
def show_order(index: int) -> Any:
    order = _order_or_404(index)
    officer = current_officer()
    assert officer is not None
    batch = read_session().get(Batch, order.batch) if order.batch else None
    return page("console/spot_checks/order.html", order=order, batch=batch, me=officer.username,
                may_act=officer.may("inspector"), names=enterprises_named(read_session(), [order.enterprise]),
                max_findings=MAX_FINDINGS, **_labels())


@blueprint.post("/orders/<int:index>/result")
@officer_required("inspector")
def record_result(index: int) -> Any:
    order = _assigned_order(index)
    result = request.form.get("result", "")
    findings = request.form.get("findings", "").replace("\r\n", "\n").strip()[:MAX_FINDINGS * 2]
    certificate = request.form.get("certificate_sha256", "").strip().lower()[:128]
    back = _back(order)
    problems = []
    if result not in result_labels():
        problems.append(_("Choose a result from the list."))
    if not findings or len(findings) > MAX_FINDINGS:
        problems.append(_("Write the findings in 1 to %(limit)s characters.", limit=MAX_FINDINGS))
    if certificate and not _SHA256.fullmatch(certificate):
        problems.append(_("A certificate's SHA-256 is 64 hexadecimal digits."))
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(back, 303)
    body: dict[str, Any] = {"order": index, "result": result, "findings": findings}
    if certificate:
        body["certificate_sha256"] = certificate
    try:
        appended = act(RESULT, body)
    except LedgerError as error:
        flash(_message(error), "error")
        return redirect(back, 303)
    flash(_("Result recorded as entry %(index)s.", index=appended.index), "ok")
    if result == "non_conformant" and order.batch:
        flash(_("The order names batch %(batch)s: mark it non-conformant on the order's page so it cannot be sold.",
                batch=order.batch), "ok")
        return redirect(url_for(".show_order", index=index), 303)
    return redirect(back, 303)


@blueprint.post("/orders/<int:index>/inspect-batch")
@officer_required("inspector")
def inspect_batch(index: int) -> Any:
    """After a non-conformant result on an order about a batch: ``trace.inspect`` the batch non-conformant."""
    order = _assigned_order(index)
    if order.batch is None or order.result != "non_conformant":
        flash(_("Only a non-conformant result on an order about a batch marks the batch."), "error")
        return redirect(url_for(".show_order", index=index), 303)
    body: dict[str, Any] = {"batch": order.batch, "result": "non_conformant",
                            "note": f"inspection order {index}, result entry {order.result_index}"}
    if order.certificate_sha256:
        body["certificate_sha256"] = order.certificate_sha256
    try:
        appended = act(INSPECT, body, links=[order.batch])
    except LedgerError as error:
        flash(_message(error), "error")
    else:
        flash(_("Batch %(batch)s is marked non-conformant (entry %(index)s).", batch=order.batch,
                index=appended.index), "ok")
    return redirect(url_for(".show_order", index=index), 303)


def _draw_or_404(index: int) -> PublishedDraw:
    published = get_draw(read_session(), index)
    if published is None:
        abort(404, description=_("No spot-check draw is recorded as entry %(index)s.", index=index))
    return published


def _order_or_404(index: int) -> Order:
    order = get_order(read_session(), index)
    if order is None:
        abort(404, description=_("No inspection order is recorded as entry %(index)s.", index=index))
    return order


def _assigned_order(index: int) -> Order:
    """The order, which the logged-in officer must be assigned to (else a 403 page)."""
    order = _order_or_404(index)
    officer = require_role("inspector")
    if officer.username != order.inspector:
        logger.info("inspection result refused", extra={"account": officer.username, "entry_index": index})
        abort(page("console/spot_checks/not_assigned.html", 403, order=order))
    return order


def _back(order: Order) -> str:
    if order.draw_index is not None:
        return url_for(".show_draw", index=order.draw_index) + f"#order-{order.index}"
    return url_for(".show_order", index=order.index)


def _check(published: PublishedDraw) -> str | None:
    """Why the draw does not check out against the ledger, or ``None``."""
    try:
        check_published(read_session(), published)
    except LedgerError as error:
        return error.message
    return None


def _message(error: LedgerError) -> str:
    """A refusal in the page's language where it is a spot check's own; the rules' message otherwise."""
    messages = {
        "spot_check.no_candidates": _("No registered enterprise matches these criteria."),
        "spot_check.pool_too_small": _("The pool has fewer inspectors than each target needs."),
        "spot_check.checkpoint_unknown": _("The ledger has no published checkpoint of this size."),
        "spot_check.checkpoint_root": _("The checkpoint's root is not the ledger's: the draw was not made. Run an "
                                        "integrity audit."),
        "spot_check.targets_differ": _("Enterprises were registered while drawing; draw again."),
        "spot_check.assignments_differ": _("Enterprises were registered while drawing; draw again."),
        "inspection.result_exists": _("This order already has its result."),
    }
    return messages.get(error.code, error.message)
