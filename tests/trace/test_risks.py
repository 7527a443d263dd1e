"""Risk warnings (issue 6 item 8): every rule stays quiet on a clean chain and fires on a constructed case; the
look-up places are coarse and keyed; a review is the registrar's uncorrectable statement."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from ledger import BatchRefused
from tests.conftest import LedgerHarness
from tests.trace.world import CHINA, Actor, World, credit_code, gtin, lot
from trace.complaint_service import ComplaintDraft, file_complaint
from trace.ledger_service import append
from trace.models import Holding
from trace.policy import TracePolicy
from trace.risk_rules import compute_warnings, read_reviews
from trace.risks import (
    CODE_MANY_PLACES,
    COLD_CHAIN,
    COMPLAINTS_BATCH,
    COMPLAINTS_ENTERPRISE,
    HOLDINGS_MISMATCH,
    LATE_RECORD,
    PLACES_LIMIT,
    RISK_REVIEW,
    RULES,
    SALE_AFTER_EXPIRY,
    SALE_AFTER_RECALL,
    SHIPMENT_NOT_RECEIVED,
    SHORT_RECEIPT,
    TRANSFORM_GAIN,
    RiskWarning,
    Thresholds,
    evidence_digest,
)
from trace.scans import MAX_PLACES_PER_CODE, PLACE_DOMAIN, ScanPlace, place_of, record_place

KEY = b"test place key"


@dataclass
class Market:
    """A farm's greens repacked with boxes at a market and sold at a shop, and a serialised gift box."""

    world: World
    farm: Actor
    market: Actor
    shop: Actor
    greens: str
    boxes: str
    boxed: str
    gift: str
    gift_unit: str
    expires: str
    sold_at: datetime


def _market(harness: LedgerHarness) -> Market:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 31), ["producer"], "闽侯蔬菜合作社")
    market = world.enterprise(credit_code("350102", 32), ["wholesaler", "processor"], "福州海峡农批市场")
    shop = world.enterprise(credit_code("350103", 33), ["retailer"], "鼓楼生鲜店")
    greens_gtin, boxes_gtin, boxed_gtin, gift_gtin = (gtin("6901234", item) for item in (1, 2, 3, 4))
    world.product(farm, greens_gtin, "青菜", "food")
    world.product(market, boxes_gtin, "包装盒", "daily")
    world.product(market, boxed_gtin, "盒装青菜", "food")
    world.product(market, gift_gtin, "礼盒", "food")
    today = datetime.now(UTC).astimezone(CHINA).date()
    expires = (today + timedelta(days=2)).isoformat()
    greens, boxes, boxed, gift = (lot(greens_gtin, "QG-1"), lot(boxes_gtin, "BX-1"), lot(boxed_gtin, "B-1"),
                                  lot(gift_gtin, "G-1"))
    world.act(farm.signer, "trace.commission", {"gtin": greens_gtin, "lot": "QG-1", "quantity": "500", "unit": "KGM",
                                                "produced_on": today.isoformat(), "expires_on": expires}, [greens])
    world.act(farm.signer, "trace.sensor", {"batch": greens, "measurement": "temperature", "uom": "CEL",
                                            "minimum": "2", "maximum": "8",
                                            "readings": [{"time": world.time().isoformat(), "value": "4.5"}]},
              [greens])
    world.act(farm.signer, "trace.ship", {"batch": greens, "quantity": "300", "to": market.code,
                                          "shipment_id": "F-1"}, [greens])
    world.act(market.signer, "trace.receive", {"shipment": {"from": farm.code, "id": "F-1"}, "quantity": "300"},
              [greens])
    world.act(market.signer, "trace.commission", {"gtin": boxes_gtin, "lot": "BX-1", "quantity": "100", "unit": "EA",
                                                  "produced_on": today.isoformat()}, [boxes])
    world.act(market.signer, "trace.commission", {"gtin": gift_gtin, "lot": "G-1", "quantity": "3", "unit": "EA",
                                                  "produced_on": today.isoformat(), "units": ["S1", "S2", "S3"]},
              [gift])
    world.act(market.signer, "trace.transform",
              {"kind": "repack", "inputs": [{"batch": greens, "quantity": "200"}, {"batch": boxes, "quantity": "50"}],
               "outputs": [{"gtin": boxed_gtin, "lot": "B-1", "quantity": "190", "unit": "KGM",
                            "expires_on": expires}]}, [greens, boxes, boxed])
    world.act(market.signer, "trace.ship", {"batch": boxed, "quantity": "100", "to": shop.code,
                                            "shipment_id": "M-1"}, [boxed])
    world.act(shop.signer, "trace.receive", {"shipment": {"from": market.code, "id": "M-1"}, "quantity": "99",
                                             "discrepancy": "1 kg wilted"}, [boxed])
    sold_at = world.time()
    world.act(shop.signer, "trace.sell", {"batch": boxed, "quantity": "10"}, [boxed])
    gift_unit = f"01/{gift_gtin}/21/S1"
    with harness.sessions() as session:
        for network in range(PLACES_LIMIT):
            record_place(session, gift_unit, _place(f"10.0.{network}.7"), datetime.now(UTC))
        session.commit()
    chain = Market(world, farm, market, shop, greens, boxes, boxed, gift, gift_unit, expires, sold_at)
    for _ in range(2):
        _complain(chain, boxed)
    return chain


