"""The ``trace.complaint.handle`` statement: registrar only, the fields each action takes and no others, a
complaint named by its anchor's entry, due dates not in the past, escalations into an inspection naming their
order; never correctable; replayed alike by rebuild-state and the verifier. Plus the reply digest's format."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger import verify_database
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.complaint_handling import HANDLE, REPLY_DOMAIN, reply_digest
from trace.complaints import ANCHOR, ComplaintError
from trace.context import MARKET_TIME
from trace.replay import CustodyReplay
from trace.store import ledger_registrar

SALT = "5a" * 32


def _complaint(world: World) -> tuple[Any, str, int]:
    farm = world.enterprise(credit_code("350121", 72), ["producer"], "茶园")
    tea = gtin("695007", 2)
    world.product(farm, tea, "绿茶", "farm")
    ref = lot(tea, "T-2")
    world.act(farm.signer, "trace.commission",
              {"gtin": tea, "lot": "T-2", "quantity": "20", "unit": "KGM", "produced_on": "2026-11-01",
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [ref])
    anchor = world.registrar_act(ANCHOR, {"batch": ref, "category": "quality", "commitment": "0f" * 32,
                                          "received": datetime.now(UTC).replace(microsecond=0).isoformat()})
    return farm, ref, anchor


def test_each_action_is_accepted_and_replays(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, ref, anchor = _complaint(world)
    today = datetime.now(MARKET_TIME).date()
    order = world.registrar_act("trace.inspection.order", {
        "enterprise": farm.code, "batch": ref, "reason": "投诉", "inspector": "li.na", "source": "complaint",
        "source_ref": f"entry {anchor}"})
    for body in ({"action": "assign", "assignee": "li.na"},
                 {"action": "status", "status": "investigating", "reply_sha256": "ab" * 32},
                 {"action": "reply", "reply_sha256": "cd" * 32},
                 {"action": "due", "due": today.isoformat()},
                 {"action": "escalate", "escalation": "recall", "status": "investigating"},
                 {"action": "escalate", "escalation": "inspection", "order": order},
                 {"action": "status", "status": "resolved"}):
        world.registrar_act(HANDLE, {"complaint": anchor, **body})
    world.assert_rebuild_matches()
    with harness.sessions() as session:
        verify_database(session, harness.operator_key, domain=CustodyReplay(ledger_registrar(session)))


@pytest.mark.parametrize(("body", "code"), [
    ({"action": "assign"}, "body.missing"),
    ({"action": "assign", "assignee": "li.na", "status": "resolved"}, "body.unknown_field"),
    ({"action": "assign", "assignee": "Li Na"}, "body.text"),
    ({"action": "close"}, "body.choice"),
    ({"action": "status", "status": "received"}, "body.choice"),
    ({"action": "status", "status": "resolved", "reply_sha256": "AB" * 32}, "body.hash"),
    ({"action": "reply", "reply_sha256": "ab" * 32, "text": "不得入账"}, "body.unknown_field"),
    ({"action": "due", "due": "2026-02-30"}, "body.date"),
    ({"action": "escalate", "escalation": "recall", "status": "resolved"}, "body.choice"),
    ({"action": "escalate", "escalation": "inspection"}, "complaint.order"),
    ({"action": "escalate", "escalation": "recall", "order": 1}, "complaint.order"),
    ({"action": "escalate", "escalation": "inspection", "order": 1}, "complaint.order"),
])
def test_malformed_actions_are_refused(harness: LedgerHarness, body: dict[str, Any], code: str) -> None:
    world = World(harness)
    _, _, anchor = _complaint(world)
    world.refuse(harness.keys.registrar, HANDLE, {"complaint": anchor, **body}, [], code)


def test_refusals_of_the_actor_the_complaint_and_the_date(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, ref, anchor = _complaint(world)
    assign = {"action": "assign", "assignee": "li.na"}
    world.refuse(farm.signer, HANDLE, {"complaint": anchor, **assign}, [], "enterprise.not_registrar")
    world.refuse(harness.keys.registrar, HANDLE, {"complaint": anchor - 1, **assign}, [], "complaint.unknown")
    world.refuse(harness.keys.registrar, HANDLE, {"complaint": 10 ** 9, **assign}, [], "complaint.unknown")
    world.refuse(harness.keys.registrar, HANDLE, {"complaint": anchor, **assign}, [ref], "custody.links")
    yesterday = (datetime.now(MARKET_TIME).date() - timedelta(days=1)).isoformat()
    world.refuse(harness.keys.registrar, HANDLE, {"complaint": anchor, "action": "due", "due": yesterday}, [],
                 "complaint.due_past")
    handled = world.registrar_act(HANDLE, {"complaint": anchor, **assign})
    world.refuse(harness.keys.registrar, "trace.correct", {"entry": handled, "reason": "撤回"}, [],
                 "correct.not_correctable")


def test_the_reply_digest_is_a_domain_separated_hash_of_the_canonical_record() -> None:
    canonical = '{"reply":"已受理\\"投诉\\"","salt":"' + SALT + '","ticket":"TS-2026-ABC234","v":1}'
    expected = hashlib.sha256(REPLY_DOMAIN + canonical.encode()).hexdigest()
    assert reply_digest("TS-2026-ABC234", '已受理"投诉"', SALT) == expected
    assert REPLY_DOMAIN == b"trace-ledger/v1/complaint-reply\x00"
    assert reply_digest("TS-2026-ABC234", "已受理", SALT) != reply_digest("TS-2026-ABC234", "已受理", "6b" * 32)
    with pytest.raises(ComplaintError) as unsalted:
        reply_digest("TS-2026-ABC234", "已受理", "")
    assert unsalted.value.code == "complaint.salt"
