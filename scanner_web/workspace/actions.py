"""The workspace's action pages: commission a batch and print its labels, receive by scanning the crate's code,
ship, split/merge/process, sell, inspect, recall, and answer complaints.

Each page is a server-rendered shell: the statement is built, drafted, shown in plain words, signed on the device
and queued by the page's script (``static/workspace/actions.js`` on top of ``core.js``). The server never sees a
private key and knows nothing of the device here; everything the script needs arrives in JSON blocks (the pages
allow only this site's scripts), with every message already in the page's language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from ..channels import scanner_messages
from .pages import unit_names, workspace_page

blueprint = Blueprint("workspace_actions", __name__, url_prefix="/workspace")

#: UN/ECE Rec 20 codes the domain accepts (docs/domain.md §4.1), the everyday ones first.
UNITS = ("KGM", "GRM", "TNE", "EA", "H87", "BX", "CT", "CS", "PK", "BG", "BO", "PA", "TU", "LTR", "MLT", "MGM",
         "MTQ", "C62", "NAR", "DZN", "PR", "SET", "HD")
#: The units a serialised lot may use.
COUNT_UNITS = ("EA", "H87", "C62", "NAR", "BX", "CT", "PK", "BG", "BO", "CS", "PA", "TU")


def certificate_kinds() -> dict[str, str]:
    return {
        "compliance_promise": _("Compliance promise certificate (承诺达标合格证)"),
        "quarantine": _("Quarantine certificate"),
        "inspection_report": _("Inspection report"),
        "origin": _("Certificate of origin"),
        "organic": _("Organic certificate"),
        "gi": _("Geographical indication"),
        "drug_release": _("Drug release certificate"),
        "other": _("Other document"),
    }


def categories() -> dict[str, str]:
    return {"farm": _("Farm produce"), "food": _("Food"), "drug": _("Drug"), "daily": _("Daily goods"),
            "special_equipment": _("Special equipment"), "gi": _("Geographical indication product")}


def activities() -> dict[str, str]:
    return {"harvest": _("Harvest"), "slaughter": _("Slaughter"), "produce": _("Production"), "pack": _("Packing")}


def transform_kinds() -> dict[str, str]:
    return {"split": _("Split one lot into several"), "merge": _("Merge lots into one"),
            "process": _("Process into new products"), "repack": _("Repack")}


def script_messages() -> dict[str, Any]:
    """Everything the action scripts may say, in the page's language. ``{name}`` marks a value filled in."""
    return {
        "units": unit_names(),
        "certificate_kinds": certificate_kinds(),
        "categories": categories(),
        "transform_kinds": transform_kinds(),
        "results": {"conformant": _("conformant"), "non_conformant": _("NOT conformant")},
        "summary": {
            "trace.product.define": _("Define the product {name} (GTIN {gtin}): {category}, {spec}"),
            "trace.commission": _("Record lot {lot} of {product}: {quantity} {unit}, made on {produced_on}"),
            "commission_expires": _("Use by {expires_on}"),
            "commission_origin": _("Origin: {place}"),
            "commission_activity": _("Activity: {activity}"),
            "certificates": _("Attached documents: {kinds}"),
            "trace.ship": _("Ship {quantity} {unit} of {product} lot {lot} to {receiver} ({code})"),
            "ship_id": _("Shipment number {id}"),
            "trace.receive": _("Receive {quantity} {unit} of {product} lot {lot} from {sender} (shipment {id})"),
            "receive_short": _("Short delivery: {shipped} {unit} were shipped. Why: {discrepancy}"),
            "trace.transform": _("{kind}"),
            "transform_input": _("Use {quantity} {unit} of {product} lot {lot}"),
            "transform_output": _("Make {quantity} {unit} of {product} lot {lot}"),
            "trace.sell": _("Sell {quantity} {unit} of {product} lot {lot}"),
            "trace.inspect": _("Inspection of {product} lot {lot}: {result}"),
            "inspect_items": _("Tested for: {items}"),
            "inspect_laboratory": _("Laboratory: {laboratory}"),
            "inspect_note": _("Note: {note}"),
            "inspect_report": _("The report photo is attached (SHA-256 {sha256})"),
            "trace.recall": _("Recall {product} lot {lot}"),
            "recall_level": _("Recall level {level}"),
            "recall_reason": _("Reason: {reason}"),
        },
        "status": {
            "loading": _("Loading…"),
            "drafting": _("Checking with the ledger…"),
            "uploading": _("Uploading the photos…"),
            "cancelled": _("Nothing was signed."),
            "queued": _("Signed and waiting to be sent: it will be sent as soon as the network is back."),
            "sending": _("Signed. Sending…"),
            "accepted": _("Recorded in the ledger as entry {index}."),
            "offline": _("No network: this needs the network. Nothing was signed; try again when you are online."),
            "no_device": _("This phone is not enrolled yet. Open the workspace home to enrol it."),
            "not_active": _("This phone's key is not active, so it cannot sign."),
            "failed": _("Something went wrong: {message}"),
        },
        "form": {
            "required": _("Fill this in."),
            "quantity": _("Write a quantity such as 40 or 12.5 (at most 6 decimals)."),
            "gtin_length": _("A GTIN has 8, 12, 13 or 14 digits."),
            "gtin_check": _("Wrong check digit: the last digit should be {expected}, not {found}."),
            "lot": _("A lot number has 1 to 20 letters, digits or the signs - . / _ (no spaces)."),
            "choose_holding": _("Choose a lot you hold."),
            "choose_receiver": _("Find and choose the receiver."),
            "short_quantity": _("A short delivery receives less than was shipped."),
            "code_read": _("Code read."),
            "not_a_code": _("This is not a batch code. Scan the QR code on the crate or type the code under it."),
            "no_shipment": _("No open shipment of {batch} is on its way to you. Check the code, or ask the sender "
                             "whether they recorded the shipment."),
            "shipment_found": _("{quantity} {unit} of {product} lot {lot}, sent by {sender}, entry {index}"),
            "no_holdings": _("You hold nothing right now."),
            "no_results": _("No registered enterprise matches."),
            "search_short": _("Type at least 2 characters of the name, or the credit code."),
            "photo_failed": _("This photo could not be read: {name}"),
            "farm_needs_promise": _("Farm produce needs a compliance promise certificate (承诺达标合格证) photo."),
            "reply_sent": _("Your answer was sent. The person who complained sees it now."),
            "no_complaints": _("No complaints are routed to you."),
            "photos": _("{count} photo(s) with the complaint"),
            "photo": _("Photo {number} of the complaint (tap to enlarge)"),
        },
        "labels": {
            "title": _("Labels for lot {lot}"),
        },
        "complaint_categories": {
            "quality": _("Quality"), "foreign_matter": _("Foreign matter"), "counterfeit": _("Counterfeit"),
            "expired": _("Expired"), "adverse_reaction": _("Adverse reaction"), "labelling": _("Labelling"),
            "other": _("Other"),
        },
        "complaint_statuses": {
            "received": _("Complaint received"), "investigating": _("Being investigated"), "referred": _("Referred"),
            "resolved": _("Resolved"),
        },
    }


