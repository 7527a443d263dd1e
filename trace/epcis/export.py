"""Ledger custody statements as EPCIS 2.0 events (JSON-LD dicts), and EPCIS documents around them.

Export is a deterministic function of the statement and the few facts it refers to (a shipment's batch, the unit
of measure of each batch, the author's location GLNs), so that capture maps the event back to exactly the body it
came from (docs/epcis.md has the table). No I/O: the caller looks the facts up and passes them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import EpcisError
from .hashid import event_hash_id
from .schema import validate_document
from .vocabulary import (
    CONTEXT,
    batch_uri,
    ext,
    gtin_of,
    is_logistic,
    location_uri,
    number,
    party_uri,
    shipment_uri,
    unit_uri,
)

Names = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class ExportEntry:
    """One accepted ledger entry of a custody type, with the facts its EPCIS event needs.

    ``measures`` maps each batch reference the event moves to its unit of measure (UN/ECE Rec 20 code): for a
    ship, sell, destroy the ``batch``; for a transform every input; for an aggregate every content; for a
    receive the shipment's batch. ``shipment_batch`` is the batch reference of the shipment a ``trace.receive``
    accepts (the receive body names only the shipment).
    """

    index: int
    type: str
    author: str
    time: str
    body: Mapping[str, Any]
    links: Mapping[str, str | None]
    statement_hash: str
    measures: Mapping[str, str] = field(default_factory=dict)
    shipment_batch: str | None = None


#: Types :func:`export_event` maps; any other type raises ``epcis.unexportable``.
EXPORTED_TYPES = ("trace.commission", "trace.ship", "trace.receive", "trace.transform", "trace.aggregate",
                  "trace.disaggregate", "trace.sell", "trace.inspect", "trace.recall", "trace.destroy",
                  "trace.sensor")

#: The comment member that links an event to its ledger entry (comments take no part in the hash ID).
COMMENT = "rdfs:comment"


def export_event(entry: ExportEntry, names: Names) -> dict[str, Any]:
    """The EPCIS 2.0 event of ``entry``, its ``eventID`` the CBV 2.0 event hash ID of the event.

    ``names(credit_code)`` returns the enterprise's master data (``{"locations": [{"id", "gln"?}, …], …}``) or
    None; it is used only to write a location with a GLN as ``https://id.gs1.org/414/{gln}``. The event links
    its ledger entry and proof in ``rdfs:comment`` (``trace ledger entry {index} statement {hash} proof
    /api/v1/ledger/entries/{index}/bundle``), which the hash ID does not cover, so the same statement recorded
    in another ledger has the same hash ID. Deterministic. Raises :class:`EpcisError` ``epcis.unexportable`` for
    a type outside :data:`EXPORTED_TYPES` or a quantity with no exact JSON number.
    """
    builder = _BUILDERS.get(entry.type)
    if builder is None:
        raise EpcisError(f"entry {entry.index} of type {entry.type} has no EPCIS event", code="epcis.unexportable")
    body = entry.body
    event: dict[str, Any] = {"type": "ObjectEvent", "eventTime": entry.time,
                             "eventTimeZoneOffset": _offset(entry.time)}
    event.update(builder(entry, body))
    if body.get("location"):
        event["bizLocation"] = {"id": location_uri(entry.author, body["location"], names)}
    event = {key: value for key, value in event.items() if value is not None}
    event["eventID"] = event_hash_id(event, CONTEXT)
    event[COMMENT] = (f"trace ledger entry {entry.index} statement {entry.statement_hash} "
                      f"proof /api/v1/ledger/entries/{entry.index}/bundle")
    return event


def export_document(events: list[dict[str, Any]], *, created: datetime, sender: str | None = None) -> dict[str, Any]:
    """An ``EPCISDocument`` (``@context``, ``schemaVersion`` "2.0", ``creationDate``, ``epcisBody.eventList``)
    holding ``events`` in order; ``sender`` (a credit code) goes in the ``sender`` member when given. The
    document is validated before it is returned (raises :class:`EpcisError` ``epcis.schema`` if not valid).
    """
    document: dict[str, Any] = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                                "creationDate": created.astimezone(UTC).isoformat(timespec="milliseconds")
                                .replace("+00:00", "Z")}
    if sender is not None:
        document["sender"] = sender
    document["epcisBody"] = {"eventList": events}
    validate_document(document)
    return document


def _offset(time: str) -> str:
    moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# -- what moves -----------------------------------------------------------------------------------------------

def _what(ref: str, quantity: str | None, measure: str | None, units: list[str] | None = None) -> dict[str, Any]:
    """epcList/quantityList of a batch: an SSCC as an instance, a lot as a class with its quantity."""
    if is_logistic(ref):
        return {"epcList": [batch_uri(ref)] if quantity != "0" else []}
    element: dict[str, Any] = {"epcClass": batch_uri(ref)}
    if quantity is not None:
        element["quantity"] = number(quantity)
        if measure is not None:
            element["uom"] = measure
    what: dict[str, Any] = {"quantityList": [element]}
    if units:
        what["epcList"] = [unit_uri(gtin_of(ref), unit) for unit in units]
    return what


def _measure(entry: ExportEntry, ref: str) -> str | None:
    return entry.measures.get(ref)


def _quantities(entry: ExportEntry, items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"epcClass": batch_uri(item["batch"]), "quantity": number(item["quantity"]),
             **({"uom": entry.measures[item["batch"]]} if item["batch"] in entry.measures else {})}
            for item in items]


def _extensions(body: Mapping[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {ext(name): body[member] for member, name in names.items() if body.get(member) is not None}


# -- one builder per type -------------------------------------------------------------------------------------

def _commission(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    ref = f"01/{_gtin14(body['gtin'])}/10/{_quote(body['lot'])}"
    ilmd = {"cbvmda:itemExpirationDate": body.get("expires_on"), ext("producedOn"): body.get("produced_on"),
            ext("origin"): body.get("origin"), ext("certificates"): body.get("certificates"),
            ext("activity"): body.get("activity")}
    return {"action": "ADD", "bizStep": "commissioning", "disposition": "active",
            **_what(ref, body["quantity"], body["unit"], body.get("units")),
            "ilmd": {key: value for key, value in ilmd.items() if value is not None}}


def _ship(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    destinations = [{"type": "owning_party", "destination": party_uri(body["to"])}]
    if body.get("carrier"):
        destinations.append({"type": "possessing_party", "destination": party_uri(body["carrier"])})
    return {"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            **_what(body["batch"], body["quantity"], _measure(entry, body["batch"]), body.get("units")),
            "bizTransactionList": [{"type": "desadv",
                                    "bizTransaction": shipment_uri(entry.author, body["shipment_id"])}],
            "sourceList": [{"type": "owning_party", "source": party_uri(entry.author)}],
            "destinationList": destinations}


def _receive(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    if entry.shipment_batch is None:
        raise EpcisError(f"entry {entry.index}: a receive needs its shipment's batch", code="epcis.unexportable")
    shipment = body["shipment"]
    gtin = None if is_logistic(entry.shipment_batch) else gtin_of(entry.shipment_batch)
    event = {"action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
             **_what(entry.shipment_batch, body["quantity"], _measure(entry, entry.shipment_batch)),
             "bizTransactionList": [{"type": "desadv",
                                     "bizTransaction": shipment_uri(shipment["from"], shipment["id"])}],
             "sourceList": [{"type": "owning_party", "source": party_uri(shipment["from"])}],
             "destinationList": [{"type": "owning_party", "destination": party_uri(entry.author)}],
             **_extensions(body, {"discrepancy": "discrepancy"})}
    if body.get("missing_units"):
        event[ext("missingUnits")] = [unit_uri(gtin or "", unit) for unit in body["missing_units"]]
    return event


def _transform(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    outputs, details = [], []
    for output in body["outputs"]:
        ref = f"01/{_gtin14(output['gtin'])}/10/{_quote(output['lot'])}"
        outputs.append({"epcClass": batch_uri(ref), "quantity": number(output["quantity"]), "uom": output["unit"]})
        detail = {"lot": batch_uri(ref), "producedOn": output.get("produced_on"),
                  "expiresOn": output.get("expires_on"), "certificates": output.get("certificates")}
        if any(value is not None for key, value in detail.items() if key != "lot"):
            details.append({key: value for key, value in detail.items() if value is not None})
    units = [unit_uri(gtin_of(item["batch"]), unit) for item in body["inputs"] for unit in item.get("units") or []]
    event: dict[str, Any] = {"type": "TransformationEvent",
                             "bizStep": "repackaging" if body["kind"] == "repack" else "commissioning",
                             "inputQuantityList": _quantities(entry, body["inputs"]),
                             "outputQuantityList": outputs, ext("transformKind"): body["kind"]}
    if units:
        event["inputEPCList"] = units
    if details:
        event["ilmd"] = {ext("outputs"): details}
    return event


def _aggregate(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
            "parentID": batch_uri(f"00/{body['sscc']}"), "childQuantityList": _quantities(entry, body["contents"])}


def _disaggregate(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "AggregationEvent", "action": "DELETE", "bizStep": "unpacking",
            "parentID": batch_uri(f"00/{body['sscc']}")}


def _sell(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"action": "OBSERVE", "bizStep": "retail_selling", "disposition": "retail_sold",
            **_what(body["batch"], body["quantity"], _measure(entry, body["batch"]), body.get("units"))}


def _inspect(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"action": "OBSERVE", "bizStep": "inspecting", "disposition": body["result"],
            **_what(body["batch"], None, None),
            **_extensions(body, {"items": "items", "certificate_sha256": "certificateSha256",
                                 "laboratory": "laboratory", "note": "note"})}


def _recall(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"action": "OBSERVE", "disposition": "recalled", "persistentDisposition": {"set": ["recalled"]},
            **_what(body["batch"], None, None), **_extensions(body, {"reason": "reason", "level": "recallLevel"})}


def _destroy(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"action": "DELETE", "bizStep": "destroying", "disposition": "destroyed",
            **_what(body["batch"], body["quantity"], _measure(entry, body["batch"]), body.get("units")),
            **_extensions(body, {"reason": "reason"})}


_MEASUREMENTS = {"temperature": "Temperature", "humidity": "RelativeHumidity"}


def _sensor(entry: ExportEntry, body: Mapping[str, Any]) -> dict[str, Any]:
    kind = _MEASUREMENTS[body["measurement"]]
    reports = [{"type": kind, "time": reading["time"], "value": number_signed(reading["value"]), "uom": body["uom"]}
               for reading in body["readings"]]
    event: dict[str, Any] = {"action": "OBSERVE", "bizStep": "sensor_reporting", **_what(body["batch"], None, None),
                             "sensorElementList": [{"sensorReport": reports}],
                             **_extensions(body, {"minimum": "minimum", "maximum": "maximum", "device": "device"})}
    if body.get("shipment"):
        shipment = body["shipment"]
        event["bizTransactionList"] = [{"type": "desadv",
                                        "bizTransaction": shipment_uri(shipment["from"], shipment["id"])}]
    return event


def number_signed(value: str) -> int | float:
    return -number(value[1:]) if value.startswith("-") else number(value)


def _gtin14(gtin: str) -> str:
    return gtin.rjust(14, "0")


def _quote(lot: str) -> str:
    from urllib.parse import quote
    return quote(lot, safe="")


_BUILDERS: dict[str, Callable[[ExportEntry, Mapping[str, Any]], dict[str, Any]]] = {
    "trace.commission": _commission, "trace.ship": _ship, "trace.receive": _receive, "trace.transform": _transform,
    "trace.aggregate": _aggregate, "trace.disaggregate": _disaggregate, "trace.sell": _sell,
    "trace.inspect": _inspect, "trace.recall": _recall, "trace.destroy": _destroy, "trace.sensor": _sensor,
}
