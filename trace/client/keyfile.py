"""The enterprise's key file: one text file holding which credit code the key signs for and the Ed25519 private
key, encrypted under a passphrase.

Format (``trace-client-key/1``): header lines ``Name: value`` before the PEM block, which RFC 7468 §5.2 allows
as explanatory text and PEM readers skip, then the encrypted PKCS #8 PEM written by
:func:`ledger.keys.encrypt_private_key`::

    Trace-Client-Key: 1
    Credit-Code: 91350100MA2XYE001C
    Key-Id: 5e0c2a91d4b7f368
    Public-Key: <base64 Ed25519 public key>

    -----BEGIN ENCRYPTED PRIVATE KEY-----
    ...

The header is public information; ``Key-Id`` and ``Public-Key`` are checked against the decrypted key on
every read, so a header copied onto another key is refused.
"""

from __future__ import annotations

import base64
import getpass
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ledger import KeyFileError, Signer
from ledger.keys import encode_public_key, encrypt_private_key, read_private_key

from ..access import request_signing_message
from .errors import ClientError

FORMAT = "1"
PASSPHRASE_VARIABLE = "TRACE_CLIENT_PASSPHRASE"
_AUTHOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_HEADER = re.compile(r"([A-Za-z-]+): *(.*)")


@dataclass(frozen=True)
class KeyFile:
    """A decrypted key file: the credit code it signs for and the signer (author = the credit code)."""

    credit_code: str
    signer: Signer

    @property
    def key_id(self) -> str:
        return self.signer.key_id

    @property
    def public_key_b64(self) -> str:
        return encode_public_key(self.signer.public_key)


def read_passphrase(*, confirm: bool, environ: Mapping[str, str] | None = None) -> str:
    """The key file passphrase: ``TRACE_CLIENT_PASSPHRASE`` when set, else asked on the terminal (twice when
    ``confirm``). Raises :class:`ClientError` (``client.passphrase``) when empty or the two entries differ."""
    environ = os.environ if environ is None else environ
    passphrase = environ.get(PASSPHRASE_VARIABLE)
    if passphrase is None:
        try:
            passphrase = getpass.getpass("key file passphrase: ")
            if confirm and getpass.getpass("repeat the passphrase: ") != passphrase:
                raise ClientError("the two passphrases differ", code="client.passphrase")
        except EOFError:
            raise ClientError(f"no passphrase: set {PASSPHRASE_VARIABLE} or run on a terminal",
                              code="client.passphrase") from None
    if not passphrase:
        raise ClientError(f"an empty passphrase is refused: set {PASSPHRASE_VARIABLE} or type one",
                          code="client.passphrase")
    return passphrase


def generate_key_file(path: Path, credit_code: str, passphrase: str) -> KeyFile:
    """Create a new key pair for ``credit_code`` and write it to ``path`` (mode 0600).

    Refuses to overwrite an existing file and raises :class:`ClientError` (``client.key_file``) then; raises
    ``client.input`` for a credit code that cannot be a statement author.
    """
    if not _AUTHOR.fullmatch(credit_code):
        raise ClientError(f"credit code {credit_code!r} must be 1-64 letters, digits, '.', '_', ':' or '-'",
                          code="client.input")
    key = KeyFile(credit_code, Signer.generate(credit_code))
    header = (f"Trace-Client-Key: {FORMAT}\nCredit-Code: {credit_code}\nKey-Id: {key.key_id}\n"
              f"Public-Key: {key.public_key_b64}\n\n").encode("ascii")
    pem = encrypt_private_key(key.signer.private_key, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Not ledger.keys.write_private_key: that writes the bare PEM, and the header must come first.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ClientError(f"{path} exists: a key file is never overwritten", code="client.key_file") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(header + pem)
    return key


def load_key_file(path: Path, passphrase: str) -> KeyFile:
    """Read and decrypt a key file; raises :class:`ClientError` (``client.key_file``) when it is missing, has
    no valid header, cannot be decrypted, or its header names another key than the one it holds."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise ClientError(f"cannot read key file {path}: {reason}", code="client.key_file") from None
    header = _read_header(text, path)
    try:
        signer = Signer(header["Credit-Code"], read_private_key(path, passphrase))
    except KeyFileError as exc:
        raise ClientError(f"key file {path}: {exc.message}", code="client.key_file") from None
    key = KeyFile(header["Credit-Code"], signer)
    if header["Key-Id"] != key.key_id or header["Public-Key"] != key.public_key_b64:
        raise ClientError(f"key file {path}: the header names key {header['Key-Id']}, the file holds key "
                          f"{key.key_id}", code="client.key_file")
    return key


def _read_header(text: str, path: Path) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in text.split("-----BEGIN", 1)[0].splitlines():
        match = _HEADER.fullmatch(line.strip())
        if match:
            header[match.group(1)] = match.group(2).strip()
    if header.get("Trace-Client-Key") != FORMAT:
        raise ClientError(f"{path} is not a trace client key file (no 'Trace-Client-Key: {FORMAT}' header)",
                          code="client.key_file")
    missing = [name for name in ("Credit-Code", "Key-Id", "Public-Key") if not header.get(name)]
    if missing:
        raise ClientError(f"key file {path} lacks the header line(s) {', '.join(missing)}", code="client.key_file")
    if not _AUTHOR.fullmatch(header["Credit-Code"]):
        raise ClientError(f"key file {path}: Credit-Code {header['Credit-Code']!r} is not a valid author",
                          code="client.key_file")
    return header


def request_signer(key: KeyFile, extra: dict[str, str] | None = None,
                   clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Callable[[str, str, bytes],
                                                                                       dict[str, str]]:
    """Headers authenticating one request with ``key`` (``Trace-Signature``; docs/api.md §3), plus ``extra``;
    called afresh for every attempt, since the server accepts each signature once."""
    def sign(method: str, target: str, body: bytes) -> dict[str, str]:
        moment = clock().isoformat(timespec="seconds")
        signature = key.signer.sign(request_signing_message(method, target, moment, key.key_id, body))
        return {**(extra or {}), "Authorization": f'Trace-Signature key="{key.key_id}", time="{moment}", '
                                                  f'signature="{base64.b64encode(signature).decode("ascii")}"'}
    return sign
