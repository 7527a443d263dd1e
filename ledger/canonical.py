"""Strict JSON parsing and RFC 8785 (JCS) canonicalisation: the one place where ledger bytes are made.

The ledger's JSON is the I-JSON subset of RFC 8785 restricted further: no floats at all (quantities are decimal
strings), integers within +/-(2**53 - 1), no duplicate member names, no lone surrogates, bounded nesting.
Within that subset RFC 8785 output equals Python's ``json.dumps(sort_keys=True, ensure_ascii=False,
separators=(",", ":"))`` except for member-name order when a name holds a character outside the Basic
Multilingual Plane (RFC 8785 sorts by UTF-16 code units, Python by code points); such documents fall back to
the reference implementation in the ``rfc8785`` package.

The Python code here is the authority on what is accepted and on every error. ``orjson`` (compiled) only
accelerates it: it serialises values made of exact JSON types, and :func:`loads_proven_canonical` parses bytes it
can prove canonical. Whenever ``orjson`` fails, or its result could differ from the Python path's (a character
outside the Basic Multilingual Plane, a float, an unsafe integer, a subclass, too deep a nesting), the Python path
runs instead, so the accepted bytes and the errors are the same with or without it
(``tests/ledger/test_canonical_fast.py`` compares the two).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
import rfc8785

from .errors import StatementError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32

_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def _refuse_float(text: str) -> Any:
    raise StatementError(f"numbers with a fraction or exponent are not allowed (found {text[:40]})",
                         code="statement.float")


def _refuse_constant(text: str) -> Any:
    raise StatementError(f"{text} is not JSON", code="statement.float")


def _checked_int(text: str) -> int:
    if len(text) > 17:
        raise StatementError(f"integer {text[:40]} is outside +/-(2**53 - 1)", code="statement.integer_range")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise StatementError(f"integer {text} is outside +/-(2**53 - 1)", code="statement.integer_range")
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise StatementError(f"duplicate member name {name!r}", code="statement.duplicate_key")
            seen.add(name)
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_pairs,
    parse_float=_refuse_float,
    parse_int=_checked_int,
    parse_constant=_refuse_constant,
)


def strict_loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text under the ledger's rules.

    Raises :class:`StatementError` (code ``statement.json``, ``statement.float``, ``statement.duplicate_key``,
    ``statement.integer_range``, ``statement.encoding`` or ``statement.depth``) for anything outside them.
    The size of ``data`` is the caller's to bound before calling. ``max_depth`` is enforced only when the text
    holds an escape (or is a non-ASCII ``str``): a caller that needs the limit must check it itself, as
    :func:`canonicalize` does.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StatementError(f"not UTF-8 at byte {exc.start}", code="statement.encoding") from None
    else:
        text = data
    try:
        value, end = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise StatementError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                             code="statement.json") from None
    except RecursionError:
        raise StatementError("JSON nested too deeply", code="statement.depth") from None
    if text[end:].strip(" \t\r\n"):
        raise StatementError(f"extra data after the JSON value at offset {end}", code="statement.json")
    if "\\u" in text or (text is data and not text.isascii()):
        _check_value(value, 0, max_depth)  # only an escape, or a str given as such, can carry a lone surrogate
    return value


def _check_value(value: Any, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise StatementError(f"JSON nested deeper than {max_depth} levels", code="statement.depth")
    kind = type(value)
    if kind is dict or kind is list:
        # Members of the exact scalar types are checked here rather than through a call each (the common case:
        # about twice as fast on a statement). Anything else, and members at the depth limit, take the general
        # path below, so the checks and their errors are the same either way.
        inline = depth < max_depth
        members: Iterable[tuple[Any, Any]] = value.items() if kind is dict else enumerate(value)
        for name, member in members:
            if kind is dict and (type(name) is not str or not name.isascii()):
                _check_string(name)
            member_kind = type(member)
            if inline and member_kind is str:
                if not member.isascii():
                    _check_string(member)
            elif inline and member_kind is int:
                if not -MAX_SAFE_INTEGER <= member <= MAX_SAFE_INTEGER:
                    raise StatementError(f"integer {member} is outside +/-(2**53 - 1)",
                                         code="statement.integer_range")
            elif not (inline and (member is None or member_kind is bool)):
                _check_value(member, depth + 1, max_depth)
    elif isinstance(value, dict):
        for name, member in value.items():
            _check_string(name)
            _check_value(member, depth + 1, max_depth)
    elif isinstance(value, list):
        for member in value:
            _check_value(member, depth + 1, max_depth)
    elif isinstance(value, str):
        _check_string(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise StatementError(f"integer {value} is outside +/-(2**53 - 1)", code="statement.integer_range")
    else:
        raise StatementError(f"{type(value).__name__} values are not allowed", code="statement.float")


def _check_string(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise StatementError("string holds a lone surrogate", code="statement.encoding") from None


def _is_plain(value: Any, depth: int, max_depth: int) -> bool:
    """True when ``value`` is built from exactly ``dict``, ``list``, ``str``, ``int`` within +/-(2**53 - 1),
    ``bool`` and ``None`` (no subclasses), with no member deeper than ``max_depth`` levels below the top.

    Such a value passes :func:`_check_value` unless a string holds a lone surrogate, which ``orjson`` refuses to
    serialise. Names of members are left to ``orjson``, which refuses any that is not an exact ``str``.
    """
    kind = type(value)
    if kind is dict:
        members: Iterable[Any] = value.values()
    elif kind is list:
        members = value
    else:
        return depth <= max_depth and (kind is str or kind is bool or value is None or
                                       (kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER))
    if depth >= max_depth:
        return depth == max_depth and not value
    for member in members:
        member_kind = type(member)
        if member_kind is str or member_kind is bool or member is None:
            continue
        if member_kind is int:
            if not -MAX_SAFE_INTEGER <= member <= MAX_SAFE_INTEGER:
                return False
        elif member_kind is dict or member_kind is list:
            if not _is_plain(member, depth + 1, max_depth):
                return False
        else:
            return False
    return True


def _has_astral(data: bytes) -> bool:
    """True when UTF-8 ``data`` holds a character outside the Basic Multilingual Plane (a 4-byte sequence, lead
    byte 0xF0-0xF4). Without one, member names sort the same by UTF-16 code units (RFC 8785) as by code points
    (``orjson`` and Python). Five byte searches cost less than one regular expression over the bytes."""
    return b"\xf0" in data or b"\xf1" in data or b"\xf2" in data or b"\xf3" in data or b"\xf4" in data


def _dumps_exact(value: Any) -> bytes | None:
    """``orjson``'s canonical serialisation of ``value``, a value that passed :func:`_is_plain` or came from
    :func:`strict_loads`; None when ``orjson`` refuses it or the result holds a character outside the Basic
    Multilingual Plane (whose member order ``orjson`` may get wrong).

    For such values ``orjson`` writes what :func:`_dumps` writes: the same member order (by code point, equal to
    UTF-16 order without astral characters), no whitespace, UTF-8 rather than escapes, and the same escapes for
    ``"``, ``\\`` and the control characters (``\\b \\t \\n \\f \\r``, otherwise lower-case ``\\u00xx``).
    """
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate, a name that is not an exact str, too deep
        return None
    return None if _has_astral(data) else data


def loads_proven_canonical(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of ``data`` when the compiled fast path proves ``data`` canonical; otherwise None.

    A value is returned only when ``data`` is exactly the canonical form of a value that obeys every rule of
    :func:`strict_loads` (nesting included, up to ``max_depth``): then ``strict_loads(data)`` returns an equal
    value and ``canonicalize`` of it gives ``data`` back. None means "not proven", never "refused": the caller
    must then decide with :func:`strict_loads` and :func:`canonicalize`, which also name the error. (The JSON
    text ``null`` is canonical but gives None too, which only sends it down that path.) Raises nothing.
    """
    if type(data) is not bytes or _has_astral(data):  # a bytearray or memoryview searches differently
        return None
    try:
        value = orjson.loads(data)  # refuses text that is not UTF-8, lone surrogates, a BOM, NaN
    except orjson.JSONDecodeError:
        return None
    if not _is_plain(value, 0, max_depth):  # floats, unsafe integers, excess depth: orjson would round-trip them
        return None
    # The re-serialisation equals data only if data has no whitespace, sorted members, no duplicate names (orjson
    # keeps the last one, so the output would be shorter), no needless escapes and every number in its shortest
    # form. Equal to data, it holds no astral character either.
    try:
        return value if orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == data else None
    except orjson.JSONEncodeError:
        return None


