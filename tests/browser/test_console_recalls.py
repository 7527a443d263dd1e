"""An inspector starts a recall in a real browser: types the batch's Digital Link, previews the scope, chooses the
risk level, starts it, and sees every holder and the downstream scope; the public page shows the banner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from tests.trace.test_recall_scope import build_scene


def test_start_a_recall_and_see_its_scope(live_server: str, desk: Any, harness: LedgerHarness,
                                          artifacts: Path) -> None:
    scene = build_scene(harness)
    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")
    desk.goto(f"{live_server}/console/recalls/")
    desk.locator("#start-recall").click()
    desk.wait_for_url(f"{live_server}/console/recalls/new")
    gtin14 = scene.a.split("/")[1]
    desk.locator("#batch").fill(f"https://example.com/01/{gtin14}/10/E-1")
    desk.locator("#reason").fill("自检发现沙门氏菌")
    desk.locator("#preview-button").click()
    desk.locator("#preview").wait_for()
    assert desk.locator("#batch").input_value() == f"https://example.com/01/{gtin14}/10/E-1"
    assert desk.locator("#reason").input_value() == "自检发现沙门氏菌"
    assert "6 家企业" in desk.locator("#preview").inner_text()
    desk.get_by_label("一级").check()
    desk.screenshot(path=str(artifacts / "console-recall-new.png"), full_page=True)
    desk.locator("#start").click()
    desk.wait_for_url(f"{live_server}/console/recalls/*")
    assert desk.locator("#status").inner_text() == "进行中"
    holders = desk.locator("#holders tbody tr")
    assert holders.count() == 6
    shop = desk.locator(f'#holders tr[data-party="{scene.shop.code}"]')
    assert shop.locator(".held").inner_text() == "6 KGM" and shop.locator(".in-transit").inner_text() == "10 KGM"
    assert desk.locator(f'#scope-table tr[data-batch="{scene.pallet}"]').count() >= 1
    assert desk.locator("#close-form").count() == 0  # closing is the registrar's
    desk.screenshot(path=str(artifacts / "console-recall-scope.png"), full_page=True)
    desk.goto(f"{live_server}/{scene.m}")
    assert desk.locator("#status").get_attribute("data-status") == "recalled"
    assert desk.js_errors == []
