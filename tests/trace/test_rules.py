"""Each custody, registry and correction rule refuses with its stable code, and every refusal leaves the ledger
size and every state table unchanged (``World.refuse`` proves it). Codes the scenario tests already cover are
exercised there; after each test that changes state, replaying the ledger gives the live state."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

import pytest

from ledger import StatementError
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, CHINA, COMMITMENT, Actor, World, credit_code, gtin, lot, sscc
from trace.identifiers import uscc_check_character
from trace.records import BatchRecord, EnterpriseRecord, EventRecord, Record

REAL_WORLD_CODE = "91350203M0001QAY9B"  # /work/shared/vectors/ids/uscc.json: issued, yet fails its check character
OVERRIDE_REASON = "市场监管局核实：营业执照原件所载代码，校验位异常"


@dataclass
class Cast:
    world: World
    maker: Actor  # producer and processor
    trader: Actor  # wholesaler
    shop: Actor  # retailer
    other: Actor  # another retailer
    food: str
    juice: str
    batch: str  # 100 KGM of ``food``, held by the maker


@pytest.fixture
def cast(harness: LedgerHarness) -> Cast:
    world = World(harness)
    maker = world.enterprise(credit_code("350200", 101), ["producer", "processor"], "厦门食品厂")
    trader = world.enterprise(credit_code("350200", 102), ["wholesaler"], "厦门批发")
    shop = world.enterprise(credit_code("350203", 103), ["retailer"], "思明超市")
    other = world.enterprise(credit_code("350206", 104), ["retailer"], "湖里便利店")
    food, juice = gtin("695100", 1), gtin("695100", 2)
    world.product(maker, food, "罐头", "food")
    world.product(maker, juice, "果汁", "food")
    batch = commission(world, maker, food, "C-1")
    return Cast(world, maker, trader, shop, other, food, juice, batch)


def commission(world: World, actor: Actor, gtin14: str, lot_number: str, quantity: str = "100",
               **extra: Any) -> str:
    ref = lot(gtin14, lot_number)
    body = {"gtin": gtin14, "lot": lot_number, "quantity": quantity, "unit": "KGM", "produced_on": "2026-01-05",
            **extra}
    world.act(actor.signer, "trace.commission", body, [ref])
    return ref


def ship(world: World, actor: Actor, batch: str, quantity: str, to: Actor, shipment_id: str) -> int:
    return world.act(actor.signer, "trace.ship", {"batch": batch, "quantity": quantity, "to": to.code,
                                                  "shipment_id": shipment_id}, [batch])


def receive(world: World, actor: Actor, shipper: Actor, shipment_id: str, quantity: str, batch: str) -> int:
    return world.act(actor.signer, "trace.receive", {"shipment": {"from": shipper.code, "id": shipment_id},
                                                     "quantity": quantity}, [batch])


def deliver(world: World, shipper: Actor, batch: str, quantity: str, to: Actor, shipment_id: str) -> None:
    ship(world, shipper, batch, quantity, to, shipment_id)
    receive(world, to, shipper, shipment_id, quantity, batch)


def holdings(world: World) -> dict[tuple[str, str], str]:
    return {(ref, holder): quantity for ref, holder, quantity in world.state()["trace_holdings"]}


def rows(world: World, cls: type[Record]) -> list[dict[str, Any]]:
    """The rows of ``cls``'s table as dictionaries of field name to value."""
    names = [field.name for field in fields(cls)]
    return [dict(zip(names, row, strict=True)) for row in world.state()[cls.TABLE]]


def batch_row(world: World, ref: str) -> dict[str, Any]:
    return {row["ref"]: row for row in rows(world, BatchRecord)}[ref]


def set_status(world: World, actor: Actor, status: str, reason: str = "监管决定") -> int:
    return world.registrar_act("trace.enterprise.status", {"credit_code": actor.code, "status": status,
                                                           "reason": reason})


def registration(code: str, **extra: Any) -> dict[str, Any]:
    return {"credit_code": code, "name": "测试企业", "roles": ["producer"], "commitment_sha256": COMMITMENT,
            "locations": [{"id": "main", "name": "厂区", "address": "厦门"}], **extra}


# -- enterprises -----------------------------------------------------------------------------------------------

