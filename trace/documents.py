"""Certificate documents: the scans and PDFs whose SHA-256 a batch statement carries in ``certificates[].sha256``.

The bytes are stored exactly as uploaded, since their digest is what the ledger names; the workspace strips a
photo's metadata by re-encoding it in the browser before hashing. An upload is checked before it is kept: an image
must decode with Pillow's reader for its declared type within :data:`MAX_PIXELS` (a decompression bomb is
refused), a PDF must start with ``%PDF-``. A document is read by the enterprises that uploaded it, by those whose
batches cite it, and by the authorities; to anyone else it does not exist.

Functions take a session and a clock and never commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import LedgerError

from .access import Caller
from .images import ImageRejected, open_image
from .models import Batch
from .queries import NotFound
from .workspace_models import Document, DocumentUpload

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 50_000_000
#: Accepted media types and the Pillow format each image must decode as (``None``: a PDF, not decoded).
MEDIA_TYPES: dict[str, str | None] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP",
                                      "application/pdf": None}
#: Who may read any document: the authorities.
AUTHORITY_ROLES = ("inspector", "registrar")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DocumentError(LedgerError):
    """An upload is not a document the service keeps: ``document.invalid``, ``document.media_type``."""

    code = "document.invalid"


def check_document(data: bytes, media_type: str) -> None:
    """Raise :class:`DocumentError` unless ``data`` is a non-empty document of ``media_type`` of at most
    :data:`MAX_DOCUMENT_BYTES`: an image that decodes within :data:`MAX_PIXELS`, or a PDF by its header."""
    if media_type not in MEDIA_TYPES:
        raise DocumentError(f"send a document as one of {', '.join(MEDIA_TYPES)}, not {media_type or 'nothing'}",
                            code="document.media_type")
    if not data or len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"a document has 1 to {MAX_DOCUMENT_BYTES} bytes, found {len(data)}")
    image_format = MEDIA_TYPES[media_type]
    if image_format is None:
        if not data.startswith(b"%PDF-"):
            raise DocumentError(f"a PDF starts with %PDF-, found {data[:5]!r}")
        return
    try:
        with open_image(data, (image_format,), max_pixels=MAX_PIXELS) as image:
            image.load()
    except ImageRejected as exc:
        raise DocumentError(exc.message) from None


def store_document(session: Session, *, credit_code: str, data: bytes, media_type: str,
                   now: datetime) -> tuple[Document, bool]:
    """Keep ``data`` (checked by :func:`check_document`) as uploaded by ``credit_code``; returns the document and
    whether its bytes are new. The same bytes again are the same document; another media type for them is
    refused (``document.invalid``)."""
    check_document(data, media_type)
    digest = hashlib.sha256(data).hexdigest()
    row = session.get(Document, digest)
    created = row is None
    if row is None:
        row = Document(sha256=digest, media_type=media_type, size=len(data), data=data, created_at=now)
        session.add(row)
    elif row.media_type != media_type:
        raise DocumentError(f"these bytes were uploaded as {row.media_type}, not {media_type}")
    if session.get(DocumentUpload, (digest, credit_code)) is None:
        session.add(DocumentUpload(sha256=digest, credit_code=credit_code, uploaded_at=now))
    session.flush()
    return row, created


def readable_document(session: Session, sha256: str, caller: Caller) -> Document:
    """The document ``sha256`` if ``caller`` may read it: an authority, an enterprise that uploaded it, or one
    whose batches cite it. Raises ``not_found.document`` otherwise, as for a document that does not exist."""
    row = session.get(Document, sha256) if _SHA256.fullmatch(sha256) else None
    if row is not None and (caller.has_role(*AUTHORITY_ROLES) or
                            (caller.enterprise is not None and _may_read(session, sha256, caller.enterprise))):
        return row
    raise NotFound(f"no document {sha256} for this caller", code="not_found.document")


def _may_read(session: Session, sha256: str, credit_code: str) -> bool:
    if session.get(DocumentUpload, (sha256, credit_code)) is not None:
        return True
    citing = session.scalars(select(Batch.certificates).where(Batch.creator == credit_code,
                                                              Batch.certificates.contains(sha256)))
    return any(sha256 in {item.get("sha256") for item in json.loads(text)} for text in citing)
