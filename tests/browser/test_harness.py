"""The browser harness itself: the live server answers in Chinese by default and switches to English."""

from __future__ import annotations

from typing import Any


def test_pages_are_chinese_by_default_and_switch_to_english(live_server: str, phone: Any) -> None:
    phone.goto(live_server + "/")
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    assert "查询产品" in phone.locator("h1").inner_text()
    phone.get_by_role("link", name="English").click()
    assert phone.locator("h1").inner_text() == "Check a product"
    phone.goto(live_server + "/ledger")
    assert phone.locator("html").get_attribute("lang") == "en", "the choice is remembered"
    assert phone.js_errors == []
