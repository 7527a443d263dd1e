"""Property tests: random sequences of custody operations (many of them refused) never break conservation, a
refused operation leaves the ledger and every state table unchanged, and replaying the ledger gives the live
state. A non-atomic batch mixing valid and invalid statements appends exactly the valid ones.

Every hypothesis example starts from the same fresh ledger: the test registers its enterprises and products once,
takes a snapshot of every table, and restores it before each example (deleting every row and inserting the
snapshot), which is the same on SQLite and PostgreSQL and much faster than a new database per example.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Table, delete, insert, select

from ledger import BatchRefused, LedgerError, Signer
from ledger.db import Base
from ledger.statements import parse_envelope
from tests.conftest import LedgerHarness
from tests.trace.world import Actor, World, credit_code, gtin, lot, sscc
from trace.book import Book
from trace.policy import TracePolicy
from trace.quantities import format_quantity
from trace.records import (
    BatchRecord,
    ContentRecord,
    EnterpriseRecord,
    EventRecord,
    HoldingRecord,
    Record,
    ShipmentRecord,
)
from trace.rules import apply_event
from trace.store import dump_book, replay_ledger

State = dict[str, set[tuple[Any, ...]]]
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, database=None, derandomize=False,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FOOD, DRINK = gtin("695200", 1), gtin("695200", 2)
LOTS = [lot(FOOD, "A"), lot(FOOD, "B"), lot(DRINK, "A")]  # commissioned
OUTPUTS = [lot(DRINK, "T1"), lot(DRINK, "T2"), lot(FOOD, "T3")]  # made by transformations
PALLETS = [sscc(1), sscc(2)]
REFS = LOTS + OUTPUTS + [f"00/{code}" for code in PALLETS]
QUANTITIES = ["0.001", "0.5", "1", "2.5", "3", "7.25", "10", "40", "100", "250", "ALL", "ALL", "HALF"]
REGISTRAR = -1


# -- the world and its snapshot ----------------------------------------------------------------------------------

def rows(state: State, cls: type[Record]) -> list[dict[str, Any]]:
    names = [field.name for field in fields(cls)]
    return [dict(zip(names, row, strict=True)) for row in state[cls.TABLE]]


class Snapshot:
    """Every row of every table of the ledger after setup; :meth:`restore` brings the database back to it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as connection:
            self.tables: list[tuple[Table, list[dict[str, Any]]]] = [
                (table, [dict(row) for row in connection.execute(select(table)).mappings()])
                for table in Base.metadata.sorted_tables]

    def restore(self) -> None:
        with self.engine.begin() as connection:
            for table, _ in reversed(self.tables):
                connection.execute(delete(table))
            for table, table_rows in self.tables:
                if table_rows:
                    connection.execute(insert(table), table_rows)


@dataclass
class Cast:
    world: World
    #: maker (producer, processor), trader (wholesaler), shop (retailer), canteen (caterer). Each example starts
    #: with 100 KGM of LOTS[0] commissioned (20 of it in transit to the shop) and 50 KGM of LOTS[2] (30 of it
    #: delivered to the trader).
    actors: list[Actor]
    snapshot: Snapshot

    def signer(self, actor: int) -> Signer:
        return self.world.harness.keys.registrar if actor == REGISTRAR else self.actors[actor].signer

    def fresh(self) -> World:
        self.snapshot.restore()
        self.world = World(self.world.harness)
        return self.world


