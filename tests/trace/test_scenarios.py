"""Scenario tests: pork with a split into cuts, infant formula merged from ingredient batches with a recall
inherited downstream, and a serialised drug through a pallet to a pharmacy where a box is sold twice."""

from __future__ import annotations

import json

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot, sscc, tea_blend


def test_pork_split_into_cuts_reaches_a_restaurant(harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("510100", 11), ["producer"], "天府生猪养殖场")
    abattoir = world.enterprise(credit_code("310000", 12), ["processor"], "申城肉类加工")
    distributor = world.enterprise(credit_code("310000", 13), ["wholesaler", "logistics"], "沪鲜冷链配送")
    restaurant = world.enterprise(credit_code("310104", 14), ["caterer"], "老弄堂餐厅")
    pigs, loin, belly = gtin("695001", 1), gtin("695002", 1), gtin("695002", 2)
    world.product(farm, pigs, "生猪", "farm")
    world.product(abattoir, loin, "猪里脊", "food")
    world.product(abattoir, belly, "五花肉", "food")
    herd = lot(pigs, "H-2026-48")
    world.act(farm.signer, "trace.commission",
              {"gtin": pigs, "lot": "H-2026-48", "quantity": "20", "unit": "HD", "produced_on": "2026-11-18",
               "certificates": [{"kind": "compliance_promise", "sha256": CERT},
                                {"kind": "quarantine", "sha256": CERT, "number": "动检A 0012345"}]}, [herd])
    world.act(farm.signer, "trace.ship", {"batch": herd, "quantity": "20", "to": abattoir.code,
                                          "shipment_id": "P-1"}, [herd])
    world.act(abattoir.signer, "trace.receive", {"shipment": {"from": farm.code, "id": "P-1"}, "quantity": "20"},
              [herd])
    cuts = [lot(loin, "L-1119"), lot(belly, "B-1119")]
    split = {"kind": "split", "inputs": [{"batch": herd, "quantity": "20"}],
             "outputs": [{"gtin": loin, "lot": "L-1119", "quantity": "180", "unit": "KGM",
                          "expires_on": "2026-11-25"},
                         {"gtin": belly, "lot": "B-1119", "quantity": "260", "unit": "KGM",
                          "expires_on": "2026-11-25"}]}
    world.refuse(abattoir.signer, "trace.transform", split, [herd], "custody.links")
    world.refuse(abattoir.signer, "trace.transform", {**split, "inputs": [{"batch": herd, "quantity": "21"}]},
                 [herd, *cuts], "custody.over_quantity")
    world.act(abattoir.signer, "trace.transform", split, [herd, *cuts])
    world.refuse(abattoir.signer, "trace.ship", {"batch": herd, "quantity": "1", "to": distributor.code,
                                                 "shipment_id": "X"}, [herd], "custody.not_holder")
    world.act(abattoir.signer, "trace.ship", {"batch": cuts[0], "quantity": "50", "to": distributor.code,
                                              "shipment_id": "A-9"}, [cuts[0]])
    world.act(distributor.signer, "trace.sensor",
              {"batch": cuts[0], "measurement": "temperature", "uom": "CEL", "minimum": "0", "maximum": "4",
               "shipment": {"from": abattoir.code, "id": "A-9"},
               "readings": [{"time": "2026-11-19T08:00:00+08:00", "value": "2.5"},
                            {"time": "2026-11-19T09:00:00+08:00", "value": "7.1"}]}, [cuts[0]])
    world.act(distributor.signer, "trace.receive", {"shipment": {"from": abattoir.code, "id": "A-9"},
                                                    "quantity": "50"}, [cuts[0]])
    world.act(distributor.signer, "trace.ship", {"batch": cuts[0], "quantity": "8", "to": restaurant.code,
                                                 "shipment_id": "D-3"}, [cuts[0]])
    world.act(restaurant.signer, "trace.receive", {"shipment": {"from": distributor.code, "id": "D-3"},
                                                   "quantity": "8"}, [cuts[0]])
    world.act(restaurant.signer, "trace.sell", {"batch": cuts[0], "quantity": "2.35"}, [cuts[0]])

    state = world.state()
    edges = {(parent, child) for parent, child, *_ in state["trace_edges"]}
    assert edges == {(herd, cuts[0]), (herd, cuts[1])}
    flags = {(code, subject) for _, code, subject, _ in state["trace_flags"]}
    assert flags == {("sensor.excursion", cuts[0])}
    holdings = {(ref, holder): quantity for ref, holder, quantity in state["trace_holdings"]}
    assert holdings[(cuts[0], restaurant.code)] == "5.65"
    assert (herd, abattoir.code) not in holdings
    world.assert_rebuild_matches()