def test_only_the_registrar_registers_enterprises(cast: Cast) -> None:
    world = cast.world
    code = credit_code("350200", 201)
    world.refuse(cast.maker.signer, "trace.enterprise.register", registration(code), [], "enterprise.not_registrar")
    world.refuse(cast.maker.signer, "trace.enterprise.status",
                 {"credit_code": cast.trader.code, "status": "blacklisted", "reason": "x"}, [],
                 "enterprise.not_registrar")
    world.refuse(cast.maker.signer, "trace.enterprise.update", {"credit_code": cast.maker.code, "name": "新名"}, [],
                 "enterprise.not_registrar")
    world.refuse(world.harness.keys.registrar, "trace.enterprise.register", registration(cast.maker.code), [],
                 "enterprise.exists")


def test_a_code_failing_its_check_character_needs_a_recorded_override(cast: Cast) -> None:
    world = cast.world
    registrar = world.harness.keys.registrar
    message = world.refuse(registrar, "trace.enterprise.register", registration(REAL_WORLD_CODE), [],
                           "enterprise.credit_code")
    assert "check_override" in message
    world.refuse(registrar, "trace.enterprise.register", registration(REAL_WORLD_CODE, check_override="核实"), [],
                 "body.text")
    world.registrar_act("trace.enterprise.register", registration(REAL_WORLD_CODE, check_override=OVERRIDE_REASON))
    enterprise = {row["credit_code"]: row for row in rows(world, EnterpriseRecord)}[REAL_WORLD_CODE]
    assert (enterprise["check_override"], enterprise["region"], enterprise["status"]) == (
        OVERRIDE_REASON, "350203", "active")
    world.refuse(registrar, "trace.enterprise.register",
                 registration(REAL_WORLD_CODE, check_override=OVERRIDE_REASON), [], "enterprise.exists")
    valid = credit_code("350200", 202)
    world.refuse(registrar, "trace.enterprise.register", registration(valid, check_override=OVERRIDE_REASON), [],
                 "body.unknown_field")
    world.assert_rebuild_matches()


@pytest.mark.parametrize("code", ["91350200MA2YJ1XR9", "91350200MA2YJ1XRIG", "9135020O776049653A"])
def test_structural_credit_code_errors_cannot_be_overridden(cast: Cast, code: str) -> None:
    cast.world.refuse(cast.world.harness.keys.registrar, "trace.enterprise.register",
                      registration(code, check_override=OVERRIDE_REASON), [], "enterprise.credit_code")


def test_a_credit_code_whose_region_is_not_digits_is_refused(cast: Cast) -> None:
    body = "9135A200" + "MA2YJ1XR9"
    code = body + uscc_check_character(body)
    for extra in ({}, {"check_override": OVERRIDE_REASON}):
        cast.world.refuse(cast.world.harness.keys.registrar, "trace.enterprise.register", registration(code, **extra),
                          [], "enterprise.credit_code")
    wrong = body + ("0" if code[-1] != "0" else "1")
    cast.world.refuse(cast.world.harness.keys.registrar, "trace.enterprise.register",
                      registration(wrong, check_override=OVERRIDE_REASON), [], "enterprise.credit_code")


@pytest.mark.parametrize("status", ["blacklisted", "deregistered"])
def test_a_barred_enterprise_cannot_take_part_in_custody(cast: Cast, status: str) -> None:
    world, maker, trader = cast.world, cast.maker, cast.trader
    ship(world, maker, cast.batch, "30", trader, "S-1")
    before = world.state()
    set_status(world, trader, status)
    code = f"enterprise.{status}"
    world.refuse(trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S-1"}, "quantity": "30"},
                 [cast.batch], code)
    world.refuse(maker.signer, "trace.ship", {"batch": cast.batch, "quantity": "1", "to": trader.code,
                                              "shipment_id": "S-2"}, [cast.batch], code)
    set_status(world, maker, status)
    new = lot(cast.food, "C-2")
    world.refuse(maker.signer, "trace.commission",
                 {"gtin": cast.food, "lot": "C-2", "quantity": "1", "unit": "KGM", "produced_on": "2026-01-05"},
                 [new], code)
    world.refuse(maker.signer, "trace.ship", {"batch": cast.batch, "quantity": "1", "to": cast.shop.code,
                                              "shipment_id": "S-3"}, [cast.batch], code)
    world.refuse(maker.signer, "trace.product.define",
                 {"gtin": gtin("695100", 3), "name": "新品", "category": "food", "spec": "1kg"}, [], code)
    world.refuse(maker.signer, "trace.recall", {"batch": cast.batch, "reason": "质量问题"}, [cast.batch], code)
    # history stays: every earlier event, batch, holding and the open shipment are still there
    after = world.state()
    assert before["trace_events"] < after["trace_events"]
    for table in ("trace_batches", "trace_holdings", "trace_shipments", "trace_products", "trace_batch_events"):
        assert before[table] == after[table], table
    assert {row["status"] for row in rows(world, EnterpriseRecord)} == {"active", status}
    world.assert_rebuild_matches()


