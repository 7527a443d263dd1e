"""The scanner, kiosk and home pages in headless Chromium.

The camera is Chromium's fake capture device: either a Y4M video of a QR code made here with ``qrcode``, or, for the
screenshots, its built-in moving test pattern. Debian's Chromium has no ``BarcodeDetector`` on Linux, so these tests
decode with the bundled jsQR; a test checks that this is so, so that a future Chromium with a detector does not
silently leave the fallback untested. Screenshots of the phone and kiosk layouts go to ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image

from tests.api.support import Chain, small_chain
from tests.browser.conftest import CHROMIUM_ARGS, PHONE
from tests.conftest import LedgerHarness

PORTRAIT = {"viewport": {"width": 1080, "height": 1920}, "has_touch": True}
LANDSCAPE = {"viewport": {"width": 1920, "height": 1080}, "has_touch": True}
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def write_y4m(path: Path, text: str, *, width: int = 640, height: int = 480, frames: int = 3) -> Path:
    """A short greyscale Y4M video (4:2:0, neutral chroma) of the QR code of ``text`` on white, for Chromium's
    ``--use-file-for-fake-video-capture``."""
    code = qrcode.QRCode(border=4, box_size=1)
    code.add_data(text)
    code.make(fit=True)
    symbol = code.make_image().get_image().convert("L")
    side = height * 3 // 4
    frame = Image.new("L", (width, height), 255)
    frame.paste(symbol.resize((side, side), Image.Resampling.NEAREST), ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma)
    return path


@pytest.fixture(scope="module")
def camera_browser(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str | None], Any]]:
    """A Chromium whose camera films the QR code of a given text (or shows the test pattern for ``None``): one
    browser per text, launched through the session's Playwright."""
    browsers: dict[str | None, Any] = {}
    folder = tmp_path_factory.mktemp("camera")

    def launch(text: str | None) -> Any:
        if text not in browsers:
            args = CHROMIUM_ARGS + FAKE_CAMERA
            if text is not None:
                video = write_y4m(folder / f"code{len(browsers)}.y4m", text)
                args = [*args, f"--use-file-for-fake-video-capture={video}"]
            browsers[text] = chromium.browser_type.launch(executable_path=shutil.which("chromium"), args=args)
        return browsers[text]
    yield launch
    for browser in browsers.values():
        browser.close()


