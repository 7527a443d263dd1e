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
from datetime import datetime
from decimal import Decimal

from .body import Body
from .context import RETAIL_ROLES, ROLES, Context, lot_ref, require_standing, sscc_ref
from .errors import BodyError, CustodyError, DomainError
from .identifiers import is_valid_gs1_key, parse_drug_code
from .quantities import ZERO, format_quantity, parse_quantity, parse_unit
from .records import (
    BatchRecord,
    ContentRecord,
    EdgeRecord,
    EventRecord,
    ProductRecord,
    RecallRecord,
    ShipmentRecord,
    UnitRecord,
    to_json,
)
from .registry import parse_gtin

COMMISSION = "trace.commission"
SHIP = "trace.ship"
RECEIVE = "trace.receive"
TRANSFORM = "trace.transform"
AGGREGATE = "trace.aggregate"
DISAGGREGATE = "trace.disaggregate"
SELL = "trace.sell"
INSPECT = "trace.inspect"
RECALL = "trace.recall"
DESTROY = "trace.destroy"
SENSOR = "trace.sensor"

MAKERS = frozenset({"producer", "processor"})
COUNT_UNITS = frozenset({"EA", "H87", "C62", "NAR", "BX", "CT", "PK", "BG", "BO", "CS", "PA", "TU"})
CERTIFICATE_KINDS = frozenset({"compliance_promise", "quarantine", "inspection_report", "origin", "organic",
                               "gi", "drug_release", "other"})
TRANSFORM_KINDS = frozenset({"process", "split", "merge", "repack"})
SENSOR_UNITS = {"temperature": "CEL", "humidity": "P1"}
MAX_UNITS = 1000
MAX_IO = 100
_LOT = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_SHIPMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_SERIAL = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_SIGNED_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?")


def commission(ctx: Context) -> None:
    """Create a lot (harvest, slaughter, production, packing); the maker holds all of it."""
    maker = ctx.acting_enterprise(MAKERS)
    body = Body(ctx.statement.body, "body", {"gtin", "lot", "quantity", "unit", "produced_on"},
                {"expires_on", "origin", "certificates", "units", "location", "activity"})
    ctx.use_location(maker, body.text("location", 32, optional=True))
    product = _product(ctx, body.required_text("gtin", 14))
    lot = body.required_text("lot", 20, pattern=_LOT)
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    unit = parse_unit(body.raw("unit"), "body.unit")
    produced = body.day("produced_on")
    expires = body.day("expires_on", optional=True)
    if expires is not None and produced is not None and expires < produced:
        raise BodyError("body.expires_on is before body.produced_on", code="body.date")
    certificates = _certificates(body)
    _require_compliance_certificate(product, certificates, "body.certificates")
    origin = _origin(body)
    ref = lot_ref(product.gtin, lot)
    _new_batch_ref(ctx, ref)
    serials = _units(body, product, quantity, unit)
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
    moving = _units_moved(ctx, body.strings("units", MAX_UNITS, 64, optional=True), batch, quantity)
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
    missing = {_unit_id(batch, value) for value in body.strings("missing_units", MAX_UNITS, 64, optional=True)}
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
            _write_off_contents(ctx, batch)
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


