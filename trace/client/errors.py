"""The client's errors. Each carries a stable ``code``; :class:`ServerError` also the HTTP status and the
server's ``{"error": {"code", "message", "fields"}}`` members, so the command line can show ``code: message``."""

from __future__ import annotations

from typing import Any

from ledger import LedgerError


class ClientError(LedgerError):
    """Something on the enterprise's side is wrong: a key file, an input file, an argument, an unreachable
    server. Codes: ``client.input``, ``client.key_file``, ``client.network``, ``client.response``."""

    code = "client.error"


class InputError(ClientError):
    """An input (argument, JSON, CSV or JSON-lines file) cannot be turned into statements; the message names
    the file, line or column."""

    code = "client.input"


class ServerError(ClientError):
    """The server answered with an error: ``code`` and ``message`` are the server's own, ``status`` the HTTP
    status, ``body`` the parsed answer (it may hold per-statement ``results``)."""

    def __init__(self, message: str, *, code: str, status: int, fields: dict[str, Any] | None = None,
                 body: Any = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.fields = fields or {}
        self.body = body
