"""Strict parsing and RFC 8785 canonicalisation, checked against the reference implementation."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonicalize, is_canonical, strict_loads
from ledger.errors import StatementError

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_canonical_bytes_equal_the_rfc8785_reference(value: object) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)
    assert strict_loads(canonicalize(value)) == value
    assert is_canonical(canonicalize(value))


def test_member_names_sort_by_utf16_code_units() -> None:
    # U+FF5E sorts after U+1F600 in UTF-16 (0xFF5E > 0xD83D) but before it by code point.
    value = {"\uff5e": 1, "\U0001f600": 2, "a": 3}
    assert canonicalize(value) == '{"a":3,"\U0001f600":2,"\uff5e":1}'.encode()


@pytest.mark.parametrize("text,code", [
    ('{"a":1.5}', "statement.float"),
    ('{"a":1e3}', "statement.float"),
    ('{"a":NaN}', "statement.float"),
    ('{"a":Infinity}', "statement.float"),
    ('{"a":9007199254740992}', "statement.integer_range"),
    ('{"a":-99999999999999999999}', "statement.integer_range"),
    ('{"a":1,"a":2}', "statement.duplicate_key"),
    ('{"a":"\\ud800"}', "statement.encoding"),
    ('{"\\udfff":1}', "statement.encoding"),
    ('{"a":1} x', "statement.json"),
    ('{"a":', "statement.json"),
    ("[" * 5000 + "]" * 5000, "statement.depth"),
])
def test_strict_loads_refuses(text: str, code: str) -> None:
    with pytest.raises(StatementError) as error:
        strict_loads(text.encode())
    assert error.value.code == code


def test_strict_loads_refuses_invalid_utf8() -> None:
    with pytest.raises(StatementError) as error:
        strict_loads(b'{"a":"\xff"}')
    assert error.value.code == "statement.encoding"


def test_values_built_in_code_are_checked_too() -> None:
    for value, code in [({"a": 0.5}, "statement.float"), ({"a": 2**60}, "statement.integer_range"),
                        ({"a": b"x"}, "statement.float"), ({"a": "\ud800"}, "statement.encoding")]:
        with pytest.raises(StatementError) as error:
            canonicalize(value)
        assert error.value.code == code


def test_non_canonical_text_is_recognised() -> None:
    assert is_canonical(b'{"a":1,"b":[true,null,"\xe4\xb8\xad"]}')
    assert not is_canonical(b'{"b":1,"a":2}')
    assert not is_canonical(b'{"a": 1}')
    assert not is_canonical(json.dumps({"a": "中"}).encode())  # \u-escaped non-ASCII
