"""The one place untrusted images are opened (trace.images), and how photos and documents report its refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from trace.complaint_photos import PhotoError, reencode_photo
from trace.documents import DocumentError, check_document
from trace.images import ImageRejected, open_image


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, format="PNG")
    return out.getvalue()


def test_open_image_yields_an_image_of_an_accepted_format() -> None:
    with open_image(_png(3, 2), ("PNG",), max_pixels=6) as image:
        assert (image.format, image.size) == ("PNG", (3, 2))


@pytest.mark.parametrize(("data", "formats", "max_pixels", "reason", "message"), [
    (_png(3, 3), ("PNG",), 8, "too_many_pixels", "the image has 3x3 pixels; at most 8"),
    (_png(3, 3), ("JPEG", "WEBP"), 100, "not_image", "the file is not a JPEG or WEBP image"),
    (b"not an image at all", ("PNG",), 100, "not_image", "the file is not a PNG image"),
    (_png(2000, 2000, "1")[:120], ("PNG",), 10_000_000, "damaged", "the image cannot be decoded (OSError)"),
    (_png(10_000, 10_000, "1"), ("PNG",), 10**9, "too_many_pixels",
     "the image declares too many pixels (a decompression bomb)"),
])
def test_open_image_refusals_carry_a_reason(data: bytes, formats: tuple[str, ...], max_pixels: int, reason: str,
                                            message: str) -> None:
    with pytest.raises(ImageRejected) as caught, open_image(data, formats, max_pixels=max_pixels) as image:
        image.load()
    assert (caught.value.reason, caught.value.message) == (reason, message)


def test_photos_and_documents_map_the_reasons_to_their_codes() -> None:
    with pytest.raises(PhotoError) as photo:
        reencode_photo(b"GIF89a not accepted")
    assert photo.value.code == "photo.not_image"
    with pytest.raises(PhotoError) as truncated:
        reencode_photo(_png(2000, 2000, "1")[:120])
    assert truncated.value.code == "photo.damaged"
    with pytest.raises(DocumentError) as document:
        check_document(_png(10_000, 10_000, "1"), "image/png")
    assert (document.value.code, document.value.message) == (
        "document.invalid", "the image declares too many pixels (a decompression bomb)")
