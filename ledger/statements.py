"""Signed statements and log leaves: their fields, canonical bytes, hashes and signatures.

A statement is a JSON object with exactly the fields in :data:`STATEMENT_FIELDS`; its identity is the SHA-256
of its canonical bytes under a domain tag, and its author signs ``SIGNATURE_TAG || canonical bytes`` with
Ed25519. A leaf of the log is the canonical JSON of ``{"received", "signature", "statement"}``. The byte-exact
rules are in ``docs/ledger-format.md``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .canonical import (
    MAX_DEPTH,
    canonicalize,
    canonicalize_loaded,
    canonicalize_proven,
    loads_proven_canonical,
    strict_loads,
)
from .errors import StatementError
from .keys import SIGNATURE_SIZE, Signer

FORMAT_VERSION = 1
SIGNATURE_TAG = b"trace-ledger/v1/statement-signature\x00"
STATEMENT_HASH_TAG = b"trace-ledger/v1/statement-hash\x00"
DEFAULT_MAX_STATEMENT_BYTES = 64 * 1024
MAX_LINKS = 256
MAX_LEAF_OVERHEAD = 256

STATEMENT_FIELDS = frozenset({"v", "ledger", "type", "author", "key", "seq", "prev", "links", "time", "body"})
ENVELOPE_FIELDS = frozenset({"signature", "statement"})
LEAF_FIELDS = frozenset({"received", "signature", "statement"})

_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){1,4}")
_AUTHOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
#: A statement hash as statements and bundles write it: 64 lowercase hex digits.
HASH_HEX = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)")
_RECEIVED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Statement:
    """A validated statement. ``canonical`` are its RFC 8785 bytes and ``hash`` its statement hash."""

    ledger: str
    type: str
    author: str
    key: str
    seq: int
    prev: str | None
    links: dict[str, str | None]
    time: str
    body: dict[str, Any]
    canonical: bytes
    hash: bytes

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    def signing_message(self) -> bytes:
        return SIGNATURE_TAG + self.canonical


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A statement and its author's signature (64 bytes)."""

    statement: Statement
    signature: bytes

    @property
    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode("ascii")

    def envelope(self) -> dict[str, Any]:
        return {"signature": self.signature_b64, "statement": strict_loads(self.statement.canonical)}


@dataclass(frozen=True, slots=True)
class Leaf:
    """One log leaf: a signed statement and the time the log received it (UTC, microseconds, ``Z``)."""

    signed: SignedStatement
    received: str
    data: bytes

    @property
    def statement(self) -> Statement:
        return self.signed.statement


def statement_hash(canonical: bytes) -> bytes:
    """SHA-256(STATEMENT_HASH_TAG || canonical statement bytes)."""
    return hashlib.sha256(STATEMENT_HASH_TAG + canonical).digest()


CHAIN_TAG = b"trace-ledger/v1/chain\x00"
GENESIS_CHAIN = bytes(32)


def entry_chain_hash(previous: bytes, index: int, leaf_hash: bytes) -> bytes:
    """SHA-256(CHAIN_TAG || previous chain hash || uint64 big-endian index || leaf hash); entry 0 follows 32
    zero bytes."""
    return hashlib.sha256(CHAIN_TAG + previous + index.to_bytes(8, "big") + leaf_hash).digest()


def build_statement(*, ledger: str, type: str, author: str, key: str, seq: int, prev: str | None,
                    time: str, body: dict[str, Any], links: dict[str, str | None] | None = None) -> Statement:
    """Assemble and validate a statement from its fields; raises :class:`StatementError`."""
    fields = {"v": FORMAT_VERSION, "ledger": ledger, "type": type, "author": author, "key": key, "seq": seq,
              "prev": prev, "links": dict(links or {}), "time": time, "body": body}
    return parse_statement(fields)


def sign_statement(signer: Signer, statement: Statement) -> SignedStatement:
    """Sign ``statement`` with ``signer``; raises :class:`StatementError` if the statement names another
    author or key."""
    if statement.author != signer.author or statement.key != signer.key_id:
        raise StatementError(f"statement names {statement.author}/{statement.key}, signer is "
                             f"{signer.author}/{signer.key_id}", code="statement.signer_mismatch")
    return SignedStatement(statement, signer.sign(statement.signing_message()))


