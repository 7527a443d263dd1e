"""The workspace shell: home, enrolment (``/workspace/join#invite=…``), the team's devices and the queue.

The pages are server-rendered shells; everything about the device (its key, the statements it signs, the queue)
lives in the browser (``static/workspace/core.js``), which reads the API with requests signed by the device key.
So the server needs no session here: the pages are the same for everyone and carry no personal data. They are
still private (never cached, not indexed, no referrer, not framable) and allow only this site's scripts; data and
translated messages reach the scripts in ``<script type="application/json">`` blocks. The invite secret travels in
the URL fragment, which browsers never send, so it stays out of server logs.

Action pages (``actions.py``) extend ``workspace/base.html`` and answer with :func:`workspace_page`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from api.context import app_context
from scanner_web.labels import LabelError, render_svg
from scanner_web.private import private

blueprint = Blueprint("workspace_pages", __name__, url_prefix="/workspace")

#: A join link is short; anything longer is not one.
MAX_QR_TEXT = 300
#: The join link's QR code, wide enough to scan from a phone screen.
QR_SIZE_MM = 50


def workspace_page(template: str, status: int = 200, /, **values: Any) -> Response:
    """``template`` rendered as a private page (see :mod:`scanner_web.private`)."""
    return private(render_template(template, **values), status)


@blueprint.get("/")
def home() -> Response:
    return workspace_page("workspace/home.html", page="home")


@blueprint.get("/join")
def join() -> Response:
    return workspace_page("workspace/join.html", page="join")


@blueprint.get("/devices")
def devices() -> Response:
    return workspace_page("workspace/devices.html", page="devices")


@blueprint.get("/queue")
def queue() -> Response:
    return workspace_page("workspace/queue.html", page="queue")


@blueprint.post("/qr.svg")
def qr_code() -> Response:
    """The QR code of a join link, as SVG. POSTed as the JSON ``{"text": …}`` so the invite it holds never sits
    in a URL (nor in a log); the page inserts the SVG inline."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 0 < len(text) <= MAX_QR_TEXT or not text.isprintable():
        return private(Response("a join link of 1 to 300 printable characters is needed", status=400,
                                mimetype="text/plain"))
    try:
        svg = render_svg(text, size_mm=QR_SIZE_MM)
    except LabelError:
        return private(Response("the link cannot be drawn as a QR code", status=400, mimetype="text/plain"))
    return private(Response(svg, mimetype="image/svg+xml"))


@blueprint.app_template_global()
def workspace_config() -> dict[str, Any]:
    """What core.js needs to know about this ledger."""
    return {"ledgerOrigin": app_context().settings.ledger_origin}


@blueprint.app_template_global()
def workspace_messages() -> dict[str, str]:
    """core.js's messages in the page's language: refusals in plain words, the dialog, the queue."""
    return {**_error_words(), **_queue_words(), **{f"unit.{code}": name for code, name in unit_names().items()}}


def unit_names() -> dict[str, str]:
    """Each unit code's short name in the page's language, as quantities are written ("40 kg", "40 千克")."""
    return {
        "KGM": _("kg"), "GRM": _("g"), "TNE": _("t"), "MGM": _("mg"), "LTR": _("L"), "MLT": _("mL"),
        "MTQ": _("m³"), "EA": _("each"), "H87": _("pieces"), "C62": _("units"), "NAR": _("articles"),
        "BX": _("boxes"), "CT": _("cartons"), "PK": _("packs"), "BG": _("bags"), "BO": _("bottles"),
        "CS": _("cases"), "PA": _("packets"), "TU": _("tubes"), "DZN": _("dozen"), "PR": _("pairs"),
        "SET": _("sets"), "HD": _("head"),
    }


