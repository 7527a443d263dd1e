"""Credit lists end to end: the registrar puts an enterprise on the blacklist or the abnormal-operation list in the
console with a reason and a legal basis; the decision is a signed statement, shows at once on the public pages,
and a blacklisted enterprise's next statement is refused until it is taken off the list. Inspectors read but may
not decide; every bad form is explained and appends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from ledger.models import Entry
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.trace.world import World, credit_code
from trace.credit import LEGAL_BASES
from trace.models import Enterprise

BLACKLIST_BASIS = "《市场监督管理严重违法失信名单管理办法》第七条"
ABNORMAL_BASIS = "《企业信息公示暂行条例》第十七条"


def _statements(harness: LedgerHarness) -> list[dict[str, Any]]:
    with harness.sessions() as session:
        return [json.loads(entry.leaf)["statement"] for entry in session.scalars(select(Entry).order_by(Entry.index))]


def _decisions(harness: LedgerHarness) -> int:
    """How many status statements the ledger holds (an officer's first action also registers their key)."""
    return sum(statement["type"] == "trace.enterprise.status" for statement in _statements(harness))


def _enterprise(harness: LedgerHarness, code: str) -> Enterprise:
    with harness.sessions() as session:
        row = session.get(Enterprise, code)
        assert row is not None
        session.expunge(row)
        return row


def _ship(chain: Chain, shipment_id: str) -> dict[str, Any]:
    return chain.world.sign(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "10",
                                                                "to": chain.shop.code, "shipment_id": shipment_id},
                            [chain.ref])


