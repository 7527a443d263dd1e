"""QR labels: every PNG, SVG and PDF page is decoded by an independent decoder (zxing-cpp) back to the exact URI,
also after scaling down, rotating and blurring, at every error-correction level; the PDF is checked as a file (A4
pages, the embedded 1-bit images decoded back to the pages); the routes answer only for keys in the ledger."""

from __future__ import annotations

import io
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageFilter
from PIL.PdfParser import PdfParser

from scanner_web import labels
from scanner_web.labels import Label, LabelError
from tests.api.support import small_chain
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, gtin, sscc
from trace.context import lot_ref
from trace.identifiers import DigitalLink, parse_digital_link

BASE = "https://Trace.Example.cn"
HOST = "https://trace.example.cn"
LEVELS = ["L", "M", "Q", "H"]
SVG = "{http://www.w3.org/2000/svg}"
#: A lot and a serial that need percent-encoding, and the element string of their label.
ODD_LINK = DigitalLink(host="trace.example.cn", key_ai="01", key="06901234567892", lot="B&1/2", serial="S%1")
ODD_URI = f"{HOST}/01/06901234567892/10/B%261%2F2/21/S%251"


def decode(image: Image.Image) -> list[Any]:
    return list(zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode))


def decoded_texts(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in decode(image)]