def _place(address: str) -> str:
    place = place_of(address, KEY)
    assert place is not None
    return place


def _complain(chain: Market, ref: str, *, at: datetime | None = None) -> int:
    harness = chain.world.harness
    draft = ComplaintDraft(ref=ref, category="quality", description="叶子发黄", contact=None, photos=[])
    filed = file_complaint(harness.sessions, harness.keys.registrar, draft, config=harness.config,
                           clock=lambda: at or datetime.now(UTC))
    return filed.anchor_index


def _warnings(harness: LedgerHarness, *, days: float = 0.0, **limits: Any) -> list[RiskWarning]:
    with harness.sessions() as session:
        return compute_warnings(session, now=datetime.now(UTC) + timedelta(days=days),
                                thresholds=Thresholds(**limits))


def _found(harness: LedgerHarness, **kwargs: Any) -> set[tuple[str, str]]:
    return {(warning.rule, warning.subject) for warning in _warnings(harness, **kwargs)}


def _append_at(world: World, signer: object, type_: str, body: dict[str, object], touches: list[str], *,
               claimed: datetime, received: datetime) -> int:
    """Append one statement claiming time ``claimed`` as if the ledger's clock read ``received``."""
    world.now = claimed
    envelope = world.sign(signer, type_, body, touches)  # type: ignore[arg-type]
    harness = world.harness
    with harness.sessions() as session, harness.sessions() as reader:
        results = append(session, reader, [envelope], config=harness.config, clock=lambda: received,
                         policy=TracePolicy())
        session.commit()
    assert results[0].error is None and results[0].index is not None, results[0].error
    return results[0].index


def test_a_clean_chain_raises_no_warning(harness: LedgerHarness) -> None:
    chain = _market(harness)
    assert _warnings(harness) == []
    assert _warnings(harness, days=6) == []  # nothing is in transit
    chain.world.assert_rebuild_matches()


def test_rule_lists_are_checked(harness: LedgerHarness) -> None:
    with harness.sessions() as session:
        with pytest.raises(ValueError, match="non-empty subset"):
            compute_warnings(session, now=datetime.now(UTC), rules=[])
        with pytest.raises(ValueError, match="unknown: sale.twice"):
            compute_warnings(session, now=datetime.now(UTC), rules=["sale.twice"])
        with pytest.raises(ValueError, match="timezone-aware"):
            compute_warnings(session, now=datetime.now())
    with pytest.raises(ValueError, match="places must be at least 1"):
        Thresholds(places=0)


def test_three_complaints_on_one_batch_within_the_window(harness: LedgerHarness) -> None:
    chain = _market(harness)
    anchor = _complain(chain, chain.boxed)
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.batch) == (COMPLAINTS_BATCH, chain.boxed, chain.boxed)
    assert warning.severity == "medium" and warning.facts["count"] == 3
    assert anchor in warning.entries and len(warning.entries) == 3
    assert chain.market.code in warning.enterprises
    assert _found(harness, days=31) == set()  # the complaints left the 30-day window
    assert _found(harness, complaints=4) == set()


