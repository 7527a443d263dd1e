"""The resolver and the public page, through the Flask test client on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger import verify_batch_bundle
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, Actor, credit_code, gtin, lot, sscc
from trace.queries import lot_ref_of
from trace.scans import SUSPICIOUS_LOOKUPS


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


def page(client: Any, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def path_of(chain: Chain) -> str:
    return f"/01/{chain.gtin}/10/QG-1"


def test_the_page_shows_the_chain_back_to_the_harvest_in_chinese(client: Any, chain: Chain) -> None:
    status, html = page(client, path_of(chain))
    assert status == 200
    assert '<html lang="zh-CN">' in html and "<h1>青菜</h1>" in html
    assert 'data-status="normal"' in html and "未发现召回或警示" in html
    steps = re.findall(r'data-type="(trace\.[a-z]+)"', html)
    assert steps == ["trace.commission", "trace.ship", "trace.receive"]
    assert "采收" in html and "闽侯县" in html and "承诺达标合格证" in html
    for name in ("闽侯蔬菜合作社", "福州海峡农批市场"):
        assert name in html
    assert "信用良好" in html


def test_quantities_shipment_ids_and_units_never_appear(client: Any, chain: Chain) -> None:
    _, html = page(client, path_of(chain))
    text = re.sub(r"<[^>]+>", " ", html)
    for secret in ("500", "300", "KGM", "F-1"):
        assert not re.search(rf"(?<![\w.-]){re.escape(secret)}(?![\w.-])", text), secret


def test_english_on_request_and_remembered(client: Any, chain: Chain) -> None:
    _, html = page(client, path_of(chain) + "?lang=en")
    assert '<html lang="en">' in html and "Harvested" in html and "From source to you" in html
    _, again = page(client, path_of(chain))
    assert '<html lang="en">' in again


def test_each_look_up_is_counted(client: Any, chain: Chain) -> None:
    for expected in (1, 2, 3):
        _, html = page(client, path_of(chain) + "?lang=en")
        assert f"looked up {expected} times" in html
    client.get(path_of(chain) + "?linkType=gs1:recallStatus")
    _, html = page(client, path_of(chain) + "?lang=en")
    assert "looked up 4 times" in html, "machine-readable link types are not look-ups"


def test_a_recall_shows_a_banner_on_the_page_and_in_the_recall_status(client: Any, chain: Chain) -> None:
    chain.world.registrar_act("trace.recall", {"batch": chain.ref, "reason": "农药残留超标", "level": "1"},
                              [chain.ref])
    _, html = page(client, path_of(chain))
    assert 'data-status="recalled"' in html and "已召回" in html and "农药残留超标" in html
    status = client.get(path_of(chain) + "?linkType=gs1:recallStatus").get_json()
    assert status["recalled"] is True and status["recalls"][0]["reason"] == "农药残留超标"
    assert status["anchor"].endswith(path_of(chain))


def test_an_expired_batch_is_marked_expired(app: Any, client: Any, chain: Chain) -> None:
    context = app.extensions["trace"]
    app.extensions["trace"] = dataclasses.replace(context, clock=lambda: datetime(2026, 12, 2, tzinfo=UTC))
    _, html = page(client, path_of(chain) + "?lang=en")
    assert 'data-status="expired"' in html and "Expired on 2026-11-30" in html


def test_a_failed_inspection_puts_the_batch_under_investigation(client: Any, chain: Chain) -> None:
    chain.world.registrar_act("trace.inspect", {"batch": chain.ref, "result": "non_conformant",
                                                "items": ["毒死蜱"]}, [chain.ref])
    _, html = page(client, path_of(chain) + "?lang=en")
    assert 'data-status="under_investigation"' in html and "Inspected: NOT conformant" in html
    assert "Market regulator" in html


def test_a_blacklisted_enterprise_carries_its_badge(client: Any, chain: Chain) -> None:
    chain.world.registrar_act("trace.enterprise.status", {"credit_code": chain.market.code, "status": "blacklisted",
                                                          "reason": "伪造检验报告"})
    _, html = page(client, path_of(chain))
    assert "严重违法失信名单" in html and "伪造检验报告" in html


def test_malformed_codes_get_the_precise_reason(client: Any, chain: Chain) -> None:
    wrong_digit = chain.gtin[:-1] + str((int(chain.gtin[-1]) + 1) % 10)
    status, html = page(client, f"/01/{wrong_digit}/10/QG-1?lang=en")
    assert status == 400 and "check digit wrong" in html
    status, html = page(client, f"/01/{chain.gtin}/21/S1/10/QG-1?lang=en")
    assert status == 400 and "out of order" in html
    status, html = page(client, "/00/12345?lang=en")
    assert status == 400 and "18 digits" in html


def test_unregistered_codes_warn_of_a_counterfeit(client: Any, chain: Chain) -> None:
    for path in (f"/01/{chain.gtin}/10/NOPE", f"/01/{gtin('6901234', 9)}/10/QG-1", f"/01/{chain.gtin}/21/X1",
                 f"/01/{chain.gtin}", f"/00/{sscc(77)}"):
        status, html = page(client, path)
        assert status == 404 and "未注册" in html and "假冒" in html, path


def test_the_traceability_link_is_a_bundle_that_verifies(client: Any, chain: Chain,
                                                         harness: LedgerHarness) -> None:
    response = client.get(path_of(chain) + "?linkType=gs1:traceability")
    assert response.status_code == 200 and response.mimetype == "application/json"
    entries = verify_batch_bundle(response.get_json(), harness.operator_key)
    assert [entry.leaf.statement.type for entry in entries] == ["trace.commission", "trace.ship", "trace.receive"]


def test_linkset_by_link_type_or_accept_header(client: Any, chain: Chain) -> None:
    for response in (client.get(path_of(chain) + "?linkType=linkset"),
                     client.get(path_of(chain), headers={"Accept": "application/linkset+json"})):
        assert response.status_code == 200 and response.mimetype == "application/linkset+json"
        (links,) = response.get_json()["linkset"]
        assert links["anchor"].endswith(path_of(chain))
        assert {"https://gs1.org/voc/pip", "https://gs1.org/voc/traceability",
                "https://gs1.org/voc/recallStatus"} <= links.keys()
    page_response = client.get(path_of(chain))
    assert 'rel="linkset"' in page_response.headers["Link"]


def test_the_resolver_describes_itself(client: Any) -> None:
    response = client.get("/.well-known/gs1resolver")
    description = response.get_json()
    assert response.status_code == 200 and description["supportedPrimaryKeys"] == ["01", "00"]
    assert {item["profile"] for item in description["supportedLinkType"]} >= {"pip", "traceability", "recallStatus"}


def test_a_percent_encoded_lot_resolves(client: Any, harness: LedgerHarness, chain: Chain) -> None:
    odd = "A/B-1%"
    chain.world.act(chain.farm.signer, "trace.commission",
                    {"gtin": chain.gtin, "lot": odd, "quantity": "5", "unit": "KGM", "activity": "harvest",
                     "produced_on": "2026-11-20",
                     "certificates": [{"kind": "compliance_promise", "sha256": "ab" * 32}]},
                    [lot_ref_of(chain.gtin, odd)])
    status, html = page(client, f"/01/{chain.gtin}/10/A%2FB-1%25")
    assert status == 200 and "A/B-1%" in html


@dataclasses.dataclass
class DrugBoxes:
    gtin: str
    boxes: list[str]
    pharmacy: Actor

    @property
    def ref(self) -> str:
        return lot(self.gtin, "D2611")


@pytest.fixture
def drug_boxes(chain: Chain) -> DrugBoxes:
    world = chain.world
    maker = world.enterprise(credit_code("320500", 31), ["producer"], "苏州制药")
    pharmacy = world.enterprise(credit_code("320102", 33), ["retailer"], "仁心大药房")
    drug = gtin("695004", 1)
    world.product(maker, drug, "阿莫西林胶囊", "drug", approval_number="国药准字H32020000",
                  drug_code_prefix="8123456")
    boxes = [f"8123456{serial:013d}" for serial in range(1, 4)]
    ref = lot(drug, "D2611")
    world.act(maker.signer, "trace.commission", {"gtin": drug, "lot": "D2611", "quantity": "3", "unit": "BX",
                                                 "produced_on": "2026-11-01", "units": boxes}, [ref])
    world.act(maker.signer, "trace.ship", {"batch": ref, "quantity": "3", "to": pharmacy.code, "shipment_id": "R-1"},
              [ref])
    world.act(pharmacy.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "R-1"}, "quantity": "3"},
              [ref])
    world.act(pharmacy.signer, "trace.sell", {"batch": ref, "quantity": "1", "units": [boxes[0]]}, [ref])
    return DrugBoxes(drug, boxes, pharmacy)


def test_a_drug_box_sold_twice_is_flagged_on_its_page(client: Any, chain: Chain, drug_boxes: DrugBoxes) -> None:
    first = f"/01/{drug_boxes.gtin}/21/{drug_boxes.boxes[0]}?lang=en"
    status, html = page(client, first)
    assert status == 200 and 'data-status="normal"' in html and "国药准字H32020000" in html
    chain.world.act(drug_boxes.pharmacy.signer, "trace.sell",
                    {"batch": drug_boxes.ref, "quantity": "1", "units": [drug_boxes.boxes[0]]}, [drug_boxes.ref])
    _, html = page(client, first)
    assert "already sold once before" in html and 'data-status="under_investigation"' in html
    _, other = page(client, f"/01/{drug_boxes.gtin}/21/{drug_boxes.boxes[1]}?lang=en")
    assert "already sold once before" not in other
    status, _ = page(client, f"/01/{chain.gtin}/21/{drug_boxes.boxes[0]}")
    assert status == 404, "a drug code under another product's GTIN is not that product's box"
    status, _ = page(client, f"/01/{drug_boxes.gtin}/10/OTHER/21/{drug_boxes.boxes[0]}")
    assert status == 404, "nor in another lot"


def test_a_serial_looked_up_too_often_is_suspicious(client: Any, drug_boxes: DrugBoxes) -> None:
    drug, boxes = drug_boxes.gtin, drug_boxes.boxes
    for _ in range(SUSPICIOUS_LOOKUPS):
        _, html = page(client, f"/01/{drug}/21/{boxes[2]}?lang=en")
        assert "label may have been copied" not in html
    _, html = page(client, f"/01/{drug}/21/{boxes[2]}?lang=en")
    assert "label may have been copied" in html
    _, batch_page = page(client, f"/01/{drug}/10/D2611?lang=en")
    assert "label may have been copied" not in batch_page, "a lot code is printed on many packages"


def test_a_serial_far_apart_in_time_is_suspicious(app: Any, client: Any, drug_boxes: DrugBoxes) -> None:
    drug, boxes = drug_boxes.gtin, drug_boxes.boxes
    page(client, f"/01/{drug}/21/{boxes[1]}")
    context = app.extensions["trace"]
    later = datetime.now(UTC) + timedelta(days=200)
    app.extensions["trace"] = dataclasses.replace(context, clock=lambda: later)
    _, html = page(client, f"/01/{drug}/21/{boxes[1]}?lang=en")
    assert "label may have been copied" in html


def test_a_merged_lot_links_each_of_its_sources(client: Any, harness: LedgerHarness) -> None:
    from tests.conftest import utcnow
    from trace.demo import demo_pages, load_demo
    load_demo(harness.sessions, config=harness.config, registrar=harness.keys.registrar, clock=utcnow)
    rice = next(demo for demo in demo_pages() if "rice" in demo.title_en.lower())
    _, html = page(client, f"/01/{rice.gtin}/10/{rice.lot}?lang=en")
    assert "Made from 2 batch(es):" in html
    anchors = re.findall(r'<a href="#batch-(\d+)">', html)
    articles = dict(re.findall(r'<article class="chain-batch" id="batch-(\d+)" data-ref="([^"]+)"', html))
    assert len(anchors) == 2 and all(anchor in articles for anchor in anchors)
    assert all(articles[anchor] != articles["1"] for anchor in anchors), "sources, not the lot itself"


def test_an_input_lists_its_events_only_up_to_its_use_in_this_product(client: Any, chain: Chain) -> None:
    world, market, shop, greens = chain.world, chain.market, chain.shop, chain.ref
    boxed_gtin = gtin("6901234", 2)
    world.product(market, boxed_gtin, "精品青菜礼盒", "farm")
    boxed = lot(boxed_gtin, "B-1")
    used = world.act(market.signer, "trace.transform", {
        "kind": "repack", "inputs": [{"batch": greens, "quantity": "100"}],
        "outputs": [{"gtin": boxed_gtin, "lot": "B-1", "quantity": "100", "unit": "KGM",
                     "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}]}, [greens, boxed])
    # After the use: the rest of the lot goes to another customer, and then fails an inspection.
    world.act(market.signer, "trace.ship", {"batch": greens, "quantity": "150", "to": shop.code,
                                            "shipment_id": "F-9"}, [greens])
    world.act(shop.signer, "trace.receive", {"shipment": {"from": market.code, "id": "F-9"}, "quantity": "150"},
              [greens])
    world.registrar_act("trace.inspect", {"batch": greens, "result": "non_conformant", "items": ["毒死蜱"]}, [greens])

    _, html = page(client, f"/01/{boxed_gtin}/10/B-1")
    articles = dict(re.findall(r'<article class="chain-batch" id="batch-\d+" data-ref="([^"]+)">(.*?)</article>', html,
                               re.S))
    listed = [int(entry) for entry in re.findall(r'data-entry="(\d+)"', articles[greens])]
    assert listed[-1] == used and len(listed) == 4  # commission, ship, receive, and the repacking itself
    assert 'data-earlier="0" data-later="3" data-events="7"' in articles[greens]
    assert "下面列出其用于本产品时及之前最近的 4 条，不含之后的 3 条（其其他去向）" in articles[greens]
    assert "鼓楼生鲜店" not in html, "the input's other customer is not this product's history"
    # What came after the use still warns: the failed inspection, on the input and in the page's banner.
    assert "检验不合格" in articles[greens] and "本产品所用的一个原料批次检验不合格" in html
    assert 'data-status="normal"' in html
    reply = client.post("/sms/inbound", data={"From": "+86 138 0013 8000", "Body": f"{boxed_gtin} B-1"})
    assert "其原料批次检验不合格。" in reply.get_data(as_text=True)

    # The input's own page lists its whole latest history, the later shipment included.
    _, own = page(client, path_of(chain))
    assert "鼓楼生鲜店" in own and 'data-later=' not in own
