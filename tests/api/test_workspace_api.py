"""The enterprise workspace's server side: invites, a phone's own key enrolled with a proof of possession,
approval into the ledger, staff kept off the administrators' routes, and revocation by a signed statement."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from ledger import Signer, build_statement, sign_statement
from ledger.keys import encode_public_key
from ledger.models import Entry, LedgerKey
from tests.api.support import as_json, login, signed, token_for
from tests.conftest import TEST_ORIGIN, LedgerHarness
from tests.trace.world import CERT, Actor, World, credit_code, gtin
from trace.access import key_request_message
from trace.workspace_models import WorkspaceInvite


def _send(client: Any, method: str, path: str, signer: Signer | None = None, body: Any = None,
          headers: dict[str, str] | None = None) -> Any:
    data = b"" if body is None else as_json(body)
    sent = dict(headers or {})
    if body is not None:
        sent["Content-Type"] = "application/json"
    if signer is not None:
        sent.update(signed(signer, method, path, data))
    return client.open(path, method=method, data=data, headers=sent)


def _phone(code: str) -> Signer:
    """A key made on the phone (here: a fresh Ed25519 key in the test)."""
    return Signer(code, Ed25519PrivateKey.generate())


def _enrol_body(phone: Signer, secret: str, details: dict[str, Any], device: str = "Redmi 12",
                label: str | None = None) -> dict[str, Any]:
    public_key = encode_public_key(phone.public_key)
    label = label or f"workspace:{details['role']}:{details['staff']} / {device}"
    proof = phone.sign(key_request_message(details["ledger"], details["credit_code"], public_key, label))
    return {"invite": secret, "public_key": public_key, "device": device,
            "proof": base64.b64encode(proof).decode()}


def _invite(client: Any, code: str, headers: dict[str, str] | None = None, signer: Signer | None = None,
            **body: Any) -> Any:
    return _send(client, "POST", f"/api/v1/enterprises/{code}/invites", signer, {"staff": "李娜", **body}, headers)


def _enrol(client: Any, phone: Signer, secret: str, device: str = "Redmi 12") -> Any:
    details = client.post("/api/v1/workspace/invite", json={"invite": secret})
    assert details.status_code == 200, details.get_json()
    return client.post("/api/v1/workspace/enrol", json=_enrol_body(phone, secret, details.get_json(), device))


def _world(harness: LedgerHarness) -> tuple[World, Actor, Actor, str]:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    greens = gtin("695000", 1)
    world.product(farm, greens, "上海青", "farm")
    return world, farm, market, greens


def _submit_as(client: Any, signer: Signer, author: str, type_: str, body: dict[str, Any]) -> Any:
    """Draft with the phone's key (a signed request), sign the draft on the 'phone', submit it."""
    drafted = _send(client, "POST", "/api/v1/events/drafts", signer,
                    {"author": author, "key": signer.key_id, "statements": [{"type": type_, "body": body}]})
    assert drafted.status_code == 200, drafted.get_json()
    draft = drafted.get_json()["drafts"][0]
    assert draft["error"] is None, draft
    fields = draft["statement"]
    statement = build_statement(ledger=fields["ledger"], type=fields["type"], author=fields["author"],
                                key=fields["key"], seq=fields["seq"], prev=fields["prev"], time=fields["time"],
                                body=fields["body"], links=fields["links"])
    return client.post("/api/v1/events", json=sign_statement(signer, statement).envelope())


