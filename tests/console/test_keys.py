"""The registrar's keys page: a key request approved in the console is registered by ``ledger.key.add`` signed with
the officer's own key (and the key then signs statements); a rejection needs a reason and appends nothing;
workspace devices waiting for their enterprise's administrator are listed but not decided here; an enterprise
administrator invite shows its one-time join link as text and as a QR code that decodes to it, and the phone that
enrols with it is registered at once."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import timedelta
from typing import Any

import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import select

from ledger import Signer
from ledger.keys import encode_public_key
from ledger.models import Entry, LedgerKey
from tests.api.support import Chain, as_json, signed, small_chain
from tests.conftest import LedgerHarness
from tests.console.support import console_login, csrf_token, post
from trace.access import key_request_message
from trace.access_models import KeyRequest
from trace.models import Enterprise
from trace.officers import OfficerKey
from trace.workspace_models import WorkspaceInvite

PAGE = "/console/keys/"
_LINK = re.compile(r'id="join-link" class="mono" readonly value="([^"]+)"')
_QR = re.compile(r'id="join-qr" src="data:image/png;base64,([^"]+)"')


def _statements(harness: LedgerHarness) -> list[dict[str, Any]]:
    with harness.sessions() as session:
        return [json.loads(entry.leaf)["statement"] for entry in session.scalars(select(Entry).order_by(Entry.index))]


def _request(harness: LedgerHarness, row_id: str) -> KeyRequest:
    with harness.sessions() as session:
        row = session.get(KeyRequest, row_id)
        assert row is not None
        session.expunge(row)
        return row


def _file_key_request(client: Any, harness: LedgerHarness, code: str, label: str, seed: int) -> tuple[Signer, str]:
    """The enterprise files a key request through the API, with the proof of possession."""
    device = Signer.from_seed(code, bytes([seed]) * 32)
    public = encode_public_key(device.public_key)
    proof = base64.b64encode(device.sign(key_request_message(harness.config.origin, code, public, label))).decode()
    filed = client.post(f"/api/v1/enterprises/{code}/key-requests",
                        json={"public_key": public, "label": label, "proof": proof})
    assert filed.status_code == 202, filed.get_json()
    return device, filed.get_json()["id"]


def _grouped(key_id: str) -> str:
    return " ".join(key_id[start:start + 4] for start in range(0, 16, 4))


def test_the_registrar_approves_a_key_request_with_their_own_key(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    device, request_id = _file_key_request(client, harness, chain.shop.code, "收银台 2 号机", 1)
    token = console_login(client, harness, "wang.fang", "registrar")
    shown = client.get(f"{PAGE}?lang=en")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    text = shown.get_data(as_text=True)
    row = text[text.index(f'data-request="{request_id}"'):]
    row = row[:row.index("</tr>")]
    assert "鼓楼生鲜店" in row and chain.shop.code in row and "收银台 2 号机" in row
    assert _grouped(device.key_id) in row and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    assert 'href="/console/keys/"' in text  # the registrar's navigation

    before = len(_statements(harness))
    approved = post(client, f"{PAGE}requests/{request_id}/approve?lang=en", token)
    assert approved.status_code == 303 and approved.headers["Location"] == PAGE
    statements = _statements(harness)
    assert len(statements) == before + 2  # the officer's key registered at their first action, then the key
    added = statements[-1]
    with harness.sessions() as session:
        officer_key = session.get(OfficerKey, "wang.fang")
        assert officer_key is not None
        registered = session.get(LedgerKey, device.key_id)
        assert registered is not None and registered.author == chain.shop.code
    assert added["type"] == "ledger.key.add" and added["author"] == "registrar" and added["key"] == officer_key.key_id
    assert added["body"] == {"subject": chain.shop.code, "public_key": encode_public_key(device.public_key),
                             "label": "收银台 2 号机"}
    decided = _request(harness, request_id)
    assert (decided.status, decided.decided_by) == ("approved", "account:wang.fang")
    assert decided.entry_index == len(statements) - 1
    after = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "registered in ledger entry" in after and f'data-request="{request_id}"' not in after
    assert 'id="no-key-requests"' in after

    twice = post(client, f"{PAGE}requests/{request_id}/approve?lang=en", token)
    assert twice.status_code == 409 and "already decided" in twice.get_data(as_text=True)
    assert len(_statements(harness)) == len(statements)

    product = harness.writer(device).sign("trace.product.define", {"gtin": "06901234000030", "name": "散装大米",
                                                                   "category": "food", "spec": "1 kg"},
                                          chain.world.time())
    assert client.post("/api/v1/events", json=product).status_code == 201


def test_a_rejection_needs_a_reason_and_appends_nothing(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    _device, request_id = _file_key_request(client, harness, chain.farm.code, "地头平板", 2)
    token = console_login(client, harness, "wang.fang", "registrar")
    before = len(_statements(harness))
    blank = post(client, f"{PAGE}requests/{request_id}/reject?lang=en", token, reason="   ")
    assert blank.status_code == 422 and "Give the reason for the rejection" in blank.get_data(as_text=True)
    assert _request(harness, request_id).status == "pending"
    rejected = post(client, f"{PAGE}requests/{request_id}/reject", token, reason="申请人无法说明  该设备的用途")
    assert rejected.status_code == 303
    decided = _request(harness, request_id)
    assert (decided.status, decided.reason, decided.entry_index) == ("rejected", "申请人无法说明 该设备的用途", None)
    assert len(_statements(harness)) == before
    followed = client.get(f"/api/v1/key-requests/{request_id}").get_json()
    assert followed["status"] == "rejected" and followed["reason"] == "申请人无法说明 该设备的用途"
    assert post(client, f"{PAGE}requests/{request_id}/approve", token).status_code == 409
    unknown = post(client, f"{PAGE}requests/{'0' * 32}/approve?lang=en", token)
    assert unknown.status_code == 404 and "No such key request" in unknown.get_data(as_text=True)
    assert len(_statements(harness)) == before


def test_only_the_registrar_decides_and_every_post_needs_the_csrf_token(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    _device, request_id = _file_key_request(client, harness, chain.shop.code, "收银台", 3)
    anonymous = client.get(PAGE)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/console/login")
    token = console_login(client, harness, "li.inspector", "inspector")
    assert 'href="/console/keys/"' not in client.get("/console/").get_data(as_text=True)
    assert client.get(PAGE).status_code == 403
    assert post(client, f"{PAGE}requests/{request_id}/approve", token).status_code == 403
    assert post(client, f"{PAGE}invites", token, credit_code=chain.shop.code, staff="林芳",
                hours="72").status_code == 403

    client.post("/console/logout", data={"csrf_token": token})
    console_login(client, harness, "wang.fang", "registrar")
    forged = client.post(f"{PAGE}requests/{request_id}/approve")
    assert forged.status_code == 400
    assert _request(harness, request_id).status == "pending"
    with harness.sessions() as session:
        assert session.scalars(select(WorkspaceInvite)).all() == []


def _enrol(client: Any, secret: str, phone: Signer, device: str) -> Any:
    details = client.post("/api/v1/workspace/invite", json={"invite": secret}).get_json()
    public = encode_public_key(phone.public_key)
    label = f"workspace:{details['role']}:{details['staff']} / {device}"
    proof = phone.sign(key_request_message(details["ledger"], details["credit_code"], public, label))
    return client.post("/api/v1/workspace/enrol", json={"invite": secret, "public_key": public, "device": device,
                                                        "proof": base64.b64encode(proof).decode()})


def _admin_invited_device(client: Any, chain: Chain) -> tuple[Signer, str]:
    """A staff phone enrolled with an invite of the enterprise's own administrator (its command-line key)."""
    path = f"/api/v1/enterprises/{chain.farm.code}/invites"
    body = as_json({"staff": "李娜"})
    invited = client.post(path, data=body, headers={"Content-Type": "application/json",
                                                    **signed(chain.farm.signer, "POST", path, body)})
    assert invited.status_code == 201, invited.get_json()
    phone = Signer(chain.farm.code, Ed25519PrivateKey.generate())
    enrolled = _enrol(client, invited.get_json()["secret"], phone, "Redmi 12")
    assert enrolled.status_code == 202, enrolled.get_json()
    return phone, enrolled.get_json()["request_id"]