def degraded(image: Image.Image) -> dict[str, Image.Image]:
    """The label as a phone might see it: half size, turned 17 and 90 degrees, blurred, and all of that at once."""
    grey = image.convert("L")
    half = grey.resize((grey.width // 2, grey.height // 2), Image.Resampling.LANCZOS)
    return {
        "half": half,
        "rotated 17": grey.rotate(17, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255),
        "rotated 90": grey.rotate(90, expand=True),
        "blurred": grey.filter(ImageFilter.GaussianBlur(radius=2)),
        "half, rotated 17 and blurred": half.rotate(17, resample=Image.Resampling.BICUBIC, expand=True,
                                                    fillcolor=255).filter(ImageFilter.GaussianBlur(radius=1)),
    }


# --- single labels --------------------------------------------------------------------------------------------------

def test_label_says_the_canonical_uri_and_the_element_string() -> None:
    label = labels.label_for(BASE, ODD_LINK, "青菜")
    assert label == Label(ODD_URI, ("(01) 06901234567892 (10) B&1/2 (21) S%1", "青菜"))
    assert parse_digital_link(label.uri) == ODD_LINK
    sscc_link = DigitalLink(host="x", key_ai="00", key=sscc(7))
    development = labels.label_for("http://127.0.0.1:5000", sscc_link)
    assert development == Label(f"http://127.0.0.1:5000/00/{sscc(7)}", (f"(00) {sscc(7)}",))


@pytest.mark.parametrize("level", LEVELS)
def test_png_decodes_to_the_exact_uri_also_scaled_rotated_and_blurred(level: str) -> None:
    label = labels.label_for(BASE, ODD_LINK, "青菜")
    data = labels.render_png(label.uri, label.text_lines, size_mm=30, dpi=300, error_correction=level)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width == round(30 / 25.4 * 300)
    assert tuple(round(value) for value in image.info["dpi"]) == (300, 300)
    [barcode] = decode(image)
    assert (barcode.text, barcode.bytes, barcode.ec_level) == (ODD_URI, ODD_URI.encode("ascii"), level)
    for name, variant in degraded(image).items():
        assert decoded_texts(variant) == [ODD_URI], name


@pytest.mark.parametrize(("size", "dpi"), [(20, 203), (20, 600), (100, 150), (45, 300)])
def test_every_allowed_size_and_resolution_decodes(size: int, dpi: int) -> None:
    image = labels.render_image(ODD_URI, ["(01) 06901234567892"], size_mm=size, dpi=dpi, error_correction="H")
    assert image.width == round(size / 25.4 * dpi)
    assert decoded_texts(image) == [ODD_URI]


def test_modules_are_whole_dots_inside_a_quiet_zone() -> None:
    image = labels.render_image(ODD_URI, (), size_mm=30, dpi=300, error_correction="M")
    modules = len(labels.qr_matrix(ODD_URI, "M"))
    dots = image.width // modules
    offset = (image.width - modules * dots) // 2
    assert image.height == image.width, "no text, no text block"
    expected = Image.frombytes("L", (modules, modules), bytes(0 if dark else 255 for row in labels.qr_matrix(
        ODD_URI, "M") for dark in row)).resize((modules * dots, modules * dots), Image.Resampling.NEAREST)
    symbol = image.crop((offset, offset, offset + modules * dots, offset + modules * dots))
    assert ImageChops.difference(symbol, expected).getbbox() is None
    quiet = labels.QUIET_ZONE_MODULES * dots + offset
    assert image.crop((0, 0, image.width, quiet)).getextrema() == (255, 255)
    assert image.crop((0, 0, quiet, image.height)).getextrema() == (255, 255)


def test_text_wraps_at_application_identifiers_and_a_missing_chinese_font_drops_the_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    label = labels.label_for(BASE, ODD_LINK, "青菜")
    svg = ElementTree.fromstring(labels.render_svg(label.uri, label.text_lines, size_mm=20))
    lines = [element.text for element in svg.iter(f"{SVG}text")]
    assert lines == ["(01) 06901234567892", "(10) B&1/2 (21) S%1", "青菜"]
    with_name = labels.render_image(label.uri, label.text_lines, size_mm=30)
    without_name = labels.render_image(label.uri, label.text_lines[:1], size_mm=30)
    if labels._font(10, True) is not None:
        assert with_name.height > without_name.height
    labels._font.cache_clear()
    monkeypatch.setattr(labels, "_font_file", lambda pattern, lang: None)
    try:
        fallback = labels.render_image(label.uri, label.text_lines, size_mm=30)
        assert fallback.height == without_name.height
        assert decoded_texts(fallback) == [ODD_URI]
    finally:
        labels._font.cache_clear()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: labels.render_png(ODD_URI, size_mm=19), "size must be 20 to 100 mm, found 19"),
    (lambda: labels.render_png(ODD_URI, size_mm=101), "size must be 20 to 100 mm, found 101"),
    (lambda: labels.render_png(ODD_URI, error_correction="X"), r"one of L \(7% recoverable\).*found 'X'"),
    (lambda: labels.render_svg(ODD_URI, error_correction="m"), "error correction must be one of"),
    (lambda: labels.render_png(ODD_URI, dpi=100), "dpi must be 150 to 600, found 100"),
    (lambda: labels.render_png(""), "1 to 512 characters, found 0"),
    (lambda: labels.render_png(HOST + "/01/06901234567892/10/青"), "printable ASCII"),
    (lambda: labels.render_png(ODD_URI, "(01) 06901234567892"), "not one string"),
    (lambda: labels.render_png(ODD_URI, ["a\nb"]), "control character"),
    (lambda: labels.render_png(HOST + "/" + "x" * 480, size_mm=20, dpi=150, error_correction="H"),
     r"leaves \d\.\d\d dots per module .* at least 2 are needed"),
    (lambda: labels.render_sheet_pdf([]), "a sheet has 1 to 300 labels, found 0"),
    (lambda: labels.render_sheet_pdf([Label(ODD_URI, ())] * 301), "found 301"),
])
def test_bad_inputs_are_refused_with_the_reason(call: Any, message: str) -> None:
    with pytest.raises(LabelError, match=message):
        call()


# --- SVG ----------------------------------------------------------------------------------------------------------

def svg_modules(document: str) -> tuple[ElementTree.Element, list[list[bool]]]:
    """The module matrix drawn by the SVG's path, read from its path data (runs ``M{x},{y}h{n}v1h-{n}z``)."""
    root = ElementTree.fromstring(document)
    [path] = root.iter(f"{SVG}path")
    data = path.get("d") or ""
    runs = re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", data)
    assert "".join(f"M{x},{y}h{n}v1h-{n}z" for x, y, n in runs) == data, "nothing but module runs"
    size = max(int(x) + int(n) for x, _, n in runs) + labels.QUIET_ZONE_MODULES
    matrix = [[False] * size for _ in range(size)]
    for x, y, n in runs:
        for column in range(int(x), int(x) + int(n)):
            matrix[int(y)][column] = True
    return root, matrix