@pytest.fixture
def cast(harness: LedgerHarness) -> Iterator[Cast]:
    world = World(harness)
    actors = [world.enterprise(credit_code("350200", 301), ["producer", "processor"], "食品厂"),
              world.enterprise(credit_code("350200", 302), ["wholesaler"], "批发商"),
              world.enterprise(credit_code("350203", 303), ["retailer"], "超市"),
              world.enterprise(credit_code("350206", 304), ["caterer"], "食堂")]
    world.product(actors[0], FOOD, "大米", "food")
    world.product(actors[0], DRINK, "米酒", "food")
    maker, trader, shop = actors[:3]
    for ref, quantity in ((LOTS[0], "100"), (LOTS[2], "50")):
        world.act(maker.signer, "trace.commission", {"gtin": ref.split("/")[1], "lot": "A", "quantity": quantity,
                                                     "unit": "KGM", "produced_on": "2026-03-01"}, [ref])
    world.act(maker.signer, "trace.ship", {"batch": LOTS[2], "quantity": "30", "to": trader.code,
                                           "shipment_id": "S0"}, [LOTS[2]])
    world.act(trader.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "S0"}, "quantity": "30"},
              [LOTS[2]])
    world.act(maker.signer, "trace.ship", {"batch": LOTS[0], "quantity": "20", "to": shop.code,
                                           "shipment_id": "S9"}, [LOTS[0]])
    yield Cast(world, actors, Snapshot(harness.engine))


# -- operations --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One operation with abstract parameters, resolved against the live state when it is submitted."""

    kind: str
    actor: int  # 0-3 an enterprise, 4-5 a current holder of ``ref`` (when there is one), -1 the registrar
    ref: int = 0
    quantity: str = "1"
    other: int = 0  # receiver (relative to the actor), pallet, shipment or event choice
    extra: tuple[Any, ...] = ()


actors = st.integers(0, 5)
# Weighted towards what exists: the lots set up (0, 2) and the first pallet (6).
refs = st.sampled_from([0, 0, 2, 2, 6, 6, 1, 3, 4, 5, 7])
lot_refs = st.sampled_from([0, 0, 2, 2, 1, 3, 4, 5])
pallets = st.sampled_from([0, 0, 0, 1])
quantities = st.sampled_from(QUANTITIES)
pairs = st.lists(st.tuples(lot_refs, quantities), min_size=1, max_size=2, unique_by=lambda pair: pair[0])
operations = st.one_of(
    st.builds(Op, st.just("commission"), st.sampled_from([0, 0, 0, 1]), st.integers(0, len(LOTS) + 1),
              st.sampled_from(["10", "50", "100", "2.5"])),
    st.builds(Op, st.just("ship"), actors, refs, quantities, st.sampled_from([1, 1, 2, 2, 3, 3, 0]),
              st.tuples(st.integers(0, 2))),
    st.builds(Op, st.just("receive"), st.sampled_from([4, 4, 4, 1]), st.just(0), st.just("1"),
              st.integers(0, 30), st.tuples(st.sampled_from(["full", "full", "short", "zero", "over"]),
                                            st.sampled_from(["0.5", "0.9", "0.333"]))),
    st.builds(Op, st.just("sell"), st.sampled_from([2, 3, 4, 5]), refs, quantities),
    st.builds(Op, st.just("destroy"), actors, refs, quantities),
    st.builds(Op, st.just("transform"), actors, st.just(0), st.just("1"), st.just(0),
              st.tuples(pairs, st.lists(st.tuples(st.integers(0, len(OUTPUTS) - 1),
                                                  st.sampled_from(["0.5", "1", "2.5", "10", "500"]),
                                                  st.sampled_from(["KGM", "KGM", "EA"])),
                                        min_size=1, max_size=2))),
    st.builds(Op, st.just("aggregate"), actors, st.just(0), st.just("1"), pallets,
              st.tuples(pairs)),
    st.builds(Op, st.just("disaggregate"), actors, st.just(0), st.just("1"), pallets),
    st.builds(Op, st.just("recall"), st.sampled_from([0, 0, 1, REGISTRAR]), refs),
    st.builds(Op, st.just("inspect"), st.sampled_from([4, 4, 2, REGISTRAR]), refs, st.just("1"),
              st.integers(0, 1)),
    st.builds(Op, st.just("correct"), st.sampled_from([4, 4, 4, 1, REGISTRAR]), st.just(0), st.just("1"),
              st.integers(0, 30)),
)


