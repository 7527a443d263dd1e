"""The suite's measurements that no other benchmark exposes as a function: in-process latencies on one ledger
(batch proof bundles, recall scopes), the ledger's size on disk, and appends of traceability statements in process
and over HTTP (the statements of ``bench.api_bench``'s lanes, appended as the API appends them).

Everything here works on a ledger someone else built (``bench.suite`` builds one per size) and leaves its
figures to the caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.api_bench import Lane, Server, batch_body, latency_figures, post_batches, serialise
from bench.common import log
from bench.ledger_bench import AppendRun, Ledger, _cpu
from bench.synth_bench import postgres_size, sqlite_size
from ledger import Signer
from ledger.models import Entry
from ledger.proofs import batch_bundle
from trace.bulk_policy import BulkTracePolicy
from trace.ledger_service import StatementWriter, append
from trace.models import Batch
from trace.queries import batch_entries
from trace.recall_scope import preview_scope, recall_scope

#: Lane numbers of the appended workload: one lane in process, one per HTTP client. Their enterprises and
#: products (``bench.api_bench._credit_code`` / ``_gtin``) cannot clash with the synthetic ledger's.
IN_PROCESS_LANE = 10
HTTP_LANES = (11, 12)


def utcnow() -> datetime:
    return datetime.now(UTC)


def random_lots(ledger: Ledger, count: int, seed: int) -> list[str]:
    """``count`` lots of the ledger drawn at random (the same ones for the same ledger and seed)."""
    with ledger.read_session() as session:
        refs = sorted(session.scalars(select(Batch.ref).where(Batch.kind == "lot")))
    return random.Random(seed).sample(refs, min(count, len(refs)))


def timed_calls(ledger: Ledger, call: Callable[[Session, Any], object], arguments: list[Any]) -> dict[str, Any]:
    """p50 / p99 / max of ``call(session, argument)`` for each argument, each on a fresh read session (opened
    as the API opens it) and timed from before the session is opened to after it is closed."""
    if not arguments:
        raise RuntimeError("nothing to time: the ledger has none of the records this figure needs")
    seconds = []
    for argument in arguments:
        started = time.perf_counter()
        with ledger.read_session() as session:
            call(session, argument)
        seconds.append(time.perf_counter() - started)
    return latency_figures(seconds)


def bundle_latency(ledger: Ledger, lots: list[str]) -> dict[str, Any]:
    """Building the proof bundle of each lot's whole history against the latest checkpoint (what
    ``GET /api/v1/batches/{ref}/bundle`` serves), with the number of entries the bundles prove."""
    entries: list[int] = []

    def build(session: Session, ref: str) -> None:
        bundle = batch_bundle(session, ref, batch_entries(session, ref))
        entries.append(len(bundle["entries"]))

    figures = timed_calls(ledger, build, lots)
    ordered = sorted(entries)
    figures.update(entries_p50=ordered[len(ordered) // 2], entries_max=ordered[-1])
    return figures


def recall_latency(ledger: Ledger, lots: list[str], requests: int) -> dict[str, Any]:
    """The scope of every recall in the ledger (:func:`trace.recall_scope.recall_scope`, cycled to ``requests``
    calls), and the scope a recall of each of ``lots`` would reach (:func:`preview_scope`)."""
    with ledger.read_session() as session:
        recalls = list(session.scalars(select(Entry.index).where(Entry.type == "trace.recall").order_by(Entry.index)))
    if not recalls:
        raise RuntimeError("the ledger holds no recall")
    sizes: list[int] = []

    def scope(session: Session, index: int) -> None:
        sizes.append(len(recall_scope(session, index).batches))

    scopes = timed_calls(ledger, scope, [recalls[number % len(recalls)] for number in range(requests)])
    scopes.update(recalls=len(recalls), batches_p50=sorted(sizes)[len(sizes) // 2], batches_max=max(sizes))
    preview = timed_calls(ledger, lambda session, ref: preview_scope(session, ref), lots)
    return {"recall_scope": scopes, "recall_preview": preview}


def database_bytes(ledger: Ledger) -> int:
    """The database's size on disk: the SQLite file after a WAL checkpoint, or ``pg_database_size``."""
    if ledger.url.startswith("sqlite:///"):
        return sqlite_size(Path(ledger.url.removeprefix("sqlite:///")))
    return postgres_size(ledger.url)


