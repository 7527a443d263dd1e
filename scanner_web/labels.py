"""QR labels for GS1 Digital Link URIs: single labels as PNG and SVG, and A4 sheets of labels as a PDF.

A label is a QR code of the URI with its 4-module quiet zone, ``size_mm`` wide, and the human-readable text beneath
(the GS1 element string, optionally the product name). No Flask and no database here: the caller passes the URI and
the text. Every caller-fixable input error is a :class:`LabelError` (a ``ValueError``) that says what was expected
and what was found.

Fonts are looked up with ``fc-match`` when first needed: a monospace font for ASCII lines and a Chinese font for the
others. Without a Chinese font a non-ASCII line is left off the bitmap labels rather than drawn as empty boxes; the
SVG names the fonts and leaves the drawing to the viewer.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont, features

from trace.identifiers import DigitalLink

from .links import public_uri

#: Error-correction levels and the share of the symbol each can restore.
ERROR_CORRECTION = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
                    "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
_RECOVERY = {"L": "7%", "M": "15%", "Q": "25%", "H": "30%"}
DEFAULT_ERROR_CORRECTION = "M"
#: Label width (the QR code with its quiet zone) in millimetres.
MIN_SIZE_MM, MAX_SIZE_MM, DEFAULT_SIZE_MM = 20, 100, 30
#: Raster resolution of PNG labels and PDF sheets, dots per inch.
MIN_DPI, MAX_DPI, DEFAULT_DPI = 150, 600, 300
QUIET_ZONE_MODULES = 4
#: With one dot per module, a single dot spread or lost by the printer breaks a module.
MIN_MODULE_DOTS = 2
MAX_SHEET_LABELS = 300
MAX_URI_LENGTH = 512
A4_MM = (210.0, 297.0)
SHEET_MARGIN_MM = 10.0
SHEET_GAP_MM = 3.0

# Text: the em size is 7% of the label width, at least 2 mm, shrunk to no less than 1.2 mm (about 3.4 pt) to fit.
_TEXT_SHARE = 0.07
_TEXT_TARGET_MM = 2.0
_TEXT_MIN_MM = 1.2
_TEXT_PAD_MM = 1.0
_LINE_SPACING = 1.2
_SVG_LAYOUT_DPI = 300
_SVG_MONO = "'DejaVu Sans Mono', 'Liberation Mono', monospace"
_SVG_CJK = "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif"
_ELEMENT_LINE = re.compile(r"\(\d{2,4}\) ")


class LabelError(ValueError):
    """A label cannot be made from these inputs; the message says which input and what is allowed."""


@dataclass(frozen=True)
class Label:
    """What one label shows: the URI in the QR code and the lines of text beneath it."""

    uri: str
    text_lines: tuple[str, ...]


# --- what a label says --------------------------------------------------------------------------------------------

def element_string(link: DigitalLink) -> str:
    """The GS1 element string of the label's keys as people read it: ``(01) 06901234567892 (10) LOT1``."""
    parts = [f"({link.key_ai}) {link.key}"]
    parts.extend(f"({ai}) {value}" for ai, value in (("10", link.lot), ("21", link.serial))
                 if value is not None)
    return " ".join(parts)


def label_for(base_url: str, link: DigitalLink, product_name: str | None = None) -> Label:
    """The label of ``link``: its canonical URI under ``base_url`` (:func:`scanner_web.links.public_uri`, the URI
    the resolver answers), its element string, then the product name if given. Raises ``IdentifierError`` for a
    link that breaks a Digital Link rule."""
    lines = [element_string(link)]
    if product_name:
        lines.append(product_name)
    uri = public_uri(base_url, link.key_ai, link.key, lot=link.lot, serial=link.serial)
    return Label(uri, tuple(lines))


# --- checks -----------------------------------------------------------------------------------------------------

def check_options(size_mm: float, error_correction: str, dpi: int | None = None) -> None:
    """Return nothing when the size, error-correction level and (if given) resolution are allowed; raise
    :class:`LabelError` naming the first that is not."""
    if not MIN_SIZE_MM <= size_mm <= MAX_SIZE_MM:
        raise LabelError(f"size must be {MIN_SIZE_MM} to {MAX_SIZE_MM} mm, found {size_mm}")
    _check_level(error_correction)
    if dpi is not None and not MIN_DPI <= dpi <= MAX_DPI:
        raise LabelError(f"dpi must be {MIN_DPI} to {MAX_DPI}, found {dpi}")