def holders(state: State, ref: str) -> list[tuple[str, Decimal]]:
    return sorted((row["holder"], Decimal(row["quantity"])) for row in rows(state, HoldingRecord) if row["ref"] == ref)


def resolve_actor(cast: Cast, state: State, op: Op, ref: str) -> int:
    if op.actor < 4:
        return op.actor
    found = holders(state, ref)
    if not found:
        return 0
    holder = found[0 if op.actor == 4 else -1][0]
    return [actor.code for actor in cast.actors].index(holder)


def amount(text: str, state: State, ref: str, holder: str) -> str:
    """A quantity: a fixed one, or all or half of what ``holder`` holds of ``ref`` (one unit when nothing)."""
    if text not in {"ALL", "HALF"}:
        return text
    held = dict(holders(state, ref)).get(holder, Decimal(0))
    if held == 0:
        return "1"
    return format_quantity(held if text == "ALL" else (held / 2).quantize(Decimal("0.001")) or held)


def contents_of(state: State, container: str) -> list[dict[str, Any]]:
    return [row for row in rows(state, ContentRecord) if row["container"] == container]


def statement(cast: Cast, state: State, op: Op) -> tuple[int, str, dict[str, Any], list[str]]:
    """The signer, type, body and linked batches of ``op`` in ``state``."""
    codes = [actor.code for actor in cast.actors]
    if op.kind == "commission":
        ref = (LOTS + OUTPUTS)[op.ref]
        product, lot_number = ref.split("/")[1], ref.split("/")[-1]
        return op.actor, "trace.commission", {"gtin": product, "lot": lot_number, "quantity": op.quantity,
                                              "unit": "KGM", "produced_on": "2026-03-01"}, [ref]
    if op.kind in {"ship", "sell", "destroy"}:
        ref = REFS[op.ref]
        actor = resolve_actor(cast, state, op, ref)
        body: dict[str, Any] = {"batch": ref, "quantity": amount(op.quantity, state, ref, codes[actor])}
        if op.kind == "ship":
            body.update(to=codes[(actor + op.other) % 4], shipment_id=f"S{op.extra[0]}")
        if op.kind == "destroy":
            body["reason"] = "损耗"
        return actor, f"trace.{op.kind}", body, [ref]
    if op.kind == "receive":
        shipments = sorted(rows(state, ShipmentRecord), key=lambda row: (row["ship_index"]))
        if not shipments:
            return op.actor % 4, "trace.receive", {"shipment": {"from": codes[0], "id": "S0"}, "quantity": "1"}, []
        open_ones = [row for row in shipments if row["status"] == "in_transit"]
        pool = open_ones if open_ones and op.other % 6 else shipments  # now and then a closed one
        shipment = pool[op.other % len(pool)]
        actor = codes.index(shipment["receiver"]) if op.actor == 4 else op.actor
        mode, fraction = op.extra
        shipped = Decimal(shipment["quantity"])
        quantity = {"full": shipped, "zero": Decimal(0), "over": shipped + Decimal("0.5"),
                    "short": (shipped * Decimal(fraction)).quantize(Decimal("0.001"))}[mode]
        body = {"shipment": {"from": shipment["shipper"], "id": shipment["shipment_id"]},
                "quantity": format_quantity(quantity)}
        if quantity != shipped:
            body["discrepancy"] = "运输损耗"
        touches = [shipment["ref"]]
        if quantity == 0 and shipment["ref"].startswith("00/"):
            touches += [row["ref"] for row in contents_of(state, shipment["ref"])]
        return actor, "trace.receive", body, touches
    if op.kind == "transform":
        inputs, outputs = op.extra
        pool = LOTS + OUTPUTS
        actor = resolve_actor(cast, state, op, pool[inputs[0][0]])
        body = {"kind": "split" if len(inputs) == 1 and len(outputs) > 1 else
                "merge" if len(inputs) > 1 and len(outputs) == 1 else "process",
                "inputs": [{"batch": pool[index], "quantity": amount(text, state, pool[index], codes[actor])}
                           for index, text in inputs],
                "outputs": [{"gtin": OUTPUTS[index].split("/")[1], "lot": OUTPUTS[index].split("/")[-1],
                             "quantity": text, "unit": unit}
                            for index, text, unit in outputs]}
        return actor, "trace.transform", body, [pool[index] for index, _ in inputs] + [OUTPUTS[i] for i, *_ in outputs]
    if op.kind == "aggregate":
        (contents,) = op.extra
        pool = LOTS + OUTPUTS
        actor = resolve_actor(cast, state, op, pool[contents[0][0]])
        body = {"sscc": PALLETS[op.other],
                "contents": [{"batch": pool[index], "quantity": amount(text, state, pool[index], codes[actor])}
                             for index, text in contents]}
        return actor, "trace.aggregate", body, [f"00/{PALLETS[op.other]}"] + [pool[index] for index, _ in contents]
    if op.kind == "disaggregate":
        pallet = f"00/{PALLETS[op.other]}"
        actor = resolve_actor(cast, state, op, pallet)
        return actor, "trace.disaggregate", {"sscc": PALLETS[op.other]}, [
            pallet, *(row["ref"] for row in contents_of(state, pallet))]
    if op.kind == "recall":
        ref = REFS[op.ref]
        return op.actor, "trace.recall", {"batch": ref, "reason": "抽检不合格"}, [ref]
    if op.kind == "inspect":
        ref = REFS[op.ref]
        actor = op.actor if op.actor == REGISTRAR else resolve_actor(cast, state, op, ref)
        return actor, "trace.inspect", {"batch": ref, "result": ["conformant", "non_conformant"][op.other]}, [ref]
    assert op.kind == "correct"
    events = sorted(rows(state, EventRecord), key=lambda row: row["entry_index"])
    target = events[-1 - op.other % len(events)]
    actor = (codes.index(target["actor"]) if target["actor"] in codes else REGISTRAR) if op.actor == 4 else op.actor
    return actor, "trace.correct", {"entry": target["entry_index"], "reason": "录入错误"}, json.loads(target["refs"])


