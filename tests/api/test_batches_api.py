"""Batches over HTTP: state, history with cursors, provenance, the downstream scope and the proof bundle that
verifies offline; malformed and unknown codes answer 400 and 404."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.openapi import api_document
from api.pages import MAX_LATEST
from ledger import ProofError, verify_batch_bundle
from ledger.statements import statement_hash
from tests.api.support import login, small_chain, token_for
from tests.conftest import LedgerHarness


def test_state_history_and_provenance(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    base = f"/api/v1/batches/01/{chain.gtin}/10/QG-1"
    state = client.get(base).get_json()
    assert state["ref"] == chain.ref and state["quantity"] == "500" and state["outstanding"] == "500"
    assert state["product_name"] == "青菜" and state["status"] == "active" and state["recalls"] == []
    short_gtin = chain.gtin.lstrip("0")
    assert client.get(f"/api/v1/batches/01/{short_gtin}/10/QG-1").get_json()["ref"] == chain.ref

    first = client.get(f"{base}/history?limit=2").get_json()
    assert [event["type"] for event in first["events"]] == ["trace.commission", "trace.ship"]
    rest = client.get(f"{base}/history?limit=2&cursor={first['next_cursor']}").get_json()
    assert [event["type"] for event in rest["events"]] == ["trace.receive"] and rest["next_cursor"] is None

    graph = client.get(f"{base}/provenance").get_json()
    assert graph["root"] == chain.ref and graph["sources"] == [chain.ref]
    assert [event["type"] for event in graph["events"]] == ["trace.commission", "trace.ship", "trace.receive"]
    assert graph["enterprises"][chain.farm.code]["name"] == "闽侯蔬菜合作社"


def test_bad_and_unknown_codes(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    wrong_check = chain.gtin[:-1] + str((int(chain.gtin[-1]) + 1) % 10)
    cases = [
        (f"/api/v1/batches/01/{wrong_check}/10/QG-1", 400, "request.gtin"),
        ("/api/v1/batches/01/12345/10/QG-1", 400, "request.gtin"),
        (f"/api/v1/batches/01/{chain.gtin}/10/{'L' * 21}", 400, "request.lot"),
        (f"/api/v1/batches/01/{chain.gtin}/10/NOPE", 404, "not_found.batch"),
        (f"/api/v1/batches/01/{chain.gtin}/10/NOPE/provenance", 404, "not_found.batch"),
        (f"/api/v1/batches/01/{chain.gtin}/10/NOPE/bundle", 404, "not_found.batch"),
        ("/api/v1/batches/00/123456789012345678", 400, "request.sscc"),
        (f"/api/v1/batches/01/{chain.gtin}/10/QG-1/history?cursor=zzz", 400, "request.cursor"),
        (f"/api/v1/batches/01/{chain.gtin}/10/QG-1/history?limit=0", 400, "request.parameter"),
        ("/api/v1/batches?gtin=%C3%B8%E4%B0%8B", 400, "request.parameter"),
        ("/api/v1/products/06901234000011", 400, "request.gtin"),
        ("/api/v1/enterprises/91350100MA2XYE0XXX", 404, "not_found.enterprise"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.get_json()["error"]["code"] == code, path


def test_bundle_verifies_offline_and_detects_a_missing_event(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    bundle = client.get(f"/api/v1/batches/01/{chain.gtin}/10/QG-1/bundle").get_json()
    entries = verify_batch_bundle(bundle, harness.operator_key)
    assert [entry.leaf.statement.type for entry in entries] == ["trace.commission", "trace.ship", "trace.receive"]

    gap = copy.deepcopy(bundle)
    gap["indexes"].pop(1)
    with pytest.raises(ProofError) as missing:
        verify_batch_bundle(gap, harness.operator_key)
    assert missing.value.code == "proof.batch_chain"

    altered = copy.deepcopy(bundle)
    target = next(item for item in altered["entries"] if item["index"] == bundle["indexes"][1])
    target["leaf"]["statement"]["body"]["quantity"] = "30"
    with pytest.raises(ProofError) as changed:
        verify_batch_bundle(altered, harness.operator_key)
    assert changed.value.code in {"proof.root", "proof.invalid"}


def test_bundle_of_the_latest_events(app: Any, client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    path = f"/api/v1/batches/01/{chain.gtin}/10/QG-1/bundle"
    full = client.get(path).get_json()
    suffix = client.get(f"{path}?latest=2").get_json()
    assert suffix["indexes"] == full["indexes"][-2:] and suffix["earlier"] == 1
    proved = verify_batch_bundle(suffix, harness.operator_key)
    assert (len(proved), proved.earlier, proved.complete) == (2, 1, False)
    first = verify_batch_bundle(full, harness.operator_key)[0]
    assert proved.previous == statement_hash(first.leaf.statement.canonical).hex()
    # K of at least the number of events is the whole history, without previous or earlier.
    assert client.get(f"{path}?latest=3").get_json() == full
    assert client.get(f"{path}?latest=10000").get_json() == full

    # The suffix's first event links the batch to previous: without it, the bundle is no whole history.
    del suffix["previous"], suffix["earlier"]
    with pytest.raises(ProofError) as passed_off:
        verify_batch_bundle(suffix, harness.operator_key)
    assert passed_off.value.code == "proof.batch_chain"

    for wrong in ("0", "-1", "abc", "10001", "2.0", "", "%EF%BC%92", "1" * 5000):  # %EF%BC%92: a full-width 2
        response = client.get(f"{path}?latest={wrong}")
        assert response.status_code == 400, wrong
        assert response.get_json()["error"]["code"] == "request.latest", wrong

    spec = api_document(app).spec
    for path_template in ("/api/v1/batches/01/{gtin}/10/{lot}/bundle", "/api/v1/batches/00/{sscc}/bundle"):
        parameters = spec["paths"][path_template]["get"]["parameters"]
        assert {"name": "latest", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LATEST}} \
            in parameters


def test_downstream_is_for_inspectors_and_the_maker(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    path = f"/api/v1/batches/01/{chain.gtin}/10/QG-1/downstream"
    assert client.get(path).status_code == 401
    other = client.get(path, headers=token_for(harness, chain.market.code))
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "auth.forbidden"
    maker = client.get(path, headers=token_for(harness, chain.farm.code))
    assert maker.status_code == 200 and maker.headers["Cache-Control"] == "private, no-store"
    holders = {(item["holder"], item["quantity"], item["state"]) for item in maker.get_json()["holders"]}
    assert holders == {(chain.farm.code, "200", "held"), (chain.market.code, "300", "held")}
    inspector = client.get(path, headers=login(client, harness, "wang.inspector", "inspector"))
    assert inspector.status_code == 200
