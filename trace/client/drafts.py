"""Checking the server's drafts before the client signs them (``client epcis-capture``, ``client import-csv``).

The server drafts statements (chain position, batch links) but never holds the key: the client signs a draft only
once it is a statement of the key's own enterprise and key, on the ledger the client talks to, hashing to what
the server said and following the previous draft in the author's chain. What the draft must *say* (its type and
body) is each command's own check.
"""

from __future__ import annotations

from typing import Any

from ledger import LedgerError, Statement
from ledger.statements import parse_statement

from .errors import ClientError
from .keyfile import KeyFile


def check_draft(draft: Any, key: KeyFile, *, origin: str, previous: Statement | None, where: str) -> Statement:
    """The statement of ``draft`` (``{"statement": fields, "statement_hash": hex, ...}``) once every check above
    holds; ``previous`` is the draft signed just before it in this run, if any. Raises :class:`ClientError`
    (``client.response``) naming ``where`` and every problem found; nothing has been signed then."""
    try:
        statement = parse_statement(draft.get("statement") if isinstance(draft, dict) else None)
    except LedgerError as exc:
        raise ClientError(f"{where}: the drafted statement is malformed: {exc}", code="client.response") from None
    problems = [f"author {statement.author}, expected {key.credit_code}"] * (statement.author != key.credit_code)
    problems += [f"key {statement.key}, expected {key.key_id}"] * (statement.key != key.key_id)
    problems += [f"ledger {statement.ledger}, expected {origin}"] * (statement.ledger != origin)
    if previous is not None and (statement.seq, statement.prev) != (previous.seq + 1, previous.hash_hex):
        problems.append(f"seq {statement.seq} does not follow seq {previous.seq} in the author's chain")
    if draft.get("statement_hash") != statement.hash_hex:
        problems.append(f"statement hash {draft.get('statement_hash')}, computed {statement.hash_hex}")
    if problems:
        raise ClientError(f"{where}: refusing to sign: {'; '.join(problems)}", code="client.response")
    return statement
