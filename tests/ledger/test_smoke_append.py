"""Appending, idempotency and conflicts through the real sequencer on a real database."""

from __future__ import annotations

import pytest

from ledger import BatchRefused, Signer
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow


def test_append_and_resubmit_is_idempotent(harness: LedgerHarness, enterprise: Signer,
                                           policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    envelopes = [writer.sign("test.event", {"n": n}, utcnow(), links={f"B{n}": None}) for n in range(3)]
    first = harness.append(envelopes, policy=policy)
    assert [result.index for result in first] == [2, 3, 4]
    again = harness.append(envelopes, policy=policy)
    assert [(result.index, result.duplicate) for result in again] == [(2, True), (3, True), (4, True)]
    assert policy.recorded == [2, 3, 4]


def test_stale_sequence_is_a_conflict_and_nothing_is_written(harness: LedgerHarness, enterprise: Signer,
                                                             policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    harness.append([writer.sign("test.event", {"n": 1}, utcnow())], policy=policy)
    stale = harness.writer(enterprise)
    stale.seq, stale.prev = 1, None
    with pytest.raises(BatchRefused) as refused:
        harness.append([stale.sign("test.event", {"n": 2}, utcnow())], policy=policy)
    assert refused.value.results[0].error is not None
    assert refused.value.results[0].error.code == "sequence.conflict"
