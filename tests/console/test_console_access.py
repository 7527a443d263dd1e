"""The console's door: login, roles, CSRF, and officers' own signing keys recorded in the ledger."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from ledger.models import Entry
from tests.api.support import PASSWORD, make_account
from tests.conftest import LedgerHarness
from tests.console.support import console_login, csrf_token, post
from trace.officers import OfficerKey


def _statements(harness: LedgerHarness) -> list[dict[str, Any]]:
    with harness.sessions() as session:
        return [json.loads(entry.leaf)["statement"] for entry in session.scalars(select(Entry).order_by(Entry.index))]


def test_pages_need_a_login_and_send_private_headers(client: Any) -> None:
    response = client.get("/console/recalls/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/console/login?next=/console/recalls/")
    login = client.get("/console/login")
    assert login.status_code == 200
    assert login.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]


def test_wrong_password_is_refused_without_saying_which_part(harness: LedgerHarness, client: Any) -> None:
    make_account(harness, "li.na", "inspector")
    response = client.post("/console/login", data={"username": "li.na", "password": "wrong password!!",
                                                   "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "Wrong user name or password" in response.get_data(as_text=True) or "用户名或密码" in \
        response.get_data(as_text=True)
    assert client.get("/console/").status_code == 303


def test_a_login_without_the_csrf_token_is_refused(harness: LedgerHarness, client: Any) -> None:
    make_account(harness, "li.na", "inspector")
    response = client.post("/console/login", data={"username": "li.na", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 303


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(harness: LedgerHarness, client: Any) -> None:
    make_account(harness, "li.na", "inspector")
    token = csrf_token(client)
    response = client.post("/console/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token,
                                                   "next": "//evil.example/console"})
    assert response.headers["Location"] == "/console/"
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    response = client.post("/console/login", data={"username": "li.na", "password": PASSWORD,
                                                   "csrf_token": csrf_token(client), "next": "/console/risks/"})
    assert response.headers["Location"] == "/console/risks/"


def test_the_start_page_lists_only_the_areas_of_ones_roles(harness: LedgerHarness, client: Any) -> None:
    console_login(client, harness, "wang.fang", "registrar")
    page = client.get("/console/?lang=en").get_data(as_text=True)
    assert "Enterprises and credit lists" in page
    assert "Complaints" not in page and "Accounts" not in page


def test_an_officer_outside_their_role_gets_a_403_page(harness: LedgerHarness, client: Any) -> None:
    console_login(client, harness, "li.na", "inspector")
    response = client.get("/console/accounts/?lang=en")
    assert response.status_code == 403
    assert "Administrator" in response.get_data(as_text=True)


def test_logging_out_ends_the_login(harness: LedgerHarness, client: Any) -> None:
    token = console_login(client, harness, "li.na", "inspector")
    assert client.get("/console/").status_code == 200
    assert post(client, "/console/logout", token).status_code == 303
    assert client.get("/console/").status_code == 303


def test_an_officers_first_action_registers_their_own_registrar_key(harness: LedgerHarness, client: Any) -> None:
    from tests.api.support import login
    headers = login(client, harness, "wang.fang", "registrar")
    before = len(_statements(harness))
    body = {"credit_code": "91350100M000100Y43", "name": "福州测试食品有限公司", "roles": ["producer"],
            "locations": [{"id": "main", "name": "厂区", "address": "福州市鼓楼区"}],
            "commitment_sha256": "ab" * 32}
    assert client.post("/api/v1/enterprises", json=body, headers=headers).status_code == 201
    added, registered = _statements(harness)[before:]
    assert added["type"] == "ledger.key.add" and added["author"] == "operator"
    assert added["body"]["label"] == "officer:wang.fang" and added["body"]["subject"] == "registrar"
    with harness.sessions() as session:
        key = session.get(OfficerKey, "wang.fang")
    assert key is not None and registered["key"] == key.key_id and registered["author"] == "registrar"
    listing = {"status": "abnormal", "reason": "抽查", "legal_basis": "《企业信息公示暂行条例》第十七条"}
    client.post(f"/api/v1/enterprises/{body['credit_code']}/status", json=listing,
                headers=headers)
    status = _statements(harness)[before + 2:]
    assert [(s["type"], s["key"]) for s in status] == [("trace.enterprise.status", key.key_id)]  # no second key


def test_disabling_an_account_revokes_its_key(harness: LedgerHarness, client: Any) -> None:
    make_account(harness, "wang.fang", "registrar")
    context = client.application.extensions["trace"]
    signer = context.officers.signer("wang.fang", context.clock)
    token = console_login(client, harness, "admin.zhao", "administrator")
    assert post(client, "/console/accounts/wang.fang/disable", token).status_code == 303
    last = _statements(harness)[-1]
    assert last["type"] == "ledger.key.revoke" and last["author"] == "operator"
    assert last["body"]["subject"] == "registrar" and last["body"]["key"] == signer.key_id
    assert "wang.fang" in last["body"]["reason"]
    assert client.post("/api/v1/auth/login", json={"username": "wang.fang", "password": PASSWORD}).status_code == 401
    page = client.get("/console/accounts/?lang=en").get_data(as_text=True)
    assert "disabled" in page


def test_an_administrator_creates_an_account_and_bad_input_is_explained(harness: LedgerHarness, client: Any) -> None:
    token = console_login(client, harness, "admin.zhao", "administrator")
    refused = post(client, "/console/accounts/?lang=en", token, username="Bad Name", password="short",
                   display_name="x", roles="inspector")
    assert refused.status_code == 422
    assert "username must be" in refused.get_data(as_text=True)
    created = post(client, "/console/accounts/", token, username="chen.jie", password=PASSWORD,
                   display_name="陈杰", roles=["inspector", "registrar"])
    assert created.status_code == 303
    assert client.post("/api/v1/auth/login", json={"username": "chen.jie", "password": PASSWORD}).status_code == 200


def test_a_statement_signed_by_an_officer_key_proves_offline(harness: LedgerHarness, client: Any) -> None:
    from ledger.proofs import entry_bundle, verify_entry_bundle
    from tests.api.support import login
    headers = login(client, harness, "wang.fang", "registrar")
    body = {"credit_code": "91350100M000100Y43", "name": "福州测试食品有限公司", "roles": ["producer"],
            "locations": [{"id": "main", "name": "厂区", "address": "福州市鼓楼区"}],
            "commitment_sha256": "ab" * 32}
    answer = client.post("/api/v1/enterprises", json=body, headers=headers).get_json()
    index = answer["index"]
    with harness.sessions() as session:
        bundle = entry_bundle(session, index)
    verified = verify_entry_bundle(bundle, harness.operator_key)
    assert verified.index == index and verified.leaf.statement.author == "registrar"
    assert [item["leaf"]["statement"]["type"] for item in bundle["entries"]] == [
        "ledger.genesis", "ledger.key.add", "trace.enterprise.register"]


def test_every_area_answers_200_to_an_officer_with_every_role(harness: LedgerHarness, client: Any) -> None:
    from tests.api.support import small_chain
    small_chain(harness)
    console_login(client, harness, "zhao.min", "inspector", "registrar", "administrator")
    home = client.get("/console/").get_data(as_text=True)
    areas = re.findall(r'<a href="(/console/[a-z-]+/)"><strong>', home)
    assert len(areas) == 9
    for path in [*areas, "/console/recalls/?status=closed", "/console/recalls/?status=all"]:
        for language in ("zh", "en"):
            response = client.get(path, headers={"Cookie": f"lang={language}"})
            assert response.status_code == 200, (path, language, response.status_code)