def test_workspace_devices_are_listed_for_information_only(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    phone, request_id = _admin_invited_device(client, chain)
    token = console_login(client, harness, "wang.fang", "registrar")
    text = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert f'data-request="{request_id}"' not in text and 'id="no-key-requests"' in text
    devices = text[text.index('id="pending-devices"'):text.index('id="invite"')]
    assert f'data-credit-code="{chain.farm.code}"' in devices and "闽侯蔬菜合作社" in devices
    assert "李娜" in devices and "Redmi 12" in devices and _grouped(phone.key_id) in devices
    assert f"enterprise:{chain.farm.code}/key:{chain.farm.signer.key_id}" in devices
    assert "<form" not in devices

    before = len(_statements(harness))
    refused = post(client, f"{PAGE}requests/{request_id}/approve?lang=en", token)
    assert refused.status_code == 409 and "administrators approve it" in refused.get_data(as_text=True)
    assert post(client, f"{PAGE}requests/{request_id}/reject", token, reason="x").status_code == 409
    assert _request(harness, request_id).status == "pending" and len(_statements(harness)) == before


def test_an_administrator_invite_shows_its_link_and_qr_code_and_enrols_at_once(
        client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    token = console_login(client, harness, "wang.fang", "registrar")
    created = post(client, f"{PAGE}invites?lang=en", token, credit_code=chain.market.code.lower(), staff=" 林 芳 ",
                   hours="48")
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    text = created.get_data(as_text=True)
    link = _LINK.search(text)
    assert link, text
    assert re.fullmatch(r"http://127\.0\.0\.1:5000/workspace/join#invite=twi_[A-Za-z0-9_-]{43}", link.group(1))
    qr = _QR.search(text)
    assert qr
    image = Image.open(io.BytesIO(base64.b64decode(qr.group(1))))
    decoded = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [code.text for code in decoded] == [link.group(1)]
    assert "福州海峡农批市场" in text and "林 芳" in text
    secret = link.group(1).split("#invite=")[1]
    with harness.sessions() as session:
        invite = session.scalars(select(WorkspaceInvite)).one()
        assert (invite.credit_code, invite.staff, invite.role, invite.approval, invite.officer, invite.created_by) \
            == (chain.market.code, "林 芳", "admin", "on_enrol", "wang.fang", "account:wang.fang")
        assert invite.expires_at - invite.created_at == timedelta(hours=48)
        assert secret not in invite.secret_sha256

    phone = Signer(chain.market.code, Ed25519PrivateKey.generate())
    enrolled = _enrol(client, secret, phone, "iPhone 15")
    assert enrolled.status_code == 201 and enrolled.get_json()["status"] == "active", enrolled.get_json()
    added = _statements(harness)[-1]
    with harness.sessions() as session:
        officer_key = session.get(OfficerKey, "wang.fang")
        assert officer_key is not None
    assert added["type"] == "ledger.key.add" and added["key"] == officer_key.key_id
    assert added["body"]["label"] == "workspace:admin:林 芳 / iPhone 15"
    assert "林 芳" not in client.get(f"{PAGE}?lang=en").get_data(as_text=True)  # the link is shown once only


def test_invite_form_errors_are_explained_and_create_nothing(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    token = console_login(client, harness, "wang.fang", "registrar")
    cases = [({"credit_code": "123", "staff": "林芳", "hours": "72"}, "18-character"),
             ({"credit_code": chain.farm.code, "staff": "", "hours": "72"}, "the person&#39;s name"),
             ({"credit_code": chain.farm.code, "staff": "林芳", "hours": "721"}, "1 to 720 hours"),
             ({"credit_code": chain.farm.code, "staff": "林芳", "hours": "0"}, "1 to 720 hours"),
             ({"credit_code": "91350100MA0000000X", "staff": "林芳", "hours": "72"}, "is registered")]
    for form, message in cases:
        refused = post(client, f"{PAGE}invites?lang=en", token, **form)
        assert refused.status_code == 422, form
        assert message in refused.get_data(as_text=True), (form, message)
    with harness.sessions() as session:
        market = session.get(Enterprise, chain.market.code)
        assert market is not None
        market.status = "blacklisted"
        session.commit()
    listed = post(client, f"{PAGE}invites?lang=en", token, credit_code=chain.market.code, staff="林芳", hours="72")
    assert listed.status_code == 422 and "cannot enrol devices" in listed.get_data(as_text=True)
    with harness.sessions() as session:
        assert session.scalars(select(WorkspaceInvite)).all() == []


def test_the_page_is_chinese_by_default(client: Any, harness: LedgerHarness) -> None:
    console_login(client, harness, "wang.fang", "registrar")
    text = client.get(PAGE).get_data(as_text=True)
    assert "密钥与邀请" in text and "邀请企业管理员" in text
    assert csrf_token(client, PAGE)