def test_admin_invite_enrol_approve_sign_and_revoke(client: Any, harness: LedgerHarness) -> None:
    world, farm, market, greens = _world(harness)
    invited = _invite(client, farm.code, signer=farm.signer)
    assert invited.status_code == 201, invited.get_json()
    invite = invited.get_json()
    assert invite["approval"] == "by_admin" and invite["role"] == "staff" and invite["staff"] == "李娜"
    assert invite["join_url"] == "/workspace/join#invite=" + invite["secret"]
    assert invited.headers["Cache-Control"] == "no-store"
    with harness.sessions() as session:
        stored = session.scalars(select(WorkspaceInvite.secret_sha256)).all()
    assert invite["secret"] not in stored

    details = client.post("/api/v1/workspace/invite", json={"invite": invite["secret"]}).get_json()
    assert details == {"credit_code": farm.code, "enterprise_name": "闽侯绿源蔬菜专业合作社", "staff": "李娜",
                       "role": "staff", "approval": "by_admin", "expires_at": invite["expires_at"],
                       "ledger": TEST_ORIGIN}
    phone = _phone(farm.code)
    enrolled = _enrol(client, phone, invite["secret"])
    assert enrolled.status_code == 202, enrolled.get_json()
    device = enrolled.get_json()
    assert device["status"] == "pending" and device["key_id"] == phone.key_id and device["role"] == "staff"
    assert device["enterprise_name"] == "闽侯绿源蔬菜专业合作社" and device["device"] == "Redmi 12"
    assert device["invited_by"] == f"enterprise:{farm.code}/key:{farm.signer.key_id}"
    followed = client.get(f"/api/v1/key-requests/{device['request_id']}").get_json()
    assert followed["status"] == "pending" and followed["label"] == "workspace:staff:李娜 / Redmi 12"

    again = client.post("/api/v1/workspace/enrol", json=_enrol_body(phone, invite["secret"], details))
    assert again.status_code == 202 and again.get_json()["request_id"] == device["request_id"]
    other = client.post("/api/v1/workspace/enrol", json=_enrol_body(_phone(farm.code), invite["secret"], details))
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "invite.used"
    early = _send(client, "GET", "/api/v1/workspace/me", phone)
    assert early.status_code == 401  # not a registered key yet
    registrar = login(client, harness, "zhao.registrar", "registrar")
    for decision in ("approve", "reject"):  # the administrators decide a device, not the registrar's key routes
        bypass = client.post(f"/api/v1/key-requests/{device['request_id']}/{decision}", headers=registrar)
        assert bypass.status_code == 409 and bypass.get_json()["error"]["code"] == "key_request.workspace"

    devices_path = f"/api/v1/enterprises/{farm.code}/devices"
    approve_path = f"{devices_path}/{phone.key_id}/approve"
    assert _send(client, "POST", approve_path, market.signer).status_code == 403
    approved = _send(client, "POST", approve_path, farm.signer)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "active"
    assert approved.get_json()["approved_by"] == f"enterprise:{farm.code}/key:{farm.signer.key_id}"
    with harness.sessions() as session:
        key = session.get(LedgerKey, phone.key_id)
        assert key is not None and key.author == farm.code and key.label == "workspace:staff:李娜 / Redmi 12"
        entry = session.get(Entry, approved.get_json()["entry_index"])
        assert entry is not None and entry.type == "ledger.key.add" and entry.key_id == harness.keys.registrar.key_id
    twice = _send(client, "POST", approve_path, headers=token_for(harness, farm.code))
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "key_request.decided"

    me = _send(client, "GET", "/api/v1/workspace/me", phone).get_json()
    assert me["device"]["key_id"] == phone.key_id and me["is_admin"] is False
    assert me["enterprise"] == {"credit_code": farm.code, "name": "闽侯绿源蔬菜专业合作社", "roles": ["producer"],
                                "status": "active"}
    cli = _send(client, "GET", "/api/v1/workspace/me", farm.signer).get_json()
    assert cli["device"] is None and cli["is_admin"] is True

    forbidden = _invite(client, farm.code, signer=phone)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "auth.forbidden"
    assert _send(client, "GET", f"/api/v1/enterprises/{farm.code}/invites", phone).status_code == 403
    listed = _send(client, "GET", devices_path, phone)
    assert listed.status_code == 200 and [item["key_id"] for item in listed.get_json()["devices"]] == [phone.key_id]
    invites = _send(client, "GET", f"/api/v1/enterprises/{farm.code}/invites", farm.signer).get_json()["invites"]
    assert [item["invite_id"] for item in invites] == [invite["invite_id"]] and invites[0]["used_at"]
    assert "secret" not in invites[0]

    commission = {"gtin": greens, "lot": "QG-7", "quantity": "50", "unit": "KGM", "produced_on": "2026-11-20",
                  "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}
    accepted = _submit_as(client, phone, farm.code, "trace.commission", commission)
    assert accepted.status_code == 201, accepted.get_json()

    revoked = _submit_as(client, phone, farm.code, "ledger.key.revoke",
                         {"subject": farm.code, "key": phone.key_id, "reason": "phone lost"})
    assert revoked.status_code == 201, revoked.get_json()
    after = _send(client, "GET", devices_path, farm.signer).get_json()["devices"][0]
    assert after["status"] == "revoked" and after["revoked_index"] == revoked.get_json()["index"]
    writer = harness.writer(phone)
    late = writer.sign("trace.commission", {**commission, "lot": "QG-8"}, datetime.now(UTC),
                       links={f"01/{greens}/10/QG-8": None})
    refused = client.post("/api/v1/events", json=late)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "key.revoked"
    assert world.ledger_size() == revoked.get_json()["index"] + 1


def test_registrar_invite_is_approved_at_enrolment_and_admin_devices_administer(
        client: Any, harness: LedgerHarness) -> None:
    _world_, farm, _market, _greens = _world(harness)
    registrar = login(client, harness, "zhao.registrar", "registrar")
    staff_only = _invite(client, farm.code, token_for(harness, farm.code), role="admin")
    assert staff_only.status_code == 403 and staff_only.get_json()["error"]["code"] == "auth.forbidden"
    invited = _invite(client, farm.code, registrar, staff="王强", role="admin", expires_in_hours=720)
    assert invited.status_code == 201, invited.get_json()
    assert invited.get_json()["approval"] == "on_enrol" and invited.get_json()["role"] == "admin"
    phone = _phone(farm.code)
    enrolled = _enrol(client, phone, invited.get_json()["secret"], device="iPhone 15")
    assert enrolled.status_code == 201, enrolled.get_json()
    device = enrolled.get_json()
    assert device["status"] == "active" and device["approved_by"] == "account:zhao.registrar"
    with harness.sessions() as session:
        entry = session.get(Entry, device["entry_index"])
        key = session.get(LedgerKey, phone.key_id)
        assert entry is not None and entry.author == harness.keys.registrar.author
        assert entry.key_id != harness.keys.registrar.key_id  # the officer's own registrar key
        assert key is not None and key.label == "workspace:admin:王强 / iPhone 15"
    details = {"ledger": TEST_ORIGIN, "credit_code": farm.code, "role": "admin", "staff": "王强"}
    resent = client.post("/api/v1/workspace/enrol",
                         json=_enrol_body(phone, invited.get_json()["secret"], details, "iPhone 15"))
    assert resent.status_code == 201 and resent.get_json()["key_id"] == phone.key_id

    me = _send(client, "GET", "/api/v1/workspace/me", phone).get_json()
    assert me["is_admin"] is True and me["device"]["role"] == "admin"
    staff = _invite(client, farm.code, signer=phone, staff="陈晨", expires_in_hours=1)
    assert staff.status_code == 201 and staff.get_json()["approval"] == "by_admin"
    staff_phone = _phone(farm.code)
    assert _enrol(client, staff_phone, staff.get_json()["secret"]).status_code == 202
    rejected = _send(client, "POST", f"/api/v1/enterprises/{farm.code}/devices/{staff_phone.key_id}/reject", phone,
                     {"reason": "not our staff"})
    assert rejected.status_code == 200, rejected.get_json()
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["reason"] == "not our staff"
    late = _send(client, "POST", f"/api/v1/enterprises/{farm.code}/devices/{staff_phone.key_id}/approve", phone)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "key_request.decided"
    unknown = _send(client, "POST", f"/api/v1/enterprises/{farm.code}/devices/{'0' * 16}/approve", phone)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "device.unknown"
    statuses = [item["status"] for item in _send(client, "GET", f"/api/v1/enterprises/{farm.code}/devices",
                                                 headers=registrar).get_json()["devices"]]
    assert statuses == ["rejected", "active"]


def test_enrolment_refusals(client: Any, harness: LedgerHarness) -> None:
    _world_, farm, market, _greens = _world(harness)
    registrar = login(client, harness, "zhao.registrar", "registrar")
    secret = _invite(client, farm.code, registrar).get_json()["secret"]
    details = client.post("/api/v1/workspace/invite", json={"invite": secret}).get_json()
    phone = _phone(farm.code)

    unknown = client.post("/api/v1/workspace/enrol", json=_enrol_body(phone, "twi_" + "A" * 43, details))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "invite.unknown"
    garbage = client.post("/api/v1/workspace/invite", json={"invite": "nope"})
    assert garbage.status_code == 404 and garbage.get_json()["error"]["code"] == "invite.unknown"
    wrong_label = _enrol_body(phone, secret, details, label="workspace:admin:李娜 / Redmi 12")
    bad = client.post("/api/v1/workspace/enrol", json=wrong_label)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "key_request.proof"
    other_origin = _enrol_body(phone, secret, {**details, "ledger": "other.example/ledger"})
    assert client.post("/api/v1/workspace/enrol", json=other_origin).get_json()["error"]["code"] == \
        "key_request.proof"
    duplicate = client.post("/api/v1/workspace/enrol", json=_enrol_body(market.signer, secret, details))
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "key.duplicate"
    extra = client.post("/api/v1/workspace/enrol", json={**_enrol_body(phone, secret, details), "role": "admin"})
    assert extra.status_code == 422 and extra.get_json()["error"]["code"] == "request.invalid"
    newline = client.post("/api/v1/workspace/enrol", json=_enrol_body(phone, secret, details, device="a\nb"))
    assert newline.status_code == 422 and "device" in newline.get_json()["error"]["fields"]

    with harness.sessions() as session:
        session.execute(update(WorkspaceInvite).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        session.commit()
    expired = client.post("/api/v1/workspace/enrol", json=_enrol_body(phone, secret, details))
    assert expired.status_code == 409 and expired.get_json()["error"]["code"] == "invite.expired"

    assert _invite(client, farm.code).status_code == 401
    assert _invite(client, farm.code, signer=market.signer).status_code == 403
    assert _invite(client, "91350100MA2XYE009X", registrar).status_code == 404
    too_long = _invite(client, farm.code, registrar, expires_in_hours=721)
    assert too_long.status_code == 422 and "expires_in_hours" in too_long.get_json()["error"]["fields"]
    assert _send(client, "GET", "/api/v1/workspace/me").status_code == 401
    assert _send(client, "GET", "/api/v1/workspace/me", headers=registrar).status_code == 403


def test_enterprises_found_by_name_or_credit_code_prefix(client: Any, harness: LedgerHarness) -> None:
    _world_, farm, market, _greens = _world(harness)

    def found(q: str) -> list[str]:
        answer = client.get("/api/v1/enterprises", query_string={"q": q})
        assert answer.status_code == 200, answer.get_json()
        return [item["credit_code"] for item in answer.get_json()["enterprises"]]

    assert found("蔬菜") == sorted([farm.code, market.code])
    assert found("批发") == [market.code]
    assert found(farm.code[:8]) == [farm.code]
    assert found(farm.code[:8].lower()) == [farm.code]
    assert found("%") == [] and found("_") == []
    assert client.get("/api/v1/enterprises", query_string={"q": "x" * 51}).status_code == 400


def test_workspace_invite_command_prints_a_link_that_enrols_at_once(client: Any, harness: LedgerHarness) -> None:
    _world_, farm, _market, _greens = _world(harness)
    settings = harness.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    env.update(TRACE_DATABASE_URL=settings.database_url, TRACE_KEY_DIR=str(settings.key_dir),
               TRACE_KEY_PASSPHRASE=str(settings.key_passphrase), TRACE_LEDGER_ORIGIN=TEST_ORIGIN,
               TRACE_LOG_FORMAT="text", TRACE_PUBLIC_BASE_URL="https://trace.example.cn")
    root = Path(__file__).resolve().parents[2]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trace", "workspace-invite", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    helped = run("--help")
    assert helped.returncode == 0 and "--staff" in helped.stdout
    done = run(farm.code, "--staff", "林芳", "--role", "admin")
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip().splitlines()[-1]
    assert link.startswith("https://trace.example.cn/workspace/join#invite=twi_")
    phone = _phone(farm.code)
    enrolled = _enrol(client, phone, link.split("#invite=", 1)[1], device="华为 Mate 60")
    assert enrolled.status_code == 201, enrolled.get_json()
    assert enrolled.get_json()["status"] == "active" and enrolled.get_json()["role"] == "admin"
    unknown = run("91350100MA2XYE009X", "--staff", "林芳")
    assert unknown.returncode == 2 and "not registered" in unknown.stderr
    blank = run(farm.code, "--staff", " ")
    assert blank.returncode == 2 and "staff" in blank.stderr
