"""The public page of a code: the product, its status, the chain back to every source (the latest events of each
batch), the look-up count, the server's verdict on the proof bundle of the batch's events the page lists (the page's
script then checks the same bundle on the device) and the way to file a complaint; and the history page of a batch
of the chain, which pages through all its events (``?history=<ref>[&before=<entry index>]``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Response, current_app, render_template, request
from sqlalchemy.exc import SQLAlchemyError

from api.context import app_context, read_session, write_session
from ledger import LedgerError
from trace import queries
from trace.public import PublicView, public_view
from trace.public_history import NotInChain, public_history
from trace.scans import Lookups, place_of, record_lookup, record_place
from trace.verdicts import Verdict, proved_events, save_verdict, stored_verdict

from .i18n import current_language
from .proof_cache import batch_proof
from .raw_target import raw_path

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))

__all__ = ["HistoryRequestError", "render", "render_history"]


class HistoryRequestError(ValueError):
    """A history page asked with a malformed ``before`` or for a batch outside the page's chain: the resolver
    answers it with its 400 page, as any malformed code."""


def render(ref: str, unit_id: str | None, *, uri: str) -> Response:
    """The page of batch ``ref`` (or of its unit ``unit_id``) whose QR code carries ``uri``. Counts the look-up.
    Raises :class:`trace.queries.NotFound`."""
    context = app_context()
    now = context.clock()
    view = public_view(read_session(), ref, today=now.astimezone(CHINA).date(), unit_id=unit_id)
    lookups = _count_lookup(unit_id or ref, now, place=_place() if unit_id else None)
    bundle_url = f"{raw_path()}?linkType=gs1:traceability"
    latest = proved_events(view.batch.event_count)  # prove the events the page lists
    html = render_template(
        "public.html", view=view, parties=view.parties, uri=uri, lookups=lookups, now=now, page_path=raw_path(),
        suspicious=bool(lookups and unit_id and lookups.suspicious(now)),
        verify_bundle_url=f"{bundle_url}&latest={latest}" if latest else bundle_url,
        verify_full_bundle_url=bundle_url if latest else None,
        verify_server_verdict=_server_verdict(view, latest), operator_key_text=context.operator_key.text(),
        origin=context.settings.ledger_origin, enterprise_name=_enterprise_namer(view.parties),
        local_time=local_time, local_date=local_date)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # the look-up count and the status change with every visit
    return response


def render_history(ref: str, history: str, before: str | None) -> Response:
    """The history page of batch ``history``, in the chain of the page of ``ref``: its events before entry
    ``before`` (its latest when None), a page at a time, with the public page's fields only. A malformed
    ``before`` or a batch outside the chain raises :class:`HistoryRequestError`; a ``ref`` the ledger does not
    have, :class:`trace.queries.NotFound`."""
    if before is not None and not (before.isascii() and before.isdigit() and len(before) <= 18):
        raise HistoryRequestError(f"before={before[:40]!r} is not an entry index")
    try:
        page = public_history(read_session(), ref, history, before=int(before) if before is not None else None)
    except NotInChain as exc:
        raise HistoryRequestError(exc.message) from None
    html = render_template("public_history.html", page=page, parties=page.parties, page_path=raw_path(),
                           enterprise_name=_enterprise_namer(page.parties), local_time=local_time)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def local_time(moment: str) -> str:
    """An ISO 8601 time with offset as ``YYYY-MM-DD HH:MM`` in China time (as written when it does not parse or has
    no offset)."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return moment
    return parsed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def local_date(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d")


def _count_lookup(code: str, now: datetime, *, place: str | None = None) -> Lookups | None:
    """Count this look-up (and, for a unit, its place: :func:`trace.scans.place_of`) in its own short transaction;
    a page never fails because counting did."""
    session = write_session()
    try:
        lookups = record_lookup(session, code, now)
        if place is not None:
            record_place(session, code, place, now)
        session.commit()
        return lookups
    except SQLAlchemyError:
        session.rollback()
        logger.warning("look-up not counted", extra={"code": code}, exc_info=True)
        return None


def _place() -> str | None:
    """The place of this look-up: a keyed hash of the client's network, never its address (risk rule
    ``scan.many_places``)."""
    return place_of(request.remote_addr, str(current_app.config["SECRET_KEY"]).encode())


def _server_verdict(view: PublicView, latest: int | None) -> dict[str, Any]:
    """What the server found when it checked the batch's bundle as the page's script will (the latest ``latest``
    events, or all when None): shown without JavaScript, and labelled as the server's word. Read as the verdicts'
    worker stored it, or checked now and stored when the worker has not caught up yet (``trace.verdicts``)."""
    session = read_session()
    last_index = view.batch.steps[-1].entry_index
    verdict = stored_verdict(session, view.root, last_index=last_index, latest=latest)
    if verdict is None:
        try:
            verdict = batch_proof(session, view.root, app_context().operator_key, latest=latest,
                                  last_index=last_index,
                                  indexes=lambda: queries.batch_entries(session, view.root)).verdict
        except LedgerError as exc:
            return {"ok": False, "tree_size": 0, "checkpoint_time": None, "error": f"{exc.code}: {exc.message}",
                    "events": 0, "total": 0}
        _save_verdict(view.root, verdict, last_index=last_index, latest=latest)
    return {"ok": verdict.error is None, "tree_size": verdict.tree_size,
            "checkpoint_time": local_time(verdict.checkpoint_time.isoformat()), "error": verdict.error,
            "events": verdict.events, "total": verdict.events + verdict.earlier}


def _save_verdict(ref: str, verdict: Verdict, *, last_index: int, latest: int | None) -> None:
    """Store a verdict this view checked, in its own short transaction; a page never fails because storing did."""
    session = write_session()
    try:
        save_verdict(session, ref, verdict, last_index=last_index, latest=latest)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        logger.warning("verdict not stored", extra={"batch": ref}, exc_info=True)


def _enterprise_namer(parties: dict[str, Any]) -> Any:
    """A template helper: the enterprise's name in the page's language, or the regulator for the registrar."""
    english = current_language() == "en"

    def name(code: str) -> str:
        party = parties.get(code)
        if party is None:
            return code
        return (party.name_en or party.name) if english else party.name
    return name
