"""The console's integrity audits in the background: one audit at a time per process in a thread of its own, its
progress kept in the audit's row, the finished report stored, its checkpoint remembered when INTACT, and the result
signed as ``trace.audit.report`` by the officer who started it. The checks themselves: :mod:`trace.audit_checks`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerError, VerifierKey

from .access_models import Account
from .audit_checks import (
    AuditResult,
    ExportFile,
    audit_export,
    audit_live,
    report_bytes,
    report_document,
    since,
    snapshot,
    statement_body,
)
from .audits import AUDIT_REPORT, AuditReport, RememberedCheckpoint, remembered
from .errors import DomainError
from .officers import Officers

logger = logging.getLogger(__name__)

#: Progress is written to the database at most this often (and at each change of phase).
PROGRESS_INTERVAL = 1.0


class AuditBusyError(DomainError):
    """An audit is already running in this process (``audit.busy``); ``running`` is its report id."""

    code = "audit.busy"

    def __init__(self, running: int) -> None:
        super().__init__(f"audit {running} is still running", code="audit.busy")
        self.running = running


class AuditRunner:
    """Runs the console's audits in a background thread, one at a time per process (a second start while one
    runs raises :class:`AuditBusyError`; separate server processes each run their own). Progress goes to the
    audit's row at most every :data:`PROGRESS_INTERVAL` seconds; the finished report is stored, its checkpoint
    remembered when INTACT, and the result signed as ``trace.audit.report`` by the officer who started it.

    Signatures are checked in the thread itself (``threads`` = 1 by default): forking worker processes out of a
    threaded web server is not safe.
    """

    def __init__(self, sessions: sessionmaker[Session], operator_key: VerifierKey, officers: Officers,
                 clock: Callable[[], datetime], *, threads: int = 1) -> None:
        self._sessions, self._key, self._officers, self._clock = sessions, operator_key, officers, clock
        self._threads = threads
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running: int | None = None

    def running(self) -> int | None:
        """The id of the audit this process is running, if any."""
        with self._lock:
            return self._running if self._thread is not None and self._thread.is_alive() else None

    def start(self, officer: str, export: ExportFile | None = None) -> int:
        """Record a new audit of the live ledger (or of ``export``, whose file the run deletes when done) and
        start it; returns its id. Raises :class:`AuditBusyError` while another runs in this process."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                assert self._running is not None
                raise AuditBusyError(self._running)
            now = self._clock()
            with self._sessions() as session:
                row = AuditReport(officer=officer, source="live" if export is None else "export",
                                  export_name=None if export is None else export.name,
                                  export_sha256=None if export is None else export.sha256,
                                  export_bytes=None if export is None else export.size,
                                  started_at=now, updated_at=now, phase="verifying", done=0, checkpoints_checked=0,
                                  authors=0, keys=0, revoked_keys=0, events_replayed=0, inconsistent=0)
                session.add(row)
                session.commit()
                report_id = row.id
            self._thread = threading.Thread(target=self._run, args=(report_id, officer, now, export),
                                            name=f"trace-audit-{report_id}", daemon=True)
            self._running = report_id
            self._thread.start()
        logger.info("audit started", extra={"audit": report_id, "account": officer,
                                            "source": "live" if export is None else "export"})
        return report_id

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running audit to end; whether none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self, report_id: int, officer: str, started_at: datetime, export: ExportFile | None) -> None:
        started = time.perf_counter()
        writer = _ProgressWriter(self._sessions, report_id, self._clock)
        try:
            with snapshot(self._sessions) as session:
                known = remembered(session)
            if export is None:
                result = audit_live(self._sessions, self._key, known, progress=writer, threads=self._threads)
            else:
                result = audit_export(export.path, self._key, known, live=self._sessions, progress=writer,
                                      threads=self._threads)
        except Exception:
            logger.exception("audit failed", extra={"audit": report_id})
            result = AuditResult("live" if export is None else "export", "ERROR", tree_size=writer.done,
                                 code="audit.internal", reason="internal error; it has been logged",
                                 milliseconds=since(started))
        finally:
            if export is not None:
                export.path.unlink(missing_ok=True)
        try:
            self._finish(report_id, officer, started_at, export, result, writer.done)
        except Exception:
            logger.exception("audit report could not be stored", extra={"audit": report_id})
            self._close(report_id, "the report could not be stored; see the log")

    def _finish(self, report_id: int, officer: str, started_at: datetime, export: ExportFile | None,
                result: AuditResult, done: int) -> None:
        finished_at = self._clock()
        document = report_document(result, audit_id=report_id, operator_key=self._key, officer=officer,
                                   started_at=started_at, finished_at=finished_at, export=export)
        data, digest = report_bytes(document)
        values = {
            "phase": "signing", "updated_at": finished_at, "finished_at": finished_at,
            "done": result.tree_size if result.outcome == "INTACT" else done, "outcome": result.outcome,
            "tree_size": result.tree_size,
            "root": None if result.root is None else result.root.hex(), "checkpoint_note": result.checkpoint,
            "first_bad_index": result.first_bad_index, "code": result.code, "reason": result.reason,
            "checkpoints_checked": result.checkpoints_checked, "authors": result.authors, "keys": result.keys,
            "revoked_keys": result.revoked_keys, "events_replayed": result.events_replayed,
            "milliseconds": result.milliseconds, "inconsistent": len(result.inconsistent),
            "report_json": data.decode("utf-8"), "report_sha256": digest}
        remember = result.outcome == "INTACT" and result.checkpoint is not None
        for attempt in (remember, False):
            try:
                with self._sessions() as session:
                    session.execute(update(AuditReport).where(AuditReport.id == report_id).values(**values))
                    if attempt and session.get(RememberedCheckpoint, result.tree_size) is None:
                        assert result.root is not None and result.checkpoint is not None
                        session.add(RememberedCheckpoint(tree_size=result.tree_size, root=result.root.hex(),
                                                         note=result.checkpoint, verified_by=officer,
                                                         verified_at=finished_at, report_id=report_id))
                    session.commit()
                break
            except IntegrityError:  # another process remembered a checkpoint of this size at the same moment
                continue
        logger.info("audit finished", extra={"audit": report_id, "outcome": result.outcome,
                                             "tree_size": result.tree_size, "code": result.code})
        self._sign(report_id, officer, result, digest)

    def _sign(self, report_id: int, officer: str, result: AuditResult, digest: str) -> None:
        # No request checks the login here: an account disabled while its audit ran signs nothing more.
        with snapshot(self._sessions) as session:
            account = session.get(Account, officer)
            active = account is not None and account.active
        if not active:
            self._close(report_id, f"audit.account_disabled: the account {officer} was disabled before the result "
                                   "could be signed")
            return

        def mark(session: Session, appended: Any) -> None:
            session.execute(update(AuditReport).where(AuditReport.id == report_id).values(
                statement_index=appended.index, phase="done", updated_at=self._clock()))
        try:
            self._officers.append(officer, AUDIT_REPORT, statement_body(result, digest), clock=self._clock,
                                  record=mark)
        except LedgerError as exc:
            logger.warning("audit report not signed", extra={"audit": report_id, "code": exc.code})
            self._close(report_id, f"{exc.code}: {exc.message}")
        except Exception:
            logger.exception("audit report not signed", extra={"audit": report_id})
            self._close(report_id, "internal error; it has been logged")

    def _close(self, report_id: int, statement_error: str) -> None:
        with self._sessions() as session:
            session.execute(update(AuditReport).where(AuditReport.id == report_id).values(
                phase="done", statement_error=statement_error, updated_at=self._clock()))
            session.commit()


class _ProgressWriter:
    """Writes an audit's progress to its row: at each change of phase, else at most every
    :data:`PROGRESS_INTERVAL` seconds."""

    def __init__(self, sessions: sessionmaker[Session], report_id: int, clock: Callable[[], datetime]) -> None:
        self._sessions, self._report_id, self._clock = sessions, report_id, clock
        self._phase = ""
        self._written = 0.0
        self.done = 0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        self.done = done
        now = time.monotonic()
        if phase == self._phase and now - self._written < PROGRESS_INTERVAL:
            return
        self._phase, self._written = phase, now
        with self._sessions() as session:
            session.execute(update(AuditReport).where(AuditReport.id == self._report_id).values(
                phase=phase, done=done, total=total, updated_at=self._clock()))
            session.commit()