def raster(matrix: list[list[bool]], dots: int = 6) -> Image.Image:
    image = Image.frombytes("L", (len(matrix), len(matrix)), bytes(0 if dark else 255 for row in matrix
                                                                    for dark in row))
    return image.resize((len(matrix) * dots, len(matrix) * dots), Image.Resampling.NEAREST)


@pytest.mark.parametrize("level", LEVELS)
def test_svg_draws_the_qr_matrix_and_escaped_text(level: str) -> None:
    text = ("(01) 06901234567892 (10) A<B>&\"'", "青菜 <b>")
    document = labels.render_svg(ODD_URI, text, size_mm=40, error_correction=level)
    assert "&lt;B&gt;&amp;" in document and "<b>" not in document
    root, matrix = svg_modules(document)
    assert matrix == labels.qr_matrix(ODD_URI, level)
    assert root.get("width") == "40mm" and root.get("viewBox", "").startswith("0 0 40 ")
    assert root.findtext(f"{SVG}title") == ODD_URI
    assert [element.text for element in root.iter(f"{SVG}text")] == ["(01) 06901234567892",
                                                                       "(10) A<B>&\"'", "青菜 <b>"]
    image = raster(matrix)
    [barcode] = decode(image)
    assert (barcode.text, barcode.ec_level) == (ODD_URI, level)
    for name, variant in degraded(image).items():
        assert decoded_texts(variant) == [ODD_URI], name


# --- sheets -------------------------------------------------------------------------------------------------------

def pdf_pages(data: bytes) -> list[tuple[list[float], Image.Image]]:
    """Each page's MediaBox and its image, decoded from the embedded CCITT G4 stream inside a minimal TIFF."""
    pdf = PdfParser(buf=data)
    out = []
    for reference in pdf.pages:
        page = pdf.read_indirect(reference)
        [image_ref] = page[b"Resources"][b"XObject"].values()
        stream = pdf.read_indirect(image_ref)
        info = stream.dictionary
        assert info[b"Filter"] == [b"CCITTFaxDecode"] and info[b"BitsPerComponent"] == 1
        width, height, raw = info[b"Width"], info[b"Height"], bytes(stream.buf[:info[b"Length"]])
        # TIFF tags: width, height, 1 bit per sample, group 4, black is zero (as Pillow wrote it), one strip
        # starting right after the header and this 9-entry directory.
        entries = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 1),
                   (273, 4, 8 + 2 + 9 * 12 + 4), (277, 3, 1), (278, 4, height), (279, 4, len(raw))]
        tiff = b"II*\x00" + struct.pack("<IH", 8, len(entries))
        for tag, kind, value in entries:
            tiff += struct.pack("<HHIHxx" if kind == 3 else "<HHII", tag, kind, 1, value)
        image = Image.open(io.BytesIO(tiff + struct.pack("<I", 0) + raw))
        image.load()
        out.append(([float(value) for value in page[b"MediaBox"]], image))
    return out


def test_sheet_pages_hold_every_label_and_the_pdf_is_a4() -> None:
    links = [DigitalLink(host="x", key_ai="01", key=gtin("6901234", item), lot=f"L/{item}") for item in range(3)]
    sheet = [labels.label_for(BASE, link, "青菜") for link in links for _ in range(21)]
    pages = labels.render_sheet_pages(sheet, size_mm=30, error_correction="Q", dpi=300)
    assert len(pages) == 3 and {page.size for page in pages} == {(2480, 3508)}
    decoded = Counter(text for page in pages for text in decoded_texts(page))
    assert decoded == Counter(label.uri for label in sheet)
    assert decoded_texts(pages[0].resize((1240, 1754), Image.Resampling.LANCZOS))[:1], "legible at 150 dpi"

    embedded = pdf_pages(labels.render_sheet_pdf(sheet, size_mm=30, error_correction="Q", dpi=300))
    assert len(embedded) == len(pages)
    for (box, image), page in zip(embedded, pages, strict=True):
        assert [round(value) for value in box] == [0, 0, 595, 842]
        assert ImageChops.difference(image.convert("L"), page.convert("L")).getbbox() is None


