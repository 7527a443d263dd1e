"""Console area for inspectors: risk warnings (:mod:`trace.risk_rules`), grouped by rule, filtered, each with its
evidence and links to the chain; an inspector reviews a warning (noted, dismissed or escalated), which appends a
``trace.risk.review`` statement signed with their own key (:mod:`trace.risks`).

The rules run on every page view over the live tables (docs/console-risks.md gives their cost).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from api.context import app_context, read_session
from ledger import LedgerError
from trace.complaints import clean_text
from trace.context import MARKET_TIME
from trace.identifiers import USCC_CHARSET
from trace.models import Enterprise
from trace.risk_rules import Review, compute_warnings, read_reviews
from trace.risks import (
    CODE_MANY_PLACES,
    COLD_CHAIN,
    COMPLAINTS_BATCH,
    COMPLAINTS_ENTERPRISE,
    DECISIONS,
    HOLDINGS_MISMATCH,
    LATE_RECORD,
    MAX_NOTE,
    NOTE_REQUIRED,
    RISK_REVIEW,
    RULES,
    SALE_AFTER_EXPIRY,
    SALE_AFTER_RECALL,
    SEVERITIES,
    SEVERITY,
    SHIPMENT_NOT_RECEIVED,
    SHORT_RECEIPT,
    TRANSFORM_GAIN,
    RiskWarning,
)

from ..i18n import current_language
from ..public_page import local_time
from .guard import act, current_officer, officer_required, page

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_risks", __name__, url_prefix="/console/risks")

#: Warnings shown per rule; the count says how many there are, the filters narrow them down.
SHOWN_PER_RULE = 100
ENTRY_LINK = "/api/v1/ledger/entries/{index}/bundle"
_CREDIT_CODE = re.compile(f"[{USCC_CHARSET}]{{18}}")
_BADGE = {"high": "badge-danger", "medium": "badge-warning", "low": "badge-neutral"}
_ENTRY_FIELDS = frozenset({"entry", "ship_entry", "recall_entry"})
_BATCH_FIELDS = frozenset({"batch", "recalled_batch"})
_TIME_FIELDS = frozenset({"filed_at", "reported_at", "claimed", "recorded_at", "recall_claimed", "shipped_at",
                          "received_at"})


@dataclass(frozen=True)
class Filters:
    rule: str = ""
    severity: str = ""
    enterprise: str = ""
    since: date | None = None
    hide_reviewed: bool = False

    def query(self) -> dict[str, str]:
        """The filters as query arguments (only those set)."""
        values = {"rule": self.rule, "severity": self.severity, "enterprise": self.enterprise,
                  "since": self.since.isoformat() if self.since else "", "reviewed": "hide" if self.hide_reviewed
                  else ""}
        return {name: value for name, value in values.items() if value}

    def admits(self, warning: RiskWarning, review: Review | None) -> bool:
        if self.severity and warning.severity != self.severity:
            return False
        if self.enterprise and self.enterprise not in warning.enterprises and self.enterprise != warning.subject:
            return False
        if self.since and (warning.at is None or warning.at < datetime.combine(self.since, time(), MARKET_TIME)):
            return False
        return not (self.hide_reviewed and review is not None and review.covers(warning))


@dataclass(frozen=True)
class Shown:
    """A warning as the page shows it: its latest review, and whether that review saw the current evidence."""

    warning: RiskWarning
    review: Review | None
    anchor: str

    @property
    def current(self) -> bool:
        return self.review is not None and self.review.covers(self.warning)


@dataclass(frozen=True)
class Group:
    rule: str
    warnings: list[Shown]

    @property
    def severity(self) -> str:
        return SEVERITY[self.rule]

    @property
    def reviewed(self) -> int:
        return sum(1 for item in self.warnings if item.current)

    @property
    def shown(self) -> list[Shown]:
        return self.warnings[:SHOWN_PER_RULE]


@blueprint.get("/")
@officer_required("inspector")
def index() -> Any:
    filters, errors = read_filters(request.args)
    reader = read_session()
    warnings = compute_warnings(reader, now=app_context().clock(), rules=[filters.rule] if filters.rule else RULES)
    reviews = read_reviews(reader)
    groups = {rule: Group(rule, []) for rule in ([filters.rule] if filters.rule else RULES)}
    for warning in sorted(warnings, key=_newest_first):
        review = reviews.get((warning.rule, warning.subject))
        if filters.admits(warning, review):
            groups[warning.rule].warnings.append(Shown(warning, review, anchor_of(warning.rule, warning.subject)))
    return page("console/risks/index.html", 400 if errors else 200, groups=list(groups.values()),
                filters=filters, errors=errors, rules=RULES, severities=SEVERITIES, decisions=DECISIONS,
                names=_names(warnings), total=sum(len(group.warnings) for group in groups.values()),
                rule_title=rule_title, severity_label=severity_label, decision_label=decision_label,
                finding=finding, field_label=field_label, value_text=value_text, badge=_BADGE,
                entry_link=entry_link, batch_link=batch_link, link_kind=link_kind, local_time=local_time,
                note_limit=MAX_NOTE)


@blueprint.post("/review")
@officer_required("inspector")
def review() -> Any:
    form = request.form
    filters, _errors = read_filters({name[2:]: value for name, value in form.items() if name.startswith("f_")})
    rule, subject = form.get("rule", ""), form.get("subject", "")[:300]
    back = url_for(".index", **filters.query()) + f"#{anchor_of(rule, subject)}"
    decision = form.get("decision", "")
    note = clean_text(form.get("note", "")[:4 * MAX_NOTE], multiline=False)
    if rule not in RULES:
        flash(_("Unknown rule %(rule)s.", rule=rule[:40]), "error")
        return redirect(url_for(".index", **filters.query()), 303)
    if decision not in DECISIONS:
        flash(_("Choose a decision: noted, dismissed or escalated."), "error")
        return redirect(back, 303)
    if decision in NOTE_REQUIRED and not note:
        flash(_("Say why in the note when you dismiss or escalate a warning."), "error")
        return redirect(back, 303)
    if len(note) > MAX_NOTE:
        flash(_("The note is longer than %(limit)s characters.", limit=MAX_NOTE), "error")
        return redirect(back, 303)
    warning = next((item for item in compute_warnings(read_session(), now=app_context().clock(), rules=[rule])
                    if item.subject == subject), None)
    if warning is None:
        flash(_("This warning is no longer raised: what caused it has changed. Nothing was recorded."), "error")
        return redirect(back, 303)
    if warning.evidence_sha256 != form.get("evidence_sha256", ""):
        flash(_("The evidence of this warning changed after the page was loaded. Look at it again, then review "
                "it."), "error")
        return redirect(back, 303)
    body: dict[str, Any] = {"rule": rule, "subject": subject, "decision": decision,
                            "evidence_sha256": warning.evidence_sha256}
    if note:
        body["note"] = note
    try:
        result = act(RISK_REVIEW, body)
    except LedgerError as error:
        flash(error.message, "error")
        return redirect(back, 303)
    officer = current_officer()
    logger.info("risk warning reviewed", extra={"rule": rule, "decision": decision, "entry_index": result.index,
                                               "account": officer.username if officer else None})
    flash(_("Review recorded in the ledger at entry %(index)s.", index=result.index))
    return redirect(back, 303)


def read_filters(args: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """The filters of a query; a bad value is left out and explained."""
    errors: list[str] = []
    rule = args.get("rule", "").strip()
    if rule and rule not in RULES:
        errors.append(_("Unknown rule %(rule)s.", rule=rule[:40]))
        rule = ""
    severity = args.get("severity", "").strip()
    if severity and severity not in SEVERITIES:
        errors.append(_("Severity must be high, medium or low."))
        severity = ""
    enterprise = args.get("enterprise", "").strip()
    if enterprise and enterprise != app_context().settings.registrar_id:
        enterprise = enterprise.upper()
        if not _CREDIT_CODE.fullmatch(enterprise):
            errors.append(_("%(code)s is not a unified social credit code (18 letters and digits).",
                            code=enterprise[:40]))
            enterprise = ""
    since: date | None = None
    if args.get("since", "").strip():
        try:
            since = date.fromisoformat(args["since"].strip())
        except ValueError:
            errors.append(_("The date must be written YYYY-MM-DD."))
    return Filters(rule, severity, enterprise, since, args.get("reviewed") == "hide"), errors


def anchor_of(rule: str, subject: str) -> str:
    return "w-" + hashlib.sha256(f"{rule}\x00{subject}".encode()).hexdigest()[:12]


def _newest_first(warning: RiskWarning) -> tuple[float, str]:
    return (-(warning.at.timestamp() if warning.at else 0.0), warning.subject)


def _names(warnings: list[RiskWarning]) -> dict[str, str]:
    """The names of the enterprises the warnings involve, in the page's language."""
    codes = {code for warning in warnings for code in warning.enterprises} | \
        {warning.subject for warning in warnings if warning.batch is None}
    if not codes:
        return {}
    english = current_language() == "en"
    rows = read_session().execute(select(Enterprise.credit_code, Enterprise.name, Enterprise.name_en)
                                  .where(Enterprise.credit_code.in_(codes)))
    return {code: (name_en or name) if english else name for code, name, name_en in rows}


