"""The compiled fast path of the canonical check (``orjson``) against the Python path, which is the authority.

``loads_proven_canonical`` may only ever say "canonical" where the Python path says so too, with the same value;
``canonicalize`` and ``parse_leaf`` must give the same bytes, values and errors whether or not the fast path
decides. The reference verdicts below use only the Python path (``strict_loads``, ``_check_value``, ``_dumps``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ledger.statements
from ledger.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    _check_value,
    _dumps,
    canonicalize,
    is_canonical,
    loads_proven_canonical,
    strict_loads,
)
from ledger.errors import LedgerError, StatementError
from ledger.keys import Signer
from ledger.statements import build_statement, encode_leaf, parse_leaf, sign_statement

# Strings that the two serialisers could plausibly write differently: every control character, DEL, '/', quote
# and backslash, the JavaScript line separators, a BOM, non-characters, astral characters and lone surrogates.
_NASTY = ["\x00", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", "\x7f", "/", '"', "\\", "\u2028",
          "\u2029", "\ufeff", "\ufffe", "\uffff", "\u00e9", "\u4e2d", "\U0001f600", "\U0010ffff", "\ud800", "\udfff",
          "\uff5e", "</script>", ""]
_char = (st.characters(codec="utf-8") | st.sampled_from([char for char in _NASTY if len(char) == 1])
         | st.characters(min_codepoint=0xd800, max_codepoint=0xdfff))
_text = st.text(alphabet=_char, max_size=8) | st.sampled_from(_NASTY)
_number = (st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
           | st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1,
                              2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, 0])
           | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0, 1.0, 1e16, 1.5]))
_json = st.recursive(
    st.none() | st.booleans() | _number | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=24,
)


def reference_value(data: bytes, max_depth: int) -> tuple[str, Any]:
    """The Python path's verdict on ``data``: ("canonical", value), ("other", value) or ("error", code)."""
    try:
        value = strict_loads(data, max_depth=max_depth)
        _check_value(value, 0, max_depth)
        return ("canonical" if _dumps(value) == data else "other"), value
    except StatementError as exc:
        return "error", exc.code


def reference_canonicalize(value: Any, max_depth: int = MAX_DEPTH) -> tuple[str, Any]:
    try:
        _check_value(value, 0, max_depth)
        return "bytes", _dumps(value)
    except (StatementError, AttributeError, TypeError) as exc:
        return "error", (type(exc).__name__, str(exc), getattr(exc, "code", None))


def outcome(function: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "bytes", function()
    except (StatementError, AttributeError, TypeError) as exc:
        return "error", (type(exc).__name__, str(exc), getattr(exc, "code", None))


def assert_fast_agrees(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    verdict, value = reference_value(data, max_depth)
    proven = loads_proven_canonical(data, max_depth=max_depth)
    if proven is not None:
        assert verdict == "canonical", data
        assert repr(proven) == repr(value)  # repr: True and 1 compare equal, but are not the same JSON
    elif verdict == "canonical" and value is not None:
        # Not proven although canonical: only characters outside the Basic Multilingual Plane may cause that.
        assert any(ord(char) > 0xFFFF for char in data.decode("utf-8")), data
    if verdict != "error":
        assert is_canonical(data) == (verdict == "canonical")


def renderings(value: Any) -> list[bytes]:
    """``value`` written canonically and in the ways a sender might write it instead."""
    out = []
    for ensure_ascii in (False, True):
        for sort_keys in (False, True):
            for separators in ((",", ":"), (", ", ": ")):
                try:
                    out.append(json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=sort_keys,
                                          separators=separators).encode("utf-8", "surrogatepass"))
                except (TypeError, ValueError):
                    pass
    try:
        out.append(canonicalize(value))
    except StatementError:
        pass
    return out


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_fast_verdict_equals_the_python_verdict_on_random_documents(value: Any) -> None:
    for data in renderings(value):
        for max_depth in (MAX_DEPTH, 2, 0):
            assert_fast_agrees(data, max_depth)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_text, _json, min_size=1, max_size=4), st.data())
