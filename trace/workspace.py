"""The enterprise workspace: staff invited by an administrator enrol their phone's own Ed25519 key.

An invite is a one-time 256-bit secret for one named person and role, stored as its SHA-256. The phone that
opens it makes a key in the browser and enrols it with a proof of possession: an Ed25519 signature over
:func:`trace.access.key_request_message` with the label :func:`device_label`. The enrolment is also a key request
(so ``GET /key-requests/{id}`` follows it). An invite issued by the registrar is approved at enrolment; one issued
by an enterprise administrator waits for that administrator's approval. Either way the key becomes the
enterprise's through ``ledger.key.add`` by the registrar, with :func:`key_add_body`; appending it is the caller's
(it needs the signing key), these functions check and record. A device's standing is read from the ledger key
registry, never copied: active while its key is live, revoked once ``ledger.key.revoke`` names it.

Functions take a session and a clock and never commit.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger import LedgerError
from ledger.keys import decode_public_key, key_id, verify_signature
from ledger.models import LedgerKey

from .access import AccessError, Caller, decide_key_request, key_request_message
from .access_models import KeyRequest
from .models import Enterprise
from .queries import NotFound
from .workspace_models import WorkspaceDevice, WorkspaceInvite

ROLES = ("staff", "admin")
DEFAULT_INVITE_HOURS = 72
MAX_INVITE_HOURS = 30 * 24
LABEL_PREFIX = "workspace:"
#: The ledger's limit on a key label; a device label (at most 179 characters) never reaches it.
MAX_LABEL = 200
_SECRET = re.compile(r"twi_[A-Za-z0-9_-]{43}")
#: A person's or device's name: no control characters (line breaks included), no leading or trailing space.
NAME = re.compile(r"(?=\S)[^\x00-\x1f\x7f]*(?<=\S)")


class WorkspaceError(LedgerError):
    """An invite or device cannot be used as asked: ``invite.unknown``, ``invite.expired``, ``invite.used``,
    ``device.unknown``."""

    code = "invite.unknown"


@dataclass(frozen=True)
class Enrolment:
    """A checked enrolment, not yet recorded: who the invite names and the key that proved possession.
    ``existing`` is the device this same key already enrolled with this invite (a resent enrolment)."""

    invite: WorkspaceInvite
    public_key: str
    key_id: str
    device: str
    label: str
    existing: WorkspaceDevice | None = None


def device_label(role: str, staff: str, device: str) -> str:
    """The key label a device signs in its proof and the ledger records: ``workspace:<role>:<staff> / <device>``,
    cut to :data:`MAX_LABEL` characters (Unicode code points)."""
    return f"{LABEL_PREFIX}{role}:{staff} / {device}"[:MAX_LABEL]


def check_name(value: str, field: str, limit: int) -> str:
    """``value`` if it is a usable name of 1 to ``limit`` characters; raises ``request.invalid``."""
    if not (0 < len(value) <= limit and NAME.fullmatch(value)):
        raise LedgerError(f"{field} must be 1 to {limit} characters without control characters or leading or "
                          "trailing spaces", code="request.invalid")
    return value


def key_add_body(credit_code: str, public_key: str, label: str) -> dict[str, object]:
    """The body of the ``ledger.key.add`` that makes a device's key the enterprise's."""
    return {"subject": credit_code, "public_key": public_key, "label": label}


def require_standing(session: Session, credit_code: str) -> Enterprise:
    """The registered enterprise ``credit_code``; raises ``not_found.enterprise``, or ``enterprise.blacklisted``
    / ``enterprise.deregistered`` for one that may not take on staff keys."""
    row = session.get(Enterprise, credit_code)
    if row is None:
        raise NotFound(f"enterprise {credit_code} is not registered", code="not_found.enterprise")
    if row.status in ("blacklisted", "deregistered"):
        raise LedgerError(f"enterprise {credit_code} is {row.status}; it cannot enrol devices",
                          code=f"enterprise.{row.status}")
    return row


def staff_device(session: Session, caller: Caller) -> WorkspaceDevice | None:
    """The workspace device whose key signed the caller's request, if any."""
    if caller.via != "signature" or caller.key_id is None:
        return None
    return session.get(WorkspaceDevice, caller.key_id)


def is_admin(session: Session, caller: Caller, credit_code: str) -> bool:
    """Whether ``caller`` administers ``credit_code``'s workspace: a registrar login, the enterprise's API
    token, or a request signed by one of its keys that is not a ``staff`` device (its command-line keys and
    ``admin`` devices)."""
    if caller.has_role("registrar"):
        return True
    if caller.enterprise != credit_code:
        return False
    device = staff_device(session, caller)
    return device is None or device.role != "staff"


def require_admin(session: Session, caller: Caller, credit_code: str, what: str) -> None:
    """Raise ``auth.required`` (anonymous) or ``auth.forbidden`` unless :func:`is_admin`."""
    if is_admin(session, caller, credit_code):
        return
    allowed = f"an administrator of {credit_code} (its API token, a non-staff key) or a registrar login"
    if caller.via == "none":
        raise AccessError(f"{what} needs {allowed}", code="auth.required")
    raise AccessError(f"{caller.name} may not do this: {what} needs {allowed}", code="auth.forbidden")


