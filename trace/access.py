"""Who is asking: staff accounts with roles, enterprise API tokens, signed API requests and key requests.

Statements authenticate themselves by their signatures; this module is about *reading* non-public data and about
the registrar's and inspectors' logins. Secrets are stored only as digests: API and login tokens as SHA-256
(they are 256-bit random, so a fast hash is enough), passwords as scrypt. Functions take a session and a clock
and never commit.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger import LedgerError
from ledger.keys import decode_public_key, key_id, verify_signature
from ledger.models import LedgerKey

from .access_models import Account, ApiToken, KeyRequest, LoginSession, SeenSignature

ROLES = ("inspector", "registrar", "administrator")
SESSION_LIFETIME = timedelta(hours=12)
#: How far a signed request's time may be from the server's clock; seen signatures are kept twice as long.
REQUEST_WINDOW = timedelta(minutes=5)
REQUEST_TAG = b"trace-api/v1/request\x00"
KEY_REQUEST_TAG = b"trace-api/v1/key-request\x00"
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")
_TOKEN = re.compile(r"trk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}")
_SESSION = re.compile(r"trs_[A-Za-z0-9_-]{43}")
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


class AccessError(LedgerError):
    """Authentication failed or the caller may not do this. Codes: ``auth.required``, ``auth.invalid``,
    ``auth.expired``, ``auth.replayed``, ``auth.clock``, ``auth.forbidden``, ``account.*``, ``token.*``,
    ``key_request.*``."""

    code = "auth.invalid"


@dataclass(frozen=True)
class Caller:
    """The authenticated party of one request. ``enterprise`` is set for an API token or a signed request,
    ``username`` and ``roles`` for a logged-in account; neither for an anonymous caller."""

    via: str
    enterprise: str | None = None
    username: str | None = None
    roles: frozenset[str] = frozenset()
    key_id: str | None = None
    token_id: str | None = None

    @property
    def name(self) -> str:
        """A label for logs and audit fields: never a secret."""
        if self.username:
            return f"account:{self.username}"
        if self.enterprise:
            return f"enterprise:{self.enterprise}" + (f"/key:{self.key_id}" if self.key_id else
                                                      f"/token:{self.token_id}")
        return "anonymous"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


ANONYMOUS = Caller(via="none")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- accounts -------------------------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + base64.b64encode(salt).decode() + "$" + \
        base64.b64encode(derived).decode()


def _password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        derived = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                 p=int(p), dklen=32, maxmem=64 * 1024 * 1024)
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(derived, base64.b64decode(expected))


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_hex(16))


def create_account(session: Session, username: str, password: str, roles: list[str], *, display_name: str,
                   now: datetime) -> Account:
    """Add a staff account. Raises :class:`AccessError` for a bad name, a short password, an unknown role or
    an existing account."""
    if not _USERNAME.fullmatch(username):
        raise AccessError("username must be 3-64 lower-case letters, digits, '.', '_' or '-', starting with a "
                          "letter", code="account.username")
    if len(password) < 12:
        raise AccessError("password must have at least 12 characters", code="account.password")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise AccessError(f"roles must be some of {', '.join(ROLES)}; found {roles}", code="account.roles")
    if session.get(Account, username) is not None:
        raise AccessError(f"account {username} exists", code="account.exists")
    account = Account(username=username, password_hash=hash_password(password), roles=",".join(sorted(set(roles))),
                      display_name=display_name[:200], active=True, created_at=now)
    session.add(account)
    session.flush()
    return account


def log_in(session: Session, username: str, password: str, *, now: datetime) -> tuple[str, LoginSession]:
    """Check a password and open a login session; returns the bearer token (shown once) and its row.

    The same error answers an unknown user and a wrong password, so names cannot be probed."""
    account = session.get(Account, username) if _USERNAME.fullmatch(username) else None
    if account is None:
        _password_matches(password, _unknown_user_hash())  # the same scrypt work as for a real account
    if account is None or not account.active or not _password_matches(password, account.password_hash):
        raise AccessError("wrong username or password", code="auth.invalid")
    token = "trs_" + secrets.token_urlsafe(32)
    row = LoginSession(token_sha256=_digest(token), username=username, created_at=now,
                       expires_at=now + SESSION_LIFETIME)
    session.add(row)
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    session.flush()
    return token, row


def log_out(session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_sha256 == _digest(token)))


# --- enterprise API tokens ------------------------------------------------------------------------------------

def issue_token(session: Session, credit_code: str, label: str, *, created_by: str,
                now: datetime) -> tuple[str, ApiToken]:
    """Create an API token for ``credit_code``; returns the secret (shown once) and its row."""
    token_id = secrets.token_hex(8)
    token = f"trk_{token_id}_{secrets.token_urlsafe(32)}"
    row = ApiToken(token_id=token_id, token_sha256=_digest(token), credit_code=credit_code, label=label[:100],
                   created_at=now, created_by=created_by[:80])
    session.add(row)
    session.flush()
    return token, row


def revoke_token(session: Session, credit_code: str, token_id: str, *, now: datetime) -> ApiToken:
    """Revoke one of ``credit_code``'s tokens (idempotent). Raises ``token.unknown``."""
    row = session.get(ApiToken, token_id)
    if row is None or row.credit_code != credit_code:
        raise AccessError(f"enterprise {credit_code} has no token {token_id}", code="token.unknown")
    if row.revoked_at is None:
        row.revoked_at = now
    session.flush()
    return row


