"""Console area: integrity audits. An officer runs the full verifier over the live ledger or an uploaded export in
the background (:class:`trace.audit_runner.AuditRunner`, one audit at a time per server process), watches its
progress, and reads, downloads and signs its report; checkpoints verified once are remembered, and a later ledger
inconsistent with one of them (a fork or a rollback) is flagged on the list and on the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from api.context import AppContext, app_context, read_session
from trace.audit_checks import ExportFile
from trace.audit_runner import AuditBusyError, AuditRunner
from trace.audits import AuditReport, flagged_reports, recent_reports, remembered_checkpoints

from .guard import current_officer, officer_required, page, private

logger = logging.getLogger(__name__)
blueprint = Blueprint("console_audits", __name__, url_prefix="/console/audits")

ROLES = ("inspector", "registrar", "administrator")
#: The largest export accepted for upload (the whole request); larger ones are verified from the command line.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_RUNNER = "trace_audits"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


@blueprint.record_once
def _install_runner(state: BlueprintSetupState) -> None:
    context: AppContext = state.app.extensions["trace"]
    state.app.extensions[_RUNNER] = AuditRunner(context.sessions, context.operator_key, context.officers,
                                                context.clock)


def runner() -> AuditRunner:
    """This application's audit runner."""
    found: AuditRunner = current_app.extensions[_RUNNER]
    return found


@blueprint.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # URL value preprocessors run before every before_request function, so the export's own limit (not the API's)
    # is in force when the console's CSRF check parses the upload.
    if endpoint == "console_audits.start_export":
        request.max_content_length = MAX_UPLOAD_BYTES


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Any:
    return page("console/audits/too_large.html", 413, limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024))


@blueprint.get("/")
@officer_required(*ROLES)
def index() -> Any:
    reader = read_session()
    return page("console/audits/index.html", reports=recent_reports(reader), flagged=flagged_reports(reader),
                checkpoints=remembered_checkpoints(reader), running=runner().running(),
                limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024), **_labels())


@blueprint.post("/live")
@officer_required(*ROLES)
def start_live() -> Any:
    return _start(None)


@blueprint.post("/export")
@officer_required(*ROLES)
def start_export() -> Any:
    upload = request.files.get("export")
    if upload is None or not upload.filename:
        flash(_("Choose an export file to upload."), "error")
        return redirect(url_for(".index"), 303)
    busy = runner().running()
    if busy is not None:
        return _busy(busy)
    export = _save(upload)
    if export.size == 0:
        export.path.unlink(missing_ok=True)
        flash(_("The file %(name)s is empty.", name=export.name), "error")
        return redirect(url_for(".index"), 303)
    return _start(export)


@blueprint.get("/<int:audit_id>")
@officer_required(*ROLES)
def report(audit_id: int) -> Any:
    row = _report(audit_id)
    document = json.loads(row.report_json) if row.report_json else None
    return page("console/audits/report.html", report=row, findings=document["remembered"] if document else [],
                progress=_progress(row), stalled=row.stalled(app_context().clock()), **_labels())


@blueprint.get("/<int:audit_id>/progress")
@officer_required(*ROLES)
def progress(audit_id: int) -> Any:
    return private(jsonify(_progress(_report(audit_id))))


@blueprint.get("/<int:audit_id>/report.json")
@officer_required(*ROLES)
def download(audit_id: int) -> Any:
    row = _report(audit_id)
    if row.report_json is None:
        abort(409, description=_("Audit %(id)s has not finished yet; its report can be downloaded once it has.",
                                 id=audit_id))
    response = Response(row.report_json.encode("utf-8"), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{audit_id}.json"'
    return private(response)


def _start(export: ExportFile | None) -> Any:
    officer = current_officer()
    assert officer is not None
    try:
        audit_id = runner().start(officer.username, export)
    except AuditBusyError as busy:
        if export is not None:
            export.path.unlink(missing_ok=True)
        return _busy(busy.running)
    return redirect(url_for(".report", audit_id=audit_id), 303)


def _busy(running: int) -> Any:
    flash(_("Audit %(id)s is still running, and one audit runs at a time; wait for it to finish.", id=running),
          "error")
    return redirect(url_for(".report", audit_id=running), 303)


def _save(upload: FileStorage) -> ExportFile:
    """Copy the upload to a file of its own (the run outlives the request), hashing it on the way."""
    digest, size = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(prefix="trace-audit-", suffix=".export")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            while block := upload.stream.read(1 << 20):
                size += len(block)
                if size > MAX_UPLOAD_BYTES:
                    raise RequestEntityTooLarge()
                digest.update(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    shown = _UNSAFE_NAME.sub("_", upload.filename or "")[-200:] or "export"
    return ExportFile(path, shown, digest.hexdigest(), size)


def _report(audit_id: int) -> AuditReport:
    row = read_session().get(AuditReport, audit_id)
    if row is None:
        abort(404, description=_("There is no audit %(id)s.", id=audit_id))
    return row


def _progress(row: AuditReport) -> dict[str, Any]:
    """How far the audit got, for its page and the page's script."""
    total = row.total
    percent = min(100, row.done * 100 // total) if total else None
    text = _("%(done)s of %(total)s entries verified", done=row.done, total=total) if total is not None else \
        _("%(done)s entries verified", done=row.done)
    return {"id": row.id, "finished": row.phase == "done", "phase": row.phase, "phase_label": _phases()[row.phase],
            "done": row.done, "total": total, "percent": percent, "text": text, "outcome": row.outcome}


def _phases() -> dict[str, str]:
    return {"verifying": _("Verifying the entries"), "state": _("Comparing the state tables with the replay"),
            "consistency": _("Checking the remembered checkpoints"), "signing": _("Signing the result"),
            "done": _("Finished")}


def _labels() -> dict[str, Any]:
    return {"outcome_labels": {"INTACT": _("Intact"), "BROKEN": _("Broken"), "ERROR": _("Error")},
            "source_labels": {"live": _("Live ledger"), "export": _("Export file")}, "phase_labels": _phases()}
