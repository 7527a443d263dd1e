"""EPCIS 2.0 capture: documents drafted as the enterprise's statements, signed locally, appended through the
batch path. The round trip into an empty ledger, the official examples, rollback against proceed, forged and
stale signatures, limits and who may capture."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger import Signer, initialise_ledger, sign_statement
from ledger.db import make_engine, make_session_factory
from ledger.statements import parse_statement
from tests.api.support import as_json, login, signed, token_for
from tests.conftest import TEST_PASSPHRASE, LedgerHarness, utcnow
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.authority import ledger_config, load_authority_keys
from trace.epcis import event_hash_id, export_document
from trace.epcis_query import EventQuery, query_events
from trace.settings import Settings
from trace.store import dump_tables

VECTORS = Path("/work/shared/vectors/epcis")
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
CAPTURE = "/api/v1/epcis/capture"
_SENT: set[datetime] = set()


class Cast:
    """The same master data in any ledger (deterministic keys): a farm, a market and a shop, one product."""

    def __init__(self, harness: LedgerHarness) -> None:
        self.world = world = World(harness, start=START)
        self.farm = world.enterprise(credit_code("350121", 1), ["producer"], "闽侯蔬菜合作社")
        self.market = world.enterprise(credit_code("350102", 2), ["wholesaler", "retailer"], "福州海峡农批市场")
        self.shop = world.enterprise(credit_code("350103", 3), ["retailer"], "鼓楼生鲜店")
        self.gtin = gtin("6901234", 1)
        world.product(self.farm, self.gtin, "青菜", "farm")
        self.ref = lot(self.gtin, "QG-1")

    def commission(self) -> dict[str, Any]:
        return {"gtin": self.gtin, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-19",
                "activity": "harvest", "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}


def capture(client: Any, signer: Signer, document: Any, behaviour: str | None = None) -> Any:
    body = as_json(document) if not isinstance(document, bytes) else document
    headers = {**fresh_signature(signer, CAPTURE, body), "Content-Type": "application/ld+json"}
    if behaviour:
        headers["GS1-Capture-Error-Behaviour"] = behaviour
    return client.post(CAPTURE, data=body, headers=headers)


def fresh_signature(signer: Signer, target: str, body: bytes) -> dict[str, str]:
    """A signed POST, each at a second not used before: a repeated request must not repeat a signature (accepted
    once), and a counter alone would repeat one when the clock moves on by as many seconds as it counts."""
    now = datetime.now(UTC).replace(microsecond=0)
    moment = next(now - timedelta(seconds=back) for back in range(240) if now - timedelta(seconds=back) not in _SENT)
    _SENT.add(moment)
    return signed(signer, "POST", target, body, time=moment)


def sign_job(client: Any, signer: Signer, job: dict[str, Any], *, forge: int | None = None,
             caller: Signer | None = None) -> Any:
    signatures = []
    for position, item in enumerate(job["statements"]):
        statement = parse_statement(item["statement"])
        signature = sign_statement(signer, statement).signature_b64
        if position == forge:  # the right statement, signed by a key that is not the enterprise's
            other = Signer.from_seed(signer.author, bytes(range(1, 33)))
            signature = base64.b64encode(other.sign(statement.signing_message())).decode("ascii")
        signatures.append(signature)
    body = as_json({"signatures": signatures})
    target = f"{CAPTURE}/{job['captureID']}/signatures"
    return client.post(target, data=body, headers={**fresh_signature(caller or signer, target, body),
                                                   "Content-Type": "application/json"})


def document_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return export_document(events, created=START)


@pytest.fixture
def source(settings: Settings, tmp_path: Path, sqlite_template: Path) -> Iterator[LedgerHarness]:
    """A second ledger (SQLite) with the same origin, where the events to export are recorded first."""
    path = tmp_path / "source.db"
    shutil.copyfile(sqlite_template, path)
    config = Settings.load({"database_url": f"sqlite:///{path}", "ledger_origin": settings.ledger_origin,
                            "key_dir": str(tmp_path / "source-keys"), "key_passphrase": TEST_PASSPHRASE,
                            "testing": True}, environ={})
    keys = load_authority_keys(config, create=True)
    engine = make_engine(config.database_url)
    sessions = make_session_factory(engine)
    ledger = ledger_config(config, keys)
    with sessions() as session:
        initialise_ledger(session, config=ledger, registrar=keys.registrar, clock=utcnow)
        session.commit()
    yield LedgerHarness(config, engine, sessions, keys, ledger)
    engine.dispose()


def exported(session: Session, author: str) -> list[dict[str, Any]]:
    page = query_events(session, EventQuery(party=author), after=None, limit=1000)
    return [event for _, event in page.events if _author(session, event) == author]


def _author(session: Session, event: dict[str, Any]) -> str:
    from ledger.models import Entry
    index = int(str(event["rdfs:comment"]).split("entry ")[1].split()[0])
    entry = session.get(Entry, index)
    assert entry is not None
    return entry.author


def test_round_trip_into_an_empty_ledger(source: LedgerHarness, harness: LedgerHarness, client: Any) -> None:
    origin = Cast(source)
    farm, market = origin.farm, origin.market
    world = origin.world
    world.act(farm.signer, "trace.commission", origin.commission(), [origin.ref])
    world.advance(hours=1)
    world.act(farm.signer, "trace.ship", {"batch": origin.ref, "quantity": "300", "to": market.code,
                                          "shipment_id": "F-1"}, [origin.ref])
    world.advance(hours=1)
    world.act(market.signer, "trace.receive", {"shipment": {"from": farm.code, "id": "F-1"}, "quantity": "290",
                                                "discrepancy": "10 kg wilted"},
              [origin.ref])
    world.advance(hours=1)
    world.act(market.signer, "trace.sell", {"batch": origin.ref, "quantity": "12.25"}, [origin.ref])
    with source.sessions() as session:
        documents = [(actor, document_of(exported(session, actor.code))) for actor in (farm, market)]
        source_state = dump_tables(session)
    source_ids = [event["eventID"] for _, document in documents for event in document["epcisBody"]["eventList"]]
    assert len(source_ids) == 4

    target = Cast(harness)  # the master data alone
    for actor, document in documents:
        job = capture(client, actor.signer, json.loads(json.dumps(document)))
        assert job.status_code == 202, job.get_json()
        assert job.headers["Location"] == f"{CAPTURE}/{job.get_json()['captureID']}"
        assert job.get_json()["state"] == "awaiting_signatures" and job.get_json()["errors"] == []
        done = sign_job(client, actor.signer, job.get_json())
        assert done.status_code == 200, done.get_json()
        assert done.get_json()["success"] is True and done.get_json()["state"] == "succeeded"
        assert all(result["index"] is not None for result in done.get_json()["results"])
    with harness.sessions() as session:
        assert dump_tables(session) == source_state
    inspector = login(client, harness, "inspector1", "inspector")
    again = client.get("/api/v1/epcis/events", headers=inspector).get_json()
    assert [event["eventID"] for event in again["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == \
        source_ids
    assert target.farm.code == farm.code


@pytest.mark.parametrize("name", sorted(path.name for path in VECTORS.glob("*.jsonld")))
def test_official_examples(harness: LedgerHarness, client: Any, name: str) -> None:
    cast = Cast(harness)
    data = (VECTORS / name).read_bytes()
    response = capture(client, cast.farm.signer, data, "proceed")
    document = json.loads(data)
    if name.startswith("Example-TransactionEvents"):  # its sourceList is an object, not a list
        assert response.status_code == 400, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "epcis.schema"
        assert error["message"].startswith("$.epcisBody.eventList[1].sourceList: ") and "(rule type)" in \
            error["message"]
        return
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    count = len(document["epcisBody"]["eventList"])
    assert job["eventCount"] == count
    accounted = sorted([error["eventIndex"] for error in job["errors"]] +
                       [item["eventIndex"] for item in job["statements"]])
    assert accounted == list(range(count))
    assert all(error["reason"] and error["code"] and error["eventID"].startswith("ni:///sha-256;")
               for error in job["errors"])
    for error in job["errors"]:
        event = document["epcisBody"]["eventList"][error["eventIndex"]]
        assert error["eventID"] == event_hash_id(event, document["@context"])


def test_rollback_fails_at_once_and_proceed_keeps_the_good_events(harness: LedgerHarness, client: Any) -> None:
    cast = Cast(harness)
    with harness.sessions() as session:
        size_before = len(dump_tables(session)["trace_events"])
    good = _commission_event(cast)
    foreign = json.loads((VECTORS / "Example_9.6.1-ObjectEvent.jsonld").read_text())["epcisBody"]["eventList"][0]
    document = document_of([good])
    document["epcisBody"]["eventList"].append(foreign)
    rolled = capture(client, cast.farm.signer, document)
    assert rolled.status_code == 202, rolled.get_json()
    job = rolled.get_json()
    assert job["state"] == "failed" and job["running"] is False and job["success"] is False
    assert job["statements"] == [] and [error["eventIndex"] for error in job["errors"]] == [1]
    assert job["captureErrorBehaviour"] == "rollback" and job["finishedAt"] is not None
    kept = capture(client, cast.farm.signer, document, "proceed").get_json()
    assert kept["state"] == "awaiting_signatures" and kept["running"] is True
    assert [item["eventIndex"] for item in kept["statements"]] == [0]
    assert [error["eventIndex"] for error in kept["errors"]] == [1]
    done = sign_job(client, cast.farm.signer, kept).get_json()
    assert done["success"] is False and done["state"] == "failed"  # one event was not captured
    assert done["results"][0]["index"] is not None and done["results"][0]["error"] is None
    with harness.sessions() as session:
        assert len(dump_tables(session)["trace_events"]) == size_before + 1
    read = client.get(f"{CAPTURE}/{kept['captureID']}", headers=token_for(harness, cast.farm.code))
    assert read.status_code == 200 and read.get_json()["results"] == done["results"]
    again = sign_job(client, cast.farm.signer, kept)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "capture.finished"


def test_a_refused_event_fails_rollback_with_its_reason(harness: LedgerHarness, client: Any) -> None:
    cast = Cast(harness)
    over = _commission_event(cast)
    ship = document_of([over])
    cast.world.act(cast.farm.signer, "trace.commission", cast.commission(), [cast.ref])
    job = capture(client, cast.farm.signer, ship).get_json()  # commissioning the same lot twice
    assert job["state"] == "failed" and job["errors"][0]["code"] == "batch.exists", job["errors"]


def test_forged_and_stale_signatures(harness: LedgerHarness, client: Any) -> None:
    cast = Cast(harness)
    job = capture(client, cast.farm.signer, document_of([_commission_event(cast)])).get_json()
    forged = sign_job(client, cast.farm.signer, job, forge=0)
    assert forged.status_code == 422 and forged.get_json()["error"]["code"] == "signature.invalid"
    assert "event 0" in forged.get_json()["error"]["message"]
    assert client.get(f"{CAPTURE}/{job['captureID']}", headers=token_for(harness, cast.farm.code)
                      ).get_json()["state"] == "awaiting_signatures"
    cast.world.act(cast.farm.signer, "trace.product.define", {"gtin": gtin("6901234", 2), "name": "菠菜",
                                                               "category": "farm", "spec": "standard"})
    stale = sign_job(client, cast.farm.signer, job)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "sequence.conflict"
    assert "capture the document again" in stale.get_json()["error"]["message"]
    finished = client.get(f"{CAPTURE}/{job['captureID']}", headers=token_for(harness, cast.farm.code)).get_json()
    assert finished["state"] == "failed" and finished["errors"][0]["code"] == "sequence.conflict"
    wrong_count = capture(client, cast.farm.signer, document_of([_commission_event(cast, "QG-2")])).get_json()
    body = as_json({"signatures": []})
    target = f"{CAPTURE}/{wrong_count['captureID']}/signatures"
    empty = client.post(target, data=body, headers={**signed(cast.farm.signer, "POST", target, body),
                                                    "Content-Type": "application/json"})
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "request.invalid"
    other = sign_job(client, cast.farm.signer, wrong_count, caller=cast.market.signer)
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "auth.forbidden"


def test_limits_and_who_may_capture(harness: LedgerHarness, client: Any) -> None:
    cast = Cast(harness)
    options = client.options(CAPTURE)
    assert options.status_code == 204
    assert options.headers["GS1-EPCIS-Capture-Limit"] == "500"
    assert options.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(4 * 1024 * 1024)
    document = document_of([_commission_event(cast)])
    anonymous = client.post(CAPTURE, json=document)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "auth.required"
    staff = client.post(CAPTURE, json=document, headers=login(client, harness, "inspector1", "inspector"))
    assert staff.status_code == 403 and staff.get_json()["error"]["code"] == "auth.forbidden"
    by_token = client.post(CAPTURE, json=document, headers=token_for(harness, cast.farm.code))
    assert by_token.status_code == 202 and by_token.get_json()["key"] == cast.farm.signer.key_id
    many = document_of([_commission_event(cast, f"L{number}") for number in range(501)])
    too_many = capture(client, cast.farm.signer, many)
    assert too_many.status_code == 413 and too_many.get_json()["error"]["code"] == "epcis.too_large"
    padding = {**document, "trace:padding": "x" * (4 * 1024 * 1024)}
    too_big = client.post(CAPTURE, json=padding, headers=token_for(harness, cast.farm.code))
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "request.too_large"
    broken = {**document, "schemaVersion": 2}
    invalid = client.post(CAPTURE, json=broken, headers=token_for(harness, cast.farm.code))
    assert invalid.status_code == 400 and invalid.get_json()["error"]["code"] == "epcis.schema"
    assert invalid.get_json()["error"]["message"].startswith("$.schemaVersion")
    not_json = client.post(CAPTURE, data=b'{"type": "EPCISDocument", "type": 1}',
                           headers={**token_for(harness, cast.farm.code), "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "request.json"
    unknown = client.get(f"{CAPTURE}/{'0' * 32}", headers=token_for(harness, cast.farm.code))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "capture.unknown"
    job = by_token.get_json()["captureID"]
    assert client.get(f"{CAPTURE}/{job}", headers=token_for(harness, cast.shop.code)).status_code == 403
    assert client.get(f"{CAPTURE}/{job}", headers=login(client, harness, "inspector2", "inspector")
                      ).status_code == 200


def test_an_unsigned_job_expires(harness: LedgerHarness, client: Any, app: Any) -> None:
    cast = Cast(harness)
    job = capture(client, cast.farm.signer, document_of([_commission_event(cast)])).get_json()
    context = app.extensions["trace"]
    later = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731
    app.extensions["trace"] = type(context)(**{**context.__dict__, "clock": later})
    read = client.get(f"{CAPTURE}/{job['captureID']}", headers=token_for(harness, cast.farm.code)).get_json()
    assert read["state"] == "expired" and read["running"] is False
    body = as_json({"signatures": ["A" * 88]})
    target = f"{CAPTURE}/{job['captureID']}/signatures"
    expired = client.post(target, data=body, headers={**signed(cast.farm.signer, "POST", target, body,
                                                                time=later()),
                                                      "Content-Type": "application/json"})
    assert expired.status_code == 409 and expired.get_json()["error"]["code"] == "capture.expired"


def _commission_event(cast: Cast, lot_number: str = "QG-1") -> dict[str, Any]:
    """The EPCIS event of commissioning ``lot_number`` by the farm, as our export writes it."""
    from trace.epcis import ExportEntry, export_event
    body = {**cast.commission(), "lot": lot_number}
    entry = ExportEntry(index=0, type="trace.commission", author=cast.farm.code,
                        time=cast.world.time().isoformat(), body=body, links={lot(cast.gtin, lot_number): None},
                        statement_hash="00" * 32, measures={lot(cast.gtin, lot_number): "KGM"})
    event = export_event(entry, lambda code: None)
    event.pop("rdfs:comment", None)
    return event

