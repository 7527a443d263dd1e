"""Writing the demo's statements: a script of registry and custody events by the demo enterprises (and the
registrar), planned chain by chain and then signed locally in time order, each author's statements chained by
``seq``/``prev`` and each statement linking the latest statement of every batch it touches, so the whole script
can be appended as one batch through the ordinary signed append path (:func:`trace.ledger_service.append`).

Times are the demo's calendar in China Standard Time (``"2026-11-14 06:30"``). The ledger accepts back-dated
statement times (it only refuses times more than ten minutes after it receives a statement), so the events carry
realistic dates; a time later than the loading clock is clamped to the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from ledger import Signer
from ledger.models import BatchHead

from .context import lot_ref, sscc_ref
from .identifiers import normalise_gtin
from .ledger_service import StatementWriter

CHINA = timezone(timedelta(hours=8))
#: The handle of the registrar (the market regulator) in scripts; enterprises go by their fixture handle.
REGISTRAR = "registrar"


@dataclass(frozen=True)
class DemoProduct:
    """A product of ``fixtures/demo_products.json``; ``gtin`` is its GTIN-14 and ``owner`` an enterprise handle."""

    key: str
    owner: str
    gtin: str
    name: str
    name_en: str
    category: str
    spec: str
    approval_number: str | None
    drug_code_prefix: str | None

    def body(self) -> dict[str, str]:
        """The body of its ``trace.product.define`` statement."""
        body = {"gtin": self.gtin, "name": self.name, "name_en": self.name_en, "category": self.category,
                "spec": self.spec}
        if self.approval_number is not None:
            body["approval_number"] = self.approval_number
        if self.drug_code_prefix is not None:
            body["drug_code_prefix"] = self.drug_code_prefix
        return body


def read_product(item: Mapping[str, Any]) -> DemoProduct:
    """A product fixture entry as a :class:`DemoProduct`; raises ``ValueError`` for a bad GTIN."""
    return DemoProduct(item["key"], item["owner"], normalise_gtin(item["gtin"]), item["name"], item["name_en"],
                       item["category"], item["spec"], item.get("approval_number"), item.get("drug_code_prefix"))


def document_sha256(*parts: str) -> str:
    """The SHA-256 of a fake but deterministic document (a certificate scan, a test report): the ledger commits to
    a document by its hash only, so the demo hashes a text naming the document."""
    return hashlib.sha256("\n".join(("DEMO DOCUMENT, TEST-ONLY", *parts)).encode()).hexdigest()


def certificate(kind: str, number: str, issuer: str) -> dict[str, str]:
    """A certificate entry (kind, document hash, issuer, number) for a commission or a transformation output."""
    return {"kind": kind, "sha256": document_sha256(kind, number, issuer), "issuer": issuer, "number": number}


def demo_time(at: str) -> datetime:
    """``"2026-11-14 06:30"`` as an aware time in China Standard Time."""
    return datetime.fromisoformat(at).replace(tzinfo=CHINA)


def reading_time(at: str) -> str:
    """A sensor reading's time: ISO 8601 with its UTC offset."""
    return demo_time(at).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Shipment:
    """A planned shipment: what a receipt or a sensor report names."""

    shipper: str
    shipment_id: str
    ref: str

    @property
    def key(self) -> dict[str, str]:
        """The shipment's key in statement bodies."""
        return {"from": self.shipper, "id": self.shipment_id}


@dataclass(frozen=True)
class _Planned:
    time: datetime
    order: int
    by: str
    type: str
    body: dict[str, Any]
    touches: tuple[str, ...]


