"""Console area: recalls. An inspector or the registrar starts a recall of a batch (``trace.recall``, signed with
the officer's own key): the batch is marked recalled at once, with everything made from it and every logistic
unit it travels in, so every affected public page shows the banner. Each party of the scope gets its notice
(:mod:`trace.recall_notices`, read through the API) and answers with a signed ``trace.recall.acknowledge``; the
recall's page follows every holder until the registrar closes it (``trace.recall.close``). The scope downloads as
CSV or XLSX (:mod:`scanner_web.console.recall_exports`).

Pages that show a recall first bring its notices up to date from the ledger, in the request's one commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from api.context import app_context, read_session, write_session
from ledger import AppendResult, LedgerError
from trace.codes import CodeError, read_code
from trace.context import MARKET_TIME, lot_ref, sscc_ref
from trace.quality import RECALL
from trace.quantities import format_quantity
from trace.recall_notices import notice_counts, notify_parties, refresh_open_recalls, refresh_recall
from trace.recall_scope import RecallNotFound, RecallScope, ScopeBatchNotFound, preview_scope, recall_scope
from trace.recall_tracking import CLOSE, MIN_OVERRIDE

from . import recall_exports
from .guard import act, current_officer, officer_required, page, private

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_recalls", __name__, url_prefix="/console/recalls")

ROLES = ("inspector", "registrar")
LEVELS = ("1", "2", "3")
MAX_REASON = 500
_STATUSES = ("open", "closed", "all")


class BatchCodeError(ValueError):
    """What was typed is not a batch code; ``message`` says why, in the page's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@blueprint.get("/")
@officer_required(*ROLES)
def index() -> Any:
    status = request.args.get("status", "open")
    status = status if status in _STATUSES else "open"
    session = write_session()
    recalls = refresh_open_recalls(session, app_context().clock())
    session.commit()
    counts = notice_counts(session)
    shown = [recall for recall in recalls
             if status == "all" or (recall.closed if status == "closed" else not recall.closed)]
    return page("console/recalls/index.html", recalls=shown, counts=counts, status=status,
                totals={"open": sum(not recall.closed for recall in recalls),
                        "closed": sum(recall.closed for recall in recalls)},
                labels=_labels(), when=_when)


@blueprint.get("/new")
@officer_required(*ROLES)
def new() -> Any:
    """The form, filled from ``?batch=&reason=&level=`` (the complaints area links here to escalate)."""
    values = {"batch": request.args.get("batch", "").strip()[:512],
              "reason": request.args.get("reason", "").strip()[:MAX_REASON],
              "level": request.args.get("level", "")}
    preview, error = None, None
    if values["batch"]:
        try:
            preview = preview_scope(read_session(), resolve_batch(values["batch"]))
        except BatchCodeError as exc:
            error = exc.message
        except ScopeBatchNotFound:
            error = _("No batch %(code)s is in the ledger.", code=values["batch"])
    return _form(values, preview=preview, error=error)


@blueprint.post("/new")
@officer_required(*ROLES)
def start() -> Any:
    values = {"batch": request.form.get("batch", "").strip()[:512],
              "reason": request.form.get("reason", "").strip(),
              "level": request.form.get("level", "")}
    try:
        ref = resolve_batch(values["batch"])
    except BatchCodeError as exc:
        return _refused(values, exc.message)
    if not values["reason"] or len(values["reason"]) > MAX_REASON:
        return _refused(values, _("Give the reason for the recall (at most %(count)s characters).",
                                  count=MAX_REASON))
    if values["level"] not in LEVELS:
        return _refused(values, _("Choose the risk level of the recall."))
    now = app_context().clock()

    def notify(session: Session, result: AppendResult) -> None:
        assert result.index is not None
        notify_parties(session, recall_scope(session, result.index), now)
    try:
        result = act(RECALL, {"batch": ref, "reason": values["reason"], "level": values["level"]}, record=notify,
                     links=[ref])
    except LedgerError as error:
        return _refused(values, error.message)
    flash(_("Recall started (ledger entry %(index)s): the batch and everything made from it now show as recalled.",
            index=result.index), "ok")
    return redirect(url_for(".show", index=result.index), 303)


@blueprint.get("/<int:index>")
@officer_required(*ROLES)
def show(index: int) -> Any:
    return _show(index)


@blueprint.post("/<int:index>/close")
@officer_required("registrar")
def close(index: int) -> Any:
    values = {"note": request.form.get("note", "").strip(), "override": request.form.get("override", "").strip(),
              "overriding": request.form.get("overriding", "")}
    try:
        scope = recall_scope(read_session(), index)
    except RecallNotFound:
        return _missing(index)
    if not values["note"] or len(values["note"]) > MAX_REASON:
        return _show(index, values=values, error=_("Write a closing note (at most %(count)s characters).",
                                                   count=MAX_REASON))
    body = {"recall": index, "note": values["note"]}
    if values["overriding"]:
        if len(values["override"]) < MIN_OVERRIDE or len(values["override"]) > MAX_REASON:
            return _show(index, values=values, error=_(
                "An override needs its reason: %(minimum)s to %(maximum)s characters.", minimum=MIN_OVERRIDE,
                maximum=MAX_REASON))
        body["override"] = values["override"]
    now = app_context().clock()

    def refresh(session: Session, _result: AppendResult) -> None:
        notify_parties(session, recall_scope(session, index), now)
    try:
        result = act(CLOSE, body, record=refresh, links=[scope.source])
    except LedgerError as error:
        return _show(index, values=values, error=error.message)
    flash(_("Recall closed (ledger entry %(index)s). The goods stay recalled on every public page.",
            index=result.index), "ok")
    return redirect(url_for(".show", index=index), 303)


