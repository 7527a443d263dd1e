"""Console area for administrators: staff accounts, their roles and their signing keys.

Creating an account appends nothing (an officer's key is registered at their first action); disabling one ends
its logins and revokes its key in the ledger (``ledger.key.revoke`` by the operator), so nothing signed with it
later is accepted.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select

from api.context import app_context, read_session, write_session
from ledger.errors import LedgerError
from trace import access
from trace.access import AccessError
from trace.access_models import Account, LoginSession
from trace.officers import OfficerKey

from .guard import ROLES, current_officer, officer_required, page

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_accounts", __name__, url_prefix="/console/accounts")


@blueprint.get("/")
@officer_required("administrator")
def index() -> Any:
    return _page({"username": "", "display_name": "", "roles": []}, None)


@blueprint.post("/")
@officer_required("administrator")
def create() -> Any:
    values = {"username": request.form.get("username", "").strip().lower()[:64],
              "display_name": request.form.get("display_name", "").strip()[:200],
              "roles": [role for role in request.form.getlist("roles") if role in ROLES]}
    writer = write_session()
    try:
        access.create_account(writer, values["username"], request.form.get("password", "")[:1024], values["roles"],
                              display_name=values["display_name"] or values["username"], now=app_context().clock())
    except AccessError as error:
        return _page(values, error.message, 422)
    writer.commit()
    logger.info("account created", extra={"account": values["username"], "by": _me()})
    flash(_("Account %(name)s created.", name=values["username"]))
    return redirect(url_for(".index"), 303)


@blueprint.post("/<username>/disable")
@officer_required("administrator")
def disable(username: str) -> Any:
    if username == _me():
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for(".index"), 303)
    writer = write_session()
    account = writer.get(Account, username)
    if account is None or not account.active:
        flash(_("No active account %(name)s.", name=username), "error")
        return redirect(url_for(".index"), 303)
    account.active = False
    writer.execute(delete(LoginSession).where(LoginSession.username == username))
    writer.commit()
    context = app_context()
    try:
        revoked = context.officers.retire(username, f"account {username} disabled by {_me()}", clock=context.clock)
    except LedgerError as error:
        flash(_("The account is disabled but its key could not be revoked: %(error)s", error=error.message), "error")
        return redirect(url_for(".index"), 303)
    logger.info("account disabled", extra={"account": username, "by": _me()})
    if revoked is None:
        flash(_("Account %(name)s disabled; it had no signing key.", name=username))
    else:
        flash(_("Account %(name)s disabled; its key was revoked at entry %(index)s.", name=username,
                index=revoked.index))
    return redirect(url_for(".index"), 303)


def _page(values: dict[str, Any], error: str | None, status: int = 200) -> Any:
    reader = read_session()
    accounts = reader.scalars(select(Account).order_by(Account.username)).all()
    keys = {row.username: row for row in reader.scalars(select(OfficerKey))}
    return page("console/accounts/index.html", status, accounts=accounts, keys=keys, values=values, error=error,
                roles=ROLES)


def _me() -> str:
    officer = current_officer()
    assert officer is not None
    return officer.username