def test_abnormal_may_act_and_deregistration_is_final(cast: Cast) -> None:
    world, maker, trader = cast.world, cast.maker, cast.trader
    set_status(world, trader, "abnormal", "经营异常名录")
    deliver(world, maker, cast.batch, "10", trader, "S-1")
    set_status(world, trader, "active", "移出经营异常名录")
    world.refuse(world.harness.keys.registrar, "trace.enterprise.status",
                 {"credit_code": trader.code, "status": "active", "reason": "again"}, [], "enterprise.status")
    set_status(world, trader, "deregistered", "注销")
    world.refuse(world.harness.keys.registrar, "trace.enterprise.status",
                 {"credit_code": trader.code, "status": "active", "reason": "恢复"}, [], "enterprise.deregistered")
    assert holdings(world)[(cast.batch, trader.code)] == "10"
    world.assert_rebuild_matches()


def test_a_barred_carrier_is_refused(cast: Cast) -> None:
    world = cast.world
    carrier = world.enterprise(credit_code("350200", 105), ["logistics"], "冷链物流")
    set_status(world, carrier, "blacklisted")
    world.refuse(cast.maker.signer, "trace.ship", {"batch": cast.batch, "quantity": "1", "to": cast.trader.code,
                                                   "shipment_id": "S-1", "carrier": carrier.code}, [cast.batch],
                 "enterprise.blacklisted")


# -- products and bodies -----------------------------------------------------------------------------------------

def test_products(cast: Cast) -> None:
    world, maker = cast.world, cast.maker
    world.refuse(cast.trader.signer, "trace.product.define",
                 {"gtin": cast.food, "name": "仿冒", "category": "food", "spec": "1kg"}, [], "product.exists")
    bad = cast.food[:-1] + str((int(cast.food[-1]) + 1) % 10)
    world.refuse(maker.signer, "trace.product.define", {"gtin": bad, "name": "x", "category": "food", "spec": "1"},
                 [], "body.gtin")
    unknown = gtin("695100", 9)
    world.refuse(maker.signer, "trace.commission",
                 {"gtin": unknown, "lot": "U-1", "quantity": "1", "unit": "KGM", "produced_on": "2026-01-05"},
                 [lot(unknown, "U-1")], "product.unknown")
    world.refuse(maker.signer, "trace.commission",
                 {"gtin": bad, "lot": "U-1", "quantity": "1", "unit": "KGM", "produced_on": "2026-01-05"},
                 [lot(bad, "U-1")], "body.gtin")


def test_body_errors(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    good = {"batch": batch, "quantity": "1", "to": cast.trader.code, "shipment_id": "S-1"}
    world.refuse(maker.signer, "trace.ship", {**good, "colour": "red"}, [batch], "body.unknown_field")
    with pytest.raises(StatementError) as floating:  # the ledger refuses floats before any rule sees them
        world.sign(maker.signer, "trace.ship", {**good, "quantity": 2.5}, [batch])
    assert floating.value.code == "statement.float"
    world.refuse(maker.signer, "trace.ship", {**good, "quantity": 2}, [batch], "body.quantity")
    for text in ("2.5e1", "-1", "0", "1.1234567", "+3", " 3", "1,5"):
        world.refuse(maker.signer, "trace.ship", {**good, "quantity": text}, [batch], "body.quantity")
    world.refuse(maker.signer, "trace.commission",
                 {"gtin": cast.food, "lot": "C-9", "quantity": "1", "unit": "KG", "produced_on": "2026-01-05"},
                 [lot(cast.food, "C-9")], "body.unit")
    world.refuse(maker.signer, "trace.ship", good, [], "custody.links")
    world.refuse(maker.signer, "trace.ship", good, [batch, lot(cast.juice, "X")], "custody.links")
    world.refuse(maker.signer, "trace.commission",
                 {"gtin": cast.food, "lot": "C-9", "quantity": "1", "unit": "KGM", "produced_on": "2026-01-05"},
                 [], "custody.links")


def test_shipment_rules(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    ship(world, maker, batch, "10", cast.trader, "S-1")
    world.refuse(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": cast.shop.code,
                                              "shipment_id": "S-1"}, [batch], "shipment.exists")
    world.refuse(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": maker.code,
                                              "shipment_id": "S-2"}, [batch], "custody.self_shipment")
    world.refuse(cast.trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S-9"},
                                                       "quantity": "1"}, [batch], "shipment.unknown")
    world.refuse(maker.signer, "trace.ship", {"batch": batch, "quantity": "91", "to": cast.shop.code,
                                              "shipment_id": "S-2"}, [batch], "custody.over_quantity")
    world.refuse(cast.trader.signer, "trace.sell", {"batch": batch, "quantity": "1"}, [batch], "enterprise.role")
    assert holdings(world) == {(batch, maker.code): "90"}
    world.assert_rebuild_matches()


