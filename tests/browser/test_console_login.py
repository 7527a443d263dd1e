"""An inspector logs in to the console in a real browser, sees their areas, and logs out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness


def test_log_in_see_the_areas_and_log_out(live_server: str, desk: Any, harness: LedgerHarness,
                                         artifacts: Path) -> None:
    desk.goto(f"{live_server}/console/recalls/")
    assert "/console/login" in desk.url
    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")
    assert desk.locator("h1").inner_text() == "监管工作台"
    titles = desk.locator(".area-list strong").all_inner_texts()
    assert "召回" in titles and "账号管理" not in titles
    desk.screenshot(path=str(artifacts / "console-home.png"), full_page=True)
    desk.get_by_role("button", name="退出登录").click()
    desk.wait_for_url(f"{live_server}/console/login")
    assert desk.js_errors == []