# -- invariants --------------------------------------------------------------------------------------------------

def assert_conserved(state: State) -> None:
    """For every batch: what is held, in transit and packed is exactly what is outstanding, never negative."""
    present: dict[str, Decimal] = defaultdict(Decimal)
    enterprises = {row["credit_code"] for row in rows(state, EnterpriseRecord)}
    batches = {row["ref"]: row for row in rows(state, BatchRecord)}
    held: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows(state, HoldingRecord):
        quantity = Decimal(row["quantity"])
        assert quantity > 0 and row["quantity"] == format_quantity(quantity), row
        assert row["holder"] in enterprises and row["ref"] in batches, row
        present[row["ref"]] += quantity
        held[row["ref"]] += quantity
    for row in rows(state, ShipmentRecord):
        if row["status"] == "in_transit":
            present[row["ref"]] += Decimal(row["quantity"])
        else:
            assert Decimal(row["received_quantity"]) <= Decimal(row["quantity"]), row
    for row in rows(state, ContentRecord):
        container = batches[row["container"]]
        assert (container["status"], container["outstanding"]) == ("active", "1"), (row, container)
        present[row["ref"]] += Decimal(row["quantity"])
    for ref, batch in batches.items():
        outstanding = Decimal(batch["outstanding"])
        assert outstanding >= 0, batch
        assert present[ref] == outstanding, (batch, present[ref])
        assert outstanding <= Decimal(batch["quantity"]), batch
        if batch["status"] in {"voided", "destroyed", "depleted", "emptied"}:
            assert outstanding == 0, batch
        if batch["kind"] == "logistic":
            assert held[ref] in {0, 1}, batch