def test_complaints_on_two_batches_of_one_enterprise(harness: LedgerHarness) -> None:
    chain = _market(harness)
    _complain(chain, chain.gift)
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.batch) == (COMPLAINTS_ENTERPRISE, chain.market.code, None)
    assert warning.facts == {"count": 3, "days": 30, "batches": 2}
    assert {item["batch"] for item in warning.evidence["items"]} == {chain.boxed, chain.gift}


def test_a_cold_chain_excursion(harness: LedgerHarness) -> None:
    chain = _market(harness)
    index = chain.world.act(chain.farm.signer, "trace.sensor", {
        "batch": chain.greens, "measurement": "temperature", "uom": "CEL", "minimum": "2", "maximum": "8",
        "readings": [{"time": chain.world.time().isoformat(), "value": value} for value in ("9.5", "12", "7")]},
        [chain.greens])
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject) == (COLD_CHAIN, chain.greens)
    assert warning.entries == [index] and warning.facts == {"readings": 2, "reports": 1}
    (item,) = warning.evidence["items"]
    assert item["extreme"] == "12 CEL" and item["allowed"] == "2 – 8 CEL" and item["reporter"] == chain.farm.code


def test_a_sale_claimed_after_the_expiry_date(harness: LedgerHarness) -> None:
    chain = _market(harness)
    expiry = datetime.fromisoformat(chain.expires).date()
    late_evening = datetime.combine(expiry, time(23, 58), CHINA)
    index = _append_at(chain.world, chain.shop.signer, "trace.sell", {"batch": chain.boxed, "quantity": "1"},
                       [chain.boxed], claimed=late_evening + timedelta(minutes=5), received=late_evening)
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.severity) == (SALE_AFTER_EXPIRY, chain.boxed, "high")
    assert warning.entries == [index] and warning.facts == {"sales": 1, "expires": chain.expires}
    assert warning.evidence["items"][0]["seller"] == chain.shop.code


def test_a_sale_after_a_recall_dated_back_through_an_input(harness: LedgerHarness) -> None:
    chain = _market(harness)
    recall = _append_at(chain.world, harness.keys.registrar, "trace.recall",
                        {"batch": chain.greens, "reason": "农药残留超标"}, [chain.greens],
                        claimed=chain.sold_at - timedelta(hours=1), received=datetime.now(UTC))
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject) == (SALE_AFTER_RECALL, chain.boxed)
    assert warning.facts == {"sales": 1, "source": chain.greens, "recall": recall}
    (item,) = warning.evidence["items"]
    assert item["recalled_batch"] == chain.greens and item["recall_entry"] == recall
    assert recall in warning.entries


def test_a_recall_after_the_sale_is_no_warning(harness: LedgerHarness) -> None:
    chain = _market(harness)
    chain.world.registrar_act("trace.recall", {"batch": chain.greens, "reason": "农药残留超标"}, [chain.greens])
    assert _warnings(harness) == []


def test_a_shipment_never_received(harness: LedgerHarness) -> None:
    chain = _market(harness)
    index = chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.boxed, "quantity": "20",
                                                               "to": chain.shop.code, "shipment_id": "M-3"},
                            [chain.boxed])
    assert _found(harness, days=6.9) == set()
    (warning,) = _warnings(harness, days=8)
    assert (warning.rule, warning.subject, warning.severity) == (SHIPMENT_NOT_RECEIVED, chain.boxed, "low")
    assert warning.entries == [index] and warning.facts["oldest"] == 8
    assert set(warning.enterprises) == {chain.market.code, chain.shop.code}
    later = _warnings(harness, days=9)[0]
    assert later.evidence_sha256 == warning.evidence_sha256  # the evidence does not age


def test_a_receipt_short_beyond_the_tolerance(harness: LedgerHarness) -> None:
    chain = _market(harness)
    chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.boxed, "quantity": "50",
                                                       "to": chain.shop.code, "shipment_id": "M-2"}, [chain.boxed])
    index = chain.world.act(chain.shop.signer, "trace.receive", {
        "shipment": {"from": chain.market.code, "id": "M-2"}, "quantity": "45.5", "discrepancy": "箱子破损"},
        [chain.boxed])
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject) == (SHORT_RECEIPT, chain.boxed)
    assert warning.facts == {"shipments": 1, "shipped": "50", "received": "45.5", "unit": "KGM"}
    assert index in warning.entries and warning.evidence["items"][0]["discrepancy"] == "箱子破损"