def transform(ctx: Context) -> None:
    """Consume held inputs and create new lots from them (process, split, merge, repack)."""
    actor = ctx.acting_enterprise(ROLES - {"logistics"})
    body = Body(ctx.statement.body, "body", {"kind", "inputs", "outputs"}, {"location"})
    ctx.use_location(actor, body.text("location", 32, optional=True))
    kind = body.choice("kind", TRANSFORM_KINDS)
    inputs = body.items("inputs", MAX_IO)
    outputs = body.items("outputs", MAX_IO)
    if kind == "split" and (len(inputs) != 1 or len(outputs) < 2):
        raise BodyError("a split has one input and at least two outputs", code="body.transform")
    if kind == "merge" and (len(inputs) < 2 or len(outputs) != 1):
        raise BodyError("a merge has at least two inputs and one output", code="body.transform")
    consumed: list[tuple[BatchRecord, Decimal]] = []
    consumed_units: dict[str, list[str]] = {}
    for position, item in enumerate(inputs):
        entry = Body(item, f"body.inputs[{position}]", {"batch", "quantity"}, {"units"})
        batch = ctx.batch(entry.required_text("batch", 256))
        if any(batch.ref == earlier.ref for earlier, _ in consumed):
            raise BodyError(f"batch {batch.ref} is listed twice in inputs", code="body.duplicate")
        if batch.kind != "lot":
            raise CustodyError(f"{batch.ref} is a logistic unit; disaggregate it first", code="custody.logistic_unit")
        ctx.refuse_if_blocked(batch, "used as an input")
        consumed.append((batch, parse_quantity(entry.raw("quantity"), f"body.inputs[{position}].quantity")))
        consumed_units[batch.ref] = entry.strings("units", MAX_UNITS, 64, optional=True)
    made: list[BatchRecord] = []
    for position, item in enumerate(outputs):
        made.append(_output(ctx, Body(item, f"body.outputs[{position}]", {"gtin", "lot", "quantity", "unit"},
                                      {"produced_on", "expires_on", "certificates"})))
    if len({batch.ref for batch in made}) != len(made):
        raise BodyError("two outputs name the same lot", code="body.duplicate")
    units = {batch.unit for batch, _ in consumed} | {batch.unit for batch in made}
    total_in = sum((amount for _, amount in consumed), ZERO)
    total_out = sum((Decimal(batch.quantity) for batch in made), ZERO)
    if len(units) == 1 and total_out > total_in:
        raise CustodyError(f"outputs total {format_quantity(total_out)} {units.pop()} but only "
                           f"{format_quantity(total_in)} was consumed", code="custody.output_exceeds_input")
    for batch, amount in consumed:
        ctx.take(batch.ref, ctx.actor, amount)
        for unit in _units_moved(ctx, consumed_units[batch.ref], batch, amount):
            ctx.book.put(replace(unit, status="consumed"))
        ctx.reduce_outstanding(batch, amount, ending="depleted")
    for output in made:
        ctx.book.put(output)
        ctx.give(output.ref, ctx.actor, Decimal(output.quantity))
        for batch, amount in consumed:
            ctx.book.put(EdgeRecord(batch.ref, output.ref, ctx.index, "transform", format_quantity(amount)))
    ctx.summary = {"kind": kind, "inputs": [{"batch": batch.ref, "quantity": format_quantity(amount),
                                             "unit": batch.unit} for batch, amount in consumed],
                   "outputs": [{"batch": batch.ref, "quantity": batch.quantity, "unit": batch.unit}
                               for batch in made]}


def aggregate(ctx: Context) -> None:
    """Pack held quantities of lots into a new logistic unit (SSCC) held by the packer."""
    actor = ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"sscc", "contents"}, {"location"})
    ctx.use_location(actor, body.text("location", 32, optional=True))
    sscc = body.required_text("sscc", 18)
    if len(sscc) != 18 or not is_valid_gs1_key(sscc):
        raise BodyError(f"body.sscc {sscc} is not a valid SSCC-18", code="body.sscc")
    ref = sscc_ref(sscc)
    _new_batch_ref(ctx, ref)
    packed: list[tuple[BatchRecord, Decimal]] = []
    listed_units: dict[str, list[str]] = {}
    for position, item in enumerate(body.items("contents", MAX_IO)):
        entry = Body(item, f"body.contents[{position}]", {"batch", "quantity"}, {"units"})
        batch = ctx.batch(entry.required_text("batch", 256))
        if batch.kind != "lot":
            raise CustodyError(f"contents[{position}] {batch.ref} is a logistic unit; pallets hold lots",
                               code="custody.logistic_unit")
        if any(batch.ref == earlier.ref for earlier, _ in packed):
            raise BodyError(f"contents[{position}] lists {batch.ref} again", code="body.duplicate")
        packed.append((batch, parse_quantity(entry.raw("quantity"), f"body.contents[{position}].quantity")))
        listed_units[batch.ref] = entry.strings("units", MAX_UNITS, 64, optional=True)
    ctx.book.put(BatchRecord(
        ref=ref, kind="logistic", gtin=None, lot=None, sscc=sscc, unit="EA", quantity="1", outstanding="1",
        creator=ctx.actor, created_index=ctx.index, last_index=ctx.index, produced_on=None, expires_on=None,
        origin="{}", certificates="[]", status="active", inspection=None, inspection_index=None))
    ctx.give(ref, ctx.actor, Decimal(1))
    for batch, amount in packed:
        ctx.take(batch.ref, ctx.actor, amount)
        moving = _units_moved(ctx, listed_units[batch.ref], batch, amount)
        for unit in moving:
            ctx.book.put(replace(unit, status="packed"))
        ctx.book.put(ContentRecord(ref, batch.ref, format_quantity(amount), to_json([u.unit_id for u in moving])))
        ctx.book.put(EdgeRecord(batch.ref, ref, ctx.index, "aggregate", format_quantity(amount)))
        for recall in ctx.recalls(batch.ref):
            if ctx.book.get(RecallRecord, ref, recall.recall_index) is None:
                ctx.book.put(RecallRecord(ref, recall.recall_index, recall.source_ref, recall.issuer, recall.reason))
    ctx.summary = {"sscc": sscc, "contents": [{"batch": batch.ref, "quantity": format_quantity(amount),
                                               "unit": batch.unit} for batch, amount in packed]}


