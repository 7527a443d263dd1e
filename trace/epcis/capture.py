"""EPCIS 2.0 events as custody statements to be signed: the inverse of :mod:`trace.epcis.export`.

Each event of a document becomes a :class:`trace.drafts.DraftRequest` (type, body, time) for the capturing
enterprise, or a reason why it cannot be mapped; no event is dropped. No I/O: the caller passes the master-data
lookup, then drafts, signs and submits the requests itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trace.drafts import DraftRequest

from .errors import EpcisError
from .hashid import digital_link, event_hash_id
from .vocabulary import DL, LOCATION, PARTY, SHIPMENT, batch_ref, decimal_text, ext, is_logistic, unit_value

Names = Callable[[str], dict[str, Any] | None]
_CBV_WORD = ("https://ref.gs1.org/cbv/BizStep-", "https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:bizstep:",
             "urn:epcglobal:cbv:disp:")


@dataclass(frozen=True)
class CaptureItem:
    """One event of a captured document: ``request`` to sign, or ``reason`` (with ``code``
    ``epcis.unmappable``) why it has no custody counterpart. ``event_id`` is the event's CBV 2.0 hash ID
    (computed, whatever ``eventID`` the document gave)."""

    index: int
    event_id: str
    request: DraftRequest | None
    reason: str | None = None
    code: str | None = None


def capture_requests(document: dict[str, Any], *, author: str, names: Names | None = None) -> list[CaptureItem]:
    """One :class:`CaptureItem` per event of ``document`` (already schema-valid), in order.

    ``author`` is the capturing enterprise's credit code: every request is a statement it will sign, so an event
    whose acting party (the source owning party of a shipping, the destination of a receiving) is another
    enterprise is unmappable. ``names`` is the master-data lookup of :func:`export_event` (maps a location GLN
    back to the author's location id); without it only our own location URNs map. Quantities become exact
    decimal strings (parse the document with ``parse_float=Decimal`` to keep every digit). Raises
    :class:`EpcisError` ``epcis.schema`` only when ``document`` has no event list at all.
    """
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise EpcisError("the document has no epcisBody.eventList", code="epcis.schema")
    context = document.get("@context")
    items = []
    for index, event in enumerate(events):
        try:
            event_id = event_hash_id(event, context)
        except EpcisError as error:
            items.append(CaptureItem(index, "", None, error.message, "epcis.unmappable"))
            continue
        try:
            request = _Reader(event, author, names).request()
        except EpcisError as error:
            items.append(CaptureItem(index, event_id, None, error.message, "epcis.unmappable"))
            continue
        items.append(CaptureItem(index, event_id, request))
    return items


def _word(value: Any) -> str | None:
    """A CBV bizStep/disposition as its bare word, whatever spelling."""
    if not isinstance(value, str):
        return None
    for prefix in _CBV_WORD:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


class _Reader:
    """Reads one event into a statement request; every refusal is an ``epcis.unmappable`` EpcisError."""

    def __init__(self, event: dict[str, Any], author: str, names: Names | None) -> None:
        self.event, self.author, self.names = event, author, names

    def fail(self, message: str) -> EpcisError:
        return EpcisError(message, code="epcis.unmappable")

    def request(self) -> DraftRequest:
        event = self.event
        kind, action = event.get("type"), event.get("action")
        step = _word(event.get("bizStep"))
        persistent = [_word(word) for word in (event.get("persistentDisposition") or {}).get("set") or []]
        if kind == "ObjectEvent" and "recalled" in persistent:
            return self.make("trace.recall", self.recall())
        if kind == "TransformationEvent":
            return self.make("trace.transform", self.transform())
        if kind == "AggregationEvent" and action == "ADD" and step == "packing":
            return self.make("trace.aggregate", self.aggregate())
        if kind == "AggregationEvent" and action == "DELETE" and step == "unpacking":
            return self.make("trace.disaggregate", {"sscc": self.parent(), **self.location()})
        readers = {("ADD", "commissioning"): ("trace.commission", self.commission),
                   ("OBSERVE", "shipping"): ("trace.ship", self.ship),
                   ("OBSERVE", "receiving"): ("trace.receive", self.receive),
                   ("OBSERVE", "retail_selling"): ("trace.sell", self.sell),
                   ("OBSERVE", "inspecting"): ("trace.inspect", self.inspect),
                   ("DELETE", "destroying"): ("trace.destroy", self.destroy),
                   ("OBSERVE", "sensor_reporting"): ("trace.sensor", self.sensor)}
        if kind != "ObjectEvent":
            raise self.fail(f"{kind} with action {action} and bizStep {event.get('bizStep')} has no custody event")
        if (str(action), str(step)) not in readers:
            if event.get("sensorElementList"):
                return self.make("trace.sensor", self.sensor())
            raise self.fail(f"ObjectEvent {action} with bizStep {event.get('bizStep')} has no custody event")
        type_, read = readers[(str(action), str(step))]
        return self.make(type_, read())

    def make(self, type_: str, body: dict[str, Any]) -> DraftRequest:
        return DraftRequest(type_, {key: value for key, value in body.items() if value is not None}, self.time())

    # -- common parts ------------------------------------------------------------------------------------------

    def time(self) -> str:
        text, offset = self.event["eventTime"], self.event["eventTimeZoneOffset"]
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        local = moment.astimezone(datetime.strptime(offset, "%z").tzinfo)
        written = text.endswith(offset) or (offset == "+00:00" and text.endswith("Z"))
        if local.utcoffset() == moment.utcoffset() and written:
            return str(text)
        spec = "microseconds" if local.microsecond else "seconds"
        return local.isoformat(timespec=spec)

    def ext(self, name: str) -> Any:
        return self.event.get(ext(name))

    def location(self) -> dict[str, Any]:
        where = (self.event.get("bizLocation") or {}).get("id")
        if where is None:
            return {}
        if where.startswith(LOCATION):
            owner, _, place = where[len(LOCATION):].partition(":")
            if owner != self.author:
                raise self.fail(f"bizLocation {where} is a location of {owner}, not of the capturing enterprise")
            return {"location": place}
        canonical = digital_link(where) or where
        if canonical.startswith(DL + "414/") and self.names is not None:
            gln = canonical[len(DL + "414/"):]
            for place in (self.names(self.author) or {}).get("locations") or []:
                if place.get("gln") == gln:
                    return {"location": place["id"]}
        raise self.fail(f"bizLocation {where} is not a registered location of the capturing enterprise")

    def party(self, members: str, item: str, kind: str) -> str | None:
        for element in self.event.get(members) or []:
            if _word_sdt(element.get("type")) == kind:
                uri = element[item]
                if not uri.startswith(PARTY):
                    raise self.fail(f"party {uri} is not a registered enterprise (expected {PARTY}<credit code>)")
                return str(uri[len(PARTY):])
        return None

    def shipment(self) -> dict[str, str] | None:
        for element in self.event.get("bizTransactionList") or []:
            uri = element.get("bizTransaction", "")
            if uri.startswith(SHIPMENT):
                sender, _, ident = uri[len(SHIPMENT):].partition(":")
                return {"from": sender, "id": ident}
        return None

    def batch(self) -> tuple[str, dict[str, Any] | None]:
        """The one batch the ObjectEvent is about, and its quantity element (None for an SSCC)."""
        quantities = self.event.get("quantityList") or []
        if len(quantities) > 1:
            raise self.fail("an event about more than one lot has no custody event (one statement per lot)")
        if quantities:
            element = quantities[0]
            ref = batch_ref(digital_link(element["epcClass"]) or element["epcClass"])
            if ref is None or is_logistic(ref):
                raise self.fail(f"EPC class {element['epcClass']} is not a lot (GTIN + batch/lot)")
            return ref, element
        for epc in self.event.get("epcList") or []:
            ref = batch_ref(digital_link(epc) or epc)
            if ref is not None and is_logistic(ref):
                return ref, None
        epcs = self.event.get("epcList") or []
        if epcs:
            raise self.fail(f"instance-level EPC {epcs[0]} is not registered: name the lot in quantityList")
        raise self.fail("the event names no lot and no logistic unit")

    def quantity(self, element: dict[str, Any] | None, *, logistic: bool) -> str:
        if element is None:
            if logistic:
                return "1" if self.event.get("epcList") else "0"
            raise self.fail("the lot has no quantity")
        if "quantity" not in element:
            raise self.fail(f"EPC class {element['epcClass']} has no quantity")
        return decimal_text(element["quantity"])

    def units(self, members: str = "epcList") -> list[str] | None:
        values = []
        for epc in self.event.get(members) or []:
            canonical = digital_link(epc) or epc
            if batch_ref(canonical) is not None:
                continue
            unit = unit_value(canonical)
            if unit is None:
                raise self.fail(f"instance-level EPC {epc} is not registered")
            values.append(unit[1])
        return values or None

    def parent(self) -> str:
        parent = self.event.get("parentID")
        ref = batch_ref(digital_link(parent) or parent) if parent else None
        if ref is None or not is_logistic(ref):
            raise self.fail(f"parentID {parent} is not an SSCC")
        return ref[3:]

    # -- per type ----------------------------------------------------------------------------------------------

    def commission(self) -> dict[str, Any]:
        ref, element = self.batch()
        if element is None:
            raise self.fail("commissioning a logistic unit is packing: use an AggregationEvent")
        ilmd = self.event.get("ilmd") or {}
        _, gtin, _, lot = ref.split("/")
        from urllib.parse import unquote
        return {"gtin": gtin, "lot": unquote(lot), "quantity": self.quantity(element, logistic=False),
                "unit": element.get("uom") or self.fail("the commissioned lot has no uom"),
                "produced_on": ilmd.get(ext("producedOn")), "expires_on": ilmd.get("cbvmda:itemExpirationDate"),
                "origin": ilmd.get(ext("origin")), "certificates": ilmd.get(ext("certificates")),
                "units": self.units(), "activity": ilmd.get(ext("activity")), **self.location()}

    def ship(self) -> dict[str, Any]:
        sender = self.party("sourceList", "source", "owning_party")
        if sender is not None and sender != self.author:
            raise self.fail(f"the shipping party {sender} is not the capturing enterprise")
        receiver = self.party("destinationList", "destination", "owning_party")
        shipment = self.shipment()
        if receiver is None or shipment is None:
            raise self.fail("a shipping event needs an owning_party destination and a desadv shipment reference")
        ref, element = self.batch()
        return {"batch": ref, "quantity": self.quantity(element, logistic=is_logistic(ref)), "to": receiver,
                "shipment_id": shipment["id"], "carrier": self.party("destinationList", "destination",
                                                                     "possessing_party"),
                "units": self.units(), **self.location()}

    def receive(self) -> dict[str, Any]:
        receiver = self.party("destinationList", "destination", "owning_party")
        if receiver is not None and receiver != self.author:
            raise self.fail(f"the receiving party {receiver} is not the capturing enterprise")
        shipment = self.shipment()
        if shipment is None:
            raise self.fail("a receiving event needs the desadv reference of the shipment it receives")
        ref, element = self.batch()
        missing = [unit_value(digital_link(uri) or uri) for uri in self.ext("missingUnits") or []]
        if any(unit is None for unit in missing):
            raise self.fail("trace:missingUnits names an unknown unit")
        return {"shipment": shipment, "quantity": self.quantity(element, logistic=is_logistic(ref)),
                "discrepancy": self.ext("discrepancy"),
                "missing_units": [unit[1] for unit in missing if unit is not None] or None, **self.location()}

    def transform(self) -> dict[str, Any]:
        inputs = [self.item(element) for element in self.event.get("inputQuantityList") or []]
        units = self.units("inputEPCList") or []
        epcs = [unit_value(digital_link(epc) or epc) for epc in self.event.get("inputEPCList") or []]
        for (gtin, value) in [unit for unit in epcs if unit is not None]:
            owners = [item for item in inputs if item["batch"].split("/")[1] == gtin]
            if len(owners) != 1:
                raise self.fail(f"unit {value} of GTIN {gtin} does not name exactly one input lot")
            owners[0].setdefault("units", []).append(value)
        del units
        details = {detail["lot"]: detail for detail in (self.event.get("ilmd") or {}).get(ext("outputs")) or []}
        outputs = []
        for element in self.event.get("outputQuantityList") or []:
            ref = batch_ref(digital_link(element["epcClass"]) or element["epcClass"])
            if ref is None or is_logistic(ref):
                raise self.fail(f"output {element['epcClass']} is not a lot")
            from urllib.parse import unquote
            detail = details.get(element["epcClass"], {})
            outputs.append({key: value for key, value in {
                "gtin": ref.split("/")[1], "lot": unquote(ref.split("/")[3]),
                "quantity": self.quantity(element, logistic=False), "unit": element.get("uom"),
                "produced_on": detail.get("producedOn"), "expires_on": detail.get("expiresOn"),
                "certificates": detail.get("certificates")}.items() if value is not None})
        if not inputs or not outputs:
            raise self.fail("a transformation needs input and output quantity lists (lots)")
        kind = self.ext("transformKind") or self.guess_kind(len(inputs), len(outputs))
        return {"kind": kind, "inputs": inputs, "outputs": outputs, **self.location()}

    def guess_kind(self, inputs: int, outputs: int) -> str:
        if _word(self.event.get("bizStep")) == "repackaging":
            return "repack"
        return "split" if inputs == 1 and outputs > 1 else "merge" if inputs > 1 and outputs == 1 else "process"

    def item(self, element: dict[str, Any]) -> dict[str, Any]:
        ref = batch_ref(digital_link(element["epcClass"]) or element["epcClass"])
        if ref is None or is_logistic(ref):
            raise self.fail(f"EPC class {element['epcClass']} is not a lot")
        return {"batch": ref, "quantity": self.quantity(element, logistic=False)}

    def aggregate(self) -> dict[str, Any]:
        if self.event.get("childEPCs"):
            raise self.fail(f"instance-level child EPC {self.event['childEPCs'][0]} is not registered: "
                            "pack lots by childQuantityList")
        contents = [self.item(element) for element in self.event.get("childQuantityList") or []]
        if not contents:
            raise self.fail("packing needs a childQuantityList")
        return {"sscc": self.parent(), "contents": contents, **self.location()}

    def sell(self) -> dict[str, Any]:
        ref, element = self.batch()
        return {"batch": ref, "quantity": self.quantity(element, logistic=is_logistic(ref)), "units": self.units(),
                **self.location()}

    def inspect(self) -> dict[str, Any]:
        ref, _ = self.batch()
        result = _word(self.event.get("disposition"))
        if result not in ("conformant", "non_conformant"):
            raise self.fail(f"an inspection needs disposition conformant or non_conformant, not {result}")
        return {"batch": ref, "result": result, "items": self.ext("items"),
                "certificate_sha256": self.ext("certificateSha256"), "laboratory": self.ext("laboratory"),
                "note": self.ext("note"), **self.location()}

    def recall(self) -> dict[str, Any]:
        ref, _ = self.batch()
        return {"batch": ref, "reason": self.ext("reason") or "EPCIS persistent disposition recalled",
                "level": self.ext("recallLevel")}

    def destroy(self) -> dict[str, Any]:
        ref, element = self.batch()
        return {"batch": ref, "quantity": self.quantity(element, logistic=is_logistic(ref)),
                "reason": self.ext("reason") or "destroyed (EPCIS bizStep destroying)", "units": self.units(),
                **self.location()}

    def sensor(self) -> dict[str, Any]:
        ref, _ = self.batch()
        measures = {"Temperature": ("temperature", "CEL"), "RelativeHumidity": ("humidity", "P1")}
        readings, kinds = [], set()
        for element in self.event.get("sensorElementList") or []:
            for report in element.get("sensorReport") or []:
                kind = str(report.get("type", "")).removeprefix("gs1:").removeprefix("https://gs1.org/voc/")
                if kind not in measures or report.get("uom") != measures[kind][1]:
                    raise self.fail(f"sensor report {report.get('type')} in {report.get('uom')} is not "
                                    "a temperature in CEL or a relative humidity in P1")
                if "time" not in report or "value" not in report:
                    raise self.fail("a sensor report needs a time and a value")
                kinds.add(kind)
                readings.append({"time": report["time"], "value": decimal_text(report["value"], signed=True)})
        if len(kinds) != 1:
            raise self.fail("a sensor event must report exactly one measurement type")
        measurement, uom = measures[kinds.pop()]
        return {"batch": ref, "measurement": measurement, "uom": uom, "readings": readings,
                "minimum": self.ext("minimum"), "maximum": self.ext("maximum"), "shipment": self.shipment(),
                "device": self.ext("device")}


def _word_sdt(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    for prefix in ("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:"):
        if value.startswith(prefix):
            return value[len(prefix):]
    return value
