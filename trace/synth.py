"""Synthetic scale data (TEST-ONLY): append a valid, verifiable traceability ledger of any size through the real
append path.

:func:`generate` appends exactly ``entries`` statements after whatever the ledger already holds: the registrar
registers a cast of enterprises (a few hundred at 1,000,000 entries, each with a key derived from the seed) and
their owners define products, then enterprises commission, ship, receive, transform, pack, sell, inspect, recall,
destroy, report sensor readings and correct events (:mod:`trace.synth_flow`). Statements are signed with the
enterprises' keys, prepared with :func:`ledger.prepare_statements` and sequenced with
:func:`ledger.sequence_statements` under :class:`trace.policy.TracePolicy` in batches of
:data:`ledger.sequencer.MAX_BATCH`, one commit per batch, so ``python -m trace verify`` (custody replay included)
and ``rebuild-state --check`` pass on the result.

Planning and signing run in one worker process while this process sequences the previous batch (``workers=1``,
the default on two or more cores); ``workers=0`` does everything here. Both give the same statements.

A run into a non-empty ledger appends after what is there: its identifiers carry a run tag derived from the seed
and the ledger size at the start, and the run refuses to start (:class:`SynthError`) if any of its credit codes or
GTINs is already registered. Keys, names and identifiers are synthetic and for tests and benchmarks only.
"""

from __future__ import annotations

import base64
import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger import DomainPolicy, LedgerConfig, LedgerError, Signer, author_position, build_statement
from ledger.models import LedgerHead
from ledger.sequencer import MAX_BATCH

from .bulk_policy import BulkTracePolicy
from .ledger_service import append
from .models import Enterprise, Flag, Product
from .policy import TracePolicy
from .store import ledger_registrar
from .synth_cast import Cast, build_cast, clusters_for, run_tag
from .synth_flow import Planner
from .synth_model import CHINA, Plan

logger = logging.getLogger(__name__)


class SynthError(LedgerError):
    """The generator cannot run on this ledger (not initialised, another registrar, clashing identifiers, a
    concurrent writer)."""

    code = "synth.refused"


class SynthRefused(SynthError):
    """The ledger refused a generated statement: a bug in the generator's model. Nothing of that batch was
    committed; :attr:`report` says how far the run got and what was refused."""

    code = "synth.statement_refused"

    def __init__(self, report: SynthReport) -> None:
        super().__init__(f"{report.refused} generated statement(s) refused; first: {report.refusals[0]}")
        self.report = report


@dataclass
class SynthReport:
    """What one run appended: sizes, the statement mix, risk flags raised, time taken."""

    seed: int
    tag: int
    enterprises: int
    start_size: int
    end_size: int = 0
    appended: int = 0
    refused: int = 0
    refusals: list[str] = field(default_factory=list)
    mix: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    products: int = 0
    seconds: float = 0.0
    workers: int = 0

    @property
    def rate(self) -> float:
        return self.appended / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class _Spec:
    """What the producer needs, picklable for a worker process (the registrar's key as raw bytes)."""

    origin: str
    seed: int
    tag: int
    clusters: int
    start_index: int
    registrar: str
    registrar_key: bytes
    registrar_seq: int
    registrar_prev: str | None


@dataclass(slots=True)
class _Author:
    signer: Signer
    key: str
    seq: int
    prev: str | None


