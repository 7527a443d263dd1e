"""How often each public code was looked up, and when first: shown on the public page, where a serialised unit
looked up very often or over a very long span is a sign that its label was copied onto other packages.

Counts are operational data, not ledger state: they live in their own table, are not signed, and are not rebuilt
from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base, UTCDateTime

#: Past this many look-ups, or looked up over more than this span, a code printed on a single package (a
#: serialised unit or a drug box) may have been copied.
SUSPICIOUS_LOOKUPS = 20
SUSPICIOUS_SPAN = timedelta(days=180)


class Scan(Base):
    __tablename__ = "trace_scans"

    code: Mapped[str] = mapped_column(String(256), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Lookups:
    """The look-ups of one code, the current one included."""

    count: int
    first_at: datetime

    def suspicious(self, now: datetime) -> bool:
        """Whether a code printed on one package was looked up too often or over too long a span."""
        return self.count > SUSPICIOUS_LOOKUPS or now - self.first_at > SUSPICIOUS_SPAN


def record_lookup(session: Session, code: str, now: datetime) -> Lookups:
    """Count one look-up of ``code`` (a batch reference or a unit id) and return the totals, in one upsert; the
    caller commits. Concurrent look-ups lose no count: the increment happens in the database."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (insert(Scan).values(code=code, count=1, first_at=now, last_at=now)
                 .on_conflict_do_update(index_elements=[Scan.code], set_={"count": Scan.count + 1, "last_at": now})
                 .returning(Scan.count, Scan.first_at))
    count, first_at = session.execute(statement).one()
    return Lookups(count=count, first_at=first_at)
