"""The public page of demo batches in headless Chromium on a phone-sized screen: the chain back to every
source, the status banner, the credit badges, and the proof checked on the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LedgerHarness, utcnow
from trace.demo import DemoPage, demo_pages, load_demo


@pytest.fixture
def demo(harness: LedgerHarness) -> list[DemoPage]:
    load_demo(harness.sessions, config=harness.config, registrar=harness.keys.registrar, clock=utcnow)
    return demo_pages()


def path_of(page: DemoPage) -> str:
    return urlsplit(page.uri("example.com")).path


def find(pages: list[DemoPage], text: str) -> DemoPage:
    return next(page for page in pages if text in page.title_en.lower())


def test_vegetables_trace_back_to_the_harvest_and_verify_on_the_phone(live_server: str, phone: Any,
                                                                     demo: list[DemoPage], artifacts: Path) -> None:
    phone.goto(live_server + path_of(find(demo, "vegetable")))
    status = phone.locator("#status")
    assert status.get_attribute("data-status") == "normal"
    batches = phone.locator("article.chain-batch")
    assert batches.count() >= 2, "the retail lot was split from the harvested lot"
    steps = phone.locator("article.chain-batch:last-of-type li[data-type]")
    assert steps.first.get_attribute("data-type") == "trace.commission"
    assert "采收" in steps.first.inner_text()
    assert "承诺达标合格证" in phone.locator("#chain").inner_text()
    result = phone.locator("#verify-result")
    result.get_by_text("已在本设备上核验").wait_for()
    assert phone.js_errors == []
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a phone ({width} px)"
    phone.screenshot(path=str(artifacts / "phone-public-page.png"), full_page=True)


def test_the_recalled_formula_shows_its_banner_first(live_server: str, phone: Any, demo: list[DemoPage],
                                                     artifacts: Path) -> None:
    phone.goto(live_server + path_of(find(demo, "recall")) + "?lang=en")
    banner = phone.locator("#status .banner-danger").first
    assert "Recalled" in banner.inner_text()
    top = banner.bounding_box()
    assert top is not None and top["y"] < 200, "the recall banner is the first thing on the screen"
    phone.screenshot(path=str(artifacts / "phone-public-recalled.png"))


def test_the_drug_box_sold_twice_warns_and_the_blacklisted_pharmacy_has_its_badge(
        live_server: str, phone: Any, demo: list[DemoPage]) -> None:
    phone.goto(live_server + path_of(next(page for page in demo if page.serial)) + "?lang=en")
    assert "already sold once before" in phone.locator("#status").inner_text()
    assert "Blacklisted" in phone.locator("#enterprises").inner_text()


def test_readable_without_javascript(chromium: Any, live_server: str, demo: list[DemoPage]) -> None:
    context = chromium.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(live_server + path_of(find(demo, "vegetable")))
        assert page.locator("article.chain-batch").count() >= 2
        verify = page.locator("#verify").inner_text()
        assert "服务器" in verify, "without JavaScript the server's verdict is shown and labelled as such"
    finally:
        context.close()
