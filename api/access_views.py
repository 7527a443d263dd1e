"""Logins for staff accounts, enterprise API tokens, and key requests.

A login answers a bearer session token; an API token is issued to an enterprise (asked for with a request signed
by its key, or by the registrar) and shown once; a key request carries a proof that the requester holds the new
private key and waits for the registrar's decision, which appends ``ledger.key.add``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, request

from trace import access, queries, workspace
from trace.access_models import Account, ApiToken, KeyRequest

from .auth import current_caller, require_account, require_enterprise_or_role
from .bodies import json_body
from .context import app_context, now, read_session, write_session
from .limits import limiter
from .pages import text_arg
from .registrar import append_as_registrar
from .responses import json_response
from .schemas import (
    CallerSchema,
    KeyRequestCreateSchema,
    KeyRequestDecisionSchema,
    KeyRequestListSchema,
    KeyRequestSchema,
    LoginResultSchema,
    LoginSchema,
    NewTokenSchema,
    TokenCreateSchema,
    TokenListSchema,
    TokenSchema,
)

logger = logging.getLogger(__name__)
blueprint = Blueprint("access", __name__)


@blueprint.post("/auth/login")
@limiter.limit(lambda: app_context().settings.rate_limit_login)
def login() -> Any:
    """Log in with a staff account.
    ---
    post:
      tags: [auth]
      summary: Log in (inspector, registrar, administrator); answers a bearer token valid 12 hours
      requestBody: {required: true, content: {application/json: {schema: Login}}}
      responses:
        200: {description: logged in, content: {application/json: {schema: LoginResult}}}
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
        429: {$ref: '#/components/responses/Error'}
    """
    body = json_body(LoginSchema())
    session = write_session()
    token, row = access.log_in(session, body["username"], body["password"], now=now())
    account = session.get(Account, row.username)
    assert account is not None
    session.commit()
    return _no_store(LoginResultSchema().dump({"token": token, "username": row.username,
                                               "roles": account.roles.split(","), "expires_at": row.expires_at}))


@blueprint.post("/auth/logout")
def logout() -> Any:
    """End the login session.
    ---
    post:
      tags: [auth]
      summary: End the login session of the bearer token
      security: [{bearerAuth: []}]
      responses:
        204: {description: logged out}
        401: {$ref: '#/components/responses/Error'}
    """
    caller = current_caller()
    if caller.via != "session":
        raise access.AccessError("log out needs a login session's bearer token", code="auth.required")
    session = write_session()
    access.log_out(session, request.headers["Authorization"].removeprefix("Bearer ").strip())
    session.commit()
    return "", 204


@blueprint.get("/auth/whoami")
def whoami() -> Any:
    """Who the credential stands for.
    ---
    get:
      tags: [auth]
      summary: The caller the request's credential stands for (anonymous without one)
      security: [{}, {bearerAuth: []}, {traceSignature: []}]
      responses:
        200: {description: the caller, content: {application/json: {schema: Caller}}}
        401: {$ref: '#/components/responses/Error'}
    """
    caller = current_caller()
    return _no_store(CallerSchema().dump({"via": caller.via, "enterprise": caller.enterprise,
                                          "username": caller.username, "roles": sorted(caller.roles)}))


@blueprint.post("/enterprises/<credit_code>/tokens")
def create_token(credit_code: str) -> Any:
    """Issue an API token.
    ---
    post:
      tags: [tokens]
      summary: Issue an API token for the enterprise; the secret is shown only in this answer
      description: Asked for by the enterprise (a request signed with its key, or an existing token) or by a registrar.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody: {required: true, content: {application/json: {schema: TokenCreate}}}
      responses:
        201: {description: issued, content: {application/json: {schema: NewToken}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = _require_token_manager(credit_code)
    body = json_body(TokenCreateSchema())
    queries.enterprise(read_session(), credit_code)
    session = write_session()
    token, row = access.issue_token(session, credit_code, body["label"], created_by=caller.name, now=now())
    out = NewTokenSchema().dump({**_token(row), "token": token})
    session.commit()
    return json_response(out, cache="no-store", status=201)


@blueprint.get("/enterprises/<credit_code>/tokens")
def list_tokens(credit_code: str) -> Any:
    """List API tokens.
    ---
    get:
      tags: [tokens]
      summary: The enterprise's API tokens (never their secrets)
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      responses:
        200: {description: the tokens, content: {application/json: {schema: TokenList}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    _require_token_manager(credit_code)
    rows = access.list_tokens(read_session(), credit_code)
    return _no_store(TokenListSchema().dump({"tokens": [_token(row) for row in rows]}))


@blueprint.post("/enterprises/<credit_code>/tokens/<token_id>/revoke")
def revoke_token(credit_code: str, token_id: str) -> Any:
    """Revoke an API token.
    ---
    post:
      tags: [tokens]
      summary: Revoke one of the enterprise's API tokens at once (idempotent)
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: token_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{16}$'}}
      responses:
        200: {description: revoked, content: {application/json: {schema: Token}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    _require_token_manager(credit_code)
    session = write_session()
    row = access.revoke_token(session, credit_code, token_id, now=now())
    out = TokenSchema().dump(_token(row))
    session.commit()
    return _no_store(out)


@blueprint.post("/enterprises/<credit_code>/key-requests")
@limiter.limit(lambda: app_context().settings.rate_limit_login)
def request_key(credit_code: str) -> Any:
    """Ask the registrar to register a key.
    ---
    post:
      tags: [keys]
      summary: File a request to register a new public key for the enterprise, with proof of possession
      description: >
        proof is the base64 Ed25519 signature, by the new key, of "trace-api/v1/key-request" NUL, then the ledger
        origin, credit code, base64 public key and label joined by line feeds (docs/api.md). The registrar
        approves or rejects it; the answer's id lets the requester follow it.
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody: {required: true, content: {application/json: {schema: KeyRequestCreate}}}
      responses:
        202: {description: filed (or the same pending request), content: {application/json: {schema: KeyRequest}}}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
        429: {$ref: '#/components/responses/Error'}
    """
    body = json_body(KeyRequestCreateSchema())
    queries.enterprise(read_session(), credit_code)
    session = write_session()
    row = access.request_key(session, origin=app_context().settings.ledger_origin, credit_code=credit_code,
                             now=now(), **body)
    out = KeyRequestSchema().dump(_key_request(row))
    session.commit()
    return json_response(out, cache="no-store", status=202)


@blueprint.get("/key-requests")
def list_key_requests() -> Any:
    """Key requests (registrar).
    ---
    get:
      tags: [keys]
      summary: Key requests waiting for (or past) the registrar's decision
      security: [{bearerAuth: []}]
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [pending, approved, rejected], default: pending}}
      responses:
        200: {description: the requests (oldest first), content: {application/json: {schema: KeyRequestList}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    require_account("registrar")
    status = text_arg("status", choices=frozenset({"pending", "approved", "rejected"})) or "pending"
    rows = access.list_key_requests(read_session(), status)
    return _no_store(KeyRequestListSchema().dump({"requests": [_key_request(row) for row in rows]}))


@blueprint.get("/key-requests/<request_id>")
def get_key_request(request_id: str) -> Any:
    """One key request.
    ---
    get:
      tags: [keys]
      summary: A key request's status; its unguessable id is the requester's handle
      parameters:
        - {name: request_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{32}$'}}
      responses:
        200: {description: the request, content: {application/json: {schema: KeyRequest}}}
        404: {$ref: '#/components/responses/Error'}
    """
    return _no_store(KeyRequestSchema().dump(_key_request(access.get_key_request(read_session(), request_id))))


@blueprint.post("/key-requests/<request_id>/approve")
def approve_key_request(request_id: str) -> Any:
    """Approve a key request (registrar).
    ---
    post:
      tags: [keys]
      summary: Approve the request; the registrar key signs ledger.key.add for it
      security: [{bearerAuth: []}]
      parameters:
        - {name: request_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{32}$'}}
      responses:
        200: {description: approved, content: {application/json: {schema: KeyRequest}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    return _decide(request_id, approve=True)


@blueprint.post("/key-requests/<request_id>/reject")
def reject_key_request(request_id: str) -> Any:
    """Reject a key request (registrar).
    ---
    post:
      tags: [keys]
      summary: Reject the request with a reason
      security: [{bearerAuth: []}]
      parameters:
        - {name: request_id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{32}$'}}
      requestBody: {content: {application/json: {schema: KeyRequestDecision}}}
      responses:
        200: {description: rejected, content: {application/json: {schema: KeyRequest}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
    """
    return _decide(request_id, approve=False)


def _decide(request_id: str, *, approve: bool) -> Any:
    caller = require_account("registrar")
    reason = json_body(KeyRequestDecisionSchema())["reason"] if request.content_length else None
    pending = access.get_key_request(read_session(), request_id)
    if pending.status != "pending":
        raise access.AccessError(f"key request {request_id} is already {pending.status}",
                                 code="key_request.decided")
    workspace.require_client_request(read_session(), pending)
    index = None
    if approve:
        # The ledger statement commits on its own first: if recording the decision then failed, approving again
        # would be refused as key.duplicate, and the key is registered either way.
        index = append_as_registrar(caller, "ledger.key.add", {"subject": pending.credit_code,
                                                                "public_key": pending.public_key,
                                                                "label": pending.label}).index
    logger.info("key request decided", extra={"account": caller.name, "request_id": request_id,
                                              "approved": approve, "entry_index": index})
    session = write_session()
    row = access.decide_key_request(session, request_id, approve=approve, by=caller.name, now=now(),
                                    reason=reason, entry_index=index)
    out = KeyRequestSchema().dump(_key_request(row))
    session.commit()
    return _no_store(out)


def _require_token_manager(credit_code: str) -> access.Caller:
    return require_enterprise_or_role(credit_code, ("registrar",), f"managing enterprise {credit_code}'s tokens")


def _token(row: ApiToken) -> dict[str, Any]:
    return {"id": row.token_id, "label": row.label, "created_at": row.created_at, "created_by": row.created_by,
            "revoked_at": row.revoked_at, "last_used_at": row.last_used_at}


def _key_request(row: KeyRequest) -> dict[str, Any]:
    return {"id": row.request_id, "credit_code": row.credit_code, "key_id": row.key_id,
            "public_key": row.public_key, "label": row.label, "status": row.status, "created_at": row.created_at,
            "decided_at": row.decided_at, "reason": row.reason, "entry_index": row.entry_index}



def _no_store(body: dict[str, Any]) -> Any:
    return json_response(body, cache="no-store")