def list_tokens(session: Session, credit_code: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.credit_code == credit_code)
                                .order_by(ApiToken.created_at, ApiToken.token_id)))


def authenticate_bearer(session: Session, token: str, *, now: datetime) -> Caller:
    """The caller a bearer token stands for: an enterprise (``trk_…``) or a logged-in account (``trs_…``).

    Raises :class:`AccessError` (``auth.invalid``, ``auth.expired``) for anything else."""
    if _TOKEN.fullmatch(token):
        row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _digest(token))).first()
        if row is None or row.revoked_at is not None:
            raise AccessError("API token is unknown or revoked", code="auth.invalid")
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now
        return Caller(via="token", enterprise=row.credit_code, token_id=row.token_id)
    if _SESSION.fullmatch(token):
        login = session.get(LoginSession, _digest(token))
        if login is None:
            raise AccessError("login session is unknown or ended", code="auth.invalid")
        if login.expires_at <= now:
            raise AccessError("login session expired; log in again", code="auth.expired")
        account = session.get(Account, login.username)
        if account is None or not account.active:
            raise AccessError("account is disabled", code="auth.invalid")
        return Caller(via="session", username=account.username, roles=frozenset(account.roles.split(",")))
    raise AccessError("bearer token is malformed", code="auth.invalid")


# --- signed requests ------------------------------------------------------------------------------------------

def request_signing_message(method: str, target: str, time: str, key: str, body: bytes) -> bytes:
    """What an enterprise key signs to authenticate one API request: the tag, then the upper-case method, the
    path with its query string, the RFC 3339 time, the key id and the SHA-256 of the body in hex, joined by
    line feeds."""
    return REQUEST_TAG + "\n".join([method.upper(), target, time, key,
                                    hashlib.sha256(body).hexdigest()]).encode("utf-8")


def parse_signature_header(value: str) -> dict[str, str]:
    """``Trace-Signature key="…", time="…", signature="…"`` as a dict; raises ``auth.invalid``."""
    scheme, _, rest = value.partition(" ")
    if scheme != "Trace-Signature":
        raise AccessError("Authorization must be 'Bearer <token>' or 'Trace-Signature key=…, time=…, "
                          "signature=…'", code="auth.invalid")
    fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    if set(fields) != {"key", "time", "signature"}:
        raise AccessError("Trace-Signature needs exactly key, time and signature", code="auth.invalid")
    return fields