# ------------------------------------------------------------------------------------------------- appends


class Workload:
    """The appended statements: product definitions, commissions, shipments and receipts of new enterprises
    under the real traceability rules, signed beforehand. One lane for the in-process appends and one per HTTP
    client, so the clients' statements never depend on each other."""

    def __init__(self, origin: str, statements: int, batch: int) -> None:
        if statements % batch or (statements // batch) % len(HTTP_LANES):
            raise ValueError(f"{statements} statements do not split into batches of {batch} for "
                             f"{len(HTTP_LANES)} clients")
        self.origin, self.statements, self.batch = origin, statements, batch
        self.in_process = Lane(IN_PROCESS_LANE, origin)
        self.http = [Lane(number, origin) for number in HTTP_LANES]

    def register(self, ledger: Ledger, registrar: Signer) -> None:
        """Register the lanes' enterprises and keys (not timed)."""
        with ledger.read_session() as session:
            writer = StatementWriter.resume(session, registrar, self.origin)
        envelopes = [envelope for lane in (self.in_process, *self.http) for envelope in lane.registrations(writer)]
        _append(ledger, envelopes)

    def in_process_batches(self) -> list[list[dict[str, Any]]]:
        return [self.in_process.statements(self.batch) for _ in range(self.statements // self.batch)]

    def http_batches(self) -> list[list[tuple[str, bytes | None]]]:
        per_client = self.statements // self.batch // len(self.http)
        return [[("/api/v1/events/batch", batch_body([serialise(envelope) for envelope in lane.statements(self.batch)]))
                 for _ in range(per_client)] for lane in self.http]


def _append(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    """One submission as the API appends it (atomic, the bulk-loading traceability policy), committed."""
    with ledger.sessions() as session, ledger.sessions() as read_session:
        append(session, read_session, envelopes, config=ledger.config, clock=utcnow,
               policy_for=BulkTracePolicy.for_statements)
        session.commit()


def append_in_process(ledger: Ledger, workload: Workload) -> dict[str, Any]:
    """Append the in-process lane's batches one after the other through ``trace.ledger_service.append``, one
    commit per batch (a refusal raises ``ledger.BatchRefused``); statements/s, CPU and batch latency."""
    batches = workload.in_process_batches()
    size_from = ledger.tree_size()
    run = AppendRun()
    for envelopes in batches:
        cpu = _cpu()
        started = time.perf_counter()
        _append(ledger, envelopes)
        elapsed = time.perf_counter() - started
        run.cpu_seconds += _cpu() - cpu
        run.statements += len(envelopes)
        run.seconds += elapsed
        run.latencies.append(elapsed)
    figures = run.summary(workload.batch)
    figures.update(tree_size_from=size_from, tree_size_to=ledger.tree_size())
    log(f"{ledger.name}: appended {run.statements:,} in process, {figures['statements_per_s']:,} statements/s")
    return figures


def append_over_http(ledger: Ledger, server: Server, workload: Workload, verify_rate: float) -> dict[str, Any]:
    """POST the HTTP lanes' batches to the running ``server``, one client thread per lane, all at once."""
    batches = workload.http_batches()
    size_from = ledger.tree_size()
    figures = post_batches(server, server.port, batches, workload.batch, verify_rate)
    figures.update(tree_size_from=size_from, tree_size_to=ledger.tree_size())
    if figures["refused"]:
        raise RuntimeError(f"{figures['refused']} statements refused over HTTP: {figures['refusal_examples']}")
    return figures
