"""Processing events: transform (process, split, merge, repack: many inputs to many outputs), and aggregate into
or disaggregate from a logistic unit (SSCC). Outputs never exceed inputs when they share a unit."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from .body import Body
from .context import ROLES, Context, lot_ref, sscc_ref
from .errors import BodyError, CustodyError
from .lots import (
    LOT,
    MAX_IO,
    MAX_UNITS,
    claim_ref,
    product_of,
    read_certificates,
    require_compliance_certificate,
    units_moved,
)
from .quantities import ZERO, format_quantity, parse_quantity, parse_unit
from .records import (
    BatchRecord,
    ContentRecord,
    EdgeRecord,
    RecallRecord,
    UnitRecord,
    to_json,
)

TRANSFORM = "trace.transform"
AGGREGATE = "trace.aggregate"
DISAGGREGATE = "trace.disaggregate"
TRANSFORM_KINDS = frozenset({"process", "split", "merge", "repack"})


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
        for unit in units_moved(ctx, consumed_units[batch.ref], batch, amount):
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
    sscc = body.gs1_key("sscc", 18, "SSCC-18", "body.sscc")
    assert sscc is not None  # required: gs1_key raises instead of returning None
    ref = sscc_ref(sscc)
    claim_ref(ctx, ref)
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
        moving = units_moved(ctx, listed_units[batch.ref], batch, amount)
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


def _output(ctx: Context, body: Body) -> BatchRecord:
    product = product_of(ctx, body.required_text("gtin", 14))
    lot = body.required_text("lot", 20, pattern=LOT)
    quantity = parse_quantity(body.raw("quantity"), f"{body.path}.quantity")
    unit = parse_unit(body.raw("unit"), f"{body.path}.unit")
    certificates = read_certificates(body)
    require_compliance_certificate(product, certificates, f"{body.path}.certificates")
    produced = body.day("produced_on", optional=True) or ctx.local_day
    expires = body.day("expires_on", optional=True)
    if expires is not None and expires < produced:
        raise BodyError(f"{body.path}.expires_on is before its production date {produced}", code="body.date")
    ref = lot_ref(product.gtin, lot)
    claim_ref(ctx, ref)
    return BatchRecord(
        ref=ref, kind="lot", gtin=product.gtin, lot=lot, sscc=None, unit=unit, quantity=format_quantity(quantity),
        outstanding=format_quantity(quantity), creator=ctx.actor, created_index=ctx.index, last_index=ctx.index,
        produced_on=produced.isoformat(), expires_on=expires.isoformat() if expires else None,
        origin="{}", certificates=to_json(certificates), status="active", inspection=None, inspection_index=None)
