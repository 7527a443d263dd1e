"""Typed ledger errors.

Every refusal carries a stable ``code`` (``"statement.float"``, ``"sequence.conflict"``, ...) that callers map
to their own outcomes (HTTP status, exit code); the ledger itself knows nothing about HTTP.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""

    code = "ledger.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class StatementError(LedgerError):
    """A statement is malformed: bad JSON, a float, a duplicate key, an unknown field, too large, ..."""

    code = "statement.invalid"


class SignatureError(LedgerError):
    """A signature does not verify, or names an unknown or revoked key."""

    code = "signature.invalid"


class ConflictError(LedgerError):
    """A statement is well formed and signed but stale: its sequence number or a previous-hash link is not
    the current head. Rebuilding it on the current head resolves the conflict."""

    code = "sequence.conflict"


class AuthorityError(LedgerError):
    """The author is not allowed to make this statement (for example a key statement not signed by the
    registrar)."""

    code = "authority.denied"


class ProofError(LedgerError):
    """An inclusion or consistency proof, or a tree size or index, is invalid."""

    code = "proof.invalid"


class CheckpointError(LedgerError):
    """A checkpoint or signed note is malformed or its signature does not verify."""

    code = "checkpoint.invalid"


class KeyFileError(LedgerError):
    """A key file is missing, unreadable, or the passphrase is wrong."""

    code = "key.file"


class ExportFormatError(LedgerError):
    """An export file does not follow the documented format."""

    code = "export.format"


class VerificationError(LedgerError):
    """The offline verifier found the ledger not intact. ``index`` names the first bad entry, when one does."""

    code = "verify.failed"

    def __init__(self, message: str, *, code: str | None = None, index: int | None = None) -> None:
        super().__init__(message, code=code)
        self.index = index

    def __str__(self) -> str:
        where = f"entry {self.index}: " if self.index is not None else ""
        return f"{where}{self.code}: {self.message}"
