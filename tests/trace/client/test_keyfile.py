"""The client's key file: round trip, wrong passphrase, no overwrite, owner-only mode, header checks."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledger.keys import verify_signature
from trace.client import ClientError, generate_key_file, load_key_file, read_passphrase

CODE = "91350100MA2XYE001C"


def test_round_trip_keeps_the_key_and_the_credit_code(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "enterprise.key"
    made = generate_key_file(path, CODE, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(f"Trace-Client-Key: 1\nCredit-Code: {CODE}\nKey-Id: {made.key_id}\n")
    assert "-----BEGIN ENCRYPTED PRIVATE KEY-----" in text
    loaded = load_key_file(path, "correct horse")
    assert (loaded.credit_code, loaded.key_id, loaded.public_key_b64) == (CODE, made.key_id, made.public_key_b64)
    assert loaded.signer.author == CODE
    verify_signature(made.signer.public_key, loaded.signer.sign(b"message"), b"message")


def test_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enterprise.key"
    generate_key_file(path, CODE, "correct horse")
    with pytest.raises(ClientError) as refused:
        load_key_file(path, "wrong horse")
    assert refused.value.code == "client.key_file"
    assert "wrong passphrase" in refused.value.message


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "enterprise.key"
    path.write_text("precious")
    with pytest.raises(ClientError) as refused:
        generate_key_file(path, CODE, "correct horse")
    assert refused.value.code == "client.key_file" and "never overwritten" in refused.value.message
    assert path.read_text() == "precious"


def test_a_header_naming_another_key_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "first.key", tmp_path / "second.key"
    generate_key_file(first, CODE, "pass")
    other = generate_key_file(second, CODE, "pass")
    header, pem = first.read_text().split("\n\n", 1)
    second_header = second.read_text().split("\n\n", 1)[0]
    mixed = tmp_path / "mixed.key"
    mixed.write_text(second_header + "\n\n" + pem)
    with pytest.raises(ClientError) as refused:
        load_key_file(mixed, "pass")
    assert f"names key {other.key_id}" in refused.value.message


def test_a_bare_pem_is_not_a_client_key_file(tmp_path: Path) -> None:
    path = tmp_path / "enterprise.key"
    generate_key_file(path, CODE, "pass")
    bare = tmp_path / "bare.pem"
    bare.write_text(path.read_text().split("\n\n", 1)[1])
    with pytest.raises(ClientError, match="not a trace client key file"):
        load_key_file(bare, "pass")
    with pytest.raises(ClientError, match="cannot read key file"):
        load_key_file(tmp_path / "missing.key", "pass")


def test_a_bad_credit_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClientError) as refused:
        generate_key_file(tmp_path / "k", "no spaces allowed", "pass")
    assert refused.value.code == "client.input"
    assert not (tmp_path / "k").exists()


def test_passphrase_from_the_environment_or_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_passphrase(confirm=True, environ={"TRACE_CLIENT_PASSPHRASE": "from env"}) == "from env"
    with pytest.raises(ClientError, match="empty passphrase"):
        read_passphrase(confirm=False, environ={"TRACE_CLIENT_PASSPHRASE": ""})
    answers = iter(["typed", "typed differently"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(ClientError, match="differ"):
        read_passphrase(confirm=True, environ={})
    answers = iter(["typed", "typed"])
    assert read_passphrase(confirm=True, environ={}) == "typed"
