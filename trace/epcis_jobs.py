"""EPCIS 2.0 capture jobs whose events enter the ledger signed by the capturing enterprise's own key.

The server never holds enterprise keys, so the standard's asynchronous capture runs in two steps. A captured
document is mapped event by event (:func:`trace.epcis.capture_requests`) and drafted as statements of the
enterprise (:func:`trace.drafts.prepare_drafts`, which runs the traceability rules on trial): the job then awaits
the enterprise's signatures over exactly those statements. The signatures are appended through the same path as a
submitted batch (all or nothing under ``rollback``, each on its own under ``proceed``) and the job records each
event's entry index or refusal. An unsigned job expires after :data:`JOB_LIFETIME`; a job whose author has
appended anything else meanwhile is stale (its statements no longer chain) and fails with ``sequence.conflict``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger import AppendResult, BatchRefused, LedgerConfig, LedgerError, author_position, parse_envelope
from ledger.keys import verify_signature
from ledger.models import LedgerKey

from .bulk_policy import BulkTracePolicy
from .drafts import prepare_drafts, statement_fields
from .epcis import capture_requests
from .epcis_job_models import CaptureJob
from .epcis_query import EventExporter
from .ledger_service import append

#: How long a job waits for its signatures.
JOB_LIFETIME = timedelta(hours=1)
#: How long a finished or expired job stays readable.
JOB_RETENTION = timedelta(days=7)
BEHAVIOURS = ("rollback", "proceed")
AWAITING, SUCCEEDED, FAILED, EXPIRED = "awaiting_signatures", "succeeded", "failed", "expired"


class CaptureError(LedgerError):
    """A capture job cannot do what was asked: ``capture.unknown``, ``capture.finished``, ``capture.expired``,
    ``capture.signatures`` (not one signature per drafted statement)."""

    code = "capture.invalid"


def start_capture(session: Session, *, document: dict[str, Any], author: str, key: str, error_behaviour: str,
                  clock: Callable[[], datetime]) -> CaptureJob:
    """Map and draft ``document`` (already schema-valid) for ``author`` signing with ``key``; add the job.

    Every event ends either as a statement to sign or in the job's errors with its reason. Under ``rollback`` any
    error fails the job at once with nothing to sign; under ``proceed`` the good events await signatures. A
    document without events succeeds at once. Adds and flushes the job; raises :class:`trace.epcis.EpcisError`
    for a document without an event list and ``ledger.not_initialised`` for a ledger without its genesis.
    """
    if error_behaviour not in BEHAVIOURS:
        raise CaptureError(f"GS1-Capture-Error-Behaviour must be rollback or proceed, found {error_behaviour!r}",
                           code="capture.behaviour")
    now = clock()
    session.execute(delete(CaptureJob).where(CaptureJob.expires_at < now - JOB_RETENTION))
    items = capture_requests(document, author=author, names=EventExporter(session).names)
    mapped = [item for item in items if item.request is not None]
    drafts = prepare_drafts(session, author=author, key=key, requests=[item.request for item in mapped
                                                                       if item.request is not None], clock=clock)
    errors = [_event_error(item.index, item.event_id, item.code or "epcis.unmappable", item.reason or "")
              for item in items if item.request is None]
    statements = []
    for item, draft in zip(mapped, drafts, strict=True):
        if draft.statement is None:
            assert draft.error is not None
            errors.append(_event_error(item.index, item.event_id, draft.error.code, draft.error.message))
        else:
            statements.append({"eventIndex": item.index, "eventID": item.event_id,
                               "statement": statement_fields(draft.statement),
                               "statement_hash": draft.statement.hash_hex})
    errors.sort(key=lambda error: error["eventIndex"])
    if errors and error_behaviour == "rollback":
        statements = []
    finished = not statements
    job = CaptureJob(capture_id=secrets.token_hex(16), author=author, key_id=key, error_behaviour=error_behaviour,
                     state=(FAILED if errors else SUCCEEDED) if finished else AWAITING,
                     success=finished and not errors, event_count=len(items), created_at=now,
                     expires_at=now + JOB_LIFETIME, finished_at=now if finished else None,
                     statements=_json(statements), errors=_json(errors), results=_json([]))
    session.add(job)
    session.flush()
    return job


def signing_key(session: Session, author: str, wanted: str | None) -> str:
    """The key id ``author``'s drafted statements will name: ``wanted`` when it is one of the author's live keys,
    else the author's only live key. Raises :class:`CaptureError` ``capture.key`` naming the choices."""
    live = list(session.scalars(select(LedgerKey.key_id).where(LedgerKey.author == author,
                                                               LedgerKey.revoked_index.is_(None))
                                .order_by(LedgerKey.key_id)))
    if wanted is not None and wanted in live:
        return wanted
    if wanted is None and len(live) == 1:
        return live[0]
    choices = ", ".join(live) or "none"
    what = f"key {wanted} is not a live key of {author}" if wanted is not None else \
        f"{author} has {len(live)} live keys"
    raise CaptureError(f"{what}; name the signing key with ?key= (live keys: {choices}) or sign the request "
                       "with the key itself", code="capture.key")


def get_job(session: Session, capture_id: str) -> CaptureJob:
    """The job ``capture_id``; raises :class:`CaptureError` ``capture.unknown``."""
    job = session.get(CaptureJob, capture_id) if len(capture_id) <= 32 else None
    if job is None:
        raise CaptureError(f"no capture job {capture_id}", code="capture.unknown")
    return job