class DemoScript:
    """Plans statements and signs them in time order, ready to append. ``session`` is read (authors' chain heads,
    batch heads) but never written; ``signers`` maps handles (and :data:`REGISTRAR`) to signers."""

    def __init__(self, session: Session, origin: str, signers: Mapping[str, Signer],
                 products: Mapping[str, DemoProduct], now: datetime) -> None:
        self.session, self.origin, self.signers, self.products, self.now = session, origin, signers, products, now
        self._planned: list[_Planned] = []
        self._writers: dict[str, StatementWriter] = {}
        self._heads: dict[str, str | None] = {}
        self._pallets: dict[str, list[str]] = {}

    # -- identities ------------------------------------------------------------------------------------------

    def code(self, handle: str) -> str:
        """The credit code (ledger author) of an enterprise handle."""
        return self.signers[handle].author

    def lot(self, product: str, lot: str) -> str:
        """The ledger reference of ``lot`` of product ``product`` (a product key)."""
        return lot_ref(self.products[product].gtin, lot)

    # -- signing ---------------------------------------------------------------------------------------------

    def sign(self, at: str, by: str, type_: str, body: dict[str, Any], touches: Iterable[str] = ()) -> None:
        """Plan one statement by ``by`` at demo time ``at`` touching the batches ``touches``; it is signed by
        :meth:`finish`."""
        self._planned.append(_Planned(demo_time(at), len(self._planned), by, type_, body, tuple(touches)))

    def finish(self) -> list[dict[str, Any]]:
        """Sign every planned statement in time order (planning order among equal times), each author's chain
        continuing from its head in the ledger and each statement linking the current head of every batch it
        touches; returns the envelopes to append, in that order."""
        envelopes = []
        for item in sorted(self._planned, key=lambda planned: (planned.time, planned.order)):
            writer = self._writers.get(item.by)
            if writer is None:
                writer = self._writers[item.by] = StatementWriter.resume(self.session, self.signers[item.by],
                                                                        self.origin)
            refs = list(dict.fromkeys(item.touches))
            links = {ref: self._head(ref) for ref in refs}
            when = min(item.time, self.now).astimezone(CHINA)
            envelopes.append(writer.sign(item.type, item.body, when, links=links if refs else None))
            for ref in refs:
                self._heads[ref] = writer.prev
        self._planned.clear()
        return envelopes

    def _head(self, ref: str) -> str | None:
        if ref not in self._heads:
            head = self.session.get(BatchHead, ref)
            self._heads[ref] = head.statement_hash.hex() if head is not None else None
        return self._heads[ref]

    # -- registry --------------------------------------------------------------------------------------------

    def define_product(self, at: str, key: str) -> None:
        """Plan the owner's definition of product ``key``."""
        product = self.products[key]
        self.sign(at, product.owner, "trace.product.define", product.body())

    def set_status(self, at: str, handle: str, status: str, reason: str) -> None:
        """Plan the registrar's status change (abnormal list, blacklist, ...) of an enterprise."""
        self.sign(at, REGISTRAR, "trace.enterprise.status",
                  {"credit_code": self.code(handle), "status": status, "reason": reason})

    # -- custody ---------------------------------------------------------------------------------------------

    def commission(self, at: str, by: str, product: str, lot: str, quantity: str, unit: str, produced_on: str,
                   *, activity: str, location: str, expires_on: str | None = None,
                   origin: dict[str, str] | None = None, certificates: Sequence[dict[str, str]] = (),
                   units: Sequence[str] = ()) -> str:
        """Create a lot; returns its reference."""
        ref = self.lot(product, lot)
        body: dict[str, Any] = {"gtin": self.products[product].gtin, "lot": lot, "quantity": quantity, "unit": unit,
                                "produced_on": produced_on, "activity": activity, "location": location}
        optional = {"expires_on": expires_on, "origin": origin, "certificates": list(certificates),
                    "units": list(units)}
        body.update({name: value for name, value in optional.items() if value})
        self.sign(at, by, "trace.commission", body, [ref])
        return ref

    def ship(self, at: str, by: str, ref: str, quantity: str, to: str, shipment_id: str, *, location: str,
             carrier: str | None = None, units: Sequence[str] = ()) -> Shipment:
        """Plan a shipment of ``quantity`` of ``ref`` (the serialised ``units`` when given) to ``to``."""
        body: dict[str, Any] = {"batch": ref, "quantity": quantity, "to": self.code(to), "shipment_id": shipment_id,
                                "location": location}
        if carrier is not None:
            body["carrier"] = self.code(carrier)
        if units:
            body["units"] = list(units)
        self.sign(at, by, "trace.ship", body, [ref])
        return Shipment(self.code(by), shipment_id, ref)

    def receive(self, at: str, by: str, shipment: Shipment, quantity: str, *, location: str,
                discrepancy: str | None = None) -> None:
        """Plan the receipt of ``shipment``; a short receipt needs a ``discrepancy``."""
        body: dict[str, Any] = {"shipment": shipment.key, "quantity": quantity, "location": location}
        if discrepancy is not None:
            body["discrepancy"] = discrepancy
        self.sign(at, by, "trace.receive", body, [shipment.ref])

    def output(self, product: str, lot: str, quantity: str, unit: str, produced_on: str, *,
               expires_on: str | None = None, certificates: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
        """One output of :meth:`transform`."""
        out: dict[str, Any] = {"gtin": self.products[product].gtin, "lot": lot, "quantity": quantity, "unit": unit,
                               "produced_on": produced_on}
        if expires_on is not None:
            out["expires_on"] = expires_on
        if certificates:
            out["certificates"] = list(certificates)
        return out

    def transform(self, at: str, by: str, kind: str, inputs: Sequence[tuple[str, str]],
                  outputs: Sequence[dict[str, Any]], *, location: str) -> list[str]:
        """Consume ``inputs`` (reference, quantity) into ``outputs`` (from :meth:`output`); returns their refs."""
        made = [lot_ref(item["gtin"], item["lot"]) for item in outputs]
        self.sign(at, by, "trace.transform",
                  {"kind": kind, "inputs": [{"batch": ref, "quantity": quantity} for ref, quantity in inputs],
                   "outputs": list(outputs), "location": location}, [ref for ref, _ in inputs] + made)
        return made

    def aggregate(self, at: str, by: str, sscc: str, contents: Sequence[tuple[str, str]], *, location: str) -> str:
        """Pack ``contents`` (reference, quantity) onto the pallet ``sscc``; returns the pallet's reference."""
        ref = sscc_ref(sscc)
        self._pallets[ref] = [batch for batch, _ in contents]
        self.sign(at, by, "trace.aggregate",
                  {"sscc": sscc, "contents": [{"batch": batch, "quantity": quantity} for batch, quantity in contents],
                   "location": location}, [ref, *self._pallets[ref]])
        return ref

    def disaggregate(self, at: str, by: str, sscc: str, *, location: str) -> None:
        """Plan the unpacking of a pallet made by :meth:`aggregate` in this script."""
        ref = sscc_ref(sscc)
        self.sign(at, by, "trace.disaggregate", {"sscc": sscc, "location": location}, [ref, *self._pallets[ref]])

    def sell(self, at: str, by: str, ref: str, quantity: str, *, location: str, units: Sequence[str] = ()) -> None:
        """Plan a retail sale or a caterer's use (of the serialised ``units`` when given)."""
        body: dict[str, Any] = {"batch": ref, "quantity": quantity, "location": location}
        if units:
            body["units"] = list(units)
        self.sign(at, by, "trace.sell", body, [ref])

    def destroy(self, at: str, by: str, ref: str, quantity: str, reason: str, *, location: str) -> None:
        """Plan the destruction of ``quantity`` of ``ref`` by its holder."""
        self.sign(at, by, "trace.destroy", {"batch": ref, "quantity": quantity, "reason": reason,
                                            "location": location}, [ref])

    # -- quality ---------------------------------------------------------------------------------------------

    def inspect(self, at: str, by: str, ref: str, result: str, *, items: Sequence[str], laboratory: str,
                report: str, note: str, location: str | None = None) -> None:
        """A test result; ``report`` names the test report whose (demo) hash the statement carries."""
        body: dict[str, Any] = {"batch": ref, "result": result, "items": list(items), "laboratory": laboratory,
                                "certificate_sha256": document_sha256("inspection_report", report, laboratory),
                                "note": note}
        if location is not None:
            body["location"] = location
        self.sign(at, by, "trace.inspect", body, [ref])

    def recall(self, at: str, by: str, ref: str, reason: str, *, level: str) -> None:
        """Plan a recall of ``ref`` (by its maker or :data:`REGISTRAR`), inherited by everything made from it."""
        self.sign(at, by, "trace.recall", {"batch": ref, "reason": reason, "level": level}, [ref])

    def sensor(self, at: str, by: str, shipment: Shipment, readings: Sequence[tuple[str, str]], *, minimum: str,
               maximum: str, device: str) -> None:
        """Temperature readings (demo time, °C) taken during ``shipment``, reported by its shipper, carrier or
        receiver while it is in transit."""
        self.sign(at, by, "trace.sensor", {
            "batch": shipment.ref, "shipment": shipment.key, "measurement": "temperature", "uom": "CEL",
            "minimum": minimum, "maximum": maximum, "device": device,
            "readings": [{"time": reading_time(time), "value": value} for time, value in readings]}, [shipment.ref])
