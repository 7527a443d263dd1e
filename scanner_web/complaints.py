"""The complaint channel (投诉举证): file a complaint about a batch from its public page, then follow it with the
ticket number and the private key given at filing.

Forms carry a CSRF token; filing is rate-limited per client address. A form refused for its content comes back
with everything typed kept and each problem next to its field (files cannot be kept by a browser: the page says
so). Pages showing a complaint are private: never cached, never indexed, sent with no referrer, and under a
content security policy that allows no inline script, so hostile text stays text even if escaping failed.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError as CSRFError

from api.context import app_context, read_session
from api.limits import limiter
from ledger.canonical import canonicalize
from trace.complaint_models import Complaint
from trace.complaint_photos import MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, Photo, PhotoError, reencode_photo
from trace.complaint_service import (
    ComplaintDraft,
    anchored_record,
    complaint_page,
    complaint_photo,
    file_complaint,
    normalise_ticket,
    open_complaint,
)
from trace.complaints import (
    CATEGORIES,
    COMMITMENT_DOMAIN,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    clean_text,
)
from trace.models import Batch
from trace.queries import NotFound

from .private import private

logger = logging.getLogger(__name__)

blueprint = Blueprint("complaints", __name__, template_folder="templates")

#: Room for the text fields and the multipart framing next to the photos.
_FORM_OVERHEAD = 1024 * 1024
MAX_UPLOAD = MAX_PHOTOS * MAX_PHOTO_BYTES + _FORM_OVERHEAD
#: A complaint may take a while to write on a phone: the form's token stays valid for a day.
CSRF_TIME_LIMIT = 24 * 3600


def category_labels() -> dict[str, str]:
    return {"quality": _("Quality problem"), "foreign_matter": _("Foreign matter"),
            "counterfeit": _("Counterfeit or fake"), "expired": _("Past its expiry date"),
            "adverse_reaction": _("Adverse reaction (illness, allergy)"), "labelling": _("Wrong or missing label"),
            "other": _("Something else")}


def status_labels() -> dict[str, str]:
    return {"received": _("Awaiting handling"), "investigating": _("Under investigation"),
            "referred": _("Referred to another authority"), "resolved": _("Resolved")}


def _batch_or_404(ref: str | None) -> Batch:
    batch = read_session().get(Batch, ref) if ref and len(ref) <= 256 else None
    if batch is None:
        abort(404, description=_("This code is not in the ledger, so no complaint can be filed about it here."))
    return batch


def _render_form(batch: Batch, values: dict[str, str], errors: dict[str, str], status: int = 200, *,
                 photos_dropped: bool = False) -> Response:
    page = render_template("complaint_new.html", batch=batch, values=values, errors=errors,
                           categories=category_labels(), csrf_token=generate_csrf(),
                           photos_dropped=photos_dropped, max_photos=MAX_PHOTOS,
                           max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024), max_description=MAX_DESCRIPTION,
                           max_contact=MAX_CONTACT, max_megapixels=MAX_PHOTO_PIXELS // 1_000_000)
    return private(page, status)


@blueprint.get("/complaints/new")
def new_complaint() -> Any:
    batch = _batch_or_404(request.args.get("ref"))
    return _render_form(batch, {"category": "", "description": "", "contact": ""}, {})


@blueprint.post("/complaints")
@limiter.limit(lambda: app_context().settings.rate_limit_complaints)
def create_complaint() -> Any:
    request.max_content_length = MAX_UPLOAD
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        abort(413, description=_("The photos together are larger than %(limit)s MB. Go back and attach fewer or "
                                 "smaller photos; what you typed is still in the form.",
                                 limit=MAX_UPLOAD // (1024 * 1024)))
    try:
        validate_csrf(form.get("csrf_token"), time_limit=CSRF_TIME_LIMIT)
    except CSRFError:
        abort(400, description=_("The form has expired or did not come from this site. Go back, reload the page "
                                 "and submit again."))
    batch = _batch_or_404(form.get("ref"))
    values = {"category": form.get("category", ""),
              "description": clean_text(form.get("description", ""), multiline=True),
              "contact": clean_text(form.get("contact", ""), multiline=False)}
    uploads = [item for item in files.getlist("photos") if item.filename or item.content_length]
    errors = _check_fields(values, len(uploads))
    photos, photo_errors = _read_photos(uploads) if "photos" not in errors else ([], [])
    if photo_errors:
        errors["photos"] = " ".join(photo_errors)
    if errors:
        return _render_form(batch, values, errors, 400, photos_dropped=bool(uploads))
    draft = ComplaintDraft(ref=batch.ref, category=values["category"], description=values["description"],
                           contact=values["contact"] or None, photos=photos)
    context = app_context()
    filed = file_complaint(context.sessions, context.keys.registrar, draft, config=context.ledger,
                           clock=context.clock)
    flash("filed", "complaint")
    return redirect(url_for("complaints.follow", ticket=filed.ticket, key=filed.key), 303)


def _check_fields(values: dict[str, str], photo_count: int) -> dict[str, str]:
    """A message per field in error; the same rules :func:`trace.complaints.check_complaint` enforces."""
    errors: dict[str, str] = {}
    if values["category"] not in CATEGORIES:
        errors["category"] = _("Choose what kind of problem it is.")
        values["category"] = ""
    if not values["description"]:
        errors["description"] = _("Describe the problem.")
    elif len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = _("The description is %(count)s characters long; shorten it to %(limit)s.",
                                  count=len(values["description"]), limit=MAX_DESCRIPTION)
    if len(values["contact"]) > MAX_CONTACT:
        errors["contact"] = _("The contact is longer than %(limit)s characters.", limit=MAX_CONTACT)
    if photo_count > MAX_PHOTOS:
        errors["photos"] = _("You attached %(count)s photos; at most %(limit)s are accepted.", count=photo_count,
                             limit=MAX_PHOTOS)
    return errors


def _read_photos(uploads: list[FileStorage]) -> tuple[list[Photo], list[str]]:
    photos, errors = [], []
    for upload in uploads:
        name = clean_text(upload.filename or "", multiline=False)[:60] or _("(no name)")
        try:
            photos.append(reencode_photo(upload.stream.read(MAX_PHOTO_BYTES + 1)))
        except PhotoError as exc:
            errors.append(_photo_message(exc.code, name))
    return photos, errors


def _photo_message(code: str, name: str) -> str:
    if code == "photo.too_large":
        return _("%(name)s is larger than %(limit)s MB.", name=name, limit=MAX_PHOTO_BYTES // (1024 * 1024))
    if code == "photo.too_many_pixels":
        return _("%(name)s has more than %(limit)s million pixels.", name=name,
                 limit=MAX_PHOTO_PIXELS // 1_000_000)
    if code == "photo.not_image":
        return _("%(name)s is not a JPEG, PNG or WebP photo.", name=name)
    if code == "photo.empty":
        return _("%(name)s is empty.", name=name)
    return _("%(name)s is damaged or incomplete and cannot be opened.", name=name)


@blueprint.get("/complaints/follow")
def find_complaint() -> Any:
    ticket_text, key = request.args.get("ticket", "").strip(), request.args.get("key", "").strip()
    error = None
    if ticket_text or key:
        ticket = normalise_ticket(ticket_text)
        if ticket is not None and key:
            return redirect(url_for("complaints.follow", ticket=ticket, key=key), 303)
        error = _("Enter the ticket number (TS-…) and the key you were given when you filed the complaint.")
    page = render_template("complaint_find.html", ticket=ticket_text[:40], error=error)
    return private(page, 400 if error else 200)


def _opened(ticket: str) -> Complaint:
    """The complaint if the request's ``key`` opens it; 404 for an unknown ticket and a wrong key alike."""
    try:
        return open_complaint(read_session(), ticket, request.args.get("key", ""))
    except NotFound:
        abort(404, description=_("No complaint has this ticket number and key. Check the link you were given."))