def test_blacklisting_in_the_console_is_public_at_once_and_enforced(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    token = console_login(client, harness, "wang.fang", "registrar")
    page = f"/console/enterprises/{chain.market.code}"
    decided = post(client, f"{page}/status?lang=en", token, status="blacklisted", reason="伪造检验报告，情节严重",
                   basis=BLACKLIST_BASIS, detail="第一款第（三）项")
    assert decided.status_code == 303 and decided.headers["Location"] == page
    last = _statements(harness)[-1]
    assert last["type"] == "trace.enterprise.status" and last["author"] == "registrar"
    assert last["body"] == {"credit_code": chain.market.code, "status": "blacklisted",
                            "reason": "伪造检验报告，情节严重", "legal_basis": f"{BLACKLIST_BASIS}；第一款第（三）项"}
    shown = client.get(f"{page}?lang=en").get_data(as_text=True)
    assert "recorded in ledger entry" in shown and 'data-status="blacklisted"' in shown
    assert "recorded in ledger entry" not in client.get(f"{page}?lang=en").get_data(as_text=True)  # shown once
    assert f"{BLACKLIST_BASIS}；第一款第（三）项" in shown
    stored = _enterprise(harness, chain.market.code)
    assert (stored.status, stored.legal_basis) == ("blacklisted", f"{BLACKLIST_BASIS}；第一款第（三）项")

    public = client.get(f"/01/{chain.gtin}/10/QG-1?lang=zh").get_data(as_text=True)
    assert "严重违法失信名单" in public and "伪造检验报告，情节严重" in public
    lists = client.get("/credit-lists").get_data(as_text=True)
    assert chain.market.code in lists and "伪造检验报告，情节严重" in lists and BLACKLIST_BASIS in lists
    assert f"/api/v1/ledger/entries/{stored.status_index}/bundle" in lists
    assert 'href="/credit-lists"' in client.get("/").get_data(as_text=True)

    refused = client.post("/api/v1/events", json=_ship(chain, "B-1"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "enterprise.blacklisted"

    lifted = post(client, f"{page}/status", token, status="active", reason="已整改并经复核，移出严重违法失信名单")
    assert lifted.status_code == 303
    assert _statements(harness)[-1]["body"] == {"credit_code": chain.market.code, "status": "active",
                                                "reason": "已整改并经复核，移出严重违法失信名单"}
    accepted = client.post("/api/v1/events", json=_ship(chain, "B-2"))
    assert accepted.status_code == 201, accepted.get_json()
    assert chain.market.code not in client.get("/credit-lists").get_data(as_text=True)
    assert _enterprise(harness, chain.market.code).legal_basis is None
    chain.world.assert_rebuild_matches()


def test_the_status_history_lists_every_decision_newest_first(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    old = chain.world.registrar_act("trace.enterprise.status", {"credit_code": chain.farm.code, "status": "abnormal",
                                                                "reason": "未按期公示年度报告"})  # no legal basis
    token = console_login(client, harness, "wang.fang", "registrar")
    page = f"/console/enterprises/{chain.farm.code}"
    assert post(client, f"{page}/status", token, status="active", reason="已补报年度报告").status_code == 303
    assert post(client, f"{page}/status", token, status="abnormal", reason="通过登记的住所无法联系",
                basis="", detail="《企业经营异常名录管理暂行办法》第四条第（四）项").status_code == 303
    html = client.get(f"{page}?lang=en").get_data(as_text=True)
    history = html[html.index('id="history"'):]
    rows = [part.split('"', 1)[0] for part in history.split('data-entry="')[1:]]
    assert len(rows) == 4 and rows[2] == str(old) and rows == sorted(rows, key=int, reverse=True)
    reasons = ("通过登记的住所无法联系", "已补报年度报告", "未按期公示年度报告")
    assert [history.index(reason) for reason in reasons] == sorted(history.index(reason) for reason in reasons)
    assert "《企业经营异常名录管理暂行办法》第四条第（四）项" in history
    lists = client.get("/credit-lists?lang=en").get_data(as_text=True)
    assert "通过登记的住所无法联系" in lists and "Abnormal-operation list" in lists


def test_an_inspector_reads_the_page_but_may_not_decide(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    token = console_login(client, harness, "li.na", "inspector")
    page = client.get(f"/console/enterprises/{chain.market.code}?lang=en")
    assert page.status_code == 200 and "Status history" in page.get_data(as_text=True)
    assert "Record the decision" not in page.get_data(as_text=True)
    assert "Only the registrar" in page.get_data(as_text=True)
    before = _decisions(harness)
    refused = post(client, f"/console/enterprises/{chain.market.code}/status?lang=en", token, status="blacklisted",
                   reason="伪造检验报告", basis=BLACKLIST_BASIS)
    assert refused.status_code == 403 and "Registrar" in refused.get_data(as_text=True)
    assert _decisions(harness) == before
    assert _enterprise(harness, chain.market.code).status == "active"


@pytest.mark.parametrize(("fields", "words"), [
    ({"status": "abnormal", "reason": "未按期公示年度报告"}, "A legal basis is required"),
    ({"status": "blacklisted", "reason": "伪造检验报告", "basis": "", "detail": "  "}, "A legal basis is required"),
    ({"status": "blacklisted", "reason": "  ", "basis": BLACKLIST_BASIS}, "Give the reason"),
    ({"status": "blacklisted", "reason": "x", "basis": "《我编的办法》第一条"}, "Choose a legal basis from the list"),
    ({"status": "active", "reason": "x"}, "already has this standing"),
    ({"status": "deregistered", "reason": "x"}, "Choose the new standing"),
    ({"status": "abnormal", "reason": "x" * 501, "basis": ABNORMAL_BASIS}, "at most 500 characters"),
    ({"status": "abnormal", "reason": "x", "basis": ABNORMAL_BASIS, "detail": "款" * 290},
     "at most 300 characters"),
])
def test_a_bad_form_is_explained_and_appends_nothing(harness: LedgerHarness, client: Any, fields: dict[str, str],
                                                      words: str) -> None:
    chain = small_chain(harness)
    token = console_login(client, harness, "wang.fang", "registrar")
    before = _decisions(harness)
    response = post(client, f"/console/enterprises/{chain.market.code}/status?lang=en", token, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="status-error"' in html and words in html
    assert _decisions(harness) == before


def test_a_refusal_by_the_rules_is_shown(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    chain.world.registrar_act("trace.enterprise.status", {"credit_code": chain.shop.code, "status": "deregistered",
                                                          "reason": "注销登记"})
    token = console_login(client, harness, "wang.fang", "registrar")
    page = client.get(f"/console/enterprises/{chain.shop.code}?lang=en").get_data(as_text=True)
    assert "Record the decision" not in page  # a deregistered enterprise's status is final
    before = _decisions(harness)
    response = post(client, f"/console/enterprises/{chain.shop.code}/status?lang=en", token, status="abnormal",
                    reason="x", basis=ABNORMAL_BASIS)
    assert response.status_code == 409 and "deregistered; its status is final" in response.get_data(as_text=True)
    assert _decisions(harness) == before


def test_an_unknown_enterprise_is_not_found(harness: LedgerHarness, client: Any) -> None:
    token = console_login(client, harness, "wang.fang", "registrar")
    unknown = credit_code("350102", 999)
    page = client.get(f"/console/enterprises/{unknown}?lang=en")
    assert page.status_code == 404 and f"No enterprise with credit code {unknown}" in page.get_data(as_text=True)
    before = _decisions(harness)
    response = post(client, f"/console/enterprises/{unknown}/status", token, status="blacklisted", reason="x",
                    basis=BLACKLIST_BASIS)
    assert response.status_code == 404 and _decisions(harness) == before


def test_the_enterprise_list_filters_by_standing_region_role_and_name(harness: LedgerHarness, client: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(harness)
    fuzhou = world.enterprise(credit_code("350102", 11), ["wholesaler"], "福州海峡批发", name_en="Strait Wholesale")
    xiamen = world.enterprise(credit_code("350203", 12), ["retailer"], "厦门鹭岛超市")
    farm = world.enterprise(credit_code("350121", 13, "93"), ["producer", "processor"], "闽侯蔬菜合作社")
    world.registrar_act("trace.enterprise.status", {"credit_code": xiamen.code, "status": "blacklisted",
                                                    "reason": "销售假冒产品", "legal_basis": BLACKLIST_BASIS})
    console_login(client, harness, "li.na", "inspector")

    def codes(query: str) -> list[str]:
        response = client.get(f"/console/enterprises/?{query}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return [part.split('"', 1)[0] for part in html.split('<tr data-credit-code="')[1:]]

    assert codes("") == sorted([fuzhou.code, xiamen.code, farm.code])
    assert codes("status=blacklisted") == [xiamen.code]
    assert codes("region=3501") == sorted([fuzhou.code, farm.code])
    assert codes("region=350203") == [xiamen.code]
    assert codes("role=processor") == [farm.code]
    assert codes("role=producer") == [farm.code]
    assert codes("q=鹭岛") == [xiamen.code]
    assert codes("q=strait") == [fuzhou.code]
    assert codes(f"q={farm.code[:10]}") == [farm.code]
    assert codes("status=abnormal") == []
    bad = client.get("/console/enterprises/?region=35A&lang=en")
    assert bad.status_code == 422 and "region must be 2, 4 or 6 digits" in bad.get_data(as_text=True)
    assert client.get("/console/enterprises/?role=farmer").status_code == 422
    monkeypatch.setattr("scanner_web.console.credit.PAGE_SIZE", 2)
    first = client.get("/console/enterprises/").get_data(as_text=True)
    assert 'id="next-page"' in first
    after = sorted([fuzhou.code, xiamen.code, farm.code])[1]
    assert codes(f"after={after}") == [sorted([fuzhou.code, xiamen.code, farm.code])[2]]


def test_the_legal_basis_is_optional_in_the_ledger_and_checked_when_given(harness: LedgerHarness) -> None:
    world = World(harness)
    shop = world.enterprise(credit_code("350103", 21), ["retailer"], "鼓楼生鲜")
    registrar = harness.keys.registrar
    world.refuse(registrar, "trace.enterprise.status", {"credit_code": shop.code, "status": "abnormal",
                                                        "reason": "x", "legal_basis": ""}, [], "body.text")
    world.refuse(registrar, "trace.enterprise.status", {"credit_code": shop.code, "status": "abnormal",
                                                        "reason": "x", "legal_basis": "条" * 301}, [], "body.text")
    world.refuse(registrar, "trace.enterprise.status", {"credit_code": shop.code, "status": "abnormal",
                                                        "reason": "x", "legal_basis": "第\n十七条"}, [], "body.text")
    world.refuse(registrar, "trace.enterprise.status", {"credit_code": shop.code, "status": "abnormal",
                                                        "reason": "x", "basis": ABNORMAL_BASIS}, [],
                 "body.unknown_field")
    world.registrar_act("trace.enterprise.status", {"credit_code": shop.code, "status": "abnormal", "reason": "x",
                                                    "legal_basis": ABNORMAL_BASIS})
    assert _enterprise(harness, shop.code).legal_basis == ABNORMAL_BASIS
    world.registrar_act("trace.enterprise.status", {"credit_code": shop.code, "status": "blacklisted",
                                                    "reason": "older statements carry none"})
    assert _enterprise(harness, shop.code).legal_basis is None
    world.assert_rebuild_matches()
    assert {basis.text for basis in LEGAL_BASES} >= {BLACKLIST_BASIS, ABNORMAL_BASIS}
