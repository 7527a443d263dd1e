"""A recall's downstream scope (set-based, from the state tables) and its course in the rules: acknowledgements by
the parties of the scope, refusals for anyone else, and closing only when nothing is held or in transit and every
party has acknowledged, or with an override. The scope read from the tables and the one the rules derive from the
book name the same parties, and replaying the ledger rebuilds the same state."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from ledger.models import Entry
from tests.conftest import LedgerHarness
from tests.trace.world import Actor, World, credit_code, gtin, lot, sscc
from trace.book import Book
from trace.recall_notices import notify_parties
from trace.recall_scope import RecallNotFound, ScopeBatchNotFound, preview_scope, recall_scope
from trace.recall_tracking import ACKNOWLEDGE, CLOSE, recall_state
from trace.store import SessionSource


@dataclass
class Scene:
    """Farm ``farm`` made lot ``a``; ``processor`` split 60 of it into ``x1``/``x2`` and merged ``x1`` with
    ``b`` (another farm's lot, upstream only) into ``m``; ``wholesaler`` packed ``m`` with ``c`` (a third farm's
    lot) on pallet ``pallet`` and shipped it to ``retailer``, who holds it still packed; ``shop`` bought 10 of
    ``a`` from the farm and sold 4, and 10 of ``x2`` are on their way to it from the wholesaler."""

    world: World
    farm: Actor
    farm2: Actor
    farm3: Actor
    processor: Actor
    wholesaler: Actor
    retailer: Actor
    shop: Actor
    outsider: Actor
    a: str
    b: str
    c: str
    x1: str
    x2: str
    m: str
    pallet: str
    pallet_sscc: str


def build_scene(harness: LedgerHarness) -> Scene:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 11), ["producer"], "闽侯禽蛋场")
    farm2 = world.enterprise(credit_code("350121", 12), ["producer"], "长乐面粉厂")
    farm3 = world.enterprise(credit_code("350121", 13), ["producer"], "连江紫菜社")
    processor = world.enterprise(credit_code("350102", 14), ["processor"], "福州糕点食品厂")
    wholesaler = world.enterprise(credit_code("350102", 15), ["wholesaler"], "海峡食品批发")
    retailer = world.enterprise(credit_code("350103", 16), ["retailer"], "永辉超市鼓楼店")
    shop = world.enterprise(credit_code("350103", 17), ["retailer"], "社区便利店")
    outsider = world.enterprise(credit_code("350104", 18), ["retailer"], "无关的商店")
    eggs, flour, laver = gtin("6950411", 1), gtin("6950412", 1), gtin("6950413", 1)
    yolks, cake = gtin("6950414", 1), gtin("6950414", 2)
    world.product(farm, eggs, "鲜鸡蛋", "food")
    world.product(farm2, flour, "面粉", "food")
    world.product(farm3, laver, "紫菜", "food")
    world.product(processor, yolks, "蛋液", "food")
    world.product(processor, cake, "蛋糕", "food")
    a, b, c = lot(eggs, "E-1"), lot(flour, "F-1"), lot(laver, "L-1")
    x1, x2, m = lot(yolks, "Y-1"), lot(yolks, "Y-2"), lot(cake, "K-1")
    day = world.time().date().isoformat()
    for maker, product, number, quantity, unit, ref in ((farm, eggs, "E-1", "100", "KGM", a),
                                                       (farm2, flour, "F-1", "50", "KGM", b),
                                                       (farm3, laver, "L-1", "20", "EA", c)):
        world.act(maker.signer, "trace.commission", {"gtin": product, "lot": number, "quantity": quantity,
                                                     "unit": unit, "produced_on": day}, [ref])

    def move(sender: Actor, receiver: Actor, ref: str, quantity: str, shipment: str, *, arrive: bool = True) -> None:
        world.act(sender.signer, "trace.ship", {"batch": ref, "quantity": quantity, "to": receiver.code,
                                                "shipment_id": shipment}, [ref])
        if arrive:
            world.act(receiver.signer, "trace.receive", {"shipment": {"from": sender.code, "id": shipment},
                                                         "quantity": quantity}, [ref])

    move(farm, processor, a, "60", "A-1")
    move(farm, shop, a, "10", "A-2")
    world.act(shop.signer, "trace.sell", {"batch": a, "quantity": "4"}, [a])
    move(farm2, processor, b, "50", "B-1")
    world.act(processor.signer, "trace.transform", {
        "kind": "split", "inputs": [{"batch": a, "quantity": "60"}],
        "outputs": [{"gtin": yolks, "lot": "Y-1", "quantity": "30", "unit": "KGM"},
                    {"gtin": yolks, "lot": "Y-2", "quantity": "30", "unit": "KGM"}]}, [a, x1, x2])
    world.act(processor.signer, "trace.transform", {
        "kind": "merge", "inputs": [{"batch": x1, "quantity": "30"}, {"batch": b, "quantity": "50"}],
        "outputs": [{"gtin": cake, "lot": "K-1", "quantity": "80", "unit": "KGM"}]}, [x1, b, m])
    move(processor, wholesaler, x2, "30", "P-1")
    move(processor, wholesaler, m, "80", "P-2")
    move(farm3, wholesaler, c, "20", "L-1")
    pallet_sscc = sscc(77)
    pallet = f"00/{pallet_sscc}"
    world.act(wholesaler.signer, "trace.aggregate", {"sscc": pallet_sscc, "contents": [
        {"batch": m, "quantity": "80"}, {"batch": c, "quantity": "20"}]}, [pallet, m, c])
    move(wholesaler, retailer, pallet, "1", "W-1")
    move(wholesaler, shop, x2, "10", "W-2", arrive=False)
    return Scene(world, farm, farm2, farm3, processor, wholesaler, retailer, shop, outsider, a, b, c, x1, x2, m,
                 pallet, pallet_sscc)


def recall(scene: Scene, reason: str = "沙门氏菌检出") -> int:
    return scene.world.registrar_act("trace.recall", {"batch": scene.a, "reason": reason, "level": "1"}, [scene.a])


def test_the_scope_follows_splits_merges_and_pallets(harness: LedgerHarness) -> None:
    scene = build_scene(harness)
    index = recall(scene)
    with harness.sessions() as session:
        scope = recall_scope(session, index)
    assert list(scope.batches)[0] == scene.a
    assert set(scope.batches) == {scene.a, scene.x1, scene.x2, scene.m, scene.pallet, scene.c}
    assert scene.b not in scope.batches  # an input of the merge, upstream of the recall
    assert scope.batches[scene.m].parents == (scene.x1,)
    assert scope.batches[scene.pallet].parents == tuple(sorted((scene.m, scene.c)))
    assert set(scope.parties) == {scene.farm.code, scene.farm3.code, scene.processor.code, scene.wholesaler.code,
                                  scene.retailer.code, scene.shop.code}
    relations = {code: party.relation for code, party in scope.parties.items()}
    assert relations == {scene.farm.code: "maker", scene.processor.code: "processor",
                         scene.wholesaler.code: "holder", scene.retailer.code: "holder", scene.shop.code: "holder",
                         scene.farm3.code: "former"}

    def position(ref: str, party: Actor) -> dict[str, str]:
        found = [item for item in scope.positions if item.ref == ref and item.party == party.code]
        assert len(found) == 1, (ref, party.code)
        return {name: str(found[0].quantity(name)) for name in ("made", "received", "shipped", "used", "sold",
                                                                 "held", "in_transit")}

    zero = "0"
    assert position(scene.a, scene.farm) == {"made": "100", "received": zero, "shipped": "70", "used": zero,
                                             "sold": zero, "held": "30", "in_transit": zero}
    assert position(scene.a, scene.shop) == {"made": zero, "received": "10", "shipped": zero, "used": zero,
                                             "sold": "4", "held": "6", "in_transit": zero}
    assert position(scene.a, scene.processor)["used"] == "60"  # one split into two outputs: counted once
    assert position(scene.x2, scene.wholesaler) == {"made": zero, "received": "30", "shipped": "10", "used": zero,
                                                    "sold": zero, "held": "20", "in_transit": zero}
    assert position(scene.x2, scene.shop)["in_transit"] == "10"
    assert position(scene.m, scene.wholesaler)["used"] == "80"
    assert position(scene.pallet, scene.retailer)["held"] == "1"
    assert position(scene.c, scene.farm3)["shipped"] == "20"
    assert scope.open_parties() == sorted(scope.parties)  # the registrar recalled: nobody has acknowledged yet
    with harness.sessions() as session:  # the rules see the same parties, holdings and goods in transit
        state = recall_state(Book(SessionSource(session)), index)
    assert state.parties == set(scope.parties)
    assert set(state.batches) == set(scope.batches)
    assert sorted((ref, holder) for ref, holder, _ in state.held) == sorted(
        (item.ref, item.party) for item in scope.positions if item.held)
    assert state.in_transit == [(scene.x2, scene.wholesaler.code, scene.shop.code, "10")]


def test_a_preview_walks_what_the_recall_will_mark(harness: LedgerHarness) -> None:
    scene = build_scene(harness)
    with harness.sessions() as session:
        preview = preview_scope(session, scene.a)
        assert preview.recall is None
        with pytest.raises(ScopeBatchNotFound):
            preview_scope(session, lot(gtin("6950411", 1), "NOPE"))
        with pytest.raises(RecallNotFound):
            recall_scope(session, 1)  # an entry, but not a recall
    index = recall(scene)
    with harness.sessions() as session:
        assert set(recall_scope(session, index).batches) == set(preview.batches)


def test_holders_acknowledge_and_outsiders_are_refused(harness: LedgerHarness) -> None:
    scene = build_scene(harness)
    world = scene.world
    index = recall(scene)
    world.act(scene.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.a, "note": "已下架"}, [scene.a])
    world.refuse(scene.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.a}, [scene.a],
                 "recall.acknowledged")
    world.refuse(scene.outsider.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.a}, [scene.a],
                 "recall.not_party")
    world.refuse(scene.farm2.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.b}, [scene.b],
                 "recall.not_in_scope")
    world.refuse(scene.shop.signer, ACKNOWLEDGE, {"recall": index - 1, "batch": scene.a}, [scene.a],
                 "recall.unknown")
    world.refuse(scene.wholesaler.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.x2}, [], "custody.links")
    with harness.sessions() as session:
        scope = recall_scope(session, index)
        notices = notify_parties(session, scope, world.now)
        session.commit()
    assert scope.parties[scene.shop.code].acknowledged is not None
    assert notices[scene.shop.code].acknowledged_index == scope.parties[scene.shop.code].acknowledged[0]
    assert notices[scene.farm.code].acknowledged_index is None
    world.assert_rebuild_matches()


def test_closing_needs_every_party_and_nothing_left_or_an_override(harness: LedgerHarness) -> None:
    scene = build_scene(harness)
    world = scene.world
    index = recall(scene)
    close = {"recall": index, "note": "召回完成"}
    message = world.refuse(harness.keys.registrar, CLOSE, close, [scene.a], "recall.open")
    assert f"{scene.farm.code} holds 30 of {scene.a}" in message and "in transit" in message
    world.refuse(harness.keys.registrar, CLOSE, {**close, "override": "too short"}, [scene.a], "body.override")
    world.refuse(scene.farm.signer, CLOSE, close, [scene.a], "enterprise.not_registrar")
    # The goods come back or are destroyed; every party acknowledges.
    world.act(scene.shop.signer, "trace.receive", {"shipment": {"from": scene.wholesaler.code, "id": "W-2"},
                                                   "quantity": "10"}, [scene.x2])
    world.act(scene.shop.signer, "trace.ship", {"batch": scene.a, "quantity": "6", "to": scene.farm.code,
                                                "shipment_id": "R-1"}, [scene.a])
    world.act(scene.farm.signer, "trace.receive", {"shipment": {"from": scene.shop.code, "id": "R-1"},
                                                   "quantity": "6"}, [scene.a])
    world.act(scene.farm.signer, "trace.destroy", {"batch": scene.a, "quantity": "36", "reason": "召回销毁"},
              [scene.a])
    world.act(scene.shop.signer, "trace.destroy", {"batch": scene.x2, "quantity": "10", "reason": "召回销毁"},
              [scene.x2])
    world.act(scene.wholesaler.signer, "trace.destroy", {"batch": scene.x2, "quantity": "20", "reason": "召回"},
              [scene.x2])
    world.act(scene.retailer.signer, "trace.disaggregate", {"sscc": scene.pallet_sscc},
              [scene.pallet, scene.m, scene.c])
    world.act(scene.retailer.signer, "trace.destroy", {"batch": scene.m, "quantity": "80", "reason": "召回"},
              [scene.m])
    world.act(scene.retailer.signer, "trace.destroy", {"batch": scene.c, "quantity": "20", "reason": "召回"},
              [scene.c])
    with harness.sessions() as session:
        scope = recall_scope(session, index)
    assert not any(item.held or item.in_transit for item in scope.positions)
    assert scope.positions_of(scene.shop.code)[0].returned == Decimal(6)
    assert scope.parties[scene.farm.code].totals(scope.positions, "destroyed_since") == {"KGM": Decimal(36)}
    # Batch a is destroyed now: acknowledging and closing still link it.
    for party, ref in ((scene.farm, scene.a), (scene.shop, scene.a), (scene.processor, scene.x1),
                       (scene.wholesaler, scene.x2), (scene.retailer, scene.m)):
        world.act(party.signer, ACKNOWLEDGE, {"recall": index, "batch": ref}, [ref])
    message = world.refuse(harness.keys.registrar, CLOSE, close, [scene.a], "recall.open")
    assert message.startswith(f"the recall at entry {index} is still open: {scene.farm3.code} has not")
    world.act(scene.farm3.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.c}, [scene.c])
    closed = world.registrar_act(CLOSE, close, [scene.a])
    world.refuse(harness.keys.registrar, CLOSE, close, [scene.a], "recall.closed")
    world.refuse(scene.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.x2}, [scene.x2], "recall.closed")
    with harness.sessions() as session:
        assert recall_scope(session, index).recall.closed_index == closed  # type: ignore[union-attr]
    world.assert_rebuild_matches()


def test_an_override_closes_a_recall_that_is_still_open(harness: LedgerHarness) -> None:
    scene = build_scene(harness)
    index = recall(scene)
    closed = scene.world.registrar_act(CLOSE, {"recall": index, "note": "转入立案调查",
                                               "override": "the remaining holders are under investigation"},
                                       [scene.a])
    with harness.sessions() as session:
        info = recall_scope(session, index).recall
    assert info is not None and info.closed_index == closed and info.override
    scene.world.assert_rebuild_matches()


def _count_queries(harness: LedgerHarness) -> tuple[list[str], Any]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))
    return statements, count


def test_the_scope_takes_a_fixed_number_of_queries(harness: LedgerHarness) -> None:
    """A chain of 60 batches (each lot split into the next) costs the same handful of queries as a short one."""
    world = World(harness)
    maker = world.enterprise(credit_code("350121", 21), ["producer", "processor"], "长链食品厂")
    product = gtin("6950415", 1)
    world.product(maker, product, "长链", "food")
    first = lot(product, "C-0")
    world.act(maker.signer, "trace.commission", {"gtin": product, "lot": "C-0", "quantity": "1000", "unit": "KGM",
                                                 "produced_on": world.time().date().isoformat()}, [first])
    refs, quantity = [first], 1000
    for step in range(1, 60):
        quantity -= 1
        ref = lot(product, f"C-{step}")
        world.act(maker.signer, "trace.transform", {
            "kind": "process", "inputs": [{"batch": refs[-1], "quantity": str(quantity + 1)}],
            "outputs": [{"gtin": product, "lot": f"C-{step}", "quantity": str(quantity), "unit": "KGM"}]},
            [refs[-1], ref])
        refs.append(ref)
    index = world.registrar_act("trace.recall", {"batch": first, "reason": "原料污染"}, [first])
    statements, count = _count_queries(harness)
    event.listen(harness.engine, "before_cursor_execute", count)
    try:
        with harness.sessions() as session:
            scope = recall_scope(session, index)
    finally:
        event.remove(harness.engine, "before_cursor_execute", count)
    assert list(scope.batches) == refs
    assert scope.positions_of(maker.code)[-1].held == Decimal(quantity)
    assert len(statements) <= 15, statements


@dataclass
class Web:
    """Lot ``a`` split into ``a1``/``a2``; ``a1`` packed with ``u`` on ``p1``; ``u`` processed into ``u1`` before,
    and ``u1`` packed with ``v`` on ``p2``; ``a2`` and the rest of ``a1`` merged into ``m`` (reached twice); ``a2``
    packed on ``p3``, which ``shop`` received and unpacked. Besides, ``w`` processed into ``w1`` and packed with ``x``
    on ``p4``: a web of edges and pallets the walk must not enter."""

    world: World
    maker: Actor
    shop: Actor
    refs: dict[str, str]


def build_web(harness: LedgerHarness) -> Web:
    world = World(harness)
    maker = world.enterprise(credit_code("350121", 31), ["producer", "processor", "retailer"], "交织食品厂")
    shop = world.enterprise(credit_code("350103", 32), ["retailer"], "交织便利店")
    product = gtin("6950416", 1)
    world.product(maker, product, "交织", "food")
    refs = {name: lot(product, name.upper()) for name in ("a", "a1", "a2", "u", "u1", "v", "m", "w", "w1", "x")}
    refs.update({name: f"00/{sscc(number)}" for number, name in enumerate(("p1", "p2", "p3", "p4"), start=81)})
    day = world.time().date().isoformat()
    for name in ("a", "u", "v", "w", "x"):
        world.act(maker.signer, "trace.commission", {"gtin": product, "lot": name.upper(), "quantity": "100",
                                                     "unit": "KGM", "produced_on": day}, [refs[name]])

    def transform(kind: str, inputs: dict[str, str], outputs: dict[str, str]) -> None:
        world.act(maker.signer, "trace.transform", {
            "kind": kind, "inputs": [{"batch": refs[name], "quantity": amount} for name, amount in inputs.items()],
            "outputs": [{"gtin": product, "lot": name.upper(), "quantity": amount, "unit": "KGM"}
                        for name, amount in outputs.items()]}, [refs[name] for name in (*inputs, *outputs)])

    def pack(pallet: str, contents: dict[str, str]) -> None:
        world.act(maker.signer, "trace.aggregate", {
            "sscc": refs[pallet].removeprefix("00/"),
            "contents": [{"batch": refs[name], "quantity": amount} for name, amount in contents.items()]},
            [refs[pallet], *(refs[name] for name in contents)])

    transform("split", {"a": "100"}, {"a1": "50", "a2": "50"})
    transform("process", {"u": "40"}, {"u1": "40"})
    pack("p1", {"a1": "20", "u": "30"})
    pack("p2", {"u1": "10", "v": "5"})
    transform("merge", {"a1": "30", "a2": "10"}, {"m": "40"})
    pack("p3", {"a2": "15"})
    transform("process", {"w": "60"}, {"w1": "60"})
    pack("p4", {"w1": "60", "x": "7"})
    world.act(maker.signer, "trace.ship", {"batch": refs["p3"], "quantity": "1", "to": shop.code,
                                           "shipment_id": "P3"}, [refs["p3"]])
    world.act(shop.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "P3"}, "quantity": "1"},
              [refs["p3"]])
    world.act(shop.signer, "trace.disaggregate", {"sscc": refs["p3"].removeprefix("00/")}, [refs["p3"], refs["a2"]])
    world.act(shop.signer, "trace.sell", {"batch": refs["a2"], "quantity": "6"}, [refs["a2"]])
    world.act(maker.signer, "trace.sell", {"batch": refs["a2"], "quantity": "2"}, [refs["a2"]])
    world.act(maker.signer, "trace.destroy", {"batch": refs["u"], "quantity": "1", "reason": "破损"}, [refs["u"]])
    world.act(maker.signer, "trace.sell", {"batch": refs["w"], "quantity": "9"}, [refs["w"]])  # outside the scope
    world.act(maker.signer, "trace.destroy", {"batch": refs["x"], "quantity": "3", "reason": "破损"}, [refs["x"]])
    return Web(world, maker, shop, refs)


def test_a_preview_alternates_edges_and_pallets_and_leaves_the_rest(harness: LedgerHarness) -> None:
    """The walk goes from edges into pallets and from their goods along edges again, at any depth, and reads the
    quantities of what it reached only: the same batches and figures as the recall it previews, and as the rules'
    walk."""
    web = build_web(harness)
    refs, maker, shop = web.refs, web.maker.code, web.shop.code
    with harness.sessions() as session:
        preview = preview_scope(session, refs["a"])
    reached = ("a", "a1", "a2", "p1", "u", "u1", "p2", "v", "m", "p3")
    assert set(preview.batches) == {refs[name] for name in reached}
    assert list(preview.batches)[0] == refs["a"]
    assert preview.batches[refs["m"]].parents == tuple(sorted((refs["a1"], refs["a2"])))
    assert preview.batches[refs["p2"]].parents == tuple(sorted((refs["u1"], refs["v"])))

    def figures(scope: Any, name: str, party: str) -> dict[str, str]:
        found = [item for item in scope.positions if item.ref == refs[name] and item.party == party]
        assert len(found) == 1, (name, party)
        return {quantity: str(found[0].quantity(quantity)) for quantity in
                ("made", "received", "shipped", "used", "sold", "destroyed", "held")}

    assert figures(preview, "a2", maker) == {"made": "50", "received": "0", "shipped": "0", "used": "25",
                                             "sold": "2", "destroyed": "0", "held": "23"}
    assert figures(preview, "a2", shop) == {"made": "0", "received": "15", "shipped": "0", "used": "0",
                                            "sold": "6", "destroyed": "0", "held": "9"}
    assert figures(preview, "u", maker) == {"made": "100", "received": "0", "shipped": "0", "used": "70",
                                            "sold": "0", "destroyed": "1", "held": "29"}
    assert {party.code: party.relation for party in preview.parties.values()} == {maker: "maker", shop: "holder"}
    index = web.world.registrar_act("trace.recall", {"batch": refs["a"], "reason": "交叉污染"}, [refs["a"]])
    with harness.sessions() as session:
        scope = recall_scope(session, index)
        state = recall_state(Book(SessionSource(session)), index)
    assert list(scope.batches) == list(preview.batches)
    assert scope.positions == preview.positions  # nothing returned or destroyed since the recall
    assert set(state.batches) == set(preview.batches) and state.parties == set(preview.parties)


def test_a_party_acknowledging_twice_counts_from_its_first(harness: LedgerHarness) -> None:
    """A party may acknowledge a recall once per batch: the scope shows its first acknowledgement, with that
    entry's receive time."""
    web = build_web(harness)
    refs = web.refs
    index = web.world.registrar_act("trace.recall", {"batch": refs["a"], "reason": "交叉污染"}, [refs["a"]])
    first = web.world.act(web.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": refs["a2"]}, [refs["a2"]])
    web.world.advance(minutes=5)
    web.world.act(web.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": refs["p3"]}, [refs["p3"]])
    with harness.sessions() as session:
        scope = recall_scope(session, index)
        received = session.get(Entry, first)
    assert received is not None
    assert scope.parties[web.shop.code].acknowledged == (first, received.received_at)
    assert scope.parties[web.maker.code].acknowledged is None


def test_the_preview_walk_looks_up_only_what_it_reaches(harness: LedgerHarness) -> None:
    """Each step of the walk is an index lookup of the walked batches' edges and pallet contents: not a scan of
    every edge and content per step (SQLite materialised their union at every step, PostgreSQL hash-joined a scan
    of both: 102 ms at a million entries)."""
    web = build_web(harness)
    statements: list[tuple[str, Any]] = []

    def keep(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "RECURSIVE" in statement:
            statements.append((statement, parameters))
    event.listen(harness.engine, "before_cursor_execute", keep)
    try:
        with harness.sessions() as session:
            preview_scope(session, web.refs["a"])
    finally:
        event.remove(harness.engine, "before_cursor_execute", keep)
    assert len(statements) == 1
    statement, parameters = statements[0]
    with harness.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        if harness.engine.dialect.name == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # the tables are tiny here: ask for the plan at scale
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS trace_recall_scope (ref varchar(256) PRIMARY KEY)")
            cursor.execute("EXPLAIN " + statement, parameters)
            lines = [row[0] for row in cursor.fetchall()]
            reads = [line for line in lines if " on trace_edges" in line or " on trace_contents" in line]
            assert len(reads) == 2 and all("Index" in line for line in reads), lines
            conditions = [line for line in lines if "Index Cond" in line]
            assert len(conditions) == 2 and all("walk" in line for line in conditions), lines
        else:
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS trace_recall_scope (ref VARCHAR(256) PRIMARY KEY)")
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[3] for row in cursor.fetchall()]
            reads = [line for line in lines if "trace_edges" in line or "trace_contents" in line]
            assert len(reads) == 2 and all(line.startswith("SEARCH") and "=?" in line for line in reads), lines
            assert not any("MATERIALIZE" in line for line in lines), lines
        cursor.close()
        connection.rollback()
