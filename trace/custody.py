"""Custody events on batches: commission, ship, receive, transform, aggregate and disaggregate, sell, inspect,
recall, destroy and sensor readings. Each rule checks before it changes anything it cannot undo; the book's
per-statement rollback makes a refused statement leave no trace.

Who may act: the holder of the goods (and, for an inspection or a recall, the registrar or the batch's maker).
What is conserved: nobody ships, sells, consumes or destroys more than they hold; a receiver accepts at most
what was shipped to it; a transformation's outputs never exceed its inputs when they share a unit.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal

from .body import Body
from .context import RETAIL_ROLES, Context, lot_ref, require_standing
from .errors import BodyError, CustodyError, DomainError
from .lots import (
    LOT,
    MAX_UNITS,
    claim_ref,
    listed_units,
    product_of,
    read_certificates,
    read_origin,
    read_units,
    require_compliance_certificate,
    unit_id_in,
    units_moved,
    write_off_contents,
)
from .quantities import ZERO, format_quantity, parse_quantity, parse_unit
from .records import (
    BatchRecord,
    ShipmentRecord,
    UnitRecord,
    to_json,
)

COMMISSION = "trace.commission"
SHIP = "trace.ship"
RECEIVE = "trace.receive"
SELL = "trace.sell"
DESTROY = "trace.destroy"

MAKERS = frozenset({"producer", "processor"})
_SHIPMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def commission(ctx: Context) -> None:
    """Create a lot (harvest, slaughter, production, packing); the maker holds all of it."""
    maker = ctx.acting_enterprise(MAKERS)
    body = Body(ctx.statement.body, "body", {"gtin", "lot", "quantity", "unit", "produced_on"},
                {"expires_on", "origin", "certificates", "units", "location", "activity"})
    ctx.use_location(maker, body.text("location", 32, optional=True))
    product = product_of(ctx, body.required_text("gtin", 14))
    lot = body.required_text("lot", 20, pattern=LOT)
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    unit = parse_unit(body.raw("unit"), "body.unit")
    produced = body.day("produced_on")
    expires = body.day("expires_on", optional=True)
    if expires is not None and produced is not None and expires < produced:
        raise BodyError("body.expires_on is before body.produced_on", code="body.date")
    certificates = read_certificates(body)
    require_compliance_certificate(product, certificates, "body.certificates")
    origin = read_origin(body)
    ref = lot_ref(product.gtin, lot)
    claim_ref(ctx, ref)
    serials = read_units(body, product, quantity, unit)
    ctx.book.put(BatchRecord(
        ref=ref, kind="lot", gtin=product.gtin, lot=lot, sscc=None, unit=unit, quantity=format_quantity(quantity),
        outstanding=format_quantity(quantity), creator=ctx.actor, created_index=ctx.index, last_index=ctx.index,
        produced_on=produced.isoformat() if produced else None,
        expires_on=expires.isoformat() if expires else None, origin=origin, certificates=to_json(certificates),
        status="active", inspection=None, inspection_index=None))
    ctx.give(ref, ctx.actor, quantity)
    for serial in serials:
        ctx.book.put(UnitRecord(ref, serial, ctx.actor, "active", 0, None))
    ctx.summary = {"batch": ref, "quantity": format_quantity(quantity), "unit": unit,
                   "activity": body.choice("activity", {"harvest", "slaughter", "produce", "pack"})
                   if body.has("activity") else "produce", "units": len(serials)}


def ship(ctx: Context) -> None:
    """The holder sends a quantity to a registered enterprise; it stays the shipper's responsibility in transit."""
    shipper = ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"batch", "quantity", "to", "shipment_id"},
                {"carrier", "units", "location"})
    ctx.use_location(shipper, body.text("location", 32, optional=True))
    batch = ctx.batch(body.required_text("batch", 256))
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    if batch.kind != "lot" and quantity != 1:
        raise CustodyError(f"{batch.ref} is a logistic unit; it is shipped whole (quantity \"1\")",
                           code="custody.logistic_unit")
    shipment_id = body.required_text("shipment_id", 64, pattern=_SHIPMENT_ID)
    receiver = ctx.enterprise(body.required_text("to", 18))
    require_standing(receiver)
    if receiver.credit_code == ctx.actor:
        raise CustodyError("an enterprise does not ship to itself", code="custody.self_shipment")
    carrier = body.text("carrier", 18, optional=True)
    if carrier is not None:
        require_standing(ctx.enterprise(carrier))
    if set(receiver.roles.split(",")) & RETAIL_ROLES:
        ctx.refuse_if_blocked(batch, f"shipped to {receiver.credit_code}, a retailer or caterer")
    if ctx.book.get(ShipmentRecord, ctx.actor, shipment_id) is not None:
        raise DomainError(f"{ctx.actor} already used shipment id {shipment_id}", code="shipment.exists")
    ctx.take(batch.ref, ctx.actor, quantity)
    moving = units_moved(ctx, body.strings("units", MAX_UNITS, 64, optional=True), batch, quantity)
    for unit in moving:
        ctx.book.put(replace(unit, status="in_transit"))
    ctx.book.put(ShipmentRecord(
        shipper=ctx.actor, shipment_id=shipment_id, ref=batch.ref, receiver=receiver.credit_code,
        quantity=format_quantity(quantity), unit=batch.unit, status="in_transit", ship_index=ctx.index,
        receive_index=None, received_quantity=None, carrier=carrier, units=to_json([unit.unit_id for unit in moving])))
    ctx.summary = {"batch": batch.ref, "quantity": format_quantity(quantity), "unit": batch.unit,
                   "to": receiver.credit_code, "shipment_id": shipment_id, "carrier": carrier}


