"""The enterprise workspace: invites, enrolment of a phone's own key, and the administrator's decisions.

An administrator of the enterprise (its API token, a request signed by a key that is not a ``staff`` device, or
a registrar login) invites a person; the person's phone reads the invite, makes its key in the browser and
enrols it with a proof of possession. A registrar's invite is approved at enrolment (the officer's key signs
``ledger.key.add``); an administrator's waits until the administrator approves it, and then the registrar key
signs it. Revoking is a statement the enterprise signs itself (``ledger.key.revoke`` to ``POST /events``). See
``docs/workspace.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from sqlalchemy.orm import Session

from ledger import AppendResult
from trace import workspace
from trace.access import AccessError, Caller
from trace.ledger_service import append_authored
from trace.models import Enterprise
from trace.policy import TracePolicy
from trace.workspace_models import WorkspaceDevice, WorkspaceInvite

from .auth import current_caller, require_enterprise_or_role
from .bodies import json_body
from .context import app_context, now, read_session, write_session
from .limits import limiter
from .responses import json_response
from .schemas import (
    DeviceDecisionSchema,
    DeviceListSchema,
    DeviceSchema,
    EnrolSchema,
    InviteCreateSchema,
    InviteDetailsSchema,
    InviteListSchema,
    InviteOpenSchema,
    NewInviteSchema,
    WorkspaceMeSchema,
)

logger = logging.getLogger(__name__)
blueprint = Blueprint("workspace", __name__)

JOIN_PATH = "/workspace/join#invite="


@blueprint.post("/enterprises/<credit_code>/invites")
def create_invite(credit_code: str) -> Any:
    """Invite a person to enrol a device.
    ---
    post:
      tags: [workspace]
      summary: Invite one person to enrol a phone as a key of the enterprise; the secret is shown only here
      description: >
        An administrator of the enterprise (its API token, a request signed by a key that is not a staff device)
        invites role staff, and approves the device after enrolment; a registrar login may also invite role
        admin, and its invites are approved at enrolment.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody: {required: true, content: {application/json: {schema: InviteCreate}}}
      responses:
        201: {description: invited, content: {application/json: {schema: NewInvite}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = current_caller()
    workspace.require_admin(read_session(), caller, credit_code, f"inviting staff of {credit_code}")
    body = json_body(InviteCreateSchema())
    session = write_session()
    by_registrar = caller.has_role("registrar")
    secret, row = workspace.create_invite(session, credit_code=credit_code, staff=body["staff"], role=body["role"],
                                          hours=body["expires_in_hours"], created_by=caller.name,
                                          by_registrar=by_registrar, officer=caller.username if by_registrar else None,
                                          now=now())
    out = NewInviteSchema().dump({**_invite(row), "secret": secret, "join_url": JOIN_PATH + secret})
    session.commit()
    logger.info("workspace invite created", extra={"invite_id": row.invite_id, "credit_code": credit_code,
                                                   "account": caller.name})
    return json_response(out, cache="no-store", status=201)


@blueprint.get("/enterprises/<credit_code>/invites")
def list_invites(credit_code: str) -> Any:
    """List invites.
    ---
    get:
      tags: [workspace]
      summary: The enterprise's workspace invites, newest first (never their secrets)
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      responses:
        200: {description: the invites, content: {application/json: {schema: InviteList}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    session = read_session()
    workspace.require_admin(session, current_caller(), credit_code, f"reading {credit_code}'s invites")
    rows = workspace.list_invites(session, credit_code)
    return _no_store(InviteListSchema().dump({"invites": [_invite(row) for row in rows]}))


@blueprint.post("/workspace/invite")
@limiter.limit(lambda: app_context().settings.rate_limit_login)
def open_invite() -> Any:
    """Read an invite before enrolling.
    ---
    post:
      tags: [workspace]
      summary: What an invite's secret stands for (enterprise, person, role, ledger origin), to build the label
      description: The secret goes in the body, never in a URL. Nothing changes; the invite stays unused.
      requestBody: {required: true, content: {application/json: {schema: InviteOpen}}}
      responses:
        200: {description: the invite, content: {application/json: {schema: InviteDetails}}}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
        429: {$ref: '#/components/responses/Error'}
    """
    body = json_body(InviteOpenSchema())
    session = read_session()
    row = workspace.open_invite(session, body["invite"], now=now())
    enterprise = workspace.require_standing(session, row.credit_code)
    return _no_store(InviteDetailsSchema().dump({
        "credit_code": row.credit_code, "enterprise_name": enterprise.name, "staff": row.staff, "role": row.role,
        "approval": row.approval, "expires_at": row.expires_at, "ledger": app_context().settings.ledger_origin}))


@blueprint.post("/workspace/enrol")
@limiter.limit(lambda: app_context().settings.rate_limit_login)
def enrol() -> Any:
    """Enrol a device's key with an invite.
    ---
    post:
      tags: [workspace]
      summary: Enrol the phone's new public key with an invite and a proof of possession
      description: >
        proof is the base64 Ed25519 signature, by the new key, of the key request message (docs/api.md) with the
        label workspace:<role>:<staff> / <device>. 202 while the device waits for an administrator's approval,
        201 when the invite was a registrar's and the key is registered now. Resending the same enrolment with
        the same key answers the same device.
      requestBody: {required: true, content: {application/json: {schema: Enrol}}}
      responses:
        201: {description: enrolled and registered, content: {application/json: {schema: Device}}}
        202: {description: enrolled; waits for approval, content: {application/json: {schema: Device}}}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
        429: {$ref: '#/components/responses/Error'}
    """
    body = json_body(EnrolSchema())
    context = app_context()
    checked = workspace.check_enrolment(read_session(), origin=context.settings.ledger_origin,
                                        secret=body["invite"], public_key=body["public_key"], device=body["device"],
                                        proof=body["proof"], now=now())
    if checked.existing is not None:
        key_id = checked.existing.key_id
    elif checked.invite.approval == "on_enrol":
        invite = checked.invite
        moment = now()

        def record(session: Session, result: AppendResult) -> None:
            workspace.record_enrolment(session, checked, now=moment, approved_by=invite.created_by,
                                       entry_index=result.index)
        _append_key_add(invite.officer, checked.invite.credit_code, checked.public_key, checked.label, record)
        key_id = checked.key_id
    else:
        session = write_session()
        key_id = workspace.record_enrolment(session, checked, now=now()).key_id
        session.commit()
    logger.info("workspace device enrolled", extra={"key_id": key_id, "invite_id": checked.invite.invite_id})
    out = _device(write_session(), key_id)
    return json_response(out, cache="no-store", status=202 if out["status"] == "pending" else 201)


@blueprint.get("/enterprises/<credit_code>/devices")
def list_devices(credit_code: str) -> Any:
    """List workspace devices.
    ---
    get:
      tags: [workspace]
      summary: The enterprise's workspace devices, newest first, pending ones included
      description: For the enterprise (any of its keys, staff devices too, or its API token) or a registrar.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      responses:
        200: {description: the devices, content: {application/json: {schema: DeviceList}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    require_enterprise_or_role(credit_code, ("registrar",), f"reading {credit_code}'s devices")
    session = read_session()
    rows = workspace.list_devices(session, credit_code)
    return _no_store(DeviceListSchema().dump({"devices": [_device_values(session, row) for row in rows]}))


@blueprint.get("/workspace/me")
def me() -> Any:
    """The calling device.
    ---
    get:
      tags: [workspace]
      summary: The device whose key signed the request, its enterprise, and whether it administers the workspace
      security: [{bearerAuth: []}, {traceSignature: []}]
      responses:
        200: {description: the caller, content: {application/json: {schema: WorkspaceMe}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    caller = current_caller()
    if caller.enterprise is None:
        code = "auth.required" if caller.via == "none" else "auth.forbidden"
        raise AccessError("the workspace needs a request signed with an enterprise key (or its API token)",
                          code=code)
    session = read_session()
    device = workspace.staff_device(session, caller)
    enterprise = session.get(Enterprise, caller.enterprise)
    assert enterprise is not None
    return _no_store(WorkspaceMeSchema().dump({
        "device": None if device is None else _device_values(session, device),
        "enterprise": {"credit_code": enterprise.credit_code, "name": enterprise.name,
                       "roles": enterprise.roles.split(",") if enterprise.roles else [], "status": enterprise.status},
        "is_admin": workspace.is_admin(session, caller, caller.enterprise)}))


@blueprint.post("/enterprises/<credit_code>/devices/<key_id>/approve")
def approve_device(credit_code: str, key_id: str) -> Any:
    """Approve an enrolled device.
    ---
    post:
      tags: [workspace]
      summary: Approve a pending device after comparing its key fingerprint; its key is registered in the ledger
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: key_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{16}$'}}
      responses:
        200: {description: approved, content: {application/json: {schema: Device}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
    """
    caller, device = _pending_device(credit_code, key_id, "approving devices")
    moment = now()

    def record(session: Session, result: AppendResult) -> None:
        stored = session.get(WorkspaceDevice, device.key_id)
        assert stored is not None
        workspace.decide_device(session, stored, approve=True, by=caller.name, now=moment,
                                entry_index=result.index)
    label = workspace.device_label(device.role, device.staff, device.device)
    _append_key_add(caller.username, credit_code, device.public_key, label, record)
    logger.info("workspace device approved", extra={"key_id": key_id, "account": caller.name})
    return _no_store(_device(write_session(), key_id))


@blueprint.post("/enterprises/<credit_code>/devices/<key_id>/reject")
def reject_device(credit_code: str, key_id: str) -> Any:
    """Reject an enrolled device.
    ---
    post:
      tags: [workspace]
      summary: Reject a pending device, with a reason; its key is never registered
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: key_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{16}$'}}
      requestBody: {content: {application/json: {schema: DeviceDecision}}}
      responses:
        200: {description: rejected, content: {application/json: {schema: Device}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    reason = json_body(DeviceDecisionSchema())["reason"] if request.content_length else None
    caller, device = _pending_device(credit_code, key_id, "rejecting devices")
    session = write_session()
    stored = session.get(WorkspaceDevice, device.key_id)
    assert stored is not None
    workspace.decide_device(session, stored, approve=False, by=caller.name, now=now(), reason=reason)
    session.commit()
    logger.info("workspace device rejected", extra={"key_id": key_id, "account": caller.name})
    return _no_store(_device(session, key_id))


def _pending_device(credit_code: str, key_id: str, what: str) -> tuple[Caller, WorkspaceDevice]:
    caller = current_caller()
    session = read_session()
    workspace.require_admin(session, caller, credit_code, f"{what} of {credit_code}")
    device = workspace.get_device(session, credit_code, key_id)
    workspace.require_pending(session, device)
    workspace.require_standing(session, credit_code)
    return caller, device


def _append_key_add(officer: str | None, credit_code: str, public_key: str, label: str,
                    record: Callable[[Session, AppendResult], None]) -> AppendResult:
    """Append ``ledger.key.add`` for a device (a commit of its own, with ``record``'s rows): signed by the
    officer's own registrar key when a registrar acts, else by the ledger's registrar key."""
    context = app_context()
    body = workspace.key_add_body(credit_code, public_key, label)
    if officer is not None:
        return context.officers.append(officer, "ledger.key.add", body, clock=context.clock, record=record)
    return append_authored(context.sessions, context.keys.registrar, "ledger.key.add", body, config=context.ledger,
                           clock=context.clock, policy=TracePolicy(), record=record)


def _device(session: Session, key_id: str) -> dict[str, Any]:
    row = session.get(WorkspaceDevice, key_id)
    assert row is not None
    out: dict[str, Any] = DeviceSchema().dump(_device_values(session, row))
    return out


def _device_values(session: Session, row: WorkspaceDevice) -> dict[str, Any]:
    enterprise = session.get(Enterprise, row.credit_code)
    name = enterprise.name if enterprise is not None else ""
    return {**workspace.device_view(session, row), "enterprise_name": name}


def _invite(row: WorkspaceInvite) -> dict[str, Any]:
    return {"invite_id": row.invite_id, "staff": row.staff, "role": row.role, "expires_at": row.expires_at,
            "used_at": row.used_at, "created_by": row.created_by, "approval": row.approval}


def _no_store(body: dict[str, Any]) -> Any:
    return json_response(body, cache="no-store")
