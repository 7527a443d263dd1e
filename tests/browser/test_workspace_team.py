"""The administrator's team page in headless Chromium: an admin phone invites a member of staff, the staff phone
enrols through the join link (resending its enrolment after a lost answer), the admin compares the fingerprint and
approves it, then revokes it; the revoked phone's next draft is refused in plain words.

Two phones of the market of ``small_chain``: the admin phone (role ``admin``, enrolled through a registrar's
invite) and the staff phone, each in a browser context of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from tests.api.support import Chain, small_chain
from tests.browser.conftest import PHONE, _fresh_page
from tests.browser.workspace_support import WAIT_MS, core, enrol_phone, ledger_statements
from tests.conftest import LedgerHarness

REVOKED_WORDS = "本手机的密钥已被吊销：不能再代表企业签名。"


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


@pytest.fixture
def staff_phone(chromium: Any) -> Iterator[Any]:
    """A second phone, in a browser context of its own."""
    yield from _fresh_page(chromium, PHONE)


def _ready(page: Any) -> None:
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)


def _sign_in_dialog(page: Any) -> None:
    dialog = page.locator("#ws-confirm")
    dialog.wait_for(state="visible")
    dialog.locator("[data-answer=sign]").click()


def _lose_the_answer(route: Any) -> None:
    """The request reaches the server, its answer never reaches the phone."""
    route.fetch()
    route.abort("internetdisconnected")


def test_admin_invites_approves_and_revokes_a_staff_phone(phone: Any, staff_phone: Any, live_server: str, app: Any,
                                                         harness: LedgerHarness, chain: Chain,
                                                         artifacts: Path) -> None:
    admin = enrol_phone(phone, live_server, app, chain.market, staff="陈经理", role="admin", device="Mi 13",
                        by_registrar=True, harness=harness)
    assert core(phone, "core.currentDevice()")["isAdmin"] is True

    # The admin invites a member of staff by name: the join link as text and as a QR code.
    phone.goto(f"{live_server}/workspace/devices")
    _ready(phone)
    assert phone.locator("[data-ws-admin]").is_visible()
    assert phone.locator("[data-ws-pending-empty]").is_visible()
    phone.locator("#ws-invite-staff").fill("李娜")
    phone.locator("[data-ws-invite]").click()
    phone.locator("[data-ws-invite-result]").wait_for(timeout=WAIT_MS)
    link = phone.locator("[data-ws-invite-link]").inner_text()
    assert link.startswith(f"{live_server}/workspace/join#invite=twi_")
    qr = phone.locator("[data-ws-invite-qr] svg")
    assert qr.get_attribute("aria-label") == link
    qr.screenshot(path=str(artifacts / "workspace-team-qr.png"))
    shot = Image.open(artifacts / "workspace-team-qr.png").convert("L")
    assert [code.text for code in zxingcpp.read_barcodes(shot)] == [link]
    phone.screenshot(path=str(artifacts / "workspace-team-invite.png"), full_page=True)

    # The staff phone opens the link; its first enrolment reaches the server but the answer is lost, so it says
    # "no network"; sent again, the server answers the same device.
    staff_phone.goto(link)
    staff_phone.locator("[data-step=start]").wait_for(timeout=WAIT_MS)
    assert staff_phone.locator("[data-ws-invite-staff]").inner_text() == "李娜"
    staff_phone.locator("#ws-device-name").fill("Redmi Note 13")
    staff_phone.route("**/api/v1/workspace/enrol", _lose_the_answer)
    staff_phone.locator("#ws-enrol").click()
    error = staff_phone.locator("#ws-join-error")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text() == "没有网络。请联网后重试。"
    staff_phone.unroute("**/api/v1/workspace/enrol")
    staff_phone.locator("#ws-enrol").click()
    fingerprint = staff_phone.locator("#ws-fingerprint[data-key-id]")
    fingerprint.wait_for(timeout=WAIT_MS)
    staff_key = fingerprint.get_attribute("data-key-id")
    shown = fingerprint.inner_text()
    assert shown == " ".join(staff_key[i:i + 4] for i in range(0, 16, 4))
    assert staff_phone.locator("[data-step=waiting] h2").inner_text() == "等待批准"
    assert error.is_hidden()
    staff_phone.screenshot(path=str(artifacts / "workspace-team-join-waiting.png"), full_page=True)

    # The admin's team page shows the waiting phone, with the same fingerprint, and approves it.
    pending = phone.locator(f"[data-ws-pending] li[data-key-id='{staff_key}']")
    pending.wait_for(timeout=WAIT_MS)
    assert pending.locator(".ws-fingerprint").inner_text() == shown
    assert "李娜 · Redmi Note 13" in pending.inner_text() and "等待批准" in pending.inner_text()
    phone.screenshot(path=str(artifacts / "workspace-team-pending.png"), full_page=True)
    pending.locator("[data-action=approve]").click()
    active = phone.locator(f"[data-ws-devices] li[data-key-id='{staff_key}']")
    active.wait_for(timeout=WAIT_MS)
    assert "已启用" in active.inner_text()
    assert phone.locator("[data-ws-pending-empty]").is_visible()
    own_card = phone.locator(f"[data-ws-devices] li[data-key-id='{admin.key_id}']")
    assert own_card.locator("[data-action=revoke]").count() == 0  # this phone's one revoke button is above the list
    assert phone.locator("[data-ws-revoke-own]").is_visible()

    # The staff phone opens the workspace by itself; its key is in the ledger under its label.
    staff_phone.wait_for_url(f"{live_server}/workspace/", timeout=WAIT_MS)
    staff_phone.locator("[data-view=active]").wait_for(timeout=WAIT_MS)
    added = ledger_statements(harness, "ledger.key.add")[-1]
    assert added["body"]["subject"] == chain.market.code
    assert added["body"]["label"] == "workspace:staff:李娜 / Redmi Note 13"
    assert core(staff_phone, "core.currentDevice()")["keyId"] == staff_key

    # The admin revokes the staff phone's key from the team page: signed on the admin's phone, with its own key.
    phone.screenshot(path=str(artifacts / "workspace-team-devices.png"), full_page=True)
    active.locator("[data-action=revoke]").click()
    dialog = phone.locator("#ws-confirm")
    dialog.wait_for(state="visible")
    assert staff_key[:4] in dialog.inner_text() and "李娜" in dialog.inner_text()
    phone.screenshot(path=str(artifacts / "workspace-team-revoke-confirm.png"))
    with phone.expect_navigation(timeout=WAIT_MS):  # the page reloads once the revocation is settled
        dialog.locator("[data-answer=sign]").click()
    _ready(phone)
    revoked = ledger_statements(harness, "ledger.key.revoke")[-1]
    assert revoked["author"] == chain.market.code and revoked["key"] == admin.key_id
    assert revoked["body"]["subject"] == chain.market.code and revoked["body"]["key"] == staff_key
    row = phone.locator(f"[data-ws-devices] li[data-key-id='{staff_key}']")
    assert "已吊销" in row.inner_text()
    assert row.locator("[data-action=revoke]").count() == 0
    phone.screenshot(path=str(artifacts / "workspace-team-revoked.png"), full_page=True)

    # The staff phone's next draft is refused with key.revoked, in plain words; its home page says so.
    drafts = core(staff_phone, "core.draft(args)", {"type": "trace.ship", "body": {
        "batch": chain.ref, "quantity": "1", "to": chain.shop.code, "shipment_id": "AFTER-REVOKE"}})
    assert drafts[0]["error"]["code"] == "key.revoked"
    assert core(staff_phone, "core.errorWords(args[0].code, args[0].message)", drafts[0]["error"]) == REVOKED_WORDS
    staff_phone.goto(f"{live_server}/workspace/")
    staff_phone.locator("[data-view=revoked]").wait_for(timeout=WAIT_MS)
    staff_phone.screenshot(path=str(artifacts / "workspace-team-staff-revoked.png"), full_page=True)
    assert phone.js_errors == [] and staff_phone.js_errors == []
