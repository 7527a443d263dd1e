"""Console area for the registrar: enterprises' key requests and workspace administrator invites.

The registrar approves or rejects the key requests enterprises file with a proof of possession
(``POST /api/v1/enterprises/{code}/key-requests``): approving appends ``ledger.key.add`` signed with the acting
officer's own key, exactly as the API's approval does, and records the decision in the same transaction. Devices
enrolled through an enterprise administrator's workspace invite are that administrator's to approve; they are
listed here per enterprise for information only. The registrar also invites an enterprise's first workspace
administrator: the invite is approved at enrolment (the officer vetted the person when issuing it), and its
one-time join link is shown once, as text and as a QR code for the person's phone.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import qrcode
import qrcode.constants
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from api.context import app_context, read_session, write_session
from ledger import AppendResult, LedgerError
from trace import access, workspace
from trace.access_models import KeyRequest
from trace.context import MARKET_TIME
from trace.models import Enterprise
from trace.queries import NotFound

from .guard import act, current_officer, officer_required, page

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_keys", __name__, url_prefix="/console/keys")

#: The same limit as the API's rejection reason.
MAX_REASON = 500
MAX_STAFF = 100
JOIN_PATH = "/workspace/join#invite="


@dataclass(frozen=True)
class PendingKey:
    """A pending key request as the page shows it."""

    request: KeyRequest
    enterprise: str
    fingerprint: str
    filed: str


@dataclass(frozen=True)
class PendingDevices:
    """One enterprise's workspace devices awaiting its administrators' approval (read-only here)."""

    credit_code: str
    enterprise: str
    devices: list[dict[str, Any]]


@blueprint.get("/")
@officer_required("registrar")
def index() -> Any:
    return _page(_blank_invite())


@blueprint.post("/requests/<request_id>/approve")
@officer_required("registrar")
def approve(request_id: str) -> Any:
    pending = _pending_request(request_id)
    officer = current_officer()
    assert officer is not None
    moment = app_context().clock()

    def record(session: Session, result: AppendResult) -> None:
        access.decide_key_request(session, request_id, approve=True, by=f"account:{officer.username}", now=moment,
                                  entry_index=result.index)
    body = {"subject": pending.credit_code, "public_key": pending.public_key, "label": pending.label}
    try:
        result = act("ledger.key.add", body, record=record)
    except LedgerError as error:
        logger.info("key request approval refused", extra={"request_id": request_id, "code": error.code})
        return _page(_blank_invite(), error=_refusal(error), status=409)
    logger.info("key request decided", extra={"account": officer.username, "request_id": request_id,
                                              "approved": True, "entry_index": result.index})
    flash(_("Key %(key)s of %(name)s registered in ledger entry %(index)s.", key=fingerprint(pending.key_id),
            name=_enterprise_name(read_session(), pending.credit_code), index=result.index))
    return redirect(url_for(".index"), 303)


@blueprint.post("/requests/<request_id>/reject")
@officer_required("registrar")
def reject(request_id: str) -> Any:
    pending = _pending_request(request_id)
    reason = " ".join(request.form.get("reason", "").split())
    if not reason or len(reason) > MAX_REASON:
        problem = _("Give the reason for the rejection (at most %(count)s characters): the enterprise reads it.",
                    count=MAX_REASON)
        return _page(_blank_invite(), error=problem, status=422, rejecting=request_id)
    officer = current_officer()
    assert officer is not None
    session = write_session()
    try:
        access.decide_key_request(session, request_id, approve=False, by=f"account:{officer.username}",
                                  now=app_context().clock(), reason=reason)
    except LedgerError as error:
        session.rollback()
        return _page(_blank_invite(), error=_refusal(error), status=409)
    session.commit()
    logger.info("key request decided", extra={"account": officer.username, "request_id": request_id,
                                              "approved": False})
    flash(_("Key request of %(name)s rejected.", name=_enterprise_name(read_session(), pending.credit_code)))
    return redirect(url_for(".index"), 303)


@blueprint.post("/invites")
@officer_required("registrar")
def invite() -> Any:
    form = {"credit_code": request.form.get("credit_code", "").strip().upper()[:18],
            "staff": " ".join(request.form.get("staff", "").split())[:MAX_STAFF + 1],
            "hours": request.form.get("hours", "").strip()[:4]}
    problem = _check_invite(form)
    if problem is not None:
        return _page(form, invite_error=problem, status=422)
    officer = current_officer()
    assert officer is not None
    context = app_context()
    session = write_session()
    try:
        secret, row = workspace.create_invite(
            session, credit_code=form["credit_code"], staff=form["staff"], role="admin", hours=int(form["hours"]),
            created_by=f"account:{officer.username}", by_registrar=True, officer=officer.username,
            now=context.clock())
        enterprise = session.get(Enterprise, row.credit_code)
        assert enterprise is not None
        name = enterprise.name
    except LedgerError as error:
        session.rollback()
        return _page(form, invite_error=_invite_refusal(form["credit_code"], error), status=422)
    session.commit()
    logger.info("workspace invite created", extra={"invite_id": row.invite_id, "credit_code": row.credit_code,
                                                   "account": officer.username})
    link = context.settings.public_base_url + JOIN_PATH + secret
    return page("console/keys/invite.html", 201, enterprise=name, credit_code=row.credit_code, staff=row.staff,
                expires=_when(row.expires_at), link=link, qr=qr_data_uri(link))


# --- what the pages show --------------------------------------------------------------------------------------------

def fingerprint(key_id: str) -> str:
    """A key id as people compare it: groups of four hex digits (``5d2c 0e7f 9a1b 3c4d``)."""
    return " ".join(key_id[start:start + 4] for start in range(0, len(key_id), 4))


def qr_data_uri(link: str) -> str:
    """``link`` as a QR code in an inline ``data:`` PNG (the console's CSP allows ``img-src data:``). Rendered here
    rather than with :mod:`scanner_web.labels`, whose matrix cache would keep the one-time secret in memory."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    code.add_data(link)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _page(invite_form: dict[str, str], *, error: str | None = None, invite_error: str | None = None,
          status: int = 200, rejecting: str | None = None) -> Any:
    session = read_session()
    requests: list[PendingKey] = []
    devices: dict[str, PendingDevices] = {}
    for row in access.list_key_requests(session, "pending"):
        device = workspace.device_of_request(session, row)
        name = _enterprise_name(session, row.credit_code)
        if device is None:
            requests.append(PendingKey(row, name, fingerprint(row.key_id), _when(row.created_at)))
            continue
        view = workspace.device_view(session, device)
        group = devices.setdefault(row.credit_code, PendingDevices(row.credit_code, name, []))
        group.devices.append({**view, "fingerprint": fingerprint(device.key_id), "enrolled": _when(device.created_at)})
    return page("console/keys/index.html", status, requests=requests, devices=list(devices.values()), error=error,
                invite_form=invite_form, invite_error=invite_error, rejecting=rejecting,
                default_hours=workspace.DEFAULT_INVITE_HOURS, max_hours=workspace.MAX_INVITE_HOURS,
                max_reason=MAX_REASON, max_staff=MAX_STAFF)


