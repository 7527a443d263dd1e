"""The signed, hash-chained, Merkle-tree ledger: statements, sequencing, checkpoints, proofs and verification.

Knows nothing about Flask or the traceability domain; callers pass sessions, clocks, keys and settings.
"""

from .checkpoint import Checkpoint, VerifierKey, open_checkpoint, parse_verifier_key, sign_checkpoint, verifier_key
from .db_verifier import verify_database
from .errors import (
    AuthorityError,
    CheckpointError,
    ConflictError,
    ExportFormatError,
    KeyFileError,
    LedgerError,
    ProofError,
    SignatureError,
    StatementError,
    VerificationError,
)
from .export import write_export
from .keys import Signer
from .proofs import (
    VerifiedBatch,
    batch_bundle,
    checkpoint_covering,
    consistency,
    entry_bundle,
    inclusion,
    latest_checkpoint,
    verify_batch_bundle,
    verify_entry_bundle,
)
from .rules import OPERATOR
from .sequencer import (
    AppendResult,
    BatchRefused,
    DomainPolicy,
    LedgerConfig,
    LedgerNotInitialised,
    author_position,
    initialise_ledger,
    load_public_keys,
    prepare_statements,
    sequence_statements,
)
from .statements import SignedStatement, Statement, build_statement, parse_envelope, sign_statement
from .verifier import DomainReplay, VerifyReport, read_lines, verify_export_lines

__all__ = [
    "AppendResult", "AuthorityError", "BatchRefused", "Checkpoint", "CheckpointError", "ConflictError",
    "DomainPolicy", "DomainReplay", "ExportFormatError", "KeyFileError", "LedgerConfig", "LedgerError",
    "LedgerNotInitialised",
    "OPERATOR", "ProofError", "SignatureError", "SignedStatement", "Signer", "Statement", "StatementError",
    "VerificationError", "VerifiedBatch", "VerifierKey", "VerifyReport", "author_position", "batch_bundle",
    "build_statement",
    "checkpoint_covering",
    "consistency",
    "entry_bundle", "inclusion", "initialise_ledger", "latest_checkpoint", "load_public_keys", "open_checkpoint",
    "parse_envelope", "parse_verifier_key", "prepare_statements", "read_lines", "sequence_statements",
    "sign_checkpoint", "sign_statement", "verifier_key", "verify_batch_bundle", "verify_database",
    "verify_entry_bundle",
    "verify_export_lines", "write_export",
]
