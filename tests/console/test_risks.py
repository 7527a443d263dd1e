"""The risk warnings page: inspectors only, warnings grouped by rule with their evidence and links, filters that
explain bad values, and reviews signed with the inspector's own key."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ledger.models import Entry
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.trace.world import gtin, lot
from trace.officers import OfficerKey
from trace.risk_rules import compute_warnings
from trace.risks import COLD_CHAIN, LATE_RECORD, RiskWarning
from trace.scans import ScanPlace

_FLASH_ERROR = re.compile(r'<p class="banner banner-danger" role="alert">([^<]*)</p>')


def _excursion(chain: Chain) -> int:
    return chain.world.act(chain.market.signer, "trace.sensor", {
        "batch": chain.ref, "measurement": "temperature", "uom": "CEL", "minimum": "0", "maximum": "4",
        "readings": [{"time": chain.world.time().isoformat(), "value": "11.5"}]}, [chain.ref])


def _late_sale(chain: Chain) -> int:
    world = chain.world
    world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "20", "to": chain.shop.code,
                                                  "shipment_id": "M-1"}, [chain.ref])
    world.act(chain.shop.signer, "trace.receive", {"shipment": {"from": chain.market.code, "id": "M-1"},
                                                   "quantity": "20"}, [chain.ref])
    world.advance(hours=-100)
    index = world.act(chain.shop.signer, "trace.sell", {"batch": chain.ref, "quantity": "2"}, [chain.ref])
    world.advance(hours=100)
    return index


def _warning(harness: LedgerHarness, rule: str) -> RiskWarning:
    with harness.sessions() as session:
        (warning,) = compute_warnings(session, now=datetime.now(UTC), rules=[rule])
    return warning


def _statements(harness: LedgerHarness) -> list[dict[str, Any]]:
    with harness.sessions() as session:
        return [json.loads(entry.leaf)["statement"] for entry in session.scalars(select(Entry).order_by(Entry.index))]


def test_the_page_groups_warnings_with_evidence_and_links(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    sensor = _excursion(chain)
    sale = _late_sale(chain)
    console_login(client, harness, "li.na", "inspector")
    response = client.get("/console/risks/?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "2 warnings" in html
    assert "Cold-chain excursion" in html and "Events recorded late" in html
    assert "1 temperature or humidity readings outside the allowed range, in 1 sensor reports." in html
    assert "1 events recorded more than 72 hours after the time they claim (the longest: 100 hours)." in html
    assert f'href="/{chain.ref}"' in html
    assert f'href="/api/v1/ledger/entries/{sensor}/bundle"' in html
    assert f'href="/api/v1/ledger/entries/{sale}/bundle"' in html
    assert "鼓楼生鲜店" in html  # the late enterprise by name
    assert client.get(f"/api/v1/ledger/entries/{sensor}/bundle").status_code == 200  # the link serves the entry
    chinese = client.get("/console/risks/?lang=zh").get_data(as_text=True)
    assert "冷链" in chinese


def test_filters_narrow_the_warnings_and_bad_values_are_explained(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    _excursion(chain)
    _late_sale(chain)
    console_login(client, harness, "li.na", "inspector")
    only_cold = client.get(f"/console/risks/?lang=en&rule={COLD_CHAIN}").get_data(as_text=True)
    assert "1 warnings" in only_cold and 'id="rule-cold_chain-excursion"' in only_cold
    assert 'id="rule-record-late"' not in only_cold
    low = client.get("/console/risks/?lang=en&severity=low").get_data(as_text=True)
    assert "1 warnings" in low and 'id="rule-record-late"' in low and 'id="rule-cold_chain-excursion"' not in low
    shop = client.get(f"/console/risks/?lang=en&enterprise={chain.shop.code.lower()}").get_data(as_text=True)
    assert "1 warnings" in shop and 'id="rule-record-late"' in shop
    future = client.get("/console/risks/?lang=en&since=2999-01-01").get_data(as_text=True)
    assert "No warnings match." in future
    bad = client.get("/console/risks/?lang=en&rule=sale.twice&severity=urgent&enterprise=ACME&since=yesterday")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    for message in ("Unknown rule sale.twice.", "Severity must be high, medium or low.",
                    "ACME is not a unified social credit code", "The date must be written YYYY-MM-DD."):
        assert message in text
    assert "2 warnings" in text  # the bad filters were left out


def test_a_review_appends_a_statement_signed_by_the_inspector(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    _excursion(chain)
    warning = _warning(harness, COLD_CHAIN)
    token = console_login(client, harness, "li.na", "inspector")
    before = len(_statements(harness))
    response = post(client, "/console/risks/review", token, rule=COLD_CHAIN, subject=chain.ref,
                    decision="escalated", note="冷库温控失效，建议召回", evidence_sha256=warning.evidence_sha256,
                    f_severity="medium")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/console/risks/?severity=medium#w-")
    added = _statements(harness)[before:]
    assert [statement["type"] for statement in added] == ["ledger.key.add", "trace.risk.review"]
    review = added[-1]
    with harness.sessions() as session:
        key = session.get(OfficerKey, "li.na")
    assert key is not None and review["key"] == key.key_id and review["author"] == "registrar"
    assert review["body"] == {"rule": COLD_CHAIN, "subject": chain.ref, "decision": "escalated",
                              "note": "冷库温控失效，建议召回", "evidence_sha256": warning.evidence_sha256}
    assert review["links"] == {}
    html = client.get("/console/risks/?lang=en").get_data(as_text=True)
    assert "Escalated by li.na" in html and "冷库温控失效，建议召回" in html
    assert f'href="/console/recalls/new?batch={chain.ref}"' in html
    hidden = client.get("/console/risks/?lang=en&reviewed=hide").get_data(as_text=True)
    assert "No warnings match." in hidden
    _excursion(chain)  # new evidence: the warning shows again, marked as changed
    again = client.get("/console/risks/?lang=en&reviewed=hide").get_data(as_text=True)
    assert "The evidence has changed since this review." in again


def test_reviews_that_cannot_be_recorded_append_nothing(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    _excursion(chain)
    warning = _warning(harness, COLD_CHAIN)
    token = console_login(client, harness, "li.na", "inspector")
    before = len(_statements(harness))
    cases = [
        ({"rule": COLD_CHAIN, "subject": chain.ref, "decision": "dismissed", "note": " ",
          "evidence_sha256": warning.evidence_sha256}, "Say why in the note"),
        ({"rule": COLD_CHAIN, "subject": chain.ref, "decision": "ignored",
          "evidence_sha256": warning.evidence_sha256}, "Choose a decision"),
        ({"rule": COLD_CHAIN, "subject": chain.ref, "decision": "noted", "evidence_sha256": "0" * 64},
         "The evidence of this warning changed"),
        ({"rule": LATE_RECORD, "subject": chain.shop.code, "decision": "noted",
          "evidence_sha256": warning.evidence_sha256}, "This warning is no longer raised"),
        ({"rule": "sale.twice", "subject": chain.ref, "decision": "noted",
          "evidence_sha256": warning.evidence_sha256}, "Unknown rule sale.twice."),
        ({"rule": COLD_CHAIN, "subject": chain.ref, "decision": "noted", "note": "x" * 501,
          "evidence_sha256": warning.evidence_sha256}, "longer than 500 characters"),
    ]
    for fields, message in cases:
        response = post(client, "/console/risks/review?lang=en", token, **fields)
        assert response.status_code == 303, fields
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert message in " ".join(_FLASH_ERROR.findall(page)), (fields, _FLASH_ERROR.findall(page))
    assert len(_statements(harness)) == before
    assert client.post("/console/risks/review", data={"rule": COLD_CHAIN}).status_code == 400  # no CSRF token


def test_an_account_without_the_inspector_role_gets_403(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    _excursion(chain)
    warning = _warning(harness, COLD_CHAIN)
    assert client.get("/console/risks/").status_code == 303  # not logged in: to the login page
    token = console_login(client, harness, "wang.fang", "registrar", "administrator")
    assert client.get("/console/risks/?lang=en").status_code == 403
    before = len(_statements(harness))
    response = post(client, "/console/risks/review", token, rule=COLD_CHAIN, subject=chain.ref, decision="noted",
                    evidence_sha256=warning.evidence_sha256)
    assert response.status_code == 403
    assert len(_statements(harness)) == before


def test_unit_look_ups_record_coarse_places_that_raise_a_warning(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    world = chain.world
    gift = gtin("6901234", 9)
    world.product(chain.farm, gift, "礼盒", "food")
    world.act(chain.farm.signer, "trace.commission", {"gtin": gift, "lot": "G-1", "quantity": "2", "unit": "EA",
                                                      "produced_on": "2026-11-20", "units": ["S1", "S2"]},
              [lot(gift, "G-1")])
    for network in range(6):
        address = f"198.51.{network}.{10 + network}"
        assert client.get(f"/01/{gift}/21/S1", environ_base={"REMOTE_ADDR": address}).status_code == 200
    client.get(f"/01/{gift}/21/S1", environ_base={"REMOTE_ADDR": "198.51.0.99"})  # a network seen before
    client.get(f"/01/{gift}/10/G-1", environ_base={"REMOTE_ADDR": "203.0.113.1"})  # a lot: no place kept
    with harness.sessions() as session:
        places = session.scalars(select(ScanPlace)).all()
        assert session.scalar(select(func.count()).select_from(ScanPlace)) == 6
    assert {place.code for place in places} == {f"01/{gift}/21/S1"}
    assert all(re.fullmatch("[0-9a-f]{16}", place.place) for place in places)
    assert not any("198.51" in place.place for place in places)
    console_login(client, harness, "li.na", "inspector")
    html = client.get("/console/risks/?lang=en").get_data(as_text=True)
    assert "Looked up from 6 different networks (more than 5), 7 look-ups in all" in html
