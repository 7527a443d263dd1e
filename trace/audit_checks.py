"""Checking a ledger for an integrity audit: the full verifier of ``python -m trace verify`` (signatures, hash
links, Merkle root against the signed checkpoints, the final checkpoint, custody replay, and for the live ledger
every stored row and the derived state tables) over the live ledger or an export file, then the consistency of the
verified checkpoint with every checkpoint an earlier audit verified; and the JSON report of the result.

The audit functions return an :class:`AuditResult` whatever the ledger holds (a malformed or tampered ledger is a
BROKEN result naming the first bad entry and why), so the console (:mod:`trace.audit_runner`) and the command line
(``verify --report``) report alike.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    LedgerError,
    ProofError,
    VerificationError,
    VerifierKey,
    VerifyReport,
    consistency,
    read_lines,
    verify_database,
    verify_export_lines,
)
from ledger.canonical import canonicalize
from ledger.export import MAX_LINE_BYTES, ExportEntry, read_export
from ledger.merkle import (
    MerkleAccumulator,
    Node,
    consistency_ranges,
    hash_ranges,
    leaf_hash,
    range_subtrees,
    verify_consistency,
)
from ledger.models import LedgerHead

from .audits import Remembered
from .replay import CustodyReplay, genesis_registrar
from .store import compare_live_state, ledger_registrar

REPORT_FORMAT = "trace-audit-report/1"
#: ``progress(phase, entries done, entries in all or None)``; phases as :data:`trace.audits.PHASES`.
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class Finding:
    """How the audited ledger relates to one remembered checkpoint; ``code`` and ``reason`` when inconsistent."""

    tree_size: int
    root: bytes
    report_id: int | None
    consistent: bool
    code: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root": self.root.hex(), "audit": self.report_id,
                "consistent": self.consistent, "code": self.code, "reason": self.reason}


@dataclass
class AuditResult:
    """What one audit found. ``root`` is set once the ledger itself verified (INTACT, or BROKEN only by a fork or
    rollback), and ``tree_size`` is then the verified size; otherwise ``tree_size`` is the size the source claims
    (the head row, the export's header), or 0 when unreadable."""

    source: str
    outcome: str
    tree_size: int = 0
    root: bytes | None = None
    checkpoint: str | None = None
    first_bad_index: int | None = None
    code: str | None = None
    reason: str | None = None
    checkpoints_checked: int = 0
    authors: int = 0
    keys: int = 0
    revoked_keys: int = 0
    events_replayed: int = 0
    custody: bool = True
    findings: list[Finding] = field(default_factory=list)
    milliseconds: int = 0

    @property
    def inconsistent(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.consistent]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """An uploaded export kept in a temporary file until its audit ends; ``name`` is the name it was sent with."""

    path: Path
    name: str
    sha256: str
    size: int


def describe_export(path: Path, name: str | None = None) -> ExportFile:
    """An export file with its SHA-256 and size, read in blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return ExportFile(path, name if name is not None else path.name, digest.hexdigest(), size)


# --- verifying --------------------------------------------------------------------------------------------------


def audit_live(sessions: sessionmaker[Session], operator_key: VerifierKey, known: list[Remembered], *,
               progress: Progress | None = None, threads: int = 1, custody: bool = True) -> AuditResult:
    """Audit the database's ledger within one snapshot (appends made meanwhile are not seen): every check of
    :func:`ledger.verify_database`, the custody replay and its state compared with the stored tables, then the
    verified checkpoint against each of ``known``. Never raises for what the ledger holds."""
    started = time.perf_counter()
    with snapshot(sessions) as session:
        head = session.get(LedgerHead, 1)
        total = head.tree_size if head is not None else 0
        tell = _teller(progress, total)
        tell("verifying", 0)
        replay = CustodyReplay(ledger_registrar(session)) if custody else None
        try:
            verified = verify_database(session, operator_key, progress=lambda done: tell("verifying", done),
                                       threads=threads, domain=replay)
            if replay is not None:
                tell("state", total)
                difference = compare_live_state(session, replay.rows)
                if not difference.empty:
                    raise VerificationError("the derived state tables differ from the replayed ledger: "
                                            f"{difference.describe()}", code="verify.state")
        except VerificationError as exc:
            return _broken("live", exc, total, replay, started)
        finally:
            if replay is not None:
                replay.close()
        result = _intact("live", verified, replay)
        tell("consistency", verified.tree_size)
        size = verified.tree_size
        result.findings = check_consistency(known, size, verified.root,
                                            prove_older=lambda old: consistency(session, old, size),
                                            prove_newer=None)
    return _with_findings(result, started)


def audit_export(path: Path, operator_key: VerifierKey, known: list[Remembered], *,
                 live: sessionmaker[Session] | None = None, progress: Progress | None = None, threads: int = 1,
                 custody: bool = True) -> AuditResult:
    """Audit an export file: every check of :func:`ledger.verify_export_lines` and the custody replay, then the
    verified checkpoint against each of ``known``. A remembered checkpoint larger than the export (an older
    export) is checked with a consistency proof from the ``live`` ledger's stored tree, verified against both
    roots; without ``live`` it counts as a rollback. Never raises for what the file holds."""
    started = time.perf_counter()
    first = _first_lines(path, 2)
    total = _claimed_size(first)
    tell = _teller(progress, total)
    tell("verifying", 0)
    replay = CustodyReplay(genesis_registrar(first)) if custody else None
    try:
        verified = verify_export_lines(read_lines(path), operator_key, progress=lambda done: tell("verifying", done),
                                       threads=threads, domain=replay)
    except VerificationError as exc:
        return _broken("export", exc, total or 0, replay, started)
    finally:
        if replay is not None:
            replay.close()
    result = _intact("export", verified, replay)
    size = verified.tree_size
    tell("consistency", size)
    proofs = _export_proofs(path, size, [item.tree_size for item in known if 0 < item.tree_size < size])

    def prove_newer(new: int) -> list[bytes]:
        assert live is not None
        with snapshot(live) as session:
            return consistency(session, size, new)
    result.findings = check_consistency(known, size, verified.root, prove_older=lambda old: proofs.get(old, []),
                                        prove_newer=prove_newer if live is not None else None)
    return _with_findings(result, started)


def check_consistency(known: list[Remembered], size: int, root: bytes, *, prove_older: Callable[[int], list[bytes]],
                      prove_newer: Callable[[int], list[bytes]] | None) -> list[Finding]:
    """The verified tree (``size``, ``root``) against each remembered checkpoint: equal roots at equal sizes, else
    an RFC 9162 consistency proof from the smaller tree to the larger. ``prove_older(m)`` gives the proof from
    ``m`` < ``size`` to ``size``; ``prove_newer(m)`` from ``size`` to ``m`` > ``size`` (None: a smaller ledger
    than a remembered checkpoint is a rollback). A proof comes from wherever is convenient: it counts only when
    it verifies against both roots."""
    findings: list[Finding] = []
    for item in known:
        where = (f"the checkpoint of size {item.tree_size} remembered from audit {item.report_id}"
                 if item.report_id is not None else f"the trusted checkpoint of size {item.tree_size}")
        problem: tuple[str, str] | None = None
        if item.tree_size == size:
            if item.root != root:
                problem = ("verify.fork", f"fork: {where} has root {item.root.hex()}, the audited ledger has "
                                          f"{root.hex()} at that size")
        elif item.tree_size < size:
            problem = _proof_problem(prove_older, item, item.tree_size, size, (item.root, root), where, size)
        elif prove_newer is not None:
            problem = _proof_problem(prove_newer, item, size, item.tree_size, (root, item.root), where, size)
        else:
            problem = ("verify.rollback", f"rollback: the audited ledger holds {size} entries, fewer than the "
                                          f"{item.tree_size} of {where}")
        findings.append(Finding(item.tree_size, item.root, item.report_id, problem is None,
                                *(problem or (None, None))))
    return findings


def _proof_problem(prove: Callable[[int], list[bytes]], item: Remembered, old: int, new: int,
                   roots: tuple[bytes, bytes], where: str, size: int) -> tuple[str, str] | None:
    """Fetch and verify the consistency proof from ``old`` to ``new``; the (code, reason) of a failure."""
    try:
        proof = prove(item.tree_size)
    except ProofError as exc:
        return ("verify.unproven", f"no consistency proof between the audited ledger of {size} entries and "
                                   f"{where}: {exc.message}")
    try:
        verify_consistency(old, new, proof, *roots)
    except ProofError as exc:
        return ("verify.fork", f"fork: the audited ledger of {size} entries and {where} (root "
                               f"{item.root.hex()}) are not consistent: {exc.message}")
    return None


@contextmanager
def snapshot(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session on one consistent snapshot (PostgreSQL: REPEATABLE READ; SQLite: a deferred read
    transaction, whose WAL snapshot is fixed at its first read)."""
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                                  "postgresql_readonly": True})
        else:
            session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        try:
            yield session
        finally:
            session.rollback()


