"""Drafts: statements prepared for a signer whose key is elsewhere, chained and linked, refusals known before
signing, nothing written."""

from __future__ import annotations

from ledger import sign_statement
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.drafts import DraftRequest, prepare_drafts
from trace.policy import TracePolicy


def test_drafts_chain_link_and_refuse_without_writing(harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    greens = gtin("695000", 1)
    world.product(farm, greens, "上海青", "farm")
    batch = lot(greens, "QG-1121")
    commission = {"gtin": greens, "lot": "QG-1121", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
                  "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}
    requests = [DraftRequest("trace.commission", commission),
                DraftRequest("trace.ship", {"batch": batch, "quantity": "900", "to": market.code, "shipment_id": "X"}),
                DraftRequest("trace.ship", {"batch": batch, "quantity": "300", "to": market.code, "shipment_id": "S"})]
    size = world.ledger_size()
    with harness.sessions() as session:
        drafts = prepare_drafts(session, author=farm.code, key=farm.signer.key_id, requests=requests,
                                clock=world.time)
    assert world.ledger_size() == size
    made, over, ship = drafts
    assert over.statement is None and over.error is not None and over.error.code == "custody.over_quantity"
    assert made.statement is not None and ship.statement is not None
    assert made.statement.links == {batch: None}
    assert ship.statement.links == {batch: made.statement.hash_hex}
    assert ship.statement.seq == made.statement.seq + 1 and ship.statement.prev == made.statement.hash_hex

    envelopes = [sign_statement(farm.signer, draft.statement).envelope() for draft in (made, ship)]
    results = harness.append(envelopes, policy=TracePolicy())
    assert [result.error for result in results] == [None, None]
    world.assert_rebuild_matches()
