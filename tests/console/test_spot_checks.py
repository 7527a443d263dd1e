"""The spot-check console end to end: an inspector draws, the console appends the draw and its orders, the assigned
inspector records a result and nobody else can, a registrar-only account is refused, and the public page shows the
draw with its re-run instructions."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from ledger.models import Entry
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.inspections import ORDER, get_order, orders_for
from trace.models import Batch
from trace.spot_checks import get_draw, redraw

INSPECTORS = ("alice", "bob", "carol")


def _world(harness: LedgerHarness) -> World:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1), ["producer"], "闽侯蔬菜合作社")
    world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡农批市场")
    world.enterprise(credit_code("350103", 3), ["retailer"], "鼓楼生鲜店")
    world.enterprise(credit_code("440305", 5), ["producer"], "深圳食品厂")
    greens = gtin("6901234", 1)
    world.product(farm, greens, "青菜", "farm")
    world.act(farm.signer, "trace.commission",
              {"gtin": greens, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
               "expires_on": "2026-11-30", "activity": "harvest", "origin": {"place": "闽侯县"},
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [lot(greens, "QG-1")])
    return world


def _officers(app: Any, harness: LedgerHarness) -> dict[str, tuple[Any, str]]:
    """A logged-in test client and CSRF token per inspector."""
    out = {}
    for name in INSPECTORS:
        client = app.test_client()
        out[name] = (client, console_login(client, harness, name, "inspector"))
    return out


def _entries(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def _draw(client: Any, token: str, **fields: Any) -> Any:
    values = {"category": "", "region": "35", "role": "", "targets": "2", "per_target": "2", "checkpoint": "",
              "reason": "2026年第四季度双随机抽查", "pool": list(INSPECTORS), **fields}
    return post(client, "/console/spot-checks/new", token, **values)


def test_draw_results_and_refusals_through_the_console(app: Any, harness: LedgerHarness) -> None:
    _world(harness)
    officers = _officers(app, harness)
    client, token = officers["alice"]
    form = client.get("/console/spot-checks/new")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert all(f'name="pool" value="{name}" checked' in page for name in INSPECTORS), "default pool: everyone"

    response = _draw(client, token)
    assert response.status_code == 303, response.get_data(as_text=True)
    index = int(re.search(r"/console/spot-checks/draws/(\d+)$", response.headers["Location"])[1])  # type: ignore[index]
    with harness.sessions() as session:
        published = get_draw(session, index)
        assert published is not None and published.candidates == 3 and len(published.targets) == 2
        orders = orders_for(session, f"draw {index}", "spot_check")
        assert sorted((order.enterprise, order.inspector) for order in orders) == sorted(
            (item["enterprise"], name) for item in published.assignments for name in item["inspectors"])
        assert all(order.reason == "2026年第四季度双随机抽查" for order in orders)
        assert redraw(session, index, harness.operator_key).draw.targets == published.targets
    shown = client.get(f"/console/spot-checks/draws/{index}?lang=en")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert 'id="draw-checked"' in text and published.seed in text
    assert all(code in text for code in published.targets)

    order = orders[0]
    assigned_client, assigned_token = officers[order.inspector]
    other = next(name for name in INSPECTORS if name not in published.inspectors_of(order.enterprise))
    other_client, other_token = officers[other]
    before = _entries(harness)
    refused = post(other_client, f"/console/spot-checks/orders/{order.index}/result", other_token,
                   result="conformant", findings="I was not sent")
    assert refused.status_code == 403 and 'id="not-assigned"' in refused.get_data(as_text=True)
    assert _entries(harness) == before, "a refused result appends nothing"

    missing = post(assigned_client, f"/console/spot-checks/orders/{order.index}/result", assigned_token,
                   result="conformant", findings="")
    assert missing.status_code == 303 and _entries(harness) == before
    done = post(assigned_client, f"/console/spot-checks/orders/{order.index}/result", assigned_token,
                result="conformant", findings="现场检查未见异常", certificate_sha256=CERT.upper())
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/draws/{index}#order-{order.index}")
    with harness.sessions() as session:
        recorded = get_order(session, order.index)
        assert recorded is not None and recorded.result == "conformant" and recorded.certificate_sha256 == CERT
    # messages are flashed in the language of the post (the officer drawn first may have English remembered)
    again = post(assigned_client, f"/console/spot-checks/orders/{order.index}/result?lang=en", assigned_token,
                 result="non_conformant", findings="changed my mind")
    assert again.status_code == 303
    assert "This order already has its result." in assigned_client.get(
        f"/console/spot-checks/draws/{index}?lang=en").get_data(as_text=True)

    mine = assigned_client.get("/console/spot-checks/?lang=en").get_data(as_text=True)
    assert f"#{order.index}<" not in mine, "an order with its result is no longer open"

    public = app.test_client().get(f"/spot-checks/{index}?lang=en")
    assert public.status_code == 200
    body = public.get_data(as_text=True)
    assert 'id="draw-checked"' in body and "现场检查未见异常" in body and published.seed in body
    assert f"python -m trace redraw {index} --export" in body
    listing = app.test_client().get("/spot-checks")
    assert listing.status_code == 200 and "双随机" in listing.get_data(as_text=True)


def test_a_registrar_only_account_is_refused(app: Any, client: Any, harness: LedgerHarness) -> None:
    _world(harness)
    token = console_login(client, harness, "rita", "registrar")
    assert client.get("/console/spot-checks/").status_code == 403
    assert client.get("/console/spot-checks/new").status_code == 403
    before = _entries(harness)
    assert _draw(client, token, pool=["rita"]).status_code == 403
    assert _entries(harness) == before


def test_the_draw_form_explains_each_problem(app: Any, harness: LedgerHarness) -> None:
    _world(harness)
    client, token = _officers(app, harness)["alice"]
    console_login(app.test_client(), harness, "rita", "registrar")
    before = _entries(harness)
    cases = [({"region": "3"}, "region-error"), ({"targets": "0"}, "targets-error"),
             ({"per_target": "9"}, "per_target-error"), ({"pool": []}, "pool-error"),
             ({"pool": ["alice", "rita"]}, "pool-error"), ({"per_target": "4"}, "pool-error"),
             ({"category": "weapons"}, "category-error"), ({"reason": ""}, "reason-error"),
             ({"checkpoint": "x"}, "checkpoint-error"), ({"category": "drug"}, "form-error")]
    for fields, marker in cases:
        response = _draw(client, token, **{"lang": "en", **fields})
        assert response.status_code == 400, fields
        assert f'id="{marker}"' in response.get_data(as_text=True), fields
    assert _entries(harness) == before


def test_a_non_conformant_result_on_a_batch_marks_the_batch(app: Any, harness: LedgerHarness) -> None:
    world = _world(harness)
    officers = _officers(app, harness)
    ref = lot(gtin("6901234", 1), "QG-1")
    index = world.registrar_act(ORDER, {"enterprise": credit_code("350121", 1), "batch": ref,
                                        "reason": "投诉：农残超标", "inspector": "bob", "source": "complaint",
                                        "source_ref": "entry 1"})
    client, token = officers["bob"]
    page = client.get(f"/console/spot-checks/orders/{index}?lang=en").get_data(as_text=True)
    assert 'id="order-form-' in page and ref in page
    carol_page = officers["carol"][0].get(f"/console/spot-checks/orders/{index}?lang=en").get_data(as_text=True)
    assert 'id="order-form-' not in carol_page and 'id="awaiting"' in carol_page
    done = post(client, f"/console/spot-checks/orders/{index}/result", token, result="non_conformant",
                findings="农药残留超标 2 倍")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/orders/{index}")
    assert 'id="inspect-batch"' in client.get(f"/console/spot-checks/orders/{index}").get_data(as_text=True)
    refused = post(officers["carol"][0], f"/console/spot-checks/orders/{index}/inspect-batch", officers["carol"][1])
    assert refused.status_code == 403
    marked = post(client, f"/console/spot-checks/orders/{index}/inspect-batch", token)
    assert marked.status_code == 303
    with harness.sessions() as session:
        batch = session.get(Batch, ref)
        assert batch is not None and batch.inspection == "non_conformant"
    assert 'id="inspect-batch"' not in client.get(f"/console/spot-checks/orders/{index}").get_data(as_text=True)
    assert client.get("/console/spot-checks/orders/999999").status_code == 404
    assert client.get("/console/spot-checks/draws/1").status_code == 404
