"""Risk warnings: the vocabulary of the rules that tell inspectors what to look at, and inspectors' reviews of them.

The rules themselves (:mod:`trace.risk_rules`) are queries over the state tables, the complaint tables and the
look-up counts; they change nothing. A warning names its rule, its severity, its subject (a batch reference, an
enterprise's credit code or a code looked up on the public page) and its evidence: ledger entry indexes, figures
and times. The digest of the evidence (:func:`evidence_digest`) is what a review commits to, so a review covers
exactly what the inspector saw; when the evidence grows afterwards, the warning shows again as changed.

A review is a statement of the registrar signed with the reviewing officer's own key, ``trace.risk.review``, with
body ``{rule, subject, decision, note?, evidence_sha256}``. It links no batch and can never be corrected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger.canonical import canonicalize

from .body import Body
from .context import Context
from .errors import DomainError, EnterpriseError

RISK_REVIEW = "trace.risk.review"

COMPLAINTS_BATCH = "complaints.batch"
COMPLAINTS_ENTERPRISE = "complaints.enterprise"
COLD_CHAIN = "cold_chain.excursion"
SALE_AFTER_EXPIRY = "sale.after_expiry"
SALE_AFTER_RECALL = "sale.after_recall"
SHIPMENT_NOT_RECEIVED = "shipment.not_received"
SHORT_RECEIPT = "quantity.short_receipt"
TRANSFORM_GAIN = "quantity.transform_gain"
HOLDINGS_MISMATCH = "quantity.holdings_mismatch"
CODE_MANY_PLACES = "scan.many_places"
LATE_RECORD = "record.late"

#: Every rule, in the order the console lists them, with its severity.
SEVERITY: dict[str, str] = {
    SALE_AFTER_RECALL: "high",
    SALE_AFTER_EXPIRY: "high",
    CODE_MANY_PLACES: "high",
    HOLDINGS_MISMATCH: "high",
    COMPLAINTS_BATCH: "medium",
    COMPLAINTS_ENTERPRISE: "medium",
    COLD_CHAIN: "medium",
    SHORT_RECEIPT: "medium",
    TRANSFORM_GAIN: "medium",
    SHIPMENT_NOT_RECEIVED: "low",
    LATE_RECORD: "low",
}
RULES: tuple[str, ...] = tuple(SEVERITY)
SEVERITIES = ("high", "medium", "low")
DECISIONS = ("noted", "dismissed", "escalated")
#: A dismissal or an escalation says why; noting a warning needs no words.
NOTE_REQUIRED = frozenset({"dismissed", "escalated"})
MAX_NOTE = 500
MAX_SUBJECT = 256

# -- thresholds (docs/console-risks.md) ----------------------------------------------------------------------
#: A complaint cluster: this many complaints or more ...
COMPLAINT_CLUSTER = 3
#: ... filed within this many days before now, on one batch or on one enterprise's products (two batches or more).
COMPLAINT_DAYS = 30
#: A shipment still in transit this many days after it was recorded was never received.
TRANSIT_DAYS = 7
#: A receipt short of what was shipped by more than this fraction of the shipped quantity.
SHORT_RECEIPT_TOLERANCE = Decimal("0.02")
#: A transformation whose outputs in one unit exceed its inputs in that unit by more than this fraction (the
#: rules declare no conversion ratio, so none is allowed; a unit that only the outputs use is not compared).
TRANSFORM_TOLERANCE = Decimal("0")
#: A batch whose outstanding quantity and what holdings, shipments in transit and pallets account for differ by
#: more than this (half the smallest quantity a statement can state).
QUANTITY_EPSILON = Decimal("0.0000005")
#: A serialised unit or drug code looked up from more than this many networks (a copied label).
PLACES_LIMIT = 5
#: An event recorded more than this many hours after the time its statement claims.
LATE_HOURS = 72
#: A warning lists at most this many items of its evidence (the latest); its figures count them all.
EVIDENCE_LIMIT = 20
#: ``SHA-256(EVIDENCE_DOMAIN || canonical JSON of {"rule", "subject", "evidence"})``.
EVIDENCE_DOMAIN = b"trace-ledger/v1/risk-evidence\x00"

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Thresholds:
    """The rules' parameters; the defaults are the module constants above."""

    complaints: int = COMPLAINT_CLUSTER
    complaint_days: int = COMPLAINT_DAYS
    transit_days: int = TRANSIT_DAYS
    short_receipt_tolerance: Decimal = SHORT_RECEIPT_TOLERANCE
    transform_tolerance: Decimal = TRANSFORM_TOLERANCE
    quantity_epsilon: Decimal = QUANTITY_EPSILON
    places: int = PLACES_LIMIT
    late_hours: int = LATE_HOURS
    evidence_limit: int = EVIDENCE_LIMIT

    def __post_init__(self) -> None:
        for name in ("complaints", "complaint_days", "transit_days", "places", "late_hours", "evidence_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"threshold {name} must be at least 1, found {getattr(self, name)}")
        for name in ("short_receipt_tolerance", "transform_tolerance", "quantity_epsilon"):
            value = getattr(self, name)
            if not Decimal(0) <= value < Decimal(1):
                raise ValueError(f"threshold {name} must be a fraction in [0, 1), found {value}")


@dataclass(frozen=True)
class RiskWarning:
    """One warning. ``batch`` is the batch whose public page shows the chain (``None`` when the subject is an
    enterprise); ``enterprises`` the credit codes involved (for filtering); ``at`` the time of the latest
    evidence; ``facts`` the figures of the one-line finding; ``evidence`` canonical-JSON-able: ``entries`` (entry
    indexes), ``figures`` and ``items`` (one object per event, shipment, complaint, ...)."""

    rule: str
    subject: str
    batch: str | None
    enterprises: tuple[str, ...]
    at: datetime | None
    facts: dict[str, str | int]
    evidence: dict[str, Any] = field(hash=False)

    @property
    def severity(self) -> str:
        return SEVERITY[self.rule]

    @property
    def entries(self) -> list[int]:
        entries: list[int] = self.evidence.get("entries", [])
        return entries

    @property
    def evidence_sha256(self) -> str:
        return evidence_digest(self.rule, self.subject, self.evidence)


def evidence_digest(rule: str, subject: str, evidence: dict[str, Any]) -> str:
    """The digest a review of this warning carries: SHA-256 over :data:`EVIDENCE_DOMAIN` and the RFC 8785
    canonical JSON of ``{"rule", "subject", "evidence"}``. Raises :class:`ledger.StatementError` when the
    evidence holds a float (figures are decimal strings)."""
    return hashlib.sha256(EVIDENCE_DOMAIN + canonicalize({"rule": rule, "subject": subject,
                                                          "evidence": evidence})).hexdigest()


# -- reviews ---------------------------------------------------------------------------------------------------


def review_warning(ctx: Context) -> None:
    """The registrar records an inspector's review of a warning: ``noted``, ``dismissed`` or ``escalated``.

    The rules read tables outside the ledger (complaints, look-ups), so the statement cannot be checked against
    the warning itself: it commits to the evidence by digest, and the console checks the digest against the
    warning it shows before signing. Raises ``enterprise.not_registrar`` for anyone else, ``body.*`` for a
    missing, unknown or malformed field (``body.choice`` for an unknown rule or decision), and
    ``risk.note_required`` for a dismissal or an escalation without a note.
    """
    if not ctx.is_registrar:
        raise EnterpriseError(f"{RISK_REVIEW} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    body = Body(ctx.statement.body, "body", {"rule", "subject", "decision", "evidence_sha256"}, {"note"})
    rule = body.choice("rule", set(RULES))
    subject = body.required_text("subject", MAX_SUBJECT)
    decision = body.choice("decision", set(DECISIONS))
    note = body.text("note", MAX_NOTE, optional=True)
    if note is None and decision in NOTE_REQUIRED:
        raise DomainError(f"a review that {decision} a warning says why in body.note", code="risk.note_required")
    digest = body.sha256("evidence_sha256")
    ctx.summary = {"rule": rule, "subject": subject, "decision": decision, "note": note, "evidence_sha256": digest}