def test_large_labels_go_two_to_a_page() -> None:
    sheet = [Label(ODD_URI, ("(01) 06901234567892",))] * 3
    pages = labels.render_sheet_pages(sheet, size_mm=100, error_correction="H", dpi=150)
    assert [len(decoded_texts(page)) for page in pages] == [2, 1]


# --- routes -------------------------------------------------------------------------------------------------------

@pytest.fixture
def app(harness: LedgerHarness) -> Iterator[Any]:
    """The application with the QR codes pointing at :data:`BASE` and the labels routes registered."""
    from api import create_app
    from scanner_web.label_views import blueprint
    settings = harness.settings
    application = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                              "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase,
                              "testing": True, "rate_limits": False, "public_base_url": BASE})
    if blueprint.name not in application.blueprints:
        application.register_blueprint(blueprint)
    yield application
    application.extensions["trace"].engine.dispose()


@dataclass
class Codes:
    greens: str
    boxed: str
    pallet: str


@pytest.fixture
def codes(harness: LedgerHarness) -> Codes:
    """A farm lot (QG-1 of 青菜), a serialised lot ``B&1/2`` with units ``S/1`` and ``S%2``, and a pallet."""
    chain = small_chain(harness)
    world, farm = chain.world, chain.farm
    boxed = gtin("6901234", 2)
    world.product(farm, boxed, "礼盒青菜", "farm")
    boxed_ref = lot_ref(boxed, "B&1/2")
    world.act(farm.signer, "trace.commission",
              {"gtin": boxed, "lot": "B&1/2", "quantity": "2", "unit": "EA", "produced_on": "2026-11-20",
               "activity": "harvest", "origin": {"place": "闽侯县"}, "units": ["S/1", "S%2"],
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [boxed_ref])
    pallet = sscc(5)
    world.act(farm.signer, "trace.aggregate", {"sscc": pallet, "contents": [{"batch": chain.ref, "quantity": "100"}]},
              [f"00/{pallet}", chain.ref])
    return Codes(chain.gtin, boxed, pallet)


def test_label_routes_answer_images_of_ledger_keys(client: Any, codes: Codes) -> None:
    cases = [
        (f"/labels/01/{codes.greens}/10/QG-1.png", f"{HOST}/01/{codes.greens}/10/QG-1", "青菜"),
        (f"/labels/01/{codes.greens.lstrip('0')}/10/QG-1.png", f"{HOST}/01/{codes.greens}/10/QG-1", "青菜"),
        (f"/labels/01/{codes.boxed}/10/B%261%2F2.png?size=40&ec=H&dpi=600",
         f"{HOST}/01/{codes.boxed}/10/B%261%2F2", "礼盒青菜"),
        (f"/labels/01/{codes.boxed}/21/S%2F1.png?ec=L", f"{HOST}/01/{codes.boxed}/21/S%2F1", "礼盒青菜"),
        (f"/labels/01/{codes.boxed}/10/B&1%2f2/21/S%252.png?size=20",
         f"{HOST}/01/{codes.boxed}/10/B%261%2F2/21/S%252", "礼盒青菜"),
        (f"/labels/00/{codes.pallet}.png?ec=Q", f"{HOST}/00/{codes.pallet}", None),
    ]
    for path, uri, _ in cases:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_json())
        assert response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        image = Image.open(io.BytesIO(response.data))
        assert decoded_texts(image) == [uri], path
        assert all(decoded_texts(variant) == [uri] for variant in degraded(image).values()), path
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304

    for path, uri, name in cases:
        response = client.get(path.replace(".png", ".svg").replace("&dpi=600", ""))
        assert response.status_code == 200, path
        assert response.mimetype == "image/svg+xml" and response.mimetype_params["charset"] == "utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
        root, matrix = svg_modules(response.get_data(as_text=True))
        assert decoded_texts(raster(matrix)) == [uri]
        texts = [element.text for element in root.iter(f"{SVG}text")]
        assert texts[0].startswith("(0") and (name in texts) == (name is not None)


