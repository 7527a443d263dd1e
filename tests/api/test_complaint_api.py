"""Enterprises' own view of the complaints about their products, through the API on SQLite and PostgreSQL: only
complaints routed to them, never the complainant's contact or internal notes; answers shown to the complainant at
once; a reply by an enterprise the complaint was not routed to refused with ``complaint.not_recipient``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from tests.api.support import as_json, login, signed, small_chain, token_for
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.console.test_complaints import CONTACT, DESCRIPTION, file_complaint
from trace.complaint_models import ComplaintReply

ANSWER = "您好，该批次已下架，请携带小票到店退款。"


def _replies(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(ComplaintReply)) or 0


def test_an_enterprise_sees_only_the_complaints_routed_to_it(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    first, _ = file_complaint(app, chain.ref)
    second, _ = file_complaint(app, chain.ref, category="quality", description="叶子发黄")
    farm, market, shop = (token_for(harness, actor.code) for actor in (chain.farm, chain.market, chain.shop))
    base = f"/api/v1/enterprises/{chain.farm.code}/complaints"

    listed = client.get(base, headers=farm)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "private, no-store"
    body = listed.get_json()
    assert [item["ticket"] for item in body["complaints"]] == [second, first], "newest first"
    assert body["complaints"][0]["roles"] == ["holder", "producer"] and body["next_cursor"] is None
    assert body["complaints"][1]["product_name"] == "青菜" and body["complaints"][1]["batch"] == chain.ref
    assert CONTACT.encode() not in listed.get_data() and "contact" not in json.dumps(body)
    market_view = client.get(f"/api/v1/enterprises/{chain.market.code}/complaints", headers=market).get_json()
    assert [item["roles"] for item in market_view["complaints"]] == [["holder"], ["holder"]]
    assert client.get(f"/api/v1/enterprises/{chain.shop.code}/complaints", headers=shop).get_json()[
        "complaints"] == []

    page = client.get(f"{base}?limit=1", headers=farm).get_json()
    assert [item["ticket"] for item in page["complaints"]] == [second] and page["next_cursor"]
    rest = client.get(f"{base}?limit=1&cursor={page['next_cursor']}", headers=farm).get_json()
    assert [item["ticket"] for item in rest["complaints"]] == [first]
    assert client.get(f"{base}?status=resolved", headers=farm).get_json()["complaints"] == []
    assert client.get(f"{base}?status=lost", headers=farm).get_json()["error"]["code"] == "request.parameter"

    detail = client.get(f"{base}/{first}", headers=farm)
    assert detail.status_code == 200
    found = detail.get_json()
    assert found["description"] == DESCRIPTION and found["photos"] == [] and found["replies"] == []
    assert found["status"] == "received" and found["overdue"] is False and CONTACT.encode() not in detail.get_data()

    refused = client.get(f"/api/v1/enterprises/{chain.shop.code}/complaints/{first}", headers=shop)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "complaint.not_recipient"
    other = client.get(base, headers=shop)
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "auth.forbidden"
    assert client.get(base).get_json()["error"]["code"] == "auth.required"
    missing = client.get(f"{base}/TS-2026-ZZZZZZ", headers=farm)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found.complaint"
    assert client.get(f"{base}/{first}/photos/0", headers=farm).get_json()["error"]["code"] == "not_found.photo"
    assert client.get(base, headers=login(client, harness, "li.na", "inspector")).status_code == 200
    assert client.get(base, headers=login(client, harness, "wang.fang", "registrar")).status_code == 403


def test_an_enterprise_answers_and_the_complainant_sees_it(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = file_complaint(app, chain.ref)
    target = f"/api/v1/enterprises/{chain.market.code}/complaints/{ticket}/replies"
    raw = as_json({"body": ANSWER})
    answered = client.post(target, data=raw, content_type="application/json",
                           headers=signed(chain.market.signer, "POST", target, raw))
    assert answered.status_code == 201, answered.get_json()
    assert answered.get_json() | {"id": 0, "created_at": ""} == {
        "id": 0, "author_kind": "enterprise", "author": chain.market.code, "status": None, "body": ANSWER,
        "created_at": ""}

    follow = app.test_client().get(f"/complaints/{ticket}?key={key}&lang=en").get_data(as_text=True)
    assert ANSWER in follow and "Answer from the enterprise" in follow

    inspector = app.test_client()
    token = console_login(inspector, harness, "li.na", "inspector")
    assert post(inspector, f"/console/complaints/{ticket}/reply", token, text="内部：已联系市场", visibility="internal",
                status="investigating").status_code == 303
    assert post(inspector, f"/console/complaints/{ticket}/reply", token, text="已受理", visibility="complainant"
                ).status_code == 303
    console = inspector.get(f"/console/complaints/{ticket}?lang=en").get_data(as_text=True)
    assert ANSWER in console and "Answer from the enterprise (shown to the complainant)" in console

    seen = client.get(f"/api/v1/enterprises/{chain.farm.code}/complaints/{ticket}",
                      headers=token_for(harness, chain.farm.code)).get_json()
    assert [(reply["author_kind"], reply["author"], reply["status"], reply["body"]) for reply in seen["replies"]] == [
        ("enterprise", chain.market.code, None, ANSWER), ("inspector", "regulator", "investigating", None),
        ("inspector", "regulator", None, "已受理")], "internal notes are not shown, nor who the inspector is"
    assert seen["status"] == "investigating"


def test_a_reply_by_the_wrong_enterprise_is_refused(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = file_complaint(app, chain.ref)
    shop = token_for(harness, chain.shop.code)
    before = _replies(harness)

    refused = client.post(f"/api/v1/enterprises/{chain.shop.code}/complaints/{ticket}/replies",
                          json={"body": "与我无关"}, headers=shop)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "complaint.not_recipient"
    assert "was not routed to" in refused.get_json()["error"]["message"]
    farm_path = f"/api/v1/enterprises/{chain.farm.code}/complaints/{ticket}/replies"
    posing = client.post(farm_path, json={"body": "冒充"}, headers=shop)
    assert posing.status_code == 403 and posing.get_json()["error"]["code"] == "auth.forbidden"
    staff = client.post(farm_path, json={"body": "x"}, headers=login(client, harness, "li.na", "inspector"))
    assert staff.status_code == 403 and staff.get_json()["error"]["code"] == "auth.forbidden"
    assert client.post(farm_path, json={"body": "x"}).status_code == 401
    farm = token_for(harness, chain.farm.code)
    for bad in ({}, {"body": ""}, {"body": "\u202e\u0000 "}, {"body": "x" * 2001}, {"body": "x", "extra": 1}):
        response = client.post(farm_path, json=bad, headers=farm)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "request.invalid", bad
    missing = client.post(f"/api/v1/enterprises/{chain.farm.code}/complaints/TS-2026-ZZZZZZ/replies",
                          json={"body": "x"}, headers=farm)
    assert missing.status_code == 404
    assert _replies(harness) == before
    follow = app.test_client().get(f"/complaints/{ticket}?key={key}").get_data(as_text=True)
    assert "与我无关" not in follow and "冒充" not in follow
