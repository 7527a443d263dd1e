"""Checkpoints in C2SP signed-note form: signing, opening, verifier keys, tampering."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ledger import Signer
from ledger.checkpoint import (
    checkpoint_body,
    note_key_id,
    open_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
)
from ledger.errors import CheckpointError

ORIGIN = "example.gov.cn/ledger"
SIGNER = Signer.from_seed(ORIGIN, bytes([7]) * 32)
KEY = verifier_key(ORIGIN, SIGNER.public_key)
ROOT = hashlib.sha256(b"root").digest()


def test_note_layout_and_key_id_follow_c2sp() -> None:
    note = sign_checkpoint(SIGNER, ORIGIN, 42, ROOT)
    text, signature_line = note.split("\n\n")
    assert text + "\n" == checkpoint_body(ORIGIN, 42, ROOT) == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert signature_line.startswith(f"\u2014 {ORIGIN} ") and signature_line.endswith("\n")
    raw = base64.b64decode(signature_line.split(" ")[2].strip())
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + SIGNER.public_key).digest()[:4]
    assert raw[:4] == expected_id == note_key_id(ORIGIN, SIGNER.public_key)
    checkpoint = open_checkpoint(note, KEY)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 42, ROOT)


def test_verifier_key_text_round_trips() -> None:
    text = KEY.text()
    name, key_id, encoded = text.split("+", 2)
    assert name == ORIGIN and bytes.fromhex(key_id) == KEY.key_id
    assert base64.b64decode(encoded) == b"\x01" + SIGNER.public_key
    assert parse_verifier_key(text + "\n") == KEY
    for bad in ["", "a+b", f"{ORIGIN}+00000000+{encoded}", f"{ORIGIN}+{key_id}+AAAA", f"other+{key_id}+{encoded}"]:
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


def _tampered(note: str) -> list[tuple[str, str]]:
    lines = note.split("\n")
    other = Signer.from_seed(ORIGIN, bytes([8]) * 32)
    return [
        (note.replace("\n42\n", "\n43\n"), "checkpoint.signature"),
        (note.replace(lines[2], base64.b64encode(bytes(32)).decode()), "checkpoint.signature"),
        (sign_checkpoint(other, ORIGIN, 42, ROOT), "checkpoint.signature"),
        (note.replace("\n\n", "\n"), "note.malformed"),
        (note.replace("\u2014", "-"), "note.malformed"),
        (note + "\x01", "note.malformed"),
        (note.replace(lines[0], "other.example/ledger", 1), "checkpoint.signature"),
        ("x" * 20000, "note.size"),
    ]


def test_every_tamper_is_refused() -> None:
    note = sign_checkpoint(SIGNER, ORIGIN, 42, ROOT)
    for bad, code in _tampered(note):
        with pytest.raises(CheckpointError) as error:
            open_checkpoint(bad, KEY)
        assert error.value.code == code, bad[:80]


def test_wrong_origin_and_malformed_body_are_refused_even_when_signed() -> None:
    other = Signer.from_seed("other.example/ledger", bytes([7]) * 32)
    note = sign_checkpoint(other, "other.example/ledger", 1, ROOT)
    with pytest.raises(CheckpointError) as error:
        open_checkpoint(note, verifier_key("other.example/ledger", other.public_key), origin=ORIGIN)
    assert error.value.code == "checkpoint.origin"
    text = f"{ORIGIN}\n007\n{base64.b64encode(ROOT).decode()}\n"
    signature = base64.b64encode(KEY.key_id + SIGNER.sign(text.encode())).decode()
    with pytest.raises(CheckpointError) as error:
        open_checkpoint(f"{text}\n\u2014 {ORIGIN} {signature}\n", KEY)
    assert error.value.code == "checkpoint.malformed"


def test_signatures_of_unknown_keys_are_ignored() -> None:
    note = sign_checkpoint(SIGNER, ORIGIN, 42, ROOT)
    witness = "\u2014 witness.example/w1 " + base64.b64encode(bytes(68)).decode() + "\n"
    assert open_checkpoint(note + witness, KEY).size == 42
