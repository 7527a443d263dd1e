"""Recall notices: one per party of a recall's scope, made when the recall is issued (or when a party first appears
in the scope later), which the party reads through the API and answers with a signed ``trace.recall.acknowledge``.

A notice records who was told and when (``notified_at`` is the operator's time, not part of the ledger). Its
acknowledgement and the quantities the party returned and destroyed since the recall are copies of what the ledger
says, brought up to date by :func:`notify_parties` whenever the recall is looked at, so the table can be read on
its own (by the API, or by a report) and always agrees with the ledger after a refresh.

Functions take a session, add and flush, and never commit: the caller's request is the commit point.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base, UTCDateTime, insert_on_conflict

from .quantities import format_quantity
from .recall_scope import RecallInfo, RecallScope, list_recalls, recall_scope
from .records import to_json


class RecallNotice(Base):
    """The notice of the recall at entry ``recall_index`` to enterprise ``party``. ``role`` is how the party stood
    when notified (:data:`trace.recall_scope.RELATIONS`); ``returned`` and ``destroyed`` are canonical JSON
    objects of quantities by unit, since the recall."""

    __tablename__ = "recall_notices"

    recall_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"),
                                              primary_key=True, autoincrement=False)
    party: Mapped[str] = mapped_column(String(18), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_index: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned: Mapped[str] = mapped_column(Text)
    destroyed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def notify_parties(session: Session, scope: RecallScope, now: datetime) -> dict[str, RecallNotice]:
    """Give every party of ``scope`` (a recall in force) its notice, dated ``now`` when new, and bring each
    notice's acknowledgement and returned and destroyed quantities up to date. Returns the notices by party.

    Safe to run from two requests at once: a notice another request made first is kept as it is."""
    recall = scope.recall
    assert recall is not None, "a preview has no notices"
    existing = {notice.party for notice in session.scalars(
        select(RecallNotice).where(RecallNotice.recall_index == recall.index))}
    missing = [{"recall_index": recall.index, "party": code, "role": party.relation, "notified_at": now,
                "acknowledged_index": None, "acknowledged_at": None, "returned": "{}", "destroyed": "{}",
                "updated_at": now}
               for code, party in sorted(scope.parties.items()) if code not in existing]
    if missing:
        _insert_new(session, missing)
    notices = {notice.party: notice for notice in session.scalars(
        select(RecallNotice).where(RecallNotice.recall_index == recall.index))}
    for code, party in scope.parties.items():
        notice = notices[code]
        acknowledged = party.acknowledged or (None, None)
        positions = scope.positions_of(code)
        values = {"acknowledged_index": acknowledged[0], "acknowledged_at": acknowledged[1],
                  "returned": _by_unit(party.totals(positions, "returned")),
                  "destroyed": _by_unit(party.totals(positions, "destroyed_since"))}
        if any(getattr(notice, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(notice, name, value)
            notice.updated_at = now
    session.flush()
    return notices


def refresh_recall(session: Session, index: int, now: datetime) -> tuple[RecallScope, dict[str, RecallNotice]]:
    """The scope of the recall at entry ``index`` and its notices, brought up to date. Raises
    :class:`trace.recall_scope.RecallNotFound`."""
    scope = recall_scope(session, index)
    return scope, notify_parties(session, scope, now)


def refresh_open_recalls(session: Session, now: datetime) -> list[RecallInfo]:
    """Bring the notices of every open recall up to date (a recall its maker issued through the API gets its
    notices here); returns every recall, newest first."""
    recalls = list_recalls(session)
    for recall in recalls:
        if not recall.closed:
            notify_parties(session, recall_scope(session, recall.index), now)
    return recalls


def notices_of(session: Session, party: str) -> list[RecallNotice]:
    """The notices ``party`` received, newest recall first."""
    return list(session.scalars(select(RecallNotice).where(RecallNotice.party == party)
                                .order_by(RecallNotice.recall_index.desc())))


def notice_counts(session: Session) -> dict[int, tuple[int, int]]:
    """For each recall with notices: (parties notified, parties that acknowledged)."""
    return {index: (total, done) for index, total, done in session.execute(
        select(RecallNotice.recall_index, func.count(), func.count(RecallNotice.acknowledged_index))
        .group_by(RecallNotice.recall_index))}


def quantities(text: str) -> dict[str, str]:
    """A notice's ``returned`` or ``destroyed`` column as ``{unit: quantity}``."""
    value: dict[str, str] = json.loads(text)
    return value


def _by_unit(totals: dict[str, Decimal]) -> str:
    return to_json({unit: format_quantity(amount) for unit, amount in totals.items()})


def _insert_new(session: Session, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert ``rows``, leaving any that another transaction inserted first."""
    session.execute(insert_on_conflict(session, RecallNotice).values(rows).on_conflict_do_nothing())
