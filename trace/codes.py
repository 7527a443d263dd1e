"""What a visitor typed, scanned or sent by SMS, read as a product code.

Accepted forms (PRODUCT.md §3): a GS1 Digital Link URI with any host (or only its path, ``01/…/10/…``); a GS1
element string, bracketed ``(01)06901234567892(10)LOT1`` or plain as a hand scanner types it
(``0106901234567892 10LOT1``, variable-length values ended by the group separator); an SSCC (18 digits); a GTIN
(8, 12, 13 or 14 digits) and a batch number separated by a space, ``/`` or ``,``; a 20-digit drug traceability
code. Full-width characters typed with a Chinese input method are folded to ASCII first (NFKC), and spaces inside
a number are ignored.

Pure functions, no database: :func:`read_code` returns a :class:`ProductCode` or raises :class:`CodeError`, whose
``reason`` and ``params`` let the pages and the SMS reply say precisely what is wrong in the visitor's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from .identifiers import CSET_82, IdentifierError, gs1_check_digit, parse_digital_link

MAX_INPUT = 512
GTIN_LENGTHS = (8, 12, 13, 14)
SSCC_LENGTH = 18
DRUG_CODE_LENGTH = 20
QUALIFIER_MAX = 20
#: Symbology identifiers a hand scanner may put in front of what it read (QR, GS1 DataMatrix, GS1-128, DataBar).
_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_GROUP_SEPARATOR = "\x1d"
_GTIN_AND_LOT = re.compile(r"^(\d+)\s*[\s,/|;]\s*(\S+)$")
_BRACKETED = re.compile(r"\((\d{2,4})\)([^()]*)")
#: Application identifiers of an element string: fixed-length numeric ones, and variable-length ones with their
#: maximum length. Others are refused by name rather than skipped, so a mistyped AI is not silently ignored.
_FIXED_AIS = {"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2}
_VARIABLE_AIS = {"10": 20, "21": 20, "22": 20, "30": 8, "37": 8, "240": 30, "241": 30, "250": 30, "251": 30,
                 "400": 30}


class CodeError(ValueError):
    """The text is not a product code we can look up. ``reason`` is one of ``empty``, ``too_long``,
    ``character``, ``length``, ``check_digit``, ``gtin_only``, ``location``, ``qualifier``, ``digital_link``,
    ``element_string``, ``digits`` or ``unrecognised``; ``params`` fill the visitor-facing sentence for that reason;
    ``str(error)`` is the precise reason in English."""

    def __init__(self, reason: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.params = params


@dataclass(frozen=True)
class ProductCode:
    """A code to look up. ``kind`` is ``lot`` (GTIN-14 and lot, with an optional serial), ``serial`` (GTIN-14 and
    serial), ``sscc`` or ``drug`` (a 20-digit drug traceability code). ``alternatives`` are other readings of the
    same digits, tried in order when this one is not registered (a 20-digit number may be a drug code or
    ``00`` + SSCC)."""

    kind: str
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    drug_code: str | None = None
    alternatives: tuple[ProductCode, ...] = field(default=(), compare=False)

    def resolver_path(self, gtin: str | None = None) -> str:
        """The path of the code's public page on this resolver. A drug code has none of its own: its page is its
        product's ``/01/{gtin}/21/{code}``, so the caller passes the GTIN found in the ledger."""
        if self.kind == "sscc":
            return f"/00/{self.sscc}"
        gtin = self.gtin or gtin
        if gtin is None:
            raise ValueError(f"a {self.kind} code needs its GTIN to have a page")
        path = f"/01/{gtin}"
        if self.lot is not None:
            path += f"/10/{quote(self.lot, safe='')}"
        serial = self.drug_code if self.kind == "drug" else self.serial
        if serial is not None:
            path += f"/21/{quote(serial, safe='')}"
        return path

    @property
    def display(self) -> str:
        """The code as people read it on a label."""
        if self.kind == "sscc":
            return f"(00){self.sscc}"
        if self.kind == "drug":
            return self.drug_code or ""
        text = f"(01){self.gtin}"
        if self.lot is not None:
            text += f"(10){self.lot}"
        if self.serial is not None:
            text += f"(21){self.serial}"
        return text