def test_label_routes_refuse_unknown_keys_and_bad_parameters(client: Any, codes: Codes) -> None:
    wrong_check = codes.greens[:-1] + str((int(codes.greens[-1]) + 1) % 10)
    cases = [
        (f"/labels/01/{codes.greens}/10/NOPE.png", 404, "not_found.batch"),
        (f"/labels/01/{codes.greens}/10/NOPE.svg", 404, "not_found.batch"),
        (f"/labels/01/{codes.boxed}/21/S%2F9.png", 404, "not_found.unit"),
        (f"/labels/01/{codes.greens}/21/S%2F1.png", 404, "not_found.unit"),
        (f"/labels/01/{codes.boxed}/10/QG-1/21/S%2F1.png", 404, "not_found.unit"),
        (f"/labels/00/{sscc(6)}.png", 404, "not_found.batch"),
        (f"/labels/01/{wrong_check}/10/QG-1.png", 400, "request.gtin"),
        (f"/labels/00/{codes.pallet[:-1]}0.png", 400, "request.sscc"),
        (f"/labels/01/{codes.greens}.png", 400, "request.label_code"),
        (f"/labels/01/{codes.greens}/22/A/10/QG-1.png", 400, "request.label_code"),
        (f"/labels/414/{codes.greens[1:]}.png", 400, "request.label_code"),
        (f"/labels/01/{codes.greens}/10/A%20B.png", 400, "request.digital_link"),
        (f"/labels/01/{codes.greens}/10/{'L' * 21}.png", 400, "request.digital_link"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?ec=X", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?ec=m", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?size=19", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?size=101", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?size=3.5e1", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?size=30&size=40", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?dpi=1200", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.svg?dpi=300", 400, "request.parameter"),
        (f"/labels/01/{codes.greens}/10/QG-1.png?colour=red", 400, "request.parameter"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), path
        assert "immutable" not in response.headers.get("Cache-Control", ""), path
    message = client.get(f"/labels/01/{wrong_check}/10/QG-1.png").get_json()["error"]["message"]
    assert "check digit wrong: expected" in message
    message = client.get(f"/labels/01/{codes.greens}/10/QG-1.png?ec=X").get_json()["error"]["message"]
    assert "L (7% recoverable), M (15% recoverable), Q (25% recoverable), H (30% recoverable)" in message


def test_sheet_route_answers_a4_pdf_of_the_codes(client: Any, codes: Codes) -> None:
    greens = f"01/{codes.greens}/10/QG-1"
    response = client.get("/labels/sheet.pdf", query_string=[
        ("code", greens), ("code", f"{BASE}/01/{codes.boxed}/10/B%261%2F2/21/S%2F1"), ("code", f"/00/{codes.pallet}"),
        ("copies", "12"), ("size", "40"), ("ec", "Q")])
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Disposition"] == 'inline; filename="labels.pdf"'
    pages = pdf_pages(response.data)
    assert all([round(value) for value in box] == [0, 0, 595, 842] for box, _ in pages)
    decoded = Counter(text for _, image in pages for text in decoded_texts(image))
    assert decoded == Counter({f"{HOST}/{greens}": 12, f"{HOST}/01/{codes.boxed}/10/B%261%2F2/21/S%2F1": 12,
                               f"{HOST}/00/{codes.pallet}": 12})

    cases = [
        ([], 400, "request.parameter"),
        ([("code", greens), ("copies", "0")], 400, "request.parameter"),
        ([("code", greens), ("copies", "301")], 400, "request.parameter"),
        ([("code", greens), ("code", greens), ("copies", "151")], 400, "request.parameter"),
        ([("code", greens), ("ec", "Z")], 400, "request.parameter"),
        ([("code", greens), ("page", "A3")], 400, "request.parameter"),
        ([("code", f"01/{codes.greens}/10/NOPE")], 404, "not_found.batch"),
        ([("code", f"{greens}?linkType=all")], 400, "request.digital_link"),
        ([("code", f"{BASE}/{greens}?17=261130")], 400, "request.digital_link"),
        ([("code", f"01/{codes.greens}")], 400, "request.label_code"),
    ]
    for query, status, code in cases:
        response = client.get("/labels/sheet.pdf", query_string=query)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), query
