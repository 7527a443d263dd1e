"""Ed25519 keys: key ids, generation, and private keys encrypted at rest (PKCS #8, passphrase-protected PEM)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import KeyFileError, SignatureError

KEY_ID_TAG = b"trace-ledger/v1/key-id\x00"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def key_id(public_key: bytes) -> str:
    """The ledger key id of an Ed25519 public key: the first 8 bytes of SHA-256(tag || key), in lower hex."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise SignatureError(f"an Ed25519 public key has {PUBLIC_KEY_SIZE} bytes, found {len(public_key)}",
                             code="key.malformed")
    return hashlib.sha256(KEY_ID_TAG + public_key).digest()[:8].hex()


def decode_public_key(text: str) -> bytes:
    """Decode a base64 Ed25519 public key; raises :class:`SignatureError` (``key.malformed``)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise SignatureError("public key is not base64", code="key.malformed") from None
    if len(raw) != PUBLIC_KEY_SIZE or base64.b64encode(raw).decode("ascii") != text:
        raise SignatureError(f"public key must be {PUBLIC_KEY_SIZE} bytes in canonical base64",
                             code="key.malformed")
    return raw


def encode_public_key(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode("ascii")


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Verify an Ed25519 signature; raises :class:`SignatureError` (``signature.invalid``) when it fails."""
    if len(signature) != SIGNATURE_SIZE:
        raise SignatureError(f"an Ed25519 signature has {SIGNATURE_SIZE} bytes, found {len(signature)}")
    try:
        _loaded_public_key(public_key).verify(signature, message)
    except InvalidSignature:
        raise SignatureError(f"signature does not verify under key {key_id(public_key)}") from None


@lru_cache(maxsize=4096)
def _loaded_public_key(public_key: bytes) -> Ed25519PublicKey:
    # A ledger has few keys and checks many signatures under each: loading a key costs a few percent of a check.
    return Ed25519PublicKey.from_public_bytes(public_key)


@dataclass(frozen=True)
class Signer:
    """A private key and the ledger identity it signs for. ``author`` is the statement author name."""

    author: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def generate(cls, author: str) -> Signer:
        return cls(author, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, author: str, seed: bytes) -> Signer:
        """Deterministic key from a 32-byte seed: for test vectors and fixtures only."""
        return cls(author, Ed25519PrivateKey.from_private_bytes(seed))


def encrypt_private_key(private_key: Ed25519PrivateKey, passphrase: str) -> bytes:
    """PKCS #8 PEM of ``private_key`` encrypted under ``passphrase``."""
    if not passphrase:
        raise KeyFileError("a passphrase is required to store a private key")
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def decrypt_private_key(pem: bytes, passphrase: str) -> Ed25519PrivateKey:
    """Load an encrypted PKCS #8 PEM; raises :class:`KeyFileError` for a wrong passphrase or another key type."""
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"cannot decrypt private key ({exc.__class__.__name__}): wrong passphrase or "
                           "not an encrypted PKCS #8 key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError("private key is not an Ed25519 key")
    return key


def write_private_key(path: Path, private_key: Ed25519PrivateKey, passphrase: str) -> None:
    """Write an encrypted key file readable by its owner only; refuses to overwrite an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encrypt_private_key(private_key, passphrase))


def read_private_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Read an encrypted key file; raises :class:`KeyFileError` when missing or undecryptable."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path.name}: {exc.strerror}") from None
    return decrypt_private_key(pem, passphrase)