def test_sensor_readings_need_the_holder_or_the_shipment(cast: Cast) -> None:
    world, batch = cast.world, cast.batch
    reading = {"batch": batch, "measurement": "temperature", "uom": "CEL", "minimum": "0", "maximum": "4",
               "readings": [{"time": "2026-01-05T08:00:00+08:00", "value": "3"}]}
    world.refuse(cast.trader.signer, "trace.sensor", reading, [batch], "custody.not_holder")
    ship(world, cast.maker, batch, "10", cast.trader, "S-1")
    world.refuse(cast.shop.signer, "trace.sensor", {**reading, "shipment": {"from": cast.maker.code, "id": "S-1"}},
                 [batch], "custody.not_holder")
    world.act(cast.trader.signer, "trace.sensor", {**reading, "shipment": {"from": cast.maker.code, "id": "S-1"}},
              [batch])
    bad_value = [{"time": "2026-11-20T08:00:00+08:00", "value": 3}]
    world.refuse(cast.maker.signer, "trace.sensor", {**reading, "readings": bad_value}, [batch], "body.quantity")
    bad_time = [{"time": "yesterday", "value": "3"}]
    world.refuse(cast.maker.signer, "trace.sensor", {**reading, "readings": bad_time}, [batch], "body.date")
    world.assert_rebuild_matches()


# -- expiry, inspection, destroy ---------------------------------------------------------------------------------

def test_expired_batches_cannot_be_sold(cast: Cast) -> None:
    world = cast.world
    today = world.now.astimezone(CHINA).date()
    old = commission(world, cast.maker, cast.food, "OLD", produced_on=(today - timedelta(days=30)).isoformat(),
                     expires_on=(today - timedelta(days=1)).isoformat())
    fresh = commission(world, cast.maker, cast.food, "FRESH", produced_on=(today - timedelta(days=30)).isoformat(),
                       expires_on=(today + timedelta(days=1)).isoformat())
    for ref, shipment_id in ((old, "S-OLD"), (fresh, "S-FRESH")):
        deliver(world, cast.maker, ref, "10", cast.shop, shipment_id)
    world.refuse(cast.shop.signer, "trace.sell", {"batch": old, "quantity": "1"}, [old], "custody.expired")
    world.act(cast.shop.signer, "trace.sell", {"batch": fresh, "quantity": "1"}, [fresh])
    world.refuse(cast.maker.signer, "trace.commission",
                 {"gtin": cast.food, "lot": "BAD", "quantity": "1", "unit": "KGM", "produced_on": "2026-01-05",
                  "expires_on": "2026-01-04"}, [lot(cast.food, "BAD")], "body.date")
    world.assert_rebuild_matches()


def test_a_failed_inspection_blocks_sale_and_shipping_to_retail(cast: Cast) -> None:
    world, batch = cast.world, cast.batch
    deliver(world, cast.maker, batch, "20", cast.shop, "S-1")
    world.refuse(cast.trader.signer, "trace.inspect", {"batch": batch, "result": "non_conformant"}, [batch],
                 "custody.not_holder")
    world.act(cast.shop.signer, "trace.inspect", {"batch": batch, "result": "non_conformant",
                                                  "certificate_sha256": CERT}, [batch])
    world.refuse(cast.shop.signer, "trace.sell", {"batch": batch, "quantity": "1"}, [batch], "custody.non_conformant")
    world.refuse(cast.maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": cast.other.code,
                                                   "shipment_id": "S-2"}, [batch], "custody.non_conformant")
    ship(world, cast.maker, batch, "5", cast.trader, "S-3")  # not to retail: allowed, e.g. back for testing
    world.registrar_act("trace.inspect", {"batch": batch, "result": "conformant"}, [batch])
    world.act(cast.shop.signer, "trace.sell", {"batch": batch, "quantity": "1"}, [batch])
    world.assert_rebuild_matches()


