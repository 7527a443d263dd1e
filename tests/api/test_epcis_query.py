"""EPCIS 2.0 query (GET /epcis/events) and batch export (GET /batches/…/epcis): every filter, paging with
nextPageToken while the ledger grows, refused tokens and parameters, who may read, and schema-valid exports whose
event IDs are the CBV 2.0 hash IDs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.api.support import login, token_for
from tests.api.test_epcis_capture import START, Cast
from tests.conftest import LedgerHarness
from tests.trace.world import CERT
from trace.epcis import event_hash_id, validate_document


class Chain(Cast):
    """A farm harvests and ships to a market (an hour later), which receives it (another hour later) and sells
    part of it; a shop is registered but takes no part."""

    def __init__(self, harness: LedgerHarness) -> None:
        super().__init__(harness)
        world = self.world
        self.indexes = [world.act(self.farm.signer, "trace.commission", {
            "gtin": self.gtin, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-19",
            "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [self.ref])]
        world.advance(hours=1)
        self.indexes.append(world.act(self.farm.signer, "trace.ship", {
            "batch": self.ref, "quantity": "300", "to": self.market.code, "shipment_id": "F-1"}, [self.ref]))
        world.advance(hours=1)
        self.indexes.append(world.act(self.market.signer, "trace.receive", {
            "shipment": {"from": self.farm.code, "id": "F-1"}, "quantity": "300"}, [self.ref]))
        world.advance(hours=1)
        self.indexes.append(self.sell("12.5"))

    def sell(self, quantity: str) -> int:
        return self.world.act(self.market.signer, "trace.sell", {"batch": self.ref, "quantity": quantity},
                              [self.ref])

    @property
    def epc_class(self) -> str:
        return f"https://id.gs1.org/01/{self.gtin}/10/QG-1"


def events(client: Any, query: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/epcis/events?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["type"] == "EPCISQueryDocument"
    validate_document(document)
    return list(document["epcisBody"]["queryResults"]["resultsBody"]["eventList"])


def steps(found: list[dict[str, Any]]) -> list[str]:
    return [event["bizStep"] for event in found]


def test_each_filter(harness: LedgerHarness, client: Any) -> None:
    chain = Chain(harness)
    inspector = login(client, harness, "inspector1", "inspector")
    every = ["commissioning", "shipping", "receiving", "retail_selling"]
    assert steps(events(client, "", inspector)) == every
    assert steps(events(client, "eventType=ObjectEvent", inspector)) == every
    assert events(client, "eventType=AggregationEvent|TransformationEvent", inspector) == []
    assert steps(events(client, "EQ_bizStep=shipping", inspector)) == ["shipping"]
    assert steps(events(client, "EQ_bizStep=" + quote("urn:epcglobal:cbv:bizstep:receiving", safe=""),
                        inspector)) == ["receiving"]
    assert steps(events(client, "EQ_bizStep=shipping&EQ_bizStep=retail_selling", inspector)) == \
        ["shipping", "retail_selling"]
    assert steps(events(client, "EQ_disposition=in_transit", inspector)) == ["shipping"]
    assert steps(events(client, "MATCH_epcClass=" + quote(chain.epc_class, safe=""), inspector)) == every
    assert steps(events(client, "MATCH_anyEPCClass=" + quote(chain.epc_class[:-4] + "*", safe=""),
                        inspector)) == every
    assert events(client, "MATCH_epcClass=" + quote(chain.epc_class + "X", safe=""), inspector) == []
    assert events(client, "MATCH_epc=" + quote("urn:epc:id:sgtin:0614141.107346.2017", safe=""), inspector) == []
    assert events(client, "MATCH_anyEPC=" + quote("urn:epc:id:sscc:0614141.1234567890", safe=""), inspector) == []
    assert events(client, "EQ_bizLocation=" + quote("https://id.gs1.org/414/6901234000003", safe=""),
                  inspector) == []
    after_ship = quote((START + timedelta(hours=1)).isoformat(), safe="")
    before_sale = quote((START + timedelta(hours=3)).isoformat(), safe="")
    assert steps(events(client, f"GE_eventTime={after_ship}&LT_eventTime={before_sale}", inspector)) == \
        ["shipping", "receiving"]
    assert steps(events(client, "GE_eventTime=" + quote("2026-11-20T09:00:00+08:00", safe=""), inspector)) == \
        ["shipping", "receiving", "retail_selling"]
    future = quote((datetime.now(UTC) + timedelta(days=1)).isoformat(), safe="")
    assert events(client, f"GE_recordTime={future}", inspector) == []
    assert steps(events(client, f"LT_recordTime={future}", inspector)) == every
    sold = events(client, "EQ_bizStep=retail_selling", inspector)[0]
    assert sold["quantityList"][0]["quantity"] == 12.5  # a JSON number that reads back as the decimal 12.5


def test_pages_follow_the_token_while_the_ledger_grows(harness: LedgerHarness, client: Any) -> None:
    chain = Chain(harness)
    inspector = login(client, harness, "inspector1", "inspector")
    response = client.get("/api/v1/epcis/events?perPage=3&EQ_bizStep=commissioning|shipping|receiving|"
                          "retail_selling", headers=inspector)
    first = response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert steps(first) == ["commissioning", "shipping", "receiving"]
    link = response.headers["Link"]
    match = re.fullmatch(r'<(http://[^>]+)>; rel="next"', link)
    assert match is not None, link
    target = urlsplit(match.group(1))
    assert parse_qs(target.query)["perPage"] == ["3"]
    chain.sell("1")  # appended between the pages: the token still continues where the first page ended
    chain.sell("2")
    second = client.get(f"{target.path}?{target.query}", headers=inspector)
    assert second.status_code == 200
    rest = second.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [event["quantityList"][0]["quantity"] for event in rest] == [12.5, 1, 2]
    assert "Link" in second.headers  # a full page: the next one may be empty
    third = urlsplit(re.fullmatch(r'<([^>]+)>; rel="next"', second.headers["Link"]).group(1))  # type: ignore[union-attr]
    last = client.get(f"{third.path}?{third.query}", headers=inspector)
    assert last.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    assert "Link" not in last.headers
    ids = [event["eventID"] for event in [*first, *rest]]
    assert len(set(ids)) == 6


def test_tokens_and_parameters_are_checked(harness: LedgerHarness, client: Any) -> None:
    Chain(harness)
    inspector = login(client, harness, "inspector1", "inspector")
    response = client.get("/api/v1/epcis/events?perPage=1&eventType=ObjectEvent", headers=inspector)
    token = parse_qs(urlsplit(response.headers["Link"][1:].split(">")[0]).query)["nextPageToken"][0]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for query in (f"nextPageToken={forged}&eventType=ObjectEvent", "nextPageToken=42",
                  f"nextPageToken={token}&eventType=AggregationEvent"):  # issued for another query
        refused = client.get(f"/api/v1/epcis/events?{query}&perPage=1", headers=inspector)
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "request.cursor", query
    assert client.get(f"/api/v1/epcis/events?nextPageToken={token}&eventType=ObjectEvent&perPage=1",
                      headers=inspector).status_code == 200
    unknown = client.get("/api/v1/epcis/events?EQ_bizStep=shipping&EQ_colour=red", headers=inspector)
    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["code"] == "request.parameter"
    error = unknown.get_json()["error"]
    assert "EQ_colour" in error["message"] and "EQ_colour" in error["fields"]
    for query in ("perPage=0", "perPage=1001", "GE_eventTime=yesterday", "GE_eventTime=2026-11-20T08:00:00",
                  "eventType=Shipment", "EQ_bizStep="):
        bad = client.get(f"/api/v1/epcis/events?{query}", headers=inspector)
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "request.parameter", query


def test_who_sees_which_events(harness: LedgerHarness, client: Any) -> None:
    chain = Chain(harness)
    anonymous = client.get("/api/v1/epcis/events")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "auth.required"
    assert steps(events(client, "", token_for(harness, chain.farm.code))) == ["commissioning", "shipping",
                                                                              "receiving"]
    assert steps(events(client, "", token_for(harness, chain.market.code))) == ["shipping", "receiving",
                                                                                "retail_selling"]
    assert events(client, "", token_for(harness, chain.shop.code)) == []
    registrar = login(client, harness, "registrar1", "registrar")
    assert len(events(client, "", registrar)) == 4
    administrator_only = login(client, harness, "someone", "administrator")
    assert client.get("/api/v1/epcis/events", headers=administrator_only).status_code == 200


def test_a_public_ledger_answers_anyone(harness: LedgerHarness) -> None:
    from api import create_app
    Chain(harness)
    settings = harness.settings
    app = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                      "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase, "testing": True,
                      "rate_limits": False, "public_ledger": True})
    try:
        assert len(events(app.test_client(), "", {})) == 4
    finally:
        app.extensions["trace"].engine.dispose()


def test_batch_export_is_a_valid_document_with_hash_ids_and_proof_links(harness: LedgerHarness, client: Any) -> None:
    chain = Chain(harness)
    response = client.get(f"/api/v1/batches/{chain.ref}/epcis")
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    document = response.get_json()
    validate_document(document)
    assert document["type"] == "EPCISDocument"
    exported = document["epcisBody"]["eventList"]
    assert steps(exported) == ["commissioning", "shipping", "receiving", "retail_selling"]
    for index, event in zip(chain.indexes, exported, strict=True):
        assert event["eventID"] == event_hash_id(event, document["@context"])
        assert f"/api/v1/ledger/entries/{index}/bundle" in str(event)
        bundle = client.get(f"/api/v1/ledger/entries/{index}/bundle")
        assert bundle.status_code == 200
    inspector = login(client, harness, "inspector1", "inspector")
    assert [event["eventID"] for event in events(client, "", inspector)] == [event["eventID"] for event in exported]
    assert client.get(f"/api/v1/batches/01/{chain.gtin}/10/NOPE/epcis").status_code == 404
    assert client.get("/api/v1/batches/00/123/epcis").get_json()["error"]["code"] == "request.sscc"