# --- invites --------------------------------------------------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_invite(session: Session, *, credit_code: str, staff: str, role: str, hours: int, created_by: str,
                  by_registrar: bool, officer: str | None, now: datetime) -> tuple[str, WorkspaceInvite]:
    """Invite ``staff`` to enrol a device of ``credit_code`` with ``role``; returns the secret (shown once) and
    the row. A registrar's invite is approved at enrolment (signed by ``officer``'s key, or the registrar key
    when ``None``); an administrator's waits for approval and may only be for role ``staff``. Raises
    ``auth.forbidden``, ``request.invalid`` or :func:`require_standing`'s errors."""
    if role not in ROLES:
        raise LedgerError(f"role must be one of {', '.join(ROLES)}, found {role!r}", code="request.invalid")
    if not 1 <= hours <= MAX_INVITE_HOURS:
        raise LedgerError(f"an invite lasts 1 to {MAX_INVITE_HOURS} hours, found {hours}", code="request.invalid")
    if role == "admin" and not by_registrar:
        raise AccessError("only the registrar invites workspace administrators", code="auth.forbidden")
    check_name(staff, "staff", 100)
    require_standing(session, credit_code)
    secret = "twi_" + secrets.token_urlsafe(32)
    row = WorkspaceInvite(invite_id=secrets.token_hex(8), secret_sha256=_digest(secret), credit_code=credit_code,
                          staff=staff, role=role, approval="on_enrol" if by_registrar else "by_admin",
                          officer=officer, created_by=created_by[:80], created_at=now,
                          expires_at=now + timedelta(hours=hours))
    session.add(row)
    session.flush()
    return secret, row


def list_invites(session: Session, credit_code: str) -> list[WorkspaceInvite]:
    """``credit_code``'s invites, newest first."""
    return list(session.scalars(select(WorkspaceInvite).where(WorkspaceInvite.credit_code == credit_code)
                                .order_by(WorkspaceInvite.created_at.desc(), WorkspaceInvite.invite_id)
                                .limit(1000)))


def open_invite(session: Session, secret: str, *, now: datetime) -> WorkspaceInvite:
    """The unused, unexpired invite ``secret`` stands for; raises ``invite.unknown``, ``invite.expired`` or
    ``invite.used``."""
    row = _invite(session, secret)
    _require_usable(row, now)
    return row


def _invite(session: Session, secret: str) -> WorkspaceInvite:
    row = session.scalars(select(WorkspaceInvite).where(WorkspaceInvite.secret_sha256 == _digest(secret))).first() \
        if _SECRET.fullmatch(secret) else None
    if row is None:
        raise WorkspaceError("no such invite; ask your administrator for a new link", code="invite.unknown")
    return row


def _require_usable(row: WorkspaceInvite, now: datetime) -> None:
    if row.used_at is not None:
        raise WorkspaceError(f"invite {row.invite_id} was already used at {row.used_at.isoformat()}",
                             code="invite.used")
    if row.expires_at <= now:
        raise WorkspaceError(f"invite {row.invite_id} expired at {row.expires_at.isoformat()}",
                             code="invite.expired")


# --- enrolment ------------------------------------------------------------------------------------------------

def check_enrolment(session: Session, *, origin: str, secret: str, public_key: str, device: str, proof: str,
                    now: datetime) -> Enrolment:
    """Check an enrolment without recording it: the invite is usable, ``proof`` is the new key's signature of
    :func:`trace.access.key_request_message` with :func:`device_label`, and the key is not registered. The
    same key resending an enrolment it already made answers that device (``Enrolment.existing``). Raises
    ``invite.*``, ``key_request.proof``, ``key.duplicate`` or :func:`require_standing`'s errors."""
    invite = _invite(session, secret)
    check_name(device, "device", 60)
    raw = decode_public_key(public_key)
    new_id = key_id(raw)
    label = device_label(invite.role, invite.staff, device)
    if invite.used_at is not None:
        existing = session.get(WorkspaceDevice, new_id)
        if existing is not None and existing.invite_id == invite.invite_id and existing.device == device:
            _verify_proof(raw, proof, key_request_message(origin, invite.credit_code, public_key, label))
            return Enrolment(invite, public_key, new_id, device, label, existing)
    _require_usable(invite, now)
    require_standing(session, invite.credit_code)
    _verify_proof(raw, proof, key_request_message(origin, invite.credit_code, public_key, label))
    if session.get(LedgerKey, new_id) is not None or session.get(WorkspaceDevice, new_id) is not None:
        raise LedgerError(f"key {new_id} is already registered", code="key.duplicate")
    return Enrolment(invite, public_key, new_id, device, label)


def _verify_proof(raw: bytes, proof: str, message: bytes) -> None:
    try:
        verify_signature(raw, base64.b64decode(proof, validate=True), message)
    except (ValueError, LedgerError):
        raise AccessError("proof is not the new key's signature of the enrolment (see the label rule)",
                          code="key_request.proof") from None


