"""``client epcis-capture``: capture an EPCIS 2.0 document so that its events enter the ledger signed locally.

The server maps the document's events to custody statements and drafts them; the private key never leaves this
machine. The client posts the document (a request signed with the key), reads the capture job, checks that every
drafted statement is one this key may sign for this enterprise on this ledger, in one unbroken chain, and that
the job accounts for every event of the document (it cannot check the mapping itself, so it shows the counts),
signs the statements and posts the signatures, then prints each event's entry index or refusal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger import Statement, sign_statement

from ..settings import Settings
from .commands import EXIT_FAILED, EXIT_OK, ledger_origin
from .drafts import check_draft
from .errors import ClientError, InputError
from .http import JsonClient, quote_segment
from .keyfile import KeyFile, load_key_file, read_passphrase, request_signer

CAPTURE_PATH = "/api/v1/epcis/capture"
#: The statement types a capture drafts (docs/epcis.md); anything else in a job is refused before signing.
CAPTURED_TYPES = frozenset({"trace.commission", "trace.ship", "trace.receive", "trace.transform",
                            "trace.aggregate", "trace.disaggregate", "trace.sell", "trace.inspect", "trace.recall",
                            "trace.destroy", "trace.sensor"})


@dataclass(frozen=True)
class CaptureOutcome:
    """The finished job: whether every event was appended, and one line per event."""

    success: bool
    lines: list[str]


def read_document(path: Path) -> tuple[bytes, int]:
    """The document's bytes and its number of events; raises :class:`InputError` when it is not an
    EPCISDocument in JSON."""
    try:
        data = path.read_bytes()
        document = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not JSON: {exc}") from None
    events = document.get("epcisBody", {}).get("eventList") if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument" or not isinstance(events, list):
        raise InputError(f"{path} is not an EPCISDocument with epcisBody.eventList")
    return data, len(events)


def capture_document(client: JsonClient, key: KeyFile, data: bytes, event_count: int, *, origin: str,
                     error_behaviour: str = "rollback", wait: float = 60.0, interval: float = 1.0,
                     report: Callable[[str], None] = lambda line: None) -> CaptureOutcome:
    """Post the document, check and sign the drafted statements, post the signatures; returns the outcome.

    Raises :class:`ServerError` for a refusal of the document or of the signatures (``sequence.conflict`` when
    the enterprise appended anything else meanwhile: capture again) and :class:`ClientError`
    (``client.response``) when the job holds a statement this key should not sign.
    """
    answer = client.request("POST", CAPTURE_PATH, accept=(202,), raw=(data, "application/ld+json"),
                            sign=request_signer(key, {"GS1-Capture-Error-Behaviour": error_behaviour})).body
    capture_id = _text(answer, "captureID")
    job_path = f"{CAPTURE_PATH}/{quote_segment(capture_id)}"
    deadline = time.monotonic() + wait
    job = client.request("GET", job_path, sign=request_signer(key)).body
    while job.get("state") not in ("awaiting_signatures", "succeeded", "failed", "expired"):
        if time.monotonic() + interval > deadline:
            raise ClientError(f"capture job {capture_id} is still {job.get('state')}", code="client.response")
        time.sleep(interval)
        job = client.request("GET", job_path, sign=request_signer(key)).body
    statements, errors = job.get("statements") or [], job.get("errors") or []
    report(f"capture job {capture_id}: {event_count} event(s) in the document, {len(statements)} statement(s) to "
           f"sign, {len(errors)} event(s) not mapped or refused")
    if job.get("eventCount") != event_count:
        raise ClientError(f"the document holds {event_count} events, the job accounts for {job.get('eventCount')}",
                          code="client.response")
    if job.get("state") != "awaiting_signatures":
        return CaptureOutcome(bool(job.get("success")), _lines(job))
    signatures = sign_drafts(key, statements, origin=origin)
    finished = client.request("POST", f"{job_path}/signatures", {"signatures": signatures},
                              sign=request_signer(key)).body
    return CaptureOutcome(bool(finished.get("success")), _lines(finished))


def sign_drafts(key: KeyFile, statements: list[dict[str, Any]], *, origin: str) -> list[str]:
    """Base64 signatures of the drafted statements, after checking each is a custody statement of ``key``'s
    enterprise, naming ``key``, on ledger ``origin``, chained one after another. Raises :class:`ClientError`."""
    signatures: list[str] = []
    previous: Statement | None = None
    for item in statements:
        where = f"event {item.get('eventIndex') if isinstance(item, dict) else '?'}"
        statement = check_draft(item, key, origin=origin, previous=previous, where=where)
        if statement.type not in CAPTURED_TYPES:
            raise ClientError(f"{where}: refusing to sign: type {statement.type} is not a captured event type",
                              code="client.response")
        signatures.append(sign_statement(key.signer, statement).signature_b64)
        previous = statement
    return signatures


def _lines(job: dict[str, Any]) -> list[str]:
    """One line per event, in document order: its entry, or why it is not in the ledger."""
    lines: dict[int, str] = {}
    for error in job.get("errors") or []:
        lines[error["eventIndex"]] = f"event {error['eventIndex']} ({error['eventID']}): NOT CAPTURED " \
                                     f"{error['code']}: {error['reason']}"
    for result in job.get("results") or []:
        where = f"event {result['eventIndex']} ({result['eventID']})"
        if result.get("error"):
            lines[result["eventIndex"]] = f"{where}: REFUSED {result['error']['code']}: {result['error']['message']}"
        elif result.get("index") is None:
            lines[result["eventIndex"]] = f"{where}: not appended (its all-or-nothing capture was refused)"
        else:
            verb = "duplicate of index" if result.get("duplicate") else "appended at index"
            lines[result["eventIndex"]] = f"{where}: {verb} {result['index']} ({result['statement_hash']})"
    return [lines[index] for index in sorted(lines)]


def _text(answer: Any, name: str) -> str:
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise ClientError(f"the capture answer has no {name}", code="client.response")
    return value


def print_outcome(outcome: CaptureOutcome) -> None:
    for line in outcome.lines:
        print(line)
    print("capture succeeded" if outcome.success else "capture failed: see the events above", file=sys.stderr)


def cmd_epcis_capture(settings: Settings, args: argparse.Namespace) -> int:
    """The ``client epcis-capture`` handler: exit 0 when every event was appended, 1 otherwise."""
    data, event_count = read_document(Path(args.document))
    key = load_key_file(Path(args.key), read_passphrase(confirm=False))
    client = JsonClient(args.server, timeout=args.timeout, retries=args.retries)
    outcome = capture_document(client, key, data, event_count, origin=ledger_origin(client),
                               error_behaviour=args.error_behaviour, wait=args.wait,
                               report=lambda line: print(line, file=sys.stderr))
    print_outcome(outcome)
    return EXIT_OK if outcome.success else EXIT_FAILED
