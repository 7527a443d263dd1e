"""Settings: defaults, then ``TRACE_*`` environment variables, then explicit overrides; checked once, failing
fast with the name of the variable to set."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


class SettingsError(Exception):
    """A required setting is missing or invalid; the message says which variable to set."""


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{VAR / 'trace.db'}"
    ledger_origin: str = "trace.localhost/ledger"
    #: Scheme and host the QR codes point at (GS1 Digital Link URIs are ``{public_base_url}/01/{GTIN}/10/{lot}``).
    public_base_url: str = "http://127.0.0.1:5000"
    registrar_id: str = "registrar"
    key_dir: str = str(VAR / "keys")
    key_passphrase: str = field(default="", repr=False)
    #: A file holding the passphrase (a container or systemd secret), read when TRACE_KEY_PASSPHRASE is unset.
    key_passphrase_file: str = ""
    #: The encrypted PKCS #8 PEM of the operator's and the registrar's keys, from the environment (a secret store)
    #: instead of the files in ``key_dir``.
    operator_key_pem: str = field(default="", repr=False)
    registrar_key_pem: str = field(default="", repr=False)
    max_statement_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_format: str = "json"
    secret_key: str = field(default="", repr=False)
    testing: bool = False
    #: Whether anyone may read ledger entries by range and the full export; per-batch proof bundles, checkpoints
    #: and proofs are always public. Off by default: bulk reads need an inspector's, registrar's or
    #: administrator's login, so competitors cannot harvest trading relationships in bulk.
    public_ledger: bool = False
    rate_limits: bool = True
    rate_limit_public: str = "600 per minute"
    rate_limit_login: str = "10 per minute"
    #: Complaints filed per client address; not lower, as mobile carriers put many phones behind one address.
    rate_limit_complaints: str = "5 per minute;60 per day"
    rate_limit_storage: str = "memory://"
    #: The secret shared with the SMS gateway, which signs each inbound message (``X-Trace-Signature``); empty
    #: means unsigned messages are answered, for development only (docs/operations.md).
    sms_webhook_secret: str = field(default="", repr=False)

    @property
    def operator_key_file(self) -> Path:
        return Path(self.key_dir) / "operator.pem"

    @property
    def registrar_key_file(self) -> Path:
        return Path(self.key_dir) / "registrar.pem"

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from defaults, ``TRACE_<NAME>`` variables and ``overrides`` (by field name)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = environ.get(f"TRACE_{setting.name.upper()}")
            if raw is not None:
                values[setting.name] = _convert(setting.name, raw, setting.type)
        for name, value in (overrides or {}).items():
            if name not in {setting.name for setting in fields(cls)}:
                raise SettingsError(f"unknown setting {name!r}")
            values[name] = value
        settings = replace(cls(), **values)
        settings.check()
        return settings

    def check(self) -> None:
        if not re.fullmatch(r"[^\s+]+", self.ledger_origin):
            raise SettingsError("TRACE_LEDGER_ORIGIN must be a name without spaces or '+', "
                                "for example trace.example.gov.cn/ledger")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", self.registrar_id) or \
                self.registrar_id == "operator":
            raise SettingsError("TRACE_REGISTRAR_ID must be 1-64 letters, digits, '.', '_', ':' or '-', "
                                "and not 'operator'")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", self.public_base_url):
            raise SettingsError("TRACE_PUBLIC_BASE_URL must be a scheme and host without a path or a trailing "
                                "slash, for example https://trace.example.gov.cn")
        if not self.database_url.startswith(("sqlite:", "postgresql")):
            raise SettingsError("TRACE_DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://...")
        if not 1024 <= self.max_statement_bytes <= 64 * 1024:
            raise SettingsError("TRACE_MAX_STATEMENT_BYTES must be between 1024 and 65536 (the verifier's limit)")
        if self.log_format not in {"json", "text"}:
            raise SettingsError("TRACE_LOG_FORMAT must be json or text")

    def require_passphrase(self) -> str:
        if self.key_passphrase:
            return self.key_passphrase
        if self.key_passphrase_file:
            try:
                passphrase = Path(self.key_passphrase_file).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"cannot read TRACE_KEY_PASSPHRASE_FILE {self.key_passphrase_file}: "
                                    f"{exc.strerror}") from None
            if passphrase:
                return passphrase
            raise SettingsError(f"TRACE_KEY_PASSPHRASE_FILE {self.key_passphrase_file} is empty")
        raise SettingsError("TRACE_KEY_PASSPHRASE (or TRACE_KEY_PASSPHRASE_FILE) is not set: it encrypts the "
                            "operator and registrar keys at rest")


def _convert(name: str, raw: str, kind: Any) -> Any:
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"TRACE_{name.upper()} must be an integer, found {raw!r}") from None
    if kind in (bool, "bool"):
        if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
            raise SettingsError(f"TRACE_{name.upper()} must be true or false, found {raw!r}")
        return raw.lower() in {"1", "true", "yes"}
    return raw
