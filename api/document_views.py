"""Certificate documents: an enterprise uploads the bytes whose SHA-256 its statements cite; they are read back by
the uploader, by the enterprises whose batches cite them and by the authorities (``docs/workspace.md``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request

from trace import documents
from trace.access import AccessError

from .auth import current_caller
from .bodies import raw_body
from .context import now, read_session, write_session
from .responses import json_response
from .schemas import DocumentSchema

logger = logging.getLogger(__name__)
blueprint = Blueprint("document", __name__)

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


@blueprint.post("/enterprises/<credit_code>/documents")
def upload_document(credit_code: str) -> Any:
    """Upload a certificate document.
    ---
    post:
      tags: [documents]
      summary: Upload a certificate scan or PDF as the raw body; answers its SHA-256 for certificates[].sha256
      description: >
        The enterprise's credential (API token or a request signed with any of its keys). Content-Type
        image/jpeg, image/png, image/webp or application/pdf, at most 8 MiB. The bytes are kept unchanged.
        201 when new, 200 when the same bytes were uploaded before.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: credit_code, in: path, required: true, schema: {type: string, maxLength: 18}}
      requestBody:
        required: true
        content:
          image/jpeg: {schema: {type: string, format: binary}}
          image/png: {schema: {type: string, format: binary}}
          image/webp: {schema: {type: string, format: binary}}
          application/pdf: {schema: {type: string, format: binary}}
      responses:
        201: {description: stored, content: {application/json: {schema: Document}}}
        200: {description: already stored, content: {application/json: {schema: Document}}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        413: {$ref: '#/components/responses/Error'}
        415: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    data = raw_body(documents.MAX_DOCUMENT_BYTES)  # refused by its length before the credential reads it
    caller = current_caller()
    if caller.enterprise != credit_code:
        code = "auth.required" if caller.via == "none" else "auth.forbidden"
        raise AccessError(f"uploading {credit_code}'s documents needs its API token or a request signed with its "
                          "key", code=code)
    session = write_session()
    row, created = documents.store_document(session, credit_code=credit_code, data=data,
                                            media_type=request.mimetype, now=now())
    out = DocumentSchema().dump({"sha256": row.sha256, "size": row.size, "media_type": row.media_type})
    session.commit()
    logger.info("document uploaded", extra={"sha256": out["sha256"], "credit_code": credit_code,
                                            "created": created})
    return json_response(out, cache="private, no-store", status=201 if created else 200)


@blueprint.get("/documents/<sha256>")
def get_document(sha256: str) -> Any:
    """Read a certificate document.
    ---
    get:
      tags: [documents]
      summary: The document's bytes with their media type, for the uploader, citing enterprises and authorities
      description: Anyone else gets 404, as for a document that does not exist.
      security: [{traceSignature: []}, {bearerAuth: []}]
      parameters:
        - {name: sha256, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{64}$'}}
      responses:
        200:
          description: the bytes as uploaded
          content:
            image/jpeg: {schema: {type: string, format: binary}}
            image/png: {schema: {type: string, format: binary}}
            image/webp: {schema: {type: string, format: binary}}
            application/pdf: {schema: {type: string, format: binary}}
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    row = documents.readable_document(read_session(), sha256, current_caller())
    response = Response(row.data, mimetype=row.media_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="{row.sha256}.{_EXTENSIONS[row.media_type]}"'
    return response
