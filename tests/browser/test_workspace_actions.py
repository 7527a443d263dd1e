"""The workspace's action pages in headless Chromium, on a phone enrolled through the real join page.

The market's phone receives a shipment by scanning the crate's QR code from Chromium's fake camera (a Y4M video of
the code, ``write_y4m``), short with a discrepancy, then ships onward to a shop found by name; shipping more than
it holds is refused with the plain words of ``custody.over_quantity`` and appends nothing. The farm's phone
commissions a lot with a certificate photo: the document stored on the server hashes to the statement's
certificate and has no EXIF left, and the lot's label decodes to the batch's Digital Link. Screenshots of every
page on a 360×780 phone go to ``test-artifacts/``.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from tests.api.support import Chain, small_chain
from tests.browser.conftest import CHROMIUM_ARGS, PHONE
from tests.browser.test_scanner import FAKE_CAMERA, write_y4m
from tests.browser.workspace_support import WAIT_MS, api_as, core, enrol_phone, ledger_statements
from tests.conftest import LedgerHarness
from trace.settings import ROOT

DOCS = ROOT / "docs"


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    """The small chain, plus a second shipment of 100 kg of QG-1 from the farm to the market, still on its way."""
    chain = small_chain(harness)
    chain.world.act(chain.farm.signer, "trace.ship", {"batch": chain.ref, "quantity": "100", "to": chain.market.code,
                                                      "shipment_id": "F-2"}, [chain.ref])
    return chain


@pytest.fixture
def camera_phone(chromium: Any, live_server: str, chain: Chain, tmp_path: Path) -> Iterator[Any]:
    """A phone page whose camera films the crate's label: the QR code of the lot's Digital Link on this server."""
    video = write_y4m(tmp_path / "crate.y4m", f"{live_server}/01/{chain.gtin}/10/QG-1")
    browser = chromium.browser_type.launch(executable_path=shutil.which("chromium"),
                                           args=[*CHROMIUM_ARGS, *FAKE_CAMERA,
                                                 f"--use-file-for-fake-video-capture={video}"])
    context = browser.new_context(**PHONE, locale="zh-CN", permissions=["camera"])
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()
    browser.close()


def _confirmation(page: Any) -> str:
    """The confirmation dialog's words, once it lists what will be signed."""
    page.locator("#ws-confirm .ws-confirm-list li").first.wait_for(timeout=WAIT_MS)
    return str(page.locator("#ws-confirm").inner_text())


def _sign(page: Any) -> None:
    """Answer the confirmation dialog with "Sign and submit" once it shows the plain-words lines."""
    page.locator("#ws-confirm [data-answer=sign]").click()


def _accepted(page: Any) -> None:
    page.locator(".act-outcome[data-state=accepted]").wait_for(timeout=WAIT_MS)


def _form_ready(page: Any) -> None:
    page.locator("#act-form[data-ready=true]").wait_for(state="attached", timeout=WAIT_MS)


def test_receive_by_scanning_short_then_ship_onward_and_a_refused_over_shipment(
        camera_phone: Any, live_server: str, app: Any, harness: LedgerHarness, chain: Chain,
        artifacts: Path) -> None:
    page = camera_phone
    phone = enrol_phone(page, live_server, app, chain.market)

    # (a) Receive by scanning: the scanner reads the crate's code, the page finds the shipment on its way here.
    page.goto(f"{live_server}/workspace/receive")
    choice = page.locator("#receive-shipments .act-choice")
    choice.wait_for(timeout=WAIT_MS)
    assert page.locator("#receive-code").input_value() == f"{live_server}/01/{chain.gtin}/10/QG-1"
    assert choice.count() == 1
    assert "100 千克" in choice.inner_text() and "青菜" in choice.inner_text()
    page.get_by_label("少于发货数量").check()
    page.locator("#receive-quantity").fill("95")
    page.locator("#receive-discrepancy").fill("5 千克萎蔫，已拒收")
    assert page.locator("#receive-scanner .scan-status").inner_text() == "已识别。"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=DOCS / "screenshot-workspace-receive.png")
    page.screenshot(path=artifacts / "workspace-receive.png", full_page=True)
    page.locator(".act-submit").click()
    words = _confirmation(page)
    assert "收货：青菜（批号 QG-1）95 千克，发货方 闽侯蔬菜合作社（发货单号 F-2）" in words
    assert "短少：发货数量为 100 千克。原因：5 千克萎蔫，已拒收" in words
    page.screenshot(path=artifacts / "workspace-receive-confirm.png")
    _sign(page)
    _accepted(page)
    receive = ledger_statements(harness, "trace.receive")[-1]
    assert receive["author"] == chain.market.code and receive["key"] == phone.key_id
    assert receive["body"] == {"shipment": {"from": chain.farm.code, "id": "F-2"}, "quantity": "95",
                               "discrepancy": "5 千克萎蔫，已拒收"}

    # (b) Ship onward to the shop, found by its name.
    page.goto(f"{live_server}/workspace/ship")
    _form_ready(page)
    page.locator("#ship-holding").select_option(chain.ref)
    assert page.locator("#ship-unit").inner_text() == "千克"
    page.locator("#ship-quantity").fill("40")
    page.locator("#ship-search").fill("鼓楼")
    page.locator("#ship-find").click()
    page.locator(".act-result").first.click()
    assert page.locator("#ship-receiver").inner_text() == f"鼓楼生鲜店 ({chain.shop.code})"
    shipment_id = page.locator("#ship-id").input_value()
    page.screenshot(path=artifacts / "workspace-ship.png", full_page=True)
    page.locator(".act-submit").click()
    assert (f"发货：青菜（批号 QG-1）40 千克，收货方 鼓楼生鲜店（{chain.shop.code}）"
            in _confirmation(page))
    _sign(page)
    _accepted(page)
    ship = ledger_statements(harness, "trace.ship")[-1]
    assert ship["key"] == phone.key_id
    assert ship["body"] == {"batch": chain.ref, "quantity": "40", "to": chain.shop.code, "shipment_id": shipment_id}

    # (c) More than held (300 + 95 - 40 = 355 kg): refused in plain words before anything is signed; the form
    # keeps what was typed, and nothing is appended.
    before = len(ledger_statements(harness))
    page.locator("#ship-quantity").fill("1000")
    page.locator("#ship-search").fill(chain.shop.code)
    page.locator("#ship-find").click()
    page.locator(".act-result").first.click()
    page.locator(".act-submit").click()
    refusal = page.locator(".act-error[data-code='custody.over_quantity']")
    refusal.wait_for(timeout=WAIT_MS)
    assert refusal.inner_text() == core(page, "core.errorWords('custody.over_quantity', '')")
    assert page.locator("#ws-confirm").is_hidden()
    assert page.locator("#ship-quantity").input_value() == "1000"
    page.screenshot(path=artifacts / "workspace-ship-refused.png")
    assert len(ledger_statements(harness)) == before
    assert page.js_errors == []