def canonicalize_proven(value: Any) -> bytes:
    """:func:`canonicalize` of ``value``, which must be what :func:`loads_proven_canonical` returned for some
    ``max_depth`` or a member of it (within the nesting limit the caller needs, which that call enforced).

    Such a value has already passed every check and its source held no astral character, so ``orjson``'s
    serialisation is the canonical form with no further test. Raises nothing for such a value.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonicalize(value: Any, *, max_depth: int = MAX_DEPTH) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    ``value`` is checked against the rules of :func:`strict_loads` (no floats, safe integers, no lone
    surrogates, no value nested deeper than ``max_depth`` levels below ``value``); raises :class:`StatementError`
    otherwise.
    """
    if _is_plain(value, 0, max_depth):
        data = _dumps_exact(value)
        if data is not None:
            return data
    _check_value(value, 0, max_depth)
    return _dumps(value)


def canonicalize_loaded(value: Any, source: bytes, *, max_depth: int = MAX_DEPTH) -> bytes:
    """:func:`canonicalize` of ``value``, which must be what ``strict_loads(source)`` (or
    :func:`loads_proven_canonical`) returned or a member of it.

    Same bytes and same errors as :func:`canonicalize`. The check of ``value`` is skipped only when it cannot
    fail: ``source`` is UTF-8 bytes without a ``\\u`` escape (so :func:`strict_loads` has already refused floats,
    unsafe integers and invalid text, and no string can hold a lone surrogate), and it holds at most
    ``max_depth`` opening brackets in all (so nothing in ``value`` is nested deeper than that).
    """
    if b"\\u" in source or source.count(b"{") + source.count(b"[") > max_depth:
        return canonicalize(value, max_depth=max_depth)
    # Both parsers make only exact dict, list, str, int, bool and None, so orjson's output is _dumps' output.
    data = _dumps_exact(value)
    return _dumps(value) if data is None else data


def _dumps(value: Any) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        data = text.encode("utf-8")
    except RecursionError:
        raise StatementError("JSON nested too deeply", code="statement.depth") from None
    except UnicodeEncodeError:
        raise StatementError("string holds a lone surrogate", code="statement.encoding") from None
    # A character outside the Basic Multilingual Plane is the only one whose UTF-8 form starts with 0xF0-0xF4.
    if len(data) == len(text) or not any(lead in data for lead in _ASTRAL_LEADS):
        return data
    return rfc8785.dumps(value)


def is_canonical(data: bytes) -> bool:
    """True when ``data`` parses under :func:`strict_loads` and is byte-identical to its canonical form.

    Raises :class:`StatementError` when ``data`` does not parse.
    """
    if loads_proven_canonical(data) is not None:
        return True
    return _dumps(strict_loads(data)) == data
