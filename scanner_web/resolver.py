"""The GS1-conformant resolver: ``/01/{gtin}/10/{lot}``, ``/01/{gtin}/21/{serial}``,
``/01/{gtin}/10/{lot}/21/{serial}`` and ``/00/{sscc}`` answer with the public page, or by ``linkType`` with the
proof bundle (``gs1:traceability``), the recall status (``gs1:recallStatus``) or an RFC 9264 linkset
(``linkset``, or ``Accept: application/linkset+json``); ``/.well-known/gs1resolver`` describes the resolver.

The path is parsed from the raw request URI by :func:`trace.identifiers.parse_digital_link`, so a percent-encoded
lot (``%2F`` included) resolves, and a malformed code gets the parser's precise reason on a 400 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, request

from api.context import app_context, read_session
from api.errors import error_response
from api.pages import latest_arg
from api.responses import json_response
from ledger import LedgerError
from trace import queries
from trace.identifiers import DigitalLink, IdentifierError, format_digital_link, parse_digital_link
from trace.lots import unit_id_for

from . import public_page
from .links import public_uri
from .proof_cache import batch_proof
from .raw_target import raw_path, raw_target

blueprint = Blueprint("resolver", __name__, template_folder="templates")

GS1 = "https://gs1.org/voc/"
#: The link types this resolver answers, besides the default human page (gs1:pip).
LINK_TYPES = {"gs1:pip": "text/html", "gs1:traceability": "application/json",
              "gs1:recallStatus": "application/json"}
_LINKSET = "application/linkset+json"


@dataclass(frozen=True)
class Target:
    """What a Digital Link names: a batch (``ref``), optionally one serialised unit of it."""

    link: DigitalLink
    ref: str
    unit_id: str | None

    @property
    def uri(self) -> str:
        return public_uri(app_context().settings.public_base_url, self.link.key_ai, self.link.key,
                          lot=self.link.lot, serial=self.link.serial)


@blueprint.get("/01/<path:_rest>")
@blueprint.get("/00/<path:_rest>")
def resolve(_rest: str) -> Any:
    """The page of the code, or the machine-readable resource its ``linkType`` asks for."""
    try:
        link = parse_digital_link(_raw_uri())
    except IdentifierError as exc:
        return _malformed(exc.message)
    try:
        return _answer(_target(link), link)
    except queries.NotFound:
        return _unregistered(link)


def _answer(target: Target, link: DigitalLink) -> Response:
    link_type = link.link_type or ("linkset" if _LINKSET in request.accept_mimetypes.values() else None)
    if link_type in {"linkset", "all"}:
        return _linkset(target)
    if link_type == "gs1:traceability":
        return _bundle(target, dict(link.other_attributes).get("latest"))
    if link_type == "gs1:recallStatus":
        return _recall_status(target)
    # gs1:pip, no link type, or one this resolver does not have: the default link, the human page, or the history
    # page of one of its batches.
    attributes = dict(link.other_attributes)
    if "history" in attributes:
        try:
            response = public_page.render_history(target.ref, attributes["history"], attributes.get("before"))
        except public_page.HistoryRequestError as exc:
            return _malformed(str(exc))
    else:
        response = public_page.render(target.ref, target.unit_id, uri=target.uri)
    response.headers["Link"] = f'<{raw_path()}?linkType=linkset>; rel="linkset"; type="{_LINKSET}"'
    return response


@blueprint.get("/.well-known/gs1resolver")
def description() -> Any:
    """The resolver description file of the GS1-Conformant Resolver standard."""
    base = app_context().settings.public_base_url
    return json_response({
        "name": "Product traceability resolver · 产品追溯解析服务",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01", "00"],
        "supportedQualifiers": {"01": ["10", "21"]},
        "linkTypeDefaultCanBeLinkset": False,
        "supportedLinkType": [{"namespace": GS1, "prefix": "gs1:", "profile": link_type.removeprefix("gs1:")}
                              for link_type in LINK_TYPES],
        "supportedContextValuesEnumerated": [],
        "linksetContentType": _LINKSET,
        "defaultLinkType": "gs1:pip",
        "languages": ["zh", "en"],
    }, cache="public, max-age=3600")


def _raw_uri() -> str:
    """The request as sent under ``https://`` and the request's host: the parser checks the path and query, and a
    Digital Link is an https URI whatever the transport of this request."""
    return f"https://{request.host.lower()}{raw_target()}"


def _target(link: DigitalLink) -> Target:
    """What ``link`` names; whether a batch exists is left to the answer, which reads it anyway (each raises
    :class:`trace.queries.NotFound`)."""
    session = read_session()
    if link.key_ai == "00":
        return Target(link, queries.sscc_ref_of(link.key), None)
    if link.lot is None and link.serial is None:
        raise queries.NotFound("a GTIN alone names a product, not a batch", code="not_found.batch")
    if link.serial is not None:  # a unit of the product (in that lot, when the link names one)
        return Target(link, queries.unit_ref(session, link.key, link.serial, link.lot),
                      unit_id_for(link.key, link.serial))
    assert link.lot is not None
    return Target(link, queries.lot_ref_of(link.key, link.lot), None)


def _malformed(reason: str) -> Response:
    response = Response(render_template("resolver_error.html", status=400, reason=reason, code=_raw_uri()),
                        status=400, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _unregistered(link: DigitalLink) -> Response:
    response = Response(render_template("resolver_error.html", status=404, reason=None,
                                        code=format_digital_link(link)), status=404, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _linkset(target: Target) -> Response:
    """RFC 9264 linkset of the code: the page in each language, the proof bundle and the recall status."""
    queries.batch(read_session(), target.ref)  # raises NotFound for a code the ledger does not have
    path = raw_path()
    links: dict[str, Any] = {
        f"{GS1}pip": [{"href": f"{path}?lang={language}", "title": title, "type": "text/html",
                       "hreflang": [language]}
                      for language, title in (("zh", "产品追溯信息"), ("en", "Product traceability page"))],
        f"{GS1}traceability": [{"href": f"{path}?linkType=gs1:traceability", "title": "Ledger proof bundle",
                                "type": "application/json"}],
        f"{GS1}recallStatus": [{"href": f"{path}?linkType=gs1:recallStatus", "title": "Recall status",
                                "type": "application/json"}],
    }
    response = json_response({"linkset": [{"anchor": target.uri, **links}]}, cache="no-cache")
    response.mimetype = _LINKSET
    return response


def _bundle(target: Target, latest: str | None) -> Response:
    """The batch's proof bundle against the earliest checkpoint covering its latest event: unchanged until the
    batch's next event, so clients revalidate it by ETag. With ``&latest=K`` (read by :func:`api.pages.latest_arg`,
    as the API reads it), the bundle of its latest K events only (docs/ledger-format.md §11.2), as the public page's
    device check fetches it."""
    try:
        bound = latest_arg(latest)
    except LedgerError as exc:  # answered in JSON whatever the client accepts, as the bundle is
        return error_response(400, exc.code, exc.message, {"latest": (latest or "")[:40]})
    session = read_session()
    entries = queries.batch_entries(session, target.ref)
    if bound is not None and bound >= len(entries):
        bound = None  # the whole history: one cached bundle, whatever bound was asked for
    try:
        proof = batch_proof(session, target.ref, app_context().operator_key, last_index=entries[-1],
                            indexes=lambda: entries, latest=bound)
    except LedgerError as exc:
        if exc.code != "proof.no_checkpoint":
            raise
        return json_response({"error": {"code": exc.code, "message": str(exc), "fields": {}}}, status=404)
    response = json_response(proof.bundle, cache="no-cache")
    response.set_etag(f"{proof.verdict.tree_size}-{proof.verdict.events}-{target.ref}")
    return response.make_conditional(request)


def _recall_status(target: Target) -> Response:
    state = queries.batch(read_session(), target.ref)
    recalls = state["recalls"]
    return json_response({"anchor": target.uri, "batch": target.ref, "recalled": bool(recalls),
                          "recalls": [{"entry_index": recall["entry_index"], "source_batch": recall["source_ref"],
                                       "reason": recall["reason"]} for recall in recalls]},
                         cache="no-cache")