def _check_level(error_correction: str) -> None:
    if error_correction not in ERROR_CORRECTION:
        levels = ", ".join(f"{level} ({share} recoverable)" for level, share in _RECOVERY.items())
        raise LabelError(f"error correction must be one of {levels}, found {error_correction!r}")


def qr_matrix(uri: str, error_correction: str) -> list[list[bool]]:
    """The QR symbol of ``uri`` as rows of modules (``True`` is dark), quiet zone included. Raises
    :class:`LabelError` for an empty, non-ASCII or too long URI, or an unknown level."""
    if not 0 < len(uri) <= MAX_URI_LENGTH:
        raise LabelError(f"a label's URI has 1 to {MAX_URI_LENGTH} characters, found {len(uri)}")
    if not (uri.isascii() and uri.isprintable()) or " " in uri:
        raise LabelError("a label's URI must be printable ASCII without spaces (percent-encode the rest)")
    _check_level(error_correction)
    return [list(row) for row in _matrix_rows(uri, error_correction)]


@lru_cache(maxsize=512)
def _matrix_rows(uri: str, error_correction: str) -> tuple[tuple[bool, ...], ...]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION[error_correction], border=QUIET_ZONE_MODULES)
    code.add_data(uri)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


# --- fonts and text layout --------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _font_file(pattern: str, lang: str | None) -> tuple[str, int] | None:
    """``fc-match``'s file and face index for ``pattern``, or None when there is no fontconfig or, with ``lang``,
    no installed font covers that language (fc-match always answers with something)."""
    try:
        result = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{lang}", pattern], capture_output=True,
                                text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    file, index, langs = (result.stdout.split("\n") + ["", "", ""])[:3]
    if not file or (lang is not None and lang not in langs.split("|")):
        return None
    return file, int(index or 0)


@lru_cache(maxsize=64)
def _font(size_px: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont | None:
    """The font for ASCII lines (monospace, Pillow's own as a last resort) or for other lines (a Chinese font, or
    None when none is installed)."""
    found = _font_file("sans-serif:lang=zh-cn", "zh-cn") if cjk else _font_file("monospace", None)
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size_px, index=found[1])
        except OSError:
            pass
    return None if cjk else ImageFont.load_default(size_px)


@dataclass(frozen=True)
class _TextBlock:
    size_px: int
    lines: tuple[str, ...]
    line_px: int
    height_px: int


def _mm_to_px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def _drawable(line: str) -> bool:
    return line.isascii() or _font(10, True) is not None


def _width(line: str, size_px: int) -> float:
    font = _font(size_px, not line.isascii())
    assert font is not None
    return float(font.getlength(line))


def _cut(word: str, size_px: int, width_px: int) -> list[str]:
    """``word`` cut between characters into pieces that each fit ``width_px`` (a lone character always passes)."""
    pieces: list[str] = []
    while len(word) > 1 and _width(word, size_px) > width_px:
        cut = 1
        while cut + 1 < len(word) and _width(word[:cut + 1], size_px) <= width_px:
            cut += 1
        pieces.append(word[:cut])
        word = word[cut:]
    pieces.append(word)
    return pieces


def _wrap(line: str, size_px: int, width_px: int, cut_words: bool) -> list[str]:
    """``line`` broken to fit ``width_px``: element strings before each ``(AI)``, other ASCII text at spaces,
    Chinese text between any characters; with ``cut_words`` a word too long for a line is cut too."""
    if _ELEMENT_LINE.match(line):
        words, joiner = re.split(r" (?=\(\d)", line), " "
    elif line.isascii():
        words, joiner = line.split(" "), " "
    else:
        words, joiner = list(line), ""
    out: list[str] = []
    for word in words:
        for piece in _cut(word, size_px, width_px) if cut_words else [word]:
            if out and _width(out[-1] + joiner + piece, size_px) <= width_px:
                out[-1] += joiner + piece
            else:
                out.append(piece)
    return out


