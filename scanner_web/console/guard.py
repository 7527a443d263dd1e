"""Who is using the console and what they may do: the login kept in the signed session cookie, the role check
every view makes, the CSRF check every form post passes, and ``act``, which signs an authority statement with the
officer's own key (:mod:`trace.officers`).

Console pages are private: never cached or indexed, sent with no referrer, and under a content security policy
that allows only this site's scripts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Response, abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError as CSRFError

from api.context import app_context, read_session
from ledger import AppendResult
from trace.access import AccessError, authenticate_bearer
from trace.access_models import Account

from ..private import PRIVATE_HEADERS
from ..private import private as private_page

logger = logging.getLogger(__name__)

#: Inspectors investigate (audits, recalls, complaints, spot checks, risks); the registrar keeps the register
#: and the credit lists; administrators manage accounts. Reading is open to every role unless a view says so.
ROLES = ("inspector", "registrar", "administrator")
SESSION_KEY = "console_login"
#: The private pages' headers, not framable by old browsers either, and images may be inline data (charts).
CONSOLE_HEADERS = {
    **PRIVATE_HEADERS,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Officer:
    username: str
    display_name: str
    roles: frozenset[str]

    def may(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def current_officer() -> Officer | None:
    """The logged-in officer, or ``None``; an expired or ended login is forgotten."""
    if "officer" in g:
        officer: Officer | None = g.officer
        return officer
    token = session.get(SESSION_KEY)
    officer = None
    if isinstance(token, str):
        reader = read_session()
        try:
            caller = authenticate_bearer(reader, token, now=app_context().clock())
        except AccessError:
            session.pop(SESSION_KEY, None)
        else:
            assert caller.username is not None
            account = reader.get(Account, caller.username)
            assert account is not None
            officer = Officer(caller.username, account.display_name, caller.roles)
    g.officer = officer
    return officer


def officer_required(*roles: str) -> Callable[[View], View]:
    """The view needs a login (else it redirects to the login page) holding one of ``roles`` (any role when
    none is given; else a 403 page naming the role needed)."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            officer = current_officer()
            if officer is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")), 303)
            if roles and not officer.may(*roles):
                logger.info("console action refused", extra={"account": officer.username, "path": request.path,
                                                             "needs": list(roles)})
                return forbidden(roles)
            return view(*args, **kwargs)
        return cast(View, wrapper)
    return decorate


def require_role(*roles: str) -> Officer:
    """Inside a view: the officer, who must hold one of ``roles`` (else the request ends with a 403 page)."""
    officer = current_officer()
    if officer is None:
        abort(401)
    if not officer.may(*roles):
        abort(private(forbidden(roles)))
    return officer


def forbidden(roles: tuple[str, ...]) -> Response:
    return private(render_template("console/forbidden.html", needed=[role_label(role) for role in roles]), 403)


def check_csrf() -> None:
    """Every console form post carries the session's CSRF token (``{{ csrf_field() }}`` in the form)."""
    if request.method != "POST":
        return
    try:
        validate_csrf(request.form.get("csrf_token"))
    except CSRFError:
        abort(400, description=_("The form has expired or did not come from this site. Go back, reload the page "
                                 "and submit again."))


def act(type: str, body: dict[str, Any], *,
        record: Callable[[Session, AppendResult], None] | None = None, links: Sequence[str] = ()) -> AppendResult:
    """Sign ``type`` with ``body`` as the logged-in officer (author: the registrar) and append it, a commit of
    its own; ``record`` adds rows in the same transaction; ``links`` names the batches the statement touches.
    Raises the statement's :class:`ledger.LedgerError` when the rules refuse it: show ``error.message`` to the
    officer."""
    officer = current_officer()
    assert officer is not None, "act() needs a logged-in officer"
    context = app_context()
    result = context.officers.append(officer.username, type, body, clock=context.clock, record=record,
                                     links=links)
    logger.info("authority statement appended", extra={"account": officer.username, "type": type,
                                                       "entry_index": result.index})
    return result


def private(response: Any, status: int = 200) -> Response:
    """``response`` (a rendered page or a Response) with the console's private headers."""
    return private_page(response, status, CONSOLE_HEADERS)


def page(template: str, status: int = 200, /, **values: Any) -> Response:
    """Render a console template as a private page answered with HTTP ``status`` (positional only, so a template
    value may be called ``status`` too)."""
    return private(render_template(template, **values), status)


def role_label(role: str) -> str:
    return {"inspector": _("Inspector"), "registrar": _("Registrar"), "administrator": _("Administrator")}.get(
        role, role)


def template_context() -> dict[str, Any]:
    return {"officer": current_officer(), "csrf_field": _csrf_field, "role_label": role_label}


def _csrf_field() -> Any:
    from markupsafe import Markup
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())