def _photo_with_gps() -> bytes:
    """A JPEG "certificate" whose EXIF names the camera and a GPS position."""
    image = Image.new("RGB", (800, 600), (250, 250, 240))
    for x in range(100, 700):
        for y in (150, 300, 450):
            image.putpixel((x, y), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (26.0, 4.0, 30.0), 3: "E", 4: (119.0, 18.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_commission_with_a_certificate_photo_then_print_its_labels(
        phone: Any, live_server: str, app: Any, harness: LedgerHarness, chain: Chain, tmp_path: Path,
        artifacts: Path) -> None:
    device = enrol_phone(phone, live_server, app, chain.farm, staff="林阿姨", device="Honor X50")
    photo = tmp_path / "promise.jpg"
    photo.write_bytes(original := _photo_with_gps())
    assert Image.open(io.BytesIO(original)).getexif()
    phone.goto(f"{live_server}/workspace/commission")
    _form_ready(phone)
    phone.locator("#commission-product").select_option(chain.gtin)
    phone.locator("#commission-lot").fill("QG-9")
    phone.locator("#commission-quantity").fill("20")
    phone.locator("#commission-unit").select_option("KGM")
    phone.locator("#commission-place").fill("闽侯县上街镇")
    phone.locator("#commission-photos").set_input_files(str(photo))
    phone.locator("#commission-photo-list .act-photo").wait_for()
    assert phone.locator("#commission-photo-list select").input_value() == "compliance_promise"
    phone.screenshot(path=artifacts / "workspace-commission.png", full_page=True)
    phone.locator(".act-submit").click()
    words = _confirmation(phone)
    assert "记录 青菜 批号 QG-9：20 千克" in words and "附带证明文件：承诺达标合格证" in words
    _sign(phone)
    _accepted(phone)

    commission = ledger_statements(harness, "trace.commission")[-1]
    assert commission["key"] == device.key_id
    certificate = commission["body"]["certificates"][0]
    assert certificate["kind"] == "compliance_promise"
    stored = api_as(app, chain.farm.signer, "GET", f"/api/v1/documents/{certificate['sha256']}")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    assert hashlib.sha256(stored.data).hexdigest() == certificate["sha256"]
    assert stored.data != original and not Image.open(io.BytesIO(stored.data)).getexif(), "EXIF and GPS are gone"

    # The labels: shown in the page, and the PNG link decodes to the batch's Digital Link.
    phone.locator("#commission-labels").wait_for()
    ref = f"01/{chain.gtin}/10/QG-9"
    assert phone.locator("#label-png").get_attribute("href") == f"/labels/{ref}.png"
    sheet = f"/labels/sheet.pdf?code={ref.replace('/', '%2F')}&copies=20"
    assert phone.locator("#label-sheet").get_attribute("href") == sheet
    phone.wait_for_function("() => document.getElementById('label-preview').naturalWidth > 0")
    label = app.test_client().get(f"/labels/{ref}.png")
    assert label.status_code == 200
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(label.data)))
    assert [code.text for code in decoded] == [f"{live_server}/{ref}"]
    phone.screenshot(path=artifacts / "workspace-commission-labels.png", full_page=True)
    assert phone.js_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_action_page_on_a_phone(phone: Any, live_server: str, app: Any, chain: Chain, artifacts: Path,
                                      lang: str) -> None:
    enrol_phone(phone, live_server, app, chain.market)
    for name in ("commission", "receive", "ship", "transform", "sell", "inspect", "recall", "complaints"):
        phone.goto(f"{live_server}/workspace/{name}?lang={lang}")
        _form_ready(phone)
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} scrolls sideways"
        submit = phone.locator(".act-submit")
        if submit.count():
            box = submit.bounding_box()
            assert box is not None and box["height"] >= 48
        phone.screenshot(path=artifacts / f"workspace-{name}-{lang}.png", full_page=True)
    assert phone.js_errors == []