# -- words -----------------------------------------------------------------------------------------------------


def rule_title(rule: str) -> str:
    titles = {
        COMPLAINTS_BATCH: _("Complaint cluster on a batch"),
        COMPLAINTS_ENTERPRISE: _("Complaint cluster on an enterprise's products"),
        COLD_CHAIN: _("Cold-chain excursion"),
        SALE_AFTER_EXPIRY: _("Sold after the expiry date"),
        SALE_AFTER_RECALL: _("Sold after a recall"),
        SHIPMENT_NOT_RECEIVED: _("Shipment never received"),
        SHORT_RECEIPT: _("Received less than shipped"),
        TRANSFORM_GAIN: _("Processing output exceeds its inputs"),
        HOLDINGS_MISMATCH: _("Holdings disagree with the batch"),
        CODE_MANY_PLACES: _("Code looked up from too many places"),
        LATE_RECORD: _("Events recorded late"),
    }
    return str(titles.get(rule, rule))


def severity_label(severity: str) -> str:
    return str({"high": _("High"), "medium": _("Medium"), "low": _("Low")}.get(severity, severity))


def decision_label(decision: str) -> str:
    return str({"noted": _("Noted"), "dismissed": _("Dismissed"), "escalated": _("Escalated")}.get(decision,
                                                                                                  decision))