def _layout_text(text_lines: Sequence[str], width_px: int, dpi: int) -> _TextBlock:
    """One font size for every line, the largest from the target down that fits the width once lines are
    wrapped; at the smallest size words are cut if they still do not fit."""
    lines = [line for line in text_lines if line and _drawable(line)]
    pad = _mm_to_px(_TEXT_PAD_MM, dpi)
    usable = width_px - 2 * pad
    target = max(_mm_to_px(_TEXT_TARGET_MM, dpi), round(width_px * _TEXT_SHARE))
    smallest = min(target, _mm_to_px(_TEXT_MIN_MM, dpi))
    if not lines:
        return _TextBlock(target, (), 0, 0)
    for size in range(target, smallest - 1, -1):
        wrapped = [part for line in lines for part in _wrap(line, size, usable, cut_words=False)]
        if all(_width(part, size) <= usable for part in wrapped):
            break
    else:
        size = smallest
        wrapped = [part for line in lines for part in _wrap(line, size, usable, cut_words=True)]
    line_px = round(size * _LINE_SPACING)
    return _TextBlock(size, tuple(wrapped), line_px, line_px * len(wrapped) + pad)


def _validate_text(text_lines: Sequence[str]) -> None:
    if isinstance(text_lines, str):
        raise LabelError("text_lines is a sequence of lines, not one string")
    for line in text_lines:
        if not line.isprintable():
            raise LabelError(f"text line {line!r} has a control character")


# --- raster labels ------------------------------------------------------------------------------------------------

def render_image(uri: str, text_lines: Sequence[str] = (), *, size_mm: float = DEFAULT_SIZE_MM,
                 dpi: int = DEFAULT_DPI, error_correction: str = DEFAULT_ERROR_CORRECTION) -> Image.Image:
    """The label as a greyscale image ``size_mm`` wide at ``dpi``: the QR code in a square with at least the
    4-module quiet zone, every module the same whole number of dots, and the text centred beneath.

    Raises :class:`LabelError` for a size, level or resolution out of range, a bad URI, or a symbol that would get
    fewer than :data:`MIN_MODULE_DOTS` dots per module.
    """
    check_options(size_mm, error_correction, dpi)
    _validate_text(text_lines)
    matrix = qr_matrix(uri, error_correction)
    width = _mm_to_px(size_mm, dpi)
    modules = len(matrix)
    dots = width // modules
    if dots < MIN_MODULE_DOTS:
        raise LabelError(f"a {size_mm} mm label at {dpi} dpi leaves {width / modules:.2f} dots per module for this "
                         f"{modules}-module code; at least {MIN_MODULE_DOTS} are needed: choose a larger size, a "
                         "higher dpi or a lower error-correction level")
    symbol = Image.frombytes("L", (modules, modules), bytes(0 if dark else 255 for row in matrix for dark in row))
    symbol = symbol.resize((modules * dots, modules * dots), Image.Resampling.NEAREST)
    text = _layout_text(text_lines, width, dpi)
    image = Image.new("L", (width, width + text.height_px), 255)
    offset = (width - modules * dots) // 2
    image.paste(symbol, (offset, offset))
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(text.lines):
        font = _font(text.size_px, not line.isascii())
        assert font is not None
        top = width + number * text.line_px
        draw.text((width / 2, top + text.line_px / 2), line, fill=0, font=font, anchor="mm")
    return image


