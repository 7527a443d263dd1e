"""The workspace core in headless Chromium: a phone enrols its own non-extractable Ed25519 key, signs on the device,
queues offline and submits on reconnect, revokes its key; its canonical JSON and hashes equal the reference's.

The phone is the market of ``small_chain`` (it holds 300 kg of the farm's greens); its administrator is the
market's command-line key, which approves the phone through the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.support import Chain, small_chain
from tests.browser.workspace_support import WAIT_MS, core, enrol_phone, ledger_statements
from tests.conftest import LedgerHarness
from trace.settings import ROOT

VECTORS = ROOT / "tests" / "vectors" / "ledger_vectors.json"

#: Reads the device record straight from IndexedDB and tries to export its private key.
EXPORT_PRIVATE_KEY = """async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("trace-workspace");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const record = await new Promise((resolve, reject) => {
    const request = db.transaction("device").objectStore("device").get("current");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const key = record.keys.privateKey;
  let exported = "exported";
  try { await crypto.subtle.exportKey("pkcs8", key); } catch (error) { exported = error.name; }
  return {type: key.type, algorithm: key.algorithm.name, extractable: key.extractable, usages: key.usages, exported};
}"""


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


def _sign_in_dialog(page: Any) -> None:
    dialog = page.locator("#ws-confirm")
    dialog.wait_for(state="visible")
    dialog.locator("[data-answer=sign]").click()


def test_canonical_json_and_statement_hash_equal_the_vectors(phone: Any, live_server: str) -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    phone.goto(f"{live_server}/workspace/")
    for entry in vectors["entries"]:
        canonical, hashed = core(phone, "[core.canonicalJson(args[0]), await core.statementHash(args[0])]",
                                 entry["statement"])
        assert canonical == entry["canonical"]
        assert hashed == entry["statement_hash"]
    for case in vectors["canonical_json"]["accepted"]:
        assert core(phone, "core.canonicalJson(JSON.parse(args[0]))", case["input"]) == case["canonical"]
    # A float never reaches a statement: the shared canonicaliser (ledger-bytes.js) refuses it with the code the
    # public page's verifier reports.
    assert core(phone, "(() => { try { core.canonicalJson({q: 1.5}); return 'accepted'; } "
                       "catch (error) { return [error.name, error.code]; } })()") == ["TypeError", "statement.float"]
    assert core(phone, "core.lotRef('06901234560015', 'B&1/2')") == "01/06901234560015/10/B%261%2F2"


def test_enrol_a_device_key(phone: Any, live_server: str, app: Any, harness: LedgerHarness, chain: Chain,
                            artifacts: Path) -> None:
    phone.goto(f"{live_server}/workspace/")
    phone.locator("[data-view=none]").wait_for()
    phone.screenshot(path=str(artifacts / "workspace-no-device.png"), full_page=True)

    enrolled = enrol_phone(phone, live_server, app, chain.market, staff="王小明", device="Redmi 12")

    key = phone.evaluate(EXPORT_PRIVATE_KEY)
    assert key == {"type": "private", "algorithm": "Ed25519", "extractable": False, "usages": ["sign"],
                   "exported": "InvalidAccessError"}
    added = [statement for statement in ledger_statements(harness, "ledger.key.add")
             if statement["body"]["subject"] == chain.market.code]
    assert added[-1]["body"]["label"] == "workspace:staff:王小明 / Redmi 12"
    device = core(phone, "core.currentDevice()")
    assert device["keyId"] == enrolled.key_id
    assert device["status"] == "active" and device["staff"] == "王小明" and device["isAdmin"] is False
    # The home page shows the enterprise, the holding and the action tiles.
    assert phone.locator("[data-ws-enterprise]").inner_text() == "福州海峡农批市场"
    holding = phone.locator(f"[data-ws-holdings] li[data-ref='{chain.ref}']")
    assert "300" in holding.inner_text() and "青菜" in holding.inner_text()
    assert phone.locator(".ws-tile").count() == 9
    phone.screenshot(path=str(artifacts / "workspace-home.png"), full_page=True)
    # The join page of an enrolled phone goes home.
    phone.goto(f"{live_server}/workspace/join")
    phone.wait_for_url(f"{live_server}/workspace/")
    assert phone.js_errors == []


def test_sign_offline_then_submit_on_reconnect(phone: Any, live_server: str, app: Any, harness: LedgerHarness,
                                               chain: Chain, artifacts: Path) -> None:
    enrolled = enrol_phone(phone, live_server, app, chain.market)
    phone.locator(f"[data-ws-holdings] li[data-ref='{chain.ref}']").wait_for()  # the holdings are cached now
    before = len(ledger_statements(harness))

    phone.context.set_offline(True)
    phone.locator("[data-ws-indicator][data-state=offline]").wait_for()
    shipment = {"batch": chain.ref, "quantity": "40", "to": chain.shop.code, "shipment_id": "OFFLINE-1"}
    sale = {"type": "trace.ship", "body": shipment}
    drafts = core(phone, "core.draft(args)", sale)
    assert drafts[0]["error"] is None and drafts[0]["offline"] is True
    # The offline draft chains on the market's head and links the batch's head, as the server would.
    assert drafts[0]["statement"]["seq"] == 2
    assert list(drafts[0]["statement"]["links"]) == [chain.ref]
    phone.evaluate("async ([drafts]) => { const core = await import('/static/workspace/core.js');"
                   " window.queued = core.confirmSignQueue(drafts, [['Ship 40 kg of 青菜 to 鼓楼生鲜店']]); }",
                   [drafts])
    phone.screenshot(path=str(artifacts / "workspace-confirm.png"))
    _sign_in_dialog(phone)
    queued = phone.evaluate("window.queued")
    assert [item["state"] for item in queued] == ["queued"]
    phone.locator("[data-ws-queue-list] li[data-state=queued]").wait_for()
    phone.locator("[data-ws-badge]").wait_for()
    assert phone.locator("[data-ws-badge]").inner_text() == "1"
    phone.screenshot(path=str(artifacts / "workspace-offline-queue.png"), full_page=True)
    assert len(ledger_statements(harness)) == before  # nothing reached the server

    # A second statement signed offline chains on the first.
    second = core(phone, "core.draft(args)", {"type": "trace.ship", "body": {**shipment, "quantity": "10",
                                                                              "shipment_id": "OFFLINE-2"}})
    assert second[0]["statement"]["seq"] == 3
    assert second[0]["statement"]["prev"] == queued[0]["statementHash"]
    assert second[0]["statement"]["links"] == {chain.ref: queued[0]["statementHash"]}

    # Back online but the submissions still fail (a flaky network): the item stays queued, across a reload.
    phone.route("**/api/v1/events", lambda route: route.abort("internetdisconnected"))
    phone.context.set_offline(False)
    phone.reload()
    phone.locator("[data-ws-queue-list] li[data-state=queued]").wait_for()
    assert len(ledger_statements(harness)) == before

    phone.unroute("**/api/v1/events")
    phone.locator("[data-ws-send-now]").click()
    phone.locator("[data-ws-queue-list] li[data-state=accepted]").wait_for(timeout=WAIT_MS)
    shipped = ledger_statements(harness, "trace.ship")[-1]
    assert shipped["body"] == shipment
    assert shipped["key"] == enrolled.key_id and shipped["author"] == chain.market.code
    items = core(phone, "core.queueItems()")
    assert items[-1]["state"] == "accepted" and items[-1]["index"] == shipped["index"]
    assert phone.locator("[data-ws-badge]").is_hidden()
    holding = phone.locator(f"[data-ws-holdings] li[data-ref='{chain.ref}']")
    phone.wait_for_function("(text) => document.querySelector(text).innerText.includes('260')",
                            arg=f"[data-ws-holdings] li[data-ref='{chain.ref}']")
    assert "260" in holding.inner_text()
    phone.screenshot(path=str(artifacts / "workspace-queue-accepted.png"), full_page=True)
    assert phone.js_errors == []


def test_conflict_from_another_device_is_redrafted(phone: Any, live_server: str, app: Any, harness: LedgerHarness,
                                                   chain: Chain) -> None:
    """A statement signed offline whose seq another key of the enterprise took meanwhile is re-drafted, re-signed
    and accepted; the item records that it was signed again."""
    enrol_phone(phone, live_server, app, chain.market)
    phone.locator(f"[data-ws-holdings] li[data-ref='{chain.ref}']").wait_for()
    phone.context.set_offline(True)
    drafts = core(phone, "core.draft(args)", {"type": "trace.ship", "body": {
        "batch": chain.ref, "quantity": "5", "to": chain.shop.code, "shipment_id": "PHONE-1"}})
    phone.evaluate("async ([drafts]) => { const core = await import('/static/workspace/core.js');"
                   " window.queued = core.confirmSignQueue(drafts, [['ship 5']]); }", [drafts])
    _sign_in_dialog(phone)
    # Meanwhile the market's command-line key ships from the same batch: seq 2 and the batch head move on.
    chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "7", "to": chain.shop.code,
                                                       "shipment_id": "DESK-1"}, [chain.ref])
    phone.context.set_offline(False)
    phone.locator("[data-ws-queue-list] li[data-state=accepted]").wait_for(timeout=WAIT_MS)
    item = core(phone, "core.queueItems()")[-1]
    assert item["resigned"] == 1
    shipped = ledger_statements(harness, "trace.ship")[-1]
    assert shipped["body"]["shipment_id"] == "PHONE-1" and shipped["seq"] == 3


def test_revoke_own_key_from_the_team_page(phone: Any, live_server: str, app: Any, harness: LedgerHarness,
                                           chain: Chain, artifacts: Path) -> None:
    enrolled = enrol_phone(phone, live_server, app, chain.market)
    phone.goto(f"{live_server}/workspace/devices")
    phone.locator("[data-ws-own]").wait_for()
    phone.screenshot(path=str(artifacts / "workspace-team-staff.png"), full_page=True)
    phone.locator("[data-ws-revoke-own]").click()
    with phone.expect_navigation(timeout=WAIT_MS):  # the page reloads once the revocation is settled
        _sign_in_dialog(phone)
    phone.wait_for_function("() => document.body.dataset.ready === 'true'")
    assert phone.locator("[data-ws-own]").is_hidden()  # nothing left to revoke here
    revoked = ledger_statements(harness, "ledger.key.revoke")[-1]
    assert revoked["body"]["key"] == enrolled.key_id and revoked["key"] == enrolled.key_id
    assert revoked["author"] == chain.market.code

    # The next statement is refused with key.revoked, in plain words.
    drafts = core(phone, "core.draft(args)", {"type": "trace.ship", "body": {
        "batch": chain.ref, "quantity": "1", "to": chain.shop.code, "shipment_id": "AFTER-REVOKE"}})
    assert drafts[0]["error"]["code"] == "key.revoked"
    words = core(phone, "core.errorWords(args[0].code, args[0].message)", drafts[0]["error"])
    assert words == "本手机的密钥已被吊销：不能再代表企业签名。"
    # A statement the phone still signs (offline, where nobody can tell it) is refused by the ledger itself.
    phone.context.set_offline(True)
    drafts = core(phone, "core.draft(args)", {"type": "trace.ship", "body": {
        "batch": chain.ref, "quantity": "1", "to": chain.shop.code, "shipment_id": "SIGNED-OFFLINE"}})
    phone.evaluate("async ([drafts]) => { const core = await import('/static/workspace/core.js');"
                   " window.queued = core.confirmSignQueue(drafts, [['ship 1']]); }", [drafts])
    _sign_in_dialog(phone)
    phone.context.set_offline(False)
    items = core(phone, "core.flushQueue({manual: true})")
    assert items[-1]["state"] == "refused"
    assert items[-1]["error"]["code"] == "key.revoked"
    assert items[-1]["error"]["words"] == "本手机的密钥已被吊销：不能再代表企业签名。"
    phone.goto(f"{live_server}/workspace/")
    phone.locator("[data-view=revoked]").wait_for()
    phone.screenshot(path=str(artifacts / "workspace-revoked.png"), full_page=True)
    assert phone.js_errors == []
