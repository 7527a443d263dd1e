"""CBV 2.0 §8.9 EPCIS event hash ID: the canonical pre-hash string of an event and its SHA-256 ``ni:`` URI.

The pre-hash string (rules as numbered in the algorithm's description):

1. members in the canonical property order (:data:`_ORDER`), ``eventType`` first; 2. concatenated without
separators; 3. ``key=value`` for values, the bare key for a parent; 4. absent members add nothing; 5. values are
trimmed; 6.–7. numbers without trailing zeros; 8.–9. times in UTC with ``Z`` and milliseconds; 10.–12. list items
and the parts of list elements sorted by code point; 13. a ``type`` follows its value (``bizTransaction=…type=…``);
14. ``urn:epcglobal:cbv:`` values become ``https://ref.gs1.org/cbv/`` terms; 15. CURIEs are expanded; 16. bare CBV
words (``shipping``) become web URIs; 17.–18. EPC URNs and Digital Link URIs become constrained canonical Digital
Link URIs on ``https://id.gs1.org``; 19.–21. ILMD and user extensions as ``{namespace}local=value``, sorted,
after the standard members. ``eventID``, ``recordTime``, ``errorDeclaration`` and comments (``rdfs:comment``)
take no part. 22.–24. the SHA-256 of the UTF-8 string, in hex, as ``ni:///sha-256;{hex}?ver=CBV2.0``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from trace.identifiers import IdentifierError, gs1_check_digit

from .errors import EpcisError

_CBV = "https://ref.gs1.org/cbv/"
_GS1_VOC = "https://gs1.org/voc/"
_DL = "https://id.gs1.org/"

_QUANTITY = (("epcClass", None), ("quantity", None), ("uom", None))
_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
           "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
           "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom",
           "coordinateReferenceSystem")
_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
             "bizRules")

#: The canonical property order: (member, kind). Kinds: "value", "epcs" (a list of EPCs), "quantities",
#: "id" (``readPoint``/``bizLocation``), "typed" (bizTransaction/source/destination lists), "persistent",
#: "sensors", "ilmd".
_ORDER: tuple[tuple[str, str], ...] = (
    ("eventTime", "value"), ("eventTimeZoneOffset", "value"), ("certificationInfo", "value"),
    ("parentID", "value"), ("epcList", "epcs"), ("inputEPCList", "epcs"), ("childEPCs", "epcs"),
    ("quantityList", "quantities"), ("childQuantityList", "quantities"), ("inputQuantityList", "quantities"),
    ("outputEPCList", "epcs"), ("outputQuantityList", "quantities"), ("action", "value"),
    ("transformationID", "value"), ("bizStep", "value"), ("disposition", "value"),
    ("persistentDisposition", "persistent"), ("readPoint", "id"), ("bizLocation", "id"),
    ("bizTransactionList", "typed"), ("sourceList", "typed"), ("destinationList", "typed"),
    ("sensorElementList", "sensors"), ("ilmd", "ilmd"),
)
_TYPED_ITEM = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
_IGNORED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "@context", "rdfs:comment", "comment"})

#: Bare CBV words by the member that holds them (rule 16): the web vocabulary prefix they expand to.
_BARE = {"bizStep": _CBV + "BizStep-", "disposition": _CBV + "Disp-", "set": _CBV + "Disp-",
         "unset": _CBV + "Disp-", "bizTransaction.type": _CBV + "BTT-", "source.type": _CBV + "SDT-",
         "destination.type": _CBV + "SDT-", "sensorReport.type": _GS1_VOC,
         "sensorReport.exception": _GS1_VOC + "SensorAlertType-"}
_URN_VOCABULARY = (("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"), ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
                   ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"), ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
                   ("urn:epcglobal:cbv:er:", _CBV + "ER-"))
_STANDARD_PREFIXES = {"gs1": _GS1_VOC, "cbv": _CBV, "epcis": "https://ref.gs1.org/epcis/",
                      "cbvmda": "urn:epcglobal:cbv:mda#"}
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def event_hash_id(event: dict[str, Any], context: Any = None) -> str:
    """``ni:///sha-256;<64 hex>?ver=CBV2.0`` of ``event`` (an EPCIS 2.0 JSON-LD event) by the published algorithm.

    ``context`` is the ``@context`` of the document holding the event; its prefixes name the namespaces of user
    extensions (``example:field`` → ``{https://ns.example.com/epcis/}field``). Equal events (members in any
    order, URN or Digital Link spellings, any time zone) give equal IDs; ``eventID``, ``recordTime``,
    ``errorDeclaration`` and comments do not take part. Raises :class:`EpcisError` (``epcis.schema``) when the
    event has no ``type`` or ``eventTime``.
    """
    digest = hashlib.sha256(prehash_string(event, context).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def prehash_string(event: dict[str, Any], context: Any = None) -> str:
    """The canonical pre-hash string of ``event`` that :func:`event_hash_id` hashes (for tests and the docs)."""
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "eventTime" not in event:
        raise EpcisError("an EPCIS event needs a type and an eventTime", code="epcis.schema")
    prefixes = {**_STANDARD_PREFIXES, **_context_prefixes(context), **_context_prefixes(event.get("@context"))}
    parts = ["eventType=" + event["type"]]
    known = {name for name, _ in _ORDER}
    for name, kind in _ORDER:
        if name in event and event[name] is not None:
            try:
                parts.append(_member(name, kind, event[name], prefixes))
            except (AttributeError, TypeError, KeyError) as error:
                raise EpcisError(f"{name} does not have the form of an EPCIS 2.0 {name}",
                                 code="epcis.schema") from error
    extensions = [_extension(key, value, prefixes) for key, value in event.items()
                  if key not in known and key not in _IGNORED]
    parts.append("".join(sorted(extensions)))
    return "".join(parts)


# -- members ---------------------------------------------------------------------------------------------------

def _member(name: str, kind: str, value: Any, prefixes: dict[str, str]) -> str:
    if kind == "value":
        items = value if isinstance(value, list) else [value]
        return "".join(sorted(_pair(name, item, prefixes) for item in items))
    if kind == "epcs":
        return _parent(name, sorted(_pair("epc", epc, prefixes) for epc in value))
    if kind == "quantities":
        return _parent(name, sorted("quantityElement" + _ordered(element, _QUANTITY, prefixes) for element in value))
    if kind == "id":
        return _parent(name, [_ordered(value, (("id", None),), prefixes)])
    if kind == "typed":
        item = _TYPED_ITEM[name]
        return _parent(name, sorted(_pair(item, element.get(item), prefixes)
                                    + _pair("type", element.get("type"), prefixes, item + ".type")
                                    for element in value))
    if kind == "persistent":
        text = "".join("".join(sorted(_pair(key, word, prefixes, key) for word in value.get(key) or []))
                       for key in ("set", "unset"))
        return _parent(name, [text])
    if kind == "sensors":
        return _parent(name, sorted(_sensor_element(element, prefixes) for element in value))
    assert kind == "ilmd"
    return _parent(name, sorted(_extension(key, item, prefixes) for key, item in value.items()))


def _parent(name: str, children: list[str]) -> str:
    text = "".join(children)
    return name + text if text else ""


def _ordered(element: dict[str, Any], order: tuple[tuple[str, None], ...], prefixes: dict[str, str],
             scope: str = "") -> str:
    """The members of ``element`` in ``order``, then its user extensions (rule 21)."""
    names = {name for name, _ in order}
    text = "".join(_pair(name, element[name], prefixes, f"{scope}.{name}" if scope else name)
                   for name, _ in order if name in element)
    extensions = sorted(_extension(key, value, prefixes) for key, value in element.items()
                        if key not in names and key not in _IGNORED)
    return text + "".join(extensions)


def _sensor_element(element: dict[str, Any], prefixes: dict[str, str]) -> str:
    text = "sensorElement"
    if "sensorMetadata" in element:
        text += _parent("sensorMetadata", [_ordered(element["sensorMetadata"],
                                                    tuple((n, None) for n in _METADATA), prefixes)])
    reports = sorted("sensorReport" + _ordered(report, tuple((n, None) for n in _REPORT), prefixes, "sensorReport")
                     for report in element.get("sensorReport") or [])
    text += "".join(reports)
    extensions = sorted(_extension(key, value, prefixes) for key, value in element.items()
                        if key not in ("sensorMetadata", "sensorReport") and key not in _IGNORED)
    return text + "".join(extensions)


def _pair(key: str, value: Any, prefixes: dict[str, str], scope: str | None = None) -> str:
    if value is None:
        return ""
    text = _canonical_value(key, value, prefixes, scope or key)
    return f"{key}={text}" if text else ""


def _extension(key: str, value: Any, prefixes: dict[str, str]) -> str:
    name = _expand_key(key, prefixes)
    if isinstance(value, dict):
        return name + "".join(sorted(_extension(k, v, prefixes) for k, v in value.items() if k not in _IGNORED))
    if isinstance(value, list):
        return "".join(sorted(_extension(key, item, prefixes) for item in value))
    text = _canonical_value(key, value, prefixes, "")
    return f"{name}={text}" if text else name


def _expand_key(key: str, prefixes: dict[str, str]) -> str:
    prefix, colon, local = key.partition(":")
    if colon and prefix in prefixes:
        return "{" + prefixes[prefix] + "}" + local
    return key


def _context_prefixes(context: Any) -> dict[str, str]:
    items = context if isinstance(context, list) else [context]
    return {key: value for item in items if isinstance(item, dict)
            for key, value in item.items() if isinstance(value, str)}


# -- values ----------------------------------------------------------------------------------------------------

def _canonical_value(key: str, value: Any, prefixes: dict[str, str], scope: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    if "time" in key.lower() and "offset" not in key.lower():
        return _utc_millis(text)
    if scope in _BARE and _BARE_WORD.fullmatch(text):
        return _BARE[scope] + text
    for urn, web in _URN_VOCABULARY:
        if text.startswith(urn):
            text = web + text[len(urn):]
    prefix, colon, local = text.partition(":")
    if colon and prefix in _STANDARD_PREFIXES and not local.startswith("//"):
        text = _STANDARD_PREFIXES[prefix] + local
    text = _numeric(text)
    return digital_link(text) or text


def _numeric(text: str) -> str:
    """Rules 6–7 as the reference implementation applies them: a value that reads as a number is written as
    the shortest form of that number (``1.0`` → ``1``, ``0.50`` → ``0.5``)."""
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return str(int(number)) if int(number) == number else str(number)


def _utc_millis(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    rounded = moment.replace(microsecond=0) + timedelta(microseconds=round(moment.microsecond, -3))
    return rounded.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rounded.microsecond // 1000:03d}Z"


# -- EPC URIs as Digital Link (rules 17-18) ---------------------------------------------------------------------

_URN = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.+)")
_DL_URI = re.compile(r"https?://[^/?#]+(?:/[^?#]*?)?/(00|01|253|255|401|402|414|417|8003|8004|8006|8010|8017|8018)/"
                 r"([^/?#]+)((?:/[^?#]*)?)(?:[?#].*)?")
#: Qualifiers kept after each primary key, finest first (rule 18 III).
_KEEP = {"01": (("21",), ("10",), ("235",)), "414": (("254",),), "8006": (("21",), ("10",)), "8010": (("8011",),)}


def digital_link(text: str) -> str | None:
    """The constrained canonical Digital Link URI of an EPC URN or Digital Link URI, or None for other text."""
    match = _URN.fullmatch(text)
    if match:
        return _from_urn(*match.groups())
    match = _DL_URI.fullmatch(text)
    if not match:
        return None
    key, value, rest = match.groups()
    segments = [segment for segment in rest.split("/") if segment]
    qualifiers = dict(zip(segments[0::2], segments[1::2], strict=False))
    for choice in _KEEP.get(key, ()):
        if all(ai in qualifiers for ai in choice):
            return _dl_base(key, value) + "".join(f"/{ai}/{qualifiers[ai]}" for ai in choice)
    return _dl_base(key, value)


def _dl_base(key: str, value: str) -> str:
    return f"{_DL}{key}/{value}"


def _gtin(company: str, indicator_item: str) -> str:
    body = indicator_item[:1] + company + indicator_item[1:]
    return body + gs1_check_digit(body)


def _from_urn(kind: str, scheme: str, rest: str) -> str | None:
    parts = rest.split(".")
    try:
        if scheme == "sgtin" and kind == "id" and len(parts) == 3:
            return f"{_DL}01/{_gtin(parts[0], parts[1])}/21/{parts[2]}"
        if scheme == "sgtin" and kind == "idpat" and len(parts) == 3 and parts[2] == "*":
            return f"{_DL}01/{_gtin(parts[0], parts[1])}"
        if scheme == "lgtin" and kind == "class" and len(parts) == 3:
            return f"{_DL}01/{_gtin(parts[0], parts[1])}/10/{parts[2]}"
        if scheme == "sscc" and len(parts) == 2:
            body = parts[1][:1] + parts[0] + parts[1][1:]
            return f"{_DL}00/{body}{gs1_check_digit(body)}"
        if scheme == "sgln" and len(parts) == 3:
            gln = parts[0] + parts[1]
            gln += gs1_check_digit(gln)
            return f"{_DL}414/{gln}" + ("" if parts[2] == "0" else f"/254/{parts[2]}")
        if scheme == "pgln" and len(parts) == 2:
            gln = parts[0] + parts[1]
            return f"{_DL}417/{gln}{gs1_check_digit(gln)}"
        if scheme == "gdti" and len(parts) == 3:
            body = parts[0] + parts[1]
            return f"{_DL}253/{body}{gs1_check_digit(body)}{parts[2]}"
        if scheme == "grai" and len(parts) == 3:
            body = "0" + parts[0] + parts[1]
            return f"{_DL}8003/{body}{gs1_check_digit(body)}{parts[2]}"
        if scheme == "giai" and len(parts) == 2:
            return f"{_DL}8004/{parts[0]}{parts[1]}"
        if scheme == "gsrn" and len(parts) == 2:
            body = parts[0] + parts[1]
            return f"{_DL}8018/{body}{gs1_check_digit(body)}"
    except IdentifierError:
        return None
    return None
