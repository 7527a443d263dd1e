"""QR labels over HTTP: one label as PNG or SVG for every lot, serialised unit and logistic unit in the ledger, and
A4 sheets of labels as PDF.

- ``GET /labels/01/{gtin}/10/{lot}.png|.svg`` (a lot), ``/labels/01/{gtin}/21/{serial}.png|.svg`` and
  ``/labels/01/{gtin}/10/{lot}/21/{serial}.png|.svg`` (a serialised unit), ``/labels/00/{sscc}.png|.svg`` (a
  logistic unit); query ``size`` (mm), ``ec`` (L, M, Q, H) and, for PNG, ``dpi``.
- ``GET /labels/sheet.pdf?code={Digital Link path}&code=…&copies=&size=&ec=&dpi=``.

The path after ``/labels/`` is the Digital Link path, percent-encoding included: it is read from the raw request
URI, because the decoded path would turn a lot's ``%2F`` into a separator. A label exists only for a key in the
ledger (404 otherwise). Errors answer the API's JSON error shape, since an image request cannot show a page.
Labels never change for a given key, size, level and resolution, so they are cached for a year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from api.context import app_context, read_session
from api.errors import error_response, status_for
from api.responses import IMMUTABLE
from ledger import LedgerError
from trace import queries
from trace.identifiers import DigitalLink, IdentifierError, normalise_gtin, parse_digital_link

from .labels import (
    DEFAULT_DPI,
    DEFAULT_ERROR_CORRECTION,
    DEFAULT_SIZE_MM,
    MAX_DPI,
    MAX_SHEET_LABELS,
    MAX_SIZE_MM,
    MIN_DPI,
    MIN_SIZE_MM,
    Label,
    LabelError,
    check_options,
    label_for,
    render_png,
    render_sheet_pdf,
    render_svg,
)
from .raw_target import raw_path

blueprint = Blueprint("labels", __name__)
_T = TypeVar("_T")

#: Distinct codes on one sheet: each is looked up in the ledger.
MAX_SHEET_CODES = 100
_SHAPES = "01/{GTIN}/10/{lot}, 01/{GTIN}/21/{serial}, 01/{GTIN}/10/{lot}/21/{serial} or 00/{SSCC}"
_SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@blueprint.errorhandler(LedgerError)
def _label_error(exc: LedgerError) -> Response:
    return error_response(status_for(exc.code), exc.code, exc.message)


@blueprint.get("/labels/<path:code>.png")
def label_png(code: str) -> Response:
    """One label as a PNG at ``dpi`` (default 300) whose metadata carries the resolution."""
    size, ec, dpi = _options(frozenset({"size", "ec", "dpi"}))
    label = _label(read_session(), _request_code(code, ".png"))
    return _immutable(_render(lambda: render_png(label.uri, label.text_lines, size_mm=size, dpi=dpi,
                                                 error_correction=ec)), "image/png")


@blueprint.get("/labels/<path:code>.svg")
def label_svg(code: str) -> Response:
    """One label as an SVG document ``size`` mm wide."""
    size, ec, _ = _options(frozenset({"size", "ec"}))
    label = _label(read_session(), _request_code(code, ".svg"))
    response = _immutable(_render(lambda: render_svg(label.uri, label.text_lines, size_mm=size,
                                                     error_correction=ec)).encode("utf-8"), "image/svg+xml")
    response.headers["Content-Security-Policy"] = _SVG_POLICY
    return response


@blueprint.get("/labels/sheet.pdf")
def label_sheet() -> Response:
    """An A4 PDF of the labels of every ``code`` (a Digital Link path or URI), each ``copies`` times in order."""
    size, ec, dpi = _options(frozenset({"size", "ec", "dpi", "code", "copies"}))
    codes = request.args.getlist("code")
    if not 0 < len(codes) <= MAX_SHEET_CODES:
        raise LedgerError(f"a sheet needs 1 to {MAX_SHEET_CODES} code parameters (Digital Link paths such as "
                          f"01/06901234567892/10/LOT1), found {len(codes)}", code="request.parameter")
    copies = _int_arg("copies", 1, 1, MAX_SHEET_LABELS, "")
    if len(codes) * copies > MAX_SHEET_LABELS:
        raise LedgerError(f"a sheet has at most {MAX_SHEET_LABELS} labels; {len(codes)} codes x {copies} copies "
                          f"is {len(codes) * copies}", code="request.parameter")
    session = read_session()
    labels: list[Label] = []
    for code in codes:
        labels.extend([_label(session, _sheet_code(code))] * copies)
    pdf = _render(lambda: render_sheet_pdf(labels, size_mm=size, error_correction=ec, dpi=dpi))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Content-Disposition"] = 'inline; filename="labels.pdf"'
    return response


# --- the code --------------------------------------------------------------------------------------------------

def _request_code(decoded: str, extension: str) -> DigitalLink:
    """The label's Digital Link from the path as sent (:func:`scanner_web.raw_target.raw_path`); from the decoded
    path re-encoded when that path is not under this route."""
    path = raw_path()
    prefix = quote(request.script_root) + "/labels/"
    if path.startswith(prefix) and path.endswith(extension):
        return _parse_code(path[len(prefix):-len(extension)])
    return _parse_code(quote(decoded, safe="/"))


def _sheet_code(code: str) -> DigitalLink:
    """A sheet's ``code``: a Digital Link path (``01/…``, a leading '/' allowed) or a whole Digital Link URI."""
    if code.startswith(("http://", "https://")):
        parts = urlsplit(code)
        if parts.query or parts.fragment:
            raise LedgerError(f"code {code}: a label's Digital Link has no query or fragment",
                              code="request.digital_link")
        code = parts.path
    elif "?" in code or "#" in code:
        raise LedgerError(f"code {code}: '?' and '#' must be percent-encoded in a Digital Link path",
                          code="request.digital_link")
    return _parse_code(code.removeprefix("/"))


