"""Operator checkpoints: C2SP ``tlog-checkpoint`` bodies inside C2SP ``signed-note`` envelopes (Ed25519).

A checkpoint note reads::

    <origin>
    <tree size, decimal>
    <root hash, base64>

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the three lines above)>

The operator's verifier key is given out of band in the ``<name>+<key id hex>+<base64(0x01 || public key)>``
text form used by signed-note tooling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from .errors import CheckpointError, SignatureError
from .keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Signer, verify_signature
from .merkle import HASH_SIZE

ED25519_TYPE = b"\x01"
MAX_NOTE_BYTES = 16 * 1024
_NAME = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A signed-note Ed25519 verifier key: its name, its 4-byte key id and its public key."""

    name: str
    key_id: bytes
    public_key: bytes

    def text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519_TYPE + self.public_key).decode()}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A verified checkpoint: the tree of ``size`` leaves of log ``origin`` had ``root``."""

    origin: str
    size: int
    root: bytes
    note: str


def note_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || public key)[:4], as C2SP signed-note recommends for Ed25519."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> VerifierKey:
    """Build the verifier key for ``public_key`` under key name ``name``; raises :class:`CheckpointError`."""
    if not _NAME.fullmatch(name):
        raise CheckpointError(f"key name {name!r} must be non-empty without spaces or '+'", code="note.key_name")
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise CheckpointError(f"public key has {len(public_key)} bytes, expected {PUBLIC_KEY_SIZE}",
                              code="note.key")
    return VerifierKey(name, note_key_id(name, public_key), public_key)


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse ``<name>+<hex key id>+<base64(0x01 || key)>``; raises :class:`CheckpointError` if malformed or if
    the key id does not match the name and key."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("verifier key must be <name>+<key id hex>+<base64 key>", code="note.key")
    name, id_hex, key_b64 = parts
    try:
        stated_id = bytes.fromhex(id_hex)
        raw = base64.b64decode(key_b64, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("verifier key id is not hex or key is not base64", code="note.key") from None
    if len(stated_id) != 4 or len(raw) != PUBLIC_KEY_SIZE + 1 or raw[:1] != ED25519_TYPE:
        raise CheckpointError("verifier key must be a 4-byte id and a type-0x01 Ed25519 key", code="note.key")
    key = verifier_key(name, raw[1:])
    if key.key_id != stated_id:
        raise CheckpointError(f"verifier key id {id_hex} does not match the key, expected {key.key_id.hex()}",
                              code="note.key")
    return key


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The tlog-checkpoint note text: origin, size and base64 root, each ending in a newline."""
    if not _NAME.fullmatch(origin):
        raise CheckpointError(f"origin {origin!r} must be non-empty without spaces or '+'", code="checkpoint.origin")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root has {len(root)} bytes, expected {HASH_SIZE}", code="checkpoint.root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def sign_checkpoint(signer: Signer, origin: str, size: int, root: bytes) -> str:
    """Return the signed note for a checkpoint; the key name is ``signer.author``, which must be the origin."""
    if signer.author != origin:
        raise CheckpointError(f"operator key name {signer.author!r} differs from origin {origin!r}",
                              code="checkpoint.origin")
    text = checkpoint_body(origin, size, root)
    key_id = note_key_id(signer.author, signer.public_key)
    signature = base64.b64encode(key_id + signer.sign(text.encode("utf-8"))).decode("ascii")
    return f"{text}\n\u2014 {signer.author} {signature}\n"


def open_checkpoint(note: str, key: VerifierKey, *, origin: str | None = None) -> Checkpoint:
    """Verify a checkpoint note against the operator's verifier key and parse it.

    Steps (C2SP signed-note, then tlog-checkpoint):
      1. the note is UTF-8 without control characters other than newline, and at most 16 KiB;
      2. text and signature lines are split at the last blank line;
      3. a signature line with ``key``'s name and id must exist and must verify over the text;
      4. the text has an origin line (equal to ``origin`` when given, else to the key name), a decimal size
         without leading zeros and a base64 32-byte root, then optional extension lines.
    Raises :class:`CheckpointError` for every failure.
    """
    data = note.encode("utf-8", errors="strict") if isinstance(note, str) else note
    # Step 1.
    if len(data) > MAX_NOTE_BYTES:
        raise CheckpointError(f"note is {len(data)} bytes, limit {MAX_NOTE_BYTES}", code="note.size")
    if re.search(r"[\x00-\x09\x0b-\x1f]", note):
        raise CheckpointError("note contains control characters", code="note.malformed")
    # Step 2.
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise CheckpointError("note has no blank line before its signatures", code="note.malformed")
    text, signature_block = note[: split + 1], note[split + 2:]
    # Step 3.
    verified = False
    for line in signature_block[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
        if not match:
            raise CheckpointError(f"malformed signature line {line[:60]!r}", code="note.malformed")
        name, encoded = match.groups()
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointError(f"signature of {name!r} is not base64", code="note.malformed") from None
        if name != key.name or raw[:4] != key.key_id:
            continue  # signatures from other keys (witnesses) are ignored, as the spec requires
        if base64.b64encode(raw).decode("ascii") != encoded:
            # b64decode ignores the unused low bits of the last character: refuse such malleable encodings.
            raise CheckpointError("operator signature is not canonical base64", code="checkpoint.signature")
        if len(raw) != 4 + SIGNATURE_SIZE:
            raise CheckpointError(f"operator signature has {len(raw) - 4} bytes, expected {SIGNATURE_SIZE}",
                                  code="checkpoint.signature")
        try:
            verify_signature(key.public_key, raw[4:], text.encode("utf-8"))
        except SignatureError:
            raise CheckpointError(f"operator signature by {key.name}+{key.key_id.hex()} does not verify",
                                  code="checkpoint.signature") from None
        verified = True
    if not verified:
        raise CheckpointError(f"no signature by operator key {key.name}+{key.key_id.hex()}",
                              code="checkpoint.signature")
    # Step 4.
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines", code="checkpoint.malformed")
    expected_origin = origin if origin is not None else key.name
    if lines[0] != expected_origin:
        raise CheckpointError(f"checkpoint origin is {lines[0]!r}, expected {expected_origin!r}",
                              code="checkpoint.origin")
    if not _SIZE.fullmatch(lines[1]):
        raise CheckpointError(f"checkpoint size {lines[1][:30]!r} is not a decimal without leading zeros",
                              code="checkpoint.malformed")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise CheckpointError("checkpoint root is not base64", code="checkpoint.malformed") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root has {len(root)} bytes, expected {HASH_SIZE}",
                              code="checkpoint.malformed")
    return Checkpoint(lines[0], int(lines[1]), root, note)
