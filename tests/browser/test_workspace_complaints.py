"""An enterprise's phone opens a complaint routed to it and sees the complainant's photo: fetched with the device's
signed request and drawn on a canvas (the workspace allows no blob: images), enlarged when tapped."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from tests.api.support import small_chain
from tests.browser.workspace_support import WAIT_MS, enrol_phone
from tests.conftest import LedgerHarness
from tests.console.test_complaints import file_complaint
from trace.complaint_models import ComplaintPhoto


def _photo() -> bytes:
    """A 640×480 JPEG: red on the left half, blue on the right."""
    image = Image.new("RGB", (640, 480), (220, 30, 30))
    image.paste((30, 60, 220), (320, 0, 640, 480))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_the_enterprise_sees_the_complaint_photo(phone: Any, live_server: str, app: Any, harness: LedgerHarness,
                                                 artifacts: Path) -> None:
    chain = small_chain(harness)
    ticket, _ = file_complaint(app, chain.ref, photos=[_photo()])
    with harness.sessions() as session:
        stored = session.get(ComplaintPhoto, (ticket, 0))
        assert stored is not None
        width, height = stored.width, stored.height
    enrol_phone(phone, live_server, app, chain.market)

    phone.goto(f"{live_server}/workspace/complaints?lang=zh")
    row = phone.locator(f"details[data-ticket='{ticket}']")
    row.locator("summary").click()
    canvas = row.locator(".complaint-photos canvas")
    canvas.wait_for(timeout=WAIT_MS)
    assert row.locator(".complaint-photos-count").inner_text() == "投诉附有 1 张照片"
    assert canvas.get_attribute("aria-label") == "投诉照片 1（点按放大）"
    drawn = canvas.evaluate("""(c) => {
        const pixel = (x, y) => Array.from(c.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
        return {width: c.width, height: c.height, left: pixel(c.width / 4, c.height / 2),
                right: pixel(3 * c.width / 4, c.height / 2)};
    }""")
    assert (drawn["width"], drawn["height"]) == (width, height)
    red, blue = drawn["left"], drawn["right"]
    assert red[0] > 180 and red[2] < 80, f"the left half is red, found {red}"
    assert blue[2] > 180 and blue[0] < 80, f"the right half is blue, found {blue}"
    thumbnail = canvas.bounding_box()
    assert thumbnail is not None and thumbnail["height"] < 120

    canvas.click()
    assert "complaint-photo-large" in (canvas.get_attribute("class") or "")
    enlarged = canvas.bounding_box()
    assert enlarged is not None and enlarged["width"] > thumbnail["width"] * 2
    phone.screenshot(path=artifacts / "workspace-complaint-photo.png", full_page=True)
    assert phone.js_errors == []
