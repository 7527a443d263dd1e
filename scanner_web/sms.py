"""The SMS channel: an SMS gateway posts each inbound message to ``POST /sms/inbound`` and sends our plain-text
answer back to the sender.

The request is form-encoded ``From`` and ``Body`` (as common gateways post it) or JSON ``{"from": ..., "text": ...}``.
The answer, ``text/plain; charset=utf-8``, says in one message (140 characters where the code allows) the product,
its state, where it came from, a recall warning when there is one, and the link to its public page. Chinese by
default; a message starting with ``EN`` is answered in English.

Each sender is rate-limited by a keyed hash of its number, and the number is never logged or stored in clear.

When ``TRACE_SMS_WEBHOOK_SECRET`` is set, only the gateway may post: each request carries ``X-Trace-Timestamp``
(Unix seconds) and ``X-Trace-Signature: sha256=<hex>``, the HMAC-SHA256 under that secret of the timestamp, a dot
and the raw request body. A request without them, with a wrong signature or signed more than
:data:`SIGNATURE_WINDOW` seconds from now is refused with 401 before its code is read or counted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator
from datetime import date

from flask import Blueprint, Response, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from api.context import app_context, now, read_session, write_session
from api.limits import limiter
from trace.codes import CodeError, read_code
from trace.context import MARKET_TIME
from trace.queries import NotFound
from trace.scans import Lookups, record_lookup

from .channels import explain_code_error
from .lookup import Found, Summary, find_code, summarise

logger = logging.getLogger(__name__)

blueprint = Blueprint("sms", __name__)

#: Answers per sender (by hashed number), and per gateway address for everything together.
SENDER_LIMIT = "6 per minute;60 per day"
GATEWAY_LIMIT = "600 per minute"
#: One SMS segment holds 70 Chinese characters; 140 is what two segments carry, and the most we aim for.
TARGET_LENGTH = 140
MAX_BODY = 512
_ENGLISH = re.compile(r"^(?:EN|ENG|ENGLISH)(?:\s+|[:：,，]\s*|$)", re.IGNORECASE)
_KEYWORD = re.compile(r"^(?:查询|查|CX|CHECK)(?:\s+|[:：,，]\s*|$)", re.IGNORECASE)
_SHORTEN = {"product": 16, "origin": 14, "reason": 24, "code": 40}
#: How far a gateway's signature time may be from ours, in seconds (clock skew plus delivery delay).
SIGNATURE_WINDOW = 300


@blueprint.post("/sms/inbound")
@limiter.limit(SENDER_LIMIT, key_func=lambda: f"sms:{sender_digest(_message()[0])}")
@limiter.limit(GATEWAY_LIMIT)
def inbound() -> Response:
    """Answer one inbound SMS with what the code in it says."""
    refusal = _gateway_refusal()
    if refusal is not None:
        logger.warning("sms refused: not signed by the gateway", extra={"reason": refusal})
        return _plain(f"unauthorised: {refusal}", 401)
    sender, text = _message()
    if not sender:
        return _plain("missing sender (From)", 400)
    language, code_text = _split_language(text)
    with force_locale(language):
        outcome, reply = _answer(code_text)
    logger.info("sms answered", extra={"sender": sender_digest(sender), "outcome": outcome, "language": language,
                                       "length": len(reply)})
    return _plain(reply)


@blueprint.errorhandler(429)
def too_many(_error: Exception) -> Response:
    """A gateway forwards the body as the reply, so a refusal is a short text too."""
    sender, text = _message()
    language, _code = _split_language(text)
    logger.info("sms refused: too many queries", extra={"sender": sender_digest(sender), "language": language})
    with force_locale(language):
        return _plain(_("[Product trace] Too many queries from this number; try again later."), 429)


def sender_digest(sender: str) -> str:
    """A keyed hash of the sender's number (digits only): stable for one deployment, useless to anyone who does
    not hold the application's secret, so rate-limit keys and logs carry no phone number."""
    digits = re.sub(r"\D", "", sender)
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"sms-sender:{digits}".encode(), hashlib.sha256).hexdigest()[:16]


