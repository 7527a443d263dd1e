"""An inspector handles a complaint in a real browser: finds it in the queue (overdue, marked), opens it,
assigns it, answers the complainant with a new status, and the complainant's page shows the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.api.support import make_account, small_chain
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from tests.console.test_complaints import HOSTILE, file_complaint
from trace.complaint_models import Complaint


def test_an_inspector_handles_a_complaint(live_server: str, app: Any, desk: Any, harness: LedgerHarness,
                                         artifacts: Path) -> None:
    chain = small_chain(harness)
    late, key = file_complaint(app, chain.ref, description="青菜里有一根铁丝，长约 3 厘米。\n" + HOSTILE)
    file_complaint(app, chain.ref, category="quality", description="叶子发黄腐烂，闻起来有异味。")
    with harness.sessions() as session:
        row = session.get(Complaint, late)
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(days=2, hours=5, minutes=1)
        session.commit()
    make_account(harness, "zhao.lei", "inspector")
    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")

    desk.goto(f"{live_server}/console/complaints/")
    assert desk.locator("h1").inner_text() == "投诉处理"
    first = desk.locator("#queue tbody tr").first
    assert first.get_attribute("id") == f"row-{late}"
    assert "逾期 2 天 5 小时" in first.locator("td.overdue").inner_text()
    desk.screenshot(path=str(artifacts / "console-complaints-queue.png"), full_page=True)

    first.locator("a").click()
    desk.wait_for_url(f"{live_server}/console/complaints/{late}")
    assert desk.locator("#overdue-banner").is_visible()
    assert HOSTILE.replace("\u202e", "") in desk.locator("#description").inner_text(), "shown as text"
    desk.locator("#assignee-choice").select_option("zhao.lei")
    desk.locator("#assign button").click()
    desk.wait_for_url(f"{live_server}/console/complaints/{late}")
    assert desk.locator("#assignee").inner_text() == "zhao.lei"
    desk.locator("#new-status").select_option("investigating")
    desk.locator("#reply-text").fill("您好，我们已派员抽检该批次，三个工作日内答复。")
    desk.get_by_role("button", name="记录").click()
    desk.wait_for_url(f"{live_server}/console/complaints/{late}")
    assert desk.locator("#status").inner_text() == "调查中"
    assert desk.locator("#history li[data-action=status] .complaint-text").inner_text().startswith("您好")
    desk.screenshot(path=str(artifacts / "console-complaint.png"), full_page=True)
    assert desk.js_errors == []

    desk.goto(f"{live_server}/complaints/{late}?key={key}")
    assert "我们已派员抽检" in desk.locator("#timeline").inner_text()
