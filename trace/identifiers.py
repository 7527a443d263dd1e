"""Identifiers the service accepts: unified social credit codes, GS1 keys, GS1 Digital Link URIs and drug
traceability codes (PRODUCT.md §3; the rules and a worked example of each check are in docs/identifiers.md).

Pure functions, no database and no clock. Every refusal is an :class:`IdentifierError` (a ``ValueError``) with a
stable ``code`` and a message that says what was expected and what was found. Only ASCII digits count as digits:
full-width ``０``–``９`` and other Unicode digits are refused by name.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit


class IdentifierError(ValueError):
    """An identifier is malformed. ``code`` is stable (``"uscc.check_character"``, ``"digital_link.order"``, ...);
    ``str(error)`` is the human reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_DIGITS = frozenset("0123456789")


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X})" if not char.isprintable() or ord(char) > 0x7E else repr(char)


def _require_digits(value: str, name: str, code: str) -> None:
    for position, char in enumerate(value, start=1):
        if char not in _DIGITS:
            raise IdentifierError(code, f"{name}: character {_describe(char)} at position {position} is not an "
                                        "ASCII digit 0-9")


# --- Unified social credit code (GB 32100-2015) ------------------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
_USCC_VALUE = {char: value for value, char in enumerate(USCC_CHARSET)}

# Registering authority (position 1) and entity kind (position 2) from GB 32100-2015, appendix A, for the
# authorities this service meets; others are reported by character with no name.
_USCC_AUTHORITIES = {"1": "institutional establishment", "5": "civil affairs", "9": "market regulation"}
_USCC_ENTITY_KINDS = {
    ("1", "1"): "government organ", ("1", "2"): "public institution", ("1", "3"): "mass organisation",
    ("1", "9"): "other",
    ("5", "1"): "social organisation", ("5", "2"): "private non-enterprise unit", ("5", "3"): "foundation",
    ("5", "9"): "other",
    ("9", "1"): "enterprise", ("9", "2"): "individual business", ("9", "3"): "farmer cooperative",
}


@dataclass(frozen=True)
class UsccKind:
    """Positions 1 and 2 of a unified social credit code; the names are ``None`` for codes this module does not
    name."""

    authority: str
    entity_kind: str
    authority_name: str | None
    entity_kind_name: str | None


def _check_uscc_shape(code: str, length: int = 18, name: str = "unified social credit code") -> None:
    if code == "":
        raise IdentifierError("uscc.empty", f"{name} is empty")
    for position, char in enumerate(code, start=1):
        if char not in _USCC_VALUE:
            hint = " (letters are upper case)" if char.upper() in _USCC_VALUE else ""
            raise IdentifierError("uscc.character", f"character {_describe(char)} at position {position} is outside "
                                                    f"the code's character set {USCC_CHARSET}{hint}")
    if len(code) != length:
        raise IdentifierError("uscc.length", f"{name} must be {length} characters, found {len(code)}")


