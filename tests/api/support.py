"""Helpers for API tests: staff logins, enterprise credentials, signed requests, and a small supply chain."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger import Signer
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, Actor, World, credit_code, gtin, lot
from trace.access import create_account, issue_token, request_signing_message

PASSWORD = "correct horse battery staple"


def make_account(harness: LedgerHarness, username: str, *roles: str) -> None:
    with harness.sessions() as session:
        create_account(session, username, PASSWORD, list(roles), display_name=username, now=datetime.now(UTC))
        session.commit()


def login(client: Any, harness: LedgerHarness, username: str, *roles: str) -> dict[str, str]:
    """Create the account and log in through the API; returns the Authorization header."""
    make_account(harness, username, *roles)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def token_for(harness: LedgerHarness, code: str) -> dict[str, str]:
    with harness.sessions() as session:
        token, _ = issue_token(session, code, "test", created_by="test", now=datetime.now(UTC))
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def signed(signer: Signer, method: str, target: str, body: bytes = b"", *,
           time: datetime | None = None) -> dict[str, str]:
    """Headers of a request signed with an enterprise key."""
    moment = (time or datetime.now(UTC)).isoformat(timespec="seconds")
    signature = signer.sign(request_signing_message(method, target, moment, signer.key_id, body))
    value = (f'Trace-Signature key="{signer.key_id}", time="{moment}", '
             f'signature="{base64.b64encode(signature).decode()}"')
    return {"Authorization": value}


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class Chain:
    """A farm that harvested a lot and shipped part of it to a market, which received it."""

    world: World
    farm: Actor
    market: Actor
    shop: Actor
    gtin: str
    ref: str


def small_chain(harness: LedgerHarness) -> Chain:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1), ["producer"], "闽侯蔬菜合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡农批市场")
    shop = world.enterprise(credit_code("350103", 3), ["retailer"], "鼓楼生鲜店")
    greens = gtin("6901234", 1)
    world.product(farm, greens, "青菜", "farm")
    ref = lot(greens, "QG-1")
    world.act(farm.signer, "trace.commission",
              {"gtin": greens, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
               "expires_on": "2026-11-30", "activity": "harvest", "origin": {"place": "闽侯县"},
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [ref])
    world.act(farm.signer, "trace.ship", {"batch": ref, "quantity": "300", "to": market.code,
                                          "shipment_id": "F-1"}, [ref])
    world.act(market.signer, "trace.receive", {"shipment": {"from": farm.code, "id": "F-1"}, "quantity": "300"},
              [ref])
    return Chain(world, farm, market, shop, greens, ref)
