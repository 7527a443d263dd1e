"""The workspace shell pages through the Flask test client: private headers, no inline script, Chinese by default
and English on request, the data blocks core.js reads, and the join link's QR code."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from scanner_web.private import PRIVATE_HEADERS

PAGES = ["/workspace/", "/workspace/join", "/workspace/devices", "/workspace/queue"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_private_and_allow_only_this_sites_scripts(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    for name, value in PRIVATE_HEADERS.items():
        assert response.headers[name] == value
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    # Every script is either a module from this site or a JSON data block: nothing inline runs.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or re.search(r'type="module" src="/static/workspace/', tag), tag


def _json_block(html: str, attribute: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" {attribute}[^>]*>(.*?)</script>', html, re.S)
    assert match, attribute
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_chinese_by_default_english_on_request(client: Any) -> None:
    chinese = client.get("/workspace/join").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese
    assert "加入" in chinese
    words = _json_block(chinese, 'id="workspace-messages"')
    assert words["error.custody.not_holder"] == "贵企业未持有该批次（或已无剩余）。"
    english = client.get("/workspace/join?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Create the key and join" in english
    words = _json_block(english, 'id="workspace-messages"')
    assert words["error.custody.not_holder"].startswith("Your enterprise does not hold this batch")
    assert words["confirm.sign"] == "Sign and submit"


def test_core_gets_the_ledger_origin(client: Any, app: Any) -> None:
    config = _json_block(client.get("/workspace/").get_data(as_text=True), 'id="workspace-config"')
    assert config == {"ledgerOrigin": app.extensions["trace"].settings.ledger_origin}


def test_every_message_is_translated(client: Any) -> None:
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        for match in re.finditer(r'<script type="application/json"[^>]*data-ws-messages[^>]*>(.*?)</script>', html,
                                 re.S):
            for key, text in json.loads(match.group(1)).items():
                assert re.search(r"[\u4e00-\u9fff]", text), (path, key, text)


def test_join_link_qr_code(client: Any) -> None:
    link = "https://trace.example/workspace/join#invite=twi_" + "A" * 43
    response = client.post("/workspace/qr.svg", json={"text": link})
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data(as_text=True).startswith("<svg")
    assert client.post("/workspace/qr.svg", json={"text": ""}).status_code == 400
    assert client.post("/workspace/qr.svg", json={"text": "x" * 301}).status_code == 400
    assert client.post("/workspace/qr.svg", data="not json").status_code == 400
