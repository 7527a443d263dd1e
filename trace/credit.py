"""The credit lists as inspectors and the public read them: enterprises found by status, region, role and name;
one enterprise's status history; and who is on the abnormal-operation list (经营异常名录) or the blacklist
(严重违法失信名单) now, with the reason, the legal basis, the date and the ledger entry of the decision.

A status is changed only by the registrar's ``trace.enterprise.status`` statement (:mod:`trace.registry`); this
module only reads. The history comes from those statements' events (``trace_events``), so it is exactly what the
ledger says, and the current standing from ``trace_enterprises``, which the same statements maintain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ledger import LedgerError

from .context import MARKET_TIME, ROLES
from .models import Enterprise, Event
from .queries import NotFound
from .registry import ENTERPRISE_REGISTER, ENTERPRISE_STATUS, LISTED, STATUSES


@dataclass(frozen=True)
class LegalBasis:
    """A provision the registrar commonly cites, and the statuses it is offered for."""

    text: str
    statuses: frozenset[str]


#: Offered in the registrar's form; the registrar may add the paragraph and item, or write another basis.
LEGAL_BASES: tuple[LegalBasis, ...] = (
    LegalBasis("《企业信息公示暂行条例》第十七条", frozenset({"abnormal"})),
    LegalBasis("《企业经营异常名录管理暂行办法》第四条", frozenset({"abnormal"})),
    LegalBasis("《市场监督管理严重违法失信名单管理办法》第七条", frozenset({"blacklisted"})),
    LegalBasis("《市场监督管理严重违法失信名单管理办法》第八条", frozenset({"blacklisted"})),
    LegalBasis("《市场监督管理严重违法失信名单管理办法》第九条", frozenset({"blacklisted"})),
    LegalBasis("《市场监督管理严重违法失信名单管理办法》第十条", frozenset({"blacklisted"})),
)

_REGION = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
MAX_SEARCH = 100


class CreditQueryError(LedgerError):
    """A filter of the enterprise list is not one the list understands (``request.filter``)."""

    code = "request.filter"


@dataclass(frozen=True)
class EnterpriseFilter:
    """What the enterprise list is narrowed to. ``region`` is the start of the registration region in the credit
    code (2 digits: province, 4: city, 6: county); ``search`` a part of the name or the start of the credit code."""

    status: str | None = None
    region: str | None = None
    role: str | None = None
    search: str | None = None

    def check(self) -> None:
        """Raises :class:`CreditQueryError` naming the first filter that is not understood."""
        if self.status is not None and self.status not in STATUSES:
            raise CreditQueryError(f"status must be one of {', '.join(sorted(STATUSES))}, found {self.status!r}")
        if self.region is not None and not _REGION.fullmatch(self.region):
            raise CreditQueryError(f"region must be 2, 4 or 6 digits (province, city, county), found "
                                   f"{self.region!r}")
        if self.role is not None and self.role not in ROLES:
            raise CreditQueryError(f"role must be one of {', '.join(sorted(ROLES))}, found {self.role!r}")
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise CreditQueryError(f"a search has at most {MAX_SEARCH} characters")


@dataclass(frozen=True)
class EnterpriseRow:
    credit_code: str
    name: str
    name_en: str
    roles: tuple[str, ...]
    region: str
    status: str
    status_reason: str
    legal_basis: str | None
    status_index: int


@dataclass(frozen=True)
class StatusChange:
    """One line of an enterprise's history: its registration, or a status statement of the registrar."""

    entry_index: int
    time: str
    status: str
    previous: str | None
    reason: str
    legal_basis: str | None


@dataclass(frozen=True)
class Listing:
    """An enterprise on a credit list now, with the decision that put it there."""

    credit_code: str
    name: str
    name_en: str
    region: str
    status: str
    reason: str
    legal_basis: str | None
    entry_index: int
    time: str

    @property
    def listed_on(self) -> date | None:
        """The decision's date in China time (``None`` if its time is unreadable, which the ledger prevents)."""
        return local_date(self.time)