def uscc_check_character(body17: str) -> str:
    """Return the check character (position 18) for the first 17 characters of a unified social credit code.

    Invariant: ``check_uscc(body17 + uscc_check_character(body17))`` passes. Raises :class:`IdentifierError` when
    ``body17`` is not 17 characters from :data:`USCC_CHARSET`.
    """
    _check_uscc_shape(body17, 17, "unified social credit code body")
    total = sum(_USCC_VALUE[char] * weight for char, weight in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def check_uscc(code: str) -> None:
    """Return nothing if ``code`` is a unified social credit code whose check character is right; raise otherwise.

    Checks in order: not empty, every character in :data:`USCC_CHARSET` (no I, O, S, V, Z, no lower case), 18
    characters, check character. Raises :class:`IdentifierError` with code ``uscc.empty``, ``uscc.character``,
    ``uscc.length`` or ``uscc.check_character``.
    """
    _check_uscc_shape(code)
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentifierError("uscc.check_character",
                              f"wrong check character: expected {expected!r}, found {code[17]!r}")


def uscc_problem(code: str) -> str | None:
    """Return why ``code`` is not a valid unified social credit code, or ``None`` if it is. Never raises."""
    try:
        check_uscc(code)
    except IdentifierError as error:
        return error.message
    return None


def is_valid_uscc(code: str) -> bool:
    """True exactly when :func:`check_uscc` passes. Codes issued in the wild that fail the check character (such
    as ``91350203M0001QAY9B``) are invalid here: accepting one is an override the caller records."""
    return uscc_problem(code) is None


def uscc_region(code: str) -> str:
    """Return positions 3-8, the administrative division code (``"350200"`` is Xiamen).

    Works on codes that fail only the check character, so an overridden registration still has a region. Raises
    :class:`IdentifierError` when the code is not 18 characters from the charset (``uscc.*``) or the region is not
    six digits (``uscc.region``).
    """
    _check_uscc_shape(code)
    region = code[2:8]
    if not all(char in _DIGITS for char in region):
        raise IdentifierError("uscc.region", f"administrative division code (positions 3-8) must be six digits, "
                                             f"found {region!r}")
    return region


def uscc_kind(code: str) -> UsccKind:
    """Return the registering authority (position 1) and entity kind (position 2), with their names where known.

    Like :func:`uscc_region` it ignores the check character and raises :class:`IdentifierError` for a code that is
    not 18 characters from the charset.
    """
    _check_uscc_shape(code)
    authority, kind = code[0], code[1]
    return UsccKind(authority, kind, _USCC_AUTHORITIES.get(authority), _USCC_ENTITY_KINDS.get((authority, kind)))


# --- GS1 keys ------------------------------------------------------------------------------------------------

_GS1_KEY_LENGTHS = {8: "GTIN-8", 12: "GTIN-12", 13: "GTIN-13 or GLN", 14: "GTIN-14", 18: "SSCC"}


def gs1_check_digit(body: str) -> str:
    """Return the GS1 mod-10 check digit of ``body`` (a key without its last digit): weights 3, 1, 3, ... from the
    right of the body, check = (10 - sum mod 10) mod 10.

    Raises :class:`IdentifierError` (``gs1.character``, ``gs1.empty``) unless ``body`` is one or more ASCII digits.
    """
    if body == "":
        raise IdentifierError("gs1.empty", "GS1 key body is empty")
    _require_digits(body, "GS1 key", "gs1.character")
    total = sum(int(char) * (3 if index % 2 == 0 else 1) for index, char in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _check_gs1_digits(key: str, name: str, lengths: tuple[int, ...], code: str) -> None:
    _require_digits(key, name, f"{code}.character")
    if len(key) not in lengths:
        allowed = " or ".join(str(length) for length in lengths)
        raise IdentifierError(f"{code}.length", f"{name} must be {allowed} digits, found {len(key)}")
    expected = gs1_check_digit(key[:-1])
    if key[-1] != expected:
        raise IdentifierError(f"{code}.check_digit",
                              f"{name} check digit wrong: expected {expected!r}, found {key[-1]!r}")


def check_gs1_key(key: str) -> None:
    """Return nothing if ``key`` is a GTIN-8/12/13/14, GLN-13 or SSCC-18 with a right check digit; raise
    :class:`IdentifierError` (``gs1.character``, ``gs1.length``, ``gs1.check_digit``) otherwise."""
    _check_gs1_digits(key, "GS1 key", tuple(_GS1_KEY_LENGTHS), "gs1")


def is_valid_gs1_key(key: str) -> bool:
    """True exactly when :func:`check_gs1_key` passes."""
    try:
        check_gs1_key(key)
    except IdentifierError:
        return False
    return True


def normalise_gtin(gtin: str) -> str:
    """Return ``gtin`` (GTIN-8, -12, -13 or -14 with a right check digit) as a GTIN-14, left-padded with zeros.

    Padding keeps the check digit (a leading zero adds nothing to the sum). Raises :class:`IdentifierError`
    (``gtin.character``, ``gtin.length``, ``gtin.check_digit``) with the reason.
    """
    _check_gs1_digits(gtin, "GTIN", (8, 12, 13, 14), "gtin")
    return gtin.zfill(14)


# --- GS1 Digital Link --------------------------------------------------------------------------------------------

# GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
CSET_82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_PRIMARY_KEYS = {"01": ("GTIN", 14, "gtin"), "00": ("SSCC", 18, "sscc"), "414": ("GLN", 13, "gln")}
# Key qualifiers in their only allowed order; value: (name, field, maximum length).
_QUALIFIERS = {"22": ("cpv", 20), "10": ("lot", 20), "21": ("serial", 20)}
_QUALIFIER_ORDER = {"01": ("22", "10", "21"), "00": (), "414": ()}
_EXPIRY_AI = "17"
_LINK_TYPE = "linkType"
_LINK_TYPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]*")
_HOST_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")
# RFC 3986 characters a path segment or query component may carry unencoded (besides "%XX").
_URI_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?")
_HEX = frozenset("0123456789ABCDEFabcdef")


@dataclass(frozen=True)
class DigitalLink:
    """A parsed GS1 Digital Link. ``key_ai`` is ``"01"`` (GTIN-14), ``"00"`` (SSCC-18) or ``"414"`` (GLN-13) and
    ``key`` its value; qualifiers and ``lot``/``serial`` are percent-decoded. ``other_attributes`` keeps query
    parameters this module does not interpret, decoded, in URI order."""

    host: str
    key_ai: str
    key: str
    cpv: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    link_type: str | None = None
    other_attributes: tuple[tuple[str, str], ...] = ()

    @property
    def gtin(self) -> str | None:
        return self.key if self.key_ai == "01" else None


def _percent_decode(raw: str, what: str) -> str:
    """Strict RFC 3986 decoding: every ``%`` starts two hex digits, the bytes are UTF-8, and characters outside
    the URI character set must have been encoded. ``+`` stays ``+``."""
    data = bytearray()
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "%":
            pair = raw[index + 1:index + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise IdentifierError("digital_link.percent_encoding",
                                      f"{what}: '%' at position {index + 1} is not followed by two hex digits")
            data.append(int(pair, 16))
            index += 3
            continue
        if char not in _URI_SAFE:
            raise IdentifierError("digital_link.percent_encoding",
                                  f"{what}: character {_describe(char)} at position {index + 1} must be "
                                  "percent-encoded")
        data.append(ord(char))
        index += 1
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentifierError("digital_link.percent_encoding", f"{what}: percent-encoded bytes are not UTF-8") from None


def _check_cset82(value: str, name: str, ai: str, maximum: int) -> None:
    if value == "":
        raise IdentifierError("digital_link.value_empty", f"{name} ({ai}) is empty")
    if len(value) > maximum:
        raise IdentifierError("digital_link.value_length", f"{name} ({ai}) is {len(value)} characters after "
                                                           f"percent-decoding; at most {maximum} are allowed")
    for position, char in enumerate(value, start=1):
        if char not in CSET_82:
            raise IdentifierError("digital_link.value_character",
                                  f"{name} ({ai}): character {_describe(char)} at position {position} is outside "
                                  "GS1 AI encodable character set 82")


def _parse_yymmdd(value: str, name: str, ai: str) -> date:
    """YYMMDD in 2000-2099; DD ``00`` means the last day of the month (GS1 General Specifications, AI 15/17)."""
    if len(value) != 6 or not set(value) <= _DIGITS:
        raise IdentifierError("digital_link.date", f"{name} ({ai}) must be six digits YYMMDD, found {value!r}")
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise IdentifierError("digital_link.date", f"{name} ({ai}) {value!r}: month {month:02d} is not 01-12")
    last = calendar.monthrange(year, month)[1]
    if day > last:
        raise IdentifierError("digital_link.date",
                              f"{name} ({ai}) {value!r}: day {day:02d} is past the month's last day {last:02d}")
    return date(year, month, day or last)


def _split_host(uri: str) -> tuple[str, str, str]:
    for position, char in enumerate(uri, start=1):
        # urlsplit silently drops tabs and newlines and strips leading spaces; a scanned code must not rely on that.
        if not " " < char < "\x7f":
            raise IdentifierError("digital_link.percent_encoding",
                                  f"Digital Link: character {_describe(char)} at position {position} must be "
                                  "percent-encoded")
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        raise IdentifierError("digital_link.host", f"Digital Link is not a URI: {error}") from None
    if parts.scheme != "https":
        raise IdentifierError("digital_link.scheme", f"Digital Link scheme must be https, found {parts.scheme!r}")
    if "@" in parts.netloc:
        raise IdentifierError("digital_link.host", "Digital Link must not carry user information before the host")
    host = parts.netloc.lower()
    if not _HOST_PATTERN.fullmatch(host):
        raise IdentifierError("digital_link.host", f"Digital Link host {parts.netloc!r} is not a DNS name with an "
                                                   "optional port")
    return host, parts.path, parts.query


def parse_digital_link(uri: str) -> DigitalLink:
    """Parse a GS1 Digital Link URI ``https://{host}/{AI}/{key}[/{AI}/{value}]...[?{attribute}={value}&...]``.

    Invariants of the result: the primary key (GTIN-14 under 01, SSCC-18 under 00, GLN-13 under 414) has a right
    check digit; qualifiers of a GTIN came in the order 22, 10, 21, each at most once, each 1-20 characters from
    CSET 82 after percent-decoding; ``expiry`` came from a valid ``17=YYMMDD`` (years 2000-2099, DD 00 = last day
    of the month). The path starts with the primary key (no path prefix); a fragment is ignored.
    ``parse_digital_link(format_digital_link(link)) == link`` for every link this function returns.

    Raises :class:`IdentifierError` (codes ``digital_link.*`` and ``gtin.*``/``sscc.*``/``gln.*``) with the reason.
    """
    host, path, query = _split_host(uri)
    segments = path.split("/")[1:] if path.startswith("/") else [path]
    if segments == [""] or not segments:
        raise IdentifierError("digital_link.path", "Digital Link path is empty: expected /01/{GTIN-14}, "
                                                   "/00/{SSCC} or /414/{GLN}")
    if "" in segments:
        raise IdentifierError("digital_link.path", "Digital Link path has an empty segment (a doubled or trailing "
                                                   "'/')")
    if len(segments) % 2:
        raise IdentifierError("digital_link.path", f"AI {segments[-1]!r} in the path has no value")
    key_ai = segments[0]
    if key_ai not in _PRIMARY_KEYS:
        raise IdentifierError("digital_link.unknown_ai", f"unknown primary key AI {key_ai!r}: expected 01 (GTIN), "
                                                         "00 (SSCC) or 414 (GLN)")
    key_name, key_length, key_code = _PRIMARY_KEYS[key_ai]
    key = _percent_decode(segments[1], key_name)
    _require_digits(key, key_name, f"{key_code}.character")
    if len(key) != key_length:
        raise IdentifierError(f"{key_code}.length", f"{key_name} must be {key_length} digits in a Digital Link path, "
                                                    f"found {len(key)}")
    _check_gs1_digits(key, key_name, (key_length,), key_code)

    allowed = _QUALIFIER_ORDER[key_ai]
    values: dict[str, str] = {}
    for ai, raw in zip(segments[2::2], segments[3::2], strict=True):
        if ai not in _QUALIFIERS:
            raise IdentifierError("digital_link.unknown_ai", f"unknown AI {ai!r} in the path")
        name, maximum = _QUALIFIERS[ai]
        if ai not in allowed:
            raise IdentifierError("digital_link.qualifier", f"{name} ({ai}) is not a qualifier of {key_name} "
                                                            f"({key_ai})")
        if ai in values:
            raise IdentifierError("digital_link.duplicate", f"duplicate qualifier: {name} ({ai}) appears twice")
        for later in values:
            if allowed.index(later) > allowed.index(ai):
                raise IdentifierError("digital_link.order", f"qualifiers out of order: {name} ({ai}) must come "
                                                            f"before {_QUALIFIERS[later][0]} ({later})")
        value = _percent_decode(raw, f"{name} ({ai})")
        _check_cset82(value, name, ai, maximum)
        values[ai] = value

    expiry, link_type, others = _parse_query(query)
    return DigitalLink(host=host, key_ai=key_ai, key=key, cpv=values.get("22"), lot=values.get("10"),
                       serial=values.get("21"), expiry=expiry, link_type=link_type, other_attributes=others)


def _parse_query(query: str) -> tuple[date | None, str | None, tuple[tuple[str, str], ...]]:
    expiry: date | None = None
    link_type: str | None = None
    others: list[tuple[str, str]] = []
    seen: set[str] = set()
    for pair in query.split("&"):
        if pair == "":
            continue
        raw_key, separator, raw_value = pair.partition("=")
        key = _percent_decode(raw_key, "query attribute name")
        if not separator or key == "":
            raise IdentifierError("digital_link.query", f"query component {pair!r} is not name=value")
        if key in seen:
            raise IdentifierError("digital_link.duplicate", f"duplicate query attribute {key!r}")
        seen.add(key)
        value = _percent_decode(raw_value, f"query attribute {key!r}")
        if key in _PRIMARY_KEYS or key in _QUALIFIERS:
            raise IdentifierError("digital_link.query", f"AI {key!r} is a key or key qualifier and belongs in the "
                                                        "path, not the query")
        if key == _EXPIRY_AI:
            expiry = _parse_yymmdd(value, "expiry date", _EXPIRY_AI)
        elif key == _LINK_TYPE:
            if not _LINK_TYPE_PATTERN.fullmatch(value):
                raise IdentifierError("digital_link.link_type", f"linkType {value!r} is not a link type such as "
                                                                "'gs1:pip' or 'linkset'")
            link_type = value
        else:
            others.append((key, value))
    return expiry, link_type, tuple(others)


def _encode(value: str) -> str:
    # Everything but A-Z a-z 0-9 - . _ is percent-encoded: one canonical spelling per value.
    return quote(value, safe="")


def format_digital_link(link: DigitalLink) -> str:
    """Return the canonical URI of ``link``: lower-case host, qualifiers in the order 22, 10, 21, values
    percent-encoded except for ``A-Z a-z 0-9 - . _``, then ``17=YYMMDD``, other attributes in order, ``linkType``.

    Invariant: ``parse_digital_link(format_digital_link(link)) == link``. Raises :class:`IdentifierError` (the
    same codes as :func:`parse_digital_link`) when ``link`` breaks a rule, and ``digital_link.date`` for an
    expiry outside 2000-2099, which YYMMDD cannot carry.
    """
    if not _HOST_PATTERN.fullmatch(link.host.lower()):
        raise IdentifierError("digital_link.host", f"Digital Link host {link.host!r} is not a DNS name with an "
                                                   "optional port")
    if link.host != link.host.lower():
        raise IdentifierError("digital_link.host", f"Digital Link host {link.host!r} must be lower case")
    path = f"/{_encode(link.key_ai)}/{_encode(link.key)}"
    for ai, value in (("22", link.cpv), ("10", link.lot), ("21", link.serial)):
        if value is not None:
            name, maximum = _QUALIFIERS[ai]
            _check_cset82(value, name, ai, maximum)
            path += f"/{ai}/{_encode(value)}"
    query: list[str] = []
    if link.expiry is not None:
        if not 2000 <= link.expiry.year <= 2099:
            raise IdentifierError("digital_link.date", f"expiry date {link.expiry.isoformat()} is outside "
                                                       "2000-2099, which YYMMDD cannot carry")
        query.append(f"{_EXPIRY_AI}={link.expiry:%y%m%d}")
    query.extend(f"{_encode(key)}={_encode(value)}" for key, value in link.other_attributes)
    if link.link_type is not None:
        query.append(f"{_LINK_TYPE}={_encode(link.link_type)}")
    for key, _ in link.other_attributes:
        if key in (_EXPIRY_AI, _LINK_TYPE):
            raise IdentifierError("digital_link.query", f"query attribute {key!r} has its own field; it cannot be "
                                                        "one of other_attributes")
    uri = f"https://{link.host}{path}" + (f"?{'&'.join(query)}" if query else "")
    parsed = parse_digital_link(uri)
    if parsed != link:
        raise IdentifierError("digital_link.canonical", f"{link!r} does not survive a round trip: {uri} parses "
                                                        f"as {parsed!r}")
    return uri


def build_digital_link(host: str, gtin: str, *, cpv: str | None = None, lot: str | None = None,
                       serial: str | None = None, expiry: date | None = None, link_type: str | None = None) -> str:
    """Return the canonical Digital Link of a trade item: ``gtin`` (GTIN-8/12/13/14) is written as a GTIN-14, the
    host is lower-cased, then as :func:`format_digital_link`. Raises :class:`IdentifierError` with the reason."""
    return format_digital_link(DigitalLink(host=host.lower(), key_ai="01", key=normalise_gtin(gtin), cpv=cpv,
                                           lot=lot, serial=serial, expiry=expiry, link_type=link_type))


def build_sscc_link(host: str, sscc: str, *, link_type: str | None = None) -> str:
    """Return the canonical Digital Link ``https://{host}/00/{SSCC-18}`` of a logistic unit. Raises
    :class:`IdentifierError` unless ``sscc`` is 18 digits with a right check digit."""
    return format_digital_link(DigitalLink(host=host.lower(), key_ai="00", key=sscc, link_type=link_type))


def build_gln_link(host: str, gln: str, *, link_type: str | None = None) -> str:
    """Return the canonical Digital Link ``https://{host}/414/{GLN-13}`` of a location. Raises
    :class:`IdentifierError` unless ``gln`` is 13 digits with a right check digit."""
    return format_digital_link(DigitalLink(host=host.lower(), key_ai="414", key=gln, link_type=link_type))


# --- Drug traceability code (药品追溯码) ----------------------------------------------------------------------------

DRUG_CODE_LENGTH = 20
DRUG_PRODUCT_PREFIX_LENGTH = 7


@dataclass(frozen=True)
class DrugCode:
    """A 20-digit drug traceability code: ``product_prefix`` (the first 7 digits) identifies the product and
    ``serial`` (the other 13) the box. The trailing digits carry no public check algorithm, so none is applied."""

    code: str
    product_prefix: str
    serial: str


def parse_drug_code(code: str) -> DrugCode:
    """Split a drug traceability code into its product prefix and serial part.

    Invariant: ``result.product_prefix + result.serial == result.code == code``. Raises :class:`IdentifierError`
    (``drug_code.character``, ``drug_code.length``) unless ``code`` is exactly 20 ASCII digits.
    """
    _require_digits(code, "drug traceability code", "drug_code.character")
    if len(code) != DRUG_CODE_LENGTH:
        raise IdentifierError("drug_code.length", f"drug traceability code must be {DRUG_CODE_LENGTH} digits, "
                                                  f"found {len(code)}")
    return DrugCode(code, code[:DRUG_PRODUCT_PREFIX_LENGTH], code[DRUG_PRODUCT_PREFIX_LENGTH:])


def parse_drug_product_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a product's 7-digit drug code prefix, the value stored on a product and matched
    against :attr:`DrugCode.product_prefix`. Raises :class:`IdentifierError` (``drug_prefix.character``,
    ``drug_prefix.length``) otherwise."""
    _require_digits(prefix, "drug code product prefix", "drug_prefix.character")
    if len(prefix) != DRUG_PRODUCT_PREFIX_LENGTH:
        raise IdentifierError("drug_prefix.length", f"drug code product prefix must be {DRUG_PRODUCT_PREFIX_LENGTH} "
                                                    f"digits, found {len(prefix)}")
    return prefix