def sign_request(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Trace-Signature`` value a gateway sends with ``body`` at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _gateway_refusal() -> str | None:
    """Why this request is not the gateway's (see the module docstring), or ``None`` when it is, or when no
    secret is configured."""
    secret = app_context().settings.sms_webhook_secret
    if not secret:
        return None
    stamp, signature = request.headers.get("X-Trace-Timestamp", ""), request.headers.get("X-Trace-Signature", "")
    if not stamp or not signature:
        return "X-Trace-Timestamp and X-Trace-Signature are required"
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return "X-Trace-Timestamp must be Unix seconds"
    if abs(now().timestamp() - int(stamp)) > SIGNATURE_WINDOW:
        return f"the signature time is more than {SIGNATURE_WINDOW} seconds from the server's"
    if not hmac.compare_digest(signature.encode(), sign_request(secret, int(stamp), request.get_data()).encode()):
        return "the signature does not match the body"
    return None


def _message() -> tuple[str, str]:
    """(sender, text) from a form post or a JSON body; empty strings when absent."""
    request.get_data()  # cache the raw body first: parsing the form alone would consume it before its signature check
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return "", ""
        sender, text = body.get("from"), body.get("text")
    else:
        sender, text = request.form.get("From"), request.form.get("Body")
    return (sender if isinstance(sender, str) else "")[:64], (text if isinstance(text, str) else "")[:MAX_BODY]


def _split_language(text: str) -> tuple[str, str]:
    """("en", rest) when the message starts with ``EN``, else ("zh", text); a leading 查询/CX keyword is dropped."""
    text = text.strip()
    language = "zh"
    english = _ENGLISH.match(text)
    if english:
        language, text = "en", text[english.end():]
    return language, _KEYWORD.sub("", text, count=1).strip()


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _answer(text: str) -> tuple[str, str]:
    """(outcome for the log, reply) for the code in ``text``."""
    prefix = _("[Product trace] ")
    if text == "":
        return "help", prefix + _("Send the code printed beneath the QR code, for example 81234560000000000001. "
                                  "Start with EN for English.")
    try:
        code = read_code(text)
        found = find_code(read_session(), code)
    except CodeError as error:
        return "invalid", _fit(prefix + _("Code not recognised: %(reason)s", reason=explain_code_error(error)))
    except NotFound:
        shown = _shorten(text, _SHORTEN["code"])
        return "not_found", prefix + _("Code %(code)s is not registered: the product may be counterfeit. Do not "
                                       "buy or use it; you can report it on 12315.", code=shown)
    lookups = _count_lookup(found.unit_id or found.ref)
    summary = summarise(read_session(), found, _today())
    copied = found.unit_id is not None and lookups is not None and lookups.suspicious(now())
    return summary.status, _compose(prefix, summary, found, lookups.count if lookups and copied else 0)


def _count_lookup(code: str) -> Lookups | None:
    """Count the look-up like a visit to the page (a unit's count shows whether its label was copied), in its
    own short transaction; a reply never fails because counting did."""
    session = write_session()
    try:
        lookups = record_lookup(session, code, now())
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        logger.warning("sms look-up not counted", extra={"code": code}, exc_info=True)
        return None
    return lookups


def _compose(prefix: str, summary: Summary, found: Found, copied_lookups: int) -> str:
    """The reply, shortened field by field (never the link or a warning) until it fits :data:`TARGET_LENGTH`;
    last, the origin is left out. ``copied_lookups`` is the look-up count of a unit whose label may have been
    copied, else 0."""
    url = app_context().settings.public_base_url + found.path
    halved = {name: size // 2 for name, size in _SHORTEN.items()}
    for limits, origin in (({}, True), (_SHORTEN, True), (halved, True), (halved, False)):
        reply = prefix + "".join(_sentences(summary, url, limits, copied_lookups, origin=origin))
        if len(reply) <= TARGET_LENGTH:
            break
    return reply


def _sentences(summary: Summary, url: str, limits: dict[str, int], copied_lookups: int, *,
               origin: bool) -> Iterator[str]:
    product = _shorten(summary.product_name or _("Logistic unit"), limits.get("product"))
    batch = summary.lot or summary.sscc or ""
    if summary.status == "recalled":
        yield _("WARNING: %(product)s, batch %(batch)s, is recalled. ", product=product, batch=batch)
        if summary.recall_reason:
            yield _("Reason: %(reason)s. ", reason=_shorten(summary.recall_reason, limits.get("reason")))
        yield _("Stop eating or using it and return it to the seller. ")
    else:
        yield _("%(product)s, batch %(batch)s: %(status)s. ", product=product, batch=batch,
                status=_status_word(summary.status))
    if summary.status == "expired" and summary.expires_on:
        yield _("Expired on %(date)s; do not eat or use it. ", date=summary.expires_on)
    if "sold_twice" in summary.warnings:
        yield _("This code was sold before: the package may be counterfeit. ")
    elif copied_lookups:
        yield _("This code has been checked %(count)s times: its label may have been copied. ",
                count=copied_lookups)
    if "upstream_recalled" in summary.warnings:
        yield _("An ingredient of it is recalled. ")
    if "upstream_non_conformant" in summary.warnings:
        yield _("An ingredient of it failed an inspection. ")
    if origin and summary.origin:
        yield _("Origin: %(place)s. ", place=_shorten(summary.origin, limits.get("origin")))
    elif origin and summary.producer:
        yield _("Producer: %(name)s. ", name=_shorten(summary.producer, limits.get("origin")))
    yield _("Details: %(url)s", url=url)


def _status_word(status: str) -> str:
    """The public page's status in a word; a status this module does not know is shown as it is."""
    words = {"normal": _("normal"), "recalled": _("recalled"), "expired": _("expired"),
             "destroyed": _("destroyed"), "under_investigation": _("under investigation")}
    return words.get(status, status)


def _shorten(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def _fit(text: str) -> str:
    return _shorten(text, TARGET_LENGTH)


def _today() -> date:
    return now().astimezone(MARKET_TIME).date()