def render_png(uri: str, text_lines: Sequence[str] = (), *, size_mm: float = DEFAULT_SIZE_MM,
               dpi: int = DEFAULT_DPI, error_correction: str = DEFAULT_ERROR_CORRECTION) -> bytes:
    """The label of :func:`render_image` as PNG bytes that carry ``dpi``, so printing at 100% gives ``size_mm``."""
    buffer = io.BytesIO()
    render_image(uri, text_lines, size_mm=size_mm, dpi=dpi, error_correction=error_correction).save(
        buffer, "PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()


# --- vector labels ------------------------------------------------------------------------------------------------

def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def svg_path_data(matrix: Sequence[Sequence[bool]]) -> str:
    """The dark modules as one SVG path in module units: a rectangle ``M{x},{y}h{n}v1h-{n}z`` per run."""
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
    return "".join(runs)


def render_svg(uri: str, text_lines: Sequence[str] = (), *, size_mm: float = DEFAULT_SIZE_MM,
               error_correction: str = DEFAULT_ERROR_CORRECTION) -> str:
    """The label as a standalone SVG document ``size_mm`` wide: the QR code as one path in module units (quiet
    zone included), the text beneath as SVG text, XML-escaped, laid out as on a 300 dpi PNG. Raises
    :class:`LabelError` as :func:`render_image` does (there is no dot size to check)."""
    check_options(size_mm, error_correction)
    _validate_text(text_lines)
    matrix = qr_matrix(uri, error_correction)
    module_mm = size_mm / len(matrix)
    text = _layout_text(text_lines, _mm_to_px(size_mm, _SVG_LAYOUT_DPI), _SVG_LAYOUT_DPI)
    px_mm = 25.4 / _SVG_LAYOUT_DPI
    height = size_mm + text.height_px * px_mm
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_number(size_mm)}mm" height="{_number(height)}mm" '
             f'viewBox="0 0 {_number(size_mm)} {_number(height)}">',
             f"<title>{escape(uri)}</title>",
             '<rect width="100%" height="100%" fill="#fff"/>',
             f'<path transform="scale({module_mm:.6f})" shape-rendering="crispEdges" fill="#000" '
             f'd="{svg_path_data(matrix)}"/>']
    for number, line in enumerate(text.lines):
        family = _SVG_MONO if line.isascii() else _SVG_CJK
        middle = size_mm + (number + 0.5) * text.line_px * px_mm
        parts.append(f'<text x="{_number(size_mm / 2)}" y="{_number(middle)}" '
                     f'font-size="{_number(text.size_px * px_mm)}" font-family="{family}" text-anchor="middle" '
                     f'dominant-baseline="central" fill="#000">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --- A4 sheets ----------------------------------------------------------------------------------------------------

def render_sheet_pages(labels: Sequence[Label], *, size_mm: float = DEFAULT_SIZE_MM,
                       error_correction: str = DEFAULT_ERROR_CORRECTION, dpi: int = DEFAULT_DPI) -> list[Image.Image]:
    """A4 pages (1-bit images at ``dpi``) with ``labels`` in order, row by row, as many to a page as fit inside
    :data:`SHEET_MARGIN_MM` margins with :data:`SHEET_GAP_MM` between them, the grid centred across the page.

    Raises :class:`LabelError` for no labels, more than :data:`MAX_SHEET_LABELS`, or any input
    :func:`render_image` refuses.
    """
    if not 0 < len(labels) <= MAX_SHEET_LABELS:
        raise LabelError(f"a sheet has 1 to {MAX_SHEET_LABELS} labels, found {len(labels)}")
    check_options(size_mm, error_correction, dpi)
    images: dict[Label, Image.Image] = {}
    for label in labels:
        if label not in images:
            images[label] = render_image(label.uri, label.text_lines, size_mm=size_mm, dpi=dpi,
                                         error_correction=error_correction)
    page_w, page_h = (_mm_to_px(side, dpi) for side in A4_MM)
    margin, gap = _mm_to_px(SHEET_MARGIN_MM, dpi), _mm_to_px(SHEET_GAP_MM, dpi)
    cell_w = _mm_to_px(size_mm, dpi)
    cell_h = max(image.height for image in images.values())
    columns = (page_w - 2 * margin + gap) // (cell_w + gap)
    rows = (page_h - 2 * margin + gap) // (cell_h + gap)
    if rows < 1:
        raise LabelError(f"a {size_mm} mm label with its text is taller than an A4 page's printable height")
    left = (page_w - columns * cell_w - (columns - 1) * gap) // 2
    pages: list[Image.Image] = []
    for first in range(0, len(labels), columns * rows):
        page = Image.new("L", (page_w, page_h), 255)
        for position, label in enumerate(labels[first:first + columns * rows]):
            row, column = divmod(position, columns)
            page.paste(images[label], (left + column * (cell_w + gap), margin + row * (cell_h + gap)))
        pages.append(page.convert("1", dither=Image.Dither.NONE))
    return pages


def render_sheet_pdf(labels: Sequence[Label], *, size_mm: float = DEFAULT_SIZE_MM,
                     error_correction: str = DEFAULT_ERROR_CORRECTION, dpi: int = DEFAULT_DPI) -> bytes:
    """The pages of :func:`render_sheet_pages` as one PDF, each page A4 (595 x 842 pt) holding a lossless 1-bit
    image: CCITT G4, or a palette image when Pillow lacks libtiff; never JPEG, which would blur the modules."""
    pages = render_sheet_pages(labels, size_mm=size_mm, error_correction=error_correction, dpi=dpi)
    if not features.check("libtiff"):
        pages = [page.convert("P") for page in pages]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi),
                  title="QR labels", producer="trace labels")
    return buffer.getvalue()