def _error_words() -> dict[str, str]:
    words = {
        "custody.not_holder": _("Your enterprise does not hold this batch (or none of it is left)."),
        "custody.over_quantity": _("That is more than your enterprise holds of this batch."),
        "custody.recalled": _("This batch is under recall: it may not be sold or sent to shops."),
        "custody.non_conformant": _("This batch failed its latest inspection: it may not be sold or sent to shops."),
        "custody.expired": _("This batch is past its expiry date and may not be sold."),
        "custody.not_addressee": _("This shipment is addressed to another enterprise."),
        "custody.discrepancy_required": _("Less than was shipped: say what is missing and why."),
        "custody.destroyed": _("This batch was destroyed; nothing more can be recorded on it."),
        "custody.self_shipment": _("You cannot ship to your own enterprise."),
        "custody.not_maker": _("Only the enterprise that made this batch can recall it."),
        "custody.logistic_unit": _("A crate or pallet moves whole: it cannot be split here."),
        "custody.unit_count": _("The number of listed units does not match the quantity."),
        "custody.units_required": _("This batch has numbered units: list the units that move."),
        "shipment.closed": _("This shipment was already received."),
        "shipment.unknown": _("There is no such shipment."),
        "shipment.exists": _("This shipment number was already used."),
        "batch.unknown": _("There is no such batch."),
        "batch.exists": _("A batch with this product and lot already exists."),
        "batch.certificate_required": _("Farm produce needs a compliance promise certificate (承诺达标合格证)."),
        "product.unknown": _("This product is not defined yet."),
        "recall.exists": _("This batch is already recalled."),
        "key.revoked": _("This phone's key has been revoked: it can no longer sign for the enterprise."),
        "key.unknown": _("This phone's key is not (or not yet) a key of the enterprise."),
        "enterprise.blacklisted": _("The enterprise is on the blacklist and may not record anything."),
        "enterprise.deregistered": _("The enterprise is deregistered and may not record anything."),
        "enterprise.unknown": _("The enterprise is not registered."),
        "enterprise.role": _("Your enterprise is not registered for this kind of activity."),
        "enterprise.location": _("That is not one of your enterprise's registered locations."),
        "sequence.conflict": _("Another phone of your enterprise recorded something at the same time; try again."),
        "link.conflict": _("Someone recorded something on this batch at the same time; try again."),
        "auth.invalid": _("The server did not accept this phone's signature."),
        "auth.clock": _("This phone's clock is wrong: set the date and time automatically, then try again."),
        "auth.forbidden": _("Only an administrator of the enterprise may do this."),
        "invite.unknown": _("This invite link is not valid. Ask your administrator for a new one."),
        "invite.expired": _("This invite link has expired. Ask your administrator for a new one."),
        "invite.used": _("This invite link was already used. Ask your administrator for a new one."),
        "key.duplicate": _("This key is already registered."),
        "key_request.proof": _("The enrolment could not be proved with this phone's key. Try again."),
        "key_request.decided": _("This device was already approved or rejected."),
        "body": _("Something in the form is not right."),
        "unknown": _("The server refused this."),
    }
    return {f"error.{code}": text for code, text in words.items()}


def _queue_words() -> dict[str, str]:
    return {
        "confirm.title": _("Sign and submit?"),
        "confirm.sign": _("Sign and submit"),
        "confirm.cancel": _("Cancel"),
        "state.queued": _("Waiting to be sent"),
        "state.sending": _("Sending…"),
        "state.accepted": _("Recorded"),
        "state.refused": _("Refused"),
        "entry": _("entry #{index}"),
        "resigned": _("signed again after a conflict"),
        "discard": _("Discard"),
        "queue.empty": _("Nothing waiting."),
        "queue.waiting": _("{count} waiting"),
        "queue.offline": _("Offline"),
        "queue.online": _("Online"),
        "offline.needs_network": _("This needs the network. Try again when you are online."),
        "offline.no_cache": _("This phone has not seen this batch yet. Open the workspace once while online."),
        "offline.unknown_shipment": _("This phone does not know this shipment yet. Open the workspace once while "
                                      "online."),
    }
