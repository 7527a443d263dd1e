"""``client import-csv`` and ``client csv-template`` end to end against the real application over HTTP: a bad
file is reported row by row and nothing is sent; a file the rules refuse appends nothing; the fixed file is
signed here and appended whole; a draft that is not what the file asks for is never signed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerHarness
from tests.trace.served import cli, served
from tests.trace.world import World, greens_lot
from trace.client.csv_import import sign_drafts
from trace.client.errors import ClientError
from trace.client.keyfile import generate_key_file
from trace.csv_import import parse_csv

PASSPHRASE = "enterprise passphrase"
HEADER = "gtin,lot,quantity,to,shipment_id"


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACE_CLIENT_PASSPHRASE", PASSPHRASE)


def _farm(harness: LedgerHarness, tmp_path: Path) -> tuple[World, Path, str, str]:
    """A farm holding 500 kg of lot QG-1, a market, and a key file of the farm registered in the ledger."""
    world, farm, market, greens = greens_lot(harness, farm_serial=7)
    key = generate_key_file(tmp_path / "farm.key", farm.code, PASSPHRASE)
    harness.register(key.signer, "office PC")
    return world, tmp_path / "farm.key", greens, market.code


def test_import_reports_refuses_then_appends_the_fixed_file(server: str, harness: LedgerHarness, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    world, key, greens, market = _farm(harness, tmp_path)
    size = world.ledger_size()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n{greens},QG-1,abc,{market},S-1\n{greens},QG-1,5,{market}X,S-2\n", encoding="utf-8")
    status, out, _ = cli(capsys, "import-csv", "--server", server, "--key", str(key), "--type", "trace.ship",
                         str(bad))
    assert status == 2
    assert "row 2, quantity:" in out and "(csv.quantity)" in out and "row 3, to:" in out

    over = tmp_path / "over.csv"
    over.write_text(f"{HEADER}\n{greens},QG-1,300,{market},S-1\n{greens},QG-1,300,{market},S-2\n")
    status, out, _ = cli(capsys, "import-csv", "--server", server, "--key", str(key), "--type", "trace.ship",
                         str(over))
    assert status == 2 and "row 3: " in out and "(custody.over_quantity)" in out
    assert world.ledger_size() == size

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(f"\ufeff{HEADER}\n{greens},QG-1,300,{market},S-1\n{greens},QG-1,200,{market},S-2\n")
    status, out, err = cli(capsys, "import-csv", "--server", server, "--key", str(key), "--type", "trace.ship",
                           str(fixed), "--out", str(tmp_path / "signed.jsonl"))
    assert status == 0, err
    assert out.splitlines()[0].startswith(f"row 2: appended at index {size} ")
    assert out.splitlines()[1].startswith(f"row 3: appended at index {size + 1} ")
    assert world.ledger_size() == size + 2
    assert len((tmp_path / "signed.jsonl").read_text().splitlines()) == 2


def test_a_draft_other_than_the_row_is_not_signed(harness: LedgerHarness, tmp_path: Path) -> None:
    from trace.client.keyfile import load_key_file
    _world, key_path, greens, market = _farm(harness, tmp_path)
    key = load_key_file(key_path, PASSPHRASE)
    plan = parse_csv(f"{HEADER}\n{greens},QG-1,300,{market},S-1\n".encode(), "trace.ship")
    fields = {"v": 1, "ledger": "test.example/ledger", "type": "trace.ship", "author": key.credit_code,
              "key": key.key_id, "seq": 1, "prev": None, "links": {}, "time": "2026-11-21T08:00:00+08:00",
              "body": {**plan.requests[0].body, "quantity": "3000"}}
    with pytest.raises(ClientError, match="row 2: the server's draft has body"):
        sign_drafts(key, plan, [{"statement": fields, "statement_hash": "00" * 32, "error": None}],
                    origin="test.example/ledger")
    with pytest.raises(ClientError, match="drafted 0 statements for the 1"):
        sign_drafts(key, plan, [], origin="test.example/ledger")
    fields["body"] = plan.requests[0].body
    with pytest.raises(ClientError, match="row 2: refusing to sign: statement hash 0000"):
        sign_drafts(key, plan, [{"statement": fields, "statement_hash": "00" * 32, "error": None}],
                    origin="test.example/ledger")
    with pytest.raises(ClientError, match="row 2: refusing to sign: ledger test.example/ledger, expected other/ledger"):
        sign_drafts(key, plan, [{"statement": fields, "statement_hash": "00" * 32, "error": None}],
                    origin="other/ledger")


def test_csv_template_writes_a_new_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ship.csv"
    status, _, _ = cli(capsys, "csv-template", "trace.ship", "--out", str(out))
    assert status == 0 and out.read_bytes().startswith("\ufeffgtin,lot".encode())
    assert parse_csv(out.read_bytes(), "trace.ship").errors == []
    status, _, err = cli(capsys, "csv-template", "trace.ship", "--out", str(out))
    assert status == 2 and "exists" in err