@blueprint.get("/<int:index>/scope.<any(csv, xlsx):fmt>")
@officer_required(*ROLES)
def export(index: int, fmt: str) -> Any:
    try:
        scope = recall_scope(read_session(), index)
    except RecallNotFound:
        return _missing(index)
    data, mimetype = recall_exports.export(scope, fmt, generated=app_context().clock())
    officer = current_officer()
    logger.info("recall scope exported", extra={"account": officer.username if officer else None,
                                                "recall": index, "format": fmt, "rows": len(scope.positions)})
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="recall-{index}-scope.{fmt}"'
    return private(response)


def resolve_batch(text: str) -> str:
    """The ledger reference of the batch ``text`` names: a ledger reference (``01/{GTIN}/10/{lot}``,
    ``00/{SSCC}``), a GS1 Digital Link, or an element string such as ``(01)…(10)…``. Raises
    :class:`BatchCodeError`."""
    value = text.strip()
    if not value:
        raise BatchCodeError(_("Enter the batch: its ledger reference, its GS1 Digital Link or its element string."))
    try:
        code = read_code(value)  # a ledger reference is a Digital Link's path
    except CodeError as exc:
        if exc.reason in ("gtin_only", "location"):
            raise BatchCodeError(_("%(code)s names a product or a place, not a batch: give the lot (AI 10) or the "
                                   "SSCC.", code=value[:80])) from None
        raise BatchCodeError(_("Not a batch code: %(reason)s", reason=exc.message)) from None
    if code.kind == "sscc" and code.sscc is not None:
        return sscc_ref(code.sscc)
    if code.kind == "lot" and code.gtin is not None and code.lot is not None:
        return lot_ref(code.gtin, code.lot)
    raise BatchCodeError(_("%(code)s names a single unit, not a batch: give the lot (AI 10) or the SSCC.",
                           code=value[:80]))


def _show(index: int, *, values: dict[str, str] | None = None, error: str | None = None) -> Response:
    session = write_session()
    try:
        scope, notices = refresh_recall(session, index, app_context().clock())
    except RecallNotFound:
        return _missing(index)
    session.commit()
    if error is not None:
        flash(error, "error")
    officer = current_officer()
    parties = sorted(scope.parties.values(), key=lambda party: (_RELATION_ORDER[party.relation], party.code))
    still_open = set(scope.open_parties())
    done = [party.code for party in parties if party.code not in still_open]
    acknowledged = [party.code for party in parties if party.acknowledged is not None]
    return page("console/recalls/show.html", 422 if error else 200, scope=scope, recall=scope.recall,
                parties=parties, notices=notices, done=done, acknowledged=acknowledged,
                values=values or {"note": "", "override": "", "overriding": ""}, labels=_labels(), when=_when,
                totals=recall_exports.party_totals, columns=recall_exports.quantity_columns(), qty=format_quantity,
                min_override=MIN_OVERRIDE, may_close=officer is not None and officer.may("registrar"))


def _form(values: dict[str, str], *, preview: RecallScope | None = None, error: str | None = None,
          status: int = 200) -> Response:
    if error is not None:
        flash(error, "error")
    return page("console/recalls/new.html", status, values=values, preview=preview, levels=_levels(),
                labels=_labels(), totals=recall_exports.party_totals)


def _refused(values: dict[str, str], message: str) -> Response:
    logger.info("recall refused", extra={"batch": values["batch"][:80], "reason_code": message[:80]})
    return _form(values, error=message, status=422)


def _missing(index: int) -> Response:
    return page("console/recalls/missing.html", 404, index=index)


def _levels() -> list[tuple[str, str, str]]:
    return [("1", _("Level 1"), _("Eating or using it has caused or may cause serious harm to health, or death. "
                                  "Start within 24 hours; finish within 10 working days.")),
            ("2", _("Level 2"), _("Eating or using it has caused or may cause general harm to health. Start within "
                                  "48 hours; finish within 20 working days.")),
            ("3", _("Level 3"), _("No harm to health is expected, but the label or marking is false or wrong. Start "
                                  "within 72 hours; finish within 30 working days."))]


_RELATION_ORDER = {"maker": 0, "processor": 1, "holder": 2, "former": 3}


def _labels() -> dict[str, str]:
    return {"maker": _("Maker of the recalled batch"), "processor": _("Made goods from it"),
            "holder": _("Holds goods"), "former": _("Held goods earlier"),
            "1": _("Level 1"), "2": _("Level 2"), "3": _("Level 3"), "": _("No level given"),
            "lot": _("Lot"), "logistic": _("Logistic unit")}


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(MARKET_TIME).strftime("%Y-%m-%d %H:%M")

