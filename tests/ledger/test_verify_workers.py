"""The verifier with its worker processes gives exactly the verdicts of the in-process verifier, and the domain
replay hook refuses at the first bad entry."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

import ledger.verifier as verifier_module
from ledger import DomainReplay, LedgerError, Statement, StatementError, VerificationError, VerifierKey
from ledger.verifier import verify_export_lines
from ledger.verify_workers import WorkerPool
from tests.conftest import TEST_ORIGIN, AcceptTestEvents, LedgerHarness
from tests.ledger.forge import (
    SampleLedger,
    build_sample_ledger,
    export_leaves,
    forge_export,
    forge_leaf,
    heads_after,
    received_of,
    split_lines,
)
from tests.ledger.test_export_tamper import FlipSample, flipped, other_ledger


@pytest.fixture
def sample(harness: LedgerHarness, policy: AcceptTestEvents) -> SampleLedger:
    return build_sample_ledger(harness, policy)


def outcome(data: bytes, key: VerifierKey, *, threads: int, domain: DomainReplay | None = None) -> tuple[object, ...]:
    """The verdict: the report's figures when intact, else the error's code, index and message."""
    try:
        report = verify_export_lines(split_lines(data), key, threads=threads, domain=domain)
    except VerificationError as exc:
        return exc.code, exc.index, exc.message
    return "intact", report.tree_size, report.root, report.keys, report.revoked_keys, sorted(report.types.items())


@pytest.fixture(scope="module")
def flips(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> FlipSample:
    with other_ledger(sqlite_template, tmp_path_factory.mktemp("flips") / "ledger", copy_keys_from=None) as built:
        return FlipSample(build_sample_ledger(built, AcceptTestEvents()), built.operator_key)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 4 entries, so that the sample ledgers (about 50 entries) go through the worker processes, and
    most keys are registered in entries still in flight when the chunks that use them are sent."""
    monkeypatch.setattr(verifier_module, "CHUNK", 4)


def test_workers_and_in_process_agree_on_byte_flips(flips: FlipSample, small_chunks: None) -> None:
    data = flips.sample.export
    rng = random.Random(4242)
    cases = [data] + [flipped(data, rng.randrange(len(data)), rng.randrange(1, 256)) for _ in range(40)]
    # Every signature byte of an early entry (signed by a key registered one entry before, in the same chunk).
    leaves = export_leaves(data)
    start = data.index(leaves[3])
    signature_at = start + leaves[3].index(b'"signature":"') + 13
    cases += [flipped(data, signature_at + offset, 0x01) for offset in range(0, 86, 17)]
    pools: list[int] = []

    def counted(count: int) -> WorkerPool:
        pools.append(count)
        return WorkerPool(count)

    for case in cases:
        alone = outcome(case, flips.key, threads=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(verifier_module, "WorkerPool", counted)
            assert outcome(case, flips.key, threads=2) == alone
    # The worker processes did check these entries (all but the few cases refused before the first chunk).
    assert pools.count(2) == len(pools) > len(cases) * 3 // 4


def test_workers_refuse_a_revoked_key_at_its_index(harness: LedgerHarness, sample: SampleLedger,
                                                   small_chunks: None) -> None:
    leaves = export_leaves(sample.export)
    signer = harness.config.checkpoint_signer
    position = sample.revoke_index + 1
    prefix = leaves[:position]
    forged = forge_leaf(sample.enterprise_b, origin=TEST_ORIGIN, heads=heads_after(prefix),
                        received=received_of(leaves[sample.revoke_index]), links=("LOT-B2",))
    data = forge_export(prefix + [forged] + leaves[position:], signer)
    expected = outcome(data, harness.operator_key, threads=1)
    assert expected[:2] == ("key.revoked", position)
    assert outcome(data, harness.operator_key, threads=2) == expected


def test_a_bad_signature_wins_over_a_later_failure(harness: LedgerHarness, sample: SampleLedger,
                                                   small_chunks: None) -> None:
    """An entry re-signed by another registered key of the same author is refused at its index, even when a
    later entry breaks a rule and the signature check of the first runs in the background."""
    leaves = export_leaves(sample.export)
    signer = harness.config.checkpoint_signer
    at = sample.first_event_index + 1
    # Entries at + 6 and at + 7 swapped: a sequence or link conflict, later than the bad signature.
    data = forge_export(leaves[:at] + [bad_signature(leaves[at])] + leaves[at + 1:at + 6]
                        + [leaves[at + 7], leaves[at + 6]] + leaves[at + 8:], signer)
    expected = outcome(data, harness.operator_key, threads=1)
    assert expected[:2] == ("signature.invalid", at)
    assert outcome(data, harness.operator_key, threads=2) == expected


def bad_signature(leaf: bytes) -> bytes:
    """The leaf with the first character of its signature changed (still canonical base64)."""
    tampered = bytearray(leaf)
    offset = tampered.index(b'"signature":"') + 13
    tampered[offset] = ord("A") if tampered[offset] != ord("A") else ord("B")
    return bytes(tampered)


class RefuseRef:
    """A domain replay that refuses statements whose body names the chosen batch; it records what it saw."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.seen: list[tuple[int, str, datetime]] = []

    def apply(self, statement: Statement, index: int, received: datetime) -> None:
        assert not statement.type.startswith("ledger.")
        self.seen.append((index, statement.type, received))
        if self.refused in statement.body.get("refs", []):
            raise StatementError(f"{self.refused} is not held by {statement.author}", code="custody.not_holder")


@pytest.mark.parametrize("threads", [1, 2])
def test_domain_replay_refuses_at_the_first_bad_entry(harness: LedgerHarness, sample: SampleLedger,
                                                      small_chunks: None, threads: int) -> None:
    leaves = export_leaves(sample.export)
    everything = RefuseRef("no such batch")
    report = verify_export_lines(split_lines(sample.export), harness.operator_key, threads=threads,
                                 domain=everything)
    indexes = [index for index, _, _ in everything.seen]
    assert indexes == sorted(indexes) and len(indexes) == report.types["test.event"]
    assert all(received.tzinfo is not None for _, _, received in everything.seen)
    # Refuse every statement naming LOT-B2: the first of them is reported, with both codes visible.
    first = min(index for index, leaf in enumerate(leaves) if b'"LOT-B2"' in leaf)
    assert sum(b'"LOT-B2"' in leaf for leaf in leaves) > 3
    refusing = RefuseRef("LOT-B2")
    with pytest.raises(VerificationError) as caught:
        verify_export_lines(split_lines(sample.export), harness.operator_key, threads=threads, domain=refusing)
    error = caught.value
    assert (error.code, error.index) == ("verify.domain", first)
    assert str(error) == f"entry {first}: verify.domain: custody.not_holder: LOT-B2 is not held by ENT-B"
    assert isinstance(error.__cause__, LedgerError) and error.__cause__.code == "custody.not_holder"
    assert refusing.seen[-1][0] == first


def test_domain_refusal_comes_after_the_ledger_checks_of_its_entry(harness: LedgerHarness, sample: SampleLedger,
                                                                   small_chunks: None) -> None:
    """A statement with a broken signature is reported as such, not as a domain refusal."""
    leaves = export_leaves(sample.export)
    target = min(index for index, leaf in enumerate(leaves) if b'"LOT-B2"' in leaf)
    data = forge_export(leaves[:target] + [bad_signature(leaves[target])] + leaves[target + 1:],
                        harness.config.checkpoint_signer)
    for threads in (1, 2):
        code, index, _ = outcome(data, harness.operator_key, threads=threads, domain=RefuseRef("LOT-B2"))
        assert (code, index) == ("signature.invalid", target)