def test_infant_formula_recall_of_an_ingredient_reaches_the_shelf(harness: LedgerHarness) -> None:
    world = World(harness)
    dairy = world.enterprise(credit_code("230100", 21), ["producer"], "黑龙江乳业")
    whey_maker = world.enterprise(credit_code("150100", 22), ["producer"], "内蒙古乳清")
    factory = world.enterprise(credit_code("330100", 23), ["processor"], "杭州婴幼儿配方乳粉厂")
    shop = world.enterprise(credit_code("330106", 24), ["retailer"], "母婴店")
    milk, whey, formula = gtin("695003", 1), gtin("695003", 2), gtin("695003", 3)
    world.product(dairy, milk, "全脂乳粉", "food")
    world.product(whey_maker, whey, "脱盐乳清粉", "food")
    world.product(factory, formula, "婴幼儿配方乳粉 1段 800g", "food")
    inputs = []
    for maker, product, lot_number in ((dairy, milk, "M-01"), (whey_maker, whey, "W-07")):
        ref = lot(product, lot_number)
        world.act(maker.signer, "trace.commission", {"gtin": product, "lot": lot_number, "quantity": "1000",
                                                     "unit": "KGM", "produced_on": "2026-10-01"}, [ref])
        world.act(maker.signer, "trace.ship", {"batch": ref, "quantity": "600", "to": factory.code,
                                               "shipment_id": lot_number}, [ref])
        world.act(factory.signer, "trace.receive", {"shipment": {"from": maker.code, "id": lot_number},
                                                    "quantity": "600"}, [ref])
        inputs.append(ref)
    output = lot(formula, "F-20261101")
    merge = {"kind": "merge", "inputs": [{"batch": inputs[0], "quantity": "500"}, {"batch": inputs[1],
                                                                                  "quantity": "300"}],
             "outputs": [{"gtin": formula, "lot": "F-20261101", "quantity": "1000", "unit": "EA",
                          "expires_on": "2028-11-01"}]}
    world.act(factory.signer, "trace.transform", merge, [*inputs, output])
    world.act(factory.signer, "trace.ship", {"batch": output, "quantity": "200", "to": shop.code,
                                             "shipment_id": "T-1"}, [output])
    world.act(shop.signer, "trace.receive", {"shipment": {"from": factory.code, "id": "T-1"}, "quantity": "200"},
              [output])
    world.act(shop.signer, "trace.sell", {"batch": output, "quantity": "3"}, [output])

    world.refuse(factory.signer, "trace.recall", {"batch": inputs[1], "reason": "阪崎肠杆菌"}, [inputs[1]],
                 "custody.not_maker")
    world.act(whey_maker.signer, "trace.recall", {"batch": inputs[1], "reason": "阪崎肠杆菌检出", "level": "1"},
              [inputs[1]])
    world.refuse(whey_maker.signer, "trace.recall", {"batch": inputs[1], "reason": "again"}, [inputs[1]],
                 "recall.exists")
    message = world.refuse(shop.signer, "trace.sell", {"batch": output, "quantity": "1"}, [output],
                           "custody.recalled")
    assert inputs[1] in message
    world.refuse(factory.signer, "trace.ship", {"batch": output, "quantity": "10", "to": shop.code,
                                                "shipment_id": "T-2"}, [output], "custody.recalled")
    world.refuse(factory.signer, "trace.transform",
                 {"kind": "process", "inputs": [{"batch": inputs[1], "quantity": "1"}],
                  "outputs": [{"gtin": formula, "lot": "F-X", "quantity": "1", "unit": "KGM"}]},
                 [inputs[1], lot(formula, "F-X")], "custody.recalled")
    world.act(shop.signer, "trace.destroy", {"batch": output, "quantity": "197", "reason": "召回销毁"}, [output])
    world.act(factory.signer, "trace.destroy", {"batch": output, "quantity": "800", "reason": "召回销毁"}, [output])
    world.refuse(factory.signer, "trace.inspect", {"batch": output, "result": "conformant"}, [output],
                 "custody.destroyed")
    recalls = {(ref, source) for ref, _, source, *_ in world.state()["trace_recalls"]}
    assert recalls == {(inputs[1], inputs[1]), (output, inputs[1])}
    world.assert_rebuild_matches()