def disaggregate(ctx: Context) -> None:
    """Unpack a held logistic unit: its contents become the holder's holdings; the SSCC is spent."""
    actor = ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"sscc"}, {"location"})
    ctx.use_location(actor, body.text("location", 32, optional=True))
    container = ctx.batch(sscc_ref(body.required_text("sscc", 18)), allow_depleted=False)
    if container.kind != "logistic":
        raise CustodyError(f"{container.ref} is not a logistic unit", code="custody.logistic_unit")
    ctx.take(container.ref, ctx.actor, Decimal(1))
    contents = ctx.book.prefix(ContentRecord, container.ref)
    for content in contents:
        ctx.batch(content.ref)
        ctx.give(content.ref, ctx.actor, Decimal(content.quantity))
        for unit_id in json.loads(content.units):
            unit = ctx.book.get(UnitRecord, content.ref, unit_id)
            assert unit is not None
            ctx.book.put(replace(unit, holder=ctx.actor, status="active"))
        ctx.book.delete(ContentRecord, content.container, content.ref)
    ctx.reduce_outstanding(container, Decimal(1), ending="emptied")
    ctx.summary = {"sscc": container.sscc, "contents": [{"batch": content.ref, "quantity": content.quantity}
                                                        for content in contents]}


def sell(ctx: Context) -> None:
    """A retailer or caterer sells or uses held goods. Recalled, failed, or expired goods may not be sold; a
    serialised unit sold a second time is accepted but flagged as a counterfeit or diversion signal."""
    ctx.acting_enterprise(RETAIL_ROLES)
    body = Body(ctx.statement.body, "body", {"batch", "quantity"}, {"units", "location"})
    ctx.use_location(ctx.enterprise(ctx.actor), body.text("location", 32, optional=True))
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
    twice = [unit for unit in _listed_units(ctx, serials, batch) if unit.status == "sold"]
    resold = {unit.unit_id for unit in twice}
    fresh = [serial for serial in serials if _unit_id(batch, serial) not in resold]
    ctx.take(batch.ref, ctx.actor, quantity)
    if fresh or not serials:
        moving = _units_moved(ctx, fresh, batch, Decimal(len(fresh)) if serials else quantity)
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


def inspect(ctx: Context) -> None:
    """A test result on a batch, by the registrar (regulator), its maker, or a holder."""
    body = Body(ctx.statement.body, "body", {"batch", "result"},
                {"items", "certificate_sha256", "laboratory", "note", "location"})
    batch = ctx.batch(body.required_text("batch", 256))
    if not ctx.is_registrar:
        actor = ctx.acting_enterprise()
        ctx.use_location(actor, body.text("location", 32, optional=True))
        if batch.creator != ctx.actor and ctx.held(batch.ref, ctx.actor) == ZERO:
            raise CustodyError(f"{ctx.actor} neither made nor holds batch {batch.ref}", code="custody.not_holder")
    result = body.choice("result", {"conformant", "non_conformant"})
    if batch.inspection == "non_conformant" and batch.inspection_index is not None and not ctx.is_registrar:
        failed = ctx.book.get(EventRecord, batch.inspection_index)
        if failed is not None and failed.actor == ctx.registrar:
            raise CustodyError(f"batch {batch.ref} failed the regulator's inspection (entry "
                               f"{batch.inspection_index}); only the regulator may record a new result",
                               code="custody.regulator_result")
    ctx.book.put(replace(batch, inspection=result, inspection_index=ctx.index))
    ctx.summary = {"batch": batch.ref, "result": result,
                   "items": body.strings("items", 50, 100, optional=True),
                   "laboratory": body.text("laboratory", 200, optional=True),
                   "certificate_sha256": body.sha256("certificate_sha256", optional=True),
                   "note": body.text("note", 500, optional=True)}


