"""A lot with a long history: the public page lists its latest events (runs of sales as one line), counts the rest,
proves what it lists with a suffix bundle, and links a history page that pages through every event. Through the
Flask test client on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from ledger import verify_batch_bundle
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from trace import queries
from trace.context import MARKET_TIME
from trace.models import Event
from trace.public import TIMELINE_EVENTS
from trace.public_history import HISTORY_PAGE
from trace.recall_tracking import CLOSE

SALES = 40


def with_sales(chain: Chain, sales: int) -> Chain:
    """``chain``'s lot shipped on by the market to the shop, which sells it one at a time, ``sales`` times."""
    world, ref = chain.world, chain.ref
    world.act(chain.market.signer, "trace.ship", {"batch": ref, "quantity": "100", "to": chain.shop.code,
                                                   "shipment_id": "F-2"}, [ref])
    world.act(chain.shop.signer, "trace.receive", {"shipment": {"from": chain.market.code, "id": "F-2"},
                                                    "quantity": "100"}, [ref])
    for _ in range(sales):
        world.act(chain.shop.signer, "trace.sell", {"batch": ref, "quantity": "1"}, [ref])
    return chain


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return with_sales(small_chain(harness), SALES)


def path_of(chain: Chain) -> str:
    return f"/01/{chain.gtin}/10/QG-1"


def all_entries(harness: LedgerHarness, chain: Chain) -> list[int]:
    with harness.sessions() as session:
        return queries.batch_entries(session, chain.ref)


def chain_section(html: str) -> str:
    return html[html.index('<section id="chain">'):html.index('<section id="enterprises">')]


def test_the_page_lists_the_latest_events_and_counts_the_rest(client: Any, harness: LedgerHarness,
                                                             chain: Chain) -> None:
    entries = all_entries(harness, chain)
    total = len(entries)
    assert total == 3 + 2 + SALES > TIMELINE_EVENTS
    response = client.get(path_of(chain))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    section = chain_section(html)

    # The latest TIMELINE_EVENTS events: here all sales, in one run line naming how many and over which entries.
    assert 'data-entry="' not in section
    run = re.search(r'<li class="run" data-type="trace.sell" data-count="(\d+)" data-first-entry="(\d+)" '
                    r'data-last-entry="(\d+)">', section)
    assert run is not None
    assert [int(value) for value in run.groups()] == [TIMELINE_EVENTS, entries[-TIMELINE_EVENTS], entries[-1]]
    assert f"销售 {TIMELINE_EVENTS} 次" in section and "鼓楼生鲜店" in section

    # The whole history counted by type, and the link to it.
    assert f'data-earlier="{total - TIMELINE_EVENTS}" data-later="0" data-events="{total}"' in section
    assert f"共 {total} 条记录，下面列出最近的 {TIMELINE_EVENTS} 条。" in section
    assert re.findall(r'<li data-type="([a-z.]+)" data-count="(\d+)">', section) == [
        ("trace.commission", "1"), ("trace.ship", "2"), ("trace.receive", "2"), ("trace.sell", str(SALES))]
    assert f"销售 {SALES} 次，首次 " in section and "，最近 " in section
    assert f'href="{path_of(chain)}?history={chain.ref.replace(":", "%3A")}"' in section
    assert f"查看全部 {total} 条记录" in section

    # Quantities stay out of the summaries too.
    text = re.sub(r"<[^>]+>", " ", html)
    for secret in ("500", "300", "100", "KGM", "F-1", "F-2"):
        assert not re.search(rf"(?<![\w.-]){re.escape(secret)}(?![\w.-])", text), secret


def test_the_page_proves_the_events_it_lists(client: Any, harness: LedgerHarness, chain: Chain) -> None:
    total = len(all_entries(harness, chain))
    html = client.get(path_of(chain)).get_data(as_text=True)
    config = re.search(r'<script type="application/json" id="verify-config">(.*?)</script>', html, re.S)
    assert config is not None
    assert f'"bundle_url": "{path_of(chain)}?linkType=gs1:traceability\\u0026latest={TIMELINE_EVENTS}"' \
        in config.group(1)
    assert f'"full_bundle_url": "{path_of(chain)}?linkType=gs1:traceability"' in config.group(1)
    assert f"服务器核验：本批次共 {total} 条记录，其中最近 {TIMELINE_EVENTS} 条的账本证明有效" in html

    bundle = client.get(f"{path_of(chain)}?linkType=gs1:traceability&latest={TIMELINE_EVENTS}").get_json()
    proved = verify_batch_bundle(bundle, harness.operator_key)
    assert (len(proved), proved.earlier, proved.complete) == (TIMELINE_EVENTS, total - TIMELINE_EVENTS, False)
    full = verify_batch_bundle(client.get(f"{path_of(chain)}?linkType=gs1:traceability").get_json(),
                               harness.operator_key)
    assert full.complete and len(full) == total
    assert [entry.index for entry in full][-TIMELINE_EVENTS:] == [entry.index for entry in proved]

    for wrong in ("0", "-1", "abc", "10001", "%EF%BC%92", "1" * 5000):  # %EF%BC%92: a full-width 2
        response = client.get(f"{path_of(chain)}?linkType=gs1:traceability&latest={wrong}")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "request.latest", wrong