def _conditions(filters: EnterpriseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(Enterprise.status == filters.status)
    if filters.region is not None:
        conditions.append(Enterprise.region.startswith(filters.region, autoescape=True))
    if filters.role is not None:
        role = filters.role  # roles are stored sorted and comma-separated
        conditions.append(or_(Enterprise.roles == role, Enterprise.roles.startswith(f"{role},"),
                              Enterprise.roles.endswith(f",{role}"), Enterprise.roles.contains(f",{role},")))
    search = (filters.search or "").strip()
    if search:
        conditions.append(or_(Enterprise.name.contains(search, autoescape=True),
                              func.lower(Enterprise.name_en).contains(search.lower(), autoescape=True),
                              Enterprise.credit_code.startswith(search.upper(), autoescape=True)))
    return conditions


def find_enterprises(session: Session, filters: EnterpriseFilter, *, after: str | None = None,
                     limit: int = 50) -> list[EnterpriseRow]:
    """Enterprises matching ``filters`` in credit-code order, after credit code ``after``, at most ``limit``.
    Raises :class:`CreditQueryError` for a filter it does not understand."""
    filters.check()
    query = select(Enterprise).where(*_conditions(filters)).order_by(Enterprise.credit_code).limit(limit)
    if after is not None:
        query = query.where(Enterprise.credit_code > after)
    return [EnterpriseRow(row.credit_code, row.name, row.name_en, tuple(filter(None, row.roles.split(","))),
                          row.region, row.status, row.status_reason, row.legal_basis, row.status_index)
            for row in session.scalars(query)]


def count_enterprises(session: Session, filters: EnterpriseFilter) -> dict[str, int]:
    """How many enterprises match ``filters``, by status."""
    filters.check()
    rows = session.execute(select(Enterprise.status, func.count()).where(*_conditions(filters))
                           .group_by(Enterprise.status)).all()
    return {status: count for status, count in rows}


def enterprise_row(session: Session, credit_code: str) -> Enterprise:
    """The enterprise's state row; raises :class:`NotFound` (``not_found.enterprise``)."""
    row = session.get(Enterprise, credit_code)
    if row is None:
        raise NotFound(f"enterprise {credit_code} is not registered", code="not_found.enterprise")
    return row


def status_history(session: Session, credit_code: str, *, registrar: str) -> list[StatusChange]:
    """The enterprise's registration and every status statement about it, oldest first. Raises
    :class:`NotFound` for an unregistered enterprise.

    Status statements are the registrar's (``registrar`` is the ledger's registrar id), so only the registrar's
    events are read; the credit code is matched in the canonical JSON summary, then checked after decoding."""
    row = enterprise_row(session, credit_code)
    marker = json.dumps({"credit_code": credit_code}, separators=(",", ":"), ensure_ascii=False)[1:-1]
    status_events = and_(Event.type == ENTERPRISE_STATUS, Event.summary.contains(marker, autoescape=True))
    query = (select(Event.entry_index, Event.type, Event.time, Event.summary)
             .where(Event.actor == registrar, or_(Event.entry_index == row.registered_index, status_events))
             .order_by(Event.entry_index))
    history = []
    for index, type_, time, summary_text in session.execute(query):
        summary = json.loads(summary_text)
        if summary.get("credit_code") != credit_code:
            continue
        if type_ == ENTERPRISE_REGISTER:
            history.append(StatusChange(index, time, "active", None, "registered", None))
        elif type_ == ENTERPRISE_STATUS:
            history.append(StatusChange(index, time, summary["status"], summary.get("previous"), summary["reason"],
                                        summary.get("legal_basis")))
    return history


def credit_lists(session: Session, *, limit: int = 500) -> dict[str, list[Listing]]:
    """Who is on each credit list now (``abnormal``, ``blacklisted``), the latest decisions first, at most
    ``limit`` of each."""
    lists: dict[str, list[Listing]] = {}
    for status in sorted(LISTED):
        query = (select(Enterprise, Event.time).join(Event, Event.entry_index == Enterprise.status_index)
                 .where(Enterprise.status == status).order_by(Enterprise.status_index.desc()).limit(limit))
        lists[status] = [Listing(row.credit_code, row.name, row.name_en, row.region, row.status, row.status_reason,
                                 row.legal_basis, row.status_index, time)
                         for row, time in session.execute(query)]
    return lists


def listed_counts(session: Session) -> dict[str, int]:
    """How many enterprises are on each credit list now."""
    rows = session.execute(select(Enterprise.status, func.count()).where(Enterprise.status.in_(sorted(LISTED)))
                           .group_by(Enterprise.status)).all()
    counts = {status: 0 for status in sorted(LISTED)}
    counts.update({status: count for status, count in rows})
    return counts


def local_date(moment: str) -> date | None:
    """The China date of an RFC 3339 time with offset, or ``None`` when it is not one."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(MARKET_TIME).date()