def recall(ctx: Context) -> None:
    """A persistent recall by the registrar or the batch's maker, inherited by every downstream batch and
    logistic unit, now and later; recalling a logistic unit recalls the goods packed in it."""
    body = Body(ctx.statement.body, "body", {"batch", "reason"}, {"level"})
    batch = ctx.batch(body.required_text("batch", 256))
    if not ctx.is_registrar:
        ctx.acting_enterprise()
        if batch.creator != ctx.actor:
            raise CustodyError(f"only the registrar or the maker {batch.creator} may recall {batch.ref}",
                               code="custody.not_maker")
    if any(recall.source_ref == batch.ref for recall in ctx.recalls(batch.ref)):
        raise DomainError(f"batch {batch.ref} is already recalled", code="recall.exists")
    reason = body.required_text("reason", 500)
    level = body.choice("level", {"1", "2", "3"}) if body.has("level") else None
    affected = 0
    pending, seen = [batch.ref], {batch.ref}
    while pending:
        ref = pending.pop()
        ctx.book.put(RecallRecord(ref, ctx.index, batch.ref, ctx.actor, reason))
        affected += 1
        following = [edge.child for edge in ctx.book.prefix(EdgeRecord, ref)]
        following += [content.ref for content in ctx.book.prefix(ContentRecord, ref)]  # a pallet's goods
        for child in following:
            if child not in seen:
                seen.add(child)
                pending.append(child)
    ctx.summary = {"batch": batch.ref, "reason": reason, "level": level, "affected_batches": affected}


def destroy(ctx: Context) -> None:
    """The holder destroys a quantity; when nothing of the batch is left anywhere, the batch is ended."""
    ctx.acting_enterprise()
    body = Body(ctx.statement.body, "body", {"batch", "quantity", "reason"}, {"units", "location"})
    ctx.use_location(ctx.enterprise(ctx.actor), body.text("location", 32, optional=True))
    batch = ctx.batch(body.required_text("batch", 256), allow_depleted=False)
    if batch.kind != "lot":
        raise CustodyError(f"{batch.ref} is a logistic unit; disaggregate it first", code="custody.logistic_unit")
    quantity = parse_quantity(body.raw("quantity"), "body.quantity")
    ctx.take(batch.ref, ctx.actor, quantity)
    moving = _units_moved(ctx, body.strings("units", MAX_UNITS, 64, optional=True), batch, quantity)
    ctx.reduce_outstanding(batch, quantity, ending="destroyed")
    for unit in moving:
        ctx.book.put(replace(unit, status="destroyed"))
    ctx.summary = {"batch": batch.ref, "quantity": format_quantity(quantity), "unit": batch.unit,
                   "reason": body.required_text("reason", 500)}


def record_sensor(ctx: Context) -> None:
    """Cold-chain readings by the holder, or by the shipper, carrier or addressee of a shipment in transit.
    A reading outside [minimum, maximum] raises a ``sensor.excursion`` flag."""
    body = Body(ctx.statement.body, "body", {"batch", "measurement", "uom", "readings"},
                {"minimum", "maximum", "shipment", "device"})
    batch = ctx.batch(body.required_text("batch", 256))
    actor = ctx.acting_enterprise()
    if body.has("shipment"):
        key = body.child("shipment", {"from", "id"})
        shipment = ctx.book.get(ShipmentRecord, key.required_text("from", 18), key.required_text("id", 64))
        if (shipment is None or shipment.ref != batch.ref or shipment.status != "in_transit"
                or ctx.actor not in {shipment.shipper, shipment.carrier, shipment.receiver}):
            raise CustodyError(f"{ctx.actor} has no shipment of {batch.ref} in transit to report on",
                               code="custody.not_holder")
    elif ctx.held(batch.ref, actor.credit_code) == ZERO:
        raise CustodyError(f"{ctx.actor} holds none of batch {batch.ref}", code="custody.not_holder")
    measurement = body.choice("measurement", set(SENSOR_UNITS))
    uom = body.choice("uom", {SENSOR_UNITS[measurement]})
    low, high = _limit(body, "minimum"), _limit(body, "maximum")
    if low is not None and high is not None and low > high:
        raise BodyError("body.minimum is above body.maximum", code="body.sensor")
    device = body.text("device", 100, optional=True)
    readings, excursions = [], []
    for position, item in enumerate(body.items("readings", 1000)):
        reading = Body(item, f"body.readings[{position}]", {"time", "value"})
        time = reading.required_text("time", 40)
        try:
            if datetime.fromisoformat(time).utcoffset() is None:
                raise ValueError
        except ValueError:
            raise BodyError(f"body.readings[{position}].time must be an ISO 8601 time with its UTC offset, found "
                            f"{time!r}", code="body.date") from None
        value = _decimal(reading.raw("value"), f"body.readings[{position}].value")
        readings.append(value)
        if (low is not None and value < low) or (high is not None and value > high):
            excursions.append({"time": time, "value": reading.raw("value")})
    if excursions:
        ctx.flag("sensor.excursion", batch.ref, {"measurement": measurement, "uom": uom,
                                                 "minimum": body.raw("minimum"), "maximum": body.raw("maximum"),
                                                 "excursions": excursions[:20], "count": len(excursions)})
    ctx.summary = {"batch": batch.ref, "measurement": measurement, "uom": uom, "device": device,
                   "count": len(readings),
                   "min": format(min(readings), "f"), "max": format(max(readings), "f"),
                   "excursions": len(excursions)}


