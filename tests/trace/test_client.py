"""The enterprise client end to end against the real application served over HTTP on a loopback port: key
generation, key request and approval, signing from arguments and CSV, submission and idempotent resubmission,
refusals, and offline proofs against the pinned operator key."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger import verifier_key
from ledger.keys import Signer
from tests.conftest import TEST_ORIGIN, LedgerHarness, utcnow
from tests.trace.served import cli, served
from tests.trace.world import CERT, COMMITMENT, credit_code, gtin
from trace.__main__ import build_parser
from trace.access import create_account
from trace.policy import TracePolicy

CODE = credit_code("350121", 7, kind="93")
GTIN = "6901234560015"
PASSWORD = "registrar-password"


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACE_CLIENT_PASSPHRASE", "enterprise passphrase")


def register_enterprise(harness: LedgerHarness) -> None:
    body = {"credit_code": CODE, "name": "闽侯绿源蔬菜专业合作社", "roles": ["producer"],
            "commitment_sha256": COMMITMENT,
            "locations": [{"id": "base", "name": "上街镇绿源蔬菜基地", "address": "福建省福州市闽侯县上街镇"}]}
    envelope = harness.writer(harness.keys.registrar).sign("trace.enterprise.register", body, utcnow())
    assert harness.append([envelope], policy=TracePolicy())[0].error is None


def approve(harness: LedgerHarness, server: str, request_id: str) -> None:
    """The registrar approves through the API: log in with a registrar account, then approve."""
    with harness.sessions() as session:
        create_account(session, "registrar.li", PASSWORD, ["registrar"], display_name="Li", now=utcnow())
        session.commit()
    login = post(server, "/api/v1/auth/login", {"username": "registrar.li", "password": PASSWORD})
    post(server, f"/api/v1/key-requests/{request_id}/approve", None, token=login["token"])


def post(server: str, path: str, body: Any, token: str | None = None) -> Any:
    request = urllib.request.Request(server + path, method="POST", data=None if body is None else
                                     json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def enterprise_with_key(harness: LedgerHarness, server: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> Path:
    """Register the enterprise, make its key with the client and have it approved; returns the key file."""
    register_enterprise(harness)
    key = tmp_path / "enterprise.key"
    status, out, _ = cli(capsys, "keygen", "--credit-code", CODE, "--out", str(key))
    assert status == 0 and "key id:" in out
    status, out, err = cli(capsys, "request-key", "--server", server, "--key", str(key), "--label", "office PC")
    assert status == 0, err
    request_id = re.search(r"key request ([0-9a-f]{32}): pending", out)
    assert request_id, out
    status, out, _ = cli(capsys, "key-status", "--server", server, request_id.group(1))
    assert status == 3 and ": pending" in out
    approve(harness, server, request_id.group(1))
    status, out, _ = cli(capsys, "key-status", "--server", server, request_id.group(1))
    assert status == 0 and ": approved" in out and "registered at entry" in out, out
    return key


def test_enterprise_signs_submits_resubmits_and_proves(harness: LedgerHarness, server: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    key = enterprise_with_key(harness, server, tmp_path, capsys)
    defs, lots, both = tmp_path / "defs.jsonl", tmp_path / "lots.jsonl", tmp_path / "all.jsonl"
    status, _, err = cli(capsys, "sign", "--server", server, "--key", str(key), "--type", "trace.product.define",
                         "--field", f'gtin="{GTIN}"', "--field", "name=上海青", "--field", "category=farm",
                         "--field", "spec=500g", "--out", str(defs))
    assert status == 0, err
    following = re.search(r"next: --seq (\d+) --prev ([0-9a-f]{64})", err)
    assert following and following.group(1) == "2"

    csv_file = tmp_path / "lots.csv"
    certificate = json.dumps([{"kind": "compliance_promise", "sha256": CERT}]).replace('"', '""')
    csv_file.write_text("gtin,lot,quantity,unit,produced_on,origin.place,certificates,activity\n"
                        f'{GTIN},QG-1121,500,KGM,2026-11-21,福建省福州市闽侯县,"{certificate}",harvest\n'
                        f'{GTIN},QG-1122,12.5,KGM,2026-11-22,福建省福州市闽侯县,"{certificate}",\n', encoding="utf-8")
    status, _, err = cli(capsys, "sign", "--key", str(key), "--type", "trace.commission", "--csv", str(csv_file),
                         "--origin", TEST_ORIGIN, "--seq", following.group(1), "--prev", following.group(2),
                         "--out", str(lots))
    assert status == 0, err
    both.write_text(defs.read_text() + lots.read_text())

    receipts = tmp_path / "receipts.jsonl"
    status, out, err = cli(capsys, "submit", "--server", server, str(both), "--receipts", str(receipts))
    assert status == 0, err
    assert out.count(": appended at index") == 3 and "3 appended" in err
    first = [json.loads(line) for line in receipts.read_text().splitlines()]
    assert len(first) == 3 and len({receipt["index"] for receipt in first}) == 3

    status, out, err = cli(capsys, "submit", "--server", server, str(both), "--atomic", "--receipts",
                           str(receipts))
    assert status == 0, err
    assert out.count(": duplicate of index") == 3 and "3 duplicate" in err
    assert [json.loads(line) for line in receipts.read_text().splitlines()][3:] == first

    operator = tmp_path / "operator.key"
    operator.write_text(harness.operator_key.text() + "\n")
    status, out, err = cli(capsys, "prove", "--server", server, "--operator-key", str(operator), "--receipts",
                           str(receipts), "0")
    assert status == 0, err
    assert out.count("OK entry") == 7 and f"trace.commission by {CODE} seq 3" in out

    impostor = tmp_path / "impostor.key"
    impostor.write_text(verifier_key(TEST_ORIGIN, Signer.generate("x").public_key).text())
    status, _, err = cli(capsys, "prove", "--server", server, "--operator-key", str(impostor),
                         str(first[0]["index"]))
    assert status == 1 and f"FAILED entry {first[0]['index']}: checkpoint." in err

    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"statement_hash": "00" * 32, "index": first[0]["index"]}) + "\n")
    status, _, err = cli(capsys, "prove", "--server", server, "--operator-key", str(operator), "--receipts",
                         str(wrong))
    assert status == 1 and "proof.receipt" in err and "the receipt names " + "00" * 32 in err

    # A later statement on an existing batch: the client reads the batch's head from the server for its links.
    status, out, err = cli(capsys, "send", "--server", server, "--key", str(key), "--type", "trace.destroy",
                           "--field", f"batch=01/{GTIN.zfill(14)}/10/QG-1122", "--field", 'quantity="2"',
                           "--field", "reason=冷库故障", "--out", str(tmp_path / "destroy.jsonl"))
    assert status == 0 and ": appended at index" in out, err


def test_refused_statements_exit_1_with_their_code(harness: LedgerHarness, server: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    key = enterprise_with_key(harness, server, tmp_path, capsys)
    spec = tmp_path / "lot.json"
    spec.write_text(json.dumps({"type": "trace.commission", "body": {
        "gtin": GTIN, "lot": "L1", "quantity": "5", "unit": "KGM", "produced_on": "2026-11-21"}}))
    status, out, err = cli(capsys, "send", "--server", server, "--key", str(key), "--json", str(spec), "--out",
                           str(tmp_path / "lot.jsonl"))
    assert status == 1
    assert "line 1: REFUSED product.unknown:" in out
    assert "refused: line 1: product.unknown: " in err and "1 refused" in err

    status, out, err = cli(capsys, "submit", "--server", server, "--atomic", str(tmp_path / "lot.jsonl"))
    assert status == 1 and "line 1: REFUSED product.unknown:" in out, err

    specs = tmp_path / "mixed.json"
    other, unknown = gtin("690123456", 2), gtin("690123456", 3)
    specs.write_text(json.dumps([
        {"type": "trace.product.define", "body": {"gtin": other, "name": "鲜切上海青", "category": "farm",
                                                  "spec": "300g"}},
        {"type": "trace.commission", "body": {"gtin": unknown, "lot": "L2", "quantity": "5", "unit": "KGM",
                                              "produced_on": "2026-11-21"}},
        {"type": "trace.product.define", "body": {"gtin": unknown, "name": "菜心", "category": "farm",
                                                  "spec": "500g"}}]))
    mixed = tmp_path / "mixed.jsonl"
    assert cli(capsys, "sign", "--server", server, "--key", str(key), "--json", str(specs), "--out",
               str(mixed))[0] == 0
    status, out, err = cli(capsys, "submit", "--server", server, "--atomic", str(mixed))
    assert status == 1, err
    lines = out.splitlines()
    assert lines[:2] == ["line 1: not appended (its atomic batch was refused)",
                         f"line 2: REFUSED product.unknown: product {unknown} is not defined; define it with "
                         "trace.product.define first"]
    assert lines[2].startswith("line 3: REFUSED sequence.conflict")  # it follows the refused statement
    status, out, err = cli(capsys, "submit", "--server", server, "--atomic", "--batch-size", "1", str(mixed))
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith("line 1: appended at index") and lines[1].startswith("line 2: REFUSED product.unknown")
    assert lines[2] == "line 3: not submitted (an earlier atomic batch was refused)"
    status, out, err = cli(capsys, "submit", "--server", server, str(mixed))
    lines = out.splitlines()
    assert status == 1 and lines[0].startswith("line 1: duplicate of index")
    assert lines[1].startswith("line 2: REFUSED product.unknown")
    assert lines[2].startswith("line 3: REFUSED sequence.conflict"), lines[2]

    status, _, err = cli(capsys, "sign", "--server", server, "--key", str(key), "--type", "trace.ship",
                         "--field", "batch=01/06901234560015/10/L1")
    assert status == 2 and "error: client.input: argument: the client cannot derive the links" in err

    status, _, err = cli(capsys, "key-status", "--server", server, "f" * 32)
    assert status == 1 and err.startswith("error: key_request.unknown: no key request")


def test_every_client_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("keygen", "request-key", "key-status", "sign", "submit", "send", "prove"):
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args(["client", command, "--help"])
        assert done.value.code == 0
        assert f"usage: python -m trace client {command}" in capsys.readouterr().out
