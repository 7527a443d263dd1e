"""The sequencer refuses what the ledger rules forbid, with a stable code, and never half-writes: after every
refusal the tables are exactly as before and the database verifier passes."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger import AppendResult, BatchRefused, Signer, StatementError, verify_database
from ledger.canonical import canonicalize, strict_loads
from ledger.db import Base
from ledger.keys import encode_public_key
from ledger.models import Entry, LedgerHead
from ledger.statements import DEFAULT_MAX_STATEMENT_BYTES, parse_statement, sign_statement
from tests.conftest import TEST_ORIGIN, AcceptTestEvents, LedgerHarness, utcnow
from trace.ledger_service import StatementWriter

Snapshot = dict[str, Any]


def snapshot(harness: LedgerHarness) -> Snapshot:
    """Row counts of every table and the head row."""
    with harness.sessions() as session:
        state: Snapshot = {table.name: session.scalar(select(func.count()).select_from(table))
                           for table in Base.metadata.sorted_tables}
        head = session.get(LedgerHead, 1)
        assert head is not None
        state["head"] = (head.tree_size, head.chain_hash, head.last_received, head.registrar)
    return state


def assert_intact(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return verify_database(session, harness.operator_key).tree_size


def refuse(harness: LedgerHarness, envelopes: Sequence[dict[str, Any]], policy: AcceptTestEvents) -> list[AppendResult]:
    """Submit an all-or-nothing batch that must be refused; check that nothing was written."""
    before, recorded = snapshot(harness), list(policy.recorded)
    with pytest.raises(BatchRefused) as caught:
        harness.append(envelopes, policy=policy)
    assert snapshot(harness) == before
    assert policy.recorded == recorded
    assert assert_intact(harness) == before["head"][0]
    return caught.value.results


def refused_code(harness: LedgerHarness, envelope: dict[str, Any], policy: AcceptTestEvents) -> str:
    results = refuse(harness, [envelope], policy)
    error = results[0].error
    assert error is not None and results[0].index is None
    return error.code


def accept(harness: LedgerHarness, envelopes: Sequence[dict[str, Any]], policy: AcceptTestEvents) -> list[int]:
    results = harness.append(envelopes, policy=policy)
    assert all(result.error is None for result in results), [str(result.error) for result in results]
    return [result.index for result in results if result.index is not None]


def key_statement(writer: StatementWriter, type: str, **body: str) -> dict[str, Any]:
    return writer.sign(type, dict(body), utcnow())


def add_key(signer: Signer) -> dict[str, str]:
    return {"subject": signer.author, "public_key": encode_public_key(signer.public_key), "label": "key"}


# --- signatures --------------------------------------------------------------------------------------------------


def test_signature_of_another_statement_is_refused(harness: LedgerHarness, enterprise: Signer,
                                                   policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    first = writer.sign("test.event", {"n": 1}, utcnow())
    second = writer.sign("test.event", {"n": 2}, utcnow())
    forged = {"signature": second["signature"], "statement": first["statement"]}
    assert refused_code(harness, forged, policy) == "signature.invalid"
    # The genuine statement still goes in afterwards.
    assert accept(harness, [first], policy) == [2]


def test_statement_altered_after_signing_is_refused(harness: LedgerHarness, enterprise: Signer,
                                                    policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    envelope = writer.sign("test.event", {"n": 1, "quantity": "10"}, utcnow(), links={"LOT-1": None})
    for change in ({"body": {"n": 1, "quantity": "100"}}, {"links": {"LOT-2": None}},
                   {"time": (utcnow() - timedelta(days=1)).isoformat(timespec="seconds")}, {"type": "test.other"},
                   {"seq": 2, "prev": "00" * 32}):
        altered = copy.deepcopy(envelope)
        altered["statement"].update(change)
        assert altered != envelope
        assert refused_code(harness, altered, policy) == "signature.invalid", change
    signature = bytearray(base64.b64decode(envelope["signature"]))
    signature[10] ^= 0x01
    flipped = dict(envelope, signature=base64.b64encode(bytes(signature)).decode("ascii"))
    assert refused_code(harness, flipped, policy) == "signature.invalid"
    for malformed in ("not base64", envelope["signature"][:-4] + "AAA=", envelope["signature"][:-3] + "B==",
                      envelope["signature"].rstrip("=")):
        assert refused_code(harness, dict(envelope, signature=malformed), policy) == "statement.signature_encoding"
    assert accept(harness, [envelope], policy) == [2]


# --- replay and idempotency --------------------------------------------------------------------------------------


def test_replayed_statement_returns_the_original_entry(harness: LedgerHarness, enterprise: Signer,
                                                       policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    first = [writer.sign("test.event", {"n": n}, utcnow(), links={"LOT-1": writer.prev if n else None})
             for n in range(3)]
    assert accept(harness, first, policy) == [2, 3, 4]
    before = snapshot(harness)
    for envelope, index in zip(first, [2, 3, 4], strict=True):
        results = harness.append([envelope], policy=policy)
        assert (results[0].index, results[0].duplicate, results[0].error) == (index, True, None)
    # Replays mixed with a new statement, and the same new statement twice in one batch.
    fresh = writer.sign("test.event", {"n": 3}, utcnow())
    results = harness.append([first[1], fresh, fresh, first[0]], policy=policy)
    assert [(result.index, result.duplicate) for result in results] == [(3, True), (5, False), (5, True),
                                                                        (2, True)]
    after = snapshot(harness)
    assert after["ledger_entries"] == before["ledger_entries"] + 1
    assert policy.recorded == [2, 3, 4, 5]
    # Even the genesis statement, replayed, is entry 0 and nothing more.
    with harness.sessions() as session:
        genesis = session.get(Entry, 0)
        assert genesis is not None
        leaf = strict_loads(genesis.leaf)
    results = harness.append([{"signature": leaf["signature"], "statement": leaf["statement"]}], policy=policy)
    assert (results[0].index, results[0].duplicate) == (0, True)
    assert snapshot(harness) == after
    assert assert_intact(harness) == 6


# --- ledger rules ------------------------------------------------------------------------------------------------


def test_statement_for_another_ledger_is_refused(harness: LedgerHarness, enterprise: Signer,
                                                 policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    writer.origin = "other.example/ledger"
    assert refused_code(harness, writer.sign("test.event", {"n": 1}, utcnow()), policy) == "statement.wrong_ledger"


def test_revoked_and_rotated_keys_are_refused(harness: LedgerHarness, policy: AcceptTestEvents) -> None:
    registrar = harness.writer(harness.keys.registrar)
    old, new, revoked = Signer.from_seed("ENT-R", b"\x11" * 32), Signer.from_seed("ENT-R", b"\x12" * 32), \
        Signer.from_seed("ENT-S", b"\x13" * 32)
    accept(harness, [key_statement(registrar, "ledger.key.add", **add_key(old)),
                     key_statement(registrar, "ledger.key.add", **add_key(revoked))], policy)
    pending_old = harness.writer(old).sign("test.event", {"n": 1}, utcnow())
    pending_revoked = harness.writer(revoked).sign("test.event", {"n": 1}, utcnow())
    accept(harness, [key_statement(registrar, "ledger.key.rotate", subject="ENT-R", old_key=old.key_id,
                                   public_key=encode_public_key(new.public_key), label="new", reason="rotation"),
                     key_statement(registrar, "ledger.key.revoke", subject="ENT-S", key=revoked.key_id,
                                   reason="compromised")], policy)
    # Signed while the keys were valid, submitted after: refused all the same.
    assert refused_code(harness, pending_old, policy) == "key.revoked"
    assert refused_code(harness, pending_revoked, policy) == "key.revoked"
    assert refused_code(harness, harness.writer(revoked).sign("test.event", {"n": 2}, utcnow()), policy) == \
        "key.revoked"
    # The rotated-in key signs the same author's next statement.
    assert accept(harness, [harness.writer(new).sign("test.event", {"n": 1}, utcnow())], policy) == [5]
    # A revoked key cannot be revoked again.
    assert refused_code(harness, key_statement(registrar, "ledger.key.revoke", subject="ENT-S", key=revoked.key_id,
                                               reason="again"), policy) == "key.revoked"


def test_unknown_key_is_refused(harness: LedgerHarness, enterprise: Signer, policy: AcceptTestEvents) -> None:
    stranger = Signer.from_seed("ENT-UNKNOWN", b"\x21" * 32)
    assert refused_code(harness, harness.writer(stranger).sign("test.event", {"n": 1}, utcnow()), policy) == \
        "key.unknown"
    # A registered author signing with a key nobody registered.
    impostor = Signer.from_seed(enterprise.author, b"\x22" * 32)
    assert refused_code(harness, harness.writer(impostor).sign("test.event", {"n": 1}, utcnow()), policy) == \
        "key.unknown"
    # Another author's registered key.
    thief = Signer(stranger.author, enterprise.private_key)
    assert refused_code(harness, harness.writer(thief).sign("test.event", {"n": 1}, utcnow()), policy) == \
        "key.wrong_author"


def test_key_statements_need_the_registrar(harness: LedgerHarness, enterprise: Signer,
                                           policy: AcceptTestEvents) -> None:
    other = Signer.from_seed("ENT-OTHER", b"\x31" * 32)
    harness.register(other)
    extra = Signer.from_seed(enterprise.author, b"\x32" * 32)
    attempts: list[tuple[str, dict[str, str]]] = [
        ("ledger.key.add", add_key(Signer.from_seed("ENT-NEW", b"\x33" * 32))),  # a new enterprise
        ("ledger.key.add", add_key(extra)),  # a second key for itself
        ("ledger.key.revoke", {"subject": other.author, "key": other.key_id, "reason": "hostile"}),
        ("ledger.key.rotate", {"subject": other.author, "old_key": other.key_id, "label": "x", "reason": "hostile",
                               "public_key": encode_public_key(extra.public_key)})]
    for type, body in attempts:
        # Each from the author's committed head: a refused statement does not advance its sequence.
        assert refused_code(harness, key_statement(harness.writer(enterprise), type, **body), policy) == \
            "authority.denied", (type, body)
    # The registrar's own keys are the operator's to manage, and the operator key is fixed.
    registrar = harness.writer(harness.keys.registrar)
    assert refused_code(harness, key_statement(registrar, "ledger.key.add", subject=harness.keys.registrar.author,
                                               public_key=encode_public_key(extra.public_key), label="x"),
                        policy) == "authority.denied"
    registrar = harness.writer(harness.keys.registrar)
    assert refused_code(harness, key_statement(registrar, "ledger.key.revoke", subject="operator",
                                               key=harness.keys.operator.key_id, reason="x"),
                        policy) == "authority.denied"


# --- statement format --------------------------------------------------------------------------------------------


def test_floats_are_refused(harness: LedgerHarness, enterprise: Signer, policy: AcceptTestEvents) -> None:
    envelope = harness.writer(enterprise).sign("test.event", {"quantity": 1}, utcnow())
    for value in (1.5, 1.0, float("nan"), float("inf")):
        floated = copy.deepcopy(envelope)
        floated["statement"]["body"]["quantity"] = value
        assert refused_code(harness, floated, policy) == "statement.float", value
    for text in ('{"quantity":1.5}', '{"quantity":1e3}', '{"quantity":-0.0}', '{"quantity":NaN}',
                 '{"quantity":Infinity}'):
        with pytest.raises(StatementError) as caught:
            strict_loads(text)
        assert caught.value.code == "statement.float", text


def test_duplicate_json_keys_are_refused(harness: LedgerHarness, enterprise: Signer) -> None:
    envelope = harness.writer(enterprise).sign("test.event", {"quantity": "1"}, utcnow())
    text = json.dumps(envelope)
    assert strict_loads(text) == envelope
    smuggled = text.replace('"quantity": "1"', '"quantity": "1", "quantity": "1000"')
    assert json.loads(smuggled)["statement"]["body"] == {"quantity": "1000"}  # a lenient parser keeps the last
    for duplicated in (smuggled, text.replace('"seq": ', '"seq": 99, "seq": '),
                       text.replace('"signature": ', '"signature": "x", "signature": ')):
        assert duplicated != text
        with pytest.raises(StatementError) as caught:
            strict_loads(duplicated)
        assert caught.value.code == "statement.duplicate_key"
        with pytest.raises(StatementError) as caught:
            strict_loads(duplicated.encode("utf-8"))
        assert caught.value.code == "statement.duplicate_key"


def statement_fields(harness: LedgerHarness, signer: Signer, body: dict[str, Any]) -> dict[str, Any]:
    seq, prev = harness.writer(signer).seq, harness.writer(signer).prev
    return {"v": 1, "ledger": TEST_ORIGIN, "type": "test.event", "author": signer.author, "key": signer.key_id,
            "seq": seq, "prev": prev, "links": {}, "time": utcnow().isoformat(timespec="seconds"), "body": body}


def test_oversized_statement_is_refused(harness: LedgerHarness, enterprise: Signer,
                                        policy: AcceptTestEvents) -> None:
    limit = harness.config.max_statement_bytes
    assert limit == DEFAULT_MAX_STATEMENT_BYTES
    fields = statement_fields(harness, enterprise, {"blob": ""})
    padding = limit - len(canonicalize(fields))

    def signed(size: int) -> dict[str, Any]:
        data = dict(fields, body={"blob": "x" * size})
        return sign_statement(enterprise, parse_statement(data, max_bytes=10 * limit)).envelope()

    too_large = signed(padding + 1)
    assert len(canonicalize(too_large["statement"])) == limit + 1
    assert refused_code(harness, too_large, policy) == "statement.too_large"
    assert refused_code(harness, signed(4 * limit), policy) == "statement.too_large"
    exactly = signed(padding)
    assert len(canonicalize(exactly["statement"])) == limit
    assert accept(harness, [exactly], policy) == [2]
    assert assert_intact(harness) == 3


def test_unknown_fields_are_refused(harness: LedgerHarness, enterprise: Signer, policy: AcceptTestEvents) -> None:
    envelope = harness.writer(enterprise).sign("test.event", {"n": 1}, utcnow())
    extra = copy.deepcopy(envelope)
    extra["statement"]["note"] = "not part of the format"
    assert refused_code(harness, extra, policy) == "statement.fields"
    missing = copy.deepcopy(envelope)
    del missing["statement"]["links"]
    assert refused_code(harness, missing, policy) == "statement.fields"
    assert refused_code(harness, dict(envelope, received="2020-01-01T00:00:00.000000Z"), policy) == \
        "statement.fields"


def test_stale_links_are_a_conflict(harness: LedgerHarness, enterprise: Signer, policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    first = writer.sign("test.event", {"n": 1}, utcnow(), links={"LOT-1": None})
    head = writer.prev
    second = writer.sign("test.event", {"n": 2}, utcnow(), links={"LOT-1": head})
    accept(harness, [first, second], policy)
    stale_links: list[dict[str, str | None]] = [
        {"LOT-1": head},  # the batch moved on: this is the previous head
        {"LOT-1": None},  # claims to open a batch that exists
        {"LOT-1": "00" * 32},
        {"LOT-2": head}]  # links a batch that does not exist yet to a head
    for links in stale_links:
        stale = harness.writer(enterprise).sign("test.event", {"n": 3}, utcnow(), links=links)
        assert refused_code(harness, stale, policy) == "link.conflict", links
    assert accept(harness, [harness.writer(enterprise).sign("test.event", {"n": 3}, utcnow(),
                                                            links={"LOT-1": writer.prev, "LOT-2": None})],
                  policy) == [4]


def test_statement_from_the_future_is_refused(harness: LedgerHarness, enterprise: Signer,
                                              policy: AcceptTestEvents) -> None:
    future = harness.writer(enterprise).sign("test.event", {"n": 1}, utcnow() + timedelta(minutes=11))
    assert refused_code(harness, future, policy) == "statement.time_in_future"
    early = harness.writer(enterprise).sign("test.event", {"n": 1}, utcnow() + timedelta(minutes=9))
    assert accept(harness, [early], policy) == [2]


# --- batches: per item and all or nothing ------------------------------------------------------------------------


def mixed_batch(harness: LedgerHarness, enterprise: Signer) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Good statements from one enterprise interleaved with bad ones from elsewhere; the bad positions and
    their codes."""
    writer = harness.writer(enterprise)
    good = [writer.sign("test.event", {"n": n}, utcnow(), links={"LOT-M": writer.prev if n else None})
            for n in range(4)]
    forged = copy.deepcopy(good[0])
    forged["statement"]["body"]["n"] = 100
    foreign = harness.writer(Signer.from_seed("ENT-GHOST", b"\x41" * 32)).sign("test.event", {"n": 1}, utcnow())
    floated = copy.deepcopy(foreign)
    floated["statement"]["body"]["n"] = 0.5
    envelopes = [good[0], foreign, good[1], floated, good[2], forged, {"statement": {}}, good[3], good[1]]
    return envelopes, {1: "key.unknown", 3: "statement.float", 5: "signature.invalid", 6: "statement.fields"}


