"""POST /api/v1/events/drafts: the author (or a registrar) gets statements to sign elsewhere, chained and linked,
with refusals known before signing; signed as they are, they are accepted by POST /api/v1/events/batch."""

from __future__ import annotations

from typing import Any

from ledger import Signer, build_statement, sign_statement
from ledger.models import Entry
from tests.api.support import as_json, login, signed, token_for
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.drafts import statement_fields

PATH = "/api/v1/events/drafts"


def _post(client: Any, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(PATH, data=as_json(body), headers={**headers, "Content-Type": "application/json"})


def _signed_post(client: Any, signer: Any, body: dict[str, Any]) -> Any:
    data = as_json(body)
    return client.post(PATH, data=data, headers={**signed(signer, "POST", PATH, data),
                                                 "Content-Type": "application/json"})


def _world(harness: LedgerHarness) -> tuple[World, Any, Any, str, str]:
    world = World(harness)
    farm = world.enterprise(credit_code("350121", 1, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    greens = gtin("695000", 1)
    world.product(farm, greens, "上海青", "farm")
    return world, farm, market, greens, lot(greens, "QG-1121")


def test_drafts_signed_on_the_device_are_accepted_by_the_batch_endpoint(client: Any, harness: LedgerHarness) -> None:
    world, farm, market, greens, batch = _world(harness)
    commission = {"gtin": greens, "lot": "QG-1121", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
                  "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}
    body = {"author": farm.code, "key": farm.signer.key_id, "statements": [
        {"type": "trace.commission", "body": commission, "time": "2026-11-21T08:00:00+08:00"},
        {"type": "trace.ship", "body": {"batch": batch, "quantity": "900", "to": market.code, "shipment_id": "X"}},
        {"type": "trace.ship", "body": {"batch": batch, "quantity": "300", "to": market.code, "shipment_id": "S"}}]}
    size = world.ledger_size()
    answer = _signed_post(client, farm.signer, body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "private, no-store"
    made, over, ship = answer.get_json()["drafts"]
    assert world.ledger_size() == size
    assert over["statement"] is None and over["statement_hash"] is None
    assert over["error"]["code"] == "custody.over_quantity" and over["error"]["message"]
    assert made["error"] is None and ship["error"] is None
    assert set(made["statement"]) == {"v", "ledger", "type", "author", "key", "seq", "prev", "links", "time", "body"}
    assert made["statement"]["time"] == "2026-11-21T08:00:00+08:00"
    assert made["statement"]["links"] == {batch: None}
    assert ship["statement"]["links"] == {batch: made["statement_hash"]}
    assert ship["statement"]["prev"] == made["statement_hash"]

    envelopes = [_sign(farm.signer, item["statement"], item["statement_hash"]) for item in (made, ship)]
    submitted = client.post("/api/v1/events/batch", json={"statements": envelopes})
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["appended"] == 2
    assert [item["statement_hash"] for item in submitted.get_json()["results"]] == \
        [made["statement_hash"], ship["statement_hash"]]


def _sign(signer: Any, fields: dict[str, Any], statement_hash: str) -> dict[str, Any]:
    """Sign the draft's members exactly as answered, as a phone would, and check the hash it was told."""
    statement = build_statement(ledger=fields["ledger"], type=fields["type"], author=fields["author"],
                                key=fields["key"], seq=fields["seq"], prev=fields["prev"], time=fields["time"],
                                body=fields["body"], links=fields["links"])
    assert statement_fields(statement) == fields and statement.hash_hex == statement_hash
    return sign_statement(signer, statement).envelope()


def test_drafts_callers_keys_and_body(client: Any, harness: LedgerHarness) -> None:
    world, farm, market, _greens, _batch = _world(harness)
    body = {"author": farm.code, "key": farm.signer.key_id,
            "statements": [{"type": "trace.ship", "body": {"batch": "01/x", "quantity": "1", "to": market.code,
                                                           "shipment_id": "Q"}}]}
    anonymous = _post(client, body, {})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "auth.required"
    foreign = _signed_post(client, market.signer, body)
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == "auth.forbidden"
    inspector = _post(client, body, login(client, harness, "li.inspector", "inspector"))
    assert inspector.status_code == 403
    registrar = _post(client, body, login(client, harness, "zhao.registrar", "registrar"))
    assert registrar.status_code == 200
    assert registrar.get_json()["drafts"][0]["error"]["code"]  # a batch that does not exist is refused
    token = _post(client, body, token_for(harness, farm.code))
    assert token.status_code == 200

    unknown = _post(client, {**body, "key": market.signer.key_id}, token_for(harness, farm.code))
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "key.unknown"
    extra = _post(client, {**body, "mode": "atomic"}, token_for(harness, farm.code))
    assert extra.status_code == 422 and extra.get_json()["error"]["code"] == "request.invalid"
    empty = _post(client, {**body, "statements": []}, token_for(harness, farm.code))
    assert empty.status_code == 422
    too_many = _post(client, {**body, "statements": body["statements"] * 101}, token_for(harness, farm.code))
    assert too_many.status_code == 422 and "statements" in too_many.get_json()["error"]["fields"]
    assert world.ledger_size() > 0


def test_revoking_an_own_key_is_drafted_with_empty_links_and_then_the_key_is_refused(
        client: Any, harness: LedgerHarness) -> None:
    world, farm, _market, _greens, _batch = _world(harness)
    spare = Signer.from_seed(farm.code, bytes(range(1, 33)))
    harness.register(spare, "spare phone")
    body = {"author": farm.code, "key": farm.signer.key_id, "statements": [
        {"type": "ledger.key.revoke", "body": {"subject": farm.code, "key": spare.key_id, "reason": "lost phone"}}]}
    answer = _signed_post(client, farm.signer, body)
    assert answer.status_code == 200, answer.get_json()
    draft = answer.get_json()["drafts"][0]
    assert draft["error"] is None and draft["statement"]["links"] == {}
    submitted = client.post("/api/v1/events", json=_sign(farm.signer, draft["statement"], draft["statement_hash"]))
    assert submitted.status_code == 201, submitted.get_json()

    revoked = _post(client, {**body, "key": spare.key_id}, token_for(harness, farm.code))
    assert revoked.status_code == 403 and revoked.get_json()["error"]["code"] == "key.revoked"
    with harness.sessions() as session:
        assert session.get(Entry, submitted.get_json()["index"]) is not None
