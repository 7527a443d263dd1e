"""Identifier rules (PRODUCT.md §3) against the shared vectors, worked cases, tampering and round-trip properties."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace.identifiers import (
    CSET_82,
    USCC_CHARSET,
    DigitalLink,
    DrugCode,
    IdentifierError,
    UsccKind,
    build_digital_link,
    build_gln_link,
    build_sscc_link,
    check_gs1_key,
    check_uscc,
    format_digital_link,
    gs1_check_digit,
    is_valid_gs1_key,
    is_valid_uscc,
    normalise_gtin,
    parse_digital_link,
    parse_drug_code,
    parse_drug_product_prefix,
    uscc_check_character,
    uscc_kind,
    uscc_problem,
    uscc_region,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ids"
USCC = json.loads((VECTORS / "uscc.json").read_text(encoding="utf-8"))
GS1 = json.loads((VECTORS / "gs1.json").read_text(encoding="utf-8"))
PROPERTY = settings(max_examples=300, deadline=None, database=None)

# Each USCC vector's `why`, as the error code and a pattern its message must match.
OUTSIDE = "is outside the code's character set"
USCC_REASONS = {
    "wrong check character": ("uscc.check_character", r"^wrong check character: expected 'G', found 'H'$"),
    "17 characters": ("uscc.length", r"must be 18 characters, found 17$"),
    "letter I " + OUTSIDE: ("uscc.character", f"^character 'I' at position 17 {OUTSIDE}"),
    "letter O " + OUTSIDE: ("uscc.character", f"^character 'O' at position 8 {OUTSIDE}"),
    "empty": ("uscc.empty", r"is empty$"),
}


@contextmanager
def _raises(code: str, pattern: str | None = None) -> Iterator[None]:
    """Expect an IdentifierError with this code and a message matching ``pattern``."""
    with pytest.raises(IdentifierError, match=pattern) as info:
        yield
    assert info.value.code == code, str(info.value)


# --- Unified social credit code ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", USCC["valid"])
def test_uscc_valid_vectors_pass(code: str) -> None:
    check_uscc(code)
    assert is_valid_uscc(code) and uscc_problem(code) is None
    assert uscc_check_character(code[:17]) == code[17]


@pytest.mark.parametrize("vector", USCC["invalid"], ids=lambda vector: vector["why"])
def test_uscc_invalid_vectors_fail_for_their_reason(vector: dict[str, str]) -> None:
    code, pattern = USCC_REASONS[vector["why"]]
    assert not is_valid_uscc(vector["code"])
    problem = uscc_problem(vector["code"])
    assert problem is not None and re.search(pattern, problem), problem
    with _raises(code, pattern):
        check_uscc(vector["code"])


def test_every_uscc_reason_is_covered() -> None:
    assert {vector["why"] for vector in USCC["invalid"]} == set(USCC_REASONS)


def test_real_world_code_failing_its_check_is_invalid_but_still_readable() -> None:
    code = USCC["real_world_check_failure"]["code"]
    assert code == "91350203M0001QAY9B"
    assert not is_valid_uscc(code)
    assert uscc_problem(code) == "wrong check character: expected '9', found 'B'"
    # An inspector's override still needs the region and the kind of the entity.
    assert uscc_region(code) == "350203"
    assert uscc_kind(code) == UsccKind("9", "1", "market regulation", "enterprise")


def test_uscc_worked_example_from_the_docs() -> None:
    # docs/identifiers.md walks through this sum.
    assert uscc_check_character("91350200MA2YJ1XR9") == "G"


def test_uscc_lower_case_is_refused_with_a_hint() -> None:
    with _raises("uscc.character", r"character 'g' at position 18 .* \(letters are upper case\)$"):
        check_uscc("91350200MA2YJ1XR9g")


def test_uscc_full_width_digit_is_named() -> None:
    assert uscc_problem("９1350200MA2YJ1XR9G") == (
        "character '９' (U+FF19) at position 1 is outside the code's character set " + USCC_CHARSET)


def test_uscc_too_long() -> None:
    assert uscc_problem("91350200MA2YJ1XR9G0") == "unified social credit code must be 18 characters, found 19"


def test_uscc_kind_of_cooperative_and_unnamed_authority() -> None:
    body = "93350200MA2YJ1XR9"
    assert uscc_kind(body + uscc_check_character(body)).entity_kind_name == "farmer cooperative"
    body = "Y1350200MA2YJ1XR9"
    assert uscc_kind(body + uscc_check_character(body)) == UsccKind("Y", "1", None, None)


def test_uscc_region_must_be_digits() -> None:
    with _raises("uscc.region", r"positions 3-8\) must be six digits, found '3502A0'"):
        uscc_region("913502A0MA2YJ1XR9G")


def test_uscc_check_character_refuses_a_wrong_body() -> None:
    with _raises("uscc.length", "^unified social credit code body must be 17 characters, found 18$"):
        uscc_check_character("91350200MA2YJ1XR9G")


_USCC_CHARS = st.sampled_from(USCC_CHARSET)


@PROPERTY
@given(st.text(_USCC_CHARS, min_size=17, max_size=17), st.integers(0, 17), _USCC_CHARS)
def test_uscc_detects_every_single_substitution(body: str, position: int, replacement: str) -> None:
    code = body + uscc_check_character(body)
    check_uscc(code)
    tampered = code[:position] + replacement + code[position + 1:]
    assert is_valid_uscc(tampered) == (tampered == code)


# --- GS1 keys ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", GS1["check_digit"], ids=lambda vector: vector["body"])
def test_gs1_check_digit_vectors(vector: dict[str, str]) -> None:
    assert gs1_check_digit(vector["body"]) == vector["check"]
    assert is_valid_gs1_key(vector["body"] + vector["check"])


@pytest.mark.parametrize("key", GS1["valid_keys"])
def test_gs1_valid_keys_pass_and_a_changed_last_digit_fails(key: str) -> None:
    check_gs1_key(key)
    wrong = str((int(key[-1]) + 1) % 10)
    with _raises("gs1.check_digit", f"^GS1 key check digit wrong: expected '{key[-1]}', found '{wrong}'$"):
        check_gs1_key(key[:-1] + wrong)


@pytest.mark.parametrize(("key", "code", "pattern"), [
    ("1234567", "gs1.length", "must be 8 or 12 or 13 or 14 or 18 digits, found 7"),
    ("1234567890123456789", "gs1.length", "found 19"),
    ("", "gs1.length", "found 0"),
    ("1234567890１28", "gs1.character", r"'１' \(U\+FF11\) at position 11 is not an ASCII digit"),
    ("12345678901 8", "gs1.character", "' ' at position 12"),
])
def test_gs1_key_refusals(key: str, code: str, pattern: str) -> None:
    assert not is_valid_gs1_key(key)
    with _raises(code, pattern):
        check_gs1_key(key)


def test_gs1_check_digit_needs_digits() -> None:
    with _raises("gs1.empty"):
        gs1_check_digit("")
    with _raises("gs1.character", "'x' at position 3"):
        gs1_check_digit("12x")


@pytest.mark.parametrize(("gtin", "gtin14"), [
    ("02345673", "00000002345673"),
    ("416000336108", "00416000336108"),
    ("1234567890128", "01234567890128"),
    ("10614141073464", "10614141073464"),
])
def test_normalise_gtin_pads_to_fourteen(gtin: str, gtin14: str) -> None:
    assert normalise_gtin(gtin) == gtin14
    assert is_valid_gs1_key(gtin14)


@pytest.mark.parametrize(("gtin", "code", "pattern"), [
    ("123456789012345675", "gtin.length", "^GTIN must be 8 or 12 or 13 or 14 digits, found 18$"),
    ("1234567890127", "gtin.check_digit", "^GTIN check digit wrong: expected '8', found '7'$"),
    ("123456789012８", "gtin.character", "position 13 is not an ASCII digit"),
])
def test_normalise_gtin_refusals(gtin: str, code: str, pattern: str) -> None:
    with _raises(code, pattern):
        normalise_gtin(gtin)


@PROPERTY
@given(st.sampled_from([7, 11, 12, 13, 17]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
       st.data())
def test_gs1_detects_every_single_digit_substitution(body: str, data: st.DataObject) -> None:
    key = body + gs1_check_digit(body)
    check_gs1_key(key)
    position = data.draw(st.integers(0, len(key) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    tampered = key[:position] + digit + key[position + 1:]
    assert is_valid_gs1_key(tampered) == (tampered == key)


# --- GS1 Digital Link ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", GS1["digital_link"]["valid"])
def test_digital_link_valid_vectors_parse_and_are_canonical(uri: str) -> None:
    link = parse_digital_link(uri)
    assert format_digital_link(link) == uri


@pytest.mark.parametrize("vector", GS1["digital_link"]["invalid"], ids=lambda vector: vector["why"])
def test_digital_link_invalid_vectors_fail_for_their_reason(vector: dict[str, str]) -> None:
    with pytest.raises(IdentifierError) as info:
        parse_digital_link(vector["uri"])
    assert vector["why"] in str(info.value)


def test_digital_link_fields() -> None:
    link = parse_digital_link("https://ID.GS1.org/01/09521234543213/22/2A/10/ABC%26%2B123/21/S%2F1"
                              "?17=261200&3103=000500&utm_source=box&linkType=gs1:traceability#top")
    assert link == DigitalLink(host="id.gs1.org", key_ai="01", key="09521234543213", cpv="2A", lot="ABC&+123",
                               serial="S/1", expiry=date(2026, 12, 31), link_type="gs1:traceability",
                               other_attributes=(("3103", "000500"), ("utm_source", "box")))
    assert link.gtin == "09521234543213"
    assert format_digital_link(link) == ("https://id.gs1.org/01/09521234543213/22/2A/10/ABC%26%2B123/21/S%2F1"
                                         "?17=261231&3103=000500&utm_source=box&linkType=gs1%3Atraceability")
    assert parse_digital_link("https://example.com:8443/414/9521234543213").gtin is None


@pytest.mark.parametrize(("uri", "code", "pattern"), [
    ("http://example.com/01/09521234543213", "digital_link.scheme", "must be https, found 'http'"),
    ("https://user@example.com/01/09521234543213", "digital_link.host", "user information"),
    ("https://exa_mple.com/01/09521234543213", "digital_link.host", "'exa_mple.com' is not a DNS name"),
    ("https://example.com", "digital_link.path", "path is empty"),
    ("https://example.com/01/09521234543213/", "digital_link.path", "empty segment"),
    ("https://example.com/01/09521234543213/10", "digital_link.path", "AI '10' in the path has no value"),
    ("https://example.com/02/09521234543213", "digital_link.unknown_ai", "unknown primary key AI '02'"),
    ("https://example.com/01/09521234543213/99/X", "digital_link.unknown_ai", "unknown AI '99' in the path"),
    ("https://example.com/01/09521234543213/01/09521234543213", "digital_link.unknown_ai", "unknown AI '01'"),
    ("https://example.com/00/106141412345678908/10/L1", "digital_link.qualifier",
     r"^lot \(10\) is not a qualifier of SSCC \(00\)$"),
    ("https://example.com/01/09521234543213/10/L1/22/C1", "digital_link.order",
     r"cpv \(22\) must come before lot \(10\)"),
    ("https://example.com/01/09521234543213/10/L1/10/L2", "digital_link.duplicate",
     r"^duplicate qualifier: lot \(10\) appears twice$"),
    ("https://example.com/01/9521234543213", "gtin.length", "GTIN must be 14 digits in a Digital Link path, found 13"),
    ("https://example.com/00/10614141234567890", "sscc.length", "SSCC must be 18 digits"),
    ("https://example.com/00/106141412345678907", "sscc.check_digit", "expected '8', found '7'"),
    ("https://example.com/414/9521234543210", "gln.check_digit", "GLN check digit wrong"),
    ("https://example.com/01/0952123454321X", "gtin.character", "'X' at position 14 is not an ASCII digit"),
    ("https://example.com/01/09521234543213/10/" + "A" * 21, "digital_link.value_length",
     r"^lot \(10\) is 21 characters after percent-decoding; at most 20 are allowed$"),
    ("https://example.com/01/09521234543213/21/" + "%41" * 21, "digital_link.value_length",
     r"serial \(21\) is 21 characters"),
    ("https://example.com/01/09521234543213/10/A~B", "digital_link.value_character",
     r"lot \(10\): character '~' at position 2 is outside GS1 AI encodable character set 82"),
    ("https://example.com/01/09521234543213/21/A%20B", "digital_link.value_character", "' ' at position 2"),
    ("https://example.com/01/09521234543213/10/%C3%A9", "digital_link.value_character", r"'é' \(U\+00E9\)"),
    ("https://example.com/01/09521234543213/10/%FF", "digital_link.percent_encoding", "not UTF-8"),
    ("https://example.com/01/09521234543213/10/A%4", "digital_link.percent_encoding",
     "'%' at position 2 is not followed by two hex digits"),
    ("https://example.com/01/09521234543213/10/A B", "digital_link.percent_encoding",
     "' ' at position 43 must be percent-encoded"),
    ("https://example.com/01/0952123454\n3213", "digital_link.percent_encoding", r"'\\n' \(U\+000A\)"),
    ("https://example.com/01/09521234543213/10/A<B", "digital_link.percent_encoding", "'<' at position 2"),
    ("https://example.com/01/09521234543213/10/", "digital_link.path", "empty segment"),
    ("https://example.com/01/09521234543213?17=261332", "digital_link.date", "month 13 is not 01-12"),
    ("https://example.com/01/09521234543213?17=250229", "digital_link.date", "day 29 is past the month's last day 28"),
    ("https://example.com/01/09521234543213?17=2612", "digital_link.date", "six digits YYMMDD, found '2612'"),
    ("https://example.com/01/09521234543213?17=261231&17=261230", "digital_link.duplicate",
     "duplicate query attribute '17'"),
    ("https://example.com/01/09521234543213?10=L1", "digital_link.query", "belongs in the path"),
    ("https://example.com/01/09521234543213?17", "digital_link.query", "'17' is not name=value"),
    ("https://example.com/01/09521234543213?linkType=gs1%20pip", "digital_link.link_type", "'gs1 pip'"),
])
def test_digital_link_refusals(uri: str, code: str, pattern: str) -> None:
    with _raises(code, pattern):
        parse_digital_link(uri)


def test_leap_day_and_month_end_expiry() -> None:
    assert parse_digital_link("https://example.com/01/09521234543213?17=280229").expiry == date(2028, 2, 29)
    assert parse_digital_link("https://example.com/01/09521234543213?17=280200").expiry == date(2028, 2, 29)


def test_build_digital_link_is_canonical() -> None:
    uri = build_digital_link("Example.COM", "9521234543213", cpv="2A", lot="L1/2", serial="S&1",
                             expiry=date(2026, 12, 31), link_type="gs1:pip")
    assert uri == ("https://example.com/01/09521234543213/22/2A/10/L1%2F2/21/S%261"
                   "?17=261231&linkType=gs1%3Apip")
    assert parse_digital_link(uri) == DigitalLink(host="example.com", key_ai="01", key="09521234543213", cpv="2A",
                                                  lot="L1/2", serial="S&1", expiry=date(2026, 12, 31),
                                                  link_type="gs1:pip")


def test_build_refuses_what_parse_refuses() -> None:
    with _raises("digital_link.value_length", r"lot \(10\) is 21 characters"):
        build_digital_link("example.com", "9521234543213", lot="L" * 21)
    with _raises("gtin.check_digit"):
        build_digital_link("example.com", "9521234543210")
    with _raises("digital_link.date", "outside 2000-2099"):
        build_digital_link("example.com", "9521234543213", expiry=date(2100, 1, 1))
    with _raises("digital_link.host", "'example.com/evil' is not a DNS name"):
        build_digital_link("example.com/evil", "9521234543213")
    with _raises("digital_link.host", "must be lower case"):
        format_digital_link(DigitalLink(host="Example.com", key_ai="01", key="09521234543213"))
    with _raises("digital_link.query", "has its own field"):
        format_digital_link(DigitalLink(host="example.com", key_ai="01", key="09521234543213",
                                        other_attributes=(("17", "261231"),)))
    with _raises("digital_link.value_empty", r"^serial \(21\) is empty$"):
        build_digital_link("example.com", "9521234543213", serial="")
    with _raises("digital_link.value_character", r"^lot \(10\): character ' ' at position 2"):
        build_digital_link("example.com", "9521234543213", lot="L 1")


def test_build_sscc_and_gln_links() -> None:
    assert build_sscc_link("example.com", "106141412345678908") == "https://example.com/00/106141412345678908"
    assert build_gln_link("example.com", "9521234543213", link_type="linkset") == (
        "https://example.com/414/9521234543213?linkType=linkset")
    with _raises("sscc.length", "SSCC must be 18 digits in a Digital Link path, found 14"):
        build_sscc_link("example.com", "09521234543213")
    with _raises("gln.check_digit"):
        build_gln_link("example.com", "9521234543210")


def test_build_digital_link_lot_with_allowed_but_reserved_characters() -> None:
    lot = "A!\"%&'()*+,-./:;<=>?_z"[:20]
    uri = build_digital_link("example.com", "09521234543213", lot=lot)
    assert parse_digital_link(uri).lot == lot
    assert "/10/A%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F" in uri


def _gtins() -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=13, max_size=13).map(lambda body: body + gs1_check_digit(body))


_CSET82_VALUES = st.text(st.sampled_from(sorted(CSET_82)), min_size=1, max_size=20)
_HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}(:[0-9]{1,5})?", fullmatch=True)
_GTIN_LINKS = st.builds(
    DigitalLink, host=_HOSTS, key_ai=st.just("01"), key=_gtins(), cpv=st.none() | _CSET82_VALUES,
    lot=st.none() | _CSET82_VALUES, serial=st.none() | _CSET82_VALUES,
    expiry=st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    link_type=st.none() | st.sampled_from(["gs1:pip", "gs1:traceability", "gs1:recallStatus", "gs1:epcis", "linkset"]),
    other_attributes=st.lists(st.tuples(st.sampled_from(["11", "3103", "utm_source"]), st.text(min_size=0, max_size=8)),
                              max_size=3, unique_by=lambda pair: pair[0]).map(tuple))


@PROPERTY
@given(_GTIN_LINKS)
def test_digital_link_round_trip(link: DigitalLink) -> None:
    uri = format_digital_link(link)
    assert parse_digital_link(uri) == link
    assert format_digital_link(parse_digital_link(uri)) == uri


@PROPERTY
@given(_HOSTS, st.text("0123456789", min_size=17, max_size=17))
def test_sscc_link_round_trip(host: str, body: str) -> None:
    sscc = body + gs1_check_digit(body)
    assert parse_digital_link(build_sscc_link(host, sscc)) == DigitalLink(host=host, key_ai="00", key=sscc)


@PROPERTY
@given(_HOSTS, st.sampled_from([7, 11, 12, 13]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
       st.none() | _CSET82_VALUES, st.none() | _CSET82_VALUES)
def test_build_digital_link_round_trip(host: str, body: str, lot: str | None, serial: str | None) -> None:
    gtin = body + gs1_check_digit(body)
    link = parse_digital_link(build_digital_link(host, gtin, lot=lot, serial=serial))
    assert (link.gtin, link.lot, link.serial) == (normalise_gtin(gtin), lot, serial)


# --- Drug traceability code ----------------------------------------------------------------------------------

def test_drug_code_splits_into_product_prefix_and_serial() -> None:
    assert parse_drug_code("81234560123456789012") == DrugCode("81234560123456789012", "8123456", "0123456789012")
    assert parse_drug_product_prefix("8123456") == "8123456"


@pytest.mark.parametrize(("code", "error", "pattern"), [
    ("8123456012345678901", "drug_code.length", "^drug traceability code must be 20 digits, found 19$"),
    ("", "drug_code.length", "found 0"),
    ("81234560123456789O12", "drug_code.character", "'O' at position 18 is not an ASCII digit"),
    ("8123 4560 1234 5678 9012", "drug_code.character", "' ' at position 5"),
])
def test_drug_code_refusals(code: str, error: str, pattern: str) -> None:
    with _raises(error, pattern):
        parse_drug_code(code)


@pytest.mark.parametrize(("prefix", "error"), [("812345", "drug_prefix.length"), ("812345６", "drug_prefix.character")])
def test_drug_product_prefix_refusals(prefix: str, error: str) -> None:
    with _raises(error):
        parse_drug_product_prefix(prefix)


@PROPERTY
@given(st.text("0123456789", min_size=20, max_size=20))
def test_drug_code_prefix_matches_the_stored_product_prefix(code: str) -> None:
    parsed = parse_drug_code(code)
    assert parsed.product_prefix + parsed.serial == code
    assert parse_drug_product_prefix(parsed.product_prefix) == code[:7]


def test_docs_worked_examples() -> None:
    # docs/identifiers.md walks through these computations.
    assert gs1_check_digit("0952123454321") == "3"
    assert build_digital_link("Example.COM", "9521234543213", lot="ABC&+123", expiry=date(2026, 12, 31)) == (
        "https://example.com/01/09521234543213/10/ABC%26%2B123?17=261231")
