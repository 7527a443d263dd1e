"""An inspector asks for a product's traceability spreadsheet in a real browser, sees the preview and downloads
the XLSX file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from tests.browser.conftest import console_browser_login
from tests.conftest import LedgerHarness
from tests.trace.test_spreadsheet import build_supply


def test_preview_and_download_a_products_spreadsheet(live_server: str, desk: Any, harness: LedgerHarness,
                                                     artifacts: Path, tmp_path: Path) -> None:
    supply = build_supply(harness)
    console_browser_login(desk, live_server, harness, "li.na", "inspector", lang="zh")
    desk.goto(f"{live_server}/console/spreadsheet/")
    desk.locator("#code").fill(f"(01){supply.greens}")
    desk.locator("#from").fill("2026-03-01")
    desk.locator("#to").fill("2026-03-31")
    desk.get_by_role("button", name="查看记录").click()
    desk.wait_for_selector("#sheet-preview")
    assert desk.locator("#sheet-preview").get_attribute("data-count") == "11"
    assert desk.locator("tr[data-kind]").count() == 11
    desk.screenshot(path=str(artifacts / "console-spreadsheet-preview.png"), full_page=True)
    with desk.expect_download() as waiting:
        desk.locator("#download-xlsx").click()
    download = waiting.value
    assert download.suggested_filename == f"traceability-{supply.greens}-2026-03-01-2026-03-31.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved)["追溯记录"]
    assert sheet.max_row == 12 and sheet["A2"].value == "生产/采收"
    desk.locator("#from").fill("2026-03-31")
    desk.locator("#to").fill("2026-03-01")
    desk.get_by_role("button", name="查看记录").click()
    desk.wait_for_selector("#sheet-error")
    assert desk.locator("#sheet-error").get_attribute("data-code") == "spreadsheet.range"
    assert desk.js_errors == []
