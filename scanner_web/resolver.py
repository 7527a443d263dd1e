"""The GS1 Digital Link resolver: ``/01/{gtin}/10/{lot}``, ``/01/{gtin}/21/{serial}``,
``/01/{gtin}/10/{lot}/21/{serial}`` and ``/00/{sscc}`` answer with the public page or, by ``linkType``, with a
machine-readable resource."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("resolver", __name__, template_folder="templates")
