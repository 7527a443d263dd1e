"""The workspace's action pages as served: private headers and a script policy without inline scripts, Chinese by
default and English on request, the messages their scripts read, and the receive page's camera scanner. What the
pages do is tested in a real browser (tests/browser/test_workspace_actions.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from scanner_web.private import PRIVATE_HEADERS
from scanner_web.workspace.actions import UNITS

PAGES = {
    "commission": ("记录新批次", "Record a new lot"),
    "receive": ("收货", "Receive"),
    "ship": ("发货", "Ship"),
    "transform": ("分装、合并或加工", "Split, merge or process"),
    "sell": ("记录销售", "Record a sale"),
    "inspect": ("记录检验结果", "Record an inspection"),
    "recall": ("发起召回", "Start a recall"),
    "complaints": ("投诉处理", "Complaints"),
}


def _data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="actions-data">(.*?)</script>', html, re.S)
    assert found, "the page carries its script's messages"
    return json.loads(found.group(1))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_is_private_and_runs_only_this_sites_scripts(client: Any, name: str) -> None:
    response = client.get(f"/workspace/{name}")
    assert response.status_code == 200
    for header, value in PRIVATE_HEADERS.items():
        assert response.headers[header] == value
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}"
    assert 'type="module" src="/static/workspace/actions.js"' in html
    assert f'data-action="{name}"' in html
    assert re.search(r"\son\w+=", html) is None, "no inline event handlers"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_are_chinese_by_default_and_english_on_request(client: Any, name: str) -> None:
    chinese, english = PAGES[name]
    html = client.get(f"/workspace/{name}").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert f"<h1>{chinese}</h1>" in html
    assert _data(html)["units"]["KGM"] == "千克"
    html = client.get(f"/workspace/{name}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert f"<h1>{english}</h1>" in html
    data = _data(html)
    assert data["units"]["KGM"] == "kg"
    assert data["summary"]["trace.ship"] == "Ship {quantity} {unit} of {product} lot {lot} to {receiver} ({code})"


def test_every_unit_and_summary_has_its_chinese_words(client: Any) -> None:
    data = _data(client.get("/workspace/ship").get_data(as_text=True))
    assert set(data["units"]) == set(UNITS)
    assert data["summary"]["trace.ship"] == \
        "发货：{product}（批号 {lot}）{quantity} {unit}，收货方 {receiver}（{code}）"
    english = _data(client.get("/workspace/ship?lang=en").get_data(as_text=True))
    for group in ("summary", "status", "form", "units"):
        for key, words in data[group].items():
            assert words != english[group][key] or key in {"trace.transform"}, f"{group}.{key} is not translated"


def test_the_receive_page_has_the_camera_scanner_and_its_messages(client: Any) -> None:
    html = client.get("/workspace/receive").get_data(as_text=True)
    assert 'id="receive-scanner" data-scanner' in html
    assert '<script src="/static/scanner.js"></script>' in html
    messages = re.search(r'<script type="application/json" id="receive-scanner-messages">(.*?)</script>', html, re.S)
    assert messages and json.loads(messages.group(1))["scanning"] == "请将摄像头对准包装上的二维码。"


def test_the_commission_page_offers_every_certificate_kind_and_unit(client: Any) -> None:
    html = client.get("/workspace/commission?lang=en").get_data(as_text=True)
    for kind in ("compliance_promise", "quarantine", "inspection_report", "origin", "organic", "gi", "drug_release",
                 "other"):
        assert kind in _data(html)["certificate_kinds"]
    assert all(f'<option value="{code}">' in html for code in UNITS)
    assert 'id="commission-photos" type="file" accept="image/*" multiple' in html