class StatementSigner:
    """Signs planned statements in ledger order: chains each author's ``seq``/``prev`` and links each touched
    batch to the latest statement that touched it, as the ledger will see them."""

    def __init__(self, origin: str, signers: dict[str, Signer], positions: dict[str, tuple[int, str | None]]) -> None:
        self.origin = origin
        self.authors = {author: _Author(signer, signer.key_id, *positions.get(author, (1, None)))
                        for author, signer in signers.items()}
        self.heads: dict[str, str] = {}

    def sign(self, plan: Plan, when: str) -> dict[str, Any]:
        """The signed envelope of ``plan`` with statement time ``when``."""
        author, type_, body, touches, forget = plan
        state = self.authors[author]
        key, seq, prev = state.key, state.seq, state.prev
        links = {ref: self.heads.get(ref) for ref in touches}
        statement = build_statement(ledger=self.origin, type=type_, author=author, key=key, seq=seq, prev=prev,
                                    time=when, body=body, links=links)
        signature = state.signer.sign(statement.signing_message())
        state.seq, state.prev = seq + 1, statement.hash_hex
        for ref in touches:
            self.heads[ref] = statement.hash_hex
        for ref in forget:
            self.heads.pop(ref, None)
        return {"signature": base64.b64encode(signature).decode("ascii"),
                "statement": {"v": 1, "ledger": self.origin, "type": type_, "author": author, "key": key, "seq": seq,
                              "prev": prev, "links": links, "time": when, "body": body}}


class Producer:
    """Plans and signs the run's statements, chunk by chunk, in order."""

    def __init__(self, spec: _Spec) -> None:
        self.cast: Cast = build_cast(spec.seed, spec.tag, spec.clusters)
        signers = {enterprise.code: Signer.from_seed(enterprise.code, enterprise.key_seed)
                   for enterprise in self.cast.enterprises}
        signers[spec.registrar] = Signer(spec.registrar, Ed25519PrivateKey.from_private_bytes(spec.registrar_key))
        self.planner = Planner(self.cast, seed=spec.seed, start_index=spec.start_index, registrar=spec.registrar,
                               public_key=lambda enterprise: signers[enterprise.code].public_key)
        self.signer = StatementSigner(spec.origin, signers,
                                      {spec.registrar: (spec.registrar_seq, spec.registrar_prev)})

    def produce(self, count: int, now: datetime) -> list[dict[str, Any]]:
        """The next ``count`` signed envelopes, planned and timed at ``now``."""
        self.planner.set_time(now)
        when = now.astimezone(CHINA).isoformat(timespec="seconds")
        return [self.signer.sign(self.planner.next_plan(), when) for _ in range(count)]


_worker: Producer | None = None


def _start_worker(spec: _Spec) -> None:
    global _worker
    _worker = Producer(spec)


def _produce_in_worker(count: int, now: datetime) -> list[dict[str, Any]]:
    assert _worker is not None
    return _worker.produce(count, now)


@contextmanager
def _producer(spec: _Spec, workers: int) -> Iterator[Callable[[int, datetime], Future[list[dict[str, Any]]]]]:
    if workers == 0:
        producer = Producer(spec)

        def local(count: int, now: datetime) -> Future[list[dict[str, Any]]]:
            done: Future[list[dict[str, Any]]] = Future()
            done.set_result(producer.produce(count, now))
            return done
        yield local
        return
    # One worker keeps the order (its statements chain on each other); spawn, not fork: nothing of this
    # process's database connections or threads is inherited.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(spec,)) as pool:
        yield lambda count, now: pool.submit(_produce_in_worker, count, now)


