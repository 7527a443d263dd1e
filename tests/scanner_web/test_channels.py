"""The other ways to a product's page: the typed-code look-up (every accepted form of code, and the 400 and 404
pages), the home, scanner and kiosk pages as served, and the SMS webhook's replies and limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from tests.trace.world import credit_code, gtin, sscc
from trace.codes import CodeError, ProductCode, read_code

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class Shop:
    """The small chain plus a pallet of greens, a recalled lot, and a serialised drug whose first box was sold
    twice."""

    chain: Chain
    greens: str
    pallet: str
    recalled: str
    drug: str
    boxes: list[str]


def _shop(harness: LedgerHarness) -> Shop:
    chain = small_chain(harness)
    world, farm = chain.world, chain.farm
    pallet = sscc(7)
    world.act(farm.signer, "trace.aggregate", {"sscc": pallet, "contents": [{"batch": chain.ref, "quantity": "100"}]},
              [f"00/{pallet}", chain.ref])
    spoiled = f"01/{chain.gtin}/10/QG-2"
    world.act(farm.signer, "trace.commission",
              {"gtin": chain.gtin, "lot": "QG-2", "quantity": "50", "unit": "KGM", "produced_on": "2026-11-19",
               "origin": {"place": "闽侯县"}, "certificates": [{"kind": "compliance_promise", "sha256": "0" * 64}]},
              [spoiled])
    world.act(farm.signer, "trace.recall", {"batch": spoiled, "reason": "农药残留超标"}, [spoiled])
    maker = world.enterprise(credit_code("320500", 31), ["producer"], "苏州制药")
    pharmacy = world.enterprise(credit_code("320102", 33), ["retailer"], "仁心大药房")
    drug = gtin("695004", 1)
    world.product(maker, drug, "阿莫西林胶囊", "drug", approval_number="国药准字H32020000",
                  drug_code_prefix="8123456")
    boxes = [f"8123456{serial:013d}" for serial in range(1, 4)]
    batch = f"01/{drug}/10/D2611"
    world.act(maker.signer, "trace.commission", {"gtin": drug, "lot": "D2611", "quantity": "3", "unit": "BX",
                                                 "produced_on": "2026-11-01", "expires_on": "2028-10-31",
                                                 "units": boxes}, [batch])
    world.act(maker.signer, "trace.ship", {"batch": batch, "quantity": "2", "to": pharmacy.code, "shipment_id": "R-1",
                                           "units": boxes[:2]}, [batch])
    world.act(pharmacy.signer, "trace.receive", {"shipment": {"from": maker.code, "id": "R-1"}, "quantity": "2"},
              [batch])
    for _ in range(2):
        world.act(pharmacy.signer, "trace.sell", {"batch": batch, "quantity": "1", "units": boxes[:1]}, [batch])
    return Shop(chain, chain.gtin, pallet, spoiled, drug, boxes)


@pytest.fixture
def shop(harness: LedgerHarness) -> Shop:
    return _shop(harness)


# --- reading codes (no database) -------------------------------------------------------------------------------

GREENS = gtin("6901234", 1)
PALLET = sscc(7)


@pytest.mark.parametrize(("text", "expected"), [
    (f"https://id.example.com/01/{GREENS}/10/QG-1", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (f"HTTP://127.0.0.1:5000/gs1/01/{GREENS}/10/QG-1?17=261130#x", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (f"01/{GREENS}/10/QG%2F1", ProductCode("lot", gtin=GREENS, lot="QG/1")),
    (f"(01){GREENS}(17)261130(10)QG-1", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (f"(01) {GREENS} (10) QG-1 (21) 7", ProductCode("lot", gtin=GREENS, lot="QG-1", serial="7")),
    (f"]Q301{GREENS}10QG-1\x1d21S7", ProductCode("lot", gtin=GREENS, lot="QG-1", serial="S7")),
    (f"01{GREENS}17261130 21S7", ProductCode("serial", gtin=GREENS, serial="S7")),
    (f"{GREENS} QG-1", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (f"{GREENS[1:]}/QG-1", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (f"{GREENS.translate(FULL_WIDTH)}，QG-1", ProductCode("lot", gtin=GREENS, lot="QG-1")),
    (PALLET, ProductCode("sscc", sscc=PALLET)),
    (f"{PALLET[:4]} {PALLET[4:10]} {PALLET[10:]}", ProductCode("sscc", sscc=PALLET)),
    (f"(00){PALLET}", ProductCode("sscc", sscc=PALLET)),
    (f"https://example.org/00/{PALLET}", ProductCode("sscc", sscc=PALLET)),
    ("81234560000000000001", ProductCode("drug", drug_code="81234560000000000001")),
])
def test_every_accepted_form_of_code_is_read(text: str, expected: ProductCode) -> None:
    assert read_code(text) == expected


def test_a_twenty_digit_number_is_a_drug_code_first_and_an_element_string_second() -> None:
    code = read_code(f"00{PALLET}")
    assert code == ProductCode("drug", drug_code=f"00{PALLET}")
    assert code.alternatives == (ProductCode("sscc", sscc=PALLET),)


WRONG = GREENS[:-1] + str((int(GREENS[-1]) + 1) % 10)


@pytest.mark.parametrize(("text", "reason", "params"), [
    ("   ", "empty", {}),
    ("9" * 600, "too_long", {"maximum": 512}),
    (f"{WRONG} QG-1", "check_digit", {"name": "GTIN", "expected": GREENS[-1], "found": WRONG[-1]}),
    (f"https://id.example.com/01/{WRONG}/10/QG-1", "check_digit", {"name": "GTIN", "expected": GREENS[-1],
                                                                   "found": WRONG[-1]}),
    (f"(01){WRONG}(10)QG-1", "check_digit", {"name": "GTIN", "expected": GREENS[-1], "found": WRONG[-1]}),
    (PALLET[:-1] + str((int(PALLET[-1]) + 1) % 10), "check_digit", {"name": "SSCC", "expected": PALLET[-1],
                                                                    "found": str((int(PALLET[-1]) + 1) % 10)}),
    (f"https://id.example.com/01/{GREENS[1:]}/10/QG-1", "length", {"name": "GTIN", "expected": "14", "found": 13}),
    (GREENS, "gtin_only", {"gtin": GREENS}),
    (f"https://id.example.com/01/{GREENS}", "gtin_only", {"gtin": GREENS}),
    ("https://id.example.com/414/6901234000016", "location", {"gln": "6901234000016"}),
    (f"{GREENS} {'L' * 21}", "qualifier", {"name": "batch number", "maximum": 20}),
    (f"https://id.example.com/01/{GREENS}/21/S1/10/QG-1", "digital_link", None),
    (f"(01){GREENS}(99)X", "element_string", None),
    ("1234567890123456789", "digits", {"found": 19}),
    ("https://weixin.qq.com/r/abc", "unrecognised", None),
    ("hello", "unrecognised", None),
])
def test_a_malformed_code_says_precisely_why(text: str, reason: str, params: dict[str, Any] | None) -> None:
    with pytest.raises(CodeError) as refused:
        read_code(text)
    assert refused.value.reason == reason, refused.value.message
    if params is not None:
        assert refused.value.params == params


# --- typed-code look-up -----------------------------------------------------------------------------------------

def test_every_form_of_a_registered_code_redirects_to_its_page(client: Any, shop: Shop) -> None:
    lot_page = f"/01/{shop.greens}/10/QG-1"
    box = shop.boxes[1]
    cases = {
        f"https://id.example.com/01/{shop.greens}/10/QG-1": lot_page,
        f"(01){shop.greens}(10)QG-1": lot_page,
        f"01{shop.greens}10QG-1": lot_page,
        f"{shop.greens[1:]} QG-1": lot_page,
        f" {shop.greens.translate(FULL_WIDTH)} QG-1 ": lot_page,
        shop.pallet: f"/00/{shop.pallet}",
        f"(00) {shop.pallet}": f"/00/{shop.pallet}",
        f"00{shop.pallet}": f"/00/{shop.pallet}",  # 20 digits: no drug box has this code, an SSCC does
        box: f"/01/{shop.drug}/21/{box}",
        f"(01){shop.drug}(21){box}": f"/01/{shop.drug}/21/{box}",
        f"https://id.example.com/01/{shop.drug}/10/D2611/21/{box}": f"/01/{shop.drug}/10/D2611/21/{box}",
    }
    for text, path in cases.items():
        response = client.get("/lookup", query_string={"code": text})
        assert (response.status_code, response.headers.get("Location")) == (303, path), text


def test_a_malformed_code_re_renders_the_form_with_the_reason(client: Any, shop: Shop) -> None:
    wrong = shop.greens[:-1] + str((int(shop.greens[-1]) + 1) % 10)
    response = client.get("/lookup", query_string={"code": f"{wrong} QG-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'action="/lookup"' in page and f'value="{wrong} QG-1"' in page and 'aria-invalid="true"' in page
    assert f"GTIN 校验位错误：最后一位应为 {shop.greens[-1]}，而不是 {wrong[-1]}" in page
    response = client.get("/lookup", query_string={"code": shop.greens, "lang": "en"})
    assert response.status_code == 400
    assert "is a product number (GTIN) without its batch" in response.get_data(as_text=True)
    assert client.get("/lookup", query_string={"code": ""}).status_code == 400


def test_an_unregistered_code_may_be_a_counterfeit(client: Any, shop: Shop) -> None:
    for text in (f"(01){shop.greens}(10)NOPE", "81234560000000000099", f"(01){shop.drug}(21)81234560000000000099"):
        response = client.get("/lookup", query_string={"code": text, "lang": "en"})
        page = response.get_data(as_text=True)
        assert response.status_code == 404, text
        assert "This code is not registered" in page and "counterfeit" in page
    page = client.get("/lookup", query_string={"code": "81234560000000000099", "lang": "zh"}).get_data(as_text=True)
    assert "此追溯码未登记" in page and "假冒" in page


def test_the_look_up_form_alone(client: Any) -> None:
    response = client.get("/lookup")
    assert response.status_code == 200 and 'name="code"' in response.get_data(as_text=True)


# --- pages -----------------------------------------------------------------------------------------------------

def test_the_home_page_explains_the_service_and_works_without_javascript(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "<h1>查询产品</h1>" in page and "来源可查" in page and "去向可追" in page and "责任可究" in page
    assert 'action="/lookup" method="get"' in page
    for link in ('href="/scan"', 'href="/kiosk"', 'href="/ledger"', 'href="/api/v1/docs"'):
        assert link in page
    assert "<script" not in page


def test_the_scanner_and_kiosk_load_only_bundled_scripts(client: Any) -> None:
    for path in ("/scan", "/kiosk"):
        page = client.get(path).get_data(as_text=True)
        assert 'data-decoder="/static/vendor/jsQR.js"' in page
        sources = [part.split('"', 1)[0] for part in page.split('<script src="')[1:]]
        assert sources and all(source.startswith("/static/") for source in sources), sources
        assert "//" not in "".join(sources)
    with client.get("/static/vendor/jsQR.js") as response:
        assert response.status_code == 200
    assert '"idle": 45' in client.get("/kiosk?idle=45").get_data(as_text=True)
    assert '"idle": 90' in client.get("/kiosk?idle=1").get_data(as_text=True)


# --- SMS -------------------------------------------------------------------------------------------------------

def _sms(client: Any, text: str, sender: str = "+86 138 0013 8000") -> tuple[int, str]:
    response = client.post("/sms/inbound", data={"From": sender, "Body": text})
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    return response.status_code, response.get_data(as_text=True)


def test_sms_replies_with_status_origin_and_link(client: Any, shop: Shop) -> None:
    status, reply = _sms(client, f"{shop.greens} QG-1")
    assert status == 200
    assert reply.startswith("【产品追溯】青菜 批次QG-1：正常。产地：闽侯县。详情：http://127.0.0.1:5000/01/")
    assert reply.endswith(f"/01/{shop.greens}/10/QG-1") and len(reply) <= 140, (len(reply), reply)
    status, reply = _sms(client, f"EN (01){shop.greens}(10)QG-1")
    assert reply.startswith("[Product trace] 青菜, batch QG-1: normal. Origin: 闽侯县. Details: http://")
    response = client.post("/sms/inbound", json={"from": "13800138000", "text": f"查询 {shop.pallet}"})
    assert response.status_code == 200 and f"/00/{shop.pallet}" in response.get_data(as_text=True)


def test_sms_warns_of_a_recall_and_of_a_box_sold_twice(client: Any, shop: Shop) -> None:
    _, reply = _sms(client, f"(01){shop.greens}(10)QG-2")
    assert reply.startswith("【产品追溯】警告：青菜 批次QG-2 已召回。召回原因：农药残留超标。请停止食用或使用")
    assert reply.endswith(f"/01/{shop.greens}/10/QG-2") and len(reply) <= 140, (len(reply), reply)
    _, reply = _sms(client, f"EN {shop.boxes[0]}")
    assert reply.startswith("[Product trace] 阿莫西林胶囊, batch D2611: under investigation. This code was sold "
                            "before: the package may be counterfeit. ")
    assert reply.endswith(f"/01/{shop.drug}/21/{shop.boxes[0]}")
    _, reply = _sms(client, shop.boxes[0])
    assert reply.startswith("【产品追溯】阿莫西林胶囊 批次D2611：调查中。此追溯码此前已售出过，包装可能是假冒。"
                            "生产者：苏州制药。")
    assert reply.endswith(f"/01/{shop.drug}/21/{shop.boxes[0]}") and len(reply) <= 140, (len(reply), reply)


def test_sms_unknown_and_malformed_codes_get_a_short_reason(client: Any, shop: Shop) -> None:
    status, reply = _sms(client, "81234560000000000099")
    assert status == 200 and "81234560000000000099未登记" in reply and "12315" in reply and len(reply) <= 140
    wrong = shop.greens[:-1] + str((int(shop.greens[-1]) + 1) % 10)
    _, reply = _sms(client, f"EN {wrong} QG-1")
    assert reply == (f"[Product trace] Code not recognised: GTIN check digit is wrong: the last digit should be "
                     f"{shop.greens[-1]}, not {wrong[-1]}. Check for a mistyped digit.")
    _, reply = _sms(client, "")
    assert "81234560000000000001" in reply and "EN" in reply
    assert client.post("/sms/inbound", data={"Body": "x"}).status_code == 400


def test_sms_is_limited_per_sender_and_never_logs_the_number(harness: LedgerHarness,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from api import create_app
    settings = harness.settings
    app = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                      "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase, "testing": True,
                      "rate_limit_storage": "memory://"})
    try:
        client = app.test_client()
        caplog.set_level(logging.INFO, logger="scanner_web.sms")
        statuses = [_sms(client, "81234560000000000099", "13800138000")[0] for _ in range(7)]
        assert statuses == [200] * 6 + [429]
        status, reply = _sms(client, "EN 81234560000000000099", "13800138000")
        assert status == 429 and reply == "[Product trace] Too many queries from this number; try again later."
        assert _sms(client, "81234560000000000099", "13900139000")[0] == 200
    finally:
        app.extensions["trace"].engine.dispose()
    logged = [record for record in caplog.records if record.name == "scanner_web.sms"]
    assert len(logged) == 9 and all(len(record.__dict__["sender"]) == 16 for record in logged)
    for number in ("13800138000", "13900139000"):
        assert all(number not in str(record.__dict__) for record in caplog.records)


def test_sms_with_a_gateway_secret_answers_only_signed_fresh_requests(harness: LedgerHarness, shop: Shop) -> None:
    import time
    from urllib.parse import urlencode

    from api import create_app
    from scanner_web.sms import sign_request
    settings = harness.settings
    app = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                      "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase, "testing": True,
                      "sms_webhook_secret": "gateway-secret"})
    body = urlencode({"From": "13800138000", "Body": f"{shop.greens} QG-1"}).encode()

    def post(headers: dict[str, str], data: bytes = body) -> tuple[int, str]:
        response = client.post("/sms/inbound", data=data, headers=headers,
                               content_type="application/x-www-form-urlencoded")
        return response.status_code, response.get_data(as_text=True)

    try:
        client = app.test_client()
        stamp = int(time.time())
        status, reply = post({"X-Trace-Timestamp": str(stamp),
                              "X-Trace-Signature": sign_request("gateway-secret", stamp, body)})
        assert status == 200 and reply.startswith("【产品追溯】青菜 批次QG-1：正常。"), reply
        assert post({}) == (401, "unauthorised: X-Trace-Timestamp and X-Trace-Signature are required")
        forged = {"X-Trace-Timestamp": str(stamp), "X-Trace-Signature": sign_request("guessed", stamp, body)}
        assert post(forged) == (401, "unauthorised: the signature does not match the body")
        signed = {"X-Trace-Timestamp": str(stamp), "X-Trace-Signature": sign_request("gateway-secret", stamp, body)}
        assert post(signed, body.replace(b"QG-1", b"QG-2"))[0] == 401  # the body was changed after signing
        old = stamp - 301
        stale = {"X-Trace-Timestamp": str(old), "X-Trace-Signature": sign_request("gateway-secret", old, body)}
        assert post(stale) == (401, "unauthorised: the signature time is more than 300 seconds from the server's")
        assert post({"X-Trace-Timestamp": "１２", "X-Trace-Signature": "sha256=00"}) == (
            401, "unauthorised: X-Trace-Timestamp must be Unix seconds")
    finally:
        app.extensions["trace"].engine.dispose()