# -- helpers ---------------------------------------------------------------------------------------------------

def _product(ctx: Context, gtin: str) -> ProductRecord:
    normal = parse_gtin(gtin, "body.gtin")
    product = ctx.book.get(ProductRecord, normal)
    if product is None:
        raise DomainError(f"product {normal} is not defined; define it with trace.product.define first",
                          code="product.unknown")
    return product


def _new_batch_ref(ctx: Context, ref: str) -> None:
    existing = ctx.book.get(BatchRecord, ref)
    if existing is not None and existing.status != "voided":
        raise DomainError(f"batch {ref} already exists (entry {existing.created_index})", code="batch.exists")
    ctx.touched.add(ref)


def _output(ctx: Context, body: Body) -> BatchRecord:
    product = _product(ctx, body.required_text("gtin", 14))
    lot = body.required_text("lot", 20, pattern=_LOT)
    quantity = parse_quantity(body.raw("quantity"), f"{body.path}.quantity")
    unit = parse_unit(body.raw("unit"), f"{body.path}.unit")
    certificates = _certificates(body)
    _require_compliance_certificate(product, certificates, f"{body.path}.certificates")
    produced = body.day("produced_on", optional=True) or ctx.local_day
    expires = body.day("expires_on", optional=True)
    if expires is not None and expires < produced:
        raise BodyError(f"{body.path}.expires_on is before its production date {produced}", code="body.date")
    ref = lot_ref(product.gtin, lot)
    _new_batch_ref(ctx, ref)
    return BatchRecord(
        ref=ref, kind="lot", gtin=product.gtin, lot=lot, sscc=None, unit=unit, quantity=format_quantity(quantity),
        outstanding=format_quantity(quantity), creator=ctx.actor, created_index=ctx.index, last_index=ctx.index,
        produced_on=produced.isoformat(), expires_on=expires.isoformat() if expires else None,
        origin="{}", certificates=to_json(certificates), status="active", inspection=None, inspection_index=None)


def _certificates(body: Body) -> list[dict[str, str]]:
    out = []
    for position, item in enumerate(body.items("certificates", 20, optional=True)):
        entry = Body(item, f"{body.path}.certificates[{position}]", {"kind", "sha256"}, {"issuer", "number"})
        certificate = {"kind": entry.choice("kind", CERTIFICATE_KINDS), "sha256": entry.sha256("sha256") or ""}
        for name in ("issuer", "number"):
            value = entry.text(name, 200, optional=True)
            if value is not None:
                certificate[name] = value
        out.append(certificate)
    return out


def _require_compliance_certificate(product: ProductRecord, certificates: list[dict[str, str]], field: str) -> None:
    """Farm products carry a 承诺达标合格证 per batch, re-issued by whoever mixes or repacks them."""
    if product.category == "farm" and not any(item["kind"] == "compliance_promise" for item in certificates):
        raise CustodyError(f"{field}: a farm-product batch needs its compliance promise certificate "
                           "(承诺达标合格证, kind compliance_promise)", code="batch.certificate_required")


def _origin(body: Body) -> str:
    if not body.has("origin"):
        return "{}"
    origin = body.child("origin", {"place"}, {"region", "gln", "farm"})
    out = {"place": origin.required_text("place", 200)}
    for name in ("region", "farm"):
        value = origin.text(name, 200, optional=True)
        if value is not None:
            out[name] = value
    gln = origin.text("gln", 13, optional=True)
    if gln is not None:
        if len(gln) != 13 or not is_valid_gs1_key(gln):
            raise BodyError(f"body.origin.gln {gln} is not a valid GLN-13", code="body.gln")
        out["gln"] = gln
    return to_json(out)