def snapshot_size(world: World) -> tuple[int, State]:
    return world.ledger_size(), world.state()


def submit(cast: Cast, world: World, op: Op, size: int, state: State) -> tuple[int, State, str | None]:
    """Submit ``op``; returns the new ledger size and state, and the refusal code (``None`` when accepted)."""
    actor, type_, body, touches = statement(cast, state, op)
    envelope = world.sign(cast.signer(actor), type_, body, touches)
    try:
        results = world.harness.append([envelope], policy=TracePolicy())
    except BatchRefused as refused:
        error = refused.results[0].error
        assert error is not None
        assert error.code not in {"custody.links", "link.conflict", "sequence.conflict"}, (op, error)
        after_size, after = snapshot_size(world)
        assert after_size == size, (op, error)
        assert after == state, (op, error)
        return after_size, after, error.code
    assert results[0].error is None and results[0].index == size
    after_size, after = snapshot_size(world)
    assert after_size == size + 1
    return after_size, after, None


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_random_operations_conserve_quantities_and_replay(cast: Cast) -> None:
    @PROPERTY_SETTINGS
    @given(ops=st.lists(operations, min_size=8, max_size=25))
    @example(ops=[Op("aggregate", 0, other=0, extra=([(0, "10"), (2, "5")],)),  # a pallet shipped in part
                  Op("ship", 4, 6, "0.5", 1, (1,)), Op("receive", 4, other=0, extra=("full", "0.5"))])
    @example(ops=[Op("aggregate", 0, other=0, extra=([(0, "10")],)), Op("ship", 4, 6, "1", 1, (1,)),
                  Op("receive", 4, other=1, extra=("zero", "0.5")),  # a pallet lost in transit
                  Op("correct", 4, other=0), Op("receive", 4, other=1, extra=("full", "0.5")),
                  Op("disaggregate", 4, other=0), Op("correct", 4, other=0)])
    def run(ops: list[Op]) -> None:
        world = cast.fresh()
        size, state = snapshot_size(world)
        for op in ops:
            size, state, refused = submit(cast, world, op, size, state)
            event(f"{op.kind}: {refused or 'accepted'}")
            assert_conserved(state)
        world.assert_rebuild_matches()

    run()


# -- non-atomic batches ------------------------------------------------------------------------------------------

class BatchPlanner:
    """Signs a batch of statements for one non-atomic append, predicting each one's fate with the rules on a
    replayed book, so later statements chain on the accepted ones only (author sequence and batch links)."""

    def __init__(self, cast: Cast, world: World) -> None:
        self.cast, self.world = cast, world
        with world.harness.sessions() as session:
            self.book: Book = replay_ledger(session)
        self.registrar = world.harness.keys.registrar.author
        self.index = world.ledger_size()
        self.heads: dict[str, str | None] = {}
        self.writers: dict[str, Any] = {}
        self.envelopes: list[dict[str, Any]] = []
        self.expected: list[bool] = []

    def add(self, actor: int, type_: str, body: dict[str, Any], touches: list[str]) -> bool:
        signer = self.cast.signer(actor)
        writer = self.writers.get(signer.author) or self.world.harness.writer(signer)
        self.writers[signer.author] = writer
        missing = [ref for ref in touches if ref not in self.heads]
        self.heads.update(self.world.links(missing))
        position = writer.seq, writer.prev
        envelope = writer.sign(type_, body, self.world.time(), links={ref: self.heads[ref] for ref in touches})
        signed = parse_envelope(envelope).statement
        try:
            apply_event(self.book, signed, self.index, datetime.now(UTC), registrar=self.registrar)
        except LedgerError:
            writer.seq, writer.prev = position  # the next statement of this author continues from the same place
            self.envelopes.append(envelope)
            self.expected.append(False)
            return False
        self.index += 1
        self.heads.update(dict.fromkeys(touches, signed.hash_hex))
        self.envelopes.append(envelope)
        self.expected.append(True)
        return True