def record_enrolment(session: Session, enrolment: Enrolment, *, now: datetime, approved_by: str | None = None,
                     entry_index: int | None = None) -> WorkspaceDevice:
    """Record a checked enrolment: the key request (approved by ``approved_by`` at ``entry_index`` when the
    invite was approved at enrolment, else pending), the device, and the invite used. Raises ``invite.used`` when
    another enrolment used the invite meanwhile."""
    invite = enrolment.invite
    used = session.execute(update(WorkspaceInvite).where(WorkspaceInvite.invite_id == invite.invite_id,
                                                         WorkspaceInvite.used_at.is_(None))
                           .values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkspaceError(f"invite {invite.invite_id} was already used", code="invite.used")
    request = KeyRequest(request_id=secrets.token_hex(16), credit_code=invite.credit_code,
                         public_key=enrolment.public_key, key_id=enrolment.key_id, label=enrolment.label,
                         status="pending", created_at=now)
    if approved_by is not None:
        request.status, request.decided_at, request.decided_by = "approved", now, approved_by[:64]
        request.entry_index = entry_index
    row = WorkspaceDevice(key_id=enrolment.key_id, credit_code=invite.credit_code, public_key=enrolment.public_key,
                          staff=invite.staff, device=enrolment.device, role=invite.role,
                          invite_id=invite.invite_id, request_id=request.request_id, invited_by=invite.created_by,
                          created_at=now)
    session.add(request)
    session.flush()
    session.add(row)
    session.flush()
    return row


# --- devices --------------------------------------------------------------------------------------------------

def get_device(session: Session, credit_code: str, key: str) -> WorkspaceDevice:
    """``credit_code``'s device with key ``key``; raises ``device.unknown``."""
    row = session.get(WorkspaceDevice, key) if re.fullmatch(r"[0-9a-f]{16}", key) else None
    if row is None or row.credit_code != credit_code:
        raise WorkspaceError(f"enterprise {credit_code} has no workspace device with key {key}",
                             code="device.unknown")
    return row


def list_devices(session: Session, credit_code: str) -> list[WorkspaceDevice]:
    """``credit_code``'s devices, newest first, pending ones included."""
    return list(session.scalars(select(WorkspaceDevice).where(WorkspaceDevice.credit_code == credit_code)
                                .order_by(WorkspaceDevice.created_at.desc(), WorkspaceDevice.key_id)
                                .limit(1000)))


def device_of_request(session: Session, request: KeyRequest) -> WorkspaceDevice | None:
    """The workspace device whose enrolment made key request ``request``, or ``None`` for a command-line client's
    request. A device's request is decided by the enterprise's administrators, who compared its fingerprint on the
    phone, never through the registrar's key-request routes."""
    device = session.get(WorkspaceDevice, request.key_id)
    return device if device is not None and device.request_id == request.request_id else None


def require_client_request(session: Session, request: KeyRequest) -> None:
    """Raise ``key_request.workspace`` when ``request`` is a workspace device's (see :func:`device_of_request`)."""
    if device_of_request(session, request) is not None:
        raise AccessError(f"key request {request.request_id} is workspace device {request.key_id}'s: the "
                          f"administrators of enterprise {request.credit_code} approve it on the team page",
                          code="key_request.workspace")


def require_pending(session: Session, device: WorkspaceDevice) -> KeyRequest:
    """The device's key request, which must wait for a decision; raises ``key_request.decided``."""
    request = session.get(KeyRequest, device.request_id)
    assert request is not None
    if request.status != "pending":
        raise AccessError(f"device {device.key_id} was already {request.status}", code="key_request.decided")
    return request


def decide_device(session: Session, device: WorkspaceDevice, *, approve: bool, by: str, now: datetime,
                  reason: str | None = None, entry_index: int | None = None) -> WorkspaceDevice:
    """Record an administrator's decision on a pending device (after the ``ledger.key.add`` for an approval);
    raises ``key_request.decided``."""
    decide_key_request(session, device.request_id, approve=approve, by=by[:64], now=now, reason=reason,
                       entry_index=entry_index)
    return device


def device_view(session: Session, device: WorkspaceDevice) -> dict[str, Any]:
    """The device as plain values; ``status`` is read from the ledger key registry (``active``, ``revoked``)
    or, before the key is registered, from its key request (``pending``, ``rejected``)."""
    request = session.get(KeyRequest, device.request_id)
    assert request is not None
    key = session.get(LedgerKey, device.key_id)
    if key is not None and key.author == device.credit_code:
        status = "revoked" if key.revoked_index is not None else "active"
    else:
        status = "rejected" if request.status == "rejected" else "pending"
    return {"credit_code": device.credit_code, "staff": device.staff, "device": device.device, "role": device.role,
            "key_id": device.key_id, "public_key": device.public_key, "request_id": device.request_id,
            "status": status, "invited_by": device.invited_by,
            "approved_by": request.decided_by if request.status == "approved" else None,
            "created_at": device.created_at, "decided_at": request.decided_at, "reason": request.reason,
            "entry_index": request.entry_index,
            "revoked_index": key.revoked_index if key is not None else None}
