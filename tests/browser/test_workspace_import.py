"""The workspace's CSV import page in headless Chromium, on the market's phone enrolled through the real join page.

The page offers the shipment template for download (UTF-8 with a byte-order mark, then the header). A file with a
wrong GTIN check digit and a quantity that is not a decimal is reported row by row, column and reason; a file
shipping more than the market holds is refused in the plain words of ``custody.over_quantity``; neither appends
anything. A good file of three shipments is summarised, signed on the phone and appended in one atomic batch: three
``trace.ship`` statements signed by the phone's key, at consecutive entries. Screenshots on a 360×780 phone go to
``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.support import Chain, small_chain
from tests.browser.workspace_support import WAIT_MS, core, enrol_phone, ledger_statements
from tests.conftest import LedgerHarness

BOM = "\ufeff"
SHIP_HEADER = "gtin,lot,quantity,to,shipment_id,carrier,location,time"


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    """The small chain: the market holds 300 kg of the farm's greens QG-1."""
    return small_chain(harness)


def _csv(tmp_path: Path, name: str, header: str, *rows: str) -> str:
    """A CSV file as a spreadsheet program saves it ("CSV UTF-8": a byte-order mark, CRLF line ends)."""
    path = tmp_path / name
    path.write_bytes((BOM + "\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))
    return str(path)


def _choose(page: Any, path: str) -> None:
    page.locator("#import-file").set_input_files(path)


def _report(page: Any) -> list[list[str]]:
    """The report table's rows (row, column, reason), once it is shown."""
    page.locator("#import-report tbody tr").first.wait_for(timeout=WAIT_MS)
    return [[cell.inner_text() for cell in row.locator("td").all()]
            for row in page.locator("#import-report tbody tr").all()]


def _screenshots(page: Any, artifacts: Path, name: str) -> None:
    """What the phone shows (the page scrolls the news into view), and the whole page."""
    page.screenshot(path=artifacts / f"workspace-import-{name}.png")
    page.screenshot(path=artifacts / f"workspace-import-{name}-full.png", full_page=True)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_import_shipments_from_a_csv_file(phone: Any, live_server: str, app: Any, harness: LedgerHarness,
                                          chain: Chain, tmp_path: Path, artifacts: Path) -> None:
    device = enrol_phone(phone, live_server, app, chain.market)
    shop = chain.shop.code
    phone.goto(f"{live_server}/workspace/import")
    phone.locator("#import-type").select_option("trace.ship")

    # (a) The template: the link downloads the file, UTF-8 with a byte-order mark, then the header.
    link = phone.locator("#import-template")
    assert link.get_attribute("href") == "/api/v1/csv-templates/trace.ship.csv"
    with phone.expect_download() as download:
        link.click()
    template = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "trace.ship.csv"
    assert template.startswith(b"\xef\xbb\xbf" + SHIP_HEADER.encode() + b"\r\n")
    assert _fits(phone), "the page scrolls sideways"
    phone.screenshot(path=artifacts / "workspace-import.png", full_page=True)
    before = len(ledger_statements(harness))

    # (b) Two bad rows: each reported with its row, column and reason; the good row does not hide them.
    bad_gtin = chain.gtin[:-1] + str((int(chain.gtin[-1]) + 1) % 10)
    _choose(phone, _csv(tmp_path, "bad.csv", SHIP_HEADER,
                        f"{bad_gtin},QG-1,10,{shop},M-101,,,",
                        f"{chain.gtin},QG-1,10,{shop},M-102,,,",
                        f"{chain.gtin},QG-1,十公斤,{shop},M-103,,,"))
    rows = _report(phone)
    assert [row[:2] for row in rows] == [["2", "gtin\n商品条码"], ["4", "quantity\n数量"]]
    reasons = phone.locator("#import-report .import-reason").all_inner_texts()
    details = phone.locator("#import-report .import-detail").all_inner_texts()
    assert reasons == ["不是有效的商品条码（GTIN）：请核对数字，最后一位是校验位。",
                       "数量必须是大于零的数字，例如 500 或 12.5。"]
    assert bad_gtin in details[0] and "check digit" in details[0]
    assert "十公斤" in details[1]
    assert phone.locator(".act-status").inner_text().startswith("发现 2 个问题，未签名任何记录。")
    assert phone.locator("#import-summary").is_hidden()
    assert _fits(phone), "the report scrolls the page sideways"
    _screenshots(phone, artifacts, "problems")
    assert len(ledger_statements(harness)) == before

    # (c) One row ships more than the market holds: the row's refusal in plain words, nothing to sign.
    _choose(phone, _csv(tmp_path, "over.csv", SHIP_HEADER, f"{chain.gtin},QG-1,400,{shop},M-201,,,"))
    rows = _report(phone)
    assert rows == [["2", "", core(phone, "core.errorWords('custody.over_quantity', '')")]]
    assert rows[0][2] == "数量超过了贵企业持有的该批次数量。"
    assert phone.locator("#import-summary").is_hidden()
    _screenshots(phone, artifacts, "refused")
    assert len(ledger_statements(harness)) == before

    # (d) Three good shipments: the summary, signed on the phone, appended together.
    _choose(phone, _csv(tmp_path, "good.csv", "批号,商品条码,数量,收货方,发货单号",
                        f"QG-1,{chain.gtin},50,{shop},M-301",
                        f"QG-1,{chain.gtin},60,{shop},M-302",
                        f"QG-1,{chain.gtin},70.5,{shop},M-303"))
    summary = phone.locator("#import-summary")
    summary.wait_for(timeout=WAIT_MS)
    assert summary.locator("li").all_inner_texts() == ["3 行：3 笔发货", "共 180.5 千克"]
    assert phone.locator("#import-report").is_hidden()
    _screenshots(phone, artifacts, "summary")
    assert len(ledger_statements(harness)) == before
    phone.locator("#import-sign").click()
    outcome = phone.locator(".act-outcome[data-state=accepted]")
    outcome.wait_for(timeout=WAIT_MS)

    appended = ledger_statements(harness)[before:]
    assert [statement["type"] for statement in appended] == ["trace.ship"] * 3
    assert {(statement["author"], statement["key"]) for statement in appended} == {(chain.market.code, device.key_id)}
    assert [statement["body"] for statement in appended] == [
        {"batch": chain.ref, "quantity": quantity, "to": shop, "shipment_id": shipment_id}
        for quantity, shipment_id in (("50", "M-301"), ("60", "M-302"), ("70.5", "M-303"))]
    indexes = [statement["index"] for statement in appended]
    assert indexes == list(range(indexes[0], indexes[0] + 3))
    assert outcome.inner_text() == f"已记录：3 条，账本条目 {indexes[0]} 至 {indexes[2]}。"
    _screenshots(phone, artifacts, "done")
    assert phone.js_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_import_page_on_a_phone(phone: Any, live_server: str, app: Any, chain: Chain, tmp_path: Path,
                                    artifacts: Path, lang: str) -> None:
    enrol_phone(phone, live_server, app, chain.market)
    phone.goto(f"{live_server}/workspace/import?lang={lang}")
    options = phone.locator("#import-type option")
    assert options.count() == 8
    for value in options.evaluate_all("options => options.map(option => option.value)"):
        phone.locator("#import-type").select_option(value)
        assert phone.locator("#import-template").get_attribute("href") == f"/api/v1/csv-templates/{value}.csv"
        response = phone.request.get(f"{live_server}/api/v1/csv-templates/{value}.csv")
        assert response.status == 200 and response.body().startswith(b"\xef\xbb\xbf")
    assert _fits(phone), "the page scrolls sideways"
    box = phone.locator("#import-template").bounding_box()
    assert box is not None and box["height"] >= 44
    phone.screenshot(path=artifacts / f"workspace-import-{lang}.png", full_page=True)

    # A receiver's credit code with a wrong check character, in the page's language, and the whole-file problem
    # of a header naming a column the template does not have.
    phone.locator("#import-type").select_option("trace.ship")
    wrong = chain.shop.code[:-1] + ("0" if chain.shop.code[-1] != "0" else "1")
    _choose(phone, _csv(tmp_path, "wrong.csv", SHIP_HEADER, f"{chain.gtin},QG-1,10,{wrong},M-1,,,"))
    assert _report(phone)[0][:2] == ["2", "to\n收货方"]
    assert phone.locator("#import-report .import-reason").inner_text() == {
        "zh": "不是有效的统一社会信用代码（18 位，最后一位是校验码）。",
        "en": "This is not a valid unified social credit code (18 characters, the last one a check character)."}[lang]
    _choose(phone, _csv(tmp_path, "header.csv", "gtin,lot,qty,to,shipment_id", f"{chain.gtin},QG-1,10,{wrong},M-1"))
    phone.locator("#import-report tr[data-code='csv.column_unknown']").wait_for(timeout=WAIT_MS)
    assert [row[:2] for row in _report(phone)] == [["1", "qty"], ["1", "quantity\n数量"]]
    assert _fits(phone), "the report scrolls the page sideways"
    _screenshots(phone, artifacts, f"header-{lang}")
    assert phone.js_errors == []
