"""The ledger's own rules, shared by the sequencer (before an entry is written) and the verifier (replaying an
export): which key may sign at an index, per-author and per-batch hash links, and the ``ledger.*`` statement
types that bootstrap and manage keys.

Both callers supply a :class:`LedgerState`; the functions here check first and change the state only once every
check has passed, so a refused statement leaves the state as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from .errors import AuthorityError, ConflictError, SignatureError, StatementError
from .keys import decode_public_key, key_id
from .statements import Statement, parse_time

OPERATOR = "operator"
GENESIS = "ledger.genesis"
KEY_ADD = "ledger.key.add"
KEY_REVOKE = "ledger.key.revoke"
KEY_ROTATE = "ledger.key.rotate"
LEDGER_TYPES = frozenset({GENESIS, KEY_ADD, KEY_REVOKE, KEY_ROTATE})
MAX_CLOCK_SKEW = timedelta(minutes=10)
_AUTHOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(slots=True)
class KeyRecord:
    """A registered key: valid for statements sequenced after ``added_index`` and up to ``revoked_index``."""

    key_id: str
    author: str
    public_key: bytes
    label: str
    added_index: int
    revoked_index: int | None = None


class LedgerState(Protocol):
    """What the rules read and change. Missing authors, batches and keys read as ``None``."""

    registrar: str | None

    def author_head(self, author: str) -> tuple[int, bytes] | None: ...

    def batch_head(self, ref: str) -> bytes | None: ...

    def key(self, key_id: str) -> KeyRecord | None: ...

    def set_author_head(self, author: str, seq: int, statement_hash: bytes, index: int) -> None: ...

    def set_batch_head(self, ref: str, statement_hash: bytes, index: int) -> None: ...

    def add_key(self, record: KeyRecord) -> None: ...

    def revoke_key(self, key_id: str, index: int) -> None: ...


def signing_key(state: LedgerState, statement: Statement, index: int, operator_key: bytes) -> bytes:
    """The public key that must have signed ``statement`` at ``index``.

    Entry 0 is the genesis statement, signed by the operator key given out of band. Afterwards the key must be
    registered for the statement's author and not revoked at an earlier index. Raises :class:`SignatureError`
    (``key.unknown``, ``key.wrong_author``, ``key.revoked``).
    """
    if index == 0:
        if statement.key != key_id(operator_key):
            raise SignatureError(f"entry 0 must be signed by the operator key {key_id(operator_key)}, found "
                                 f"{statement.key}", code="key.unknown")
        return operator_key
    record = state.key(statement.key)
    if record is None:
        raise SignatureError(f"key {statement.key} is not registered", code="key.unknown")
    if record.author != statement.author:
        raise SignatureError(f"key {statement.key} belongs to {record.author}, not {statement.author}",
                             code="key.wrong_author")
    if record.revoked_index is not None and record.revoked_index < index:
        raise SignatureError(f"key {statement.key} was revoked at entry {record.revoked_index}",
                             code="key.revoked")
    return record.public_key


def apply_statement(state: LedgerState, statement: Statement, index: int, received: datetime, *,
                    origin: str, operator_key: bytes) -> None:
    """Check ``statement`` (already signature-verified) as entry ``index`` and record its effects in ``state``.

    Checks, in order: the ledger origin; author time not after receive time plus :data:`MAX_CLOCK_SKEW`; the
    author's sequence number and previous-statement hash; each linked batch's latest statement hash; and for
    ``ledger.*`` types their body and authority. Raises :class:`StatementError`, :class:`ConflictError` or
    :class:`AuthorityError`; on any error ``state`` is unchanged.
    """
    if statement.ledger != origin:
        raise StatementError(f"statement is for ledger {statement.ledger!r}, this is {origin!r}",
                             code="statement.wrong_ledger")
    if parse_time(statement.time) - received > MAX_CLOCK_SKEW:
        raise StatementError(f"statement time {statement.time} is more than {MAX_CLOCK_SKEW} after its receive "
                             "time", code="statement.time_in_future")
    head = state.author_head(statement.author)
    expected_seq, expected_prev = (1, None) if head is None else (head[0] + 1, head[1].hex())
    if statement.seq != expected_seq or statement.prev != expected_prev:
        raise ConflictError(f"{statement.author} must send seq {expected_seq} with prev {expected_prev}, found "
                            f"seq {statement.seq} with prev {statement.prev}", code="sequence.conflict")
    for ref, given in statement.links.items():
        current = state.batch_head(ref)
        current_hex = current.hex() if current is not None else None
        if given != current_hex:
            raise ConflictError(f"batch {ref} has latest statement {current_hex}, statement links {given}",
                                code="link.conflict")
    if (index == 0) != (statement.type == GENESIS):
        raise StatementError("entry 0, and only entry 0, is the ledger.genesis statement", code="ledger.genesis")
    if statement.type in LEDGER_TYPES:
        effect = _check_ledger_statement(state, statement, index, operator_key)
    elif statement.type.startswith("ledger."):
        raise StatementError(f"unknown ledger statement type {statement.type}", code="statement.unknown_type")
    else:
        effect = None
    state.set_author_head(statement.author, statement.seq, statement.hash, index)
    for ref in statement.links:
        state.set_batch_head(ref, statement.hash, index)
    if effect is not None:
        effect(state)


def _check_ledger_statement(state: LedgerState, statement: Statement, index: int, operator_key: bytes) -> Any:
    if statement.links:
        raise StatementError(f"{statement.type} statements link no batches", code="statement.field")
    body = statement.body
    if statement.type == GENESIS:
        _fields(body, {"operator_public_key", "registrar", "registrar_public_key"}, statement.type)
        if statement.author != OPERATOR:
            raise AuthorityError(f"genesis is authored by {OPERATOR!r}, found {statement.author!r}")
        operator_public = decode_public_key(_string(body, "operator_public_key"))
        if operator_public != operator_key:
            raise SignatureError("genesis names another operator key than the one given out of band",
                                 code="key.operator_mismatch")
        registrar = _author(body, "registrar")
        if registrar == OPERATOR:
            raise StatementError("the registrar must be another author than the operator", code="statement.field")
        registrar_public = decode_public_key(_string(body, "registrar_public_key"))
        records = [KeyRecord(key_id(operator_public), OPERATOR, operator_public, "operator", index),
                   KeyRecord(key_id(registrar_public), registrar, registrar_public, "registrar", index)]
        if records[0].key_id == records[1].key_id:
            raise StatementError("registrar key must differ from the operator key", code="key.duplicate")

        def genesis(target: LedgerState) -> None:
            target.registrar = registrar
            for record in records:
                target.add_key(record)
        return genesis

    subject = _author(body, "subject")
    _require_authority(state, statement, subject)
    if statement.type == KEY_ADD:
        _fields(body, {"subject", "public_key", "label"}, statement.type)
        new = _new_key(state, body, subject, index)
        return lambda target: target.add_key(new)
    if statement.type == KEY_REVOKE:
        _fields(body, {"subject", "key", "reason"}, statement.type)
        _string(body, "reason", 500)
        old = _live_key(state, _string(body, "key"), subject)
        return lambda target: target.revoke_key(old.key_id, index)
    _fields(body, {"subject", "old_key", "public_key", "label", "reason"}, statement.type)
    _string(body, "reason", 500)
    old = _live_key(state, _string(body, "old_key"), subject)
    new = _new_key(state, body, subject, index)

    def rotate(target: LedgerState) -> None:
        target.add_key(new)
        target.revoke_key(old.key_id, index)
    return rotate


def _require_authority(state: LedgerState, statement: Statement, subject: str) -> None:
    if subject == OPERATOR:
        raise AuthorityError("the operator key is fixed by the genesis statement and cannot be changed")
    if subject == state.registrar:
        if statement.author != OPERATOR:
            raise AuthorityError(f"only the operator manages the registrar's keys, found {statement.author}")
        return
    if statement.author == state.registrar:
        return
    if statement.type == KEY_REVOKE and statement.author == subject:
        return  # an enterprise may always revoke its own key, for instance after losing a device
    raise AuthorityError(f"{statement.author} may not manage keys of {subject}; the registrar does")


def _new_key(state: LedgerState, body: dict[str, Any], subject: str, index: int) -> KeyRecord:
    public = decode_public_key(_string(body, "public_key"))
    new_id = key_id(public)
    if state.key(new_id) is not None:
        raise StatementError(f"key {new_id} is already registered", code="key.duplicate")
    return KeyRecord(new_id, subject, public, _string(body, "label", 200), index)


def _live_key(state: LedgerState, key: str, subject: str) -> KeyRecord:
    record = state.key(key)
    if record is None or record.author != subject:
        raise StatementError(f"{subject} has no key {key}", code="key.unknown")
    if record.revoked_index is not None:
        raise StatementError(f"key {key} was already revoked at entry {record.revoked_index}", code="key.revoked")
    return record


def _fields(body: dict[str, Any], names: set[str], type_: str) -> None:
    if body.keys() != names:
        raise StatementError(f"{type_} body needs exactly {', '.join(sorted(names))}; found "
                             f"{', '.join(sorted(body)) or 'nothing'}", code="statement.body")


def _string(body: dict[str, Any], name: str, limit: int = 1000) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise StatementError(f"body.{name} must be a string of 1-{limit} characters", code="statement.body")
    return value


def _author(body: dict[str, Any], name: str) -> str:
    value = _string(body, name, 64)
    if not _AUTHOR.fullmatch(value):
        raise StatementError(f"body.{name} {value!r} is not an author name", code="statement.body")
    return value
