"""The enterprise client: key files, statement specs from arguments, JSON or CSV, signing, submitting over
HTTP with retries, and offline proof of inclusion. It imports no web framework; see docs/client.md."""

from .errors import ClientError, InputError, ServerError
from .http import JsonClient
from .keyfile import KeyFile, generate_key_file, load_key_file, read_passphrase
from .statements import StatementSpec, sign_specs, spec_from_fields, specs_from_csv, specs_from_json
from .submit import Outcome, Submitted, read_envelopes, read_receipts, submit, write_receipts

__all__ = [
    "ClientError", "InputError", "JsonClient", "KeyFile", "Outcome", "ServerError", "StatementSpec", "Submitted",
    "generate_key_file", "load_key_file", "read_envelopes", "read_passphrase", "read_receipts", "sign_specs",
    "spec_from_fields", "specs_from_csv", "specs_from_json", "submit", "write_receipts",
]
