"""Public ledger endpoints: health, latest checkpoint, proofs, entry bundles. Immutable answers (a proof at a
fixed tree size, an entry) carry long-lived cache headers and ETags."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select

from ledger import consistency, entry_bundle, inclusion, latest_checkpoint
from ledger.models import LedgerHead

from .context import app_context, read_session
from .errors import error_response
from .pages import int_arg
from .responses import immutable_response, json_response

blueprint = Blueprint("ledger", __name__)


@blueprint.get("/health")
def health() -> Any:
    """Report whether the ledger is initialised, how many entries it holds, and the operator's verifier key.

    Never cached. While the ledger has no genesis entry the same body answers 503 with status ``uninitialised``.
    ---
    get:
      security: []
      responses:
        200:
          description: the ledger is initialised
          headers:
            Cache-Control:
              schema: {type: string, example: no-store}
          content:
            application/json:
              schema: &health
                type: object
                required: [status, database, ledger]
                additionalProperties: false
                properties:
                  status: {type: string, enum: [ok, uninitialised]}
                  database:
                    type: string
                    description: the database backend, `sqlite` or `postgresql`
                  ledger:
                    type: object
                    required: [origin, size, operator_key]
                    additionalProperties: false
                    properties:
                      origin:
                        type: string
                        description: the ledger's name, also the checkpoint key name
                      size: {type: integer, minimum: 0, description: number of entries}
                      operator_key:
                        type: string
                        description: the operator's verifier key (C2SP note format); checkpoints verify against it
        503:
          description: the ledger has no genesis entry yet (status `uninitialised`)
          content:
            application/json:
              schema: *health
    """
    session = read_session()
    head = session.scalars(select(LedgerHead)).first()
    context = app_context()
    body: dict[str, Any] = {"status": "ok" if head is not None else "uninitialised",
                            "database": context.engine.url.get_backend_name(),
                            "ledger": {"origin": context.settings.ledger_origin,
                                       "size": head.tree_size if head else 0,
                                       "operator_key": context.operator_key.text()}}
    return json_response(body, cache="no-store", status=200 if head is not None else 503)


@blueprint.get("/ledger/checkpoint")
def checkpoint() -> Any:
    """The latest checkpoint: the tree size and root hash signed by the operator, as a C2SP signed note.

    Verify it with the operator's verifier key (see `/api/v1/health`); proofs are answered against its size.
    ---
    get:
      security: []
      responses:
        200:
          description: the signed checkpoint note (origin, tree size, base64 root hash, blank line, signature)
          content:
            text/plain:
              schema: {type: string}
        404:
          description: the ledger has no checkpoint yet (`ledger.not_initialised`)
    """
    record = latest_checkpoint(read_session())
    if record is None:
        return error_response(404, "ledger.not_initialised", "the ledger has no checkpoint yet")
    response = Response(record.note, mimetype="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/ledger/proofs/inclusion")
def inclusion_proof() -> Any:
    """Inclusion proof of one entry in the tree of a given size (RFC 9162 §2.1.3).

    The answer for a fixed index and tree size never changes: it carries an ETag and is cacheable forever.
    ---
    get:
      security: []
      parameters:
        - name: index
          in: query
          required: true
          description: 0-based index of the entry
          schema: {type: integer, minimum: 0, maximum: 999999999999999999}
        - name: tree_size
          in: query
          required: true
          description: size of the tree, at most the latest checkpoint's size and greater than `index`
          schema: {type: integer, minimum: 1, maximum: 999999999999999999}
        - name: If-None-Match
          in: header
          required: false
          description: the ETag of an earlier answer; answered 304 when unchanged
          schema: {type: string}
      responses:
        200:
          description: the audit path, from the leaf upwards
          headers:
            ETag:
              schema: {type: string}
            Cache-Control:
              schema: {type: string, example: "public, max-age=31536000, immutable"}
          content:
            application/json:
              schema:
                type: object
                required: [index, tree_size, inclusion]
                additionalProperties: false
                properties:
                  index: {type: integer, minimum: 0}
                  tree_size: {type: integer, minimum: 1}
                  inclusion:
                    type: array
                    items: {type: string, format: byte, description: base64 SHA-256 node hash}
        304:
          description: not modified (the `If-None-Match` ETag matches)
        400:
          description: a parameter is missing or not a non-negative integer (`request.parameter`)
        404:
          description: the tree size exceeds the latest checkpoint or the index is outside the tree (`proof.size`)
    """
    index, size = int_arg("index"), int_arg("tree_size")
    proof = inclusion(read_session(), index, size)
    return immutable_response({"index": index, "tree_size": size, "inclusion": [_b64(value) for value in proof]})


@blueprint.get("/ledger/proofs/consistency")
def consistency_proof() -> Any:
    """Consistency proof between two tree sizes (RFC 9162 §2.1.4): the older tree is a prefix of the newer.

    The answer for fixed sizes never changes: it carries an ETag and is cacheable forever.
    ---
    get:
      security: []
      parameters:
        - name: old_size
          in: query
          required: true
          description: size of the older tree (a checkpoint the client already trusts)
          schema: {type: integer, minimum: 0, maximum: 999999999999999999}
        - name: new_size
          in: query
          required: true
          description: size of the newer tree, at most the latest checkpoint's size
          schema: {type: integer, minimum: 0, maximum: 999999999999999999}
        - name: If-None-Match
          in: header
          required: false
          description: the ETag of an earlier answer; answered 304 when unchanged
          schema: {type: string}
      responses:
        200:
          description: the consistency proof (empty when `old_size` is 0 or equals `new_size`)
          headers:
            ETag:
              schema: {type: string}
            Cache-Control:
              schema: {type: string, example: "public, max-age=31536000, immutable"}
          content:
            application/json:
              schema:
                type: object
                required: [old_size, new_size, consistency]
                additionalProperties: false
                properties:
                  old_size: {type: integer, minimum: 0}
                  new_size: {type: integer, minimum: 0}
                  consistency:
                    type: array
                    items: {type: string, format: byte, description: base64 SHA-256 node hash}
        304:
          description: not modified (the `If-None-Match` ETag matches)
        400:
          description: a parameter is missing or not a non-negative integer (`request.parameter`)
        404:
          description: the new size exceeds the latest checkpoint or is below the old size (`proof.size`)
    """
    old, new = int_arg("old_size"), int_arg("new_size")
    proof = consistency(read_session(), old, new)
    return immutable_response({"old_size": old, "new_size": new, "consistency": [_b64(value) for value in proof]})


@blueprint.get("/ledger/entries/<int:index>/bundle")
def bundle(index: int) -> Any:
    """The self-contained proof bundle of one entry, verifiable offline with only the operator's key.

    It holds the checkpoint, the entry's leaf and inclusion proof, and the same for the genesis entry and the
    entries that registered the signing key. Without `tree_size` it is proved against the latest checkpoint and
    not cached; with `tree_size` it is immutable, with an ETag.
    ---
    get:
      security: []
      parameters:
        - name: index
          in: path
          required: true
          description: 0-based index of the entry
          schema: {type: integer, minimum: 0}
        - name: tree_size
          in: query
          required: false
          description: prove against the checkpoint of exactly this size (default the latest)
          schema: {type: integer, minimum: 1, maximum: 999999999999999999}
        - name: If-None-Match
          in: header
          required: false
          description: the ETag of an earlier answer with `tree_size`; answered 304 when unchanged
          schema: {type: string}
      responses:
        200:
          description: the bundle (format `trace-ledger-proof/1`)
          content:
            application/json:
              schema:
                type: object
                required: [format, checkpoint, entries, index]
                additionalProperties: false
                properties:
                  format: {type: string, enum: [trace-ledger-proof/1]}
                  checkpoint: {type: string, description: the signed checkpoint note the proofs are against}
                  index: {type: integer, minimum: 0}
                  entries:
                    type: array
                    description: the genesis entry, the key registrations and the entry itself, by index
                    items:
                      type: object
                      required: [index, leaf, inclusion]
                      additionalProperties: false
                      properties:
                        index: {type: integer, minimum: 0}
                        leaf: {type: object, description: the entry's leaf (docs/ledger-format.md)}
                        inclusion:
                          type: array
                          items: {type: string, format: byte}
        304:
          description: not modified (the `If-None-Match` ETag matches)
        400:
          description: "`tree_size` is not a non-negative integer (`request.parameter`)"
        404:
          description: >-
            the entry is outside the tree (`proof.size`) or there is no checkpoint of that size
            (`proof.no_checkpoint`)
    """
    size = request.args.get("tree_size")
    body = entry_bundle(read_session(), index, tree_size=int_arg("tree_size") if size is not None else None)
    if size is None:
        return json_response(body, cache="no-cache")
    return immutable_response(body)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
