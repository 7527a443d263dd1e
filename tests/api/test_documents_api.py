"""Certificate documents: uploaded unchanged by an enterprise, checked (images decode within a pixel limit, PDFs by
their header, size bounded before reading), read back only by the uploader, citing enterprises and authorities."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from PIL import Image

from tests.api.support import login, signed, token_for
from tests.conftest import LedgerHarness
from tests.trace.world import World, credit_code, gtin
from trace.documents import MAX_DOCUMENT_BYTES


def _png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 140, 60)).save(out, format="PNG")
    return out.getvalue()


def _upload(client: Any, code: str, data: bytes, media_type: str, headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/enterprises/{code}/documents", data=data,
                       headers={**headers, "Content-Type": media_type})


def test_upload_read_back_and_cite(client: Any, harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["producer", "wholesaler"], "福州海峡蔬菜批发市场")
    shop = world.enterprise(credit_code("350103", 3), ["retailer"], "鼓楼生鲜店")
    scan = _png()
    path = f"/api/v1/enterprises/{farm.code}/documents"
    first = client.post(path, data=scan, headers={**signed(farm.signer, "POST", path, scan),
                                                  "Content-Type": "image/png"})
    assert first.status_code == 201, first.get_json()
    digest = hashlib.sha256(scan).hexdigest()
    assert first.get_json() == {"sha256": digest, "size": len(scan), "media_type": "image/png"}
    again = _upload(client, farm.code, scan, "image/png", token_for(harness, farm.code))
    assert again.status_code == 200 and again.get_json() == first.get_json()

    read = client.get(f"/api/v1/documents/{digest}", headers=token_for(harness, farm.code))
    assert read.status_code == 200 and read.data == scan and read.mimetype == "image/png"
    assert read.headers["Cache-Control"] == "private, no-store"
    for headers in ({}, token_for(harness, market.code)):
        hidden = client.get(f"/api/v1/documents/{digest}", headers=headers)
        assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found.document"
    missing = client.get(f"/api/v1/documents/{'0' * 64}", headers=token_for(harness, farm.code))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found.document"
    inspector = client.get(f"/api/v1/documents/{digest}", headers=login(client, harness, "li.inspector",
                                                                        "inspector"))
    assert inspector.status_code == 200 and inspector.data == scan

    # the market cites the farm's scan on a batch of its own: it may read it, the shop still may not
    greens = gtin("695000", 1)
    world.product(market, greens, "上海青", "farm")
    world.act(market.signer, "trace.commission",
              {"gtin": greens, "lot": "M-1", "quantity": "10", "unit": "KGM", "produced_on": "2026-11-20",
               "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": digest}]},
              [f"01/{greens}/10/M-1"])
    assert client.get(f"/api/v1/documents/{digest}", headers=token_for(harness, market.code)).status_code == 200
    assert client.get(f"/api/v1/documents/{digest}", headers=token_for(harness, shop.code)).status_code == 404

    pdf = b"%PDF-1.7\n% certificate\n"
    assert _upload(client, shop.code, pdf, "application/pdf", token_for(harness, shop.code)).status_code == 201


def test_uploads_refused(client: Any, harness: LedgerHarness) -> None:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    token = token_for(harness, farm.code)

    def refused(data: bytes, media_type: str, headers: dict[str, str] = token) -> tuple[int, str]:
        answer = _upload(client, farm.code, data, media_type, headers)
        return answer.status_code, answer.get_json()["error"]["code"]

    assert refused(_png(), "image/png", {}) == (401, "auth.required")
    assert refused(_png(), "image/png", token_for(harness, market.code)) == (403, "auth.forbidden")
    assert refused(b"x" * (MAX_DOCUMENT_BYTES + 1), "image/png") == (413, "request.too_large")
    assert refused(_png(), "image/gif") == (415, "document.media_type")
    assert refused(_png(), "image/jpeg") == (422, "document.invalid")  # a PNG is not a JPEG
    assert refused(_png()[:60], "image/png") == (422, "document.invalid")
    assert refused(b"<html>not a pdf", "application/pdf") == (422, "document.invalid")
    assert refused(b"", "application/pdf") == (422, "document.invalid")
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")  # 100 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 100_000
    assert refused(bomb.getvalue(), "image/png") == (422, "document.invalid")
    webp = io.BytesIO()
    Image.new("RGB", (16, 16)).save(webp, format="WEBP")
    assert _upload(client, farm.code, webp.getvalue(), "image/webp", token).status_code == 201