def test_per_item_batch_appends_the_good_and_reports_the_bad(harness: LedgerHarness, enterprise: Signer,
                                                             policy: AcceptTestEvents) -> None:
    envelopes, bad = mixed_batch(harness, enterprise)
    results = harness.append(envelopes, policy=policy, atomic=False)
    assert {result.position: result.error.code for result in results if result.error is not None} == bad
    assert [(result.index, result.duplicate) for result in results if result.error is None] == \
        [(2, False), (3, False), (4, False), (5, False), (3, True)]
    assert policy.recorded == [2, 3, 4, 5]
    assert assert_intact(harness) == 6


def test_per_item_refusal_of_a_link_in_a_chain_refuses_what_follows_it(harness: LedgerHarness, enterprise: Signer,
                                                                       policy: AcceptTestEvents) -> None:
    writer = harness.writer(enterprise)
    envelopes = [writer.sign("test.event", {"n": 1}, utcnow()), writer.sign("test.event", {"refuse": True}, utcnow()),
                 writer.sign("test.event", {"n": 3}, utcnow())]
    results = harness.append(envelopes, policy=policy, atomic=False)
    assert [(result.index, result.error.code if result.error else None) for result in results] == \
        [(2, None), (None, "test.refused"), (None, "sequence.conflict")]
    assert assert_intact(harness) == 3


