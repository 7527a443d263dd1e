"""Credentials: logins, API tokens (hashed, revocable), requests signed with an enterprise key (fresh, never
replayed), rate limits on public and login endpoints, and the bulk ledger reads behind a login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ledger import parse_verifier_key, read_lines, verify_export_lines
from tests.api.support import PASSWORD, as_json, login, make_account, signed, small_chain
from tests.conftest import LedgerHarness
from trace.access_models import ApiToken


def test_login_whoami_logout(client: Any, harness: LedgerHarness) -> None:
    make_account(harness, "wang.inspector", "inspector")
    wrong = client.post("/api/v1/auth/login", json={"username": "wang.inspector", "password": "nope"})
    nobody = client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.get_json()["error"] == nobody.get_json()["error"]
    answer = client.post("/api/v1/auth/login", json={"username": "wang.inspector", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    me = client.get("/api/v1/auth/whoami", headers=headers).get_json()
    assert me == {"via": "session", "enterprise": None, "username": "wang.inspector", "roles": ["inspector"]}
    assert client.get("/api/v1/auth/whoami").get_json()["via"] == "none"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    ended = client.get("/api/v1/auth/whoami", headers=headers)
    assert ended.status_code == 401 and ended.get_json()["error"]["code"] == "auth.invalid"
    garbage = client.get("/api/v1/auth/whoami", headers={"Authorization": "Bearer trk_zz"})
    assert garbage.status_code == 401


def test_token_issued_by_a_signed_request_reads_private_data_until_revoked(client: Any,
                                                                          harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    path = f"/api/v1/enterprises/{chain.market.code}/tokens"
    body = as_json({"label": "ERP connector"})
    headers = {**signed(chain.market.signer, "POST", path, body), "Content-Type": "application/json"}
    issued = client.post(path, data=body, headers=headers)
    assert issued.status_code == 201, issued.get_json()
    token = issued.get_json()["token"]
    with harness.sessions() as session:
        stored = session.scalars(select(ApiToken.token_sha256)).all()
    assert token not in stored and len(stored) == 1  # only the digest is kept

    replay = client.post(path, data=body, headers=headers)
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "auth.replayed"
    late = {**signed(chain.market.signer, "POST", path, body, time=datetime.now(UTC) - timedelta(minutes=10)),
            "Content-Type": "application/json"}
    assert client.post(path, data=body, headers=late).get_json()["error"]["code"] == "auth.clock"
    other_body = {**signed(chain.market.signer, "POST", path, body), "Content-Type": "application/json"}
    tampered = client.post(path, data=as_json({"label": "other"}), headers=other_body)
    assert tampered.status_code == 401 and tampered.get_json()["error"]["code"] == "auth.invalid"

    bearer = {"Authorization": f"Bearer {token}"}
    holdings = client.get(f"/api/v1/enterprises/{chain.market.code}/holdings", headers=bearer)
    assert holdings.status_code == 200
    assert [(item["ref"], item["quantity"]) for item in holdings.get_json()["holdings"]] == [(chain.ref, "300")]
    incoming = client.get(f"/api/v1/enterprises/{chain.market.code}/shipments?direction=incoming", headers=bearer)
    assert [item["status"] for item in incoming.get_json()["shipments"]] == ["received"]
    foreign = client.get(f"/api/v1/enterprises/{chain.farm.code}/holdings", headers=bearer)
    assert foreign.status_code == 403

    token_id = issued.get_json()["id"]
    revoked = client.post(f"{path}/{token_id}/revoke", headers=bearer)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] is not None
    after = client.get(f"/api/v1/enterprises/{chain.market.code}/holdings", headers=bearer)
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "auth.invalid"
    listing = client.get(path, headers=signed(chain.market.signer, "GET", path))
    assert [item["id"] for item in listing.get_json()["tokens"]] == [token_id]
    assert "token" not in listing.get_json()["tokens"][0]


def test_bulk_ledger_reads_need_an_authority_and_the_export_verifies(client: Any, harness: LedgerHarness,
                                                                    tmp_path: Any) -> None:
    small_chain(harness)
    assert client.get("/api/v1/ledger/entries?start=0").status_code == 401
    assert client.get("/api/v1/ledger/export").status_code == 401
    inspector = login(client, harness, "wang.inspector", "inspector")
    page = client.get("/api/v1/ledger/entries?start=0&limit=3", headers=inspector)
    assert page.status_code == 200 and [item["index"] for item in page.get_json()["entries"]] == [0, 1, 2]
    assert page.headers["Cache-Control"].startswith("private") and page.get_json()["next_cursor"] == "3"
    again = client.get("/api/v1/ledger/entries?start=0&limit=3",
                       headers={**inspector, "If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    export = client.get("/api/v1/ledger/export", headers=inspector)
    assert export.status_code == 200 and export.mimetype == "application/x-ndjson"
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(export.get_data())
    key = parse_verifier_key(harness.operator_key.text())
    report = verify_export_lines(read_lines(path), key)
    assert report.tree_size == client.get("/api/v1/health").get_json()["ledger"]["size"]


def test_rate_limits_on_logins_and_public_reads(harness: LedgerHarness) -> None:
    from api import create_app
    settings = harness.settings
    app = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                      "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase, "testing": True,
                      "rate_limit_login": "3 per minute", "rate_limit_public": "5 per minute"})
    try:
        client = app.test_client()
        statuses = [client.post("/api/v1/auth/login", json={"username": "x", "password": "y"}).status_code
                    for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        limited = client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
        assert limited.get_json()["error"]["code"] == "http.too_many_requests"
        assert "Retry-After" in limited.headers
        reads = [client.get("/api/v1/products").status_code for _ in range(6)]
        assert reads == [200] * 5 + [429]
    finally:
        app.extensions["trace"].engine.dispose()
