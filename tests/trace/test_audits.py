"""Integrity audits, the domain parts: the ``trace.audit.report`` statement and its refusals, the consistency of a
verified tree with remembered checkpoints (forks and rollbacks), audits of tampered databases and exports, the
background runner's one-at-a-time rule, and ``python -m trace verify --report``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from ledger import Signer, open_checkpoint, verifier_key, write_export
from ledger.merkle import consistency_proof, leaf_hash, root_from_leaf_hashes
from ledger.models import CheckpointRecord
from tests.api.support import small_chain
from tests.conftest import TEST_ORIGIN, LedgerHarness, utcnow
from tests.ledger.forge import export_leaves, forge_export
from tests.trace.world import World
from trace import audit_runner
from trace.access_models import Account
from trace.audit_checks import (
    audit_export,
    audit_live,
    check_consistency,
    describe_export,
    report_bytes,
    report_document,
)
from trace.audit_runner import AuditBusyError, AuditRunner
from trace.audits import AUDIT_REPORT, AuditReport, Remembered
from trace.models import Event
from trace.officers import Officers

ROOT = Path(__file__).resolve().parents[2]
DIGEST = hashlib.sha256(b"a report").hexdigest()
ROOT_HEX = hashlib.sha256(b"a root").hexdigest()


def intact_body(**changes: Any) -> dict[str, Any]:
    return {"source": "live", "tree_size": 12, "root": ROOT_HEX, "outcome": "INTACT", "report_sha256": DIGEST,
            **changes}


def write_file(harness: LedgerHarness, path: Path) -> Path:
    with harness.sessions() as session, path.open("wb") as out:
        write_export(session, out, origin=harness.config.origin)
    return path


def checkpoints(harness: LedgerHarness) -> list[Remembered]:
    """Every checkpoint the ledger signed, as remembered checkpoints (report ids made up)."""
    with harness.sessions() as session:
        rows = session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size)).all()
        return [Remembered(row.tree_size, row.root_hash, number) for number, row in enumerate(rows, start=1)]


# --- the statement ----------------------------------------------------------------------------------------------


def test_the_registrar_records_an_audit_result(harness: LedgerHarness) -> None:
    world = World(harness)
    index = world.registrar_act(AUDIT_REPORT, intact_body())
    broken = world.registrar_act(AUDIT_REPORT, {"source": "export", "tree_size": 40, "root": None,
                                                "outcome": "BROKEN", "report_sha256": DIGEST, "first_bad_index": 17})
    fork = world.registrar_act(AUDIT_REPORT, intact_body(outcome="BROKEN", first_bad_index=None))
    with harness.sessions() as session:
        summaries = {row.entry_index: json.loads(row.summary) for row in session.scalars(
            select(Event).where(Event.type == AUDIT_REPORT))}
    assert summaries[index] == intact_body()
    assert summaries[broken]["first_bad_index"] == 17 and summaries[broken]["root"] is None
    assert summaries[fork]["first_bad_index"] is None
    world.assert_rebuild_matches()
    world.refuse(harness.keys.registrar, "trace.correct", {"entry": index, "reason": "wrong audit"}, [],
                 "correct.not_correctable")


@pytest.mark.parametrize(("body", "code"), [
    (intact_body(root=None), "body.hash"),
    (intact_body(root="ABC"), "body.hash"),
    (intact_body(outcome="OK"), "body.choice"),
    (intact_body(source="disk"), "body.choice"),
    (intact_body(tree_size=-1), "body.type"),
    (intact_body(report_sha256="00"), "body.hash"),
    (intact_body(first_bad_index=3), "body.unknown_field"),
    (intact_body(outcome="BROKEN"), "body.missing"),
    (intact_body(outcome="BROKEN", first_bad_index="3"), "body.type"),
    (intact_body(verdict="fine"), "body.unknown_field"),
    ({"source": "live"}, "body.missing"),
])
def test_an_audit_statement_outside_the_form_is_refused(harness: LedgerHarness, body: dict[str, Any],
                                                        code: str) -> None:
    World(harness).refuse(harness.keys.registrar, AUDIT_REPORT, body, [], code)


def test_only_the_registrar_records_audits(harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    chain.world.refuse(chain.farm.signer, AUDIT_REPORT, intact_body(), [], "enterprise.not_registrar")


# --- consistency with remembered checkpoints --------------------------------------------------------------------


def test_consistency_with_remembered_checkpoints_finds_forks_and_rollbacks() -> None:
    leaves = [leaf_hash(bytes([number])) for number in range(13)]
    other = leaves[:5] + [leaf_hash(b"forged")] + leaves[6:]

    def root(hashes: list[bytes], size: int) -> bytes:
        return root_from_leaf_hashes(hashes[:size])

    def prove(old: int) -> list[bytes]:
        return consistency_proof(old, leaves[:9])

    known = [Remembered(size, root(leaves, size), size) for size in (1, 4, 5, 8, 9)] + \
        [Remembered(7, root(other, 7), 70), Remembered(9, root(other, 9), 90), Remembered(12, root(leaves, 12), 12)]
    findings = check_consistency(known, 9, root(leaves, 9), prove_older=prove, prove_newer=None)
    assert [(item.tree_size, item.consistent, item.code) for item in findings] == [
        (1, True, None), (4, True, None), (5, True, None), (8, True, None), (9, True, None),
        (7, False, "verify.fork"), (9, False, "verify.fork"), (12, False, "verify.rollback")]
    assert findings[5].reason is not None and "remembered from audit 70" in findings[5].reason
    assert findings[7].reason == ("rollback: the audited ledger holds 9 entries, fewer than the 12 of the "
                                  "checkpoint of size 12 remembered from audit 12")

    # A smaller tree (an older export) is consistent with a larger remembered one when a proof shows it.
    def prove_newer(new: int) -> list[bytes]:
        return consistency_proof(9, leaves[:new])
    later = check_consistency([Remembered(12, root(leaves, 12), 1), Remembered(13, root(other, 13), 2)], 9,
                              root(leaves, 9), prove_older=prove, prove_newer=prove_newer)
    assert [(item.consistent, item.code) for item in later] == [(True, None), (False, "verify.fork")]

    def no_proof(new: int) -> list[bytes]:
        from ledger import ProofError
        raise ProofError("tree size 12 exceeds the latest checkpoint (10)", code="proof.size")
    unproven = check_consistency([Remembered(12, root(leaves, 12), None)], 9, root(leaves, 9), prove_older=prove,
                                 prove_newer=no_proof)
    assert unproven[0].code == "verify.unproven" and "trusted checkpoint of size 12" in (unproven[0].reason or "")


def test_an_export_is_checked_against_every_checkpoint_of_its_history(harness: LedgerHarness,
                                                                       tmp_path: Path) -> None:
    small_chain(harness)
    path = write_file(harness, tmp_path / "ledger.export")
    known = checkpoints(harness)
    assert len(known) >= 8  # every append made one: sizes 1, 3, 5, ... including powers of two
    result = audit_export(path, harness.operator_key, known, custody=True)
    assert result.outcome == "INTACT" and all(item.consistent for item in result.findings)
    assert len(result.findings) == len(known)
    wrong = [*known[:3], Remembered(known[3].tree_size, hashlib.sha256(b"x").digest(), 99), *known[4:]]
    forked = audit_export(path, harness.operator_key, wrong)
    assert (forked.outcome, forked.code, len(forked.inconsistent)) == ("BROKEN", "verify.fork", 1)
    assert forked.inconsistent[0].tree_size == known[3].tree_size and forked.first_bad_index is None


# --- audits of tampered ledgers ---------------------------------------------------------------------------------


def test_a_live_audit_names_a_tampered_row_and_a_tampered_state_table(harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    intact = audit_live(harness.sessions, harness.operator_key, [])
    assert intact.outcome == "INTACT" and intact.tree_size > 5 and intact.milliseconds >= 0
    with harness.engine.begin() as connection:
        assert connection.execute(text("UPDATE trace_holdings SET quantity = '250' WHERE ref = :ref AND holder = :h"),
                                  {"ref": chain.ref, "h": chain.farm.code}).rowcount == 1
    state = audit_live(harness.sessions, harness.operator_key, [])
    assert (state.outcome, state.code, state.first_bad_index) == ("BROKEN", "verify.state", None)
    assert "trace_holdings" in (state.reason or "") and state.events_replayed == intact.events_replayed
    with harness.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_entries SET author = 'someone else' WHERE entry_index = 4"))
    row = audit_live(harness.sessions, harness.operator_key, [])
    assert (row.outcome, row.code, row.first_bad_index, row.root) == ("BROKEN", "verify.row_entry", 4, None)
    assert row.tree_size == intact.tree_size


def test_an_export_audit_names_the_first_bad_entry(harness: LedgerHarness, tmp_path: Path) -> None:
    small_chain(harness)
    path = write_file(harness, tmp_path / "ledger.export")
    leaves = export_leaves(path.read_bytes())
    # A dishonest operator drops the commissioning (entry 8) and re-signs everything: the farm's next statement,
    # now entry 8, does not follow its sequence.
    forged = tmp_path / "forged.export"
    assert b'"type":"trace.commission"' in leaves[8]
    forged.write_bytes(forge_export(leaves[:8] + leaves[9:], harness.config.checkpoint_signer))
    result = audit_export(forged, harness.operator_key, [])
    assert (result.outcome, result.first_bad_index, result.tree_size) == ("BROKEN", 8, len(leaves) - 1)
    assert result.code == "sequence.conflict" and result.reason
    # Checked against a key that is not the operator's, the genesis entry is the first bad one.
    stranger = verifier_key(TEST_ORIGIN, Signer.generate("x").public_key)
    other = audit_export(path, stranger, [])
    assert (other.outcome, other.first_bad_index, other.code) == ("BROKEN", 0, "key.unknown")


# --- the report -------------------------------------------------------------------------------------------------


def test_the_report_is_canonical_json_and_its_hash_is_the_files(harness: LedgerHarness, tmp_path: Path) -> None:
    small_chain(harness)
    path = write_file(harness, tmp_path / "ledger.export")
    export = describe_export(path, "ledger.export")
    assert export.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and export.size == path.stat().st_size
    result = audit_export(path, harness.operator_key, checkpoints(harness)[:2])
    document = report_document(result, audit_id=None, operator_key=harness.operator_key, officer=None,
                               started_at=utcnow(), finished_at=utcnow(), export=export)
    data, digest = report_bytes(document)
    assert hashlib.sha256(data).hexdigest() == digest and json.loads(data) == document
    assert result.root is not None and document["root"] == result.root.hex()
    assert open_checkpoint(document["checkpoint"], harness.operator_key).size == document["tree_size"]
    assert document["started_at"].endswith("Z") and len(document["remembered"]) == 2


# --- the background runner --------------------------------------------------------------------------------------


def test_the_runner_runs_one_audit_at_a_time_and_signs_its_result(harness: LedgerHarness,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api.support import make_account
    small_chain(harness)
    make_account(harness, "li.na", "inspector")
    officers = Officers(harness.sessions, harness.keys, harness.config, harness.settings.key_passphrase)
    runner = AuditRunner(harness.sessions, harness.operator_key, officers, utcnow)
    reached, release = threading.Event(), threading.Event()
    real = audit_runner.audit_live

    def held(*args: Any, **kwargs: Any) -> Any:
        kwargs["progress"]("verifying", 3, 10)
        reached.set()
        release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(audit_runner, "audit_live", held)
    try:
        first = runner.start("li.na")
        assert reached.wait(10) and runner.running() == first
        with harness.sessions() as session:
            row = session.get(AuditReport, first)
            assert row is not None and (row.phase, row.done, row.total, row.outcome) == ("verifying", 3, 10, None)
            assert not row.stalled(utcnow())
        with pytest.raises(AuditBusyError) as busy:
            runner.start("li.na")
        assert busy.value.running == first and busy.value.code == "audit.busy"
    finally:
        release.set()
    assert runner.wait(60) and runner.running() is None
    with harness.sessions() as session:
        row = session.get(AuditReport, first)
        assert row is not None and (row.phase, row.outcome) == ("done", "INTACT")
        assert row.statement_index is not None and row.done == row.tree_size
    second = runner.start("li.na")
    assert runner.wait(60) and second == first + 1


def test_an_account_disabled_while_its_audit_ran_signs_nothing(harness: LedgerHarness,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api.support import make_account
    small_chain(harness)
    make_account(harness, "li.na", "inspector")
    officers = Officers(harness.sessions, harness.keys, harness.config, harness.settings.key_passphrase)
    runner = AuditRunner(harness.sessions, harness.operator_key, officers, utcnow)
    release = threading.Event()
    real = audit_runner.audit_live

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(audit_runner, "audit_live", held)
    try:
        audit = runner.start("li.na")
        with harness.sessions() as session:
            account = session.get(Account, "li.na")
            assert account is not None
            account.active = False
            session.commit()
    finally:
        release.set()
    assert runner.wait(60)
    with harness.sessions() as session:
        row = session.get(AuditReport, audit)
        assert row is not None and (row.phase, row.outcome, row.statement_index) == ("done", "INTACT", None)
        assert row.report_json is not None and (row.statement_error or "").startswith("audit.account_disabled")
        assert session.scalar(select(Event).where(Event.type == AUDIT_REPORT)) is None


# --- the command line -------------------------------------------------------------------------------------------


def _cli(harness: LedgerHarness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    env.update(TRACE_DATABASE_URL=harness.settings.database_url, TRACE_KEY_DIR=harness.settings.key_dir,
               TRACE_KEY_PASSPHRASE=harness.settings.key_passphrase, TRACE_LEDGER_ORIGIN=TEST_ORIGIN,
               TRACE_LOG_FORMAT="text")
    return subprocess.run([sys.executable, "-m", "trace", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_verify_writes_the_same_report_from_the_command_line(harness: LedgerHarness, tmp_path: Path) -> None:
    small_chain(harness)
    key = tmp_path / "operator.key"
    key.write_text(harness.operator_key.text() + "\n")
    export = write_file(harness, tmp_path / "ledger.export")
    state, report = tmp_path / "state", tmp_path / "report.json"
    done = _cli(harness, "verify", str(export), "--operator-key", str(key), "--state", str(state), "--report",
                str(report), "--threads", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    data = report.read_bytes()
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in done.stdout
    document = json.loads(data)
    console = report_document(audit_export(export, harness.operator_key, []), audit_id=1,
                              operator_key=harness.operator_key, officer="li.na", started_at=utcnow(),
                              finished_at=utcnow(), export=describe_export(export))
    assert document.keys() == console.keys()
    assert (document["outcome"], document["officer"], document["audit"], document["remembered"]) == \
        ("INTACT", None, None, [])
    assert document["export"]["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert (state / "checkpoint").read_text() == document["checkpoint"]

    # The live database, against the checkpoint remembered from the first run.
    live = _cli(harness, "verify", "--database", harness.settings.database_url, "--operator-key", str(key),
                "--state", str(state), "--report", str(report), "--threads", "1", "--quiet")
    assert live.returncode == 0, live.stderr
    document = json.loads(report.read_bytes())
    assert document["source"] == "live" and document["remembered"][0]["consistent"] is True

    # A tampered export: exit 1 and a BROKEN report naming the first bad entry.
    bad = tmp_path / "tampered.export"
    bad.write_bytes(export.read_bytes().replace(b'"quantity":"300"', b'"quantity":"301"', 1))
    failed = _cli(harness, "verify", str(bad), "--operator-key", str(key), "--report", str(report), "--quiet")
    assert failed.returncode == 1 and "NOT INTACT: entry" in failed.stderr
    broken = json.loads(report.read_bytes())
    assert broken["outcome"] == "BROKEN" and broken["code"] == "signature.invalid"
    assert isinstance(broken["first_bad_index"], int)


def test_verify_report_refuses_a_rollback_below_the_state(harness: LedgerHarness, tmp_path: Path) -> None:
    chain = small_chain(harness)
    key = tmp_path / "operator.key"
    key.write_text(harness.operator_key.text() + "\n")
    early = write_file(harness, tmp_path / "early.export")
    chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "10", "to": chain.shop.code,
                                                        "shipment_id": "M-9"}, [chain.ref])
    late = write_file(harness, tmp_path / "late.export")
    state, report = tmp_path / "state", tmp_path / "report.json"
    assert _cli(harness, "verify", str(late), "--operator-key", str(key), "--state", str(state), "--report",
                str(report), "--quiet").returncode == 0
    rolled = _cli(harness, "verify", str(early), "--operator-key", str(key), "--state", str(state), "--report",
                  str(report), "--quiet")
    assert rolled.returncode == 1 and "verify.rollback" in rolled.stderr
    assert json.loads(report.read_bytes())["remembered"][0]["code"] == "verify.rollback"