def authenticate_signed(session: Session, header: str, method: str, target: str, body: bytes, *,
                        now: datetime) -> Caller:
    """Check a request signed by an enterprise key: the key is live, the time within :data:`REQUEST_WINDOW`,
    the signature valid and never seen before. Raises :class:`AccessError`."""
    fields = parse_signature_header(header)
    key = session.get(LedgerKey, fields["key"])
    if key is None or key.revoked_index is not None:
        raise AccessError(f"key {fields['key']} is unknown or revoked", code="auth.invalid")
    try:
        moment = datetime.fromisoformat(fields["time"])
        signature = base64.b64decode(fields["signature"], validate=True)
    except ValueError:
        raise AccessError("Trace-Signature time must be RFC 3339 and signature base64", code="auth.invalid") \
            from None
    if moment.tzinfo is None or abs(moment - now) > REQUEST_WINDOW:
        raise AccessError(f"signed request time {fields['time']} is more than "
                          f"{int(REQUEST_WINDOW.total_seconds())} s from the server's clock {now.isoformat()}",
                          code="auth.clock")
    try:
        verify_signature(key.public_key, signature, request_signing_message(method, target, fields["time"],
                                                                            key.key_id, body))
    except LedgerError:
        raise AccessError("request signature does not verify", code="auth.invalid") from None
    _remember_signature(session, signature, now)
    return Caller(via="signature", enterprise=key.author, key_id=key.key_id)


def _remember_signature(session: Session, signature: bytes, now: datetime) -> None:
    session.execute(delete(SeenSignature).where(SeenSignature.seen_at < now - 2 * REQUEST_WINDOW))
    nested = session.begin_nested()  # the primary key refuses a second use, even by a concurrent request
    try:
        session.add(SeenSignature(signature_sha256=hashlib.sha256(signature).hexdigest(), seen_at=now))
        session.flush()
    except IntegrityError:
        nested.rollback()
        raise AccessError("this signed request was already used; sign each request afresh",
                          code="auth.replayed") from None
    nested.commit()


# --- key requests ---------------------------------------------------------------------------------------------

def key_request_message(origin: str, credit_code: str, public_key: str, label: str) -> bytes:
    """What a new key signs to prove its holder asked for it: the tag, then the ledger origin, the credit code,
    the base64 public key and the label, joined by line feeds."""
    return KEY_REQUEST_TAG + "\n".join([origin, credit_code, public_key, label]).encode("utf-8")


def request_key(session: Session, *, origin: str, credit_code: str, public_key: str, label: str, proof: str,
                now: datetime) -> KeyRequest:
    """File a pending request for the registrar to add ``public_key`` to ``credit_code``, after checking that
    the requester holds its private key. A repeated identical request returns the pending one."""
    raw = decode_public_key(public_key)
    try:
        signature = base64.b64decode(proof, validate=True)
    except ValueError:
        raise AccessError("proof must be base64", code="key_request.proof") from None
    try:
        verify_signature(raw, signature, key_request_message(origin, credit_code, public_key, label))
    except LedgerError:
        raise AccessError("proof is not a signature of the request by the requested key",
                          code="key_request.proof") from None
    new_id = key_id(raw)
    if session.get(LedgerKey, new_id) is not None:
        raise AccessError(f"key {new_id} is already registered", code="key_request.registered")
    pending = session.scalars(select(KeyRequest).where(KeyRequest.key_id == new_id,
                                                       KeyRequest.status == "pending")).first()
    if pending is not None:
        if pending.credit_code != credit_code:
            raise AccessError(f"key {new_id} is already requested for another enterprise",
                              code="key_request.conflict")
        return pending
    row = KeyRequest(request_id=secrets.token_hex(16), credit_code=credit_code, public_key=public_key,
                     key_id=new_id, label=label, status="pending", created_at=now)
    session.add(row)
    session.flush()
    return row


def get_key_request(session: Session, request_id: str) -> KeyRequest:
    row = session.get(KeyRequest, request_id) if _REQUEST_ID.fullmatch(request_id) else None
    if row is None:
        raise AccessError(f"no key request {request_id}", code="key_request.unknown")
    return row


def decide_key_request(session: Session, request_id: str, *, approve: bool, by: str, now: datetime,
                       reason: str | None = None, entry_index: int | None = None) -> KeyRequest:
    """Record the registrar's decision on a pending request; raises ``key_request.decided`` otherwise."""
    row = get_key_request(session, request_id)
    if row.status != "pending":
        raise AccessError(f"key request {request_id} is already {row.status}", code="key_request.decided")
    row.status, row.decided_at, row.decided_by = ("approved" if approve else "rejected"), now, by
    row.reason, row.entry_index = reason, entry_index
    session.flush()
    return row


def list_key_requests(session: Session, status: str) -> list[KeyRequest]:
    return list(session.scalars(select(KeyRequest).where(KeyRequest.status == status)
                                .order_by(KeyRequest.created_at, KeyRequest.request_id).limit(1000)))
