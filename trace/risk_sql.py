"""What the risk rules (:mod:`trace.risk_rules`, :mod:`trace.risk_quantity_rules`) share: the few SQL
expressions that differ between SQLite and PostgreSQL (:class:`RiskSql`), the context of one run of the rules
(:class:`RuleRun`) and the helpers that group rows and write evidence.

Times are compared in the database: an RFC 3339 time with its offset (a statement's claimed time) is read by
``julianday``/``datetime`` on SQLite and cast to ``timestamptz`` on PostgreSQL, and a local day is the day in
China Standard Time, as :attr:`trace.context.Context.local_day`. Quantities are compared as numbers (exact on
PostgreSQL; double precision on SQLite, which the tolerances absorb) and shown as canonical decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Numeric, cast, extract, func, literal, literal_column
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from .context import MARKET_TIME
from .quantities import ZERO
from .risks import Thresholds

_MARKET_HOURS = int((MARKET_TIME.utcoffset(None) or timedelta()).total_seconds() // 3600)
_MICRO = Decimal("0.000001")
#: The fields of an evidence item that name a ledger entry.
_ENTRY_FIELDS = ("entry", "ship_entry", "recall_entry")


class RiskSql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, session: Session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def number(self, column: Any) -> ColumnElement[Any]:
        """A quantity string as a number."""
        return cast(column, Numeric(30, 6)) if self.postgres else cast(column, Float)

    def constant(self, value: Decimal) -> ColumnElement[Any]:
        """A decimal constant, of the type :meth:`number` gives."""
        return literal(value, Numeric(30, 6)) if self.postgres else literal(float(value), Float)

    def json_text(self, column: Any, name: str) -> ColumnElement[Any]:
        """Member ``name`` of a JSON object stored as text (an event's summary), as text."""
        if self.postgres:
            return func.json_extract_path_text(cast(column, JSON), name)
        return func.json_extract(column, f"$.{name}")

    def hours_of_text(self, column: Any) -> ColumnElement[Any]:
        """An RFC 3339 time with offset (a claimed time) as hours since the epoch."""
        if self.postgres:
            return extract("epoch", cast(column, DateTime(timezone=True))) / 3600
        return func.julianday(column) * 24

    def later_than(self, stamp: InstrumentedAttribute[datetime], claimed: InstrumentedAttribute[str],
                   hours: int) -> ColumnElement[bool]:
        """Whether stored UTC timestamp ``stamp`` is more than ``hours`` after RFC 3339 time ``claimed``. SQLite
        stores timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, which ``datetime()`` output compares with."""
        if self.postgres:
            return stamp > cast(claimed, DateTime(timezone=True)) + literal_column(f"INTERVAL '{int(hours)} hours'")
        return stamp > func.datetime(claimed, f"+{int(hours)} hours")

    def local_day_of_text(self, column: Any) -> ColumnElement[Any]:
        """The China-time day (``YYYY-MM-DD``) of an RFC 3339 time with offset."""
        if self.postgres:
            return self._day(func.timezone("UTC", cast(column, DateTime(timezone=True))))
        return func.date(column, f"+{_MARKET_HOURS} hours")

    def local_day_of_stamp(self, column: Any) -> ColumnElement[Any]:
        """The China-time day (``YYYY-MM-DD``) of a stored UTC timestamp."""
        if self.postgres:
            return self._day(func.timezone("UTC", column))
        return func.date(column, f"+{_MARKET_HOURS} hours")

    @staticmethod
    def _day(utc_timestamp: Any) -> ColumnElement[Any]:
        return func.to_char(utc_timestamp + literal_column(f"INTERVAL '{_MARKET_HOURS} hours'"), "YYYY-MM-DD")


@dataclass(frozen=True)
class RuleRun:
    """One run of the rules: the session they read, its dialect, the time they run as of and the thresholds."""

    session: Session
    sql: RiskSql
    now: datetime
    limits: Thresholds


def by_subject(rows: Iterable[Any]) -> Iterable[tuple[str, Iterable[Any]]]:
    """Rows ordered by their ``subject`` column, grouped by it."""
    return groupby(rows, key=lambda row: row.subject)


def evidence(run: RuleRun, items: list[dict[str, Any]], figures: dict[str, Any]) -> dict[str, Any]:
    """Evidence: the latest :attr:`Thresholds.evidence_limit` items (by entry), the entries they name, the
    figures, and how many items there are in all."""
    kept = items[-run.limits.evidence_limit:]
    entries = sorted({item[name] for item in kept for name in _ENTRY_FIELDS if item.get(name) is not None})
    return {"entries": entries, "figures": figures, "items": kept, "items_total": len(items)}


def codes(*groups: Iterable[str | None]) -> tuple[str, ...]:
    """The distinct credit codes (or the registrar's name) of ``groups``, in order of first appearance."""
    seen: dict[str, None] = {}
    for group in groups:
        for code in group:
            if code:
                seen.setdefault(code, None)
    return tuple(seen)


def number(value: Any) -> Decimal:
    """A summed quantity from the database (a Decimal on PostgreSQL, a float on SQLite) to six decimals."""
    if value is None:
        return ZERO
    amount = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return amount.quantize(_MICRO)


def utc(moment: datetime) -> str:
    """A timestamp as RFC 3339 UTC text to the second (``…Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
