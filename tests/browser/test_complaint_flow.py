"""A consumer files a complaint with a photo on a phone, then follows it by its private link in another browser."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from PIL import Image

from tests.api.support import small_chain
from tests.browser.conftest import PHONE
from tests.conftest import LedgerHarness

DESCRIPTION = "青菜叶子里夹着一段铁丝，约 3 厘米长。<b>不是</b>标签问题。"


def _photo() -> bytes:
    image = Image.new("RGB", (900, 1200), (46, 125, 50))
    for x in range(300, 600):
        for y in range(560, 600):
            image.putpixel((x, y), (120, 120, 120))  # the wire
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def test_file_a_complaint_with_a_photo_and_follow_it_by_its_ticket(live_server: str, phone: Any, chromium: Any,
                                                                  harness: LedgerHarness, artifacts: Path) -> None:
    chain = small_chain(harness)
    phone.goto(f"{live_server}/complaints/new?ref={chain.ref}")
    assert phone.locator("h1").inner_text() == "投诉举证"

    photos = phone.locator("#photos")
    photo = {"name": "wire.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    photos.set_input_files([{**photo, "name": f"p{n}.jpg"} for n in range(6)])
    assert phone.locator("#photo-check").is_visible(), "the page warns before uploading too many photos"
    photos.set_input_files([photo])
    assert not phone.locator("#photo-check").is_visible()

    phone.get_by_label("异物").check()
    phone.locator("#description").fill(DESCRIPTION)
    phone.locator("#contact").fill("13800138000")
    phone.screenshot(path=str(artifacts / "complaint-form.png"), full_page=True)
    phone.get_by_role("button", name="提交投诉").click()

    phone.wait_for_url(re.compile(r".*/complaints/TS-\d{4}-[2-9A-HJ-NP-Z]{6}\?key=.*"))
    ticket = phone.locator("#ticket").inner_text()
    assert re.fullmatch(r"TS-\d{4}-[2-9A-HJ-NP-Z]{6}", ticket)
    assert "您的投诉已提交" in phone.locator(".banner-ok").inner_text()
    follow_url = phone.locator("#follow-url").input_value()
    assert follow_url.startswith(f"{live_server}/complaints/{ticket}?key=")
    assert phone.js_errors == []

    other = chromium.new_context(**PHONE, locale="zh-CN")
    try:
        page = other.new_page()
        page.goto(follow_url)
        assert page.locator("#ticket").inner_text() == ticket
        assert page.locator("#status").inner_text() == "待处理"
        assert page.locator("#description").inner_text() == DESCRIPTION, "hostile markup is shown as typed"
        assert page.locator(".banner-ok").count() == 0, "the confirmation was for the filing browser only"
        image = page.locator(".complaint-photos img")
        image.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('.complaint-photos img').naturalWidth > 0")
        assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [900, 1200]
        assert page.locator("#anchor-entry").inner_text().startswith("#")
        assert "13800138000" not in page.content()
        page.screenshot(path=str(artifacts / "complaint-follow.png"), full_page=True)

        page.goto(follow_url.replace("key=", "key=x"))
        assert "没有与此受理编号和密钥相符的投诉" in page.content() or "404" in page.content()
    finally:
        other.close()
