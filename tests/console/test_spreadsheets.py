"""The traceability spreadsheet in the console: the form, the preview with its count, the XLSX and CSV downloads
read back, who may use it, and every bad request answered with its reason."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import LedgerHarness
from tests.console.support import console_login
from tests.trace.test_spreadsheet import WRONG_DIGIT, Supply, build_supply
from tests.trace.world import gtin

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def supply(harness: LedgerHarness) -> Supply:
    return build_supply(harness)


def _kinds(html: str) -> list[str]:
    return re.findall(r'<tr data-kind="([a-z_]+)"', html)


def test_the_form_starts_with_the_last_thirty_days(harness: LedgerHarness, client: Any) -> None:
    console_login(client, harness, "li.na", "inspector")
    response = client.get("/console/spreadsheet/?lang=en")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'name="code"' in html and 'type="date"' in html and "sheet-preview" not in html


def test_an_inspector_previews_a_product_and_downloads_both_files(harness: LedgerHarness, client: Any,
                                                                  supply: Supply) -> None:
    console_login(client, harness, "li.na", "inspector")
    response = client.get(f"/console/spreadsheet/?kind=product&code={supply.greens}&{MARCH}&lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-count="11"' in html and "11 rows from 2026-03-01 to 2026-03-31" in html
    assert _kinds(html) == ["commission", "commission", "ship", "receive", "transform_input", "transform_output",
                            "ship", "receive", "sell", "destroy", "sell"]
    assert "Commissioning" in html and "Minhou Greens" in html and "corrected by entry" in html
    assert f'/api/v1/ledger/entries/{supply.entries["commission"]}/bundle' in html

    xlsx = client.get(f"/console/spreadsheet/export.xlsx?kind=product&code={supply.greens}&{MARCH}")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx.headers["Content-Disposition"] == \
        f'attachment; filename="traceability-{supply.greens}-2026-03-01-2026-03-31.xlsx"'
    assert xlsx.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(xlsx.data))["Traceability"]  # the language the officer chose
    assert sheet.max_row == 12 and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:U12"
    assert [sheet.cell(row, 1).value for row in (2, 4, 5)] == ["Commissioning", "Shipping", "Receiving"]
    assert sheet["B2"].is_date and sheet["H4"].value == 300

    data = client.get(f"/console/spreadsheet/export.csv?kind=product&code={supply.greens}&{MARCH}&lang=zh").data
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:3] == ["事件", "日期时间", "UTC偏移"] and len(table) == 12
    assert [line[0] for line in table[1:4]] == ["生产/采收", "生产/采收", "发货"]


def test_a_registrar_previews_one_batch_by_its_gs1_code(harness: LedgerHarness, client: Any, supply: Supply) -> None:
    console_login(client, harness, "wang.fang", "registrar")
    code = f"(01){supply.greens}(10)L1"
    html = client.get("/console/spreadsheet/", query_string={"kind": "batch", "code": code, "from": "2026-03-01",
                                                             "to": "2026-03-31", "lang": "en"}).get_data(as_text=True)
    assert _kinds(html) == ["commission", "ship", "receive", "transform_input"]
    csv_file = client.get("/console/spreadsheet/export.csv", query_string={
        "kind": "batch", "code": code, "from": "2026-03-01", "to": "2026-03-31"})
    assert csv_file.headers["Content-Disposition"] == \
        f'attachment; filename="traceability-{supply.greens}-L1-2026-03-01-2026-03-31.csv"'
    none = client.get(f"/console/spreadsheet/?kind=product&code={supply.greens}&from=2025-01-01&to=2025-01-31"
                      "&lang=en").get_data(as_text=True)
    assert 'data-count="0"' in none and "No event of this product or batch falls in these dates" in none


def test_an_administrator_alone_may_not_use_it(harness: LedgerHarness, client: Any, supply: Supply) -> None:
    console_login(client, harness, "admin.zhao", "administrator")
    assert client.get("/console/spreadsheet/").status_code == 403
    assert client.get(f"/console/spreadsheet/export.xlsx?code={supply.greens}&{MARCH}").status_code == 403


@pytest.mark.parametrize(("query", "status", "code", "words"), [
    (f"kind=product&code={WRONG_DIGIT}&{MARCH}", 422, "spreadsheet.code", "check digit wrong"),
    ("kind=product&code=spinach&" + MARCH, 422, "spreadsheet.code", "is not a product link"),
    (f"kind=product&code={gtin('6909999', 9)}&{MARCH}", 404, "not_found.product", "is not defined"),
    ("kind=batch&code={greens}&" + MARCH, 422, "spreadsheet.code", "needs its lot"),
    ("kind=batch&code={greens}/NOPE&" + MARCH, 404, "not_found.batch", "is not in the ledger"),
    ("kind=product&code={greens}&from=2026-03-31&to=2026-03-01", 422, "spreadsheet.range", "after the to date"),
    ("kind=product&code={greens}&from=2025-01-01&to=2026-03-01", 422, "spreadsheet.range", "at most 366 days"),
    ("kind=product&code={greens}&from=2026-02-30&to=2026-03-01", 422, "spreadsheet.date", "must be a date"),
])
def test_bad_requests_are_explained(harness: LedgerHarness, client: Any, supply: Supply, query: str, status: int,
                                    code: str, words: str) -> None:
    console_login(client, harness, "li.na", "inspector")
    query = query.replace("{greens}", supply.greens)
    for path in ("/console/spreadsheet/", "/console/spreadsheet/export.xlsx", "/console/spreadsheet/export.csv"):
        response = client.get(f"{path}?{query}&lang=en")
        assert response.status_code == status, (path, response.status_code)
        html = response.get_data(as_text=True)
        assert f'data-code="{code}"' in html and words in html
        assert "sheet-preview" not in html
    chinese = client.get(f"/console/spreadsheet/?{query}&lang=zh").get_data(as_text=True)
    assert 'id="sheet-error"' in chinese and "The spreadsheet" not in chinese


def test_an_unknown_format_is_refused(harness: LedgerHarness, client: Any, supply: Supply) -> None:
    console_login(client, harness, "li.na", "inspector")
    response = client.get(f"/console/spreadsheet/export.pdf?code={supply.greens}&{MARCH}&lang=en")
    assert response.status_code == 422 and "Choose XLSX or CSV" in response.get_data(as_text=True)
