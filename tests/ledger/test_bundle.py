"""The entry proof bundle checks key provenance and inclusion with only the operator key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ledger import ProofError, Signer, entry_bundle, verifier_key, verify_entry_bundle
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow


def test_bundle_tampering_is_refused(harness: LedgerHarness, enterprise: Signer) -> None:
    writer = harness.writer(enterprise)
    harness.append([writer.sign("test.event", {"n": n}, utcnow()) for n in range(4)], policy=AcceptTestEvents())
    with harness.sessions() as session:
        bundle = entry_bundle(session, 4)
    verify_entry_bundle(bundle, harness.operator_key)

    def altered(change: str) -> dict[str, Any]:
        bad = copy.deepcopy(bundle)
        target = bad["entries"][-1]
        if change == "body":
            target["leaf"]["statement"]["body"]["n"] = 99
        elif change == "proof":
            target["inclusion"][0] = target["inclusion"][1]
        elif change == "drop-key-entry":
            bad["entries"] = [item for item in bad["entries"] if item["index"] != 1]
        elif change == "checkpoint":
            lines = bad["checkpoint"].split("\n")
            lines[1] = str(int(lines[1]) + 1)
            bad["checkpoint"] = "\n".join(lines)
        elif change == "extra-field":
            bad["extra"] = 1
        return bad

    for change, code in [("body", "proof.root"), ("proof", "proof.root"), ("drop-key-entry", "proof.key"),
                         ("checkpoint", "checkpoint.signature"), ("extra-field", "proof.malformed")]:
        with pytest.raises(ProofError) as error:
            verify_entry_bundle(altered(change), harness.operator_key)
        assert error.value.code == code, change
    stranger = Signer.from_seed("x", bytes([9]) * 32)
    with pytest.raises(ProofError) as error:
        verify_entry_bundle(bundle, verifier_key(harness.config.origin, stranger.public_key))
    assert error.value.code == "checkpoint.signature"


def test_bundle_follows_a_rotated_registrar_key(harness: LedgerHarness) -> None:
    from ledger import OPERATOR
    from ledger.keys import encode_public_key
    new_registrar = Signer.from_seed(harness.keys.registrar.author, bytes([5]) * 32)
    rotate = harness.writer(harness.keys.operator).sign("ledger.key.rotate", {
        "subject": new_registrar.author, "old_key": harness.keys.registrar.key_id,
        "public_key": encode_public_key(new_registrar.public_key), "label": "registrar 2", "reason": "rotation"},
        utcnow())
    assert harness.append([rotate])[0].index == 1
    assert harness.keys.operator.author == OPERATOR
    shop = Signer.from_seed("92440300MA5F2G3H46", bytes([6]) * 32)
    add = harness.writer(new_registrar).sign("ledger.key.add", {
        "subject": shop.author, "public_key": encode_public_key(shop.public_key), "label": "shop"}, utcnow())
    assert harness.append([add])[0].index == 2
    event = harness.writer(shop).sign("test.event", {"n": 1}, utcnow())
    assert harness.append([event], policy=AcceptTestEvents())[0].index == 3
    with harness.sessions() as session:
        bundle = entry_bundle(session, 3)
    assert [item["index"] for item in bundle["entries"]] == [0, 1, 2, 3]
    assert verify_entry_bundle(bundle, harness.operator_key).leaf.statement.author == shop.author
