"""Submitting signed statements over HTTP: one or a batch, idempotent, every bad input refused with its code and
nothing lost or half-written."""

from __future__ import annotations

import base64
import copy
from typing import Any

from tests.api.support import small_chain
from tests.conftest import LedgerHarness
from tests.trace.world import CERT


def _size(client: Any) -> int:
    return int(client.get("/api/v1/health").get_json()["ledger"]["size"])


def test_one_statement_is_appended_once_however_often_it_is_sent(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    envelope = chain.world.sign(chain.market.signer, "trace.ship",
                                {"batch": chain.ref, "quantity": "40", "to": chain.shop.code, "shipment_id": "M-1"},
                                [chain.ref])
    first = client.post("/api/v1/events", json=envelope)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["duplicate"] is False and body["error"] is None
    assert first.headers["Location"].endswith(f"/api/v1/ledger/entries/{body['index']}/bundle")
    size = _size(client)
    again = client.post("/api/v1/events", json=envelope)
    assert again.status_code == 200
    assert again.get_json()["index"] == body["index"] and again.get_json()["duplicate"] is True
    assert _size(client) == size


def test_refusals_carry_their_code_and_change_nothing(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    world = chain.world
    size = _size(client)
    over = world.sign(chain.market.signer, "trace.ship",
                      {"batch": chain.ref, "quantity": "301", "to": chain.shop.code, "shipment_id": "M-2"},
                      [chain.ref])
    not_holder = world.sign(chain.shop.signer, "trace.ship",
                            {"batch": chain.ref, "quantity": "1", "to": chain.market.code, "shipment_id": "X"},
                            [chain.ref])
    forged = copy.deepcopy(over)
    forged["statement"]["body"]["quantity"] = "30"
    stale = world.sign(chain.market.signer, "trace.destroy", {"batch": chain.ref, "quantity": "1",
                                                              "reason": "spoiled"}, [chain.ref])
    cases = [
        (over, 409, "custody.over_quantity"),
        (not_holder, 409, "custody.not_holder"),
        (forged, 422, "signature.invalid"),
        ({**over, "extra": 1}, 422, "request.invalid"),
        ({"signature": over["signature"]}, 422, "request.invalid"),
        ({"signature": 5, "statement": over["statement"]}, 422, "request.invalid"),
        ({"signature": "!!", "statement": over["statement"]}, 422, "statement.signature_encoding"),
    ]
    for envelope, status, code in cases:
        response = client.post("/api/v1/events", json=envelope)
        assert response.status_code == status, (code, response.get_json())
        assert response.get_json()["error"]["code"] == code
    assert _size(client) == size
    world.assert_rebuild_matches()
    taken = world.sign(chain.market.signer, "trace.ship",
                       {"batch": chain.ref, "quantity": "5", "to": chain.shop.code, "shipment_id": "M-9"},
                       [chain.ref])
    assert client.post("/api/v1/events", json=taken).status_code == 201
    stale_response = client.post("/api/v1/events", json=stale)  # signed on the head that `taken` moved
    assert stale_response.status_code == 409
    assert stale_response.get_json()["error"]["code"] == "sequence.conflict"
    size += 1
    raw_cases = [
        (b'{"signature": "x", ', "application/json", 400, "request.json"),
        (b'{"signature": "a", "signature": "b", "statement": {}}', "application/json", 400, "request.json"),
        (b'{"signature": "a", "statement": {"q": 1.5}}', "application/json", 400, "request.json"),
        (b"signature=a", "application/x-www-form-urlencoded", 400, "request.content_type"),
        (b"\xff\xfe", "application/json", 400, "request.json"),
    ]
    for data, content_type, status, code in raw_cases:
        response = client.post("/api/v1/events", data=data, content_type=content_type)
        assert response.status_code == status, (data, response.get_json())
        assert response.get_json()["error"]["code"] == code
    assert _size(client) == size
    world.assert_rebuild_matches()


def test_a_batch_is_all_or_nothing_or_per_item_as_asked(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    world = chain.world
    good_ship = world.sign(chain.market.signer, "trace.ship",
                           {"batch": chain.ref, "quantity": "40", "to": chain.shop.code, "shipment_id": "M-3"},
                           [chain.ref])
    refused = world.sign(chain.shop.signer, "trace.product.define",
                         {"gtin": chain.gtin, "name": "青菜", "category": "farm", "spec": "taken"})
    product = world.sign(chain.farm.signer, "trace.product.define",
                         {"gtin": "06901234000023", "name": "菠菜", "category": "farm", "spec": "500 g"})
    statements = [good_ship, refused, product]
    size = _size(client)

    atomic = client.post("/api/v1/events/batch", json={"statements": statements})
    assert atomic.status_code == 422
    body = atomic.get_json()
    assert body["error"]["code"] == "batch.refused" and "statements.1" in body["error"]["fields"]
    assert [item["error"] is None for item in body["results"]] == [True, False, True]
    assert _size(client) == size

    per_item = client.post("/api/v1/events/batch", json={"statements": statements, "mode": "per_item"})
    assert per_item.status_code == 200
    body = per_item.get_json()
    assert (body["appended"], body["duplicates"], body["refused"]) == (2, 0, 1)
    assert body["results"][1]["error"]["code"] == "product.exists"
    assert body["tree_size"] == size + 2

    again = client.post("/api/v1/events/batch", json={"statements": [good_ship, product], "mode": "atomic"})
    assert again.status_code == 200
    assert [item["duplicate"] for item in again.get_json()["results"]] == [True, True]
    assert [item["index"] for item in again.get_json()["results"]] == \
        [body["results"][0]["index"], body["results"][2]["index"]]
    world.assert_rebuild_matches()  # the API's bulk-loading policy left the state a replay computes


def test_batch_bounds(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    one = chain.world.sign(chain.farm.signer, "trace.product.define",
                           {"gtin": "06901234000030", "name": "芹菜", "category": "farm", "spec": "1 kg"})
    for payload, status, code in [({"statements": []}, 422, "request.invalid"),
                                  ({"statements": [one] * 1001}, 422, "request.invalid"),
                                  ({"statements": [one], "mode": "sometimes"}, 422, "request.invalid"),
                                  ({"statements": [one], "atomic": True}, 422, "request.invalid"),
                                  ({"statements": "all"}, 422, "request.invalid")]:
        response = client.post("/api/v1/events/batch", json=payload)
        assert response.status_code == status, payload.keys()
        assert response.get_json()["error"]["code"] == code
    huge = b'{"statements": ["' + b"a" * (17 * 1024 * 1024) + b'"]}'
    response = client.post("/api/v1/events/batch", data=huge, content_type="application/json")
    assert response.status_code == 413
    oversized = copy.deepcopy(one)
    oversized["statement"]["body"]["spec"] = "x" * 70_000
    response = client.post("/api/v1/events", json=oversized)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "statement.too_large"


def test_author_head_lets_a_client_chain_its_next_statement(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    head = client.get(f"/api/v1/authors/{chain.farm.code}/head").get_json()
    assert head["next_seq"] == 4 and len(head["prev"]) == 64
    fresh = client.get("/api/v1/authors/nobody/head").get_json()
    assert fresh == {"author": "nobody", "next_seq": 1, "prev": None}


def test_a_certificate_hash_is_public_but_the_document_is_not(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    state = client.get(f"/api/v1/batches/01/{chain.gtin}/10/QG-1").get_json()
    assert state["certificates"] == [{"kind": "compliance_promise", "sha256": CERT}]
    assert base64.b64encode(b"certificate scan").decode() not in str(state)
