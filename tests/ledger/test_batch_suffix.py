"""A batch's suffix proof bundle (docs/ledger-format.md §11.2): the latest K events, chained to a stated previous
statement; tampering inside it or with its start is refused with the precise error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ledger import ProofError, Signer, batch_bundle, verify_batch_bundle
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow

REF = "lot:test-suffix"


@pytest.fixture
def history(harness: LedgerHarness, enterprise: Signer) -> tuple[list[int], list[str]]:
    """Six events on one batch, appended one by one: their entry indexes and statement hashes."""
    indexes: list[int] = []
    hashes: list[str] = []
    for number in range(6):
        writer = harness.writer(enterprise)
        envelope = writer.sign("test.event", {"n": number}, utcnow(), links={REF: hashes[-1] if hashes else None})
        result = harness.append([envelope], policy=AcceptTestEvents())[0]
        assert result.index is not None and result.statement_hash is not None
        indexes.append(result.index)
        hashes.append(result.statement_hash)
    return indexes, hashes


def suffix(harness: LedgerHarness, indexes: list[int], latest: int) -> dict[str, Any]:
    with harness.sessions() as session:
        return batch_bundle(session, REF, indexes, latest=latest)


def refusal(bundle: Any, harness: LedgerHarness) -> tuple[str, str]:
    with pytest.raises(ProofError) as caught:
        verify_batch_bundle(bundle, harness.operator_key)
    return caught.value.code, caught.value.message


def test_a_suffix_bundle_proves_the_latest_events_and_says_so(harness: LedgerHarness,
                                                              history: tuple[list[int], list[str]]) -> None:
    indexes, hashes = history
    bundle = suffix(harness, indexes, 2)
    assert bundle["indexes"] == indexes[-2:]
    assert bundle["previous"] == hashes[-3] and bundle["earlier"] == 4
    assert {0, *indexes[-2:]} <= {item["index"] for item in bundle["entries"]}
    assert not {item["index"] for item in bundle["entries"]} & set(indexes[:-2]), "earlier events are left out"

    proved = verify_batch_bundle(bundle, harness.operator_key)
    assert [entry.index for entry in proved] == indexes[-2:]
    assert (proved.complete, proved.previous, proved.earlier, proved.stated_total) == (False, hashes[-3], 4, 6)
    assert proved.describe() == f"the latest 2 of 6 events of batch {REF}"

    whole = verify_batch_bundle(suffix(harness, indexes, 6), harness.operator_key)
    assert whole.complete and len(whole) == 6 and whole.describe() == f"all 6 events of batch {REF}"
    with harness.sessions() as session:
        full = batch_bundle(session, REF, indexes)
    assert full.keys() == {"format", "checkpoint", "ref", "indexes", "entries"}, "the full bundle is unchanged"
    assert suffix(harness, indexes, 9) == full
    with pytest.raises(ProofError) as none:
        suffix(harness, indexes, 0)
    assert none.value.code == "proof.size"


def test_a_dropped_event_inside_the_suffix_is_refused(harness: LedgerHarness,
                                                      history: tuple[list[int], list[str]]) -> None:
    indexes, hashes = history
    bundle = suffix(harness, indexes, 3)
    gap = copy.deepcopy(bundle)
    gap["indexes"].remove(indexes[-2])
    gap["entries"] = [item for item in gap["entries"] if item["index"] != indexes[-2]]
    assert refusal(gap, harness) == (
        "proof.batch_chain", f"entry {indexes[-1]} links batch {REF} to {hashes[-2]}, expected {hashes[-3]} (the "
        "statement before it in the bundle): an event is missing")


def test_a_wrong_previous_is_refused(harness: LedgerHarness, history: tuple[list[int], list[str]]) -> None:
    indexes, hashes = history
    bundle = suffix(harness, indexes, 2)
    wrong = copy.deepcopy(bundle)
    wrong["previous"] = hashes[-4]
    assert refusal(wrong, harness) == (
        "proof.batch_chain", f"entry {indexes[-2]} links batch {REF} to {hashes[-3]}, expected {hashes[-4]} (the "
        "bundle's previous): an event is missing")

    # Dropping the first listed event of a suffix bundle is the same lie: its successor does not link `previous`.
    head = copy.deepcopy(bundle)
    head["indexes"].pop(0)
    assert refusal(head, harness)[0] == "proof.batch_chain"

    # A suffix passed off as the whole history: its first event links an earlier one.
    whole = {name: value for name, value in copy.deepcopy(bundle).items() if name not in {"previous", "earlier"}}
    assert refusal(whole, harness) == (
        "proof.batch_chain", f"entry {indexes[-2]} links batch {REF} to {hashes[-3]}, expected None (the batch's "
        "first event): an event is missing")


@pytest.mark.parametrize(("change", "message"), [
    ({"previous": "AB" * 32}, "previous must be a statement hash in 64 lowercase hex digits, found 'ABAB"),
    ({"previous": None}, "previous must be a statement hash in 64 lowercase hex digits, found None"),
    ({"earlier": 0}, "earlier must be an integer of at least 1, found 0"),
    ({"earlier": True}, "earlier must be an integer of at least 1, found True"),
    ({"earlier": None, "previous": None}, "previous must be"),
])
def test_a_malformed_suffix_start_is_refused(harness: LedgerHarness, history: tuple[list[int], list[str]],
                                             change: dict[str, Any], message: str) -> None:
    bundle = {**suffix(harness, history[0], 2), **change}
    code, found = refusal(bundle, harness)
    assert code == "proof.malformed" and found.startswith(message)


def test_a_suffix_bundle_needs_both_members(harness: LedgerHarness, history: tuple[list[int], list[str]]) -> None:
    bundle = suffix(harness, history[0], 2)
    del bundle["earlier"]
    assert refusal(bundle, harness) == ("proof.malformed", "not a trace-ledger-batch-proof/1 bundle")
