"""CSV import: templates parse back, every bad cell is reported with its row, column and reason, and the rows are
drafted in order so refusals by the traceability rules carry their row numbers too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.csv_columns import TemplateError
from trace.csv_import import MAX_BYTES, MAX_ROWS, TEMPLATES, draft_import, parse_csv, template_csv

FARM, MARKET = credit_code("350121", 1), credit_code("350102", 2)
GREENS = gtin("6901234", 1)
SHIP_HEADER = "gtin,lot,quantity,to,shipment_id\n"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def problems(data: bytes, type_: str = "trace.ship") -> list[tuple[int | None, str | None, str]]:
    plan = parse_csv(data, type_)
    assert not plan.requests or not plan.errors or plan.type == "trace.transform"
    return [(error.row, error.column, error.code) for error in plan.errors]


@pytest.mark.parametrize("type_", list(TEMPLATES))
def test_every_template_parses_back_into_one_request(type_: str) -> None:
    data = template_csv(type_)
    assert data.startswith("\ufeff".encode())  # Excel and WPS open it as UTF-8
    assert data.count(b"\r\n") == 2
    plan = parse_csv(data, type_)
    assert plan.errors == []
    assert plan.rows == 1 and len(plan.requests) == 1 and plan.request_rows == [(2,)]
    assert plan.requests[0].type == type_


def test_a_type_without_template_is_refused() -> None:
    with pytest.raises(TemplateError) as refused:
        template_csv("trace.recall")
    assert refused.value.code == "csv.type"


def test_a_ship_row_becomes_a_body_with_the_batch_reference() -> None:
    plan = parse_csv(csv_bytes(SHIP_HEADER.strip(), f"6901234000016,B&1/2,12.5,{MARKET},S-1"), "trace.ship")
    assert plan.errors == []
    assert plan.requests[0].body == {"batch": "01/06901234000016/10/B%261%2F2", "quantity": "12.5",
                                     "to": MARKET, "shipment_id": "S-1"}


@pytest.mark.parametrize(("column", "cell", "code"), [
    ("quantity", "1,200", "csv.quantity"),
    ("quantity", "-3", "csv.quantity"),
    ("quantity", "0", "csv.quantity"),
    ("quantity", "1e3", "csv.quantity"),
    ("gtin", "6901234560016", "csv.gtin"),  # check digit 5 expected
    ("gtin", "6.90123E+12", "csv.gtin"),
    ("to", "91350102MA32XH7Q19", "csv.credit_code"),  # check character 8 expected
    ("lot", "QG 1121", "csv.lot"),
    ("shipment_id", "-S1", "csv.text"),
])
def test_each_kind_of_bad_cell_names_its_row_and_column(column: str, cell: str, code: str) -> None:
    good = {"gtin": "6901234560015", "lot": "QG-1121", "quantity": "5", "to": MARKET, "shipment_id": "S-1"}
    row = ",".join(f'"{cell}"' if name == column else value for name, value in good.items())
    plan = parse_csv(csv_bytes(SHIP_HEADER.strip(), row), "trace.ship")
    assert [(error.row, error.column, error.code) for error in plan.errors] == [(2, column, code)]
    assert plan.errors[0].reason and plan.requests == []


@pytest.mark.parametrize(("column", "cell", "code"), [
    ("produced_on", "2026/11/21", "csv.date"),
    ("produced_on", "2026-02-30", "csv.date"),
    ("expires_on", "2026-11-01", "csv.date"),  # before produced_on
    ("unit", "kilo", "csv.unit"),
    ("certificate_sha256", "abc", "csv.sha256"),
    ("activity", "grow", "csv.choice"),
    ("time", "yesterday", "csv.time"),
])
def test_commission_cells(column: str, cell: str, code: str) -> None:
    names = ["gtin", "lot", "quantity", "unit", "produced_on", "expires_on", "activity", "certificate_kind",
             "certificate_sha256", "time"]
    good = dict(zip(names, ["6901234560015", "L1", "5", "KGM", "2026-11-21", "2026-11-28", "harvest",
                            "compliance_promise", CERT, "2026-11-21 06:30"], strict=True))
    good[column] = cell
    plan = parse_csv(csv_bytes(",".join(names), ",".join(good.values())), "trace.commission")
    assert [(error.row, error.column, error.code) for error in plan.errors] == [(2, column, code)]


def test_units_are_upper_cased_and_chinese_words_chosen() -> None:
    plan = parse_csv(csv_bytes("商品条码,批号,检验结果,检验项目", "6901234560015,L1,不合格,毒死蜱；克百威"),
                     "trace.inspect")
    assert plan.errors == []
    assert plan.requests[0].body == {"batch": "01/06901234560015/10/L1", "result": "non_conformant",
                                     "items": ["毒死蜱", "克百威"]}
    plan = parse_csv(csv_bytes("GTIN,Lot,Quantity,Unit,Produced_On", "6901234560015,L1,5,kgm,2026-11-21"),
                     "trace.commission")
    assert plan.errors == [] and plan.requests[0].body["unit"] == "KGM"


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    plan = parse_csv(csv_bytes(SHIP_HEADER.strip(),
                               f"6901234560015,L1,5,{MARKET},S-1",
                               f"6901234560016,L1,abc,{MARKET},S-2",  # two bad cells
                               f"6901234560015,L1,5,{MARKET},S-1",  # duplicate of row 2
                               "",  # blank rows are skipped but keep their number
                               f"6901234560015,L1,,{MARKET},S-4",
                               f"6901234560015,L1,5,{MARKET},S-5,extra"), "trace.ship")
    assert [(error.row, error.column, error.code) for error in plan.errors] == [
        (3, "gtin", "csv.gtin"), (3, "quantity", "csv.quantity"), (4, None, "csv.duplicate_row"),
        (6, "quantity", "csv.required"), (7, None, "csv.cells")]
    assert plan.rows == 5  # the blank row is not a data row
    assert "row 2" in plan.errors[2].reason


def test_header_problems_are_reported_on_row_1() -> None:
    assert problems(csv_bytes("gtin,lot,lot,colour", "6901234560015,L1,L1,red")) == [
        (1, "lot", "csv.column_repeated"), (1, "colour", "csv.column_unknown"), (1, "quantity", "csv.column_missing"),
        (1, "to", "csv.column_missing"), (1, "shipment_id", "csv.column_missing")]
    assert problems(csv_bytes("批号,lot,quantity,to,shipment_id,gtin", "L1,L1,1,x,y,z"))[0] == (
        1, "lot", "csv.column_repeated")  # the Chinese title is the same column
    assert problems(b"") == [(1, None, "csv.header")]
    assert problems(csv_bytes(SHIP_HEADER.strip())) == [(None, None, "csv.empty")]


def test_chinese_titles_are_accepted_as_column_names() -> None:
    plan = parse_csv(csv_bytes("商品条码,批号,数量,收货方,发货单号,承运方", f"6901234560015,L1,5,{MARKET},S-1,{FARM}"),
                     "trace.ship")
    assert plan.errors == []
    assert plan.requests[0].body["carrier"] == FARM


def test_gb18030_files_from_chinese_excel_are_read() -> None:
    data = csv_bytes("商品条码,批号,数量,销毁原因", "6901234560015,L1,5,召回产品，监督销毁", encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    plan = parse_csv(data, "trace.destroy")
    assert plan.errors == [] and plan.requests[0].body["reason"] == "召回产品，监督销毁"


def test_other_encodings_are_named() -> None:
    assert problems("gtin,lot\n".encode("utf-16")) == [(None, None, "csv.encoding")]
    plan = parse_csv(b"gtin,lot\n\x81\x20\xff", "trace.ship")
    assert plan.errors[0].code == "csv.encoding" and "neither UTF-8 nor GB18030" in plan.errors[0].reason


def test_size_and_row_limits_are_precise() -> None:
    plan = parse_csv(b"x" * (MAX_BYTES + 1), "trace.ship")
    assert [(error.code, error.row) for error in plan.errors] == [("csv.too_large", None)]
    assert f"{MAX_BYTES + 1:,} bytes" in plan.errors[0].reason
    rows = [f"6901234560015,L{number},1,{MARKET},S-{number}" for number in range(MAX_ROWS + 1)]
    plan = parse_csv(csv_bytes(SHIP_HEADER.strip(), *rows), "trace.ship")
    assert [error.code for error in plan.errors] == ["csv.too_many_rows"]
    assert "1,001 data rows" in plan.errors[0].reason
    rows.pop()
    assert parse_csv(csv_bytes(SHIP_HEADER.strip(), *rows), "trace.ship").errors == []


def test_transform_rows_group_into_statements() -> None:
    header = "transform_id,kind,input_gtin,input_lot,input_quantity,output_gtin,output_lot,output_quantity,output_unit"
    plan = parse_csv(csv_bytes(header,
                               "T1,split,6901234560015,A,100,6901234560022,X1,40,KGM",
                               "T1,split,6901234560015,A,100,6901234560022,X2,60,KGM",
                               "T2,merge,6901234560015,B,10,6901234560022,Y,20,KGM",
                               "T2,merge,6901234560015,C,10,,,,"), "trace.transform")
    assert plan.errors == []
    assert plan.request_rows == [(2, 3), (4, 5)]
    first, second = (request.body for request in plan.requests)
    assert first["inputs"] == [{"batch": "01/06901234560015/10/A", "quantity": "100"}]
    assert [output["lot"] for output in first["outputs"]] == ["X1", "X2"]
    assert [item["batch"] for item in second["inputs"]] == ["01/06901234560015/10/B", "01/06901234560015/10/C"]


def test_transform_group_errors_name_the_row() -> None:
    header = "transform_id,kind,input_gtin,input_lot,input_quantity,output_gtin,output_lot,output_quantity,output_unit"
    plan = parse_csv(csv_bytes(header,
                               "T1,split,6901234560015,A,100,6901234560022,X1,40,KGM",
                               "T1,split,6901234560015,A,90,6901234560022,X2,60,KGM",  # same input, new quantity
                               "T2,repack,6901234560015,B,10,,,,",  # no output
                               "T3,repack,6901234560015,C,10,6901234560022,Z,,KGM"), "trace.transform")
    assert [(error.row, error.code) for error in plan.errors] == [
        (3, "csv.transform"), (4, "csv.transform"), (5, "csv.required")]


# --- drafting ---------------------------------------------------------------------------------------------------

def _farm_with_lot(harness: LedgerHarness) -> tuple[World, str]:
    world = World(harness)
    farm = world.enterprise(FARM, ["producer"], "闽侯蔬菜合作社")
    world.enterprise(MARKET, ["wholesaler"], "福州海峡农批市场")
    world.product(farm, GREENS, "青菜", "farm")
    ref = lot(GREENS, "QG-1")
    world.act(farm.signer, "trace.commission",
              {"gtin": GREENS, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [ref])
    return world, farm.signer.key_id


def test_rows_are_drafted_in_order_and_refusals_carry_their_row(harness: LedgerHarness) -> None:
    _, key = _farm_with_lot(harness)
    data = csv_bytes(SHIP_HEADER.strip(), f"{GREENS},QG-1,300,{MARKET},S-1", f"{GREENS},QG-1,150,{MARKET},S-2",
                     f"{GREENS},QG-1,100,{MARKET},S-3", f"{GREENS},QG-9,1,{MARKET},S-4")
    with harness.sessions() as session:
        report = draft_import(session, parse_csv(data, "trace.ship"), author=FARM, key=key,
                              clock=lambda: datetime.now(UTC))
    # 300 + 150 leave 50: row 4 asks for more than held; row 5 names a lot that does not exist
    assert [(error.row, error.code) for error in report.errors] == [(4, "custody.over_quantity"),
                                                                    (5, "batch.unknown")]
    assert report.drafts == [] and report.totals == {}


def test_a_good_file_is_drafted_as_one_chain_with_totals(harness: LedgerHarness) -> None:
    _, key = _farm_with_lot(harness)
    data = csv_bytes(SHIP_HEADER.strip(), f"{GREENS},QG-1,300,{MARKET},S-1", f"{GREENS},QG-1,150.5,{MARKET},S-2")
    with harness.sessions() as session:
        report = draft_import(session, parse_csv(data, "trace.ship"), author=FARM, key=key,
                              clock=lambda: datetime.now(UTC))
    assert report.errors == []
    first, second = (draft.statement for draft in report.drafts)
    assert first is not None and second is not None
    assert (second.seq, second.prev) == (first.seq + 1, first.hash_hex)
    assert second.links == {lot(GREENS, "QG-1"): first.hash_hex}
    assert report.totals == {"KGM": "450.5"}
