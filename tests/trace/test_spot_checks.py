"""Double-random spot checks and inspection orders as the ledger's rules see them: the draw is a function of a
checkpoint, the criteria and the book, a hand-picked draw is refused, orders follow the draw, one result per order,
and ``redraw`` recomputes everything (the root too) from the entries."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from ledger import write_export
from ledger.models import CheckpointRecord
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, Actor, World, credit_code, gtin, lot
from trace.__main__ import main
from trace.book import Book
from trace.inspections import ORDER, RESULT, get_order, open_orders, orders_for
from trace.models import Batch, Enterprise, InspectionOrder
from trace.spot_checks import (
    DRAW,
    SEED_DOMAIN,
    Criteria,
    SpotCheckError,
    check_published,
    draw_body,
    eligible_enterprises,
    get_draw,
    redraw,
    run_draw,
)
from trace.store import SessionSource

POOL = ["alice", "bob", "carol", "dave"]
#: The vector of docs/console-spot-checks.md.
VECTOR_CODES = ["91350102000000001H", "91350102000000002L", "91350102000000003P", "91350102000000004T",
                "91350102000000005X", "913501020000000061"]
VECTOR_CRITERIA = Criteria("food", "3501", None, 3, 2)
VECTOR_SEED = "34c3760f615e7463d61e8be7c788d4dd541ff168d9d5ab04391365ed2f0672d8"
VECTOR_TARGETS = ["91350102000000002L", "913501020000000061", "91350102000000004T"]
VECTOR_ASSIGNMENTS = [{"enterprise": "91350102000000002L", "inspectors": ["carol", "dave"]},
                      {"enterprise": "913501020000000061", "inspectors": ["alice", "carol"]},
                      {"enterprise": "91350102000000004T", "inspectors": ["dave", "alice"]}]


def test_the_documented_vector() -> None:
    root = bytes(range(32))
    criteria_json = b'{"category":"food","inspectors_per_target":2,"region":"3501","role":null,"targets":3}'
    seed = hashlib.sha256(SEED_DOMAIN + (7).to_bytes(8, "big") + root + criteria_json).digest()
    assert seed.hex() == VECTOR_SEED
    ranked = sorted(VECTOR_CODES, key=lambda code: hashlib.sha256(seed + code.encode()).digest())
    assert ranked[:3] == VECTOR_TARGETS
    draw = run_draw(7, root, VECTOR_CRITERIA, VECTOR_CODES, POOL)
    assert (draw.seed.hex(), draw.candidates, draw.targets, draw.assignments) == (
        VECTOR_SEED, 6, VECTOR_TARGETS, VECTOR_ASSIGNMENTS)


def test_same_inputs_give_the_same_draw_and_any_input_changes_it() -> None:
    root = bytes(range(32))
    first = run_draw(7, root, VECTOR_CRITERIA, VECTOR_CODES, POOL)
    again = run_draw(7, root, VECTOR_CRITERIA, list(reversed(VECTOR_CODES)), list(reversed(POOL)))
    assert again == first, "the order of the candidates and of the pool does not matter"
    others = [run_draw(8, root, VECTOR_CRITERIA, VECTOR_CODES, POOL),
              run_draw(7, bytes(31) + b"\x01", VECTOR_CRITERIA, VECTOR_CODES, POOL),
              run_draw(7, root, Criteria("food", "3501", None, 3, 1), VECTOR_CODES, POOL)]
    assert all(other.seed != first.seed for other in others)
    many = run_draw(7, root, Criteria(None, None, None, 100, 4), VECTOR_CODES, POOL)
    assert sorted(many.targets) == sorted(VECTOR_CODES), "fewer candidates than targets: all are drawn"
    assert all(sorted(item["inspectors"]) == sorted(POOL) for item in many.assignments)
    with pytest.raises(SpotCheckError) as small:
        run_draw(7, root, Criteria(None, None, None, 1, 3), VECTOR_CODES, ["alice", "bob"])
    assert small.value.code == "spot_check.pool_too_small"
    with pytest.raises(SpotCheckError) as empty:
        run_draw(7, root, VECTOR_CRITERIA, [], POOL)
    assert empty.value.code == "spot_check.no_candidates"


# -- a world with enterprises --------------------------------------------------------------------------------------


class Region:
    def __init__(self, harness: LedgerHarness) -> None:
        self.world = World(harness)
        world = self.world
        self.farm = world.enterprise(credit_code("350121", 1), ["producer"], "闽侯蔬菜合作社")
        self.market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡农批市场")
        self.shop = world.enterprise(credit_code("350103", 3), ["retailer"], "鼓楼生鲜店")
        self.pharmacy = world.enterprise(credit_code("350203", 4), ["retailer"], "厦门药店")
        self.factory = world.enterprise(credit_code("440305", 5), ["producer"], "深圳食品厂")
        self.closed = world.enterprise(credit_code("350104", 6), ["retailer"], "已注销小店")
        world.registrar_act("trace.enterprise.status", {"credit_code": self.closed.code, "status": "deregistered",
                                                        "reason": "注销登记"})
        self.greens = gtin("6901234", 1)
        world.product(self.farm, self.greens, "青菜", "farm")
        world.product(self.factory, gtin("6905555", 2), "饼干", "food")
        self.ref = lot(self.greens, "QG-1")
        world.act(self.farm.signer, "trace.commission",
                  {"gtin": self.greens, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
                   "expires_on": "2026-11-30", "activity": "harvest", "origin": {"place": "闽侯县"},
                   "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [self.ref])
        world.act(self.farm.signer, "trace.ship", {"batch": self.ref, "quantity": "300", "to": self.market.code,
                                                   "shipment_id": "F-1"}, [self.ref])
        world.act(self.market.signer, "trace.receive", {"shipment": {"from": self.farm.code, "id": "F-1"},
                                                        "quantity": "300"}, [self.ref])

    def candidates(self, criteria: Criteria) -> list[str]:
        with self.world.harness.sessions() as session:
            return eligible_enterprises(Book(SessionSource(session)), criteria)

    def checkpoint(self) -> tuple[int, bytes]:
        with self.world.harness.sessions() as session:
            row = session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc())).first()
            assert row is not None
            return row.tree_size, row.root_hash

    def draw_body(self, criteria: Criteria, pool: list[str] = POOL) -> dict[str, Any]:
        size, root = self.checkpoint()
        return draw_body(size, root, criteria, pool, run_draw(size, root, criteria, self.candidates(criteria), pool))

    def order(self, target: Actor, inspector: str = "alice", **extra: Any) -> dict[str, Any]:
        return {"enterprise": target.code, "reason": "投诉线索核查", "inspector": inspector, "source": "manual",
                "source_ref": "M-1", **extra}


def _criteria(**changes: Any) -> Criteria:
    values: dict[str, Any] = {"category": None, "region": None, "role": None, "targets": 10,
                              "inspectors_per_target": 1, **changes}
    return Criteria(**values)


def test_candidates_follow_the_criteria(harness: LedgerHarness) -> None:
    region = Region(harness)
    everyone = {region.farm.code, region.market.code, region.shop.code, region.pharmacy.code, region.factory.code}
    assert set(region.candidates(_criteria())) == everyone, "deregistered enterprises are never drawn"
    assert set(region.candidates(_criteria(region="35"))) == everyone - {region.factory.code}
    assert set(region.candidates(_criteria(region="3501"))) == {region.farm.code, region.market.code,
                                                                region.shop.code}
    assert region.candidates(_criteria(region="350121")) == [region.farm.code]
    assert set(region.candidates(_criteria(role="retailer"))) == {region.shop.code, region.pharmacy.code}
    assert set(region.candidates(_criteria(category="farm"))) == {region.farm.code, region.market.code}, \
        "the maker defines the product, the market holds a lot of it"
    assert region.candidates(_criteria(category="food")) == [region.factory.code]
    assert region.candidates(_criteria(category="drug")) == []


def test_the_registrar_records_a_draw_that_the_rules_re_run(harness: LedgerHarness) -> None:
    region = Region(harness)
    criteria = _criteria(region="35", targets=3, inspectors_per_target=2)
    body = region.draw_body(criteria)
    index = region.world.registrar_act(DRAW, body)
    with harness.sessions() as session:
        published = get_draw(session, index)
        assert published is not None
        check_published(session, published)
    assert published.targets == body["targets"] and published.assignments == body["assignments"]
    assert published.candidates == 4 and len(published.targets) == 3
    assert all(len(item["inspectors"]) == 2 for item in published.assignments)
    region.world.assert_rebuild_matches()


@pytest.mark.parametrize(("tamper", "code"), [
    ("swap_target", "spot_check.targets_differ"),
    ("drop_target", "spot_check.targets_differ"),
    ("swap_inspector", "spot_check.assignments_differ"),
    ("reorder_inspectors", "spot_check.assignments_differ"),
    ("future_checkpoint", "spot_check.checkpoint_size"),
    ("other_algorithm", "body.choice"),
    ("criteria_field", "body.unknown_field"),
    ("pool_twice", "body.duplicate"),
])
def test_a_tampered_draw_is_refused(harness: LedgerHarness, tamper: str, code: str) -> None:
    region = Region(harness)
    body = region.draw_body(_criteria(region="35", targets=2, inspectors_per_target=2))
    left_out = next(item for item in region.candidates(_criteria(region="35")) if item not in body["targets"])
    if tamper == "swap_target":
        body["targets"][0] = left_out
        body["assignments"][0]["enterprise"] = left_out
    elif tamper == "drop_target":
        body["targets"].pop()
        body["assignments"].pop()
    elif tamper == "swap_inspector":
        assigned = body["assignments"][0]["inspectors"]
        assigned[0] = next(name for name in POOL if name not in assigned)
    elif tamper == "reorder_inspectors":
        body["assignments"][0]["inspectors"].reverse()
    elif tamper == "future_checkpoint":
        body["checkpoint"]["size"] += 5
    elif tamper == "other_algorithm":
        body["algorithm"] = "trace-draw-v0"
    elif tamper == "criteria_field":
        body["criteria"]["seed"] = "chosen"
    elif tamper == "pool_twice":
        body["pool"].append(POOL[0])
    region.world.refuse(harness.keys.registrar, DRAW, body, [], code)


def test_draws_that_cannot_be_made_are_refused(harness: LedgerHarness) -> None:
    region = Region(harness)
    body = region.draw_body(_criteria(region="35", targets=2, inspectors_per_target=2))
    region.world.refuse(region.farm.signer, DRAW, body, [], "enterprise.not_registrar")
    nobody = {**body, "criteria": {**body["criteria"], "category": "drug"}, "targets": [], "assignments": []}
    region.world.refuse(harness.keys.registrar, DRAW, nobody, [], "spot_check.no_candidates")
    alone = {**body, "pool": ["alice"]}
    region.world.refuse(harness.keys.registrar, DRAW, alone, [], "spot_check.pool_too_small")


def test_a_draws_orders_are_its_pairs_once_each(harness: LedgerHarness) -> None:
    region = Region(harness)
    body = region.draw_body(_criteria(region="35", targets=2, inspectors_per_target=2))
    draw_index = region.world.registrar_act(DRAW, body)
    ref = f"draw {draw_index}"
    first = body["assignments"][0]
    target = next(actor for actor in (region.farm, region.market, region.shop, region.pharmacy)
                  if actor.code == first["enterprise"])
    order = {"enterprise": target.code, "reason": "双随机抽查", "inspector": first["inspectors"][0],
             "source": "spot_check", "source_ref": ref}
    index = region.world.registrar_act(ORDER, order)
    world = region.world
    world.refuse(harness.keys.registrar, ORDER, order, [], "inspection.order_exists")
    outsider = next(name for name in POOL if name not in first["inspectors"])
    world.refuse(harness.keys.registrar, ORDER, {**order, "inspector": outsider}, [], "inspection.not_drawn")
    world.refuse(harness.keys.registrar, ORDER, {**order, "source_ref": f"draw {index}"}, [],
                 "inspection.draw_unknown")
    world.refuse(harness.keys.registrar, ORDER, {**order, "source_ref": "the last draw"}, [],
                 "inspection.source_ref")
    world.refuse(harness.keys.registrar, ORDER, {**order, "source": "manual"}, [], "inspection.source_ref")
    with harness.sessions() as session:
        listed = orders_for(session, ref, "spot_check")
        assert [item.index for item in listed] == [index] and listed[0].draw_index == draw_index
    world.assert_rebuild_matches()


def test_an_order_names_a_batch_without_touching_it_and_gets_one_result(harness: LedgerHarness) -> None:
    region = Region(harness)
    world = region.world
    with harness.sessions() as session:
        before = session.get(Batch, region.ref)
        assert before is not None
        last = before.last_index
    index = world.registrar_act(ORDER, region.order(region.market, batch=region.ref))
    with harness.sessions() as session:
        batch = session.get(Batch, region.ref)
        assert batch is not None and batch.last_index == last, "an order is not an event of the batch"
        order = get_order(session, index)
        assert order is not None and order.batch == region.ref and order.result is None
        assert [item.index for item in open_orders(session, "alice")] == [index]
    registrar = harness.keys.registrar
    world.refuse(region.farm.signer, RESULT, {"order": index, "result": "conformant", "findings": "ok"}, [],
                 "enterprise.not_registrar")
    world.refuse(registrar, RESULT, {"order": index - 1, "result": "conformant", "findings": "ok"}, [],
                 "inspection.unknown_order")
    world.refuse(registrar, RESULT, {"order": index, "result": "fine", "findings": "ok"}, [], "body.choice")
    world.refuse(registrar, RESULT, {"order": index, "result": "conformant", "findings": ""}, [], "body.text")
    result = world.registrar_act(RESULT, {"order": index, "result": "non_conformant", "findings": "标签不符",
                                          "certificate_sha256": CERT})
    world.refuse(registrar, RESULT, {"order": index, "result": "conformant", "findings": "again"}, [],
                 "inspection.result_exists")
    with harness.sessions() as session:
        order = get_order(session, index)
        assert order is not None and (order.result, order.result_index) == ("non_conformant", result)
        assert order.findings == "标签不符" and order.certificate_sha256 == CERT
        assert open_orders(session, "alice") == []
        row = session.scalar(select(InspectionOrder).where(InspectionOrder.order_index == index))
        assert row is not None and row.source == "manual"
    world.refuse(registrar, "trace.correct", {"entry": result, "reason": "wrong result"}, [],
                 "correct.not_correctable")
    world.assert_rebuild_matches()


@pytest.mark.parametrize(("changes", "code"), [
    ({"enterprise": credit_code("350199", 9)}, "enterprise.unknown"),
    ({"batch": "01/06901234000019/10/NOPE"}, "batch.unknown"),
    ({"inspector": "Al"}, "body.text"),
    ({"source": "rumour"}, "body.choice"),
    ({"reason": "x" * 501}, "body.text"),
    ({"source_ref": "draw 1"}, "inspection.source_ref"),
    ({"extra": 1}, "body.unknown_field"),
])
def test_bad_orders_are_refused(harness: LedgerHarness, changes: dict[str, Any], code: str) -> None:
    region = Region(harness)
    region.world.refuse(harness.keys.registrar, ORDER, region.order(region.shop, **changes), [], code)


def test_only_the_registrar_orders(harness: LedgerHarness) -> None:
    region = Region(harness)
    region.world.refuse(region.market.signer, ORDER, region.order(region.shop), [], "enterprise.not_registrar")


def test_redraw_confirms_a_draw_from_the_entries(harness: LedgerHarness, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    region = Region(harness)
    body = region.draw_body(_criteria(region="35", targets=2, inspectors_per_target=2))
    index = region.world.registrar_act(DRAW, body)
    region.world.registrar_act(ORDER, region.order(region.shop))  # later entries change nothing
    with harness.sessions() as session:
        done = redraw(session, index, harness.operator_key)
    assert done.draw.targets == body["targets"] and done.note_verified
    assert done.root.hex() == body["checkpoint"]["root"]
    key_file = tmp_path / "operator.key"
    key_file.write_text(harness.operator_key.text() + "\n")
    _settings_env(monkeypatch, harness)
    assert main(["redraw", str(index), "--operator-key", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert f"CONFIRMED: draw entry {index}" in out and body["checkpoint"]["root"] in out
    assert "signature verified" in out
    assert main(["redraw", str(index - 1)]) == 1
    assert "spot_check.not_a_draw" in capsys.readouterr().err
    export = tmp_path / "ledger.export"
    with harness.sessions() as session, export.open("wb") as out:
        write_export(session, out, origin=harness.config.origin)
    assert main(["redraw", str(index), "--export", str(export)]) == 0
    assert f"CONFIRMED: draw entry {index}" in capsys.readouterr().out


def test_a_draw_from_a_forged_root_is_caught(harness: LedgerHarness, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The rules cannot see the tree, so a draw over a root of one's choosing is accepted; redraw and the
    public check catch it."""
    region = Region(harness)
    criteria = _criteria(region="35", targets=2, inspectors_per_target=2)
    size, _ = region.checkpoint()
    forged = hashlib.sha256(b"a root that suits me").digest()
    body = draw_body(size, forged, criteria, POOL, run_draw(size, forged, criteria, region.candidates(criteria), POOL))
    index = region.world.registrar_act(DRAW, body)
    with harness.sessions() as session:
        with pytest.raises(SpotCheckError) as caught:
            redraw(session, index)
        assert caught.value.code == "spot_check.checkpoint_root" and forged.hex() in caught.value.message
        published = get_draw(session, index)
        assert published is not None
        with pytest.raises(SpotCheckError) as public:
            check_published(session, published)
        assert public.value.code == "spot_check.checkpoint_root"
    _settings_env(monkeypatch, harness)
    assert main(["redraw", str(index)]) == 1
    assert "NOT CONFIRMED: spot_check.checkpoint_root" in capsys.readouterr().err


def test_redraw_finds_a_draw_the_entries_do_not_give(harness: LedgerHarness) -> None:
    """The operator edits a state table (the honest target looks deregistered), so the live rules accept a draw
    that leaves it out; redraw trusts only the entries and reports it."""
    region = Region(harness)
    criteria = _criteria(region="3501", targets=1, inspectors_per_target=1)
    honest = region.draw_body(criteria)["targets"][0]
    with harness.sessions() as session:
        row = session.get(Enterprise, honest)
        assert row is not None
        row.status = "deregistered"
        session.commit()
    forced = region.draw_body(criteria)
    assert forced["targets"] != [honest]
    index = region.world.registrar_act(DRAW, forced)
    with harness.sessions() as session, pytest.raises(SpotCheckError) as caught:
        redraw(session, index)
    assert caught.value.code == "spot_check.targets_differ" and honest in caught.value.message


def _settings_env(monkeypatch: pytest.MonkeyPatch, harness: LedgerHarness) -> None:
    settings = harness.settings
    monkeypatch.setenv("TRACE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TRACE_LEDGER_ORIGIN", settings.ledger_origin)
    monkeypatch.setenv("TRACE_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("TRACE_KEY_PASSPHRASE", "test-passphrase")
