"""Complaint handling in the console, end to end through the Flask client on SQLite and PostgreSQL: complaints
filed through the public form, found in the queue with its filters, assigned, answered (the complainant sees the
answer on the follow page), overdue ones marked, escalated into an inspection or a recall; every action a signed
``trace.complaint.handle`` statement, and hostile text inert."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ledger import verify_database
from ledger.models import Entry
from tests.api.support import Chain, make_account, small_chain
from tests.conftest import LedgerHarness
from tests.console.support import console_login, post
from tests.trace.world import CERT, gtin, lot
from trace.complaint_handling import HANDLE, reply_digest
from trace.complaint_models import Complaint, ComplaintAction, ComplaintReply
from trace.context import MARKET_TIME
from trace.officers import OfficerKey
from trace.replay import CustodyReplay
from trace.store import compare_live_state, ledger_registrar, replay_state

DESCRIPTION = "买回来的青菜里有一根铁丝，长约 3 厘米。"
CONTACT = "13800138000"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>\u202eevil'


def statements(harness: LedgerHarness) -> list[dict[str, Any]]:
    with harness.sessions() as session:
        return [json.loads(leaf)["statement"] for leaf in session.scalars(select(Entry.leaf).order_by(Entry.index))]


def leaves(harness: LedgerHarness) -> bytes:
    with harness.sessions() as session:
        return b"\n".join(session.scalars(select(Entry.leaf)))


def file_complaint(app: Any, ref: str, *, category: str = "foreign_matter", description: str = DESCRIPTION,
                   contact: str = CONTACT, photos: Sequence[bytes] = ()) -> tuple[str, str]:
    """File a complaint through the public form, as a complainant with a browser of their own, with ``photos``
    (JPEG or PNG bytes) attached."""
    complainant = app.test_client()
    page = complainant.get(f"/complaints/new?ref={ref}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    response = complainant.post("/complaints", data={"csrf_token": token.group(1), "ref": ref, "category": category,
                                                     "description": description, "contact": contact,
                                                     "photos": [(io.BytesIO(photo), f"photo-{number}.jpg")
                                                                for number, photo in enumerate(photos)]
                                                     or [(io.BytesIO(b""), "")]},
                                content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/complaints/(TS-\d{4}-[2-9A-HJ-NP-Z]{6})\?key=([A-Za-z0-9_-]{32})", response.location)
    assert match is not None, response.location
    return match.group(1), match.group(2)


def complaint(harness: LedgerHarness, ticket: str) -> Complaint:
    with harness.sessions() as session:
        row = session.get(Complaint, ticket)
        assert row is not None
        session.expunge(row)
        return row


def tickets_in(page: str) -> list[str]:
    return re.findall(r'<tr id="row-(TS-[^"]+)"', page)


def second_batch(chain: Chain) -> str:
    spinach = gtin("6901234", 2)
    chain.world.product(chain.farm, spinach, "菠菜", "farm")
    ref = lot(spinach, "BC-1")
    chain.world.act(chain.farm.signer, "trace.commission",
                    {"gtin": spinach, "lot": "BC-1", "quantity": "80", "unit": "KGM", "produced_on": "2026-11-20",
                     "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [ref])
    return ref


def assert_replay_matches(harness: LedgerHarness) -> None:
    """The handle statements replay: rebuild-state gives the same tables, and the verifier accepts the ledger."""
    with harness.sessions() as session:
        with replay_state(session) as replay:
            difference = compare_live_state(session, replay.rows)
        assert difference.empty, difference
        verify_database(session, harness.operator_key, domain=CustodyReplay(ledger_registrar(session)))


def test_the_queue_filters_counts_and_never_shows_the_contact(harness: LedgerHarness, app: Any,
                                                              client: Any) -> None:
    chain = small_chain(harness)
    spinach_ref = second_batch(chain)
    metal, _ = file_complaint(app, chain.ref)
    wilted, _ = file_complaint(app, chain.ref, category="quality", description="叶子发黄腐烂")
    old, _ = file_complaint(app, spinach_ref, category="expired", contact="someone@example.com")
    console_login(client, harness, "li.na", "inspector")

    def queue(**filters: str) -> tuple[int, str]:
        response = client.get("/console/complaints/", query_string={"lang": "en", **filters})
        return response.status_code, response.get_data(as_text=True)

    status, page = queue()
    assert status == 200
    assert sorted(tickets_in(page)) == sorted([metal, wilted, old])
    assert CONTACT not in page and "someone@example.com" not in page, "contacts are never listed"
    assert re.search(r'data-status="received"[^>]*>Awaiting handling <span[^>]*>3<', page)
    assert "3 complaints" in page
    assert tickets_in(queue(category="quality")[1]) == [wilted]
    greens = chain.gtin
    assert sorted(tickets_in(queue(product=greens)[1])) == sorted([metal, wilted])
    assert sorted(tickets_in(queue(product=greens.lstrip("0"))[1])) == sorted([metal, wilted]), "GTIN-13 too"
    assert tickets_in(queue(product=spinach_ref)[1]) == [old]
    assert sorted(tickets_in(queue(enterprise=chain.market.code)[1])) == sorted([metal, wilted])
    assert tickets_in(queue(enterprise=chain.farm.code.lower())[1]) != []
    assert tickets_in(queue(enterprise=chain.shop.code)[1]) == []
    today = datetime.now(MARKET_TIME).date()
    assert len(tickets_in(queue(filed_from=today.isoformat(), filed_to=today.isoformat())[1])) == 3
    assert tickets_in(queue(filed_from=(today + timedelta(days=1)).isoformat())[1]) == []
    assert tickets_in(queue(status="resolved")[1]) == [] and len(tickets_in(queue(status="received")[1])) == 3
    assert tickets_in(queue(assigned="me")[1]) == [] and len(tickets_in(queue(assigned="none")[1])) == 3
    for bad, message in [({"product": "06901234000019"}, "is not a valid GTIN"),
                         ({"product": "not a code"}, "Enter a GTIN or a batch code"),
                         ({"enterprise": "91-XYZ"}, "18 characters"), ({"filed_from": "2026-13-01"}, "YYYY-MM-DD"),
                         ({"filed_from": "2026-11-22", "filed_to": "2026-11-01"}, "before its start"),
                         ({"status": "lost"}, "Choose a status"), ({"assigned": "nobody.here"}, "assigned to")]:
        status, page = queue(**bad)
        assert status == 400 and message in page, bad
        assert 'id="filter-errors"' in page


def test_assign_reply_and_the_complainant_sees_the_answer(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = file_complaint(app, chain.ref)
    anchor = complaint(harness, ticket).anchor_index
    make_account(harness, "zhao.lei", "inspector")
    make_account(harness, "wang.fang", "registrar")
    token = console_login(client, harness, "li.na", "inspector")
    path = f"/console/complaints/{ticket}"

    page = client.get(f"{path}?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert CONTACT in text and DESCRIPTION in text, "the complaint's own page shows the contact to inspectors"
    assert f'href="/{chain.ref}"' in text, "the batch links to its public page"
    assert chain.farm.code in text and chain.market.code in text and "the market regulator" in text

    before = len(statements(harness))
    assert post(client, f"{path}/assign", token, assignee="zhao.lei").status_code == 303
    handled = statements(harness)[before:]
    assert [s["type"] for s in handled] == ["ledger.key.add", HANDLE], "li.na's key is made at her first action"
    assert handled[1]["body"] == {"complaint": anchor, "action": "assign", "assignee": "zhao.lei"}
    with harness.sessions() as session:
        officer_key = session.get(OfficerKey, "li.na")
    assert officer_key is not None and handled[1]["author"] == "registrar" and handled[1]["key"] == officer_key.key_id
    assert complaint(harness, ticket).assignee == "zhao.lei"
    listed = client.get("/console/complaints/?assigned=zhao.lei").get_data(as_text=True)
    assert tickets_in(listed) == [ticket]
    assert tickets_in(client.get("/console/complaints/?assigned=any").get_data(as_text=True)) == [ticket]
    assert tickets_in(client.get("/console/complaints/?assigned=none").get_data(as_text=True)) == []

    size = len(statements(harness))
    refused = client.post(f"{path}/assign?lang=en", data={"csrf_token": token, "assignee": "wang.fang"},
                          follow_redirects=True)
    assert "Choose an active inspector" in refused.get_data(as_text=True)
    assert len(statements(harness)) == size, "a refused action appends nothing"
    assert post(client, f"{path}/assign", token, assignee="li.na").status_code == 303
    assert tickets_in(client.get("/console/complaints/?assigned=me").get_data(as_text=True)) == [ticket]

    answer = "您好，我们已派员前往市场抽检该批次，结果出来后会告知您。"
    assert post(client, f"{path}/reply", token, text=answer, visibility="complainant",
                status="investigating").status_code == 303
    signed = statements(harness)[-1]
    with harness.sessions() as session:
        reply = session.scalars(select(ComplaintReply).where(ComplaintReply.ticket == ticket)).one()
    assert reply.visible and reply.status == "investigating" and reply.salt is not None
    assert signed["body"] == {"complaint": anchor, "action": "status", "status": "investigating",
                              "reply_sha256": reply_digest(ticket, answer, reply.salt)}
    assert answer.encode() not in leaves(harness), "the reply's text never enters the ledger"

    note = "内部：市场经营者电话 0591-1234567"
    assert post(client, f"{path}/reply", token, text=note, visibility="internal").status_code == 303
    assert statements(harness)[-1]["body"]["action"] == "reply"
    assert post(client, f"{path}/reply", token, status="resolved").status_code == 303
    assert statements(harness)[-1]["body"] == {"complaint": anchor, "action": "status", "status": "resolved"}
    assert complaint(harness, ticket).status == "resolved"

    follow = app.test_client().get(f"/complaints/{ticket}?key={key}&lang=en").get_data(as_text=True)
    assert answer in follow and "Answer from the regulator · Under investigation" in follow
    assert "Status changed" in follow and 'id="status">Resolved<' in follow
    assert note not in follow, "an internal note is never shown to the complainant"
    console = client.get(f"{path}?lang=en").get_data(as_text=True)
    assert note in console and "Internal note" in console and answer in console

    size = len(statements(harness))
    for fields, message in [({"status": "resolved"}, "already has this value"),
                            ({"text": "  \u202e "}, "Write a reply or a note"),
                            ({"status": "received"}, "Choose a status"),
                            ({"text": "x" * 2001}, "longer than 2000")]:
        response = client.post(f"{path}/reply?lang=en", data={"csrf_token": token, **fields}, follow_redirects=True)
        assert message in response.get_data(as_text=True), fields
    assert len(statements(harness)) == size
    with harness.sessions() as session:
        actions = [row.action for row in session.scalars(select(ComplaintAction).where(
            ComplaintAction.ticket == ticket).order_by(ComplaintAction.entry_index))]
    assert actions == ["assign", "assign", "status", "reply", "status"]
    assert_replay_matches(harness)


def test_overdue_complaints_are_marked_with_how_long_until_a_new_due_date(harness: LedgerHarness, app: Any,
                                                                          client: Any) -> None:
    chain = small_chain(harness)
    late, _ = file_complaint(app, chain.ref)
    fresh, _ = file_complaint(app, chain.ref, category="quality")
    with harness.sessions() as session:
        row = session.get(Complaint, late)
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(days=3, hours=2, minutes=5)
        session.commit()
    token = console_login(client, harness, "li.na", "inspector")
    page = client.get("/console/complaints/?lang=en").get_data(as_text=True)
    assert tickets_in(page) == [late, fresh], "soonest due first"
    late_row = re.search(rf'<tr id="row-{late}" class="overdue-row">.*?</tr>', page, re.S)
    assert late_row is not None and 'class="overdue"' in late_row.group(0)
    assert "3 d 2 h overdue" in late_row.group(0)
    fresh_row = re.search(rf'<tr id="row-{fresh}">.*?</tr>', page, re.S)
    assert fresh_row is not None and "overdue" not in fresh_row.group(0)
    assert 'Overdue: 1' in page
    assert tickets_in(client.get("/console/complaints/?overdue=1").get_data(as_text=True)) == [late]
    shown = client.get(f"/console/complaints/{late}?lang=en").get_data(as_text=True)
    assert 'id="overdue-banner"' in shown and "3 d 2 h overdue" in shown
    assert "逾期 3 天 2 小时" in client.get(f"/console/complaints/{late}?lang=zh").get_data(as_text=True)

    size = len(statements(harness))
    yesterday = (datetime.now(MARKET_TIME).date() - timedelta(days=1)).isoformat()
    refused = client.post(f"/console/complaints/{late}/due?lang=en", data={"csrf_token": token, "due": yesterday},
                          follow_redirects=True)
    assert "cannot be in the past" in refused.get_data(as_text=True) and len(statements(harness)) == size
    refused = client.post(f"/console/complaints/{late}/due?lang=en", data={"csrf_token": token, "due": "soon"},
                          follow_redirects=True)
    assert "YYYY-MM-DD" in refused.get_data(as_text=True) and len(statements(harness)) == size
    new_due = (datetime.now(MARKET_TIME).date() + timedelta(days=10)).isoformat()
    assert post(client, f"/console/complaints/{late}/due", token, due=new_due).status_code == 303
    assert statements(harness)[-1]["body"] == {"complaint": complaint(harness, late).anchor_index, "action": "due",
                                               "due": new_due}
    assert complaint(harness, late).due_at.astimezone(MARKET_TIME).date().isoformat() == new_due
    assert tickets_in(client.get("/console/complaints/?overdue=1").get_data(as_text=True)) == []
    assert 'id="overdue-banner"' not in client.get(f"/console/complaints/{late}").get_data(as_text=True)


def test_escalating_into_an_inspection_appends_the_order_and_marks_the_complaint(harness: LedgerHarness, app: Any,
                                                                                  client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = file_complaint(app, chain.ref)
    anchor = complaint(harness, ticket).anchor_index
    make_account(harness, "zhao.lei", "inspector")
    token = console_login(client, harness, "li.na", "inspector")
    path = f"/console/complaints/{ticket}"

    size = len(statements(harness))
    refused = client.post(f"{path}/escalate/inspection?lang=en", follow_redirects=True, data={
        "csrf_token": token, "enterprise": chain.shop.code, "inspector": "zhao.lei", "reason": "抽检"})
    assert "routed to" in refused.get_data(as_text=True) and len(statements(harness)) == size
    refused = client.post(f"{path}/escalate/inspection?lang=en", follow_redirects=True, data={
        "csrf_token": token, "enterprise": chain.market.code, "inspector": "zhao.lei", "reason": " "})
    assert "Give a reason" in refused.get_data(as_text=True) and len(statements(harness)) == size

    response = post(client, f"{path}/escalate/inspection", token, enterprise=chain.market.code,
                    inspector="zhao.lei", reason="投诉反映青菜含异物")
    assert response.status_code == 303 and response.location.endswith(path)
    order, escalated = [s for s in statements(harness)[size:] if s["type"] != "ledger.key.add"]
    assert order["type"] == "trace.inspection.order" and order["author"] == "registrar"
    assert order["body"] == {"enterprise": chain.market.code, "batch": chain.ref, "reason": "投诉反映青菜含异物",
                             "inspector": "zhao.lei", "source": "complaint", "source_ref": f"entry {anchor}"}
    with harness.sessions() as session:
        order_index = session.scalar(select(ComplaintAction.order_index).where(ComplaintAction.ticket == ticket))
    assert escalated["type"] == HANDLE and escalated["body"] == {
        "complaint": anchor, "action": "escalate", "escalation": "inspection", "status": "investigating",
        "order": order_index}
    assert complaint(harness, ticket).status == "investigating"
    page = client.get(f"{path}?lang=en").get_data(as_text=True)
    assert f"Escalated into an inspection (order #{order_index})" in page
    follow = app.test_client().get(f"/complaints/{ticket}?key={key}&lang=en").get_data(as_text=True)
    assert "Under investigation" in follow and "投诉反映" not in follow
    assert_replay_matches(harness)


def test_escalating_into_a_recall_opens_the_recall_form(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, _ = file_complaint(app, chain.ref)
    token = console_login(client, harness, "li.na", "inspector")
    response = post(client, f"/console/complaints/{ticket}/escalate/recall", token, reason="铁丝 & 异物")
    assert response.status_code == 303
    assert response.location == "/console/recalls/new?" + "batch=" + chain.ref.replace("/", "%2F") + \
        "&reason=%E9%93%81%E4%B8%9D+%26+%E5%BC%82%E7%89%A9"
    assert statements(harness)[-1]["body"] == {"complaint": complaint(harness, ticket).anchor_index,
                                               "action": "escalate", "escalation": "recall",
                                               "status": "investigating"}
    assert complaint(harness, ticket).status == "investigating"
    again = post(client, f"/console/complaints/{ticket}/escalate/recall", token, reason="再次")
    assert again.status_code == 303 and "status" not in statements(harness)[-1]["body"], "already investigating"


def test_hostile_text_stays_text(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = file_complaint(app, chain.ref, description=HOSTILE, contact='"><b>x</b>')
    token = console_login(client, harness, "li.na", "inspector")
    for page in (client.get("/console/complaints/").get_data(as_text=True),
                 client.get(f"/console/complaints/{ticket}").get_data(as_text=True)):
        assert "<script>alert" not in page and "<img src=x" not in page and "\u202e" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<b>x</b>" not in client.get(f"/console/complaints/{ticket}").get_data(as_text=True)
    assert post(client, f"/console/complaints/{ticket}/reply", token, text="<i>ok</i>\u202e",
                visibility="complainant").status_code == 303
    follow = app.test_client().get(f"/complaints/{ticket}?key={key}").get_data(as_text=True)
    assert "&lt;i&gt;ok&lt;/i&gt;" in follow and "<i>ok" not in follow and "\u202e" not in follow


def test_the_queue_is_the_inspectors_only(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, _ = file_complaint(app, chain.ref)
    assert client.get("/console/complaints/").status_code == 303, "a login first"
    token = console_login(client, harness, "wang.fang", "registrar")
    size = len(statements(harness))
    assert client.get("/console/complaints/").status_code == 403
    assert client.get(f"/console/complaints/{ticket}").status_code == 403
    assert post(client, f"/console/complaints/{ticket}/assign", token, assignee="wang.fang").status_code == 403
    assert len(statements(harness)) == size


def test_unknown_tickets_and_forms_without_a_token(harness: LedgerHarness, app: Any, client: Any) -> None:
    chain = small_chain(harness)
    ticket, _ = file_complaint(app, chain.ref)
    token = console_login(client, harness, "li.na", "inspector")
    assert client.get("/console/complaints/TS-2026-ZZZZZZ").status_code == 404
    assert client.get("/console/complaints/not-a-ticket").status_code == 404
    assert client.get(f"/console/complaints/{ticket}/photos/0").status_code == 404
    assert post(client, "/console/complaints/TS-2026-ZZZZZZ/assign", token, assignee="li.na").status_code == 404
    assert client.post(f"/console/complaints/{ticket}/assign", data={"assignee": "li.na"}).status_code == 400
    assert complaint(harness, ticket).assignee is None
