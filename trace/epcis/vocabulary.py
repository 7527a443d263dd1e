"""The identifiers both directions of the mapping share: Digital Link URIs of batches, units and locations, the
party and shipment URIs of our own scheme, and exact numbers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

from .errors import EpcisError

DL = "https://id.gs1.org/"
#: The JSON-LD prefix and namespace of our extension members.
PREFIX = "trace"
NAMESPACE = "https://trace.example.cn/epcis/"
PARTY = "urn:cn:uscc:"
SHIPMENT = "urn:cn:trace:shipment:"
LOCATION = "urn:cn:trace:location:"
DRUG_CODE = "urn:cn:nmpa:drugcode:"
CONTEXT: list[Any] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                      {PREFIX: NAMESPACE, "cbvmda": "urn:epcglobal:cbv:mda#",
                       "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}]


def ext(name: str) -> str:
    return f"{PREFIX}:{name}"


def batch_uri(ref: str) -> str:
    """``01/{gtin}/10/{lot}`` → ``https://id.gs1.org/01/{gtin}/10/{lot}``; ``00/{sscc}`` likewise."""
    return DL + ref


def is_logistic(ref: str) -> bool:
    return ref.startswith("00/")


def gtin_of(ref: str) -> str:
    return ref.split("/")[1]


def unit_uri(gtin: str, value: str) -> str:
    """A serialised unit: a 20-digit drug traceability code in the NMPA scheme, any other serial as a GS1
    Digital Link SGTIN."""
    if len(value) == 20 and value.isdigit():
        return DRUG_CODE + value
    return f"{DL}01/{gtin}/21/{quote(value, safe='')}"


def unit_value(uri: str) -> tuple[str | None, str] | None:
    """(gtin or None, value as written at commissioning) of a unit URI, or None."""
    if uri.startswith(DRUG_CODE):
        return None, uri[len(DRUG_CODE):]
    parts = uri[len(DL):].split("/") if uri.startswith(DL) else []
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
        return parts[1], unquote(parts[3])
    return None


def batch_ref(uri: str) -> str | None:
    """The batch reference of a lot-level or SSCC Digital Link URI (already constrained), or None."""
    if not uri.startswith(DL):
        return None
    parts = uri[len(DL):].split("/")
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "10":
        return f"01/{parts[1]}/10/{quote(unquote(parts[3]), safe='')}"
    if len(parts) == 2 and parts[0] == "00":
        return f"00/{parts[1]}"
    return None


def party_uri(code: str) -> str:
    return PARTY + code


def shipment_uri(sender: str, shipment_id: str) -> str:
    return f"{SHIPMENT}{sender}:{shipment_id}"


def location_uri(author: str, location: str, names: Any) -> str:
    """``https://id.gs1.org/414/{gln}`` when the author's location has a GLN, else our location URN."""
    record = names(author) if names is not None else None
    for place in (record or {}).get("locations") or []:
        if place.get("id") == location and place.get("gln"):
            return f"{DL}414/{place['gln']}"
    return f"{LOCATION}{author}:{location}"


def number(quantity: str) -> int | float:
    """A decimal string as a JSON number that reads back as exactly the same decimal."""
    value = Decimal(quantity)
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise EpcisError(f"quantity {quantity} has no exact JSON number", code="epcis.unexportable")
    return as_float


def decimal_text(value: Any, *, signed: bool = False) -> str:
    """A JSON number (int, float or Decimal) as a canonical decimal string: plain digits, no exponent, no
    trailing fractional zeros. Raises ``epcis.unmappable`` for a boolean, a non-number or a negative value."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise EpcisError(f"{value!r} is not a number", code="epcis.unmappable")
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as error:
        raise EpcisError(f"{value!r} is not a number", code="epcis.unmappable") from error
    if not exact.is_finite() or (exact < 0 and not signed):
        raise EpcisError(f"{value!r} is not a quantity", code="epcis.unmappable")
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
