"""What a rule sees while one statement is applied: the book, the statement, its index and receive time, the
registrar's name; and the helpers every rule shares (enterprise standing, batch lookup, holdings, links)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote

from ledger import Statement

from .book import Book
from .errors import CustodyError, EnterpriseError
from .quantities import ZERO, format_quantity
from .records import (
    BatchEventRecord,
    BatchRecord,
    EnterpriseRecord,
    FlagRecord,
    HoldingRecord,
    RecallRecord,
    to_json,
)

ROLES = frozenset({"producer", "processor", "wholesaler", "retailer", "caterer", "logistics"})
RETAIL_ROLES = frozenset({"retailer", "caterer"})
MAY_ACT = frozenset({"active", "abnormal"})
MARKET_TIME = timezone(timedelta(hours=8))


def lot_ref(gtin: str, lot: str) -> str:
    """The ledger reference of a lot: the GS1 Digital Link path ``01/{GTIN-14}/10/{lot}``, lot percent-encoded."""
    return f"01/{gtin}/10/{quote(lot, safe='')}"


def sscc_ref(sscc: str) -> str:
    """The ledger reference of a logistic unit: ``00/{SSCC}``."""
    return f"00/{sscc}"


class Context:
    def __init__(self, book: Book, statement: Statement, index: int, received: datetime, registrar: str) -> None:
        self.book, self.statement, self.index = book, statement, index
        self.received, self.registrar = received, registrar
        self.actor = statement.author
        self.touched: set[str] = set()
        self.location: str | None = None
        self.summary: dict[str, object] = {}

    @property
    def is_registrar(self) -> bool:
        return self.actor == self.registrar

    @property
    def local_day(self) -> date:
        """The receive date in China Standard Time: what "today" means for expiry dates printed on packages.
        The operator's receive time, not the author's claimed time or offset, so nobody can buy a day."""
        return self.received.astimezone(MARKET_TIME).date()

    # -- enterprises -----------------------------------------------------------------------------------------

    def enterprise(self, credit_code: str) -> EnterpriseRecord:
        record = self.book.get(EnterpriseRecord, credit_code)
        if record is None:
            raise EnterpriseError(f"enterprise {credit_code} is not registered", code="enterprise.unknown")
        return record

    def acting_enterprise(self, roles: frozenset[str] | None = None) -> EnterpriseRecord:
        """The author as an enterprise that may append custody events, with one of ``roles`` when given."""
        record = self.enterprise(self.actor)
        require_standing(record)
        if roles is not None and not roles & set(record.roles.split(",")):
            raise EnterpriseError(f"{self.actor} is registered as {record.roles}; this event needs one of "
                                  f"{', '.join(sorted(roles))}", code="enterprise.role")
        return record

    def use_location(self, enterprise: EnterpriseRecord, location_id: str | None) -> None:
        if location_id is None:
            return
        locations = {item["id"] for item in json.loads(enterprise.locations)}
        if location_id not in locations:
            raise EnterpriseError(f"{enterprise.credit_code} has no registered location {location_id!r} (known: "
                                  f"{', '.join(sorted(locations)) or 'none'})", code="enterprise.location")
        self.location = location_id

    # -- batches ---------------------------------------------------------------------------------------------

    def batch(self, ref: str, *, allow_depleted: bool = True) -> BatchRecord:
        """A batch that still exists (not destroyed or voided); touching it means the statement must link it."""
        record = self.book.get(BatchRecord, ref)
        if record is None or record.status == "voided":
            raise CustodyError(f"batch {ref} does not exist", code="batch.unknown")
        if record.status == "destroyed":
            raise CustodyError(f"batch {ref} was destroyed; nothing may follow", code="custody.destroyed")
        if record.status == "depleted" and not allow_depleted:
            raise CustodyError(f"nothing is left of batch {ref}", code="custody.not_holder")
        self.touched.add(ref)
        return record

    def held(self, ref: str, holder: str) -> Decimal:
        record = self.book.get(HoldingRecord, ref, holder)
        return ZERO if record is None else Decimal(record.quantity)

    def take(self, ref: str, holder: str, amount: Decimal) -> None:
        """Remove ``amount`` of ``ref`` from ``holder``'s holding; raises unless they hold at least that much."""
        have = self.held(ref, holder)
        if have == ZERO:
            raise CustodyError(f"{holder} holds none of batch {ref}", code="custody.not_holder")
        if amount > have:
            raise CustodyError(f"{holder} holds {format_quantity(have)} of batch {ref}, not "
                               f"{format_quantity(amount)}", code="custody.over_quantity")
        rest = have - amount
        if rest == ZERO:
            self.book.delete(HoldingRecord, ref, holder)
        else:
            self.book.put(HoldingRecord(ref, holder, format_quantity(rest)))

    def give(self, ref: str, holder: str, amount: Decimal) -> None:
        self.book.put(HoldingRecord(ref, holder, format_quantity(self.held(ref, holder) + amount)))

    def reduce_outstanding(self, batch: BatchRecord, amount: Decimal, *, ending: str = "depleted") -> BatchRecord:
        """Record that ``amount`` of the batch ceased to exist (sold, consumed, lost or destroyed)."""
        current = self.book.get(BatchRecord, batch.ref)
        assert current is not None
        rest = Decimal(current.outstanding) - amount
        updated = replace(current, outstanding=format_quantity(rest), status=ending if rest == ZERO else current.status)
        self.book.put(updated)
        return updated

    def recalls(self, ref: str) -> list[RecallRecord]:
        return self.book.prefix(RecallRecord, ref)

    def refuse_if_blocked(self, batch: BatchRecord, doing: str) -> None:
        """Recalled (directly or through an input) or non-conformant goods may not go to consumers."""
        recalls = self.recalls(batch.ref)
        if recalls:
            first = recalls[0]
            source = "" if first.source_ref == batch.ref else f" through its input {first.source_ref}"
            raise CustodyError(f"batch {batch.ref} is under recall (entry {first.recall_index}){source}; it may not "
                               f"be {doing}", code="custody.recalled")
        if batch.inspection == "non_conformant":
            raise CustodyError(f"batch {batch.ref} failed inspection (entry {batch.inspection_index}); it may not "
                               f"be {doing}", code="custody.non_conformant")

    def flag(self, code: str, subject: str, detail: dict[str, object]) -> None:
        self.book.put(FlagRecord(self.index, code, subject, to_json(detail)))

    def finish_links(self) -> None:
        """The statement links exactly the batches it touched; each of them records this event as its latest."""
        linked = set(self.statement.links)
        if linked != self.touched:
            raise CustodyError(f"a {self.statement.type} statement must link exactly the batches it touches: "
                               f"{', '.join(sorted(self.touched)) or 'none'}; it links "
                               f"{', '.join(sorted(linked)) or 'none'}", code="custody.links")
        for ref in sorted(self.touched):
            record = self.book.get(BatchRecord, ref)
            if record is not None:
                self.book.put(replace(record, last_index=self.index))
            self.book.put(BatchEventRecord(ref, self.index))


def require_standing(record: EnterpriseRecord) -> None:
    """Blacklisted and deregistered enterprises may not append or receive custody events."""
    if record.status not in MAY_ACT:
        raise EnterpriseError(f"enterprise {record.credit_code} is {record.status} ({record.status_reason}); it "
                              "may not take part in custody events", code=f"enterprise.{record.status}")