def receive(ctx: Context) -> None:
    """The addressee accepts an open shipment in full, or short with a stated discrepancy; custody passes."""
    receiver = ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"shipment", "quantity"}, {"discrepancy", "missing_units", "location"})
    ctx.use_location(receiver, body.text("location", 32, optional=True))
    key = body.child("shipment", {"from", "id"})
    shipper, shipment_id = key.required_text("from", 18), key.required_text("id", 64)
    shipment = ctx.book.get(ShipmentRecord, shipper, shipment_id)
    if shipment is None:
        raise CustodyError(f"{shipper} has no shipment {shipment_id}", code="shipment.unknown")
    if shipment.receiver != ctx.actor:
        raise CustodyError(f"shipment {shipper}/{shipment_id} is addressed to {shipment.receiver}, not "
                           f"{ctx.actor}", code="custody.not_addressee")
    if shipment.status != "in_transit":
        raise CustodyError(f"shipment {shipper}/{shipment_id} was already received at entry "
                           f"{shipment.receive_index}", code="shipment.closed")
    batch = ctx.batch(shipment.ref)
    quantity = parse_quantity(body.raw("quantity"), "body.quantity", allow_zero=True)
    shipped = Decimal(shipment.quantity)
    if quantity > shipped:
        raise CustodyError(f"shipment {shipper}/{shipment_id} carried {shipment.quantity}, not "
                           f"{format_quantity(quantity)}", code="custody.over_quantity")
    if batch.kind != "lot" and quantity not in (ZERO, shipped):
        raise CustodyError(f"{batch.ref} is a logistic unit; it arrives whole (\"{shipment.quantity}\") or is lost "
                           "(\"0\")", code="custody.logistic_unit")
    discrepancy = body.text("discrepancy", 500, optional=True)
    shipped_units: list[str] = json.loads(shipment.units)
    missing = {unit_id_in(batch, value) for value in body.strings("missing_units", MAX_UNITS, 64, optional=True)}
    if quantity < shipped:
        if discrepancy is None:
            raise CustodyError(f"receiving {format_quantity(quantity)} of {shipment.quantity} shipped needs a "
                               "discrepancy note", code="custody.discrepancy_required")
        if shipped_units and len(missing) != len(shipped_units) - int(quantity):
            raise CustodyError("a short receipt of listed units must name the missing ones in missing_units",
                               code="custody.unit_count")
    elif missing:
        raise BodyError("missing_units is only for a short receipt", code="body.unknown_field")
    if not missing <= set(shipped_units):
        raise CustodyError("missing_units names units that were not in the shipment", code="custody.unit_count")
    if quantity > ZERO:
        ctx.give(batch.ref, ctx.actor, quantity)
    if quantity < shipped:
        ctx.reduce_outstanding(batch, shipped - quantity, ending="depleted")
        if batch.kind != "lot":
            write_off_contents(ctx, batch)
        ctx.flag("custody.short_receipt", batch.ref, {"shipment": f"{shipper}/{shipment_id}",
                                                      "shipped": shipment.quantity,
                                                      "received": format_quantity(quantity),
                                                      "discrepancy": discrepancy})
    for unit_id in shipped_units:
        unit = ctx.book.get(UnitRecord, batch.ref, unit_id)
        assert unit is not None
        ctx.book.put(replace(unit, holder=ctx.actor, status="lost" if unit_id in missing else "active"))
    ctx.book.put(replace(shipment, status="received", receive_index=ctx.index,
                         received_quantity=format_quantity(quantity)))
    ctx.summary = {"batch": batch.ref, "quantity": format_quantity(quantity), "unit": batch.unit,
                   "from": shipper, "shipment_id": shipment_id, "shipped": shipment.quantity,
                   "discrepancy": discrepancy}