def test_the_history_page_pages_through_every_event(client: Any, harness: LedgerHarness, chain: Chain) -> None:
    entries = all_entries(harness, chain)
    seen: list[int] = []
    path: str | None = f"{path_of(chain)}?history={chain.ref}"
    pages = 0
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        listed = [int(value) for value in re.findall(r'data-entry="(\d+)"', html)]
        assert listed == sorted(listed) and len(listed) <= HISTORY_PAGE
        seen[:0] = listed
        last = len(entries) - len(seen) + len(listed)
        assert f"第 {last - len(listed) + 1}–{last} 条，共 {len(entries)} 条" in html
        found = re.search(r'id="history-earlier" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert seen == entries
    assert pages == -(-len(entries) // HISTORY_PAGE) == 1, "one page of 50 for 45 events"


def test_the_history_page_in_small_pages_and_its_refusals(client: Any, harness: LedgerHarness, chain: Chain,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trace.public_history.HISTORY_PAGE", 7)
    entries = all_entries(harness, chain)
    seen: list[int] = []
    path: str | None = f"{path_of(chain)}?history={chain.ref}&lang=en"
    while path is not None:
        html = client.get(path).get_data(as_text=True)
        listed = [int(value) for value in re.findall(r'data-entry="(\d+)"', html)]
        assert 0 < len(listed) <= 7
        seen[:0] = listed
        found = re.search(r'id="history-earlier" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
        if path is not None:
            assert "Latest events" in html or seen == entries[-len(seen):]
    assert seen == entries
    assert "Harvested" in html and "Events 1–" in html and "oldest first" in html

    assert client.get(f"{path_of(chain)}?history={chain.ref}&before=x").status_code == 400
    other = client.get(f"{path_of(chain)}?history=lot:00000000000000:NOPE")
    assert other.status_code == 400 and "is not in the chain of this product" in other.get_data(as_text=True)


def test_a_recall_closed_long_before_the_latest_events_shows_as_closed(client: Any, harness: LedgerHarness) -> None:
    """The page lists only the latest events, so the closure of a recall is read apart from the timeline: a recall
    closed more than TIMELINE_EVENTS events back still shows as closed."""
    chain = small_chain(harness)
    world = chain.world
    recall = world.registrar_act("trace.recall", {"batch": chain.ref, "reason": "农药残留超标", "level": "1"},
                                 [chain.ref])
    closure = world.registrar_act(CLOSE, {"recall": recall, "note": "转入立案调查",
                                          "override": "the remaining holders are under investigation"}, [chain.ref])
    for _ in range(TIMELINE_EVENTS + 5):  # the recalled goods wait in the farm's cold store, which keeps reporting
        world.act(chain.farm.signer, "trace.sensor", {
            "batch": chain.ref, "measurement": "temperature", "uom": "CEL", "minimum": "2", "maximum": "8",
            "readings": [{"time": world.time().isoformat(), "value": "4.5"}]}, [chain.ref])
    entries = all_entries(harness, chain)
    assert closure in entries and entries.index(closure) < len(entries) - TIMELINE_EVENTS

    html = client.get(f"{path_of(chain)}?lang=en").get_data(as_text=True)
    listed = [int(value) for value in re.findall(r'data-(?:first-|last-)?entry="(\d+)"', chain_section(html))]
    assert listed and min(listed) > closure, "the closure is not among the events the page lists"
    assert 'data-status="recalled"' in html
    with harness.sessions() as session:
        time = session.scalar(select(Event.time).where(Event.entry_index == closure))
    day = datetime.fromisoformat(time).astimezone(MARKET_TIME).date().isoformat()
    assert f'<p class="recall-closed">Recall closed on {day}; the goods remain recalled.</p>' in html
