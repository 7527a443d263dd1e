"""Read models for the API and pages: enterprises, products, batches, histories, holdings and shipments.

Each function takes a session, returns plain values (dicts and lists, JSON columns decoded) and raises
:class:`NotFound` for an unknown key. Lists are ordered by immutable keys, so a cursor (the last key of a
page) stays valid while the ledger grows.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger import LedgerError
from ledger.keys import encode_public_key
from ledger.models import BatchHead, LedgerKey

from .context import lot_ref, sscc_ref
from .identifiers import IdentifierError, check_gs1_key, normalise_gtin
from .lots import unit_id_for
from .models import Batch, BatchEvent, Enterprise, Event, Holding, Product, Recall, Shipment, Unit


class NotFound(LedgerError):
    """The asked-for enterprise, product or batch is not in the ledger (``not_found.*``)."""

    code = "not_found.resource"


def lot_ref_of(gtin: str, lot: str) -> str:
    """The ledger reference of a GTIN (8, 12, 13 or 14 digits) and lot, after checking the check digit. Raises
    :class:`ledger.LedgerError` (``request.gtin``, ``request.lot``) with the reason."""
    try:
        gtin14 = normalise_gtin(gtin)
    except IdentifierError as exc:
        raise LedgerError(f"GTIN {gtin}: {exc.message}", code="request.gtin") from None
    if not 0 < len(lot) <= 20:
        raise LedgerError("a lot has 1 to 20 characters", code="request.lot")
    return lot_ref(gtin14, lot)


def sscc_ref_of(sscc: str) -> str:
    """The ledger reference of an SSCC-18 after checking its check digit; raises ``request.sscc``."""
    try:
        check_gs1_key(sscc)
    except IdentifierError as exc:
        raise LedgerError(f"SSCC {sscc}: {exc.message}", code="request.sscc") from None
    if len(sscc) != 18:
        raise LedgerError(f"an SSCC has 18 digits, found {len(sscc)}", code="request.sscc")
    return sscc_ref(sscc)


# --- enterprises and products ---------------------------------------------------------------------------------

def _enterprise(row: Enterprise) -> dict[str, Any]:
    return {"credit_code": row.credit_code, "name": row.name, "name_en": row.name_en,
            "roles": row.roles.split(",") if row.roles else [], "region": row.region, "status": row.status,
            "status_reason": row.status_reason, "legal_basis": row.legal_basis, "status_index": row.status_index,
            "registered_index": row.registered_index, "check_override": row.check_override,
            "commitment_sha256": row.commitment_sha256, "locations": json.loads(row.locations)}


def list_enterprises(session: Session, *, after: str | None, limit: int, status: str | None = None,
                     region: str | None = None, role: str | None = None, q: str | None = None) -> list[dict[str, Any]]:
    """Enterprises by credit code; ``q`` keeps those whose name contains it (any case) or whose credit code
    starts with it."""
    query = select(Enterprise).order_by(Enterprise.credit_code).limit(limit)
    if q is not None:
        query = query.where(or_(Enterprise.name.icontains(q, autoescape=True),
                                Enterprise.credit_code.startswith(q.upper(), autoescape=True)))
    if after is not None:
        query = query.where(Enterprise.credit_code > after)
    if status is not None:
        query = query.where(Enterprise.status == status)
    if region is not None:
        query = query.where(Enterprise.region == region)
    if role is not None:
        query = query.where(Enterprise.roles.contains(role))
    return [_enterprise(row) for row in session.scalars(query)]


def enterprise(session: Session, credit_code: str) -> dict[str, Any]:
    """An enterprise's public record with every key it has had (revoked ones included)."""
    row = session.get(Enterprise, credit_code)
    if row is None:
        raise NotFound(f"enterprise {credit_code} is not registered", code="not_found.enterprise")
    out = _enterprise(row)
    out["keys"] = keys_of(session, credit_code)
    return out


def keys_of(session: Session, author: str) -> list[dict[str, Any]]:
    return [{"key_id": key.key_id, "public_key": encode_public_key(key.public_key), "label": key.label,
             "added_index": key.added_index, "revoked_index": key.revoked_index}
            for key in session.scalars(select(LedgerKey).where(LedgerKey.author == author)
                                       .order_by(LedgerKey.added_index))]


def _product(row: Product) -> dict[str, Any]:
    return {"gtin": row.gtin, "owner": row.owner, "name": row.name, "name_en": row.name_en,
            "category": row.category, "spec": row.spec, "approval_number": row.approval_number,
            "drug_prefix": row.drug_prefix, "defined_index": row.defined_index}


def list_products(session: Session, *, after: str | None, limit: int, owner: str | None = None,
                  category: str | None = None) -> list[dict[str, Any]]:
    query = select(Product).order_by(Product.gtin).limit(limit)
    if after is not None:
        query = query.where(Product.gtin > after)
    if owner is not None:
        query = query.where(Product.owner == owner)
    if category is not None:
        query = query.where(Product.category == category)
    return [_product(row) for row in session.scalars(query)]


def product(session: Session, gtin: str) -> dict[str, Any]:
    try:
        gtin14 = normalise_gtin(gtin)
    except IdentifierError as exc:
        raise LedgerError(f"GTIN {gtin}: {exc.message}", code="request.gtin") from None
    row = session.get(Product, gtin14)
    if row is None:
        raise NotFound(f"product {gtin14} is not defined", code="not_found.product")
    return _product(row)


# --- batches --------------------------------------------------------------------------------------------------

