"""Recalls in the console, end to end: started from the form (by ledger reference, Digital Link or element
string), the banner on every affected public page at once, notices read and acknowledged by the holders through
the API with their own signed statements, the tracking page, closing (refused while goods are held, then with an
override), and the scope downloaded as CSV and XLSX and read back."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook
from sqlalchemy import select

from ledger.models import Entry
from tests.api.support import login, token_for
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.trace.test_recall_scope import Scene, build_scene
from trace.recall_notices import RecallNotice
from trace.recall_tracking import ACKNOWLEDGE


def _start(client: Any, token: str, batch: str, reason: str = "沙门氏菌检出", level: str = "1") -> Any:
    return post(client, "/console/recalls/new", token, batch=batch, reason=reason, level=level)


def _recalled(client: Any, scene: Scene, token: str) -> int:
    response = _start(client, token, scene.a)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/console/recalls/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_a_recall_started_in_the_console_shows_on_public_pages_at_once(harness: LedgerHarness, client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "inspector")
    assert client.get(f"/{scene.x2}").get_data(as_text=True).count('data-status="normal"') == 1
    gtin14 = scene.a.split("/")[1]
    form = client.get("/console/recalls/new?" + "batch=" + quote(scene.a) + "&reason=" + quote("投诉升级：腹泻"))
    assert form.status_code == 200
    page = _text(form)
    assert f'value="{scene.a}"' in page and "投诉升级：腹泻</textarea>" in page
    assert 'id="preview"' in page and scene.shop.code in page  # the scope before the recall is issued
    response = _start(client, token, f"https://example.com/01/{gtin14}/10/E-1?17=301231")
    assert response.status_code == 303, _text(response)
    index = int(response.headers["Location"].rsplit("/", 1)[1])
    for ref in (scene.a, scene.x2, scene.m, scene.pallet, scene.c):
        public = _text(client.get(f"/{ref}"))
        assert 'data-status="recalled"' in public, ref
    assert 'data-status="normal"' in _text(client.get(f"/{scene.b}"))  # upstream of the recall
    with harness.sessions() as session:
        entry = session.get(Entry, index)
        assert entry is not None and entry.type == "trace.recall"
        statement = json.loads(entry.leaf)["statement"]
        notices = {notice.party: notice for notice in session.scalars(
            select(RecallNotice).where(RecallNotice.recall_index == index))}
    assert statement["body"] == {"batch": scene.a, "reason": "沙门氏菌检出", "level": "1"}
    assert list(statement["links"]) == [scene.a]
    assert set(notices) == {scene.farm.code, scene.farm3.code, scene.processor.code, scene.wholesaler.code,
                            scene.retailer.code, scene.shop.code}
    assert notices[scene.shop.code].role == "holder" and notices[scene.farm.code].role == "maker"
    show = client.get(f"/console/recalls/{index}?lang=en")
    assert show.status_code == 200
    text = _text(show)
    assert "0 of 6 enterprises acknowledged" in text and scene.pallet in text
    listing = _text(client.get("/console/recalls/?lang=en"))
    assert f'data-recall="{index}"' in listing and "0 of 6" in listing
    assert 'id="no-recalls"' in _text(client.get("/console/recalls/?status=closed"))


def test_element_strings_and_sscc_name_the_batch(harness: LedgerHarness, client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "registrar")
    gtin14 = scene.x2.split("/")[1]
    assert _start(client, token, f"(01){gtin14}(10)Y-2").status_code == 303
    assert _start(client, token, scene.pallet_sscc, level="3").status_code == 303
    with harness.sessions() as session:
        recalled = [json.loads(entry.leaf)["statement"]["body"]["batch"] for entry in session.scalars(
            select(Entry).where(Entry.type == "trace.recall").order_by(Entry.index))]
    assert recalled == [scene.x2, scene.pallet]


def test_an_unknown_batch_is_refused_and_the_form_keeps_what_was_typed(harness: LedgerHarness,
                                                                       client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "inspector")
    unknown = scene.a.replace("E-1", "E-404")
    response = _start(client, token, unknown, reason="检出致病菌", level="2")
    assert response.status_code == 422
    page = _text(response)
    assert f"batch {unknown} does not exist" in page
    assert f'value="{unknown}"' in page and "检出致病菌</textarea>" in page
    assert re.search(r'value="2" checked', page)
    bad = _start(client, token, "(01)06950411000012(10)E-1")
    assert bad.status_code == 422 and "check digit" in _text(bad)
    assert _start(client, token, scene.a, reason="").status_code == 422
    assert _start(client, token, scene.a, level="4").status_code == 422
    assert _recalled(client, scene, token)
    again = _start(client, token, scene.a)
    assert again.status_code == 422 and "already recalled" in _text(again)
    with harness.sessions() as session:
        assert len(list(session.scalars(select(Entry).where(Entry.type == "trace.recall")))) == 1


def test_an_administrator_only_account_may_not_open_recalls(harness: LedgerHarness, client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "wang.fang", "administrator")
    assert client.get("/console/recalls/").status_code == 403
    assert client.get("/console/recalls/new").status_code == 403
    assert _start(client, token, scene.a).status_code == 403
    with harness.sessions() as session:
        assert session.scalars(select(Entry).where(Entry.type == "trace.recall")).first() is None


def test_holders_read_their_notices_and_acknowledge_with_their_own_key(harness: LedgerHarness,
                                                                       client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "inspector")
    index = _recalled(client, scene, token)
    path = f"/api/v1/enterprises/{scene.shop.code}/recalls"
    shop = token_for(harness, scene.shop.code)
    notices = client.get(path, headers=shop)
    assert notices.status_code == 200, notices.get_json()
    [notice] = notices.get_json()["recalls"]
    assert notice["recall"] == index and notice["status"] == "open" and notice["acknowledged"] is None
    assert notice["role"] == "holder" and notice["level"] == "1"
    held = {item["batch"]: (item["held"], item["in_transit"]) for item in notice["batches"]}
    assert held == {scene.a: ("6", "0"), scene.x2: ("0", "10")}
    envelope = scene.world.sign(scene.shop.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.a,
                                                                 "note": "已下架封存"}, [scene.a])
    accepted = client.post("/api/v1/events", json=envelope)
    assert accepted.status_code == 201, accepted.get_json()
    [notice] = client.get(path, headers=shop).get_json()["recalls"]
    assert notice["acknowledged"]["entry_index"] == accepted.get_json()["index"]
    outsider = scene.world.sign(scene.outsider.signer, ACKNOWLEDGE, {"recall": index, "batch": scene.a}, [scene.a])
    refused = client.post("/api/v1/events", json=outsider)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "recall.not_party"
    assert client.get(f"/api/v1/enterprises/{scene.outsider.code}/recalls",
                      headers=token_for(harness, scene.outsider.code)).get_json() == {"recalls": []}
    assert client.get(path).status_code == 401
    other = client.get(path, headers=token_for(harness, scene.outsider.code))
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "auth.forbidden"
    assert client.get(path, headers=login(client, harness, "zhao.lei", "inspector")).status_code == 200
    assert client.get(path, headers=login(client, harness, "wang.fang", "administrator")).status_code == 403
    assert client.get(path + "?status=closed", headers=shop).get_json() == {"recalls": []}
    assert client.get(path + "?status=shut", headers=shop).status_code == 400
    page = _text(client.get(f"/console/recalls/{index}?lang=en"))
    assert "1 of 6 enterprises acknowledged" in page
    public = _text(client.get(f"/{scene.a}?lang=en"))
    assert 'data-type="trace.recall.acknowledge"' in public and "Recall acknowledged" in public


def test_closing_is_refused_while_goods_are_held_and_allowed_with_an_override(harness: LedgerHarness,
                                                                              client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "inspector")
    index = _recalled(client, scene, token)
    assert post(client, f"/console/recalls/{index}/close", token, note="完成").status_code == 403
    post(client, "/console/logout", token)
    token = console_login(client, harness, "chen.jing", "registrar")
    refused = post(client, f"/console/recalls/{index}/close", token, note="召回完成")
    assert refused.status_code == 422
    assert f"{scene.farm.code} holds 30 of {scene.a}" in _text(refused)
    short = post(client, f"/console/recalls/{index}/close", token, note="召回完成", overriding="1",
                 override="太短了")
    assert short.status_code == 422 and "太短了</textarea>" in _text(short)
    closed = post(client, f"/console/recalls/{index}/close", token, note="转入立案调查", overriding="1",
                  override="剩余持有方已由属地市场监管局现场查封，转入立案调查程序")
    assert closed.status_code == 303, _text(closed)
    page = _text(client.get(f"/console/recalls/{index}?lang=en"))
    assert 'id="closed-banner"' in page and "转入立案调查" in page and 'id="close-form"' not in page
    assert f'data-recall="{index}"' in _text(client.get("/console/recalls/?status=closed"))
    public = _text(client.get(f"/{scene.x1}?lang=en"))
    assert 'data-status="recalled"' in public and "Recall closed on" in public
    again = post(client, f"/console/recalls/{index}/close", token, note="再次关闭")
    assert again.status_code == 422 and "already closed" in _text(again)
    with harness.sessions() as session:
        closes = list(session.scalars(select(Entry).where(Entry.type == "trace.recall.close")))
    assert len(closes) == 1


def test_the_scope_downloads_as_csv_and_xlsx(harness: LedgerHarness, client: Any) -> None:
    scene = build_scene(harness)
    token = console_login(client, harness, "li.na", "inspector")
    index = _recalled(client, scene, token)
    response = client.get(f"/console/recalls/{index}/scope.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="recall-{index}-scope.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["批次", "产品", "GTIN"] and "当前持有" in header
    column = {name: position for position, name in enumerate(header)}
    by_key = {(row[column["批次"]], row[column["企业信用代码"]]): row for row in body}
    assert set(batch for batch, _ in by_key) == {scene.a, scene.x1, scene.x2, scene.m, scene.pallet, scene.c}
    shop = by_key[(scene.a, scene.shop.code)]
    assert (shop[column["收货"]], shop[column["销售"]], shop[column["当前持有"]]) == ("10", "4", "6")
    assert by_key[(scene.x2, scene.shop.code)][column["在途(发往该企业)"]] == "10"
    assert by_key[(scene.m, scene.processor.code)][column["原料来自"]] == scene.x1
    xlsx = client.get(f"/console/recalls/{index}/scope.xlsx?lang=en")
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.get_data()))
    assert book.sheetnames == ["Scope", "Holders", "About"]
    sheet = book["Scope"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:U{len(body) + 1}"
    headings = [cell.value for cell in sheet[1]]
    assert headings[:3] == ["Batch", "Product", "GTIN"] and "Held now" in headings
    assert sheet.column_dimensions["A"].width > 20
    cells = {(row[0], row[7]): row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells[(scene.a, scene.shop.code)][headings.index("Held now")] == 6  # a number, sortable
    holders = {row[0]: row for row in book["Holders"].iter_rows(min_row=2, values_only=True)}
    assert set(holders) == {scene.farm.code, scene.farm3.code, scene.processor.code, scene.wholesaler.code,
                            scene.retailer.code, scene.shop.code}
    assert holders[scene.farm.code][5] == "30 KGM"
    assert client.get(f"/console/recalls/{index}/scope.pdf").status_code == 404
    assert client.get(f"/console/recalls/{index + 1000}/scope.csv").status_code == 404