def _units(body: Body, product: ProductRecord, quantity: Decimal, unit: str) -> list[str]:
    """Serial numbers (as ``01/{GTIN}/21/{serial}``) or 20-digit drug traceability codes of a new lot."""
    values = body.strings("units", MAX_UNITS, 64, optional=True)
    if not values:
        return []
    if unit not in COUNT_UNITS or Decimal(len(values)) != quantity:
        raise CustodyError(f"{len(values)} units listed for {format_quantity(quantity)} {unit}; serialised lots "
                           "are counted in whole units", code="custody.unit_count")
    out = []
    for position, value in enumerate(values):
        if product.category == "drug" and value.isdigit():
            try:
                code = parse_drug_code(value)
            except ValueError as exc:
                raise BodyError(f"body.units[{position}]: {exc}", code="body.drug_code") from None
            if product.drug_prefix is not None and code.product_prefix != product.drug_prefix:
                raise CustodyError(f"drug code {value} belongs to product prefix {code.product_prefix}, not "
                                   f"{product.drug_prefix}", code="unit.product_mismatch")
        elif not _SERIAL.fullmatch(value):
            raise BodyError(f"body.units[{position}] {value!r} is not a serial number", code="body.serial")
        out.append(_unit_id_for(product.gtin, value))
    return out


def _unit_id_for(gtin: str, value: str) -> str:
    """A unit's id: a 20-digit drug traceability code as it is, otherwise ``01/{GTIN}/21/{serial}``."""
    return value if value.isdigit() and len(value) == 20 else f"01/{gtin}/21/{value}"


def _unit_id(batch: BatchRecord, value: str) -> str:
    return _unit_id_for(batch.gtin or "", value)


def _listed_units(ctx: Context, serials: list[str], batch: BatchRecord) -> list[UnitRecord]:
    out = []
    for serial in serials:
        unit = ctx.book.get(UnitRecord, batch.ref, _unit_id(batch, serial))
        if unit is None:
            raise CustodyError(f"unit {serial} is not part of batch {batch.ref}", code="unit.unknown")
        out.append(unit)
    return out


def _units_moved(ctx: Context, serials: list[str], batch: BatchRecord, quantity: Decimal) -> list[UnitRecord]:
    """The serialised units that leave the actor's hands with ``quantity`` of ``batch``: the listed ones, or,
    when none are listed, every unit the actor holds, which must then be exactly ``quantity``."""
    units = ctx.book.prefix(UnitRecord, batch.ref)
    if not units:
        if serials:
            raise CustodyError(f"batch {batch.ref} has no serialised units", code="unit.unknown")
        return []
    if not serials:
        held = [unit for unit in units if unit.holder == ctx.actor and unit.status == "active"]
        if Decimal(len(held)) != quantity:
            raise CustodyError(f"batch {batch.ref} is serialised and {ctx.actor} holds {len(held)} units of it: "
                               f"list the {format_quantity(quantity)} units that move", code="custody.units_required")
        return held
    if Decimal(len(serials)) != quantity:
        raise CustodyError(f"{len(serials)} units listed for {format_quantity(quantity)} {batch.unit}",
                           code="custody.unit_count")
    listed = _listed_units(ctx, serials, batch)
    for unit in listed:
        if unit.holder != ctx.actor or unit.status != "active":
            raise CustodyError(f"unit {unit.unit_id} is {unit.status} with {unit.holder}, not held by {ctx.actor}",
                               code="custody.not_holder")
    return listed


def _write_off_contents(ctx: Context, container: BatchRecord) -> None:
    """A logistic unit lost in transit takes its contents with it: they cease to exist and their units are lost."""
    for content in ctx.book.prefix(ContentRecord, container.ref):
        ctx.reduce_outstanding(ctx.batch(content.ref), Decimal(content.quantity), ending="depleted")
        for unit_id in json.loads(content.units):
            unit = ctx.book.get(UnitRecord, content.ref, unit_id)
            assert unit is not None
            ctx.book.put(replace(unit, status="lost"))
        ctx.book.delete(ContentRecord, content.container, content.ref)


def _decimal(value: object, field: str) -> Decimal:
    if not isinstance(value, str) or not _SIGNED_DECIMAL.fullmatch(value):
        raise BodyError(f"{field} must be a decimal string such as \"-18.5\", found {value!r}", code="body.quantity")
    return Decimal(value)


def _limit(body: Body, name: str) -> Decimal | None:
    return _decimal(body.raw(name), f"body.{name}") if body.has(name) else None

