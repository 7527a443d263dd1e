"""Vegetables: a cooperative harvests, a wholesale market buys, a supermarket sells; refusals on the way."""

from __future__ import annotations

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot


def test_farm_to_supermarket(harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    shop = world.enterprise(credit_code("350103", 3, "92"), ["retailer"], "鲜达生鲜店")
    greens = gtin("695000", 1)
    world.product(farm, greens, "上海青", "farm")
    batch = lot(greens, "QG-1121")

    world.refuse(farm.signer, "trace.commission",
                 {"gtin": greens, "lot": "QG-1121", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20"},
                 [batch], "batch.certificate_required")
    world.act(farm.signer, "trace.commission",
              {"gtin": greens, "lot": "QG-1121", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
               "expires_on": "2026-11-30", "activity": "harvest", "origin": {"place": "闽侯县上街镇"},
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [batch])

    world.refuse(market.signer, "trace.ship", {"batch": batch, "quantity": "10", "to": shop.code,
                                               "shipment_id": "S1"}, [batch], "custody.not_holder")
    world.refuse(farm.signer, "trace.ship", {"batch": batch, "quantity": "500.5", "to": market.code,
                                             "shipment_id": "S1"}, [batch], "custody.over_quantity")
    world.refuse(farm.signer, "trace.ship", {"batch": batch, "quantity": 300, "to": market.code,
                                             "shipment_id": "S1"}, [batch], "body.quantity")
    world.act(farm.signer, "trace.ship", {"batch": batch, "quantity": "300", "to": market.code,
                                          "shipment_id": "F-0001"}, [batch])

    shipment = {"from": farm.code, "id": "F-0001"}
    world.refuse(shop.signer, "trace.receive", {"shipment": shipment, "quantity": "300"}, [batch],
                 "custody.not_addressee")
    world.refuse(market.signer, "trace.receive", {"shipment": shipment, "quantity": "301"}, [batch],
                 "custody.over_quantity")
    world.refuse(market.signer, "trace.receive", {"shipment": shipment, "quantity": "295"}, [batch],
                 "custody.discrepancy_required")
    world.act(market.signer, "trace.receive", {"shipment": shipment, "quantity": "295",
                                               "discrepancy": "5 kg wilted in transit"}, [batch])
    world.refuse(market.signer, "trace.receive", {"shipment": shipment, "quantity": "295"}, [batch],
                 "shipment.closed")

    world.act(market.signer, "trace.ship", {"batch": batch, "quantity": "40", "to": shop.code,
                                            "shipment_id": "M-77"}, [batch])
    world.act(shop.signer, "trace.receive", {"shipment": {"from": market.code, "id": "M-77"}, "quantity": "40"},
              [batch])
    world.refuse(market.signer, "trace.sell", {"batch": batch, "quantity": "1"}, [batch], "enterprise.role")
    world.refuse(shop.signer, "trace.sell", {"batch": batch, "quantity": "41"}, [batch], "custody.over_quantity")
    world.act(shop.signer, "trace.sell", {"batch": batch, "quantity": "12.5"}, [batch])

    state = world.state()
    holdings = {(ref, holder): quantity for ref, holder, quantity in state["trace_holdings"]}
    assert holdings == {(batch, farm.code): "200", (batch, market.code): "255", (batch, shop.code): "27.5"}
    batches = {row[0]: row for row in state["trace_batches"]}
    assert batches[batch][7] == "482.5"  # outstanding: 500 - 5 lost - 12.5 sold
    assert {row[1] for row in state["trace_flags"]} == {"custody.short_receipt"}
    world.assert_rebuild_matches()