def read_code(text: str) -> ProductCode:
    """Read ``text`` as one of the accepted forms (see the module docstring) and check every GS1 key's check digit.

    Raises :class:`CodeError` with the first problem found.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    if value == "":
        raise CodeError("empty", "no code given")
    if len(value) > MAX_INPUT:
        raise CodeError("too_long", f"at most {MAX_INPUT} characters, found {len(value)}", maximum=MAX_INPUT)
    value = _SYMBOLOGY.sub("", value, count=1)
    if re.match(r"(?i)https?://", value):
        return _read_link(value)
    if re.match(r"/?(01|00|414)/", value):
        return _read_link("https://localhost/" + value.lstrip("/"))
    if value.startswith("("):
        return _from_element_string(_split_bracketed(value))
    compact = re.sub(r"\s+", "", value)
    pair = _GTIN_AND_LOT.match(value)
    if pair and len(pair.group(1)) in GTIN_LENGTHS and pair.group(1).isascii() and \
            not (compact.isdigit() and len(compact) in (SSCC_LENGTH, DRUG_CODE_LENGTH)):
        gtin = _check_key(pair.group(1), "GTIN", GTIN_LENGTHS).zfill(14)
        return ProductCode("lot", gtin=gtin, lot=_check_qualifier(pair.group(2), "batch number"))
    if compact.isascii() and compact.isdigit():
        return _read_digits(compact)
    if re.match(r"(01\d{14}|00\d{18})", compact):
        return _from_element_string(_split_plain(re.sub(r"\s+", _GROUP_SEPARATOR, value)))
    raise CodeError("unrecognised", f"{value[:40]!r} is not a product link, an element string, an SSCC, a GTIN "
                                    "with its batch number or a drug traceability code", text=value[:40])


def _read_digits(digits: str) -> ProductCode:
    if len(digits) == SSCC_LENGTH:
        return ProductCode("sscc", sscc=_check_key(digits, "SSCC", (SSCC_LENGTH,)))
    if len(digits) == DRUG_CODE_LENGTH:
        return ProductCode("drug", drug_code=digits, alternatives=_other_readings(digits))
    if len(digits) in GTIN_LENGTHS:
        gtin = _check_key(digits, "GTIN", GTIN_LENGTHS)
        raise CodeError("gtin_only", f"GTIN {gtin} names a product, not a batch: add the batch number", gtin=gtin)
    if digits.startswith("01") and len(digits) > 16:
        return _from_element_string(_split_plain(digits))
    raise CodeError("digits", f"a number code has 18 (SSCC), 20 (drug traceability code) or 8 to 14 (GTIN) "
                              f"digits, found {len(digits)}", found=len(digits))


def _other_readings(digits: str) -> tuple[ProductCode, ...]:
    """A 20-digit number that also reads as an element string (``00`` + SSCC, or ``01`` + GTIN + ``10``/``21``)."""
    if not digits.startswith(("00", "01")):
        return ()
    try:
        return (_from_element_string(_split_plain(digits)),)
    except CodeError:
        return ()


def _check_key(key: str, name: str, lengths: tuple[int, ...]) -> str:
    """``key`` if it is a GS1 key of one of ``lengths`` digits with a right mod-10 check digit."""
    for position, char in enumerate(key, start=1):
        if char not in "0123456789":
            raise CodeError("character", f"{name}: character {char!r} at position {position} is not a digit 0-9",
                            name=name, char=char, position=position)
    if len(key) not in lengths:
        expected = " or ".join(str(length) for length in lengths)
        raise CodeError("length", f"{name} must be {expected} digits, found {len(key)}", name=name,
                        expected=expected, found=len(key))
    check = gs1_check_digit(key[:-1])
    if key[-1] != check:
        raise CodeError("check_digit", f"{name} check digit wrong: expected {check!r}, found {key[-1]!r}",
                        name=name, expected=check, found=key[-1])
    return key


def _check_qualifier(value: str, name: str) -> str:
    if not 0 < len(value) <= QUALIFIER_MAX or not set(value) <= CSET_82:
        raise CodeError("qualifier", f"{name} {value[:40]!r} must be 1 to {QUALIFIER_MAX} letters, digits or "
                                     "punctuation of GS1 character set 82", name=name, maximum=QUALIFIER_MAX)
    return value


# --- GS1 Digital Link ----------------------------------------------------------------------------------------

def _read_link(uri: str) -> ProductCode:
    """A Digital Link from any host, with or without a path prefix before its primary key: only the path from the
    key on counts, and ``http`` is read as ``https`` (a test server's own labels)."""
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        raise CodeError("digital_link", f"not a URI: {error}", detail=str(error)) from None
    segments = parts.path.split("/")
    start = next((index for index in range(1, len(segments) - 1)
                  if segments[index] in ("01", "00", "414") and segments[index + 1][:1].isdigit()), None)
    if start is None:
        raise CodeError("unrecognised", f"link {uri[:60]!r} is not a product link: its path has no /01/{{GTIN}} "
                                        "or /00/{SSCC}", text=uri[:60])
    key_ai, key = segments[start], segments[start + 1]
    if key_ai == "414":
        raise CodeError("location", f"{key} is a location number (GLN), not a product", gln=key)
    if key_ai == "01":
        _check_key(key, "GTIN", (14,))
    else:
        _check_key(key, "SSCC", (SSCC_LENGTH,))
    path = "/".join(segments[start:])
    query = f"?{parts.query}" if parts.query else ""
    try:
        link = parse_digital_link(f"https://localhost/{path}{query}")
    except IdentifierError as error:
        raise CodeError("digital_link", error.message, detail=error.message) from None
    if link.key_ai == "00":
        return ProductCode("sscc", sscc=link.key)
    if link.lot is None and link.serial is None:
        raise CodeError("gtin_only", f"GTIN {link.key} names a product, not a batch: add the batch number",
                        gtin=link.key)
    return ProductCode("lot" if link.lot is not None else "serial", gtin=link.key, lot=link.lot, serial=link.serial)


# --- GS1 element strings -------------------------------------------------------------------------------------

def _split_bracketed(value: str) -> list[tuple[str, str]]:
    """``(01)…(10)…`` into (AI, value) pairs; spaces around values are ignored."""
    compact = re.sub(r"\s+", "", value)
    pairs = _BRACKETED.findall(compact)
    if "".join(f"({ai}){data}" for ai, data in pairs) != compact:
        raise CodeError("element_string", f"{value[:60]!r} is not a sequence of (AI)value pairs",
                        detail="expected (AI)value pairs such as (01)06901234567892(10)LOT1")
    return pairs


def _split_plain(value: str) -> list[tuple[str, str]]:
    """An element string as a scanner types it: fixed-length values run to their length, variable-length ones to
    the group separator (or a space, or the end)."""
    pairs: list[tuple[str, str]] = []
    rest = value.strip(_GROUP_SEPARATOR)
    while rest:
        ai = next((rest[:size] for size in (2, 3) if rest[:size] in _FIXED_AIS or rest[:size] in _VARIABLE_AIS),
                  None)
        if ai is None:
            raise CodeError("element_string", f"unknown application identifier at {rest[:6]!r}",
                            detail=f"unknown application identifier at {rest[:6]!r}")
        rest = rest[len(ai):]
        if ai in _FIXED_AIS:
            data, rest = rest[:_FIXED_AIS[ai]], rest[_FIXED_AIS[ai]:]
        else:
            data, _, rest = rest.partition(_GROUP_SEPARATOR)
        pairs.append((ai, data))
        rest = rest.lstrip(_GROUP_SEPARATOR)
    return pairs


def _from_element_string(pairs: list[tuple[str, str]]) -> ProductCode:
    values: dict[str, str] = {}
    for ai, data in pairs:
        if ai in values:
            raise CodeError("element_string", f"AI ({ai}) appears twice", detail=f"AI ({ai}) appears twice")
        if ai in _FIXED_AIS:
            if len(data) != _FIXED_AIS[ai] or not (data.isascii() and data.isdigit()):
                if ai in ("00", "01"):
                    _check_key(data, "SSCC" if ai == "00" else "GTIN", (_FIXED_AIS[ai],))
                raise CodeError("element_string", f"AI ({ai}) takes {_FIXED_AIS[ai]} digits, found {data!r}",
                                detail=f"AI ({ai}) takes {_FIXED_AIS[ai]} digits, found {data!r}")
        elif ai in _VARIABLE_AIS:
            if not 0 < len(data) <= _VARIABLE_AIS[ai] or not set(data) <= CSET_82:
                raise CodeError("element_string", f"AI ({ai}) takes 1 to {_VARIABLE_AIS[ai]} characters of GS1 "
                                                  f"character set 82, found {data[:40]!r}",
                                detail=f"AI ({ai}) takes 1 to {_VARIABLE_AIS[ai]} characters, found {data[:40]!r}")
        else:
            raise CodeError("element_string", f"AI ({ai}) is not used to look up a product",
                            detail=f"AI ({ai}) is not used to look up a product")
        values[ai] = data
    if "00" in values:
        return ProductCode("sscc", sscc=_check_key(values["00"], "SSCC", (SSCC_LENGTH,)))
    if "01" not in values:
        raise CodeError("element_string", "the element string has no GTIN (01) or SSCC (00)",
                        detail="no GTIN (01) or SSCC (00)")
    gtin = _check_key(values["01"], "GTIN", (14,))
    lot, serial = values.get("10"), values.get("21")
    if lot is None and serial is None:
        raise CodeError("gtin_only", f"GTIN {gtin} names a product, not a batch: add the batch number", gtin=gtin)
    return ProductCode("lot" if lot is not None else "serial", gtin=gtin, lot=lot, serial=serial)
