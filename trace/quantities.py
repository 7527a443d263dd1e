"""Quantities: decimal strings with a UN/ECE Recommendation 20 unit code, never floats.

A quantity string has at most 12 integer and 6 fractional digits and no sign or exponent; the canonical form
drops trailing fractional zeros (``"12.50"`` is stored as ``"12.5"``), so equal quantities compare equal as
text in every table.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .errors import BodyError

_QUANTITY = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?")

#: UN/ECE Recommendation 20 codes accepted for batches: mass, volume, count and packaging units in use in food,
#: drug and farm-product trade.
UNITS: dict[str, str] = {
    "KGM": "kilogram", "GRM": "gram", "TNE": "tonne", "MGM": "milligram", "LTR": "litre", "MLT": "millilitre",
    "MTQ": "cubic metre", "EA": "each", "H87": "piece", "C62": "one", "NAR": "number of articles",
    "BX": "box", "CT": "carton", "PK": "pack", "BG": "bag", "BO": "bottle", "CS": "case", "PA": "packet",
    "TU": "tube", "DZN": "dozen", "PR": "pair", "SET": "set", "HD": "head (livestock)",
}

ZERO = Decimal(0)


def parse_quantity(value: object, field: str, *, allow_zero: bool = False) -> Decimal:
    """The decimal value of a quantity string. Raises :class:`BodyError` (``body.quantity``) for a float, a
    number, a sign, an exponent, too many digits, or zero when ``allow_zero`` is false."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise BodyError(f"{field} must be a decimal string such as \"12.5\" (no sign, exponent or float; at most "
                        f"12 integer and 6 fractional digits), found {value!r}", code="body.quantity")
    amount = Decimal(value)
    if amount == ZERO and not allow_zero:
        raise BodyError(f"{field} must be greater than zero", code="body.quantity")
    return amount


def format_quantity(amount: Decimal) -> str:
    """The canonical text of ``amount``: plain digits, no exponent, no trailing fractional zeros."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def parse_unit(value: object, field: str) -> str:
    """A UN/ECE Rec. 20 unit code from :data:`UNITS`. Raises :class:`BodyError` (``body.unit``)."""
    if not isinstance(value, str) or value not in UNITS:
        raise BodyError(f"{field} must be a UN/ECE Rec. 20 unit code ({', '.join(sorted(UNITS))}), found "
                        f"{value!r}", code="body.unit")
    return value