@blueprint.get("/complaints/<ticket>")
def follow(ticket: str) -> Any:
    complaint = _opened(ticket)
    key = request.args.get("key", "")
    page = complaint_page(read_session(), complaint)
    settings = app_context().settings
    follow_url = settings.public_base_url + url_for("complaints.follow", ticket=complaint.ticket, key=key)
    just_filed = "filed" in get_flashed_messages(category_filter=["complaint"])
    return private(render_template(
        "complaint_follow.html", page=page, complaint=complaint, key=key, follow_url=follow_url,
        just_filed=just_filed, categories=category_labels(), statuses=status_labels(),
        contact=_masked(complaint.contact), domain=COMMITMENT_DOMAIN.rstrip(b"\x00").decode("ascii")))


@blueprint.get("/complaints/<ticket>/record.json")
def commitment_json(ticket: str) -> Any:
    """The exact canonical record the ledger anchor commits to, so the complainant can recompute it."""
    record = anchored_record(read_session(), _opened(ticket))
    response = Response(canonicalize(record), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{ticket}.json"'
    return private(response)


@blueprint.get("/complaints/<ticket>/photos/<int:position>")
def photo(ticket: str, position: int) -> Any:
    complaint = _opened(ticket)
    row = complaint_photo(read_session(), complaint, position)
    response = Response(row.data, mimetype=row.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{complaint.ticket}-{position + 1}.jpg"'
    return private(response)


def _masked(contact: str | None) -> str | None:
    """The contact with its middle hidden: enough for the complainant to recognise it on a shared screen."""
    if not contact:
        return None
    head, tail = (3, 2) if len(contact) >= 8 else (1, 1)
    return contact[:head] + "•" * max(3, len(contact) - head - tail) + contact[-tail:]
