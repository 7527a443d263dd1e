"""What custody rules share about lots: products, new references, certificates, origins and serialised units.

A serialised unit's id is its 20-digit drug traceability code as it is, otherwise ``01/{GTIN}/21/{serial}``.
Units follow the goods: listed on an event, or implied when the actor moves every unit it holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal

from .body import Body
from .context import Context
from .errors import BodyError, CustodyError, DomainError
from .identifiers import parse_drug_code
from .quantities import format_quantity
from .records import (
    BatchRecord,
    ContentRecord,
    ProductRecord,
    UnitRecord,
    to_json,
)
from .registry import parse_gtin

COUNT_UNITS = frozenset({"EA", "H87", "C62", "NAR", "BX", "CT", "PK", "BG", "BO", "CS", "PA", "TU"})
CERTIFICATE_KINDS = frozenset({"compliance_promise", "quarantine", "inspection_report", "origin", "organic",
                               "gi", "drug_release", "other"})
MAX_UNITS = 1000
MAX_IO = 100
LOT = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
SERIAL = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


def product_of(ctx: Context, gtin: str) -> ProductRecord:
    """The product defined under ``gtin``; raises ``body.gtin`` for a bad GTIN, ``product.unknown`` if undefined."""
    normal = parse_gtin(gtin, "body.gtin")
    product = ctx.book.get(ProductRecord, normal)
    if product is None:
        raise DomainError(f"product {normal} is not defined; define it with trace.product.define first",
                          code="product.unknown")
    return product


def claim_ref(ctx: Context, ref: str) -> None:
    """Touch ``ref`` as a batch this statement creates; raises ``batch.exists`` unless it is new (or voided)."""
    existing = ctx.book.get(BatchRecord, ref)
    if existing is not None and existing.status != "voided":
        raise DomainError(f"batch {ref} already exists (entry {existing.created_index})", code="batch.exists")
    ctx.touched.add(ref)


def read_certificates(body: Body) -> list[dict[str, str]]:
    """The optional ``certificates`` list: kind, SHA-256 of the document, issuer and number; raises ``body.*``."""
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


def require_compliance_certificate(product: ProductRecord, certificates: list[dict[str, str]], field: str) -> None:
    """Farm products carry a 承诺达标合格证 per batch, re-issued by whoever mixes or repacks them."""
    if product.category == "farm" and not any(item["kind"] == "compliance_promise" for item in certificates):
        raise CustodyError(f"{field}: a farm-product batch needs its compliance promise certificate "
                           "(承诺达标合格证, kind compliance_promise)", code="batch.certificate_required")


def read_origin(body: Body) -> str:
    """The optional ``origin`` (place, region, farm, GLN) as canonical JSON text; raises ``body.*``."""
    if not body.has("origin"):
        return "{}"
    origin = body.child("origin", {"place"}, {"region", "gln", "farm"})
    out = {"place": origin.required_text("place", 200)}
    for name in ("region", "farm"):
        value = origin.text(name, 200, optional=True)
        if value is not None:
            out[name] = value
    gln = origin.gs1_key("gln", 13, "GLN-13", "body.gln", optional=True)
    if gln is not None:
        out["gln"] = gln
    return to_json(out)


def read_units(body: Body, product: ProductRecord, quantity: Decimal, unit: str) -> list[str]:
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
        elif not SERIAL.fullmatch(value):
            raise BodyError(f"body.units[{position}] {value!r} is not a serial number", code="body.serial")
        out.append(unit_id_for(product.gtin, value))
    return out


def unit_id_for(gtin: str, value: str) -> str:
    """A unit's id: a 20-digit drug traceability code as it is, otherwise ``01/{GTIN}/21/{serial}``."""
    return value if value.isdigit() and len(value) == 20 else f"01/{gtin}/21/{value}"


def unit_id_in(batch: BatchRecord, value: str) -> str:
    """The id of the unit written ``value`` in ``batch`` (see :func:`unit_id_for`)."""
    return unit_id_for(batch.gtin or "", value)


def listed_units(ctx: Context, serials: list[str], batch: BatchRecord) -> list[UnitRecord]:
    """The unit records of ``serials`` in ``batch``; raises ``unit.unknown`` for one that is not part of it."""
    out = []
    for serial in serials:
        unit = ctx.book.get(UnitRecord, batch.ref, unit_id_in(batch, serial))
        if unit is None:
            raise CustodyError(f"unit {serial} is not part of batch {batch.ref}", code="unit.unknown")
        out.append(unit)
    return out


def units_moved(ctx: Context, serials: list[str], batch: BatchRecord, quantity: Decimal) -> list[UnitRecord]:
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
    listed = listed_units(ctx, serials, batch)
    for unit in listed:
        if unit.holder != ctx.actor or unit.status != "active":
            raise CustodyError(f"unit {unit.unit_id} is {unit.status} with {unit.holder}, not held by {ctx.actor}",
                               code="custody.not_holder")
    return listed


def write_off_contents(ctx: Context, container: BatchRecord) -> None:
    """A logistic unit lost in transit takes its contents with it: they cease to exist and their units are lost."""
    for content in ctx.book.prefix(ContentRecord, container.ref):
        ctx.reduce_outstanding(ctx.batch(content.ref), Decimal(content.quantity), ending="depleted")
        for unit_id in json.loads(content.units):
            unit = ctx.book.get(UnitRecord, content.ref, unit_id)
            assert unit is not None
            ctx.book.put(replace(unit, status="lost"))
        ctx.book.delete(ContentRecord, content.container, content.ref)