def test_duplicate_names_and_extra_whitespace_are_never_proven(value: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(value)))
    text = canonicalize_or_none(value)
    assume(text is not None)
    member = json.dumps({name: value[name]}, ensure_ascii=False, separators=(",", ":"))[1:-1]
    for variant in (text[:-1] + ("," + member + "}").encode(),  # a duplicate name, same value
                    b"{" + member.encode() + b"," + text[1:],   # the duplicate first
                    b" " + text, text + b" ", text + b"\n", b"\xef\xbb\xbf" + text):
        assert loads_proven_canonical(variant) is None
        assert_fast_agrees(variant)


def canonicalize_or_none(value: Any) -> bytes | None:
    try:
        return canonicalize(value)
    except StatementError:
        return None


@pytest.mark.parametrize("data", [
    b'{"a":1}', b'{"a":1.0}', b'{"a":1.5}', b'{"a":1e3}', b'{"a":100000.0}', b'[9007199254740991]',
    b'[9007199254740992]', b'[-9007199254740991]', b'[-9007199254740992]', b'[9223372036854775807]',
    b'[9223372036854775808]', b'[18446744073709551615]', b'[18446744073709551616]', b'[-0]', b'[0]', b'[01]',
    b'{"a":1,"a":1}', b'{"a":1,"a":2}', b'{"b":1,"a":2}', b'{"a":NaN}', b'{"a":Infinity}', b'[1e400]',
    b'["\\ud800"]', b'["\\udfff"]', b'["\\ud83d\\ude00"]', b'["\xf0\x9f\x98\x80"]',
    b'{"\xef\xbd\x9e":1,"\xf0\x9f\x98\x80":2}',
    b'["\\u0000"]', b'["\\u001f"]', b'["\\u001F"]', b'["\\b\\t\\n\\f\\r"]', b'["\\u0008"]', b'["\\/"]', b'["/"]',
    b'["\x7f"]', b'["\\u007f"]', b'["\xe2\x80\xa8"]', b'["\\u2028"]', b'["\\u00e9"]', b'["\xc3\xa9"]',
    b'["\xff"]', b'["\xc0\xaf"]', b'["\xed\xa0\x80"]', b'\xef\xbb\xbf[]', b' []', b'[] ', b'[]\n', b'[ ]',
    b'[true]', b'[True]', b'null', b'true', b'1', b'"x"', b'{}', b'[]', b'', b'[', b'{"a":}', b'["a"]x',
    b'[' * 33 + b']' * 33, b'[' * 34 + b']' * 34, b'[' * 33 + b'1' + b']' * 33, b'[' * 32 + b'1' + b']' * 32,
    b'{"a":' * 33 + b'{}' + b'}' * 33, b'[' * 2000 + b']' * 2000,
])
def test_hand_written_edge_cases(data: bytes) -> None:
    for max_depth in (MAX_DEPTH, MAX_DEPTH + 1, 1, 0):
        assert_fast_agrees(data, max_depth)


def test_the_fast_path_proves_ordinary_documents() -> None:
    # Without this the agreement tests above would pass with a fast path that never decides.
    assert loads_proven_canonical(b'{"a":[1,true,null,"\xe4\xb8\xad\\n"],"b":{}}') == \
        {"a": [1, True, None, "\u4e2d\n"], "b": {}}
    assert loads_proven_canonical(_leaf()) is not None


def test_only_bytes_are_tried() -> None:
    # Sorted by code point, which RFC 8785 does not allow here: a memoryview must not slip past the astral check.
    data = '{"\uff5e":2,"\U0001f600":1}'.encode()
    assert not is_canonical(data)
    assert loads_proven_canonical(data) is None
    assert loads_proven_canonical(memoryview(data)) is None  # type: ignore[arg-type]
    assert loads_proven_canonical(bytearray(b"[1]")) is None  # type: ignore[arg-type]


def test_every_basic_plane_character_is_written_as_python_writes_it() -> None:
    characters = [chr(code) for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF]
    for start in range(0, len(characters), 4096):
        chunk = characters[start:start + 4096]
        value = {char: char for char in chunk}
        assert canonicalize(value) == _dumps(value)
        assert loads_proven_canonical(_dumps(value)) == value


class _Number(IntEnum):
    ONE = 1


class _Text(str):
    pass


class _Map(dict):  # type: ignore[type-arg]
    def items(self):  # type: ignore[no-untyped-def]
        return reversed(list(super().items()))


