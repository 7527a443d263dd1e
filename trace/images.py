"""Opening untrusted image uploads (complaint photos, certificate scans) safely, in one place.

Decoding is confined to the Pillow readers the caller names, the pixel count is checked from the header before
any pixel is decoded, and Pillow's decompression-bomb warning is an error. Each failure is an
:class:`ImageRejected` with a ``reason`` the caller maps to its own error code.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

from PIL import Image, UnidentifiedImageError

Reason = Literal["too_many_pixels", "not_image", "damaged"]


class ImageRejected(Exception):
    """An upload that is not an image the caller accepts; ``reason`` says why, ``message`` in plain words."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@contextmanager
def open_image(data: bytes, formats: Sequence[str], *, max_pixels: int) -> Iterator[Image.Image]:
    """Yield ``data`` opened (not yet decoded) by one of Pillow's ``formats`` readers, with at most
    ``max_pixels`` pixels and at least one. Decoding errors inside the ``with`` block, a bomb included, are
    raised as :class:`ImageRejected` too."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=tuple(formats)) as image:
                pixels = image.width * image.height
                if not 0 < pixels <= max_pixels:
                    raise ImageRejected("too_many_pixels", f"the image has {image.width}x{image.height} pixels; "
                                                           f"at most {max_pixels}")
                yield image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("too_many_pixels", "the image declares too many pixels (a decompression bomb)") \
                from None
        except UnidentifiedImageError:
            names = ", ".join(formats[:-1]) + " or " + formats[-1] if len(formats) > 1 else formats[0]
            raise ImageRejected("not_image", f"the file is not a {names} image") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise ImageRejected("damaged", f"the image cannot be decoded ({type(exc).__name__})") from None