def test_nothing_follows_destroy(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    deliver(world, maker, batch, "40", cast.shop, "S-1")
    world.act(cast.shop.signer, "trace.sell", {"batch": batch, "quantity": "40"}, [batch])
    world.refuse(maker.signer, "trace.destroy", {"batch": batch, "quantity": "61", "reason": "过期"}, [batch],
                 "custody.over_quantity")
    world.act(maker.signer, "trace.destroy", {"batch": batch, "quantity": "60", "reason": "过期销毁"}, [batch])
    assert batch_row(world, batch)["status"] == "destroyed"
    assert batch_row(world, batch)["outstanding"] == "0"
    attempts: list[tuple[Actor, str, dict[str, Any]]] = [
        (maker, "trace.ship", {"batch": batch, "quantity": "1", "to": cast.trader.code, "shipment_id": "S-2"}),
        (maker, "trace.destroy", {"batch": batch, "quantity": "1", "reason": "again"}),
        (maker, "trace.inspect", {"batch": batch, "result": "conformant"}),
        (maker, "trace.recall", {"batch": batch, "reason": "召回"}),
        (cast.shop, "trace.sell", {"batch": batch, "quantity": "1"}),
        (maker, "trace.transform", {"kind": "process", "inputs": [{"batch": batch, "quantity": "1"}],
                                    "outputs": [{"gtin": cast.juice, "lot": "J", "quantity": "1", "unit": "KGM"}]}),
        (maker, "trace.aggregate", {"sscc": sscc(9), "contents": [{"batch": batch, "quantity": "1"}]}),
        (maker, "trace.sensor", {"batch": batch, "measurement": "temperature", "uom": "CEL",
                                 "readings": [{"time": "2026-01-05T08:00:00+08:00", "value": "3"}]}),
    ]
    for actor, type_, body in attempts:
        world.refuse(actor.signer, type_, body, [batch], "custody.destroyed")
    world.refuse(world.harness.keys.registrar, "trace.recall", {"batch": batch, "reason": "召回"}, [batch],
                 "custody.destroyed")
    world.assert_rebuild_matches()


def test_a_partial_destroy_leaves_the_batch_alive(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    ship(world, maker, batch, "30", cast.trader, "S-1")
    world.act(maker.signer, "trace.destroy", {"batch": batch, "quantity": "70", "reason": "破损"}, [batch])
    row = batch_row(world, batch)
    assert (row["status"], row["outstanding"]) == ("active", "30")
    world.refuse(maker.signer, "trace.destroy", {"batch": batch, "quantity": "1", "reason": "again"}, [batch],
                 "custody.not_holder")
    receive(world, cast.trader, maker, "S-1", "30", batch)
    world.act(cast.trader.signer, "trace.destroy", {"batch": batch, "quantity": "30", "reason": "破损"}, [batch])
    assert batch_row(world, batch)["status"] == "destroyed"
    world.assert_rebuild_matches()


# -- aggregation -------------------------------------------------------------------------------------------------

def test_aggregate_and_disaggregate(cast: Cast) -> None:
    world, maker, trader, batch = cast.world, cast.maker, cast.trader, cast.batch
    second = commission(world, maker, cast.juice, "J-1", "50")
    code = sscc(1)
    pallet = f"00/{code}"
    world.refuse(maker.signer, "trace.aggregate", {"sscc": code[:-1] + str((int(code[-1]) + 1) % 10),
                                                   "contents": [{"batch": batch, "quantity": "1"}]},
                 [batch], "body.sscc")
    world.refuse(maker.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": batch, "quantity": "101"}]},
                 [pallet, batch], "custody.over_quantity")
    world.refuse(trader.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": batch, "quantity": "1"}]},
                 [pallet, batch], "custody.not_holder")
    world.act(maker.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": batch, "quantity": "60"},
                                                                           {"batch": second, "quantity": "50"}]},
              [pallet, batch, second])
    assert holdings(world) == {(batch, maker.code): "40", (pallet, maker.code): "1"}
    world.refuse(maker.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": batch, "quantity": "1"}]},
                 [pallet, batch], "batch.exists")
    world.refuse(maker.signer, "trace.aggregate", {"sscc": sscc(2), "contents": [{"batch": pallet, "quantity": "1"}]},
                 [f"00/{sscc(2)}", pallet], "custody.logistic_unit")
    world.refuse(maker.signer, "trace.ship", {"batch": second, "quantity": "1", "to": trader.code,
                                              "shipment_id": "S-0"}, [second], "custody.not_holder")
    world.refuse(maker.signer, "trace.destroy", {"batch": pallet, "quantity": "1", "reason": "x"}, [pallet],
                 "custody.logistic_unit")
    world.refuse(maker.signer, "trace.transform",
                 {"kind": "process", "inputs": [{"batch": pallet, "quantity": "1"}],
                  "outputs": [{"gtin": cast.juice, "lot": "J-2", "quantity": "1", "unit": "EA"}]},
                 [pallet, lot(cast.juice, "J-2")], "custody.logistic_unit")
    deliver(world, maker, pallet, "1", trader, "S-1")
    world.refuse(maker.signer, "trace.disaggregate", {"sscc": code}, [pallet, batch, second], "custody.not_holder")
    world.refuse(trader.signer, "trace.disaggregate", {"sscc": code}, [pallet, batch], "custody.links")
    world.act(trader.signer, "trace.disaggregate", {"sscc": code}, [pallet, batch, second])
    assert holdings(world) == {(batch, maker.code): "40", (batch, trader.code): "60", (second, trader.code): "50"}
    assert (batch_row(world, pallet)["status"], batch_row(world, pallet)["outstanding"]) == ("emptied", "0")
    world.refuse(trader.signer, "trace.disaggregate", {"sscc": code}, [pallet], "custody.not_holder")
    world.refuse(maker.signer, "trace.disaggregate", {"sscc": sscc(3)}, [f"00/{sscc(3)}"], "batch.unknown")
    world.assert_rebuild_matches()


