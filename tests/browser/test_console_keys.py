"""The registrar approves one key request and rejects another with a reason in a real browser, then invites an
enterprise's workspace administrator: the page shows the join link and a QR code (an inline image the console's
content security policy lets through) that an independent decoder reads back to the link."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from ledger import Signer
from ledger.keys import encode_public_key
from tests.api.support import small_chain
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from trace.access import key_request_message


def _file(app: Any, harness: LedgerHarness, code: str, label: str, seed: int) -> str:
    device = Signer.from_seed(code, bytes([seed]) * 32)
    public = encode_public_key(device.public_key)
    proof = base64.b64encode(device.sign(key_request_message(harness.config.origin, code, public, label))).decode()
    filed = app.test_client().post(f"/api/v1/enterprises/{code}/key-requests",
                                   json={"public_key": public, "label": label, "proof": proof})
    assert filed.status_code == 202
    request_id: str = filed.get_json()["id"]
    return request_id


def test_the_registrar_decides_key_requests_and_invites_an_administrator(
        live_server: str, app: Any, desk: Any, harness: LedgerHarness, artifacts: Path) -> None:
    chain = small_chain(harness)
    approve = _file(app, harness, chain.shop.code, "收银台 2 号机", 1)
    reject = _file(app, harness, chain.farm.code, "来历不明的平板", 2)
    console_browser_login(desk, live_server, harness, "wang.fang", "registrar", lang="zh")
    desk.get_by_role("link", name="密钥与邀请").first.click()
    desk.wait_for_url(f"{live_server}/console/keys/")
    assert desk.locator("#key-requests tbody tr").count() == 2
    desk.screenshot(path=str(artifacts / "console-keys.png"), full_page=True)

    desk.locator(f'tr[data-request="{approve}"]').get_by_role("button", name="批准并登记密钥").click()
    desk.wait_for_url(f"{live_server}/console/keys/")
    assert "已登记，记入账本第" in desk.locator(".banner-ok").inner_text()
    row = desk.locator(f'tr[data-request="{reject}"]')
    row.get_by_placeholder("拒绝理由").fill("无法核实申请人身份")
    row.get_by_role("button", name="拒绝").click()
    desk.wait_for_url(f"{live_server}/console/keys/")
    assert "已拒绝" in desk.locator(".banner-ok").inner_text()
    assert desk.locator("#no-key-requests").is_visible()

    desk.locator("#credit_code").fill(chain.market.code)
    desk.locator("#staff").fill("林芳")
    desk.get_by_role("button", name="生成邀请").click()
    desk.wait_for_url(f"{live_server}/console/keys/invites")
    link = desk.locator("#join-link").input_value()
    assert link.startswith(f"{live_server}/workspace/join#invite=twi_")
    qr = desk.locator("#join-qr")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    shot = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    assert [code.text for code in zxingcpp.read_barcodes(shot, formats=zxingcpp.BarcodeFormat.QRCode)] == [link]
    desk.screenshot(path=str(artifacts / "console-keys-invite.png"), full_page=True)
    assert desk.js_errors == []