def _parse_code(code: str) -> DigitalLink:
    """``code`` as a Digital Link of a lot, a serialised unit or a logistic unit; a GTIN-8, -12 or -13 is taken as
    its GTIN-14. Raises ``request.gtin``, ``request.sscc``, ``request.digital_link`` or ``request.label_code``."""
    host = urlsplit(app_context().settings.public_base_url).netloc.lower()
    segments = code.split("/")
    try:
        if len(segments) > 1 and segments[0] == "01" and len(segments[1]) in (8, 12, 13):
            segments[1] = normalise_gtin(segments[1])
        link = parse_digital_link(f"https://{host}/{'/'.join(segments)}")
    except IdentifierError as exc:
        raise LedgerError(f"label code {code}: {exc.message}", code=f"request.{exc.code.split('.')[0]}") from None
    is_trade_item = link.key_ai == "01" and link.cpv is None and (link.lot is not None or link.serial is not None)
    if not (is_trade_item or link.key_ai == "00") or link.expiry is not None or link.link_type is not None or \
            link.other_attributes:
        raise LedgerError(f"label code {code}: a label is for {_SHAPES}", code="request.label_code")
    return link


def _label(session: Session, link: DigitalLink) -> Label:
    """The label of ``link`` if its key is in the ledger, with the product name; raises ``not_found.batch`` or
    ``not_found.unit``."""
    base_url = app_context().settings.public_base_url
    if link.key_ai == "00":
        queries.batch(session, queries.sscc_ref_of(link.key))
        return label_for(base_url, link)
    if link.serial is None:
        assert link.lot is not None
        name = queries.batch(session, queries.lot_ref_of(link.key, link.lot))["product_name"]
    else:
        queries.unit_ref(session, link.key, link.serial, link.lot)
        name = queries.product(session, link.key)["name"]
    return label_for(base_url, link, name)


# --- parameters and answers -------------------------------------------------------------------------------------

def _options(allowed: frozenset[str]) -> tuple[int, str, int]:
    """``size``, ``ec`` and ``dpi`` with their defaults; raises ``request.parameter`` for any other parameter, a
    repeated one, or a value out of range."""
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise LedgerError(f"unknown query parameter {unknown[0]!r}; this route takes {', '.join(sorted(allowed))}",
                          code="request.parameter")
    size = _int_arg("size", DEFAULT_SIZE_MM, MIN_SIZE_MM, MAX_SIZE_MM, " mm")
    dpi = _int_arg("dpi", DEFAULT_DPI, MIN_DPI, MAX_DPI, " dpi")
    ec = _one_arg("ec") or DEFAULT_ERROR_CORRECTION
    try:
        check_options(size, ec, dpi)
    except LabelError as exc:
        raise LedgerError(f"query parameter ec: {exc}", code="request.parameter") from None
    return size, ec, dpi


def _one_arg(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise LedgerError(f"query parameter {name} is given {len(values)} times", code="request.parameter")
    return values[0] if values else None


def _int_arg(name: str, default: int, minimum: int, maximum: int, unit: str) -> int:
    raw = _one_arg(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not minimum <= int(raw) <= maximum:
        raise LedgerError(f"query parameter {name} must be a whole number from {minimum} to {maximum}{unit}, "
                          f"found {raw!r}", code="request.parameter")
    return int(raw)


def _render(make: Callable[[], _T]) -> _T:
    """Call the renderer ``make``; a label it cannot make from these parameters (too few dots per module) is the
    client's to fix, ``request.label``."""
    try:
        return make()
    except LabelError as exc:
        raise LedgerError(str(exc), code="request.label") from None


def _immutable(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.make_conditional(request)  # 304 without a body when If-None-Match matches
    return response
