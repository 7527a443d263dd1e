"""Quality events: inspection results, recalls (inherited downstream and into logistic units) and cold-chain
sensor readings (excursions flagged)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from .body import Body
from .context import Context
from .errors import BodyError, CustodyError, DomainError
from .quantities import ZERO
from .records import (
    ContentRecord,
    EdgeRecord,
    EventRecord,
    RecallRecord,
    ShipmentRecord,
)

INSPECT = "trace.inspect"
RECALL = "trace.recall"
SENSOR = "trace.sensor"
SENSOR_UNITS = {"temperature": "CEL", "humidity": "P1"}
_SIGNED_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?")


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


def _decimal(value: object, field: str) -> Decimal:
    if not isinstance(value, str) or not _SIGNED_DECIMAL.fullmatch(value):
        raise BodyError(f"{field} must be a decimal string such as \"-18.5\", found {value!r}", code="body.quantity")
    return Decimal(value)


def _limit(body: Body, name: str) -> Decimal | None:
    return _decimal(body.raw(name), f"body.{name}") if body.has(name) else None