def test_serialised_drug_through_a_pallet_and_a_box_sold_twice(harness: LedgerHarness) -> None:
    world = World(harness)
    maker = world.enterprise(credit_code("320500", 31), ["producer", "processor"], "苏州制药")
    distributor = world.enterprise(credit_code("320100", 32), ["wholesaler"], "南京医药配送")
    pharmacy = world.enterprise(credit_code("320102", 33), ["retailer"], "仁心大药房")
    other = world.enterprise(credit_code("320104", 34), ["retailer"], "百姓药房")
    drug = gtin("695004", 1)
    world.refuse(maker.signer, "trace.product.define", {"gtin": drug, "name": "阿莫西林胶囊", "category": "drug",
                                                        "spec": "0.25g×24粒"}, [], "body.missing")
    world.product(maker, drug, "阿莫西林胶囊", "drug", approval_number="国药准字H32020000",
                  drug_code_prefix="8123456")
    boxes = [f"8123456{serial:013d}" for serial in range(1, 6)]
    batch = lot(drug, "D2611")
    base = {"gtin": drug, "lot": "D2611", "quantity": "5", "unit": "BX", "produced_on": "2026-11-01",
            "expires_on": "2028-10-31"}
    world.refuse(maker.signer, "trace.commission", {**base, "units": ["8999999" + boxes[0][7:], *boxes[1:]]},
                 [batch], "unit.product_mismatch")
    world.refuse(maker.signer, "trace.commission", {**base, "units": boxes[:4]}, [batch], "custody.unit_count")
    world.act(maker.signer, "trace.commission", {**base, "units": boxes}, [batch])
    pallet_code = sscc(1)
    pallet = f"00/{pallet_code}"
    world.act(maker.signer, "trace.aggregate", {"sscc": pallet_code, "contents": [{"batch": batch, "quantity": "5"}]},
              [pallet, batch])
    world.refuse(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": distributor.code,
                                              "shipment_id": "x"}, [batch], "custody.not_holder")
    world.act(maker.signer, "trace.ship", {"batch": pallet, "quantity": "1", "to": distributor.code,
                                           "shipment_id": "PAL-1"}, [pallet])
    world.act(distributor.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "PAL-1"},
                                                    "quantity": "1"}, [pallet])
    world.act(distributor.signer, "trace.disaggregate", {"sscc": pallet_code}, [pallet, batch])
    world.act(distributor.signer, "trace.ship", {"batch": batch, "quantity": "3", "to": pharmacy.code,
                                                 "shipment_id": "R-1", "units": boxes[:3]}, [batch])
    world.act(pharmacy.signer, "trace.receive", {"shipment": {"from": distributor.code, "id": "R-1"},
                                                 "quantity": "3"}, [batch])
    world.act(distributor.signer, "trace.ship", {"batch": batch, "quantity": "2", "to": other.code,
                                                 "shipment_id": "R-2"}, [batch])
    world.act(other.signer, "trace.receive", {"shipment": {"from": distributor.code, "id": "R-2"},
                                              "quantity": "2"}, [batch])
    world.act(pharmacy.signer, "trace.sell", {"batch": batch, "quantity": "1", "units": [boxes[0]]}, [batch])
    world.refuse(other.signer, "trace.sell", {"batch": batch, "quantity": "1", "units": [boxes[1]]}, [batch],
                 "custody.not_holder")
    world.act(other.signer, "trace.sell", {"batch": batch, "quantity": "1", "units": [boxes[0]]}, [batch])

    state = world.state()
    flags = [(code, subject, json.loads(detail)) for _, code, subject, detail in state["trace_flags"]]
    assert [(code, subject) for code, subject, _ in flags] == [("unit.sold_twice", boxes[0])]
    assert flags[0][2]["seller"] == other.code
    units = {unit_id: (holder, status, count) for _, unit_id, holder, status, count, _ in state["trace_units"]}
    assert units[boxes[0]] == (pharmacy.code, "sold", 2)
    assert units[boxes[3]] == (other.code, "active", 0)
    world.assert_rebuild_matches()


def test_trace_back_and_forward_through_a_merge_and_a_pallet(harness: LedgerHarness) -> None:
    world = World(harness)
    made = tea_blend(world, packer_name="鲜切配送中心")
    packer, shop, tea, sources, output = made.packer, made.shop, made.tea, made.sources, made.output
    pallet_code = sscc(7)
    pallet = f"00/{pallet_code}"
    world.act(packer.signer, "trace.aggregate", {"sscc": pallet_code, "contents": [{"batch": output,
                                                                                    "quantity": "100"}]},
              [pallet, output])
    world.act(packer.signer, "trace.ship", {"batch": output, "quantity": "20", "to": shop.code,
                                            "shipment_id": "S-1"}, [output])

    from trace.provenance import BatchNotFound, trace_back, trace_forward
    with harness.sessions() as session:
        back = trace_back(session, output)
        forward = trace_forward(session, sources[0])
        try:
            trace_back(session, lot(tea, "nope"))
        except BatchNotFound:
            pass
        else:
            raise AssertionError("an unknown batch must raise BatchNotFound")
    assert set(back.nodes) == {output, *sources}
    assert back.sources == sorted(sources)
    assert {json.loads(node.origin)["place"] for ref, node in back.nodes.items() if ref in sources} == {
        "安溪 A1", "安溪 B1"}
    hops = [(back.events[index].type, back.enterprises[back.events[index].actor][0])
            for index in back.nodes[sources[1]].events]
    assert hops == [("trace.commission", "乙合作社"), ("trace.ship", "乙合作社"), ("trace.receive", "鲜切配送中心"),
                    ("trace.transform", "鲜切配送中心")]
    assert [(link.parent, link.child, back.enterprises[link.actor][0]) for link in back.links] == [
        (sources[0], output, "鲜切配送中心"), (sources[1], output, "鲜切配送中心")]
    assert set(forward.nodes) == {sources[0], output, pallet}
    holders = {(holder.ref, holder.holder, holder.state): holder.quantity for holder in forward.holders}
    assert holders == {(sources[0], packer.code, "held"): "50", (output, packer.code, "held"): "280",
                       (output, shop.code, "in_transit"): "20", (output, pallet, "packed"): "100",
                       (pallet, packer.code, "held"): "1"}
