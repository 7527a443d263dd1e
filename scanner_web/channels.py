"""The ways to reach a product's page other than scanning with the phone's own camera app: a typed code
(``/lookup``, the target of the home page's and the kiosk's forms), the in-browser camera scanner (``/scan``) and
the self-service terminal (``/kiosk``).

A typed code is read (:mod:`trace.codes`), found in the ledger (:mod:`scanner_web.lookup`) and answered with a
303 redirect to the resolver's page; a malformed code re-renders the form with the precise reason (400), an unknown
one says it is not registered, which may mean a counterfeit (404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _

from api.context import read_session
from trace.codes import CodeError, read_code
from trace.queries import NotFound

from .lookup import find_code

blueprint = Blueprint("channels", __name__, template_folder="templates")

#: Seconds without a touch before the kiosk returns to its start screen, and the bounds of ``?idle=``.
KIOSK_IDLE = 90
KIOSK_IDLE_BOUNDS = (3, 900)


@blueprint.get("/lookup")
def lookup() -> Any:
    """Find a typed or scanned code and send the visitor to its page."""
    if "code" not in request.args:
        return render_template("lookup.html", code="", outcome=None)
    text = request.args["code"]
    try:
        code = read_code(text)
        found = find_code(read_session(), code)
    except CodeError as error:
        return render_template("lookup.html", code=text, outcome="invalid", reason=explain_code_error(error),
                               detail=error.message), 400
    except NotFound:
        return render_template("lookup.html", code=text.strip(), outcome="unknown"), 404
    return redirect(found.path, code=303)


@blueprint.get("/scan")
def scan() -> Any:
    """The camera scanner for phones and warehouse staff."""
    return render_template("scan.html", messages=scanner_messages())


@blueprint.get("/kiosk")
def kiosk() -> Any:
    """The self-service terminal's start screen; ``?idle=`` sets the seconds before it returns there."""
    idle = request.args.get("idle", "")
    low, high = KIOSK_IDLE_BOUNDS
    seconds = int(idle) if idle.isascii() and idle.isdigit() and low <= int(idle) <= high else KIOSK_IDLE
    return render_template("kiosk.html", messages=scanner_messages(), idle=seconds)


def scanner_messages() -> dict[str, str]:
    """What the scanner's script may say, in the page's language."""
    return {
        "starting": _("Starting the camera…"),
        "scanning": _("Point the camera at the QR code on the package."),
        "insecure": _("The camera only works over a secure (https) connection. Type the code instead."),
        "unsupported": _("This browser cannot use the camera. Type the code instead."),
        "denied": _("Camera access was refused. Allow the camera for this site in the browser's settings, or "
                    "type the code instead."),
        "no_camera": _("No camera was found. Type the code instead."),
        "busy": _("The camera is in use by another app. Close it and try again, or type the code instead."),
        "failed": _("The camera could not be started. Type the code instead."),
        "decoder_failed": _("The QR decoder could not be loaded. Type the code instead."),
        "opening": _("Code read. Opening its page…"),
        "not_a_code": _("This QR code is not a product traceability code. It reads:"),
        "retry": _("Try the camera again"),
    }


def explain_code_error(error: CodeError) -> str:
    """The reason a code cannot be read, in the visitor's language, as precisely as the error allows."""
    params = error.params
    if error.reason == "empty":
        return _("Type the code printed beneath the QR code.")
    if error.reason == "too_long":
        return _("That is too long for a product code (at most %(maximum)s characters).", maximum=params["maximum"])
    if error.reason == "character":
        return _("%(name)s: the character “%(char)s” at position %(position)s is not a digit.", **params)
    if error.reason == "length":
        return _("%(name)s must have %(expected)s digits; this one has %(found)s.", **params)
    if error.reason == "check_digit":
        return _("%(name)s check digit is wrong: the last digit should be %(expected)s, not %(found)s. Check "
                 "for a mistyped digit.", **params)
    if error.reason == "gtin_only":
        return _("%(gtin)s is a product number (GTIN) without its batch: type the batch number after it, "
                 "separated by a space.", gtin=params["gtin"])
    if error.reason == "location":
        return _("%(gln)s is a location number (GLN), not a product code.", gln=params["gln"])
    if error.reason == "qualifier":
        return _("The %(name)s must be 1 to %(maximum)s letters, digits or punctuation marks.",
                 name=_("batch number"), maximum=params["maximum"])
    if error.reason == "digital_link":
        return _("This link is not a valid product link: %(detail)s", detail=params["detail"])
    if error.reason == "element_string":
        return _("This GS1 code cannot be read: %(detail)s", detail=params["detail"])
    if error.reason == "digits":
        return _("A number code has 18 digits (SSCC), 20 digits (drug traceability code) or 8 to 14 digits "
                 "(GTIN, followed by the batch number); this one has %(found)s.", found=params["found"])
    return _("This is not a product traceability code. Type the code printed beneath the QR code: a 20-digit "
             "drug traceability code, an 18-digit SSCC, or the GTIN followed by the batch number.")