def _page(template: str, action: str, **context: Any) -> Any:
    return workspace_page(f"workspace/{template}", page=action, action=action, script_data=script_messages(),
                          units=UNITS, unit_names=unit_names(), **context)


@blueprint.get("/commission")
def commission() -> Any:
    """Define a product if needed, commission a lot with certificate photos, then print its labels."""
    return _page("act_commission.html", "commission", kinds=certificate_kinds(), categories=categories(),
                 activities=activities())


@blueprint.get("/receive")
def receive() -> Any:
    """Receive an incoming shipment found by scanning the crate's QR code (or typing it), in full or short."""
    return _page("act_receive.html", "receive", messages=scanner_messages())


@blueprint.get("/ship")
def ship() -> Any:
    """Ship some of a holding to a receiver found by name or credit code."""
    return _page("act_ship.html", "ship")


@blueprint.get("/transform")
def transform() -> Any:
    """Split, merge or process held lots into new lots."""
    return _page("act_transform.html", "transform", transform_kinds=transform_kinds())


@blueprint.get("/sell")
def sell() -> Any:
    """Record a sale (retailers and caterers)."""
    return _page("act_sell.html", "sell")


@blueprint.get("/inspect")
def inspect() -> Any:
    """Record an inspection result, with an optional photo of the report."""
    return _page("act_inspect.html", "inspect")


@blueprint.get("/recall")
def recall() -> Any:
    """Start a recall of a batch the enterprise made."""
    return _page("act_recall.html", "recall")


@blueprint.get("/complaints")
def complaints() -> Any:
    """The complaints routed to the enterprise, and answering them."""
    return _page("act_complaints.html", "complaints")