def _batch(row: Batch, product_row: Product | None) -> dict[str, Any]:
    return {"ref": row.ref, "kind": row.kind, "gtin": row.gtin, "lot": row.lot, "sscc": row.sscc,
            "product_name": product_row.name if product_row else None,
            "category": product_row.category if product_row else None, "unit": row.unit,
            "quantity": row.quantity, "outstanding": row.outstanding, "creator": row.creator,
            "produced_on": row.produced_on, "expires_on": row.expires_on, "origin": json.loads(row.origin),
            "certificates": json.loads(row.certificates), "status": row.status, "inspection": row.inspection}


def _existing_batch(session: Session, ref: str) -> Batch:
    row = session.get(Batch, ref)
    if row is None:
        raise NotFound(f"batch {ref} is not in the ledger: the code is not registered", code="not_found.batch")
    return row


def batch(session: Session, ref: str) -> dict[str, Any]:
    """A batch's current state with its recalls and ``head``: the hash of the latest statement linking it, which
    the next statement on the batch must name in its links."""
    row = _existing_batch(session, ref)
    out = _batch(row, session.get(Product, row.gtin) if row.gtin else None)
    head = session.get(BatchHead, ref)
    out["head"] = head.statement_hash.hex() if head is not None else None
    out["recalls"] = [{"entry_index": recall.recall_index, "source_ref": recall.source_ref,
                       "issuer": recall.issuer, "reason": recall.reason}
                      for recall in session.scalars(select(Recall).where(Recall.ref == ref)
                                                    .order_by(Recall.recall_index))]
    return out


def list_batches(session: Session, *, after: str | None, limit: int, gtin: str | None = None,
                 creator: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = select(Batch, Product).outerjoin(Product, Product.gtin == Batch.gtin).order_by(Batch.ref).limit(limit)
    if after is not None:
        query = query.where(Batch.ref > after)
    if gtin is not None:
        query = query.where(Batch.gtin == gtin)
    if creator is not None:
        query = query.where(Batch.creator == creator)
    if status is not None:
        query = query.where(Batch.status == status)
    return [_batch(row, product_row) for row, product_row in session.execute(query)]


def event_view(row: Any) -> dict[str, Any]:
    return {"entry_index": row.entry_index, "type": row.type, "actor": row.actor, "time": row.time,
            "location": row.location, "summary": json.loads(row.summary), "corrected_by": row.corrected_by}


def batch_history(session: Session, ref: str, *, after: int | None, limit: int) -> list[dict[str, Any]]:
    """The batch's events in ledger order (corrected ones included, marked ``corrected_by``)."""
    _existing_batch(session, ref)
    query = (select(Event).join(BatchEvent, BatchEvent.entry_index == Event.entry_index)
             .where(BatchEvent.ref == ref).order_by(Event.entry_index).limit(limit))
    if after is not None:
        query = query.where(Event.entry_index > after)
    return [event_view(row) for row in session.scalars(query)]


def batch_entries(session: Session, ref: str) -> list[int]:
    """Every ledger entry on the batch, in order."""
    _existing_batch(session, ref)
    return list(session.scalars(select(BatchEvent.entry_index).where(BatchEvent.ref == ref)
                                .order_by(BatchEvent.entry_index)))


def unit_ref(session: Session, gtin: str, serial: str, lot: str | None = None) -> str:
    """The reference of the lot of product ``gtin`` holding the serialised unit written ``serial`` at commissioning
    (a serial number or a 20-digit drug code), looking only in lot ``lot`` when given. Raises ``request.gtin`` for a
    bad GTIN and :class:`NotFound` (``not_found.unit``) when no such lot has the unit."""
    try:
        gtin14 = normalise_gtin(gtin)
    except IdentifierError as exc:
        raise LedgerError(f"GTIN {gtin}: {exc.message}", code="request.gtin") from None
    in_lot = Unit.ref == lot_ref(gtin14, lot) if lot is not None else \
        Unit.ref.startswith(f"01/{gtin14}/10/", autoescape=True)
    ref = session.scalar(select(Unit.ref).where(Unit.unit_id == unit_id_for(gtin14, serial), in_lot)
                         .order_by(Unit.ref).limit(1))
    if ref is None:
        where = f"lot {lot}" if lot is not None else "any lot"
        raise NotFound(f"unit {serial} is not in {where} of product {gtin14}: the code is not registered",
                       code="not_found.unit")
    return ref


# --- an enterprise's own records ------------------------------------------------------------------------------

def holdings_of(session: Session, credit_code: str, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    query = (select(Holding, Batch).join(Batch, Batch.ref == Holding.ref).where(Holding.holder == credit_code)
             .order_by(Holding.ref).limit(limit))
    if after is not None:
        query = query.where(Holding.ref > after)
    return [{"ref": holding.ref, "quantity": holding.quantity, "unit": row.unit, "status": row.status,
             "gtin": row.gtin, "lot": row.lot, "sscc": row.sscc, "expires_on": row.expires_on}
            for holding, row in session.execute(query)]


def shipments_of(session: Session, credit_code: str, *, direction: str, status: str | None, after: int | None,
                 limit: int) -> list[dict[str, Any]]:
    """Shipments sent (``outgoing``) or addressed (``incoming``) to ``credit_code``, newest last."""
    side = Shipment.shipper if direction == "outgoing" else Shipment.receiver
    query = select(Shipment).where(side == credit_code).order_by(Shipment.ship_index).limit(limit)
    if status is not None:
        query = query.where(Shipment.status == status)
    if after is not None:
        query = query.where(Shipment.ship_index > after)
    return [{"shipper": row.shipper, "shipment_id": row.shipment_id, "ref": row.ref, "receiver": row.receiver,
             "quantity": row.quantity, "unit": row.unit, "status": row.status, "ship_index": row.ship_index,
             "receive_index": row.receive_index, "received_quantity": row.received_quantity,
             "carrier": row.carrier, "units": json.loads(row.units)}
            for row in session.scalars(query)]