def _pending_request(request_id: str) -> KeyRequest:
    """The pending key request to decide here: it exists (else a 404 page), waits for a decision and is not a
    workspace device's (else the page with a 409 and why)."""
    try:
        row = access.get_key_request(read_session(), request_id[:32])
    except LedgerError:
        abort(page("console/keys/missing.html", 404, request_id=request_id[:32]))
    if workspace.device_of_request(read_session(), row) is not None:
        abort(_page(_blank_invite(), status=409,
                    error=_("This key is a workspace device: the enterprise's administrators approve it.")))
    if row.status != "pending":
        abort(_page(_blank_invite(), status=409, error=_already_decided()))
    return row


def _check_invite(form: dict[str, str]) -> str | None:
    """What is wrong with the invite form, in the officer's language, or ``None``."""
    if len(form["credit_code"]) != 18:
        return _("Enter the enterprise's 18-character unified social credit code.")
    if not 0 < len(form["staff"]) <= MAX_STAFF or not workspace.NAME.fullmatch(form["staff"]):
        return _("Enter the person's name (at most %(count)s characters).", count=MAX_STAFF)
    if not form["hours"].isdigit() or not 1 <= int(form["hours"]) <= workspace.MAX_INVITE_HOURS:
        return _("The link is valid for 1 to %(count)s hours.", count=workspace.MAX_INVITE_HOURS)
    return None


def _invite_refusal(credit_code: str, error: LedgerError) -> str:
    if isinstance(error, NotFound):
        return _("No enterprise with credit code %(code)s is registered.", code=credit_code)
    if error.code in ("enterprise.blacklisted", "enterprise.deregistered"):
        return _("The enterprise %(code)s is blacklisted or deregistered: it cannot enrol devices.",
                 code=credit_code)
    return error.message


def _refusal(error: LedgerError) -> str:
    if error.code == "key_request.decided":
        return _already_decided()
    if error.code in ("key.duplicate", "key_request.registered"):
        return _("This key is already registered.")
    return error.message


def _already_decided() -> str:
    return _("This key request was already decided, perhaps by another officer.")


def _blank_invite() -> dict[str, str]:
    return {"credit_code": "", "staff": "", "hours": str(workspace.DEFAULT_INVITE_HOURS)}


def _enterprise_name(session: Session, credit_code: str) -> str:
    row = session.get(Enterprise, credit_code)
    return credit_code if row is None else row.name


def _when(moment: datetime) -> str:
    return moment.astimezone(MARKET_TIME).strftime("%Y-%m-%d %H:%M")