def _teller(progress: Progress | None, total: int | None) -> Callable[[str, int], None]:
    def tell(phase: str, done: int) -> None:
        if progress is not None:
            progress(phase, done, total)
    return tell


def _first_lines(path: Path, count: int) -> list[bytes]:
    with path.open("rb") as handle:
        lines = [handle.readline(MAX_LINE_BYTES + 2) for _ in range(count)]
    return [line for line in lines if line]


def _claimed_size(first: list[bytes]) -> int | None:
    try:
        header, _ = read_export(iter(first[:1]))
    except LedgerError:
        return None
    return header.tree_size


def _export_proofs(path: Path, size: int, old_sizes: list[int]) -> dict[int, list[bytes]]:
    """Consistency proofs from each of ``old_sizes`` to ``size`` over the (already verified) export's leaves, in
    one more pass that keeps only the O(log n) subtrees each proof needs."""
    if not old_sizes:
        return {}
    ranges = {old: consistency_ranges(old, size) for old in old_sizes}
    wanted = {node for spans in ranges.values() for start, end in spans for node in range_subtrees(start, end)}
    found: dict[Node, bytes] = {}
    tree = MerkleAccumulator()
    _, items = read_export(read_lines(path))
    for item in items:
        if isinstance(item, ExportEntry):
            hashed, index = leaf_hash(item.leaf), tree.size
            if (0, index) in wanted:
                found[(0, index)] = hashed
            found.update((node, value) for node, value in tree.append(hashed) if node in wanted)
    return {old: hash_ranges(spans, lambda _nodes: found) for old, spans in ranges.items()}


