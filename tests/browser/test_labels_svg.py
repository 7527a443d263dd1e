"""An SVG label as a browser draws it still decodes to the exact URI, upright and rotated."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from scanner_web import labels
from tests.scanner_web.test_labels import BASE, ODD_LINK, ODD_URI, decoded_texts


def test_svg_rendered_by_chromium_decodes(chromium: Any) -> None:
    label = labels.label_for(BASE, ODD_LINK, "青菜")
    context = chromium.new_context(device_scale_factor=3, viewport={"width": 200, "height": 200})
    try:
        page = context.new_page()
        page.set_content(f"<body style='margin:0'>{labels.render_svg(label.uri, label.text_lines, size_mm=40)}"
                         "</body>")
        shot = Image.open(io.BytesIO(page.locator("svg").screenshot()))
    finally:
        context.close()
    assert decoded_texts(shot) == [ODD_URI]
    assert decoded_texts(shot.rotate(17, expand=True, fillcolor="white")) == [ODD_URI]
