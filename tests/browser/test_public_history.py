"""A lot with a long history in headless Chromium on a phone: the page lists the latest events, the device check
proves them ("the latest K of M events") and offers the whole history, and the history page pages through it all.
A tampered suffix bundle fails in the browser with the same error as in Python."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger import batch_bundle
from tests.api.support import Chain, small_chain
from tests.browser.test_verify import python_error, result_state
from tests.conftest import LedgerHarness
from tests.scanner_web.test_public_history import SALES, with_sales
from trace import queries
from trace.public import TIMELINE_EVENTS

VERIFY = """async ([bundle, key, origin]) => {
  try { return {ok: await window.traceVerify.verifyBundle(bundle, key, origin)}; }
  catch (error) { return {code: error.code, message: error.message, index: error.index}; }
}"""


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return with_sales(small_chain(harness), SALES)


def test_the_device_checks_the_latest_events_then_the_whole_history(live_server: str, phone: Any,
                                                                    harness: LedgerHarness, chain: Chain,
                                                                    artifacts: Path) -> None:
    total = 5 + SALES
    phone.goto(f"{live_server}/01/{chain.gtin}/10/QG-1")
    assert result_state(phone) == "verified", phone.locator("#verify-result").inner_text()
    result = phone.locator("#verify-result")
    assert result.get_attribute("data-events") == str(TIMELINE_EVENTS)
    assert result.get_attribute("data-total") == str(total)
    assert result.get_attribute("data-complete") == "false"
    text = result.inner_text()
    assert f"已在本设备上核验：共 {total} 条记录中最近的 {TIMELINE_EVENTS} 条" in text
    assert f"更早的 {total - TIMELINE_EVENTS} 条记录未在此核验" in text
    assert phone.locator("li.run[data-type='trace.sell']").get_attribute("data-count") == str(TIMELINE_EVENTS)
    assert "销售 40 次" in phone.locator(".history-summary").inner_text()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a phone ({width} px)"
    phone.screenshot(path=str(artifacts / "public-long-history.png"), full_page=True)

    result.locator("button.verify-full").click()
    phone.wait_for_function("document.getElementById('verify-result').dataset.complete === 'true'")
    assert result.get_attribute("data-state") == "verified"
    assert f"本浏览器已自行核验本批次的 {total} 条记录" in result.inner_text()
    assert phone.js_errors == []

    phone.locator("a.history-link").first.click()
    phone.wait_for_selector("#history")
    assert phone.locator("#history li[data-entry]").count() == total
    assert f"共 {total} 条" in phone.locator("#history-range").inner_text()
    phone.screenshot(path=str(artifacts / "public-history-page.png"), full_page=True)
    assert phone.js_errors == []


def test_a_tampered_suffix_bundle_fails_in_the_browser_as_in_python(live_server: str, phone: Any,
                                                                    harness: LedgerHarness, chain: Chain) -> None:
    with harness.sessions() as session:
        indexes = queries.batch_entries(session, chain.ref)
        bundle = json.loads(json.dumps(batch_bundle(session, chain.ref, indexes, latest=5)))
    phone.goto(live_server + "/")
    phone.add_script_tag(url=live_server + "/static/verify.js", type="module")
    key, origin = harness.operator_key.text(), harness.config.origin

    good = phone.evaluate(VERIFY, [json.dumps(bundle), key, origin])["ok"]
    assert (good["complete"], good["earlier"], len(good["entries"])) == (False, len(indexes) - 5, 5)
    assert good["previous"] == bundle["previous"]

    wrong_previous = copy.deepcopy(bundle)
    wrong_previous["previous"] = "0" * 64
    dropped = copy.deepcopy(bundle)
    dropped["indexes"].remove(indexes[-3])
    dropped["entries"] = [item for item in dropped["entries"] if item["index"] != indexes[-3]]
    as_whole = {name: value for name, value in copy.deepcopy(bundle).items() if name not in {"previous", "earlier"}}
    malformed = {**copy.deepcopy(bundle), "earlier": 0}
    for tampered, index in ((wrong_previous, indexes[-5]), (dropped, indexes[-2]), (as_whole, indexes[-5]),
                            (malformed, None)):
        code, message = python_error(tampered, harness)
        found = phone.evaluate(VERIFY, [json.dumps(tampered), key, origin])
        assert (found["code"], found["message"], found["index"]) == (code, message, index)
    assert phone.js_errors == []