def _intact(source: str, verified: VerifyReport, replay: CustodyReplay | None) -> AuditResult:
    assert verified.checkpoint is not None
    return AuditResult(source, "INTACT", tree_size=verified.tree_size, root=verified.root,
                       checkpoint=verified.checkpoint.note, checkpoints_checked=verified.checkpoints_checked,
                       authors=verified.authors, keys=verified.keys, revoked_keys=verified.revoked_keys,
                       events_replayed=replay.events if replay is not None else 0, custody=replay is not None)


def _broken(source: str, exc: VerificationError, claimed: int, replay: CustodyReplay | None,
            started: float) -> AuditResult:
    return AuditResult(source, "BROKEN", tree_size=claimed, first_bad_index=exc.index, code=exc.code,
                       reason=exc.message, events_replayed=replay.events if replay is not None else 0,
                       custody=replay is not None, milliseconds=since(started))


def since(started: float) -> int:
    """Whole milliseconds since ``started`` (a :func:`time.perf_counter` reading)."""
    return round((time.perf_counter() - started) * 1000)


def _with_findings(result: AuditResult, started: float) -> AuditResult:
    """An intact ledger inconsistent with a remembered checkpoint is BROKEN: another history than the one
    verified before (no single entry is named: the entries that differ are not in either tree alone)."""
    bad = result.inconsistent
    if bad:
        result.outcome, result.code, result.reason = "BROKEN", bad[0].code, bad[0].reason
        if len(bad) > 1:
            result.reason = f"{bad[0].reason} (and {len(bad) - 1} more remembered checkpoint(s))"
    result.milliseconds = since(started)
    return result


# --- the report -------------------------------------------------------------------------------------------------


def report_document(result: AuditResult, *, audit_id: int | None, operator_key: VerifierKey, officer: str | None,
                    started_at: datetime, finished_at: datetime, export: ExportFile | None) -> dict[str, Any]:
    """The JSON report of an audit (``trace-audit-report/1``); its canonical bytes are what
    :func:`report_bytes` hashes and the signed statement names."""
    return {
        "format": REPORT_FORMAT,
        "audit": audit_id,
        "ledger": operator_key.name,
        "operator_key": operator_key.text(),
        "officer": officer,
        "source": result.source,
        "export": None if export is None else {"name": export.name, "sha256": export.sha256, "bytes": export.size},
        "started_at": _moment(started_at),
        "finished_at": _moment(finished_at),
        "outcome": result.outcome,
        "tree_size": result.tree_size,
        "root": None if result.root is None else result.root.hex(),
        "checkpoint": result.checkpoint,
        "first_bad_index": result.first_bad_index,
        "code": result.code,
        "reason": result.reason,
        "checkpoints_checked": result.checkpoints_checked,
        "authors": result.authors,
        "keys": result.keys,
        "revoked_keys": result.revoked_keys,
        "custody_replayed": result.custody,
        "events_replayed": result.events_replayed,
        "milliseconds": result.milliseconds,
        "remembered": [finding.to_json() for finding in result.findings],
    }


def report_bytes(document: dict[str, Any]) -> tuple[bytes, str]:
    """The report's canonical JSON (RFC 8785) and its SHA-256 in hex."""
    data = canonicalize(document)
    return data, hashlib.sha256(data).hexdigest()


def statement_body(result: AuditResult, report_sha256: str) -> dict[str, Any]:
    """The body of the ``trace.audit.report`` statement recording ``result``."""
    body: dict[str, Any] = {"source": result.source, "tree_size": result.tree_size,
                            "root": None if result.root is None else result.root.hex(), "outcome": result.outcome,
                            "report_sha256": report_sha256}
    if result.outcome == "BROKEN":
        body["first_bad_index"] = result.first_bad_index
    return body


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
