"""EPCIS capture mapping: every official example gets a request or a reason; our own export maps back to exactly
the statements it came from, with the same event hash IDs, and re-signed into the ledger gives the same state."""

from __future__ import annotations

import glob
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot, sscc
from trace.epcis import EpcisError, ExportEntry, capture_requests, export_document, export_event, validate_document
from trace.policy import TracePolicy

VECTORS = Path("/work/shared/vectors/epcis")
EXAMPLES = sorted(glob.glob(str(VECTORS / "*.jsonld")))


@pytest.mark.skipif(not EXAMPLES, reason="official EPCIS examples not available")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: Path(path).name)
def test_every_official_event_gets_a_request_or_a_reason(path: str) -> None:
    document = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    items = capture_requests(document, author="91350100158143262P")
    assert len(items) == len(document["epcisBody"]["eventList"])
    for item in items:
        assert (item.request is None) != (item.reason is None)
        if item.request is None:
            assert item.code == "epcis.unmappable" and item.reason


def test_foreign_reasons_are_precise() -> None:
    document = json.loads((VECTORS / "SensorDataExample1.jsonld").read_text(encoding="utf-8"))
    [item] = capture_requests(document, author="91350100158143262P")
    assert item.reason == ("instance-level EPC urn:epc:id:sgtin:4012345.011111.9876 is not registered: "
                           "name the lot in quantityList")


class Recorder:
    """Signs and appends statements, keeping what export needs about each."""

    def __init__(self, world: World) -> None:
        self.world, self.entries = world, []
        self.measures: dict[str, str] = {}
        self.shipments: dict[tuple[str, str], str] = {}

    def act(self, actor: Any, type_: str, body: dict[str, Any], touches: list[str]) -> None:
        envelope = self.world.sign(actor.signer, type_, body, touches)
        [result] = self.world.harness.append([envelope], policy=TracePolicy())
        assert result.error is None, result.error
        statement = envelope["statement"]
        if type_ == "trace.ship":
            self.shipments[(statement["author"], body["shipment_id"])] = body["batch"]
        shipment = body.get("shipment") if type_ == "trace.receive" else None
        shipment_batch = self.shipments[(shipment["from"], shipment["id"])] if shipment else None
        self.entries.append(ExportEntry(index=result.index, type=type_, author=statement["author"],
                                        time=statement["time"], body=statement["body"], links=statement["links"],
                                        statement_hash="0" * 64, measures=dict(self.measures),
                                        shipment_batch=shipment_batch))
        self.world.advance(seconds=20)


def build_world(harness: LedgerHarness) -> tuple[World, Recorder, dict[str, Any]]:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    plant = world.enterprise(credit_code("350100", 3), ["processor"], "福州闽江净菜加工")
    shop = world.enterprise(credit_code("350103", 4), ["retailer"], "福州鲜达生鲜超市")
    greens, cut = gtin("695000", 1), gtin("695000", 2)
    world.product(farm, greens, "上海青", "farm")
    world.product(plant, cut, "鲜切上海青", "farm")
    raw, packed, pallet = lot(greens, "QG-1121"), lot(cut, "JC%2F1122"), f"00/{sscc(7)}"
    recorder = Recorder(world)
    recorder.measures = {raw: "KGM", packed: "PK", pallet: "EA"}
    certificates = [{"kind": "compliance_promise", "sha256": CERT}]
    recorder.act(farm, "trace.commission", {
        "gtin": greens, "lot": "QG-1121", "quantity": "500.25", "unit": "KGM", "produced_on": "2026-11-20",
        "expires_on": "2026-11-28", "activity": "harvest", "location": "main",
        "origin": {"place": "福建省福州市闽侯县", "farm": "绿源基地"}, "certificates": certificates}, [raw])
    recorder.act(farm, "trace.ship", {"batch": raw, "quantity": "300", "to": plant.code, "shipment_id": "LY-1",
                                      "location": "main"}, [raw])
    recorder.act(farm, "trace.sensor", {"batch": raw, "measurement": "temperature", "uom": "CEL", "minimum": "0",
                                        "maximum": "4", "shipment": {"from": farm.code, "id": "LY-1"},
                                        "readings": [{"time": "2026-11-21T08:00:00+08:00", "value": "2.5"},
                                                     {"time": "2026-11-21T09:00:00+08:00", "value": "-1.25"}]},
                 [raw])
    recorder.act(plant, "trace.receive", {"shipment": {"from": farm.code, "id": "LY-1"}, "quantity": "295.5",
                                          "discrepancy": "途中萎蔫"}, [raw])
    recorder.act(plant, "trace.transform", {
        "kind": "repack", "inputs": [{"batch": raw, "quantity": "120"}],
        "outputs": [{"gtin": cut, "lot": "JC/1122", "quantity": "380", "unit": "PK", "produced_on": "2026-11-22",
                     "certificates": certificates}]}, [raw, packed])
    recorder.act(plant, "trace.inspect", {"batch": packed, "result": "conformant", "items": ["毒死蜱"],
                                          "laboratory": "福州市食品药品检验所"}, [packed])
    recorder.act(plant, "trace.aggregate", {"sscc": sscc(7), "contents": [{"batch": packed, "quantity": "200"}]},
                 [pallet, packed])
    recorder.act(plant, "trace.ship", {"batch": pallet, "quantity": "1", "to": shop.code, "shipment_id": "P-1"},
                 [pallet])
    recorder.act(shop, "trace.receive", {"shipment": {"from": plant.code, "id": "P-1"}, "quantity": "1"}, [pallet])
    recorder.act(shop, "trace.disaggregate", {"sscc": sscc(7)}, [pallet, packed])
    recorder.act(shop, "trace.sell", {"batch": packed, "quantity": "2"}, [packed])
    recorder.act(farm, "trace.recall", {"batch": raw, "reason": "克百威残留超标", "level": "2"}, [raw])
    recorder.act(plant, "trace.destroy", {"batch": raw, "quantity": "175.5", "reason": "召回销毁"}, [raw])
    return world, recorder, {"farm": farm, "plant": plant, "shop": shop}


