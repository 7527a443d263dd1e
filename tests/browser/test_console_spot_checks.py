"""An inspector makes a double-random draw in a real browser, records a result for one of their orders, and the
public page shows the draw with how to re-run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.support import make_account
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from tests.console.test_spot_checks import _world


def test_draw_record_a_result_and_see_the_public_record(live_server: str, desk: Any, harness: LedgerHarness,
                                                        artifacts: Path) -> None:
    _world(harness)
    make_account(harness, "bob", "inspector")
    console_browser_login(desk, live_server, harness, "alice", "inspector", lang="zh")
    desk.goto(f"{live_server}/console/spot-checks/")
    desk.locator("#new-draw").click()
    desk.locator("#region").fill("35")
    desk.locator("#targets").fill("3")
    desk.locator("#per_target").fill("2")
    desk.screenshot(path=str(artifacts / "console-spot-check-form.png"), full_page=True)
    desk.locator("#draw-button").click()
    desk.wait_for_url(f"{live_server}/console/spot-checks/draws/*")
    assert desk.locator("#draw-checked").is_visible()
    assert desk.locator("#targets tbody tr").count() == 6, "3 targets, 2 inspectors each (the whole pool)"
    desk.screenshot(path=str(artifacts / "console-spot-check-draw.png"), full_page=True)

    desk.locator(".result-details summary").first.click()
    form = desk.locator("form.result-form").first
    form.locator("select").select_option("non_conformant")
    form.locator("textarea").fill("标签未标注生产日期")
    form.get_by_role("button").click()
    desk.wait_for_url(f"{live_server}/console/spot-checks/draws/*")
    assert desk.locator(".banner-ok").first.inner_text().startswith("检查结果已记入账本条目")
    assert desk.locator("#targets .badge-danger").count() == 1
    assert desk.locator("form.result-form").count() == 2, "alice still has two open orders"
    desk.screenshot(path=str(artifacts / "console-spot-check-result.png"), full_page=True)

    desk.get_by_role("link", name="本次抽取的公示页面（含重新运行方法）").click()
    desk.wait_for_url(f"{live_server}/spot-checks/*")
    assert desk.locator("#draw-checked").is_visible()
    assert "标签未标注生产日期" in desk.locator("#targets").inner_text()
    assert "python -m trace redraw" in desk.locator("#rerun").inner_text()
    desk.screenshot(path=str(artifacts / "public-spot-check.png"), full_page=True)
    desk.goto(f"{live_server}/console/spot-checks/?lang=en")
    assert desk.locator("#my-orders tbody tr").count() == 2
    desk.screenshot(path=str(artifacts / "console-spot-checks-en.png"), full_page=True)
    assert desk.js_errors == []
