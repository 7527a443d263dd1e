"""The registrar through the API: registering enterprises, changing their status, adding and revoking keys,
deciding key requests; the public registry with cursors."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ledger import Signer
from ledger.keys import encode_public_key
from tests.api.support import login, small_chain
from tests.conftest import LedgerHarness
from tests.trace.world import credit_code
from trace.access import key_request_message

COMMITMENT = hashlib.sha256("承诺".encode()).hexdigest()


def _register_body(code: str, name: str) -> dict[str, Any]:
    return {"credit_code": code, "name": name, "name_en": "Test Co", "roles": ["retailer"],
            "locations": [{"id": "shop", "name": "门店", "address": "福州市鼓楼区"}],
            "commitment_sha256": COMMITMENT}


def test_registrar_registers_and_lists_enterprises(client: Any, harness: LedgerHarness) -> None:
    registrar = login(client, harness, "li.registrar", "registrar")
    codes = [credit_code("350102", serial) for serial in range(10, 15)]
    for code in codes:
        response = client.post("/api/v1/enterprises", json=_register_body(code, f"商店{code[-3:]}"),
                               headers=registrar)
        assert response.status_code == 201, response.get_json()
    again = client.post("/api/v1/enterprises", json=_register_body(codes[0], "again"), headers=registrar)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "enterprise.exists"
    bad = client.post("/api/v1/enterprises", json=_register_body(codes[0][:-1] + "0", "bad"), headers=registrar)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "enterprise.credit_code"
    unknown = client.post("/api/v1/enterprises", json={**_register_body(credit_code("350102", 99), "x"),
                                                        "fax": "1"}, headers=registrar)
    assert unknown.status_code == 422 and "fax" in unknown.get_json()["error"]["fields"]

    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/api/v1/enterprises?limit=2" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [item["credit_code"] for item in page["enterprises"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(codes)
    one = client.get(f"/api/v1/enterprises/{codes[0]}").get_json()
    assert one["status"] == "active" and one["keys"] == [] and one["region"] == "350102"


BASIS = "《市场监督管理严重违法失信名单管理办法》第九条"


def test_status_changes_are_public_and_enforced(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    registrar = login(client, harness, "li.registrar", "registrar")
    response = client.post(f"/api/v1/enterprises/{chain.market.code}/status",
                           json={"status": "blacklisted", "reason": "伪造检验报告"}, headers=registrar)
    assert response.status_code == 422 and "legal_basis" in json.dumps(response.get_json())
    response = client.post(f"/api/v1/enterprises/{chain.market.code}/status",
                           json={"status": "blacklisted", "reason": "伪造检验报告", "legal_basis": BASIS},
                           headers=registrar)
    assert response.status_code == 200
    assert client.get(f"/api/v1/enterprises/{chain.market.code}").get_json()["status"] == "blacklisted"
    assert [item["credit_code"] for item in client.get("/api/v1/enterprises?status=blacklisted")
            .get_json()["enterprises"]] == [chain.market.code]
    ship = chain.world.sign(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "1",
                                                                "to": chain.shop.code, "shipment_id": "B-1"},
                            [chain.ref])
    refused = client.post("/api/v1/events", json=ship)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "enterprise.blacklisted"
    same = client.post(f"/api/v1/enterprises/{chain.market.code}/status",
                       json={"status": "blacklisted", "reason": "again", "legal_basis": BASIS},
                       headers=registrar)
    assert same.status_code == 409 and same.get_json()["error"]["code"] == "enterprise.status"


def test_key_request_approved_by_the_registrar_signs_statements(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    device = Signer.from_seed(chain.shop.code, bytes(range(1, 33)))
    public = encode_public_key(device.public_key)
    label = "收银台 2 号机"
    proof = base64.b64encode(device.sign(key_request_message(harness.config.origin, chain.shop.code, public,
                                                              label))).decode()
    path = f"/api/v1/enterprises/{chain.shop.code}/key-requests"
    wrong = client.post(path, json={"public_key": public, "label": "other label", "proof": proof})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "key_request.proof"
    filed = client.post(path, json={"public_key": public, "label": label, "proof": proof})
    assert filed.status_code == 202
    request_id = filed.get_json()["id"]
    assert client.post(path, json={"public_key": public, "label": label, "proof": proof}).get_json()["id"] == \
        request_id

    inspector = login(client, harness, "wang.inspector", "inspector")
    assert client.post(f"/api/v1/key-requests/{request_id}/approve", headers=inspector).status_code == 403
    registrar = login(client, harness, "li.registrar", "registrar")
    pending = client.get("/api/v1/key-requests", headers=registrar).get_json()["requests"]
    assert [item["id"] for item in pending] == [request_id]
    approved = client.post(f"/api/v1/key-requests/{request_id}/approve", headers=registrar)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert client.get(f"/api/v1/key-requests/{request_id}").get_json()["entry_index"] is not None
    twice = client.post(f"/api/v1/key-requests/{request_id}/approve", headers=registrar)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "key_request.decided"

    product = harness.writer(device).sign("trace.product.define", {"gtin": "06901234000030", "name": "散装大米",
                                                                   "category": "food", "spec": "1 kg"},
                                          chain.world.time())
    assert client.post("/api/v1/events", json=product).status_code == 201

    revoke = client.post(f"/api/v1/enterprises/{chain.shop.code}/keys/{device.key_id}/revoke",
                         json={"reason": "手机丢失"}, headers=registrar)
    assert revoke.status_code == 200
    keys = client.get(f"/api/v1/enterprises/{chain.shop.code}").get_json()["keys"]
    assert [key["revoked_index"] is not None for key in keys] == [False, True]
    late = harness.writer(device).sign("trace.product.define", {"gtin": "06901234000047", "name": "x",
                                                                "category": "food", "spec": "1 kg"},
                                       chain.world.time())
    refused = client.post("/api/v1/events", json=late)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "key.revoked"


def test_registrar_adds_a_key_directly_and_refuses_a_malformed_one(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    registrar = login(client, harness, "li.registrar", "registrar")
    path = f"/api/v1/enterprises/{chain.farm.code}/keys"
    signer = Signer.from_seed(chain.farm.code, bytes(32))
    added = client.post(path, json={"public_key": encode_public_key(signer.public_key), "label": "备用"},
                        headers=registrar)
    assert added.status_code == 201
    bad = client.post(path, json={"public_key": "AAAA", "label": "x"}, headers=registrar)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "key.malformed"