def names_of(world: World) -> Any:
    return lambda code: {"credit_code": code, "locations": [{"id": "main", "gln": "6901234000016"}]} \
        if code.startswith("93") else {"credit_code": code, "locations": [{"id": "main"}]}


def test_export_validates_and_capture_gives_back_the_statements(harness: LedgerHarness) -> None:
    world, recorder, _ = build_world(harness)
    names = names_of(world)
    events = [export_event(entry, names) for entry in recorder.entries]
    document = export_document(events, created=world.time(), sender=recorder.entries[0].author)
    validate_document(document)
    text = json.dumps(document, ensure_ascii=False)
    received = json.loads(text, parse_float=Decimal)
    for entry, event in zip(recorder.entries, received["epcisBody"]["eventList"], strict=True):
        [item] = capture_requests({**received, "epcisBody": {"eventList": [event]}}, author=entry.author,
                                  names=names)
        assert item.request is not None, item.reason
        assert item.event_id == event["eventID"]
        assert (item.request.type, item.request.time) == (entry.type, entry.time)
        expected = {key: value for key, value in entry.body.items() if value is not None}
        assert item.request.body == expected, entry.type


def test_re_export_of_captured_statements_gives_the_same_hash_ids(harness: LedgerHarness) -> None:
    """Export → capture → export again (the captured statements as another ledger would hold them, at other
    indexes and hashes): every event hash ID is the same, and only the ledger link in the comment differs."""
    world, recorder, _ = build_world(harness)
    names = names_of(world)
    first = [export_event(entry, names) for entry in recorder.entries]
    document = json.loads(json.dumps(export_document(first, created=world.time())), parse_float=Decimal)
    again = []
    for position, (entry, event) in enumerate(zip(recorder.entries, document["epcisBody"]["eventList"],
                                                  strict=True)):
        [item] = capture_requests({**document, "epcisBody": {"eventList": [event]}}, author=entry.author,
                                  names=names)
        assert item.request is not None and item.request.time is not None
        again.append(export_event(replace(entry, index=1000 + position, body=item.request.body,
                                          time=item.request.time, statement_hash="f" * 64), names))
    assert [event["eventID"] for event in again] == [event["eventID"] for event in first]
    assert all(a["rdfs:comment"] != b["rdfs:comment"] for a, b in zip(first, again, strict=True))
    assert [{k: v for k, v in event.items() if k != "rdfs:comment"} for event in again] == \
        [{k: v for k, v in event.items() if k != "rdfs:comment"} for event in first]


def test_unexact_quantity_is_refused() -> None:
    entry = ExportEntry(index=1, type="trace.sell", author="91350100158143262P", time="2026-11-22T10:00:00+08:00",
                        body={"batch": "01/06901234560022/10/A", "quantity": "123456789012.123456"}, links={},
                        statement_hash="0" * 64)
    with pytest.raises(EpcisError) as refused:
        export_event(entry, lambda code: None)
    assert refused.value.code == "epcis.unexportable"
