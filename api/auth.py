"""Who is calling, resolved once per request, and the checks views make with it.

A request is anonymous, or carries ``Authorization: Bearer trk_…`` (an enterprise API token), ``Bearer trs_…``
(a logged-in staff account) or ``Trace-Signature key=…, time=…, signature=…`` (a request signed with an
enterprise's ledger key). The permission matrix is in ``docs/api.md``; every cell is tested in
``tests/api/test_permissions.py``.
"""

from __future__ import annotations

from flask import g, request

from trace.access import ANONYMOUS, AccessError, Caller, authenticate_bearer, authenticate_signed

from .bodies import MAX_BATCH_BODY, raw_body
from .context import now, write_session

AUTHORITY_ROLES = ("inspector", "registrar", "administrator")


def current_caller() -> Caller:
    """The request's caller; a malformed, unknown, expired or replayed credential is refused (401), never
    treated as anonymous."""
    if "caller" in g:
        caller: Caller = g.caller
        return caller
    header = request.headers.get("Authorization", "")
    if not header:
        caller = ANONYMOUS
    else:
        session = write_session()
        if header.startswith("Bearer "):
            caller = authenticate_bearer(session, header.removeprefix("Bearer ").strip(), now=now())
        else:
            target = request.full_path if request.query_string else request.path
            caller = authenticate_signed(session, header, request.method, target, raw_body(MAX_BATCH_BODY),
                                          now=now())
        session.commit()  # the replay record and the token's last use stand even if the request fails later
    g.caller = caller
    return caller


def require_account(*roles: str) -> Caller:
    """A logged-in account holding one of ``roles``; 401 when anonymous, 403 otherwise."""
    caller = current_caller()
    if caller.username is None:
        if caller.enterprise is None:
            raise AccessError(f"log in with an account ({' or '.join(roles)}) to do this", code="auth.required")
        raise AccessError(f"this needs an account with role {' or '.join(roles)}, not an enterprise credential",
                          code="auth.forbidden")
    if not caller.has_role(*roles):
        raise AccessError(f"account {caller.username} lacks role {' or '.join(roles)}", code="auth.forbidden")
    return caller


def require_enterprise_or_role(credit_code: str, roles: tuple[str, ...], what: str) -> Caller:
    """``credit_code`` itself (its API token or a request signed with its key) or an account holding one of
    ``roles``; 401 when anonymous, 403 otherwise. ``what`` names the action in the refusal."""
    caller = current_caller()
    if caller.enterprise == credit_code or caller.has_role(*roles):
        return caller
    allowed = f"{credit_code}'s API token, a request signed with its key, or a login with role {' or '.join(roles)}"
    if caller.via == "none":
        raise AccessError(f"{what} needs {allowed}", code="auth.required")
    raise AccessError(f"{caller.name} may not do this: {what} needs {allowed}", code="auth.forbidden")