def test_a_logistic_unit_moves_whole(cast: Cast) -> None:
    world, maker, trader = cast.world, cast.maker, cast.trader
    code = sscc(4)
    pallet = f"00/{code}"
    world.act(maker.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": cast.batch, "quantity": "10"}]},
              [pallet, cast.batch])
    world.refuse(maker.signer, "trace.ship", {"batch": pallet, "quantity": "0.5", "to": trader.code,
                                              "shipment_id": "S-1"}, [pallet], "custody.logistic_unit")
    ship(world, maker, pallet, "1", trader, "S-1")
    world.refuse(trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S-1"}, "quantity": "0.5",
                                                  "discrepancy": "half"}, [pallet], "custody.logistic_unit")
    # a logistic unit lost in transit takes its contents with it
    world.act(trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S-1"}, "quantity": "0",
                                               "discrepancy": "托盘运输途中丢失"}, [pallet, cast.batch])
    assert not world.state()["trace_contents"]
    assert batch_row(world, cast.batch)["outstanding"] == "90"
    assert holdings(world) == {(cast.batch, maker.code): "90"}
    world.assert_rebuild_matches()


@pytest.mark.parametrize("recall_first", [True, False])
def test_a_pallet_inherits_the_recall_of_its_contents(cast: Cast, recall_first: bool) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    code = sscc(5)
    pallet = f"00/{code}"

    def recall() -> None:
        world.act(maker.signer, "trace.recall", {"batch": batch, "reason": "微生物超标"}, [batch])

    if recall_first:
        recall()
    world.act(maker.signer, "trace.aggregate", {"sscc": code, "contents": [{"batch": batch, "quantity": "10"}]},
              [pallet, batch])
    if not recall_first:
        recall()
    recalls = {(ref, source) for ref, _, source, *_ in world.state()["trace_recalls"]}
    assert recalls == {(batch, batch), (pallet, batch)}
    world.refuse(maker.signer, "trace.ship", {"batch": pallet, "quantity": "1", "to": cast.shop.code,
                                              "shipment_id": "S-1"}, [pallet], "custody.recalled")
    deliver(world, maker, pallet, "1", cast.trader, "S-2")  # back up the chain (e.g. to a warehouse) is allowed
    world.act(cast.trader.signer, "trace.disaggregate", {"sscc": code}, [pallet, batch])
    world.refuse(cast.trader.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": cast.shop.code,
                                                    "shipment_id": "S-3"}, [batch], "custody.recalled")
    world.assert_rebuild_matches()


# -- transformations ---------------------------------------------------------------------------------------------

