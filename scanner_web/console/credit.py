"""Console area: enterprises and the credit lists. Anyone of the console's investigating roles finds enterprises
(by status, region, role, name or credit code) and reads one enterprise's standing and status history; the
registrar alone puts an enterprise on or off the abnormal-operation list (经营异常名录) or the blacklist
(严重违法失信名单), with a reason and the legal basis, as a ``trace.enterprise.status`` statement signed with
the registrar's own key. The decision shows at once on every public page the enterprise appears on and on
``/credit-lists``, and a blacklisted enterprise's next statement is refused (``enterprise.blacklisted``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.context import app_context, read_session
from ledger import LedgerError
from trace.context import ROLES
from trace.credit import (
    LEGAL_BASES,
    CreditQueryError,
    EnterpriseFilter,
    count_enterprises,
    enterprise_row,
    find_enterprises,
    status_history,
)
from trace.models import Enterprise
from trace.queries import NotFound
from trace.registry import ENTERPRISE_STATUS, LISTED, MAX_LEGAL_BASIS, STATUSES
from trace.store import ledger_registrar

from ..public_page import local_time
from .guard import act, officer_required, page

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_credit", __name__, url_prefix="/console/enterprises")

PAGE_SIZE = 50
#: What the registrar may set here; deregistration (final) is the register's business, not the credit lists'.
SETTABLE = ("active", "abnormal", "blacklisted")
MAX_REASON = 500


@blueprint.get("/")
@officer_required("inspector", "registrar")
def index() -> Any:
    filters = EnterpriseFilter(status=_arg("status"), region=_arg("region"), role=_arg("role"), search=_arg("q"))
    after = _arg("after")
    try:
        rows = find_enterprises(read_session(), filters, after=after, limit=PAGE_SIZE + 1)
        counts = count_enterprises(read_session(), filters)
    except CreditQueryError as error:
        return page("console/credit/index.html", 422, rows=[], counts={}, filters=filters, error=error.message,
                    next_after=None, roles=sorted(ROLES), statuses=_status_names(), role_names=_role_names())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return page("console/credit/index.html", rows=rows, counts=counts, filters=filters, error=None,
                next_after=rows[-1].credit_code if more else None, after=after, roles=sorted(ROLES),
                statuses=_status_names(), role_names=_role_names())


@blueprint.get("/<credit_code>")
@officer_required("inspector", "registrar")
def show(credit_code: str) -> Any:
    enterprise = _enterprise(credit_code)
    return _show(enterprise, {"status": _default_status(enterprise), "reason": "", "basis": "", "detail": ""},
                 None)


@blueprint.post("/<credit_code>/status")
@officer_required("registrar")
def change_status(credit_code: str) -> Any:
    enterprise = _enterprise(credit_code)
    form = {"status": request.form.get("status", ""), "reason": " ".join(request.form.get("reason", "").split()),
            "basis": request.form.get("basis", "").strip(), "detail": " ".join(request.form.get("detail", "").split())}
    problem = _check(enterprise, form)
    if problem is not None:
        return _show(enterprise, form, problem, 422)
    legal_basis = "；".join(part for part in (form["basis"], form["detail"]) if part)
    body: dict[str, Any] = {"credit_code": credit_code, "status": form["status"], "reason": form["reason"]}
    if legal_basis:
        body["legal_basis"] = legal_basis
    try:
        result = act(ENTERPRISE_STATUS, body)
    except LedgerError as error:
        logger.info("status change refused", extra={"credit_code": credit_code, "code": error.code})
        return _show(enterprise, form, error.message, 409)
    logger.info("enterprise status changed", extra={"credit_code": credit_code, "status": form["status"],
                                                    "entry_index": result.index})
    flash(_("%(name)s: %(status)s, recorded in ledger entry %(index)s.", name=enterprise.name,
            status=_status_names()[form["status"]], index=result.index))
    return redirect(url_for(".show", credit_code=credit_code), 303)


def _check(enterprise: Enterprise, form: dict[str, str]) -> str | None:
    """What is wrong with the form, in the officer's language, or ``None``."""
    if form["status"] not in SETTABLE:
        return _("Choose the new standing.")
    if form["status"] == enterprise.status:
        return _("The enterprise already has this standing.")
    if not form["reason"]:
        return _("Give the reason for the decision.")
    if len(form["reason"]) > MAX_REASON:
        return _("The reason has at most %(count)s characters.", count=MAX_REASON)
    if form["basis"] and form["basis"] not in {basis.text for basis in LEGAL_BASES}:
        return _("Choose a legal basis from the list, or write it in the field below.")
    if form["status"] in LISTED and not (form["basis"] or form["detail"]):
        return _("A legal basis is required to put an enterprise on the abnormal-operation list or the "
                 "blacklist: choose one from the list or write it.")
    if len(form["basis"]) + len(form["detail"]) + 1 > MAX_LEGAL_BASIS:
        return _("The legal basis has at most %(count)s characters.", count=MAX_LEGAL_BASIS)
    return None


def _show(enterprise: Enterprise, form: dict[str, str], error: str | None, status: int = 200) -> Any:
    session = read_session()
    registrar = ledger_registrar(session) or app_context().settings.registrar_id
    history = status_history(session, enterprise.credit_code, registrar=registrar)
    return page("console/credit/show.html", status, enterprise=enterprise, history=list(reversed(history)),
                form=form, error=error, settable=SETTABLE, bases=LEGAL_BASES, statuses=_status_names(),
                role_names=_role_names(), listed=LISTED, entry_url="/api/v1/ledger/entries/{}/bundle",
                local_time=local_time)


def _enterprise(credit_code: str) -> Enterprise:
    try:
        return enterprise_row(read_session(), credit_code[:18])
    except NotFound:
        abort(page("console/credit/missing.html", 404, credit_code=credit_code[:18]))


def _default_status(enterprise: Enterprise) -> str:
    return "abnormal" if enterprise.status == "active" else "active"


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def _status_names() -> dict[str, str]:
    names = {"active": _("Good standing"), "abnormal": _("Abnormal-operation list"), "blacklisted": _("Blacklist"),
             "deregistered": _("Deregistered")}
    assert names.keys() == STATUSES
    return names


def _role_names() -> dict[str, str]:
    return {"producer": _("Producer"), "processor": _("Processor"), "wholesaler": _("Wholesaler"),
            "retailer": _("Retailer"), "caterer": _("Caterer"), "logistics": _("Logistics")}