@settings(max_examples=1500, deadline=None)
@given(_json)
def test_canonicalize_equals_the_python_path_on_random_values(value: Any) -> None:
    for max_depth in (MAX_DEPTH, 1):
        assert outcome(partial(canonicalize, value, max_depth=max_depth)) == \
            reference_canonicalize(value, max_depth)


@pytest.mark.parametrize("value", [
    {"a": 0.5}, {"a": 2**53}, {"a": -(2**53)}, {"a": 2**64}, {"a": b"x"}, {"a": (1, 2)}, {"a": "\ud800"},
    {"\ud800": 1}, {1: 2}, {None: 1}, {_Text("b"): 1, "a": 2}, {"a": _Text("x")}, {"a": _Number.ONE},
    _Map(b=1, a=2), [_Map(b=1)], {"a": datetime(2026, 1, 1, tzinfo=UTC)}, {"\U0001f600": 1, "\uff5e": 2},
    {"a": float("nan")}, [[[[]]]], [[[[1]]]], {"a": {"b": {}}},
])
def test_canonicalize_of_unusual_values_equals_the_python_path(value: Any) -> None:
    for max_depth in (MAX_DEPTH, 3, 2):
        assert outcome(partial(canonicalize, value, max_depth=max_depth)) == \
            reference_canonicalize(value, max_depth)


# --- parse_leaf with and without the fast path ------------------------------------------------------------------

def _leaf(body: dict[str, Any] | None = None) -> bytes:
    signer = Signer.from_seed("acme", bytes([7]) * 32)
    statement = build_statement(ledger="test-ledger", type="test.event", author="acme", key=signer.key_id, seq=1,
                                prev=None, time="2026-01-02T03:04:05Z", links={"lot-1": None},
                                body=body or {"name": "\u4e2d\u6587 /\\\"", "qty": "1.5", "n": 3, "ok": True})
    return encode_leaf(sign_statement(signer, statement), "2026-01-02T03:04:05.000001Z")


def parse_outcome(data: bytes) -> tuple[str, Any]:
    try:
        leaf = parse_leaf(data)
    except LedgerError as exc:
        return "error", (exc.code, exc.message)
    return "leaf", repr(leaf)


def mutations(data: bytes, rng: random.Random) -> list[bytes]:
    out = [data]
    for _ in range(60):
        position = rng.randrange(len(data))
        out.append(data[:position] + bytes([data[position] ^ (1 << rng.randrange(8))]) + data[position + 1:])
        out.append(data[:position] + b" " + data[position:])
        out.append(data[:position] + data[position + 1:])
    out += [data.replace(b'"n":3', b'"n":3.0'), data.replace(b'"n":3', b'"n":9007199254740992'),
            data.replace(b'"n":3', b'"n":3,"n":3'), data.replace(b'"ok":true', b'"ok":true,"ok":true'),
            data.replace(b'"received"', b'"received":"x","received"'), data.replace(b"/", b"\\/"),
            data.replace(b'"n":3', b'"n":"\\u0033"'), data.replace(b"\xe4\xb8\xad", b"\\u4e2d"),
            data.replace(b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80"), data.replace(b'"n":3', b'"n":"\\ud800"'),
            data.replace(b'"n":3', b'"n":' + b"[" * 31 + b"]" * 31), data.replace(b'"n":3', b'"n":' + b"[" * 32
                                                                                + b"]" * 32)]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_parse_leaf_gives_the_same_result_without_the_fast_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    usable = [text for text in _NASTY if text and not 0xD800 <= ord(text[0]) <= 0xDFFF]
    body = {"name": "".join(rng.choice(usable) for _ in range(6)), "qty": "2", "n": 3, "ok": True}
    candidates = mutations(_leaf(), rng) + mutations(_leaf(body), rng)
    with_fast = [parse_outcome(data) for data in candidates]
    monkeypatch.setattr(ledger.statements, "loads_proven_canonical", lambda data, *, max_depth: None)
    without_fast = [parse_outcome(data) for data in candidates]
    assert with_fast == without_fast
    assert any(kind == "leaf" for kind, _ in with_fast) and any(kind == "error" for kind, _ in with_fast)