def test_a_transformation_whose_outputs_exceed_its_inputs_in_one_unit(harness: LedgerHarness) -> None:
    chain = _market(harness)
    more = lot(chain.boxed.split("/")[1], "B-2")
    index = chain.world.act(chain.market.signer, "trace.transform", {
        "kind": "repack", "inputs": [{"batch": chain.greens, "quantity": "100"}, {"batch": chain.boxes,
                                                                                  "quantity": "10"}],
        "outputs": [{"gtin": chain.boxed.split("/")[1], "lot": "B-2", "quantity": "150", "unit": "KGM"}]},
        [chain.greens, chain.boxes, more])
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject) == (TRANSFORM_GAIN, more)
    assert warning.entries == [index]
    assert warning.facts == {"input": "100", "output": "150", "unit": "KGM"}
    assert _found(harness, days=0) == {(TRANSFORM_GAIN, more)}


def test_holdings_that_disagree_with_the_outstanding_quantity(harness: LedgerHarness) -> None:
    chain = _market(harness)
    with harness.sessions() as session:  # the state edited outside the ledger
        session.execute(update(Holding).where(Holding.ref == chain.boxed, Holding.holder == chain.shop.code)
                        .values(quantity="95"))
        session.commit()
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.severity) == (HOLDINGS_MISMATCH, chain.boxed, "high")
    figures = warning.evidence["figures"]
    assert (figures["outstanding"], figures["held"], figures["accounted"]) == ("179", "185", "185")


def test_a_unit_looked_up_from_too_many_places(harness: LedgerHarness) -> None:
    chain = _market(harness)
    with harness.sessions() as session:
        record_place(session, chain.gift_unit, _place("10.0.0.99"), datetime.now(UTC))  # a known network
        session.commit()
    assert _warnings(harness) == []
    with harness.sessions() as session:
        record_place(session, chain.gift_unit, _place("192.0.2.1"), datetime.now(UTC))
        session.commit()
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.batch) == (CODE_MANY_PLACES, chain.gift_unit, chain.gift)
    assert warning.facts["places"] == 6 and warning.evidence["figures"] == {"places": 6}
    assert _found(harness, places=6) == set()


def test_an_event_recorded_long_after_it_claims_to_have_happened(harness: LedgerHarness) -> None:
    chain = _market(harness)
    chain.world.advance(hours=-73)
    index = chain.world.act(chain.shop.signer, "trace.sell", {"batch": chain.boxed, "quantity": "1"},
                            [chain.boxed])
    chain.world.advance(hours=73)
    (warning,) = _warnings(harness)
    assert (warning.rule, warning.subject, warning.batch) == (LATE_RECORD, chain.shop.code, None)
    assert warning.entries == [index] and warning.facts == {"count": 1, "hours": 72, "longest": 73}
    assert warning.evidence["items"][0]["batch"] == chain.boxed
    assert _found(harness, late_hours=80) == set()


def test_corrected_events_raise_no_warning(harness: LedgerHarness) -> None:
    chain = _market(harness)
    index = chain.world.act(chain.farm.signer, "trace.sensor", {
        "batch": chain.greens, "measurement": "temperature", "uom": "CEL", "maximum": "8",
        "readings": [{"time": chain.world.time().isoformat(), "value": "30"}]}, [chain.greens])
    assert _found(harness) == {(COLD_CHAIN, chain.greens)}
    chain.world.act(chain.farm.signer, "trace.correct", {"entry": index, "reason": "探头接错"}, [chain.greens])
    assert _warnings(harness) == []


