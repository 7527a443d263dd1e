"""An inspector looks at the risk warnings in a real browser and escalates one, signing the review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.support import small_chain
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness


def test_see_the_warnings_and_escalate_one(live_server: str, desk: Any, harness: LedgerHarness,
                                          artifacts: Path) -> None:
    chain = small_chain(harness)
    world = chain.world
    world.act(chain.market.signer, "trace.sensor", {
        "batch": chain.ref, "measurement": "temperature", "uom": "CEL", "minimum": "0", "maximum": "4",
        "readings": [{"time": world.time().isoformat(), "value": value} for value in ("3.5", "9.8", "12.4")]},
        [chain.ref])
    world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "40", "to": chain.shop.code,
                                                  "shipment_id": "M-1"}, [chain.ref])
    world.act(chain.shop.signer, "trace.receive", {"shipment": {"from": chain.market.code, "id": "M-1"},
                                                   "quantity": "36", "discrepancy": "4 kg 腐烂"}, [chain.ref])
    world.advance(hours=-96)
    world.act(chain.shop.signer, "trace.sell", {"batch": chain.ref, "quantity": "5"}, [chain.ref])
    world.advance(hours=96)

    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")
    desk.goto(f"{live_server}/console/risks/")
    assert desk.locator("h1").inner_text() == "风险预警"
    assert desk.locator("#risk-summary").inner_text() == "3 条预警"
    cold = desk.locator("#rule-cold_chain-excursion article")
    assert cold.count() == 1
    assert "1 份传感器报告中有 2 个温湿度读数超出允许范围" in cold.locator(".risk-finding").inner_text()
    assert "12.4 CEL" in cold.locator(".risk-evidence").inner_text()
    desk.screenshot(path=str(artifacts / "console-risks.png"), full_page=True)

    cold.locator(".risk-review-form summary").click()
    cold.get_by_label("已升级处置").check()
    cold.locator("input[name=note]").fill("冷链断链，约谈企业并考虑召回")
    cold.get_by_role("button", name="签名并记录审核").click()
    desk.wait_for_load_state()
    assert "审核已记入账本" in desk.locator(".banner-ok[role=status]").inner_text()
    review = desk.locator("#rule-cold_chain-excursion .risk-review")
    assert "已升级处置：li.na" in review.inner_text() and "冷链断链" in review.inner_text()
    assert review.get_by_role("link", name="对该批次发起召回").get_attribute("href") == \
        f"/console/recalls/new?batch={chain.ref}"
    cold.screenshot(path=str(artifacts / "console-risks-reviewed.png"))
    desk.locator("input[name=reviewed]").check()
    desk.get_by_role("button", name="筛选").click()
    desk.wait_for_load_state()
    assert desk.locator("#risk-summary").inner_text() == "2 条预警"
    assert desk.locator("#rule-cold_chain-excursion").count() == 0
    desk.screenshot(path=str(artifacts / "console-risks-reviewed-hidden.png"), full_page=True)
    assert desk.js_errors == []
