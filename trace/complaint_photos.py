"""Checking and re-encoding the photos attached to a complaint.

A photo is read only if it is small enough (bytes and pixels, checked before decoding) and one of the formats
phones produce; decoding is confined to Pillow's JPEG, PNG and WebP readers, and a decompression bomb is refused.
What is stored is a new JPEG drawn from the decoded pixels, turned upright and scaled down: no EXIF (camera, time,
GPS position), XMP, ICC or text chunk of the upload survives, and nothing the upload carried besides its pixels
reaches an inspector's or enterprise's screen.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from .complaints import ComplaintError
from .images import ImageRejected, open_image

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 20_000_000
#: The stored copy's longest side: enough to see a foreign body or read a label, a fraction of the upload's size.
STORED_MAX_SIDE = 2560
MAX_STORED_BYTES = 3 * 1024 * 1024
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")  # the JPEG reader also opens the multi-picture (MPO) files of some cameras
CONTENT_TYPE = "image/jpeg"
_QUALITIES = (85, 70)


@dataclass(frozen=True)
class Photo:
    """A re-encoded photo: JPEG bytes without metadata, its size in pixels and its SHA-256."""

    data: bytes
    width: int
    height: int
    sha256: str
    content_type: str = CONTENT_TYPE


class PhotoError(ComplaintError):
    """An upload is not a photo the channel accepts (``photo.*``)."""

    code = "photo.invalid"


def reencode_photo(data: bytes) -> Photo:
    """Decode ``data`` and return it as a new upright JPEG of at most :data:`STORED_MAX_SIDE` pixels a side.

    Raises :class:`PhotoError`: ``photo.empty``; ``photo.too_large`` (over :data:`MAX_PHOTO_BYTES`);
    ``photo.not_image`` (not JPEG, PNG or WebP); ``photo.too_many_pixels`` (over :data:`MAX_PHOTO_PIXELS`, a
    decompression bomb included); ``photo.damaged`` (truncated or corrupt).
    """
    if not data:
        raise PhotoError("the file is empty", code="photo.empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"the file has {len(data)} bytes, more than {MAX_PHOTO_BYTES}", code="photo.too_large")
    try:
        with open_image(data, ACCEPTED_FORMATS, max_pixels=MAX_PHOTO_PIXELS) as image:
            image.draft("RGB", (STORED_MAX_SIDE, STORED_MAX_SIDE))  # JPEG: decode at a reduced scale
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
            pixels_only = _flatten(upright)
    except ImageRejected as exc:
        raise PhotoError(exc.message, code=f"photo.{exc.reason}") from None
    for quality in _QUALITIES:
        out = io.BytesIO()
        pixels_only.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        encoded = out.getvalue()
        if len(encoded) <= MAX_STORED_BYTES:
            return Photo(encoded, pixels_only.width, pixels_only.height, hashlib.sha256(encoded).hexdigest())
    raise PhotoError("the image does not compress below the stored size limit", code="photo.too_large")


def _flatten(image: Image.Image) -> Image.Image:
    """A new RGB image holding only ``image``'s pixels (transparency over white), with no metadata."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        source = image.convert("RGB")
        flat = Image.new("RGB", source.size)
        flat.paste(source)
    return flat

