"""``client epcis-capture`` against a scripted server: the document is posted signed, the job read, each drafted
statement checked and signed locally, the signatures posted, and each event's outcome printed."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger import Signer, build_statement
from ledger.keys import verify_signature
from ledger.statements import parse_statement
from tests.trace.client.conftest import Script, json_reply
from trace.client import ClientError, InputError, JsonClient, KeyFile
from trace.client.epcis import capture_document, read_document
from trace.drafts import statement_fields

ORIGIN = "test.example/ledger"
KEY = KeyFile("91350100MA2XYE001C", Signer.from_seed("91350100MA2XYE001C", bytes(range(32))))


def drafted(seq: int, prev: str | None, author: str = KEY.credit_code) -> dict[str, Any]:
    statement = build_statement(ledger=ORIGIN, type="trace.sell", author=author, key=KEY.key_id, seq=seq,
                                prev=prev, time="2026-11-21T10:00:00+08:00", body={"batch": "01/x/10/y",
                                                                                  "quantity": str(seq)})
    return {"eventIndex": seq - 1, "eventID": f"ni:///sha-256;{seq:064x}?ver=CBV2.0",
            "statement": statement_fields(statement), "statement_hash": statement.hash_hex}


def job(statements: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"captureID": "ab" * 16, "state": "awaiting_signatures", "success": False, "eventCount": 2,
            "statements": statements, "errors": [], "results": [], **members}


def document(tmp_path: Path, events: int = 2) -> Path:
    path = tmp_path / "doc.jsonld"
    path.write_text(json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": [{}] * events}}))
    return path


def test_capture_signs_the_drafts_and_reports_each_event(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    first = drafted(1, None)
    second = drafted(2, first["statement_hash"])
    finished = {**job([first, second]), "state": "succeeded", "success": True, "results": [
        {"eventIndex": 0, "eventID": first["eventID"], "statement_hash": first["statement_hash"], "index": 7,
         "duplicate": False, "error": None},
        {"eventIndex": 1, "eventID": second["eventID"], "statement_hash": second["statement_hash"], "index": 8,
         "duplicate": False, "error": None}]}
    script.replies = [json_reply(202, job([first, second])), json_reply(200, job([first, second])),
                      json_reply(200, finished)]
    data, count = read_document(document(tmp_path))
    outcome = capture_document(JsonClient(url), KEY, data, count, origin=ORIGIN, error_behaviour="proceed")
    assert outcome.success
    assert outcome.lines == [f"event 0 ({first['eventID']}): appended at index 7 ({first['statement_hash']})",
                             f"event 1 ({second['eventID']}): appended at index 8 ({second['statement_hash']})"]
    (post, path, body), (get, job_path, _), (sign, sign_path, sent) = script.requests
    assert (post, path, body) == ("POST", "/api/v1/epcis/capture", data)
    assert (get, job_path) == ("GET", "/api/v1/epcis/capture/" + "ab" * 16)
    assert (sign, sign_path) == ("POST", job_path + "/signatures")
    signatures = json.loads(sent)["signatures"]
    for item, signature in zip([first, second], signatures, strict=True):
        verify_signature(KEY.signer.public_key, base64.b64decode(signature),
                         parse_statement(item["statement"]).signing_message())


def test_a_draft_for_another_enterprise_is_not_signed(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    foreign = drafted(1, None, author="91350102000000002L")
    script.replies = [json_reply(202, job([foreign])), json_reply(200, job([foreign]))]
    data, count = read_document(document(tmp_path))
    with pytest.raises(ClientError, match="refusing to sign: author 91350102000000002L"):
        capture_document(JsonClient(url), KEY, data, count, origin=ORIGIN)
    assert len(script.requests) == 2  # nothing was posted for signing


def test_a_failed_job_is_reported_without_signing(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    failed = job([], state="failed", errors=[{"eventIndex": 1, "eventID": "ni:///x", "code": "epcis.unmappable",
                                              "reason": "bizStep storing has no custody event"}])
    script.replies = [json_reply(202, failed), json_reply(200, failed)]
    data, count = read_document(document(tmp_path))
    outcome = capture_document(JsonClient(url), KEY, data, count, origin=ORIGIN)
    assert not outcome.success
    assert outcome.lines == ["event 1 (ni:///x): NOT CAPTURED epcis.unmappable: bizStep storing has no custody event"]
    bad = tmp_path / "bad.jsonld"
    bad.write_text('{"type": "EPCISQueryDocument"}')
    with pytest.raises(InputError, match="not an EPCISDocument"):
        read_document(bad)
