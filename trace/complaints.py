"""Consumer complaints (投诉举证) as the ledger sees them: a salted commitment, never the complaint itself.

The registrar anchors each complaint filed through the public channel with a ``trace.complaint.anchor`` statement
whose body names the batch, the category, the receive time and ``commitment``: the SHA-256 of a domain-separated,
salted canonical record of the complaint (:func:`complaint_commitment`). No personal data and no description text
enter the ledger; the complainant, who is shown the salt and the record, can recompute the commitment and find
the entry. Once anchored, a complaint cannot be dropped without the ledger showing it: the anchor is not
correctable (:mod:`trace.rules`).

This module also holds what the channel checks on every complaint before it is anchored (categories, text
limits, :func:`clean_text`), so the web form, the service and later the inspectors' tools agree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from typing import Any

from ledger.canonical import canonicalize
from ledger.errors import LedgerError
from ledger.rules import MAX_CLOCK_SKEW
from ledger.statements import parse_time

from .body import Body
from .context import Context
from .errors import BodyError, CustodyError, DomainError, EnterpriseError
from .records import BatchRecord

ANCHOR = "trace.complaint.anchor"
CATEGORIES = ("quality", "foreign_matter", "counterfeit", "expired", "adverse_reaction", "labelling", "other")
#: received → investigating → referred (to another authority) → resolved; issue 6 adds the inspectors' queue.
STATUSES = ("received", "investigating", "referred", "resolved")
MAX_DESCRIPTION = 2000
MAX_CONTACT = 100
MAX_PHOTOS = 5
#: ``SHA-256(COMMITMENT_DOMAIN || canonical JSON of the record)`` (docs/complaints.md).
COMMITMENT_DOMAIN = b"trace-ledger/v1/complaint-commitment\x00"
SALT_BYTES = 32

_REMOVED = re.compile(  # C0/C1 controls except tab and newline, bidi embeddings/overrides/isolates, BOM
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_HEX = re.compile(r"[0-9a-f]+")


class ComplaintError(DomainError):
    """A complaint cannot be filed or read as given (``complaint.*``): a bad category, an empty description,
    too many photos, an unknown ticket or key."""

    code = "complaint.invalid"


def clean_text(value: str, *, multiline: bool) -> str:
    """``value`` made inert as plain text: Unicode NFC, line breaks as ``\\n`` (or spaces for one line), tabs
    as spaces, control and bidirectional-override characters removed, blank-line runs shortened, ends stripped.

    Escaping for HTML is the templates' job (autoescape); this removes what escaping leaves dangerous in a
    text shown to inspectors and enterprises (spoofed reading order, terminal control sequences in exports).
    """
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n").replace("\t", " ")
    text = _REMOVED.sub("", text)
    if not multiline:
        text = " ".join(text.split())
    return _BLANK_RUNS.sub("\n\n", text).strip()


def check_complaint(category: str, description: str, contact: str | None, photo_count: int) -> None:
    """Raise :class:`ComplaintError` naming the first problem of an already cleaned complaint:
    ``complaint.category``, ``complaint.description`` (empty or over :data:`MAX_DESCRIPTION` characters),
    ``complaint.contact`` (over :data:`MAX_CONTACT`), ``complaint.photos`` (over the limit)."""
    if category not in CATEGORIES:
        raise ComplaintError(f"category must be one of {', '.join(CATEGORIES)}, found {category[:40]!r}",
                             code="complaint.category")
    if not description or len(description) > MAX_DESCRIPTION:
        raise ComplaintError(f"the description must have 1 to {MAX_DESCRIPTION} characters, found "
                             f"{len(description)}", code="complaint.description")
    if contact is not None and len(contact) > MAX_CONTACT:
        raise ComplaintError(f"the contact must have at most {MAX_CONTACT} characters, found {len(contact)}",
                             code="complaint.contact")
    if photo_count > MAX_PHOTOS:
        raise ComplaintError(f"at most {MAX_PHOTOS} photos, found {photo_count}", code="complaint.photos")


def commitment_record(*, ticket: str, ref: str, category: str, description: str, photo_sha256: list[str],
                      received: str, salt: str) -> dict[str, Any]:
    """The record a complaint's commitment is made over. The contact is left out on purpose: it may be erased
    (personal data) without making the commitment unverifiable."""
    return {"v": 1, "ticket": ticket, "batch": ref, "category": category, "description": description,
            "photos": list(photo_sha256), "received": received, "salt": salt}


def complaint_commitment(record: dict[str, Any]) -> str:
    """``SHA-256(COMMITMENT_DOMAIN || RFC 8785 canonical JSON of record)`` in lower-case hex.

    Raises :class:`ComplaintError` (``complaint.salt``) when the record's salt is not 64 lower-case hex digits:
    an unsalted commitment to a short text could be reversed by guessing."""
    salt = record.get("salt")
    if not isinstance(salt, str) or len(salt) != 2 * SALT_BYTES or not _HEX.fullmatch(salt):
        raise ComplaintError("a complaint commitment needs a salt of 64 lower-case hex digits",
                             code="complaint.salt")
    return hashlib.sha256(COMMITMENT_DOMAIN + canonicalize(record)).hexdigest()


def anchor_complaint(ctx: Context) -> None:
    """The registrar anchors a complaint about an existing batch. Body ``batch``, ``category``, ``commitment``,
    ``received`` exactly; links nothing (a complaint is not a custody event and must not become any batch's
    latest event, which would block its holder's corrections)."""
    if not ctx.is_registrar:
        raise EnterpriseError(f"{ANCHOR} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    body = Body(ctx.statement.body, "body", {"batch", "category", "commitment", "received"})
    ref = body.required_text("batch", 256)
    if ctx.book.get(BatchRecord, ref) is None:
        raise CustodyError(f"batch {ref} does not exist", code="batch.unknown")
    category = body.choice("category", set(CATEGORIES))
    commitment = body.sha256("commitment")
    received = body.required_text("received", 40)
    moment = _time(received, "body.received")
    if moment - ctx.received > MAX_CLOCK_SKEW:
        raise BodyError(f"body.received {received} is more than {MAX_CLOCK_SKEW} after the entry's receive time "
                        f"{ctx.received.isoformat()}", code="body.date")
    ctx.summary = {"batch": ref, "category": category, "commitment": commitment, "received": received}


def _time(text: str, field: str) -> datetime:
    try:
        return parse_time(text)
    except LedgerError:
        raise BodyError(f"{field} must be an RFC 3339 time with its UTC offset, found {text!r}",
                        code="body.date") from None