def finding(warning: RiskWarning) -> str:
    """The warning in one plain sentence."""
    facts = warning.facts
    if warning.rule == COMPLAINTS_BATCH:
        return _("%(count)s complaints about this batch in the last %(days)s days.", count=facts["count"],
                 days=facts["days"])
    if warning.rule == COMPLAINTS_ENTERPRISE:
        return _("%(count)s complaints about %(batches)s batches of this enterprise's products in the last "
                 "%(days)s days.", count=facts["count"], batches=facts["batches"], days=facts["days"])
    if warning.rule == COLD_CHAIN:
        return _("%(readings)s temperature or humidity readings outside the allowed range, in %(reports)s sensor "
                 "reports.", readings=facts["readings"], reports=facts["reports"])
    if warning.rule == SALE_AFTER_EXPIRY:
        return _("Sold %(sales)s times after its expiry date %(expires)s.", sales=facts["sales"],
                 expires=facts["expires"])
    if warning.rule == SALE_AFTER_RECALL:
        return _("Sold %(sales)s times after the recall of %(source)s (entry %(recall)s) had taken effect.",
                 sales=facts["sales"], source=facts["source"], recall=facts["recall"])
    if warning.rule == SHIPMENT_NOT_RECEIVED:
        return _("%(shipments)s shipments still in transit more than %(days)s days after shipping (the oldest for "
                 "%(oldest)s days).", shipments=facts["shipments"], days=facts["days"], oldest=facts["oldest"])
    if warning.rule == SHORT_RECEIPT:
        return _("%(received)s %(unit)s received of %(shipped)s %(unit)s shipped, in %(shipments)s shipments.",
                 received=facts["received"], shipped=facts["shipped"], unit=facts["unit"],
                 shipments=facts["shipments"])
    if warning.rule == TRANSFORM_GAIN:
        return _("Processing made %(output)s %(unit)s from %(input)s %(unit)s of inputs.", output=facts["output"],
                 input=facts["input"], unit=facts["unit"])
    if warning.rule == HOLDINGS_MISMATCH:
        return _("%(outstanding)s %(unit)s of the batch still exist, but holdings, shipments in transit and pallets "
                 "account for %(accounted)s %(unit)s.", outstanding=facts["outstanding"],
                 accounted=facts["accounted"], unit=facts["unit"])
    if warning.rule == CODE_MANY_PLACES:
        return _("Looked up from %(places)s different networks (more than %(limit)s), %(lookups)s look-ups in all, "
                 "last on %(last)s: the label may have been copied.", places=facts["places"],
                 limit=facts["limit"], lookups=facts["lookups"], last=local_time(str(facts["last_at"])))
    if warning.rule == LATE_RECORD:
        return _("%(count)s events recorded more than %(hours)s hours after the time they claim (the longest: "
                 "%(longest)s hours).", count=facts["count"], hours=facts["hours"], longest=facts["longest"])
    return warning.rule


