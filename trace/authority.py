"""The operator's and the registrar's signing keys: configured secrets, encrypted at rest, created once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledger import LedgerConfig, Signer
from ledger.errors import KeyFileError
from ledger.keys import decrypt_private_key, read_private_key, write_private_key
from ledger.rules import OPERATOR

from .settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthorityKeys:
    operator: Signer
    registrar: Signer


def load_authority_keys(settings: Settings, *, create: bool = False) -> AuthorityKeys:
    """Read the operator and registrar keys from ``settings.key_dir``.

    With ``create`` a missing key file is generated first (mode 0600, encrypted under TRACE_KEY_PASSPHRASE).
    A key given in the environment (TRACE_OPERATOR_KEY_PEM, TRACE_REGISTRAR_KEY_PEM) is used instead of its file.
    Raises :class:`ledger.errors.KeyFileError` when a file is missing (without ``create``) or undecryptable,
    and :class:`trace.settings.SettingsError` when no passphrase is configured.
    """
    passphrase = settings.require_passphrase()
    signers = {}
    for author, path, pem in ((OPERATOR, settings.operator_key_file, settings.operator_key_pem),
                              (settings.registrar_id, settings.registrar_key_file, settings.registrar_key_pem)):
        if pem:
            signers[author] = Signer(author, decrypt_private_key(pem.encode("ascii", "replace"), passphrase))
            continue
        if create and not path.exists():
            signer = Signer.generate(author)
            write_private_key(path, signer.private_key, passphrase)
            logger.info("generated key", extra={"author": author, "key_id": signer.key_id})
        if not path.exists():
            raise KeyFileError(f"key file {path} does not exist: run `python -m trace init-db` first")
        signers[author] = Signer(author, read_private_key(path, passphrase))
    return AuthorityKeys(signers[OPERATOR], signers[settings.registrar_id])


def ledger_config(settings: Settings, keys: AuthorityKeys) -> LedgerConfig:
    return LedgerConfig(origin=settings.ledger_origin, operator=keys.operator,
                        max_statement_bytes=settings.max_statement_bytes)