def test_transform_rules(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    output = lot(cast.juice, "J-1")
    base = {"kind": "process", "inputs": [{"batch": batch, "quantity": "10"}],
            "outputs": [{"gtin": cast.juice, "lot": "J-1", "quantity": "10", "unit": "KGM"}]}
    world.refuse(maker.signer, "trace.transform", {**base, "outputs": [{**base["outputs"][0], "quantity": "10.001"}]},
                 [batch, output], "custody.output_exceeds_input")
    world.refuse(cast.trader.signer, "trace.transform", base, [batch, output], "custody.not_holder")
    world.refuse(maker.signer, "trace.transform", {**base, "kind": "split"}, [batch, output], "body.transform")
    world.refuse(maker.signer, "trace.transform", {**base, "outputs": [{**base["outputs"][0], "gtin": cast.food,
                                                                         "lot": "C-1"}]},
                 [batch], "batch.exists")
    world.act(maker.signer, "trace.transform", {**base, "outputs": [{**base["outputs"][0], "quantity": "8",
                                                                      "unit": "LTR"}]}, [batch, output])
    assert holdings(world) == {(batch, maker.code): "90", (output, maker.code): "8"}
    assert batch_row(world, batch)["outstanding"] == "90"
    world.assert_rebuild_matches()


# -- corrections -------------------------------------------------------------------------------------------------

def correct(world: World, actor: Actor, entry: int, touches: list[str]) -> int:
    return world.act(actor.signer, "trace.correct", {"entry": entry, "reason": "录入错误"}, touches)


def test_correcting_a_commission_voids_the_batch(cast: Cast) -> None:
    world, maker = cast.world, cast.maker
    ref = lot(cast.food, "W-1")
    entry = world.act(maker.signer, "trace.commission", {"gtin": cast.food, "lot": "W-1", "quantity": "1000",
                                                         "unit": "KGM", "produced_on": "2026-01-05"}, [ref])
    correct(world, maker, entry, [ref])
    row = batch_row(world, ref)
    assert (row["status"], row["outstanding"]) == ("voided", "0")
    assert (ref, maker.code) not in holdings(world)
    events = {row["entry_index"]: row for row in rows(world, EventRecord)}
    assert events[entry]["corrected_by"] == max(events)
    world.refuse(maker.signer, "trace.ship", {"batch": ref, "quantity": "1", "to": cast.trader.code,
                                              "shipment_id": "S-1"}, [ref], "batch.unknown")
    world.act(maker.signer, "trace.commission", {"gtin": cast.food, "lot": "W-1", "quantity": "100", "unit": "KGM",
                                                 "produced_on": "2026-01-05"}, [ref])
    row = batch_row(world, ref)
    assert (row["status"], row["outstanding"], row["quantity"]) == ("active", "100", "100")
    assert holdings(world)[(ref, maker.code)] == "100"
    world.assert_rebuild_matches()


def test_correcting_a_ship_in_transit_restores_the_holding(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    before = holdings(world)
    entry = ship(world, maker, batch, "25", cast.trader, "S-1")
    assert holdings(world)[(batch, maker.code)] == "75"
    world.refuse(cast.trader.signer, "trace.correct", {"entry": entry, "reason": "不是我发的"}, [batch],
                 "correct.not_author")
    correct(world, maker, entry, [batch])
    assert holdings(world) == before
    assert not world.state()["trace_shipments"]
    world.refuse(maker.signer, "trace.correct", {"entry": entry, "reason": "again"}, [batch],
                 "correct.already_corrected")
    world.refuse(cast.trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S-1"},
                                                       "quantity": "25"}, [batch], "shipment.unknown")
    ship(world, maker, batch, "20", cast.trader, "S-1")  # the shipment id is free again
    world.assert_rebuild_matches()


def test_correction_refusals(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    entry = ship(world, maker, batch, "25", cast.trader, "S-1")
    receive(world, cast.trader, maker, "S-1", "25", batch)
    message = world.refuse(maker.signer, "trace.correct", {"entry": entry, "reason": "发错了"}, [batch],
                           "correct.not_latest")
    assert batch in message
    define = world.act(maker.signer, "trace.product.define", {"gtin": gtin("695100", 7), "name": "新品",
                                                              "category": "food", "spec": "1kg"})
    world.refuse(maker.signer, "trace.correct", {"entry": define, "reason": "定义错误"}, [],
                 "correct.not_correctable")
    world.refuse(world.harness.keys.registrar, "trace.correct", {"entry": 0, "reason": "genesis"}, [],
                 "correct.unknown_entry")
    world.refuse(maker.signer, "trace.correct", {"entry": "1", "reason": "x"}, [], "body.type")
    sale = world.act(cast.trader.signer, "trace.ship", {"batch": batch, "quantity": "5", "to": cast.shop.code,
                                                        "shipment_id": "T-1"}, [batch])
    fix = correct(world, cast.trader, sale, [batch])
    world.refuse(cast.trader.signer, "trace.correct", {"entry": fix, "reason": "撤销更正"}, [batch],
                 "correct.not_correctable")
    world.assert_rebuild_matches()


def test_the_registrar_may_correct_and_a_barred_author_may_not(cast: Cast) -> None:
    world, maker, batch = cast.world, cast.maker, cast.batch
    entry = ship(world, maker, batch, "25", cast.trader, "S-1")
    set_status(world, maker, "blacklisted")
    world.refuse(maker.signer, "trace.correct", {"entry": entry, "reason": "撤销发货"}, [batch],
                 "enterprise.blacklisted")
    world.act(world.harness.keys.registrar, "trace.correct", {"entry": entry, "reason": "监管更正"}, [batch])
    assert holdings(world) == {(batch, maker.code): "100"}
    summary = {row["type"]: json.loads(row["summary"]) for row in rows(world, EventRecord)}["trace.correct"]
    assert summary == {"entry": entry, "type": "trace.ship", "reason": "监管更正"}
    world.assert_rebuild_matches()


def test_units_in_transit_cannot_leave_twice_and_partial_pallets_name_their_units(harness: LedgerHarness) -> None:
    world = World(harness)
    maker = world.enterprise(credit_code("320500", 91), ["producer", "processor"], "制药厂")
    buyer = world.enterprise(credit_code("320100", 92), ["wholesaler"], "医药公司")
    drug = gtin("695009", 1)
    world.product(maker, drug, "布洛芬缓释胶囊", "drug", approval_number="国药准字H10900089",
                  drug_code_prefix="8123457")
    boxes = [f"8123457{serial:013d}" for serial in range(1, 5)]
    batch = lot(drug, "IB1")
    world.act(maker.signer, "trace.commission", {"gtin": drug, "lot": "IB1", "quantity": "4", "unit": "BX",
                                                 "produced_on": "2026-11-01", "units": boxes}, [batch])
    world.act(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": buyer.code, "shipment_id": "A",
                                           "units": boxes[:1]}, [batch])
    world.refuse(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": buyer.code,
                                              "shipment_id": "B", "units": boxes[:1]}, [batch], "custody.not_holder")
    world.refuse(maker.signer, "trace.destroy", {"batch": batch, "quantity": "1", "reason": "x",
                                                 "units": boxes[:1]}, [batch], "custody.not_holder")
    pallet_code = sscc(91)
    world.act(maker.signer, "trace.aggregate", {"sscc": pallet_code, "contents": [
        {"batch": batch, "quantity": "2", "units": boxes[1:3]}]}, [f"00/{pallet_code}", batch])
    world.act(maker.signer, "trace.ship", {"batch": batch, "quantity": "1", "to": buyer.code, "shipment_id": "C"},
              [batch])
    units = {unit_id: status for _, unit_id, _, status, _, _ in world.state()["trace_units"]}
    assert units == {boxes[0]: "in_transit", boxes[1]: "packed", boxes[2]: "packed", boxes[3]: "in_transit"}
    world.act(buyer.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "A"}, "quantity": "1"},
              [batch])
    units = {unit_id: (holder, status) for _, unit_id, holder, status, _, _ in world.state()["trace_units"]}
    assert units[boxes[0]] == (buyer.code, "active")
    world.assert_rebuild_matches()


def test_only_the_regulator_overturns_its_failed_inspection(harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 93, "93"), ["producer"], "茶园")
    tea = gtin("695009", 2)
    world.product(farm, tea, "绿茶", "food")
    batch = lot(tea, "T1")
    world.act(farm.signer, "trace.commission", {"gtin": tea, "lot": "T1", "quantity": "5", "unit": "KGM",
                                                "produced_on": "2026-11-01"}, [batch])
    world.registrar_act("trace.inspect", {"batch": batch, "result": "non_conformant", "items": ["农药残留"]}, [batch])
    world.refuse(farm.signer, "trace.inspect", {"batch": batch, "result": "conformant"}, [batch],
                 "custody.regulator_result")
    world.registrar_act("trace.inspect", {"batch": batch, "result": "conformant"}, [batch])
    world.act(farm.signer, "trace.inspect", {"batch": batch, "result": "conformant"}, [batch])
    world.assert_rebuild_matches()
