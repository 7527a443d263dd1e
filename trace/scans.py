"""How often each public code was looked up, and when first: shown on the public page, where a serialised unit
looked up very often or over a very long span is a sign that its label was copied onto other packages.

From how many places a unit's code was looked up is the other sign (:mod:`trace.risk_rules`): a place is a keyed
hash of the client's network (its /24 for IPv4, its /48 for IPv6), never the address, and at most
:data:`MAX_PLACES_PER_CODE` places are kept per code.

Counts are operational data, not ledger state: they live in their own table, are not signed, and are not rebuilt
from the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, exists, func, literal, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base, UTCDateTime, insert_on_conflict

#: Past this many look-ups, or looked up over more than this span, a code printed on a single package (a
#: serialised unit or a drug box) may have been copied.
SUSPICIOUS_LOOKUPS = 20
SUSPICIOUS_SPAN = timedelta(days=180)
#: Places kept per code: far more than a copied label needs to show, bounded so that scripted look-ups from many
#: networks cannot grow the table without limit.
MAX_PLACES_PER_CODE = 64
#: ``HMAC-SHA256(key, PLACE_DOMAIN || network)``, the first 16 hex digits: a place.
PLACE_DOMAIN = b"trace-ledger/v1/scan-place\x00"


class Scan(Base):
    __tablename__ = "trace_scans"

    code: Mapped[str] = mapped_column(String(256), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScanPlace(Base):
    """One place (:func:`place_of`) a code was looked up from: how often and when first and last."""

    __tablename__ = "trace_scan_places"

    code: Mapped[str] = mapped_column(String(256), primary_key=True)
    place: Mapped[str] = mapped_column(String(16), primary_key=True)
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
    statement = (insert_on_conflict(session, Scan).values(code=code, count=1, first_at=now, last_at=now)
                 .on_conflict_do_update(index_elements=[Scan.code], set_={"count": Scan.count + 1, "last_at": now})
                 .returning(Scan.count, Scan.first_at))
    count, first_at = session.execute(statement).one()
    return Lookups(count=count, first_at=first_at)


def place_of(address: str | None, key: bytes) -> str | None:
    """The place of a client address: 16 hex digits of the keyed hash of its network (/24 for IPv4, /48 for
    IPv6; an IPv4-mapped IPv6 address counts as IPv4). ``None`` when ``address`` is missing or not an IP
    address. Without ``key`` nobody can tell which network a place is; the address itself is never kept."""
    if not address or not key:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return hmac.new(key, PLACE_DOMAIN + network.compressed.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def record_place(session: Session, code: str, place: str, now: datetime) -> None:
    """Count one look-up of ``code`` from ``place`` in one statement; the caller commits. A new place is added
    only while the code has fewer than :data:`MAX_PLACES_PER_CODE` (concurrent look-ups may pass the bound by
    a few); a known place is always counted."""
    known = (select(func.count()).select_from(ScanPlace).where(ScanPlace.code == code)).scalar_subquery()
    same = exists().where(ScanPlace.code == code, ScanPlace.place == place)
    source = select(literal(code), literal(place), literal(1), literal(now, UTCDateTime()),
                    literal(now, UTCDateTime())).where(or_(known < MAX_PLACES_PER_CODE, same))
    statement = (insert_on_conflict(session, ScanPlace)
                 .from_select(["code", "place", "count", "first_at", "last_at"], source)
                 .on_conflict_do_update(index_elements=[ScanPlace.code, ScanPlace.place],
                                        set_={"count": ScanPlace.count + 1, "last_at": now}))
    session.execute(statement)