def test_atomic_batch_appends_nothing(harness: LedgerHarness, enterprise: Signer, policy: AcceptTestEvents) -> None:
    envelopes, bad = mixed_batch(harness, enterprise)
    results = refuse(harness, envelopes, policy)
    assert {result.position: result.error.code for result in results if result.error is not None} == bad
    # The good statements were given the indexes they would have had, but none was written.
    assert policy.recorded == []
    # With the bad ones removed, the same good statements then go in.
    good = [envelope for position, envelope in enumerate(envelopes) if position not in bad]
    assert [result.index for result in harness.append(good, policy=policy)] == [2, 3, 4, 5, 3]
    assert assert_intact(harness) == 6


def test_atomic_batch_with_one_late_refusal_writes_no_key(harness: LedgerHarness, policy: AcceptTestEvents) -> None:
    """A batch that adds keys and uses them, refused by its last statement, leaves no key, author or batch row."""
    registrar = harness.writer(harness.keys.registrar)
    newcomer = Signer.from_seed("ENT-NEW", b"\x51" * 32)
    writer = harness.writer(newcomer)
    envelopes = [key_statement(registrar, "ledger.key.add", **add_key(newcomer)),
                 writer.sign("test.event", {"n": 1}, utcnow(), links={"LOT-N": None}),
                 writer.sign("test.event", {"refuse": True}, utcnow())]
    results = refuse(harness, envelopes, policy)
    assert [result.error.code if result.error else None for result in results] == [None, None, "test.refused"]
    assert accept(harness, envelopes[:2], policy) == [1, 2]
    assert assert_intact(harness) == 3