def job_state(job: CaptureJob, now: datetime) -> str:
    """The job's state as of ``now``: an unsigned job past its expiry is ``expired``."""
    return EXPIRED if job.state == AWAITING and now >= job.expires_at else job.state


def submit_signatures(session: Session, read_session: Session, job: CaptureJob, signatures: Sequence[str], *,
                      config: LedgerConfig, clock: Callable[[], datetime]) -> CaptureJob:
    """Append the job's statements with ``signatures`` (base64, in the order of the job's statements) and record
    each outcome in the job.

    Refuses, changing nothing: a job not awaiting signatures (``capture.finished``, ``capture.expired``), a wrong
    number of signatures (``capture.signatures``), a signature that does not verify over its drafted statement
    under the job's key (``signature.invalid``, naming the event). A stale job (its author's head moved since it
    was drafted) is recorded failed with ``sequence.conflict`` and appends nothing. Under ``rollback`` the
    statements are appended all or nothing: on a refusal ``session`` is rolled back before the job records every
    outcome. The caller commits.
    """
    now = clock()
    state = job_state(job, now)
    if state == EXPIRED:
        raise CaptureError(f"capture job {job.capture_id} expired unsigned at {job.expires_at.isoformat()}; "
                           "capture the document again", code="capture.expired")
    if state != AWAITING:
        raise CaptureError(f"capture job {job.capture_id} is {state}, not awaiting signatures",
                           code="capture.finished")
    statements: list[dict[str, Any]] = json.loads(job.statements)
    if len(signatures) != len(statements):
        raise CaptureError(f"capture job {job.capture_id} has {len(statements)} statements to sign, "
                           f"{len(signatures)} signatures were sent", code="capture.signatures")
    envelopes = [_signed_envelope(session, job.key_id, item, signature)
                 for item, signature in zip(statements, signatures, strict=True)]
    first = statements[0]["statement"]
    if author_position(session, job.author) != (first["seq"], first["prev"]):
        conflict = LedgerError(f"{job.author} appended other statements after capture job {job.capture_id} was "
                               "drafted, so its statements no longer chain; capture the document again",
                               code="sequence.conflict")
        return _finish(job, statements, [AppendResult(position, error=conflict) for position in
                                         range(len(statements))], now)
    capture_id = job.capture_id
    try:
        results = append(session, read_session, envelopes, config=config, clock=clock,
                         policy_for=BulkTracePolicy.for_statements, atomic=job.error_behaviour == "rollback")
    except BatchRefused as refused:
        session.rollback()
        results = refused.results
        job = get_job(session, capture_id)
    return _finish(job, statements, results, now)


def job_view(job: CaptureJob, now: datetime) -> dict[str, Any]:
    """The job as the API shows it: the EPCIS 2.0 capture job members, then the drafted statements and each
    one's outcome."""
    state = job_state(job, now)
    return {"captureID": job.capture_id, "createdAt": job.created_at, "finishedAt": job.finished_at,
            "running": state == AWAITING, "success": job.success, "captureErrorBehaviour": job.error_behaviour,
            "errors": json.loads(job.errors), "state": state, "expiresAt": job.expires_at, "author": job.author,
            "key": job.key_id, "eventCount": job.event_count, "statements": json.loads(job.statements),
            "results": json.loads(job.results)}


def _signed_envelope(session: Session, key_id: str, item: dict[str, Any], signature: str) -> dict[str, Any]:
    """The envelope of a drafted statement and its signature, after checking the signature over it."""
    envelope = {"signature": signature, "statement": item["statement"]}
    where = f"the statement of event {item['eventIndex']} ({item['eventID']})"
    try:
        signed = parse_envelope(envelope)
        base64.b64decode(signature, validate=True)
    except (LedgerError, binascii.Error, ValueError):
        raise LedgerError(f"{where}: the signature is not a base64 Ed25519 signature", code="signature.invalid") \
            from None
    key = session.get(LedgerKey, key_id)
    if key is None:
        raise LedgerError(f"key {key_id} of the capture job is not registered", code="signature.invalid")
    try:
        verify_signature(key.public_key, signed.signature, signed.statement.signing_message())
    except LedgerError:
        raise LedgerError(f"{where}: the signature does not verify under key {key_id} over statement "
                          f"{signed.statement.hash_hex}", code="signature.invalid") from None
    return envelope


def _finish(job: CaptureJob, statements: list[dict[str, Any]], results: Sequence[AppendResult],
            now: datetime) -> CaptureJob:
    outcomes, errors = [], json.loads(job.errors)
    for item, result in zip(statements, results, strict=True):
        error = None if result.error is None else {"code": result.error.code, "message": result.error.message}
        outcomes.append({"eventIndex": item["eventIndex"], "eventID": item["eventID"],
                         "statement_hash": item["statement_hash"],
                         "index": result.index if result.error is None else None,
                         "duplicate": result.duplicate, "error": error})
        if error is not None:
            errors.append(_event_error(item["eventIndex"], item["eventID"], error["code"], error["message"]))
    errors.sort(key=lambda entry: entry["eventIndex"])
    job.results, job.errors = _json(outcomes), _json(errors)
    job.success = not errors
    job.state = SUCCEEDED if job.success else FAILED
    job.finished_at = now
    return job


def _event_error(index: int, event_id: str, code: str, reason: str) -> dict[str, Any]:
    return {"eventIndex": index, "eventID": event_id, "code": code, "reason": reason}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