def _page(browser: Any, device: dict[str, Any], errors: list[str]) -> Any:
    context = browser.new_context(**device, locale="zh-CN", permissions=["camera"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


def test_the_scanner_decodes_a_qr_code_from_the_camera_and_opens_its_page(
        live_server: str, chain: Chain, camera_browser: Callable[[str | None], Any]) -> None:
    # A label printed for another resolver host: the scanner keeps the path and resolves it here.
    page = _page(camera_browser(f"https://id.example.com/01/{chain.gtin}/10/QG-1?17=261130"), PHONE, errors := [])
    decoder_requests: list[str] = []
    page.on("request", lambda request: decoder_requests.append(request.url) if "jsQR" in request.url else None)
    page.goto(live_server + "/scan")
    page.wait_for_url(f"{live_server}/01/{chain.gtin}/10/QG-1?17=261130")
    assert page.evaluate("typeof BarcodeDetector") == "undefined", "this Chromium has a BarcodeDetector: the test " \
                                                                   "no longer covers the bundled decoder"
    assert decoder_requests == [f"{live_server}/static/vendor/jsQR.js"]
    assert "青菜" in page.locator("body").inner_text()
    assert errors == []
    page.context.close()


def test_the_scanner_shows_what_it_read_when_it_is_not_a_product_code(
        live_server: str, camera_browser: Callable[[str | None], Any], artifacts: Path) -> None:
    page = _page(camera_browser("WIFI:T:WPA;S:shop;P:secret;;"), PHONE, errors := [])
    page.goto(live_server + "/scan")
    page.locator(".scan-read code").wait_for()
    assert page.locator(".scan-read code").inner_text() == "WIFI:T:WPA;S:shop;P:secret;;"
    assert page.locator(".scan-status").inner_text() == "这个二维码不是产品追溯码，其内容为："
    assert page.url == live_server + "/scan", "a text that is not a code is shown, never followed"
    targets = page.evaluate("""() => ["https://a.example/x/01/06901234000016/10/L%2F1?linkType=gs1:pip",
        "http://b.example/00/069500000000000017", "https://weixin.qq.com/r/abc", "(01)06901234000016(10)L1",
        "81234560000000000001", "hello"].map(window.traceScanner.targetOf)""")
    assert targets == ["/01/06901234000016/10/L%2F1?linkType=gs1:pip", "/00/069500000000000017", None,
                       "/lookup?code=(01)06901234000016(10)L1", "/lookup?code=81234560000000000001", None]
    page.screenshot(path=artifacts / "phone-scan-not-a-code.png")
    assert errors == []
    page.context.close()


def test_without_a_camera_the_scanner_says_why_and_offers_typing(live_server: str, phone: Any,
                                                                 artifacts: Path) -> None:
    phone.goto(live_server + "/scan")
    scanner = phone.locator("[data-scanner]")
    phone.wait_for_function("document.querySelector('[data-scanner]').dataset.problem !== undefined")
    assert scanner.get_attribute("data-problem") in {"no_camera", "denied"}
    assert "请手动输入追溯码" in phone.locator(".scan-status").inner_text()
    assert phone.locator(".viewfinder").is_hidden() and phone.locator(".scan-retry").is_visible()
    assert phone.locator("#code-form-code").is_visible()
    phone.screenshot(path=artifacts / "phone-scan-no-camera.png", full_page=True)
    assert phone.js_errors == []


def test_the_home_page_typed_code_flow(live_server: str, chain: Chain, phone: Any, artifacts: Path) -> None:
    phone.goto(live_server + "/")
    phone.screenshot(path=artifacts / "phone-home.png", full_page=True)
    phone.get_by_label("包装上的追溯码").fill(f"{chain.gtin[:-1]}7 QG-1")
    phone.get_by_role("button", name="查询").click()
    error = phone.locator(".field-error")
    assert error.inner_text() == f"GTIN 校验位错误：最后一位应为 {chain.gtin[-1]}，而不是 7。请检查是否输错了数字。"
    phone.screenshot(path=artifacts / "phone-lookup-error.png", full_page=True)
    phone.get_by_label("包装上的追溯码").fill(f"({'01'}){chain.gtin}(10)QG-1")
    phone.get_by_role("button", name="查询").click()
    phone.wait_for_url(f"{live_server}/01/{chain.gtin}/10/QG-1")
    phone.go_back()
    phone.get_by_label("包装上的追溯码").fill(f"{chain.gtin} NOPE")
    phone.get_by_role("button", name="查询").click()
    assert phone.locator(".banner-danger").inner_text().startswith("此追溯码未登记")
    phone.screenshot(path=artifacts / "phone-lookup-unknown.png", full_page=True)
    assert phone.js_errors == []


def test_the_kiosk_scans_into_its_frame_and_returns_to_the_start_when_idle(
        live_server: str, chain: Chain, camera_browser: Callable[[str | None], Any], artifacts: Path) -> None:
    page = _page(camera_browser(f"{live_server}/01/{chain.gtin}/10/QG-1"), PORTRAIT, errors := [])
    page.goto(live_server + "/kiosk?idle=6")
    page.locator("#kiosk-result").wait_for()
    frame = page.frame(name="kiosk-frame")
    assert frame is not None
    page.wait_for_function("(document.getElementById('kiosk-frame').contentDocument?.documentElement?.classList"
                           " ?? []).contains?.('in-kiosk')")
    assert frame.url == f"{live_server}/01/{chain.gtin}/10/QG-1"
    assert "青菜" in frame.locator("body").inner_text()
    assert page.locator("#kiosk-start").is_hidden()
    page.screenshot(path=artifacts / "kiosk-portrait-product.png")
    page.wait_for_function("document.getElementById('kiosk-idle').textContent.includes('秒后返回首页')")
    page.screenshot(path=artifacts / "kiosk-portrait-returning.png")
    page.locator("#kiosk-start").wait_for(timeout=10_000)
    assert page.locator("#kiosk-result").is_hidden()
    assert page.evaluate("document.getElementById('kiosk-frame').src") == "about:blank"
    page.wait_for_timeout(2_000)
    assert page.locator("#kiosk-result").is_hidden(), "the code still before the camera does not reopen at once"
    assert errors == []
    page.context.close()


@pytest.mark.parametrize(("name", "device"), [("portrait", PORTRAIT), ("landscape", LANDSCAPE)])
def test_kiosk_and_phone_layouts_with_a_live_camera(live_server: str, camera_browser: Callable[[str | None], Any],
                                                    artifacts: Path, name: str, device: dict[str, Any]) -> None:
    browser = camera_browser(None)
    page = _page(browser, device, errors := [])
    page.goto(live_server + "/kiosk")
    page.locator("#kiosk-scanner.scanner-running").wait_for()
    # The start screen fits the terminal's screen: nothing to scroll to.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    for key in "8123":
        page.locator(f".keypad [data-key='{key}']").click()
    assert page.locator("#kiosk-form-code").input_value() == "8123"
    page.screenshot(path=artifacts / f"kiosk-{name}.png")
    assert errors == []
    page.context.close()
    if name == "portrait":
        phone = _page(browser, PHONE, errors)
        phone.goto(live_server + "/scan")
        phone.locator("#scanner.scanner-running").wait_for()
        assert phone.locator("#scanner").get_attribute("data-engine") == "jsQR"
        phone.screenshot(path=artifacts / "phone-scan.png", full_page=True)
        assert errors == []
        phone.context.close()
