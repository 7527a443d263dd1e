"""EPCIS documents: the official examples against the official schema, and our documents' shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trace.epcis import EpcisError, ExportEntry, export_document, export_event, validate_document

VECTORS = Path("/work/shared/vectors/epcis")
BROKEN = {"Example-TransactionEvents-2020_07_03y.jsonld":
          "$.epcisBody.eventList[1].sourceList: {'type': 'location', 'source': 'urn:epc:id:sgln:952005385.481.0'} "
          "is not of type 'array' (rule type)"}


@pytest.mark.skipif(not VECTORS.exists(), reason="official EPCIS examples not available")
@pytest.mark.parametrize("name", sorted(path.name for path in VECTORS.glob("*.jsonld")) if VECTORS.exists() else [])
def test_official_examples(name: str) -> None:
    document = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    if name in BROKEN:
        with pytest.raises(EpcisError) as refused:
            validate_document(document)
        assert refused.value.code == "epcis.schema"
        assert refused.value.message == BROKEN[name]
    else:
        validate_document(document)


def test_schema_names_path_and_rule() -> None:
    document = {"@context": [], "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-11-22T00:00:00Z", "epcisBody": {"eventList": [
                    {"type": "ObjectEvent", "action": "MOVE", "eventTime": "2026-11-22T00:00:00Z",
                     "eventTimeZoneOffset": "+00:00", "epcList": []}]}}
    with pytest.raises(EpcisError) as refused:
        validate_document(document)
    assert refused.value.code == "epcis.schema"
    assert refused.value.message.startswith("$.epcisBody.eventList[0].action: 'MOVE' ")
    assert refused.value.message.endswith("(rule pattern)")


def test_exported_event_carries_hash_id_and_ledger_link() -> None:
    entry = ExportEntry(index=42, type="trace.sell", author="91350103MA8RCX4J6C", time="2026-11-22T10:00:00+08:00",
                        body={"batch": "01/06901234560022/10/JC-1122", "quantity": "2.50", "location": "shop"},
                        links={}, statement_hash="ab" * 32, measures={"01/06901234560022/10/JC-1122": "PK"})
    event = export_event(entry, lambda code: {"locations": [{"id": "shop", "gln": "6901234000016"}]})
    assert event["eventID"].startswith("ni:///sha-256;") and event["eventID"].endswith("?ver=CBV2.0")
    assert event["quantityList"] == [{"epcClass": "https://id.gs1.org/01/06901234560022/10/JC-1122",
                                      "quantity": 2.5, "uom": "PK"}]
    assert event["bizLocation"] == {"id": "https://id.gs1.org/414/6901234000016"}
    assert event["rdfs:comment"] == ("trace ledger entry 42 statement " + "ab" * 32
                                     + " proof /api/v1/ledger/entries/42/bundle")
    document = export_document([event], created=datetime(2026, 11, 22, tzinfo=UTC), sender="91350103MA8RCX4J6C")
    assert document["schemaVersion"] == "2.0" and document["creationDate"] == "2026-11-22T00:00:00.000Z"


def test_unexportable_type() -> None:
    entry = ExportEntry(index=1, type="trace.product.define", author="x", time="2026-11-22T10:00:00+08:00",
                        body={}, links={}, statement_hash="0" * 64)
    with pytest.raises(EpcisError) as refused:
        export_event(entry, lambda code: None)
    assert refused.value.code == "epcis.unexportable"
