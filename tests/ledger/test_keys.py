"""Key ids and private keys encrypted at rest."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from ledger import Signer
from ledger.errors import KeyFileError, SignatureError
from ledger.keys import decode_public_key, key_id, read_private_key, verify_signature, write_private_key


def test_key_id_is_the_tagged_hash_prefix() -> None:
    signer = Signer.from_seed("a", bytes(32))
    expected = hashlib.sha256(b"trace-ledger/v1/key-id\x00" + signer.public_key).digest()[:8].hex()
    assert key_id(signer.public_key) == signer.key_id == expected
    with pytest.raises(SignatureError):
        key_id(b"short")


def test_key_file_is_encrypted_private_and_needs_the_passphrase(tmp_path: Path) -> None:
    signer = Signer.generate("operator")
    path = tmp_path / "keys" / "operator.pem"
    write_private_key(path, signer.private_key, "correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer("operator", read_private_key(path, "correct horse")).public_key == signer.public_key
    with pytest.raises(KeyFileError):
        read_private_key(path, "wrong")
    with pytest.raises(KeyFileError):
        read_private_key(tmp_path / "missing.pem", "correct horse")
    with pytest.raises(FileExistsError):
        write_private_key(path, signer.private_key, "correct horse")
    with pytest.raises(KeyFileError):
        write_private_key(tmp_path / "other.pem", signer.private_key, "")


def test_signature_checks() -> None:
    signer = Signer.from_seed("a", bytes(32))
    signature = signer.sign(b"message")
    verify_signature(signer.public_key, signature, b"message")
    for bad_signature, message in [(signature, b"messagE"), (signature[:-1] + b"\x00", b"message"),
                                   (signature[:10], b"message")]:
        with pytest.raises(SignatureError):
            verify_signature(signer.public_key, bad_signature, message)
    for text in ["", "AAAA", "not base64!", "A" * 42 + "==", "A" * 43 + "=="]:
        with pytest.raises(SignatureError):
            decode_public_key(text)