def parse_statement(fields: Any, *, max_bytes: int = DEFAULT_MAX_STATEMENT_BYTES,
                    canonical: bytes | None = None) -> Statement:
    """Validate a parsed statement object and compute its canonical bytes and hash.

    ``canonical`` may be passed when the caller already holds the canonical bytes of ``fields``.
    Raises :class:`StatementError` with the failing field named in the message.
    """
    if not isinstance(fields, dict):
        raise StatementError("statement must be a JSON object", code="statement.type")
    _check_members(fields, STATEMENT_FIELDS, "statement")
    if fields["v"] != FORMAT_VERSION or isinstance(fields["v"], bool):
        raise StatementError(f"v must be {FORMAT_VERSION}, found {fields['v']!r}", code="statement.version")
    ledger = _text(fields, "ledger", 200)
    type_ = _matching(fields, "type", _TYPE, "a dotted lower-case name such as trace.ship")
    author = _matching(fields, "author", _AUTHOR, "1-64 letters, digits, '.', '_', ':' or '-'")
    key = _matching(fields, "key", _KEY_ID, "16 lower-case hex digits")
    seq = fields["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise StatementError(f"seq must be an integer >= 1, found {seq!r}", code="statement.field")
    prev = fields["prev"]
    if seq == 1:
        if prev is not None:
            raise StatementError("prev must be null when seq is 1", code="statement.field")
    elif not isinstance(prev, str) or not HASH_HEX.fullmatch(prev):
        raise StatementError("prev must be the 64-hex-digit hash of the author's previous statement",
                             code="statement.field")
    links = _links(fields["links"])
    time = fields["time"]
    if not isinstance(time, str) or not _TIME.fullmatch(time) or _parse_time(time) is None:
        raise StatementError(f"time must be an RFC 3339 date-time with a UTC offset, found {time!r}",
                             code="statement.time")
    body = fields["body"]
    if not isinstance(body, dict):
        raise StatementError("body must be a JSON object", code="statement.field")
    if canonical is None:
        canonical = canonicalize(fields)
    if len(canonical) > max_bytes:
        raise StatementError(f"statement is {len(canonical)} bytes, the limit is {max_bytes}",
                             code="statement.too_large")
    return Statement(ledger, type_, author, key, seq, prev, links, time, body, canonical,
                     statement_hash(canonical))


def parse_envelope(envelope: Any, *, max_bytes: int = DEFAULT_MAX_STATEMENT_BYTES) -> SignedStatement:
    """Validate ``{"signature": base64, "statement": {...}}`` (already parsed); raises :class:`StatementError`.

    The signature is decoded, not verified: verification needs the key valid at the entry's index.
    """
    if not isinstance(envelope, dict):
        raise StatementError("signed statement must be a JSON object", code="statement.type")
    _check_members(envelope, ENVELOPE_FIELDS, "signed statement")
    statement = parse_statement(envelope["statement"], max_bytes=max_bytes)
    return SignedStatement(statement, decode_signature(envelope["signature"]))


def decode_signature(text: Any) -> bytes:
    """Decode a canonical standard-base64 64-byte signature; raises :class:`StatementError`."""
    if not isinstance(text, str) or len(text) != 88:
        raise StatementError(f"signature must be {SIGNATURE_SIZE} bytes in base64 (88 characters)",
                             code="statement.signature_encoding")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise StatementError("signature is not base64", code="statement.signature_encoding") from None
    if len(raw) != SIGNATURE_SIZE or base64.b64encode(raw).decode("ascii") != text:
        raise StatementError("signature is not canonical base64 of 64 bytes", code="statement.signature_encoding")
    return raw


def format_received(moment: datetime) -> str:
    """The leaf's receive time: UTC, always six fractional digits, suffix ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("receive time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_leaf(signed: SignedStatement, received: str) -> bytes:
    """The canonical leaf bytes. Built by concatenation: every member but the statement is plain ASCII without
    escapes and the members are already in RFC 8785 order, so the result equals canonicalize(leaf)."""
    if not _RECEIVED.fullmatch(received):
        raise StatementError(f"receive time {received!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ",
                             code="leaf.received")
    return b"".join((b'{"received":"', received.encode("ascii"), b'","signature":"',
                     signed.signature_b64.encode("ascii"), b'","statement":', signed.statement.canonical, b"}"))


def parse_leaf(data: bytes, *, max_bytes: int = DEFAULT_MAX_STATEMENT_BYTES) -> Leaf:
    """Parse leaf bytes strictly: they must be canonical, with exactly the leaf members.

    Raises :class:`StatementError` (``leaf.*`` or ``statement.*`` codes).
    """
    if len(data) > max_bytes + MAX_LEAF_OVERHEAD:
        raise StatementError(f"leaf is {len(data)} bytes, the limit is {max_bytes + MAX_LEAF_OVERHEAD}",
                             code="statement.too_large")
    # The leaf holds the statement one level down. The compiled fast path only saves time: when it cannot prove
    # the bytes canonical, strict_loads and the checks below decide, with the same result.
    proven = loads_proven_canonical(data, max_depth=MAX_DEPTH + 1)
    fields = strict_loads(data, max_depth=MAX_DEPTH + 1) if proven is None else proven
    if not isinstance(fields, dict):
        raise StatementError("leaf must be a JSON object", code="leaf.type")
    _check_members(fields, LEAF_FIELDS, "leaf")
    received = fields["received"]
    if not isinstance(received, str) or not _RECEIVED.fullmatch(received) or _parse_time(received) is None:
        raise StatementError(f"received must be YYYY-MM-DDTHH:MM:SS.ffffffZ, found {received!r}",
                             code="leaf.received")
    # Checks the nesting limit on the statement itself (the rest strict_loads has checked on these bytes; the
    # fast path has checked it all, the limit being one level more on the leaf).
    if proven is None:
        statement_bytes = canonicalize_loaded(fields["statement"], data)
    else:
        statement_bytes = canonicalize_proven(fields["statement"])
    statement = parse_statement(fields["statement"], max_bytes=max_bytes, canonical=statement_bytes)
    signature_text = fields["signature"]
    signed = SignedStatement(statement, decode_signature(signature_text))
    # The leaf as encode_leaf() builds it: the signature text is canonical base64 (decode_signature checked it)
    # and the receive time is plain ASCII.
    expected = b"".join((b'{"received":"', received.encode("ascii"), b'","signature":"',
                         signature_text.encode("ascii"), b'","statement":', statement_bytes, b"}"))
    if expected != data:
        raise StatementError(f"leaf is not in canonical form: expected {len(expected)} bytes starting "
                             f"{_first_difference(expected, data)}", code="leaf.not_canonical")
    return Leaf(signed, received, data)


def parse_time(text: str) -> datetime:
    """Parse a validated RFC 3339 time; raises :class:`StatementError` when it is not one."""
    moment = _parse_time(text) if _TIME.fullmatch(text) else None
    if moment is None:
        raise StatementError(f"not an RFC 3339 date-time with offset: {text!r}", code="statement.time")
    return moment


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _first_difference(expected: bytes, found: bytes) -> str:
    for position, (a, b) in enumerate(zip(expected, found, strict=False)):
        if a != b:
            return f"differing at byte {position}: expected 0x{a:02x}, found 0x{b:02x}"
    return f"differing in length: expected {len(expected)}, found {len(found)}"


def _check_members(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    if fields.keys() != allowed:
        missing = sorted(allowed - fields.keys())
        unknown = sorted(fields.keys() - allowed)
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown {', '.join(repr(name) for name in unknown)}")
        raise StatementError(f"{what}: {'; '.join(parts)}", code="statement.fields")


def _text(fields: dict[str, Any], name: str, limit: int) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value or len(value) > limit or _CONTROL.search(value):
        raise StatementError(f"{name} must be 1-{limit} characters without control characters",
                             code="statement.field")
    return value


def _matching(fields: dict[str, Any], name: str, pattern: re.Pattern[str], description: str) -> str:
    value = fields[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise StatementError(f"{name} must be {description}, found {value!r}", code="statement.field")
    return value


def _links(links: Any) -> dict[str, str | None]:
    if not isinstance(links, dict):
        raise StatementError("links must be an object mapping batch references to hashes",
                             code="statement.field")
    if len(links) > MAX_LINKS:
        raise StatementError(f"a statement may link at most {MAX_LINKS} batches, found {len(links)}",
                             code="statement.field")
    for ref, head in links.items():
        if not ref or len(ref) > 256 or _CONTROL.search(ref):
            raise StatementError(f"batch reference {ref[:40]!r} must be 1-256 characters without control "
                                 "characters", code="statement.field")
        if head is not None and (not isinstance(head, str) or not HASH_HEX.fullmatch(head)):
            raise StatementError(f"links[{ref!r}] must be null or a 64-hex-digit statement hash",
                                 code="statement.field")
    return links