def book_state(book: Book) -> State:
    return dump_book(book)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_a_non_atomic_batch_appends_exactly_the_valid_statements(cast: Cast) -> None:
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(ops=st.lists(operations, min_size=2, max_size=14))
    def run(ops: list[Op]) -> None:
        world = cast.fresh()
        start = world.ledger_size()
        planner = BatchPlanner(cast, world)
        for op in ops:
            planner.add(*statement(cast, book_state(planner.book), op))
        results = world.harness.append(planner.envelopes, policy=TracePolicy(), atomic=False)
        assert [result.error is None for result in results] == planner.expected, [
            (result.error.code if result.error else None) for result in results]
        accepted = [result.index for result in results if result.error is None]
        assert accepted == list(range(start, start + len(accepted)))
        assert world.ledger_size() == start + len(accepted)
        assert world.state() == book_state(planner.book)
        assert_conserved(world.state())
        world.assert_rebuild_matches()

    run()


def test_a_mixed_non_atomic_batch(cast: Cast) -> None:
    world = cast.fresh()
    maker, trader, shop = cast.actors[:3]
    start = world.ledger_size()
    planner = BatchPlanner(cast, world)
    batch = LOTS[1]
    plan = [
        (True, 0, "trace.commission", {"gtin": FOOD, "lot": "B", "quantity": "100", "unit": "KGM",
                                       "produced_on": "2026-03-01"}, [batch]),
        (False, 0, "trace.ship", {"batch": batch, "quantity": "100.5", "to": trader.code, "shipment_id": "S1"},
         [batch]),
        (True, 0, "trace.ship", {"batch": batch, "quantity": "60", "to": trader.code, "shipment_id": "S1"}, [batch]),
        (False, 2, "trace.receive", {"shipment": {"from": maker.code, "id": "S1"}, "quantity": "60"}, [batch]),
        (False, 1, "trace.receive", {"shipment": {"from": maker.code, "id": "S1"}, "quantity": 60}, [batch]),
        (True, 1, "trace.receive", {"shipment": {"from": maker.code, "id": "S1"}, "quantity": "60"}, [batch]),
        (False, 1, "trace.sell", {"batch": batch, "quantity": "1"}, [batch]),
        (True, 1, "trace.ship", {"batch": batch, "quantity": "20", "to": shop.code, "shipment_id": "S2"}, [batch]),
        (True, 2, "trace.receive", {"shipment": {"from": trader.code, "id": "S2"}, "quantity": "20"}, [batch]),
        (False, 2, "trace.sell", {"batch": batch, "quantity": "20.001"}, [batch]),
        (True, 2, "trace.sell", {"batch": batch, "quantity": "19.5"}, [batch]),
        (False, 0, "trace.destroy", {"batch": batch, "quantity": "41", "reason": "x"}, [batch]),
    ]
    for valid, actor, type_, body, touches in plan:
        assert planner.add(actor, type_, body, touches) is valid, (type_, body)
    results = world.harness.append(planner.envelopes, policy=TracePolicy(), atomic=False)
    assert [result.error is None for result in results] == [valid for valid, *_ in plan]
    assert [result.error.code for result in results if result.error is not None] == [
        "custody.over_quantity", "custody.not_addressee", "body.quantity", "enterprise.role",
        "custody.over_quantity", "custody.over_quantity"]
    assert world.ledger_size() == start + sum(valid for valid, *_ in plan)
    state = world.state()
    assert {(row["holder"], row["quantity"]) for row in rows(state, HoldingRecord) if row["ref"] == batch} == {
        (maker.code, "40"), (trader.code, "40"), (shop.code, "0.5")}
    assert_conserved(state)
    world.assert_rebuild_matches()