def sell(ctx: Context) -> None:
    """A retailer or caterer sells or uses held goods. Recalled, failed, or expired goods may not be sold; a
    serialised unit sold a second time is accepted but flagged as a counterfeit or diversion signal."""
    seller = ctx.acting_enterprise(RETAIL_ROLES)
    body = Body(ctx.statement.body, "body", {"batch", "quantity"}, {"units", "location"})
    ctx.use_location(seller, body.text("location", 32, optional=True))
    batch = ctx.batch(body.required_text("batch", 256))
    if batch.kind != "lot":
        raise CustodyError(f"{batch.ref} is a logistic unit; disaggregate it first", code="custody.logistic_unit")
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    ctx.refuse_if_blocked(batch, "sold")
    if batch.expires_on is not None and ctx.local_day.isoformat() > batch.expires_on:
        raise CustodyError(f"batch {batch.ref} expired on {batch.expires_on}; it may not be sold",
                           code="custody.expired")
    serials = body.strings("units", MAX_UNITS, 64, optional=True)
    if serials and Decimal(len(serials)) != quantity:
        raise CustodyError(f"{len(serials)} units listed for a sale of {format_quantity(quantity)} {batch.unit}",
                           code="custody.unit_count")
    twice = [unit for unit in listed_units(ctx, serials, batch) if unit.status == "sold"]
    resold = {unit.unit_id for unit in twice}
    fresh = [serial for serial in serials if unit_id_in(batch, serial) not in resold]
    ctx.take(batch.ref, ctx.actor, quantity)
    if fresh or not serials:
        moving = units_moved(ctx, fresh, batch, Decimal(len(fresh)) if serials else quantity)
    else:
        moving = []
    ctx.reduce_outstanding(batch, quantity, ending="depleted")
    for unit in twice:
        ctx.flag("unit.sold_twice", unit.unit_id, {"batch": batch.ref, "first_sold_at": unit.first_sold_index,
                                                   "first_seller": unit.holder, "seller": ctx.actor})
        ctx.book.put(replace(unit, sold_count=unit.sold_count + 1))
    for unit in moving:
        ctx.book.put(replace(unit, status="sold", sold_count=1, first_sold_index=ctx.index))
    ctx.summary = {"batch": batch.ref, "quantity": format_quantity(quantity), "unit": batch.unit,
                   "units": len(serials), "sold_twice": sorted(resold)}


def destroy(ctx: Context) -> None:
    """The holder destroys a quantity; when nothing of the batch is left anywhere, the batch is ended."""
    holder = ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"batch", "quantity", "reason"}, {"units", "location"})
    ctx.use_location(holder, body.text("location", 32, optional=True))
    batch = ctx.batch(body.required_text("batch", 256), allow_depleted=False)
    if batch.kind != "lot":
        raise CustodyError(f"{batch.ref} is a logistic unit; disaggregate it first", code="custody.logistic_unit")
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    ctx.take(batch.ref, ctx.actor, quantity)
    moving = units_moved(ctx, body.strings("units", MAX_UNITS, 64, optional=True), batch, quantity)
    ctx.reduce_outstanding(batch, quantity, ending="destroyed")
    for unit in moving:
        ctx.book.put(replace(unit, status="destroyed"))
    ctx.summary = {"batch": batch.ref, "quantity": format_quantity(quantity), "unit": batch.unit,
                   "reason": body.required_text("reason", 500)}
