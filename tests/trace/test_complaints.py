"""The complaint anchor statement: registrar only, a strict body, no link to the batch, never correctable, and
accepted alike by the sequencer, rebuild-state and the verifier's custody replay. Plus the commitment's format
and the text cleaning the channel applies before anything is stored."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger import verify_database, verify_export_lines, write_export
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.complaints import (
    ANCHOR,
    COMMITMENT_DOMAIN,
    ComplaintError,
    check_complaint,
    clean_text,
    commitment_record,
    complaint_commitment,
)
from trace.records import BatchRecord, EventRecord
from trace.replay import CustodyReplay, genesis_registrar
from trace.store import ledger_registrar

SALT = "5a" * 32
COMMITMENT = "0f" * 32


def _batch(world: World) -> tuple[Any, str]:
    farm = world.enterprise(credit_code("350121", 71), ["producer"], "茶园")
    tea = gtin("695007", 1)
    world.product(farm, tea, "绿茶", "farm")
    ref = lot(tea, "T-1")
    world.act(farm.signer, "trace.commission",
              {"gtin": tea, "lot": "T-1", "quantity": "20", "unit": "KGM", "produced_on": "2026-11-01",
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [ref])
    return farm, ref


def _body(ref: str, **changes: Any) -> dict[str, Any]:
    body = {"batch": ref, "category": "foreign_matter", "commitment": COMMITMENT,
            "received": datetime.now(UTC).replace(microsecond=0).isoformat()}
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def test_the_registrar_anchors_a_complaint_without_touching_the_batch(harness: LedgerHarness) -> None:
    world = World(harness)
    _, ref = _batch(world)
    before = world.state()
    body = _body(ref)
    index = world.registrar_act(ANCHOR, body)
    with harness.sessions() as session:
        from trace.store import SessionSource
        source = SessionSource(session)
        event = source.load(EventRecord, (index,))
        batch = source.load(BatchRecord, (ref,))
    assert event is not None and event.type == ANCHOR and event.actor == harness.keys.registrar.author
    assert json.loads(event.refs) == [] and event.location is None
    assert json.loads(event.summary) == body
    assert batch is not None and batch.last_index < index, "the anchor is not the batch's latest event"
    after = world.state()
    assert after["trace_batches"] == before["trace_batches"]
    assert after["trace_batch_events"] == before["trace_batch_events"]
    world.assert_rebuild_matches()


def test_only_the_registrar_may_anchor(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, ref = _batch(world)
    world.refuse(farm.signer, ANCHOR, _body(ref), [], "enterprise.not_registrar")


@pytest.mark.parametrize(("changes", "touches", "code"), [
    ({"category": None}, [], "body.missing"),
    ({"contact": "13800000000"}, [], "body.unknown_field"),
    ({"description": "有异物"}, [], "body.unknown_field"),
    ({"category": "bad_taste"}, [], "body.choice"),
    ({"commitment": "0F" * 32}, [], "body.hash"),
    ({"commitment": "0f" * 31}, [], "body.hash"),
    ({"received": "2026-11-21 10:00:00"}, [], "body.date"),
    ({"received": "2026-11-21T10:00:00"}, [], "body.date"),
    ({"received": (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")}, [], "body.date"),
    ({"batch": "01/06950070000014/10/NOPE"}, [], "batch.unknown"),
    ({}, ["REF"], "custody.links"),
], ids=["missing", "contact", "description", "category", "upper-hex", "short-hash", "no-t", "no-offset",
        "future", "unknown-batch", "links-batch"])
def test_the_anchor_body_is_checked_strictly(harness: LedgerHarness, changes: dict[str, Any], touches: list[str],
                                             code: str) -> None:
    world = World(harness)
    _, ref = _batch(world)
    world.refuse(harness.keys.registrar, ANCHOR, _body(ref, **changes), [ref if item == "REF" else item
                                                                         for item in touches], code)


def test_an_anchor_can_never_be_corrected(harness: LedgerHarness) -> None:
    world = World(harness)
    _, ref = _batch(world)
    index = world.registrar_act(ANCHOR, _body(ref))
    world.refuse(harness.keys.registrar, "trace.correct", {"entry": index, "reason": "spam"}, [],
                 "correct.not_correctable")


def test_anchors_replay_and_verify_like_every_other_event(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, ref = _batch(world)
    world.registrar_act(ANCHOR, _body(ref))
    world.act(farm.signer, "trace.destroy", {"batch": ref, "quantity": "20", "reason": "spoiled"}, [ref])
    world.registrar_act(ANCHOR, _body(ref, category="expired"))  # a destroyed batch may still be complained about
    buffer = io.BytesIO()
    with harness.sessions() as session:
        write_export(session, buffer, origin=harness.config.origin)
    lines = buffer.getvalue().splitlines(keepends=True)
    replay = CustodyReplay(genesis_registrar(lines))
    verify_export_lines(lines, harness.operator_key, domain=replay)
    assert replay.events == 6  # the enterprise, its product, the commission, the destruction and two anchors
    with harness.sessions() as session:
        verify_database(session, harness.operator_key, domain=CustodyReplay(ledger_registrar(session)))
    world.assert_rebuild_matches()


def test_the_commitment_is_a_domain_separated_hash_of_the_canonical_record() -> None:
    record = commitment_record(ticket="TS-2026-ABC234", ref="01/06901234567892/10/LOT1", category="quality",
                               description="瓶盖里有\"玻璃\"", photo_sha256=["ab" * 32],
                               received="2026-11-21T02:03:04+00:00", salt=SALT)
    canonical = ('{"batch":"01/06901234567892/10/LOT1","category":"quality","description":"瓶盖里有\\"玻璃\\"",'
                 f'"photos":["{"ab" * 32}"],"received":"2026-11-21T02:03:04+00:00","salt":"{SALT}",'
                 '"ticket":"TS-2026-ABC234","v":1}').encode()
    assert COMMITMENT_DOMAIN == b"trace-ledger/v1/complaint-commitment\x00"
    expected = hashlib.sha256(b"trace-ledger/v1/complaint-commitment\x00" + canonical).hexdigest()
    assert complaint_commitment(record) == expected
    assert complaint_commitment({**record, "salt": "5b" + SALT[2:]}) != expected
    with pytest.raises(ComplaintError) as unsalted:
        complaint_commitment({**record, "salt": ""})
    assert unsalted.value.code == "complaint.salt"


def test_text_is_cleaned_of_controls_and_reordering_characters() -> None:
    hostile = "  <b>bold</b>\x1b[31m red\x00\r\nline\u202egnp.exe\u2066\tx\n\n\n\nend\u2028  "
    assert clean_text(hostile, multiline=True) == "<b>bold</b>[31m red\nlinegnp.exe x\n\nend"
    assert clean_text(" 138\n0000\t0000 ", multiline=False) == "138 0000 0000"
    assert clean_text("e\u0301", multiline=False) == "\u00e9"  # NFC


@pytest.mark.parametrize(("arguments", "code"), [
    (("rotten", "x", None, 0), "complaint.category"),
    (("quality", "", None, 0), "complaint.description"),
    (("quality", "x" * 2001, None, 0), "complaint.description"),
    (("quality", "x", "y" * 101, 0), "complaint.contact"),
    (("quality", "x", None, 6), "complaint.photos"),
])
def test_a_complaint_is_checked_before_it_is_anchored(arguments: tuple[Any, ...], code: str) -> None:
    with pytest.raises(ComplaintError) as refused:
        check_complaint(*arguments)
    assert refused.value.code == code
    check_complaint("quality", "x" * 2000, "y" * 100, 5)
