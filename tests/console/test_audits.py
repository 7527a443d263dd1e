"""Integrity audits from the console, end to end with the Flask client: start an audit of the live ledger or of an
uploaded export, follow its progress, read and download the stored report, the signed ``trace.audit.report``
statement, the remembered checkpoint, and a later ledger that forks or rolls back flagged on the list and report."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from ledger import initialise_ledger
from ledger.db import Base
from ledger.models import Entry, LedgerKey
from ledger.statements import format_received, parse_leaf, parse_time
from tests.api.support import small_chain
from tests.conftest import LedgerHarness, utcnow
from tests.console.support import console_login, csrf_token, post
from tests.ledger.forge import export_bytes, export_leaves, forge_export
from trace.audits import AUDIT_REPORT, AuditReport, RememberedCheckpoint

AUDITS = "/console/audits/"


def start_live(client: Any, token: str) -> int:
    response = post(client, AUDITS + "live", token)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def upload(client: Any, token: str, data: bytes, name: str = "ledger.export") -> Any:
    return client.post(AUDITS + "export", data={"csrf_token": token, "export": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def start_export(client: Any, token: str, data: bytes, name: str = "ledger.export") -> int:
    response = upload(client, token, data, name)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def finish(client: Any, audit_id: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the progress endpoint, as the page's script does, until the audit has finished."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{AUDITS}{audit_id}/progress")
        assert response.status_code == 200
        state: dict[str, Any] = response.get_json()
        if state["finished"]:
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def stored(harness: LedgerHarness, audit_id: int) -> AuditReport:
    with harness.sessions() as session:
        row = session.get(AuditReport, audit_id)
        assert row is not None
        return row


def audited(client: Any, harness: LedgerHarness, audit_id: int) -> AuditReport:
    finish(client, audit_id)
    return stored(harness, audit_id)


def statement_at(harness: LedgerHarness, index: int) -> tuple[dict[str, Any], str]:
    """The statement of entry ``index`` and the label of the key that signed it."""
    with harness.sessions() as session:
        entry = session.get(Entry, index)
        assert entry is not None
        statement = json.loads(entry.leaf)["statement"]
        key = session.get(LedgerKey, statement["key"])
        assert key is not None
        return statement, key.label


def replace_ledger(harness: LedgerHarness, build: Callable[[LedgerHarness], object]) -> None:
    """Play a dishonest operator who swaps the whole ledger for another history under the same keys: every table
    but the accounts and the audits is emptied, a new genesis appended and ``build`` run."""
    wiped = [table for table in reversed(Base.metadata.sorted_tables)
             if not table.name.startswith(("audit_", "access_"))]
    with harness.engine.begin() as connection:
        if harness.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(table.name for table in wiped)} RESTART IDENTITY CASCADE"))
        else:
            for table in wiped:
                connection.execute(table.delete())
    with harness.sessions() as session:
        initialise_ledger(session, config=harness.config, registrar=harness.keys.registrar, clock=utcnow)
        session.commit()
    build(harness)


def test_pages_need_a_login(client: Any) -> None:
    for path in (AUDITS, f"{AUDITS}1", f"{AUDITS}1/progress", f"{AUDITS}1/report.json"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/console/login?next=")
    response = post(client, AUDITS + "live", csrf_token(client))
    assert response.status_code == 303 and response.headers["Location"].startswith("/console/login")
    assert post(client, AUDITS + "live", "forged").status_code == 400


def test_an_inspector_audits_the_live_ledger_end_to_end(harness: LedgerHarness, client: Any) -> None:
    small_chain(harness)
    token = console_login(client, harness, "li.na", "inspector")
    page = client.get(AUDITS + "?lang=en").get_data(as_text=True)
    assert "Audit the live ledger" in page and "No audit has been run yet." in page
    with harness.sessions() as session:
        size = session.scalar(select(Entry.index).order_by(Entry.index.desc()).limit(1)) + 1

    audit_id = start_live(client, token)
    state = finish(client, audit_id)
    assert state == {"id": audit_id, "finished": True, "phase": "done", "phase_label": "Finished", "done": size,
                     "total": size, "percent": 100, "text": f"{size} of {size} entries verified", "outcome": "INTACT"}
    row = stored(harness, audit_id)
    assert (row.officer, row.source, row.outcome, row.tree_size, row.first_bad_index) == \
        ("li.na", "live", "INTACT", size, None)
    assert row.checkpoints_checked >= 1 and (row.authors, row.keys, row.revoked_keys) == (4, 5, 0)
    assert row.events_replayed == size - 1 - 3  # the genesis and the enterprises' key registrations are ledger.*
    assert row.milliseconds is not None and row.inconsistent == 0

    # The report page shows everything; the JSON download is byte for byte what the statement names.
    page = client.get(f"{AUDITS}{audit_id}?lang=en").get_data(as_text=True)
    assert f"Intact: {size} entries verified; root {row.root}." in page
    assert "No checkpoint had been remembered before this audit." in page
    download = client.get(f"{AUDITS}{audit_id}/report.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert f'filename="audit-{audit_id}.json"' in download.headers["Content-Disposition"]
    digest = hashlib.sha256(download.data).hexdigest()
    assert digest == row.report_sha256
    report = json.loads(download.data)
    assert report["format"] == "trace-audit-report/1" and report["audit"] == audit_id
    assert (report["officer"], report["outcome"], report["tree_size"], report["root"]) == \
        ("li.na", "INTACT", size, row.root)
    assert report["checkpoint"] == row.checkpoint_note and report["remembered"] == []

    # The result is a registrar statement signed with the officer's own key.
    assert row.statement_index is not None and row.statement_error is None
    statement, label = statement_at(harness, row.statement_index)
    assert statement["type"] == AUDIT_REPORT and label == "officer:li.na"
    assert statement["body"] == {"source": "live", "tree_size": size, "root": row.root, "outcome": "INTACT",
                                 "report_sha256": digest}

    # Its checkpoint is remembered, and the next audit finds the grown ledger consistent with it.
    with harness.sessions() as session:
        remembered = session.scalars(select(RememberedCheckpoint)).all()
    assert [(item.tree_size, item.root, item.verified_by, item.report_id) for item in remembered] == \
        [(size, row.root, "li.na", audit_id)]
    assert remembered[0].note == row.checkpoint_note and remembered[0].note.splitlines()[1] == str(size)
    second = audited(client, harness, start_live(client, token))
    assert second.outcome == "INTACT" and second.tree_size == row.statement_index + 1 and second.inconsistent == 0
    findings = json.loads(second.report_json or "")["remembered"]
    assert findings == [{"tree_size": size, "root": row.root, "audit": audit_id, "consistent": True, "code": None,
                         "reason": None}]
    listing = client.get(AUDITS + "?lang=en").get_data(as_text=True)
    assert listing.count('class="badge badge-ok">Intact') == 2 and "Fork or rollback" not in listing


def test_a_later_fork_or_rollback_is_flagged(harness: LedgerHarness, client: Any, app: Any) -> None:
    small_chain(harness)
    token = console_login(client, harness, "li.na", "inspector")
    first = audited(client, harness, start_live(client, token))
    assert first.outcome == "INTACT"

    # The same number of entries, another history: a fork at the remembered size.
    replace_ledger(harness, small_chain)
    client.post("/console/logout", data={"csrf_token": token})
    token = console_login(client, harness, "wang.fang", "registrar")
    fork = audited(client, harness, start_live(client, token))
    assert (fork.outcome, fork.code, fork.inconsistent, fork.tree_size) == \
        ("BROKEN", "verify.fork", 1, first.tree_size)
    assert fork.root is not None and fork.root != first.root
    assert f"checkpoint of size {first.tree_size} remembered from audit {first.id}" in (fork.reason or "")
    statement, label = statement_at(harness, fork.statement_index or 0)
    assert label == "officer:wang.fang"
    assert statement["body"]["outcome"] == "BROKEN" and statement["body"]["first_bad_index"] is None
    with harness.sessions() as session:
        assert session.scalar(select(RememberedCheckpoint.report_id)) == first.id  # the fork is not remembered

    listing = client.get(AUDITS + "?lang=en").get_data(as_text=True)
    assert f"Fork or rollback: audit {fork.id} found the ledger inconsistent with 1 checkpoint(s)" in listing
    assert 'class="audit-flagged"' in listing
    page = client.get(f"{AUDITS}{fork.id}?lang=en").get_data(as_text=True)
    assert "Fork or rollback: the audited ledger is not consistent with 1 checkpoint(s)" in page
    assert "not consistent" in page and "verify.fork" in page

    # A shorter history than one verified before: a rollback.
    replace_ledger(harness, lambda _harness: None)
    client.post("/console/logout", data={"csrf_token": token})
    token = console_login(client, harness, "zhao.lei", "administrator")
    rollback = audited(client, harness, start_live(client, token))
    assert (rollback.outcome, rollback.code, rollback.inconsistent, rollback.tree_size) == \
        ("BROKEN", "verify.rollback", 1, 1)
    assert f"holds 1 entries, fewer than the {first.tree_size}" in (rollback.reason or "")
    assert rollback.statement_index is not None
    assert "found the ledger inconsistent" in client.get(AUDITS + "?lang=en").get_data(as_text=True)


def test_an_uploaded_export_is_audited_and_its_file_hash_kept(harness: LedgerHarness, client: Any) -> None:
    small_chain(harness)
    data = export_bytes(harness)
    size = len(export_leaves(data))
    token = console_login(client, harness, "li.na", "inspector")
    row = audited(client, harness, start_export(client, token, data, "福州.export"))
    assert (row.source, row.outcome, row.tree_size, row.export_bytes) == ("export", "INTACT", size, len(data))
    assert row.export_sha256 == hashlib.sha256(data).hexdigest() and row.export_name == "福州.export"
    report = json.loads(client.get(f"{AUDITS}{row.id}/report.json").data)
    assert report["export"] == {"name": "福州.export", "sha256": row.export_sha256, "bytes": len(data)}
    statement, _label = statement_at(harness, row.statement_index or 0)
    assert statement["body"]["source"] == "export"
    page = client.get(f"{AUDITS}{row.id}?lang=en").get_data(as_text=True)
    assert row.export_sha256 in page and "福州.export" in page


def test_a_tampered_export_is_reported_broken_at_its_first_bad_entry(harness: LedgerHarness, client: Any) -> None:
    small_chain(harness)
    data = export_bytes(harness)
    lines = data.split(b"\n")
    target = next(number for number, line in enumerate(lines) if b'"type":"trace.ship"' in line)
    index = json.loads(lines[target])["index"]
    lines[target] = lines[target].replace(b'"quantity":"300"', b'"quantity":"301"', 1)
    token = console_login(client, harness, "li.na", "inspector")
    row = audited(client, harness, start_export(client, token, b"\n".join(lines)))
    assert (row.outcome, row.first_bad_index, row.code) == ("BROKEN", index, "signature.invalid")
    assert row.root is None and row.tree_size == len(export_leaves(data))
    page = client.get(f"{AUDITS}{row.id}?lang=en").get_data(as_text=True)
    assert f"Broken: entry {index} is the first bad entry." in page and "signature.invalid" in page
    assert "Not checked: consistency is checked only once the ledger itself verifies." in page
    statement, _label = statement_at(harness, row.statement_index or 0)
    assert statement["body"]["first_bad_index"] == index and statement["body"]["root"] is None
    with harness.sessions() as session:
        assert session.scalars(select(RememberedCheckpoint)).all() == []


@pytest.mark.parametrize(("data", "code"), [
    (b"", "export.header"),
    (b"PK\x03\x04 a zip file, not an export\n", "export.header"),
    (b"\x89PNG\r\n\x1a\n", "export.line"),
    (b'{"format":"trace-ledger-export/1","origin":"test.example/ledger","tree_size":2}\n{"chain":"00"}\n',
     "export.line"),
])
def test_a_malformed_upload_gets_a_report_not_an_error(harness: LedgerHarness, client: Any, data: bytes,
                                                      code: str) -> None:
    token = console_login(client, harness, "li.na", "inspector")
    if not data:
        response = upload(client, token, data, "empty.export")
        assert response.status_code == 303 and response.headers["Location"] == AUDITS
        assert "empty.export" in client.get(AUDITS + "?lang=en").get_data(as_text=True)
        return
    row = audited(client, harness, start_export(client, token, data))
    assert (row.outcome, row.code) == ("BROKEN", code)
    assert row.reason and row.reason.startswith(("line 1", "line 2"))
    assert client.get(f"{AUDITS}{row.id}").status_code == 200


def test_an_oversized_upload_is_refused_with_413(harness: LedgerHarness, client: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner_web.console import audits
    monkeypatch.setattr(audits, "MAX_UPLOAD_BYTES", 4096)
    token = console_login(client, harness, "li.na", "inspector")
    response = upload(client, token, b"x" * 5000)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "python -m trace verify" in page and "导出文件大于" in page
    with harness.sessions() as session:
        assert session.scalars(select(AuditReport)).all() == []


def test_an_older_export_is_proved_consistent_with_a_larger_remembered_checkpoint(harness: LedgerHarness,
                                                                                   client: Any) -> None:
    chain = small_chain(harness)
    early = export_bytes(harness)
    chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "100", "to": chain.shop.code,
                                                        "shipment_id": "M-1"}, [chain.ref])
    token = console_login(client, harness, "li.na", "inspector")
    live = audited(client, harness, start_live(client, token))
    older = audited(client, harness, start_export(client, token, early))
    assert older.outcome == "INTACT" and older.inconsistent == 0 and (older.tree_size or 0) < (live.tree_size or 0)
    findings = json.loads(older.report_json or "")["remembered"]
    assert [(item["tree_size"], item["consistent"]) for item in findings] == [(live.tree_size, True)]


def test_a_re_signed_export_with_another_history_is_flagged_as_a_fork(harness: LedgerHarness, client: Any) -> None:
    small_chain(harness)
    token = console_login(client, harness, "li.na", "inspector")
    live = audited(client, harness, start_live(client, token))
    # The operator moves the receive time of the last verified entry by a microsecond and signs new checkpoints:
    # an export that verifies on its own, but whose tree differs from the remembered one.
    leaves = export_leaves(export_bytes(harness))[:live.tree_size]
    last = parse_leaf(leaves[-1])
    later = format_received(parse_time(last.received) + timedelta(microseconds=1))
    leaves[-1] = leaves[-1].replace(last.received.encode(), later.encode(), 1)
    forged = forge_export(leaves, harness.config.checkpoint_signer)
    row = audited(client, harness, start_export(client, token, forged))
    assert (row.outcome, row.code, row.inconsistent, row.tree_size) == ("BROKEN", "verify.fork", 1, live.tree_size)
    assert row.root != live.root


def test_a_running_audit_shows_how_far_it_got_and_is_the_only_one(harness: LedgerHarness, client: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from trace import audit_runner
    small_chain(harness)
    reached, release = threading.Event(), threading.Event()
    real = audit_runner.audit_live

    def held(*args: Any, **kwargs: Any) -> Any:
        kwargs["progress"]("verifying", 5, 12)
        reached.set()
        release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(audit_runner, "audit_live", held)
    token = console_login(client, harness, "li.na", "inspector")
    try:
        audit_id = start_live(client, token)
        assert reached.wait(10)
        # Without JavaScript, the page says how far it got; the script polls the same figures.
        page = client.get(f"{AUDITS}{audit_id}?lang=en").get_data(as_text=True)
        assert '<progress max="12" value="5">41%</progress>' in page and "5 of 12 entries verified" in page
        assert f'data-progress-url="/console/audits/{audit_id}/progress?lang=en"' in page
        assert "console-audits.js" in page
        state = client.get(f"{AUDITS}{audit_id}/progress").get_json()
        assert (state["finished"], state["done"], state["total"], state["percent"], state["outcome"]) == \
            (False, 5, 12, 41, None)
        assert client.get(f"{AUDITS}{audit_id}/report.json").status_code == 409
        listing = client.get(AUDITS).get_data(as_text=True)
        assert f"Audit {audit_id} is running." in listing and 'type="submit" disabled' in listing
        # A second audit, of the ledger or of a file, waits for this one.
        for response in (post(client, AUDITS + "live", token), upload(client, token, export_bytes(harness))):
            assert response.status_code == 303 and response.headers["Location"] == f"{AUDITS}{audit_id}"
        assert f"Audit {audit_id} is still running" in client.get(f"{AUDITS}{audit_id}").get_data(as_text=True)
        with harness.sessions() as session:
            assert len(session.scalars(select(AuditReport)).all()) == 1
    finally:
        release.set()
    assert audited(client, harness, audit_id).outcome == "INTACT"
    assert "console-audits.js" not in client.get(f"{AUDITS}{audit_id}").get_data(as_text=True)
    assert client.get(f"{AUDITS}999").status_code == 404
