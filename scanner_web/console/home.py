"""Logging in and out of the console, and its start page."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import gettext as _

from api.context import app_context, read_session, write_session
from api.limits import limiter
from trace import access
from trace.access import AccessError
from trace.officers import OfficerKey

from .guard import SESSION_KEY, current_officer, officer_required, page
from .nav import visible_areas

logger = logging.getLogger(__name__)
blueprint = Blueprint("console", __name__, url_prefix="/console")


@blueprint.get("/")
@officer_required()
def index() -> Any:
    officer = current_officer()
    assert officer is not None
    row = read_session().get(OfficerKey, officer.username)
    return page("console/home.html", areas=visible_areas(officer), officer_key=None if row is None else row.key_id)


@blueprint.get("/login")
def login() -> Any:
    if current_officer() is not None:
        return redirect(_next_page(), 303)
    return page("console/login.html", next=_next_page(), error=None, username="")


@blueprint.post("/login")
@limiter.limit(lambda: app_context().settings.rate_limit_login)
def log_in() -> Any:
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")[:1024]
    writer = write_session()
    try:
        token, _row = access.log_in(writer, username, password, now=app_context().clock())
    except AccessError:
        logger.info("console login refused", extra={"account": username})
        return page("console/login.html", 401, next=_next_page(), username=username,
                    error=_("Wrong user name or password, or the account is disabled."))
    writer.commit()
    session.clear()
    session[SESSION_KEY] = token
    logger.info("console login", extra={"account": username})
    return redirect(_next_page(), 303)


@blueprint.post("/logout")
def log_out() -> Any:
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        writer = write_session()
        access.log_out(writer, token)
        writer.commit()
    return redirect(url_for("console.login"), 303)


def _next_page() -> str:
    """Where to go after logging in: a path on this site only, never another host."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if not target.startswith("/console") or parts.scheme or parts.netloc or "\\" in target:
        return url_for("console.index")
    return target
