"""Enterprises and products: the public registry, the registrar's changes, and an enterprise's own records.

Reading the registry is public. Registering, changing status and managing keys is the registrar's, through its
account: the server signs those statements with the registrar key it holds. Holdings and shipments are the
enterprise's own (its API token or a request signed with its key) or an inspector's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from trace import queries
from trace.access import Caller
from trace.context import ROLES
from trace.registry import CATEGORIES, STATUSES

from .auth import AUTHORITY_ROLES, require_account, require_enterprise_or_role
from .bodies import json_body
from .context import read_session
from .pages import cursor_arg, limit_arg, page_cursor, text_arg
from .registrar import append_as_registrar
from .responses import json_response
from .schemas import (
    AppendedSchema,
    EnterprisePageSchema,
    EnterpriseRegisterSchema,
    EnterpriseSchema,
    EnterpriseStatusChangeSchema,
    HoldingPageSchema,
    KeyAddSchema,
    KeyRevokeSchema,
    ProductPageSchema,
    ProductSchema,
    ShipmentPageSchema,
)

blueprint = Blueprint("enterprises", __name__)



@blueprint.get("/enterprises")
def list_enterprises() -> Any:
    """List registered enterprises.
    ---
    get:
      tags: [enterprises]
      summary: Registered enterprises, by credit code, with their public standing
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [active, abnormal, blacklisted, deregistered]}}
        - {name: region, in: query, schema: {type: string, pattern: '^[0-9]{6}$'}}
        - name: role
          in: query
          schema: {type: string, enum: [producer, processor, wholesaler, retailer, caterer, logistics]}
        - name: q
          in: query
          description: name contains it (any case), or credit code starts with it
          schema: {type: string, minLength: 1, maxLength: 50}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: EnterprisePage}}}
        400: {$ref: '#/components/responses/Error'}
    """
    after, limit = cursor_arg(str), limit_arg()
    rows = queries.list_enterprises(read_session(), after=after[0] if after else None, limit=limit,
                                    status=text_arg("status", choices=STATUSES), region=text_arg("region", 6),
                                    role=text_arg("role", choices=ROLES), q=text_arg("q", 50))
    return jsonify(EnterprisePageSchema().dump({"enterprises": rows,
                                                "next_cursor": page_cursor(rows, "credit_code", limit)}))


@blueprint.get("/enterprises/<credit_code>")
def get_enterprise(credit_code: str) -> Any:
    """One enterprise.
    ---
    get:
      tags: [enterprises]
      summary: An enterprise's public record, its credit standing and every key it has had
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      responses:
        200: {description: the enterprise, content: {application/json: {schema: Enterprise}}}
        404: {$ref: '#/components/responses/Error'}
    """
    return jsonify(EnterpriseSchema().dump(queries.enterprise(read_session(), credit_code)))


@blueprint.post("/enterprises")
def register_enterprise() -> Any:
    """Register an enterprise (registrar).
    ---
    post:
      tags: [enterprises]
      summary: Register an enterprise under its unified social credit code
      description: The registrar's account only; appends trace.enterprise.register signed by the registrar key.
      security: [{bearerAuth: []}]
      requestBody: {required: true, content: {application/json: {schema: EnterpriseRegister}}}
      responses:
        201: {description: registered, content: {application/json: {schema: Appended}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = require_account("registrar")
    body = json_body(EnterpriseRegisterSchema())
    return _registrar_appends(caller, "trace.enterprise.register", body, status=201)


@blueprint.post("/enterprises/<credit_code>/status")
def change_status(credit_code: str) -> Any:
    """Change an enterprise's status (registrar).
    ---
    post:
      tags: [enterprises]
      summary: Put an enterprise on or off the abnormal list or blacklist, or deregister it
      security: [{bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody: {required: true, content: {application/json: {schema: EnterpriseStatusChange}}}
      responses:
        200: {description: recorded, content: {application/json: {schema: Appended}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = require_account("registrar")
    body = json_body(EnterpriseStatusChangeSchema())
    return _registrar_appends(caller, "trace.enterprise.status", {"credit_code": credit_code, **body})


@blueprint.post("/enterprises/<credit_code>/keys")
def add_key(credit_code: str) -> Any:
    """Add a key to an enterprise (registrar).
    ---
    post:
      tags: [keys]
      summary: Register a public key for the enterprise (ledger.key.add by the registrar)
      security: [{bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody: {required: true, content: {application/json: {schema: KeyAdd}}}
      responses:
        201: {description: added, content: {application/json: {schema: Appended}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = require_account("registrar")
    body = json_body(KeyAddSchema())
    queries.enterprise(read_session(), credit_code)
    return _registrar_appends(caller, "ledger.key.add", {"subject": credit_code, **body}, status=201)


@blueprint.post("/enterprises/<credit_code>/keys/<key>/revoke")
def revoke_key(credit_code: str, key: str) -> Any:
    """Revoke an enterprise's key (registrar).
    ---
    post:
      tags: [keys]
      summary: Revoke a key at once, for example after a device is lost (ledger.key.revoke by the registrar)
      security: [{bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: key, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{16}$'}}
      requestBody: {required: true, content: {application/json: {schema: KeyRevoke}}}
      responses:
        200: {description: revoked, content: {application/json: {schema: Appended}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    caller = require_account("registrar")
    body = json_body(KeyRevokeSchema())
    return _registrar_appends(caller, "ledger.key.revoke", {"subject": credit_code, "key": key, **body})


@blueprint.get("/enterprises/<credit_code>/holdings")
def holdings(credit_code: str) -> Any:
    """What an enterprise holds now (the enterprise or an authority).
    ---
    get:
      tags: [enterprises]
      summary: The enterprise's current holdings
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: HoldingPage}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    require_enterprise_or_role(credit_code, AUTHORITY_ROLES, f"reading enterprise {credit_code}'s records")
    after, limit = cursor_arg(str), limit_arg()
    rows = queries.holdings_of(read_session(), credit_code, after=after[0] if after else None, limit=limit)
    return json_response(HoldingPageSchema().dump({"holdings": rows, "next_cursor": page_cursor(rows, "ref", limit)}),
                         cache="private, no-store")


@blueprint.get("/enterprises/<credit_code>/shipments")
def shipments(credit_code: str) -> Any:
    """An enterprise's shipments (the enterprise or an authority).
    ---
    get:
      tags: [enterprises]
      summary: Shipments the enterprise sent (outgoing) or that are addressed to it (incoming)
      security: [{bearerAuth: []}, {traceSignature: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
        - {name: direction, in: query, schema: {type: string, enum: [incoming, outgoing], default: incoming}}
        - {name: status, in: query, schema: {type: string, enum: [in_transit, received]}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: ShipmentPage}}}
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    require_enterprise_or_role(credit_code, AUTHORITY_ROLES, f"reading enterprise {credit_code}'s records")
    after, limit = cursor_arg(int), limit_arg()
    rows = queries.shipments_of(read_session(), credit_code,
                                direction=text_arg("direction", choices=frozenset({"incoming", "outgoing"}))
                                or "incoming",
                                status=text_arg("status", choices=frozenset({"in_transit", "received"})),
                                after=after[0] if after else None, limit=limit)
    return json_response(ShipmentPageSchema().dump({"shipments": rows,
                                                    "next_cursor": page_cursor(rows, "ship_index", limit)}),
                         cache="private, no-store")


@blueprint.get("/products")
def list_products() -> Any:
    """List products.
    ---
    get:
      tags: [products]
      summary: Products by GTIN
      parameters:
        - {name: owner, in: query, schema: {type: string, maxLength: 18}}
        - {name: category, in: query, schema: {type: string, enum: [food, drug, farm, daily, special_equipment, gi]}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        200: {description: one page, content: {application/json: {schema: ProductPage}}}
        400: {$ref: '#/components/responses/Error'}
    """
    after, limit = cursor_arg(str), limit_arg()
    rows = queries.list_products(read_session(), after=after[0] if after else None, limit=limit,
                                 owner=text_arg("owner", 18), category=text_arg("category", choices=CATEGORIES))
    return jsonify(ProductPageSchema().dump({"products": rows, "next_cursor": page_cursor(rows, "gtin", limit)}))


@blueprint.get("/products/<gtin>")
def get_product(gtin: str) -> Any:
    """One product.
    ---
    get:
      tags: [products]
      summary: A product by GTIN-8, -12, -13 or -14
      parameters:
        - {name: gtin, in: path, required: true, schema: {type: string, pattern: '^[0-9]{8,14}$'}}
      responses:
        200: {description: the product, content: {application/json: {schema: Product}}}
        400: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    return jsonify(ProductSchema().dump(queries.product(read_session(), gtin)))


def _registrar_appends(caller: Caller, type: str, body: dict[str, Any], status: int = 200) -> Any:
    result = append_as_registrar(caller, type, body)
    return json_response(AppendedSchema().dump({"index": result.index, "statement_hash": result.statement_hash}),
                         status=status)