def test_places_are_keyed_hashes_of_networks() -> None:
    assert _place("203.0.113.5") == _place("203.0.113.200")  # one /24
    assert _place("203.0.113.5") != _place("203.0.114.5")
    assert _place("2001:db8:1:2::1") == _place("2001:db8:1:ffff::9")  # one /48
    assert _place("2001:db8:2::1") != _place("2001:db8:1::1")
    assert _place("::ffff:203.0.113.9") == _place("203.0.113.5")
    expected = hmac.new(KEY, PLACE_DOMAIN + b"203.0.113.0/24", hashlib.sha256).hexdigest()[:16]
    assert _place("203.0.113.5") == expected
    assert place_of("203.0.113.5", b"another key") != expected
    assert place_of("not an address", KEY) is None and place_of(None, KEY) is None and place_of("", KEY) is None


def test_places_per_code_are_capped(harness: LedgerHarness) -> None:
    now = datetime.now(UTC)
    with harness.sessions() as session:
        for network in range(MAX_PLACES_PER_CODE + 3):
            record_place(session, "01/06901234000045/21/S9", _place(f"10.1.{network}.1"), now)
        record_place(session, "01/06901234000045/21/S9", _place("10.1.0.1"), now)  # a known place still counts
        session.commit()
        rows = session.scalars(select(ScanPlace).where(ScanPlace.code == "01/06901234000045/21/S9")).all()
    assert len(rows) == MAX_PLACES_PER_CODE
    assert {row.place: row.count for row in rows}[_place("10.1.0.1")] == 2


def test_a_review_is_the_registrars_uncorrectable_statement(harness: LedgerHarness) -> None:
    chain = _market(harness)
    digest = evidence_digest(HOLDINGS_MISMATCH, chain.boxed, {"entries": [1]})
    body = {"rule": HOLDINGS_MISMATCH, "subject": chain.boxed, "decision": "escalated", "note": "现场核查库存",
            "evidence_sha256": digest}
    index = chain.world.registrar_act(RISK_REVIEW, body)
    with harness.sessions() as session:
        review = read_reviews(session)[(HOLDINGS_MISMATCH, chain.boxed)]
    assert (review.decision, review.note, review.evidence_sha256, review.entry_index) == \
        ("escalated", "现场核查库存", digest, index)
    assert review.officer is None  # the bureau's own key, not an officer's
    world = chain.world
    world.refuse(chain.shop.signer, RISK_REVIEW, body, [], "enterprise.not_registrar")
    world.refuse(harness.keys.registrar, RISK_REVIEW, {**body, "decision": "dismissed", "note": None}, [],
                 "risk.note_required")
    world.refuse(harness.keys.registrar, RISK_REVIEW, {**body, "rule": "sale.twice"}, [], "body.choice")
    world.refuse(harness.keys.registrar, RISK_REVIEW, {**body, "evidence_sha256": "ab"}, [], "body.hash")
    world.refuse(harness.keys.registrar, RISK_REVIEW, {**body, "extra": 1}, [], "body.unknown_field")
    world.refuse(harness.keys.registrar, "trace.correct", {"entry": index, "reason": "mistake"}, [],
                 "correct.not_correctable")
    noted = {key: value for key, value in body.items() if key != "note"} | {"decision": "noted"}
    later = world.registrar_act(RISK_REVIEW, noted)
    with harness.sessions() as session:
        assert read_reviews(session)[(HOLDINGS_MISMATCH, chain.boxed)].entry_index == later
    world.assert_rebuild_matches()


def test_the_evidence_digest_is_domain_separated_canonical_json() -> None:
    evidence = {"entries": [3, 1], "figures": {"b": "1", "a": 2}}
    expected = hashlib.sha256(b"trace-ledger/v1/risk-evidence\x00" + json.dumps(
        {"rule": COLD_CHAIN, "subject": "01/x", "evidence": evidence}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False).encode()).hexdigest()
    assert evidence_digest(COLD_CHAIN, "01/x", evidence) == expected
    assert evidence_digest(COLD_CHAIN, "01/y", evidence) != expected
    assert set(RULES) >= {COLD_CHAIN, LATE_RECORD}


def test_refused_reviews_append_nothing(harness: LedgerHarness) -> None:
    with pytest.raises(BatchRefused):
        harness.append([World(harness).sign(harness.keys.registrar, RISK_REVIEW, {"rule": COLD_CHAIN})],
                       policy=TracePolicy())
