"""The traceability spreadsheet: rows with their key data elements for a product or a lot over a date range,
the XLSX and CSV files read back, the command line, and every bad request refused with its reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, Actor, World, credit_code, gtin, lot, sscc
from trace.__main__ import main
from trace.identifiers import gs1_check_digit
from trace.policy import TracePolicy
from trace.queries import NotFound
from trace.spreadsheet import (
    MAX_DAYS,
    Period,
    Row,
    SpreadsheetError,
    batch_scope,
    build_rows,
    parse_period,
    product_scope,
    read_code,
)
from trace.spreadsheet_files import COLUMNS, write_csv, write_xlsx

URL = "https://trace.example/api/v1/ledger/entries/{index}/bundle"
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
FIELD_GLN = "690123400001" + gs1_check_digit("690123400001")
GREENS = gtin("6909999", 1)
WRONG_DIGIT = GREENS[:-1] + str((int(GREENS[-1]) + 1) % 10)


@dataclass
class Supply:
    """Greens harvested by a farm, sold to a market that repacks part of them and ships the rest on a pallet to a
    shop, which sells and destroys some; a second lot is shipped a month later."""

    world: World
    farm: Actor
    market: Actor
    shop: Actor
    greens: str
    packs: str
    first: str
    second: str
    repacked: str
    pallet: str
    entries: dict[str, int]


def build_supply(harness: LedgerHarness) -> Supply:
    world = World(harness, start=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))  # 10:00 in China
    farm = world.enterprise(credit_code("350121", 71, "93"), ["producer"], "闽侯绿叶合作社", name_en="Minhou Greens",
                            locations=[{"id": "field", "name": "一号田", "address": "闽侯县青口镇", "gln": FIELD_GLN}])
    market = world.enterprise(credit_code("350102", 72), ["wholesaler", "processor"], "海峡农批")
    shop = world.enterprise(credit_code("350103", 73), ["retailer"], "鼓楼生鲜")
    greens, packs = gtin("6909999", 1), gtin("6909999", 2)
    world.product(farm, greens, "青菜", "farm")
    world.product(market, packs, "净菜包", "food")
    first, second, repacked = lot(greens, "L1"), lot(greens, "L2"), lot(greens, "L1B")
    certificate = [{"kind": "compliance_promise", "sha256": CERT, "number": "HG-001"}]
    entries = {}
    entries["commission"] = world.act(farm.signer, "trace.commission", {
        "gtin": greens, "lot": "L1", "quantity": "500", "unit": "KGM", "produced_on": "2026-03-01",
        "activity": "harvest", "location": "field", "certificates": certificate}, [first])
    world.act(farm.signer, "trace.commission", {"gtin": greens, "lot": "L2", "quantity": "100", "unit": "KGM",
                                                "produced_on": "2026-03-01", "certificates": certificate}, [second])
    world.advance(days=1)
    entries["ship"] = world.act(farm.signer, "trace.ship", {"batch": first, "quantity": "300", "to": market.code,
                                                            "shipment_id": "S-1", "location": "field"}, [first])
    world.advance(hours=1)
    entries["receive"] = world.act(market.signer, "trace.receive", {
        "shipment": {"from": farm.code, "id": "S-1"}, "quantity": "290", "discrepancy": "10 kg spoiled"}, [first])
    world.advance(days=1)
    entries["transform"] = world.act(market.signer, "trace.transform", {
        "kind": "repack", "inputs": [{"batch": first, "quantity": "290"}],
        "outputs": [{"gtin": packs, "lot": "PK1", "quantity": "200", "unit": "KGM"},
                    {"gtin": greens, "lot": "L1B", "quantity": "90", "unit": "KGM", "certificates": certificate}]},
        [first, lot(packs, "PK1"), repacked])
    pallet_code = sscc(71)
    pallet = f"00/{pallet_code}"
    world.advance(days=1)
    world.act(market.signer, "trace.aggregate", {"sscc": pallet_code, "contents": [{"batch": repacked,
                                                                                    "quantity": "90"}]},
              [repacked, pallet])
    entries["pallet_ship"] = world.act(market.signer, "trace.ship", {"batch": pallet, "quantity": "1",
                                                                     "to": shop.code, "shipment_id": "P-1"}, [pallet])
    world.advance(hours=2)
    entries["pallet_receive"] = world.act(shop.signer, "trace.receive", {
        "shipment": {"from": market.code, "id": "P-1"}, "quantity": "1"}, [pallet])
    world.act(shop.signer, "trace.disaggregate", {"sscc": pallet_code}, [pallet, repacked])
    world.now = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)  # 2026-03-06 00:30 in China
    entries["sell"] = world.act(shop.signer, "trace.sell", {"batch": repacked, "quantity": "40"}, [repacked])
    world.advance(hours=1)
    entries["destroy"] = world.act(shop.signer, "trace.destroy", {"batch": repacked, "quantity": "10",
                                                                  "reason": "=packaging torn"}, [repacked])
    world.advance(minutes=5)
    entries["wrong_sale"] = world.act(shop.signer, "trace.sell", {"batch": repacked, "quantity": "5"}, [repacked])
    entries["correct"] = world.act(shop.signer, "trace.correct", {"entry": entries["wrong_sale"],
                                                                  "reason": "typed the wrong lot"}, [repacked])
    world.now = datetime(2026, 4, 9, 2, 0, tzinfo=UTC)
    entries["april"] = world.act(farm.signer, "trace.ship", {"batch": second, "quantity": "50", "to": market.code,
                                                             "shipment_id": "S-2"}, [second])
    return Supply(world, farm, market, shop, greens, packs, first, second, repacked, pallet, entries)


@pytest.fixture
def supply(harness: LedgerHarness) -> Supply:
    return build_supply(harness)


def _rows(harness: LedgerHarness, code: str, period: Period, *, batch: bool = False,
          english: bool = False) -> list[Row]:
    with harness.sessions() as session:
        scope = batch_scope(session, code) if batch else product_scope(session, code)
        return build_rows(session, scope, period, entry_url=URL, english=english)


def test_a_product_over_a_month_has_every_kde_row(harness: LedgerHarness, supply: Supply) -> None:
    rows = _rows(harness, supply.greens, MARCH)
    assert [(row.kind, row.lot, row.quantity) for row in rows] == [
        ("commission", "L1", Decimal(500)), ("commission", "L2", Decimal(100)), ("ship", "L1", Decimal(300)),
        ("receive", "L1", Decimal(290)), ("transform_input", "L1", Decimal(290)),
        ("transform_output", "L1B", Decimal(90)), ("ship", "L1B", Decimal(90)), ("receive", "L1B", Decimal(90)),
        ("sell", "L1B", Decimal(40)), ("destroy", "L1B", Decimal(10)), ("sell", "L1B", Decimal(5))]
    harvest, _, ship, receive, consumed, made, pallet_ship, pallet_receive, sale, destroyed, wrong = rows
    assert harvest.entry_index == supply.entries["commission"] and harvest.gtin == supply.greens
    assert harvest.product == "青菜 · standard" and harvest.unit == "KGM" and harvest.note == "采收"
    assert harvest.to_code == supply.farm.code and harvest.to_name == "闽侯绿叶合作社" and harvest.from_code == ""
    assert (harvest.location_name, harvest.location_gln, harvest.location_address) == ("一号田", FIELD_GLN,
                                                                                        "闽侯县青口镇")
    assert harvest.documents == f"承诺达标合格证 HG-001 sha256:{CERT}"
    assert harvest.time == datetime.fromisoformat("2026-03-01T10:00:00+08:00")
    assert harvest.link == URL.format(index=supply.entries["commission"])
    assert (ship.from_code, ship.to_code, ship.to_name) == (supply.farm.code, supply.market.code, "海峡农批")
    assert ship.documents == f"发货单 {supply.farm.code}/S-1"
    assert (receive.from_code, receive.to_code) == (supply.farm.code, supply.market.code)
    assert receive.documents == f"发货单 {supply.farm.code}/S-1"
    assert receive.note == "发货数量 300; 10 kg spoiled"
    assert consumed.related == f"(01){supply.packs}(10)PK1, (01){supply.greens}(10)L1B"
    assert made.related == f"(01){supply.greens}(10)L1" and made.note == "分装" and CERT in made.documents
    assert consumed.from_code == supply.market.code and made.to_code == supply.market.code
    assert pallet_ship.documents == f"发货单 {supply.market.code}/P-1; SSCC {supply.pallet[3:]}"
    assert pallet_receive.entry_index == supply.entries["pallet_receive"]
    assert pallet_receive.to_code == supply.shop.code
    assert sale.time.isoformat() == "2026-03-06T00:30:00+08:00" and sale.from_code == supply.shop.code
    assert destroyed.note == "=packaging torn"
    assert wrong.corrected_by == supply.entries["correct"] and sale.corrected_by is None


def test_english_rows_spell_out_codes_and_use_english_names(harness: LedgerHarness, supply: Supply) -> None:
    harvest, _, ship, receive, *_ = _rows(harness, supply.greens, MARCH, english=True)
    assert harvest.note == "harvest" and harvest.to_name == "Minhou Greens"
    assert harvest.documents == f"compliance promise certificate HG-001 sha256:{CERT}"
    assert ship.documents == f"shipment {supply.farm.code}/S-1" and ship.to_name == "海峡农批"  # no English name
    assert receive.note == "shipped 300; 10 kg spoiled"


def test_the_period_is_chosen_by_the_date_in_china_time(harness: LedgerHarness, supply: Supply) -> None:
    five = _rows(harness, supply.greens, parse_period("2026-03-01", "2026-03-05"))
    assert [row.kind for row in five][-1] == "receive"  # the sale at 00:30 on the 6th (China) is not in it
    sixth = _rows(harness, supply.greens, parse_period("2026-03-06", "2026-03-06"))
    assert [row.kind for row in sixth] == ["sell", "destroy", "sell"]
    april = _rows(harness, supply.greens, parse_period("2026-04-01", "2026-04-30"))
    assert [(row.kind, row.lot, row.entry_index) for row in april] == [("ship", "L2", supply.entries["april"])]
    assert _rows(harness, supply.greens, parse_period("2025-01-01", "2025-12-31")) == []


def test_each_event_keeps_the_offset_it_was_recorded_with(harness: LedgerHarness, supply: Supply) -> None:
    new_york = timezone(timedelta(hours=-5))
    writer = harness.writer(supply.farm.signer)
    envelope = writer.sign("trace.ship", {"batch": supply.second, "quantity": "5", "to": supply.market.code,
                                          "shipment_id": "NY-1"}, datetime(2026, 3, 9, 23, 30, tzinfo=new_york),
                           links=supply.world.links([supply.second]))
    assert harness.append([envelope], policy=TracePolicy())[0].error is None
    rows = _rows(harness, supply.greens, parse_period("2026-03-10", "2026-03-10"))  # 12:30 on the 10th in China
    assert [(row.kind, row.time.isoformat()) for row in rows] == [("ship", "2026-03-09T23:30:00-05:00")]
    assert _rows(harness, supply.greens, parse_period("2026-03-09", "2026-03-09")) == []
    text = io.StringIO()
    write_csv(rows, text, english=True)
    assert "2026-03-09 23:30:00,UTC-05:00" in text.getvalue()


def test_one_lot_has_only_its_own_rows(harness: LedgerHarness, supply: Supply) -> None:
    rows = _rows(harness, f"(01){supply.greens}(10)L1", MARCH, batch=True)
    assert [row.kind for row in rows] == ["commission", "ship", "receive", "transform_input"]
    assert {row.lot for row in rows} == {"L1"}
    link = _rows(harness, f"https://trace.example/01/{supply.greens}/10/L1B", MARCH, batch=True)
    assert [row.kind for row in link] == ["transform_output", "ship", "receive", "sell", "destroy", "sell"]
    packs = _rows(harness, supply.packs, MARCH)
    assert [(row.kind, row.lot, row.related) for row in packs] == [
        ("transform_output", "PK1", f"(01){supply.greens}(10)L1")]


def test_codes_are_read_in_every_usual_form() -> None:
    greens = gtin("6909999", 1)
    assert read_code(greens) == (greens, None)
    assert read_code(greens[1:]) == (greens, None)  # GTIN-13
    assert read_code(f"{greens}/L1") == (greens, "L1")
    assert read_code(f"{greens[1:]} L1") == (greens, "L1")
    assert read_code(f"(01){greens}(10)L1") == (greens, "L1")
    assert read_code(f"http://127.0.0.1:5000/01/{greens}/10/L%2F1") == (greens, "L/1")
    assert read_code(f"01/{greens}") == (greens, None)
    assert read_code(f"(01){greens}(17)261231(10)L1") == (greens, "L1")  # as printed on a drug's pack
    assert read_code(f"０１/{greens}/10/L1") == (greens, "L1")  # typed with a Chinese input method


@pytest.mark.parametrize(("text", "words"), [
    ("", "give a GTIN"),
    (WRONG_DIGIT, "check digit wrong"),
    (f"{WRONG_DIGIT}/L1", "check digit wrong"),
    ("06909999000", "8 to 14 (GTIN) digits, found 11"),
    (f"(01){GREENS}(99)X", "AI (99) is not used"),
    ("spinach", "is not a product link"),
    (f"(00){sscc(71)}", "does not name a product"),
    (f"https://x.example/00/{sscc(71)}", "does not name a product"),
])
def test_bad_codes_are_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(SpreadsheetError) as refused:
        read_code(text)
    assert refused.value.code == "spreadsheet.code" and words in refused.value.message


def test_bad_periods_are_refused_with_the_reason() -> None:
    with pytest.raises(SpreadsheetError, match="after the to date") as after:
        parse_period("2026-03-31", "2026-03-01")
    assert after.value.code == "spreadsheet.range"
    with pytest.raises(SpreadsheetError, match=f"at most {MAX_DAYS} days") as long:
        parse_period("2026-01-01", "2027-01-02")
    assert long.value.code == "spreadsheet.range"
    assert parse_period("2028-01-01", "2028-12-31").end == date(2028, 12, 31)  # a leap year: 366 days
    for start, end in (("2026-02-30", "2026-03-01"), ("1.3.2026", "2026-03-02"), ("2026-03-01", "")):
        with pytest.raises(SpreadsheetError) as bad:
            parse_period(start, end)
        assert bad.value.code == "spreadsheet.date"


def test_unknown_products_and_lots_are_not_found(harness: LedgerHarness, supply: Supply) -> None:
    with harness.sessions() as session:
        with pytest.raises(NotFound) as product:
            product_scope(session, gtin("6909999", 9))
        assert product.value.code == "not_found.product"
        with pytest.raises(NotFound) as batch:
            batch_scope(session, f"{supply.greens}/NOPE")
        assert batch.value.code == "not_found.batch"
        with pytest.raises(SpreadsheetError, match="needs its lot") as no_lot:
            batch_scope(session, supply.greens)
        assert no_lot.value.code == "spreadsheet.code"


def test_the_xlsx_file_sorts_freezes_and_keeps_real_dates(harness: LedgerHarness, supply: Supply) -> None:
    rows = _rows(harness, supply.greens, MARCH)
    with harness.sessions() as session:
        scope = product_scope(session, supply.greens)
    buffer = io.BytesIO()
    write_xlsx(rows, buffer, scope=scope, period=MARCH, english=True, generated=datetime(2026, 4, 1, tzinfo=UTC),
               product="Greens")
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = book["Traceability"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:U{len(rows) + 1}"
    assert [cell.value for cell in sheet[1]] == [column.en for column in COLUMNS]
    assert sheet.column_dimensions["G"].width == 24
    first = [cell.value for cell in sheet[2]]
    assert first[:9] == ["Commissioning", datetime(2026, 3, 1, 10, 0), "UTC+08:00", supply.entries["commission"],
                         supply.greens, "L1", "青菜 · standard", 500, "KGM"]
    assert sheet["B2"].is_date and sheet["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["U2"].hyperlink.target == URL.format(index=supply.entries["commission"])
    destroy = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "Destruction")
    assert destroy[18].value == "=packaging torn" and destroy[18].data_type == "s"  # text, not a formula
    assert sheet.max_row == len(rows) + 1
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert about["Product (GTIN)"] == f"{supply.greens} Greens" and about["Rows"] == str(len(rows))


def test_the_csv_file_has_a_bom_and_chinese_headers(harness: LedgerHarness, supply: Supply) -> None:
    rows = _rows(harness, supply.greens, MARCH)
    text = io.StringIO()
    write_csv(rows, text, english=False)
    data = text.getvalue().encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [column.zh for column in COLUMNS]
    assert table[1][:9] == ["生产/采收", "2026-03-01 10:00:00", "UTC+08:00", str(supply.entries["commission"]),
                            supply.greens, "L1", "青菜 · standard", "500", "KGM"]
    assert len(table) == len(rows) + 1
    destroy = next(line for line in table if line[0] == "销毁")
    assert destroy[18] == "'=packaging torn"  # never run as a formula


def test_the_command_line_writes_both_files_and_explains_refusals(harness: LedgerHarness, supply: Supply,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRACE_DATABASE_URL", harness.settings.database_url)
    monkeypatch.setenv("TRACE_LOG_FORMAT", "text")
    out = tmp_path / "greens.xlsx"
    assert main(["spreadsheet", "--gtin", supply.greens, "--from", "2026-03-01", "--to", "2026-03-31",
                 "--out", str(out)]) == 0
    assert "wrote 11 rows" in capsys.readouterr().out
    sheet = load_workbook(out).active
    assert sheet.max_row == 12 and sheet["A1"].value == "事件"
    lot_csv = tmp_path / "l1.csv"
    assert main(["spreadsheet", "--batch", f"{supply.greens}/L1", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--out", str(lot_csv), "--lang", "en"]) == 0
    assert lot_csv.read_bytes().startswith(b"\xef\xbb\xbfEvent,")
    csv_out = str(tmp_path / "x.csv")
    refusals = [
        (["--gtin", WRONG_DIGIT, "--from", "2026-03-01", "--to", "2026-03-02"], "check digit wrong"),
        (["--gtin", gtin("6909999", 9), "--from", "2026-03-01", "--to", "2026-03-02"], "not defined"),
        (["--batch", f"{supply.greens}/NOPE", "--from", "2026-03-01", "--to", "2026-03-02"], "not in the ledger"),
        (["--gtin", supply.greens, "--from", "2026-03-31", "--to", "2026-03-01"], "after the to date"),
        (["--gtin", supply.greens, "--from", "2025-01-01", "--to", "2026-03-01"], "at most 366 days"),
    ]
    for arguments, words in refusals:
        assert main(["spreadsheet", *arguments, "--out", csv_out]) == 2
        assert words in capsys.readouterr().err
    assert main(["spreadsheet", "--gtin", supply.greens, "--from", "2026-03-01", "--to", "2026-03-02",
                 "--out", str(tmp_path / "x.pdf")]) == 2
    assert ".xlsx or .csv" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
