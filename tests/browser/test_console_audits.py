"""An inspector starts an integrity audit of the live ledger in a real browser, watches its progress (the page's
script polls the server) until it finishes, and reads the report; a later audit of another history is flagged."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.support import small_chain
from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from tests.console.test_audits import replace_ledger
from trace import audit_runner


def test_start_an_audit_watch_it_finish_and_read_the_report(live_server: str, desk: Any, harness: LedgerHarness,
                                                           artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_chain(harness)
    reached, release = threading.Event(), threading.Event()
    real = audit_runner.audit_live

    def held(*args: Any, **kwargs: Any) -> Any:
        """The real audit, held after its first progress report until the test has looked at the page."""
        kwargs["progress"]("verifying", 4, 11)
        reached.set()
        release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(audit_runner, "audit_live", held)

    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")
    desk.goto(f"{live_server}/console/audits/")
    assert desk.locator("h1").inner_text() == "完整性审计"
    assert desk.get_by_text("尚未进行过审计。").is_visible()
    try:
        desk.get_by_role("button", name="开始审计").click()
        desk.wait_for_url(re.compile(r".*/console/audits/\d+$"))
        assert reached.wait(10)
        # The page may have been drawn before the first progress report: the script brings it up to date.
        expect(desk.locator(".audit-progress-text")).to_have_text("已核验 4 / 11 个条目")
        assert desk.locator(".audit-phase").inner_text() == "正在核验条目"
        assert desk.locator("progress").get_attribute("max") == "11"
        desk.screenshot(path=str(artifacts / "console-audit-running.png"), full_page=True)
    finally:
        release.set()
    # The script sees the audit finish and reloads the page, which now shows the report.
    desk.locator(".banner-ok").wait_for(timeout=30_000)
    assert desk.locator(".banner-ok").inner_text().startswith("完整：已核验 11 个条目")
    assert desk.locator(".audit-progress").count() == 0
    facts = desk.locator("table.audit-facts").inner_text()
    assert "li.na" in facts and "trace.audit.report" in facts and "JSON 报告的 SHA-256" in facts
    assert desk.get_by_text("本次审计之前没有记录过检查点。").is_visible()
    desk.screenshot(path=str(artifacts / "console-audit-report.png"), full_page=True)

    with desk.expect_download() as download:
        desk.get_by_role("link", name="下载报告（JSON）").click()
    assert download.value.suggested_filename.startswith("audit-")

    desk.goto(f"{live_server}/console/audits/?lang=en")
    assert desk.locator("table.audit-list .badge-ok").inner_text() == "Intact"
    assert desk.locator("details summary.mono").count() == 1  # its checkpoint is remembered
    desk.screenshot(path=str(artifacts / "console-audits-list.png"), full_page=True)

    # The operator swaps in another history of the same size: the next audit flags the fork in red.
    monkeypatch.setattr(audit_runner, "audit_live", real)
    replace_ledger(harness, small_chain)
    desk.get_by_role("button", name="Start the audit").click()
    desk.locator(".banner-danger.audit-flag").wait_for(timeout=30_000)
    assert "Fork or rollback" in desk.locator(".banner-danger.audit-flag").inner_text()
    assert desk.locator("tr.audit-flagged .badge-danger").inner_text() == "not consistent"
    desk.screenshot(path=str(artifacts / "console-audit-fork.png"), full_page=True)
    desk.get_by_role("link", name="Integrity audits").first.click()
    assert desk.locator(".audit-list tr.audit-flagged").count() == 1
    desk.screenshot(path=str(artifacts / "console-audits-flagged.png"), full_page=True)
    assert desk.js_errors == []
