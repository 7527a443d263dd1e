"""Public ledger endpoints: health, checkpoint, proofs, entry bundles, error shape, cache headers."""

from __future__ import annotations

import base64
from typing import Any

from ledger import Signer, open_checkpoint, verify_entry_bundle
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.models import Entry
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow


def _grow(harness: LedgerHarness, signer: Signer, count: int) -> None:
    writer = harness.writer(signer)
    harness.append([writer.sign("test.event", {"n": n}, utcnow()) for n in range(count)], policy=AcceptTestEvents())


def test_health_reports_the_ledger_size(client: Any, harness: LedgerHarness, enterprise: Signer) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["ledger"]["size"] == 2
    assert body["ledger"]["operator_key"] == harness.operator_key.text()
    assert response.headers["Cache-Control"] == "no-store"


def test_checkpoint_and_proofs_verify_against_the_operator_key(client: Any, harness: LedgerHarness,
                                                              enterprise: Signer) -> None:
    _grow(harness, enterprise, 9)
    note = client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    checkpoint = open_checkpoint(note, harness.operator_key)
    assert checkpoint.size == 11
    with harness.sessions() as session:
        leaf = session.get(Entry, 4)
        assert leaf is not None
        data = leaf.leaf
    response = client.get("/api/v1/ledger/proofs/inclusion?index=4&tree_size=11")
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"] and response.headers["ETag"]
    proof = [base64.b64decode(value) for value in response.get_json()["inclusion"]]
    verify_inclusion(leaf_hash(data), 4, 11, proof, checkpoint.root)
    again = client.get("/api/v1/ledger/proofs/inclusion?index=4&tree_size=11",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304

    _grow(harness, enterprise, 5)
    newer = open_checkpoint(client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), harness.operator_key)
    body = client.get("/api/v1/ledger/proofs/consistency?old_size=11&new_size=16").get_json()
    verify_consistency(11, 16, [base64.b64decode(value) for value in body["consistency"]], checkpoint.root,
                       newer.root)


def test_entry_bundle_verifies_offline(client: Any, harness: LedgerHarness, enterprise: Signer) -> None:
    _grow(harness, enterprise, 3)
    bundle = client.get("/api/v1/ledger/entries/3/bundle").get_json()
    verified = verify_entry_bundle(bundle, harness.operator_key)
    assert verified.leaf.statement.author == enterprise.author
    assert [item["index"] for item in bundle["entries"]] == [0, 1, 3]


def test_errors_have_one_shape(client: Any, harness: LedgerHarness) -> None:
    cases = [
        ("/api/v1/ledger/proofs/inclusion?index=5&tree_size=1", 404, "proof.size"),
        ("/api/v1/ledger/proofs/inclusion?index=x&tree_size=1", 400, "request.parameter"),
        ("/api/v1/ledger/proofs/consistency?old_size=2&new_size=1", 404, "proof.size"),
        ("/api/v1/ledger/entries/99/bundle", 404, "proof.size"),
        ("/api/v1/nothing-here", 404, "http.not_found"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert response.status_code == status, path
        error = response.get_json()["error"]
        assert error["code"] == code and error["message"] and error["fields"] == {}, path


def test_ledger_page_shows_the_ledger(client: Any, harness: LedgerHarness, enterprise: Signer) -> None:
    response = client.get("/ledger")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "账本" in page and "ledger.key.add" in page and harness.operator_key.text() in page
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True)
