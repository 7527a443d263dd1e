"""The registrar blacklists an enterprise in the console in a real browser; the product page and the public
credit lists show it at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.support import small_chain
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness

BASIS = "《市场监督管理严重违法失信名单管理办法》第七条"


def test_the_registrar_blacklists_and_the_public_pages_show_it(live_server: str, desk: Any, harness: LedgerHarness,
                                                               artifacts: Path) -> None:
    chain = small_chain(harness)
    console_browser_login(desk, live_server, harness, "wang.fang", "registrar", lang="zh")
    desk.goto(f"{live_server}/console/enterprises/?region=3501")
    desk.locator(f'tr[data-credit-code="{chain.market.code}"] a').click()
    desk.wait_for_url(f"{live_server}/console/enterprises/{chain.market.code}")
    desk.get_by_label("严重违法失信名单").check()
    desk.locator("#reason").fill("伪造农药残留检验报告，情节严重")
    desk.locator("#basis").select_option(BASIS)
    desk.locator("#detail").fill("第一款第（三）项")
    desk.get_by_role("button", name="记录决定").click()
    desk.wait_for_url(f"{live_server}/console/enterprises/{chain.market.code}")
    assert "已记入账本第" in desk.locator(".banner-ok").inner_text()
    assert desk.locator("#standing").get_attribute("data-status") == "blacklisted"
    assert f"{BASIS}；第一款第（三）项" in desk.locator("#history").inner_text()
    desk.screenshot(path=str(artifacts / "console-credit-blacklisted.png"), full_page=True)
    desk.goto(f"{live_server}/console/enterprises/?status=blacklisted")
    assert desk.locator("#enterprises tbody tr").count() == 1
    desk.screenshot(path=str(artifacts / "console-credit-list.png"), full_page=True)

    desk.goto(f"{live_server}/01/{chain.gtin}/10/QG-1")
    party = desk.locator(f'#enterprises li[data-credit-code="{chain.market.code}"]')
    assert "严重违法失信名单" in party.locator(".badge-danger").inner_text()
    assert "伪造农药残留检验报告，情节严重" in party.inner_text()
    party.scroll_into_view_if_needed()
    desk.locator("#enterprises").screenshot(path=str(artifacts / "public-page-blacklist-badge.png"))

    desk.get_by_role("link", name="信用名单").click()
    desk.wait_for_url(f"{live_server}/credit-lists")
    listed = desk.locator(f'#list-blacklisted li[data-credit-code="{chain.market.code}"]')
    assert BASIS in listed.inner_text() and "伪造农药残留检验报告" in listed.inner_text()
    desk.goto(f"{live_server}/credit-lists?lang=en")
    assert "Legal basis:" in desk.locator("#list-blacklisted").inner_text()
    desk.screenshot(path=str(artifacts / "credit-lists-en.png"), full_page=True)
    assert desk.js_errors == []
