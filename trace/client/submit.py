"""Submitting signed statements: reading a JSON-lines file, posting batches of up to 1,000, matching the
answers to the statements, and writing receipts.

Resubmitting is safe: the server answers a statement it already holds as a duplicate with its original index, so
a retried request or a rerun of the same file appends nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import LedgerError, parse_envelope
from ledger.canonical import strict_loads

from .errors import ClientError, InputError, ServerError
from .http import JsonClient

MAX_BATCH = 1000
BATCH_PATH = "/api/v1/events/batch"


@dataclass(frozen=True)
class Submitted:
    """One envelope to submit: where it came from (``line`` of the file) and its statement hash."""

    line: int
    envelope: dict[str, Any]
    statement_hash: str


@dataclass(frozen=True)
class Outcome:
    """What became of one statement. ``status``: ``appended``, ``duplicate``, ``refused``, ``not_appended``
    (its atomic batch was refused for another statement) or ``not_submitted`` (an earlier atomic batch was
    refused)."""

    item: Submitted
    status: str
    index: int | None = None
    code: str | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("appended", "duplicate")


def read_envelopes(path: Path) -> list[Submitted]:
    """The signed statements of a JSON-lines file (blank lines skipped), each checked for form locally; raises
    :class:`InputError` naming the line of the first malformed one."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            envelope = strict_loads(line.strip())
            signed = parse_envelope(envelope)
        except LedgerError as exc:
            raise InputError(f"{path} line {number}: {exc}") from None
        items.append(Submitted(number, envelope, signed.statement.hash_hex))
    if not items:
        raise InputError(f"{path} holds no statements")
    return items


def submit(client: JsonClient, items: Sequence[Submitted], *, atomic: bool = False, batch_size: int = MAX_BATCH,
           progress: Callable[[int], None] | None = None) -> tuple[list[Outcome], int | None]:
    """Submit ``items`` in order, ``batch_size`` at a time; returns one outcome per item and the last tree size.

    With ``atomic`` each batch is all-or-nothing and nothing after a refused batch is sent. Raises
    :class:`ServerError` for an error answer that is not a per-statement result, :class:`ClientError`
    (``client.response``) when the answer does not match the statements sent.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise InputError(f"batch size must be 1-{MAX_BATCH}, found {batch_size}")
    outcomes: list[Outcome] = []
    tree_size: int | None = None
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        if atomic and any(not outcome.accepted for outcome in outcomes):
            outcomes.extend(Outcome(item, "not_submitted") for item in chunk)
            continue
        body = {"statements": [item.envelope for item in chunk], "mode": "atomic" if atomic else "per_item"}
        try:
            answer = client.post(BATCH_PATH, body, accept=(200,)).body
            outcomes.extend(_match(chunk, answer, refused=False))
            if isinstance(answer, dict) and isinstance(answer.get("tree_size"), int):
                tree_size = answer["tree_size"]
        except ServerError as exc:
            if exc.code == "batch.refused" and isinstance(exc.body, dict):
                outcomes.extend(_match(chunk, exc.body, refused=True))
            elif len(chunk) == 1 and 400 <= exc.status < 500 and exc.status not in (413, 429):
                # An atomic batch of one is answered with the statement's own error rather than batch.refused.
                outcomes.append(Outcome(chunk[0], "refused", code=exc.code, message=exc.message))
            else:
                raise
        if progress is not None:
            progress(len(chunk))
    return outcomes, tree_size


def write_receipts(path: Path, outcomes: Sequence[Outcome]) -> int:
    """Append one JSON line ``{"statement_hash", "index"}`` per accepted statement to ``path``; returns how
    many were written."""
    lines = [json.dumps({"statement_hash": outcome.item.statement_hash, "index": outcome.index}) + "\n"
             for outcome in outcomes if outcome.accepted]
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(lines)
    return len(lines)


def read_receipts(path: Path) -> list[tuple[int, str | None]]:
    """``(index, statement_hash)`` pairs from a receipts file; raises :class:`InputError`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read receipts {path}: {getattr(exc, 'strerror', None) or exc}") from None
    receipts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InputError(f"{path} line {number}: not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("index"), int) or \
                not isinstance(record.get("statement_hash"), str):
            raise InputError(f"{path} line {number}: expected {{\"statement_hash\": hex, \"index\": integer}}")
        receipts.append((record["index"], record["statement_hash"]))
    return receipts


def _match(chunk: Sequence[Submitted], answer: Any, refused: bool) -> list[Outcome]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(chunk):
        raise ClientError(f"the server answered {len(results) if isinstance(results, list) else 'no'} results "
                          f"for {len(chunk)} statements", code="client.response")
    outcomes = []
    for position, (item, result) in enumerate(zip(chunk, results, strict=True)):
        if not isinstance(result, dict) or result.get("position", position) != position:
            raise ClientError(f"result {position} of the answer is not the result at that position",
                              code="client.response")
        error = result.get("error")
        if isinstance(error, dict):
            outcomes.append(Outcome(item, "refused", code=str(error.get("code")), message=str(error.get("message"))))
        elif refused:
            outcomes.append(Outcome(item, "not_appended"))
        else:
            if result.get("statement_hash") != item.statement_hash or not isinstance(result.get("index"), int):
                raise ClientError(f"line {item.line}: the server acknowledged statement "
                                  f"{result.get('statement_hash')}, expected {item.statement_hash}",
                                  code="client.response")
            outcomes.append(Outcome(item, "duplicate" if result.get("duplicate") else "appended",
                                    index=result["index"]))
    return outcomes
