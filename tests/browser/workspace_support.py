"""Browser-test helpers for the enterprise workspace: a phone enrolled through the real join page.

Typical use, with the browser fixtures (``live_server``, ``app``, ``phone``) and a world from ``small_chain``::

    phone_device = enrol_phone(phone, live_server, app, chain.market)          # staff, approved by the admin key
    phone_device.page  # on /workspace/, the home page showing the enterprise's holdings, ready to act

``enrol_phone`` asks for an invite through the API (signed with the enterprise's own key, so an enterprise
administrator's invite, approved after enrolment; or ``by_registrar=True`` for a registrar's invite, approved at
enrolment), opens ``/workspace/join#invite=…`` in the page, names the phone, creates its key, approves it through
the API when needed, and waits for the active home page. The key id is read from the join page's fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ledger.models import Entry
from tests.api.support import PASSWORD, as_json, make_account, signed
from tests.conftest import LedgerHarness
from tests.trace.world import Actor

#: How long a page may take to move on after the server answered (polling runs every couple of seconds).
WAIT_MS = 15_000


@dataclass
class Phone:
    """An enrolled phone: its page (on ``/workspace/``), the enterprise, the device key and who holds it."""

    page: Any
    code: str
    key_id: str
    staff: str
    role: str
    device: str


def api_as(app: Any, signer: Any, method: str, path: str, body: Any = None) -> Any:
    """``method path`` with the JSON ``body`` through the app's test client, signed with ``signer`` (an
    enterprise key); returns the response."""
    data = b"" if body is None else as_json(body)
    headers = signed(signer, method, path.split("#")[0], data)
    if body is not None:
        headers["Content-Type"] = "application/json"
    return app.test_client().open(path, method=method, data=data, headers=headers)


def registrar_login(app: Any, harness: LedgerHarness, username: str = "registrar-ws") -> dict[str, str]:
    """A registrar's login header (the account is created once per database)."""
    client = app.test_client()
    make_account(harness, username, "registrar")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def create_invite(app: Any, admin: Actor, staff: str, role: str = "staff", *,
                  registrar: dict[str, str] | None = None) -> dict[str, Any]:
    """An invite for ``staff`` of ``admin``'s enterprise: by its own key, or by the registrar login given."""
    path = f"/api/v1/enterprises/{admin.code}/invites"
    body = {"staff": staff, "role": role}
    if registrar is not None:
        response = app.test_client().post(path, json=body, headers=registrar)
    else:
        response = api_as(app, admin.signer, "POST", path, body)
    assert response.status_code == 201, response.get_json()
    invite: dict[str, Any] = response.get_json()
    return invite


def approve_device(app: Any, admin: Actor, key_id: str) -> dict[str, Any]:
    """Approve a pending device with the enterprise's key (as its administrator would)."""
    response = api_as(app, admin.signer, "POST", f"/api/v1/enterprises/{admin.code}/devices/{key_id}/approve", {})
    assert response.status_code == 200, response.get_json()
    device: dict[str, Any] = response.get_json()
    return device


def open_join(page: Any, live_server: str, join_url: str, device: str, *, lang: str | None = None) -> str:
    """Open the join link, name the phone, create its key and send the enrolment; returns the key id shown."""
    path, _, fragment = join_url.partition("#")
    query = f"?lang={lang}" if lang else ""
    page.goto(f"{live_server}{path}{query}#{fragment}")
    page.locator("#ws-device-name").fill(device)
    page.locator("#ws-enrol").click()
    # An invite approved at enrolment opens the home page at once; one waiting for approval shows the fingerprint.
    page.locator("#ws-fingerprint[data-key-id], [data-view=active]").first.wait_for(timeout=WAIT_MS)
    fingerprint = page.locator("#ws-fingerprint[data-key-id]")
    if fingerprint.count():
        key_id: str = fingerprint.get_attribute("data-key-id")
    else:
        key_id = core(page, "core.currentDevice()")["keyId"]
    return key_id


def enrol_phone(page: Any, live_server: str, app: Any, admin: Actor, *, staff: str = "王小明", role: str = "staff",
                device: str = "Redmi 12", by_registrar: bool = False, harness: LedgerHarness | None = None,
                lang: str | None = None) -> Phone:
    """``page`` enrolled as a device of ``admin``'s enterprise and left on its active home page."""
    registrar = None
    if by_registrar:
        assert harness is not None, "a registrar's invite needs the harness to create the registrar's account"
        registrar = registrar_login(app, harness)
    invite = create_invite(app, admin, staff, role, registrar=registrar)
    key_id = open_join(page, live_server, invite["join_url"], device, lang=lang)
    if invite["approval"] == "by_admin":
        approve_device(app, admin, key_id)
    page.wait_for_url(f"{live_server}/workspace/**", timeout=WAIT_MS)
    page.locator("[data-view=active]").wait_for(timeout=WAIT_MS)
    return Phone(page, admin.code, key_id, staff, role, device)


def core(page: Any, expression: str, *args: Any) -> Any:
    """Evaluate ``expression`` with ``core`` bound to the page's core.js module, e.g.
    ``core(page, "core.queueItems()")``; ``args`` are available as ``args``."""
    return page.evaluate("async (args) => { const core = await import('/static/workspace/core.js'); "
                         f"return await ({expression}); }}", list(args))


def ledger_statements(harness: LedgerHarness, type_: str | None = None) -> list[dict[str, Any]]:
    """The statements in the ledger (optionally of one type), oldest first, each with its ``index``."""
    with harness.sessions() as session:
        query = select(Entry).order_by(Entry.index)
        if type_ is not None:
            query = query.where(Entry.type == type_)
        return [{**json.loads(entry.leaf)["statement"], "index": entry.index} for entry in session.scalars(query)]
