"""Query parameters shared by list endpoints: stable cursors and bounded page sizes; and the ``latest=K`` of a
batch's proof bundle, which the API and the resolver read alike.

A cursor is the sort key of the last item of a page, base64url-encoded JSON: opaque to clients, stable while rows
are appended (lists are ordered by immutable keys), and checked on the way in.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from flask import request

from ledger import LedgerError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The most events a suffix bundle (``latest=K``, docs/ledger-format.md §11.2) may be asked for; the whole history
#: has no bound.
MAX_LATEST = 10_000


def encode_cursor(*values: str | int) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def cursor_arg(*kinds: type) -> tuple[Any, ...] | None:
    """The decoded ``?cursor=`` (a tuple of ``kinds``), or None; raises ``request.cursor``."""
    text = request.args.get("cursor")
    if text is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != len(kinds) or \
            not all(type(value) is kind for value, kind in zip(values, kinds, strict=True)):
        raise LedgerError("cursor is not one this API issued; start again without it", code="request.cursor")
    return tuple(values)


def int_arg(name: str) -> int:
    """The required non-negative integer query parameter ``name``; raises ``request.parameter``. ASCII digits
    only: ``"²".isdigit()`` is true and ``int("²")`` fails."""
    raw = request.args.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise LedgerError(f"query parameter {name} must be a non-negative integer", code="request.parameter")
    return int(raw)


def latest_arg(raw: str | None) -> int | None:
    """The ``latest=K`` of a batch bundle request as the query gives it (``?latest=`` of the API, ``&latest=`` of
    a Digital Link): None when absent, else K, 1 to :data:`MAX_LATEST` in ASCII digits; raises
    ``request.latest``."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_LATEST:
        raise LedgerError(f"latest must be an integer from 1 to {MAX_LATEST}", code="request.latest")
    return int(raw)


def page_cursor(rows: list[dict[str, Any]], key: str, limit: int) -> str | None:
    """The cursor after a page: the last row's ``key`` when the page is full, else None (the last page)."""
    return encode_cursor(rows[-1][key]) if len(rows) == limit else None


def limit_arg(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= maximum:
        raise LedgerError(f"limit must be an integer from 1 to {maximum}", code="request.parameter")
    return int(raw)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text_arg(name: str, maximum: int = 64, choices: frozenset[str] | None = None,
             pattern: str | None = None) -> str | None:
    """Query parameter ``name``: 1 to ``maximum`` characters without control characters (PostgreSQL text cannot
    hold NUL), one of ``choices`` or matching ``pattern`` (a regular expression, described in the error) when
    given; ``request.parameter`` otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if _CONTROL.search(raw):
        raise LedgerError(f"query parameter {name} must not contain control characters", code="request.parameter")
    if not 0 < len(raw) <= maximum or (choices is not None and raw not in choices) or \
            (pattern is not None and not re.fullmatch(pattern, raw)):
        allowed = f" one of {', '.join(sorted(choices))}" if choices else \
            f" of the form {pattern}" if pattern else f" 1 to {maximum} characters"
        raise LedgerError(f"query parameter {name} must be{allowed}", code="request.parameter")
    return raw