def generate(sessions: sessionmaker[Session], *, config: LedgerConfig, registrar: Signer,
             clock: Callable[[], datetime], entries: int, seed: int,
             progress: Callable[[int], None] | None = None, workers: int | None = None,
             stock_policy: bool = False) -> SynthReport:
    """Append exactly ``entries`` generated statements to the initialised ledger; commit once per batch.

    ``progress`` is called after each commit with the number appended so far. Each batch is checked by
    :class:`trace.bulk_policy.BulkTracePolicy` (the rules of :class:`trace.policy.TracePolicy`, records read in
    bulk), or by ``TracePolicy`` itself with ``stock_policy``. Deterministic in ``seed`` and the
    ledger's size at the start (with a fixed ``clock``, the same statements). Raises :class:`SynthError` before
    appending anything when the ledger is not initialised, has another registrar, or already holds the run's
    identifiers; :class:`SynthRefused` when a statement is refused (the batch is rolled back, earlier batches
    stay committed).
    """
    if entries < 1:
        raise ValueError("entries must be at least 1")
    workers = (1 if (os.cpu_count() or 1) > 1 else 0) if workers is None else workers
    started = time.perf_counter()
    with sessions() as session:
        head = session.get(LedgerHead, 1)
        if head is None:
            raise SynthError("the ledger has no genesis entry yet: run init-db first")
        if ledger_registrar(session) != registrar.author:
            raise SynthError(f"the ledger's registrar is {ledger_registrar(session)!r}, the configured one "
                             f"{registrar.author!r}")
        start = head.tree_size
        tag = run_tag(seed, start)
        spec_seq, spec_prev = author_position(session, registrar.author)
        clusters = clusters_for(entries)
        cast = build_cast(seed, tag, clusters)
        _refuse_clashes(session, cast, seed, start)
    spec = _Spec(config.origin, seed, tag, clusters, start, registrar.author, registrar.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()),
        spec_seq, spec_prev)
    report = SynthReport(seed=seed, tag=tag, enterprises=len(cast.enterprises), start_size=start,
                         products=len(cast.products), workers=workers)
    mix: Counter[str] = Counter()
    requested = 0

    with _producer(spec, workers) as produce:
        def request() -> Future[list[dict[str, Any]]] | None:
            nonlocal requested
            count = min(MAX_BATCH, entries - requested)
            requested += count
            return produce(count, clock()) if count else None

        pending = request()
        while pending is not None:
            envelopes = pending.result()
            pending = request()  # the worker plans and signs the next batch while this one is sequenced
            policy = TracePolicy() if stock_policy else BulkTracePolicy.for_envelopes(envelopes)
            _sequence(sessions, envelopes, config=config, clock=clock, policy=policy,
                      expected=start + report.appended, report=report)
            mix.update(envelope["statement"]["type"] for envelope in envelopes)
            report.appended += len(envelopes)
            if progress is not None:
                progress(report.appended)
    report.mix = dict(sorted(mix.items()))
    report.end_size = start + report.appended
    with sessions() as session:
        rows = session.execute(select(Flag.code, func.count()).where(Flag.entry_index >= start)
                               .group_by(Flag.code).order_by(Flag.code))
        report.flags = {code: count for code, count in rows}
    report.seconds = time.perf_counter() - started
    logger.info("synthetic ledger appended", extra={"entries": report.appended, "seed": seed, "tag": tag,
                                                    "seconds": round(report.seconds, 1)})
    return report


def _sequence(sessions: sessionmaker[Session], envelopes: list[dict[str, Any]], *, config: LedgerConfig,
              clock: Callable[[], datetime], policy: DomainPolicy, expected: int, report: SynthReport) -> None:
    with sessions() as session, sessions() as read_session:
        results = append(session, read_session, envelopes, config=config, clock=clock, policy=policy,
                         atomic=False)
        refused = [result for result in results if result.error is not None]
        if refused:
            session.rollback()
            report.refused += len(refused)
            report.refusals = [f"entry {expected + result.position} "
                               f"{envelopes[result.position]['statement']['type']}: {result.error}"
                               for result in refused[:10]]
            raise SynthRefused(report)
        indexes = [result.index for result in results]
        if indexes != list(range(expected, expected + len(envelopes))):
            session.rollback()
            raise SynthError(f"expected entries {expected}..{expected + len(envelopes) - 1}, the ledger assigned "
                             f"{indexes[0]}..{indexes[-1]}: another writer appended during the run")
        session.commit()


def _refuse_clashes(session: Session, cast: Cast, seed: int, start: int) -> None:
    codes = [enterprise.code for enterprise in cast.enterprises]
    gtins = [product.gtin for product in cast.products.values()]
    taken = session.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.credit_code.in_(codes)))
    taken = (taken or 0) + (session.scalar(select(func.count()).select_from(Product)
                                           .where(Product.gtin.in_(gtins))) or 0)
    if taken:
        raise SynthError(f"the ledger already holds {taken} of the enterprises and products that seed {seed} "
                         f"makes at size {start}; choose another --seed")