def field_label(name: str) -> str:
    labels = {
        "entry": _("Entry"), "ship_entry": _("Shipping entry"), "recall_entry": _("Recall entry"),
        "ticket": _("Ticket"), "batch": _("Batch"), "category": _("Category"), "filed_at": _("Filed"),
        "reporter": _("Reported by"), "measurement": _("Measurement"), "allowed": _("Allowed range"),
        "readings": _("Readings out of range"), "extreme": _("Furthest out"), "reported_at": _("Recorded"),
        "seller": _("Seller"), "quantity": _("Quantity"), "unit": _("Unit"), "claimed": _("Claimed time"),
        "recorded_at": _("Recorded"), "recalled_batch": _("Recalled batch"), "recall_claimed": _("Recall claims"),
        "shipment": _("Shipment"), "from": _("From"), "to": _("To"), "shipped_at": _("Shipped at"),
        "shipped": _("Quantity shipped"), "received": _("Quantity received"), "discrepancy": _("Discrepancy note"),
        "received_at": _("Received at"), "role": _("Input or output"), "holder": _("Holder"), "status": _("Status"),
        "type": _("Event"), "hours": _("Hours late"), "complaints": _("Complaints filed"), "batches": _("Batches"),
        "reports": _("Sensor reports"), "sales": _("Sales"), "expires_on": _("Expires on"),
        "shipments": _("Shipments"), "input": _("Inputs"), "output": _("Outputs"),
        "outstanding": _("Outstanding"), "held": _("Held"), "in_transit": _("In transit"), "packed": _("On pallets"),
        "accounted": _("Accounted for"), "places": _("Networks"), "events": _("Events"),
        "longest_hours": _("Longest delay (hours)"),
    }
    return str(labels.get(name, name))


def value_text(name: str, value: Any) -> str:
    """An evidence value as text: times in China time, a few codes in words, the rest as it is."""
    if value is None:
        return "—"
    if name in _TIME_FIELDS:
        return local_time(str(value))
    words = {"input": _("input"), "output": _("output"), "temperature": _("temperature"),
             "humidity": _("humidity")}
    if name in {"role", "measurement"}:
        return str(words.get(str(value), str(value)))
    return str(value)


def link_kind(name: str) -> str:
    """How the page links an evidence field: ``entry``, ``batch`` or ``""`` (no link)."""
    return "entry" if name in _ENTRY_FIELDS else "batch" if name in _BATCH_FIELDS else ""


def entry_link(index: int) -> str:
    """The ledger entry: its self-contained proof bundle (the signed statement and its inclusion proof)."""
    return ENTRY_LINK.format(index=index)


def batch_link(ref: str) -> str:
    """The batch's public page, served by the resolver at its Digital Link path."""
    return "/" + ref
