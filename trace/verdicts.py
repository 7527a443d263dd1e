"""The server's verdicts on the batches' proof bundles, stored so that a public page does not build one on a view.

A batch's public page proves the events it lists: all of them, or its latest :data:`trace.public.TIMELINE_EVENTS`
(:func:`proved_events`), against the earliest checkpoint that covers its latest event. That verdict stays true
until the batch's next event, so it is stored with the entry index of that event and read back by primary key.

:func:`catch_up` checks every batch with an event since its watermark (the tree size it reached last time) and
stores the verdicts. ``python -m trace verdicts --follow`` runs it beside the web workers, and the development
server runs it in a thread. A page whose verdict the worker has not stored yet checks the bundle itself and stores
the verdict (:func:`save_verdict`), so each verdict is built once, whoever builds it first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ledger import LedgerError, VerifierKey, batch_bundle, checkpoint_covering, verify_batch_bundle
from ledger.db import Base, UTCDateTime, insert_on_conflict, open_for_reads
from ledger.models import CheckpointRecord
from ledger.proofs import latest_checkpoint

from .models import BatchEvent
from .public import TIMELINE_EVENTS
from .queries import batch_entries

logger = logging.getLogger(__name__)

#: Batches checked per transaction by :func:`catch_up`.
CHUNK = 200


class BatchVerdict(Base):
    """The verdict on the bundle of batch ``ref``'s latest ``latest`` events (0: all of them) up to its event at
    ``last_index``, against the checkpoint of ``tree_size``."""

    __tablename__ = "trace_batch_verdicts"

    ref: Mapped[str] = mapped_column(String(256), primary_key=True)
    latest: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_index: Mapped[int] = mapped_column(BigInteger)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_time: Mapped[datetime] = mapped_column(UTCDateTime())
    events: Mapped[int] = mapped_column(Integer)
    earlier: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class VerdictProgress(Base):
    """How far :func:`catch_up` has checked: every batch with an event below ``tree_size`` has its verdict."""

    __tablename__ = "trace_verdict_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class Verdict:
    """What the server found when it checked a batch's bundle (``error`` is None when every check passed): the
    bundle proves ``events`` events and leaves out the batch's ``earlier`` ones, against the checkpoint of
    ``tree_size`` signed at ``checkpoint_time``."""

    tree_size: int
    checkpoint_time: datetime
    events: int
    earlier: int
    error: str | None


def proved_events(event_count: int) -> int | None:
    """How many latest events the page of a batch with ``event_count`` events proves: None (all of them) when it
    lists them all."""
    return TIMELINE_EVENTS if event_count > TIMELINE_EVENTS else None


def stored_verdict(session: Session, ref: str, *, last_index: int, latest: int | None) -> Verdict | None:
    """The stored verdict on batch ``ref`` up to its event at ``last_index``, or None when there is none yet."""
    row = session.get(BatchVerdict, (ref, latest or 0))
    if row is None or row.last_index != last_index:
        return None
    return Verdict(tree_size=row.tree_size, checkpoint_time=row.checkpoint_time, events=row.events,
                   earlier=row.earlier, error=row.error)


def check_bundle(session: Session, ref: str, operator_key: VerifierKey, *, checkpoint: CheckpointRecord,
                 indexes: Sequence[int], latest: int | None) -> tuple[dict[str, Any], Verdict]:
    """Build the bundle of batch ``ref`` (``indexes``: all its events' entries, ascending) against ``checkpoint``
    (the earliest that covers its latest event: ``ledger.checkpoint_covering``), check it as a client would, and
    return both."""
    bundle = batch_bundle(session, ref, list(indexes), tree_size=checkpoint.tree_size, latest=latest)
    error = None
    try:
        verify_batch_bundle(bundle, operator_key)
    except LedgerError as exc:
        error = f"{exc.code}: {exc.message}"
    return bundle, Verdict(tree_size=checkpoint.tree_size, checkpoint_time=checkpoint.created_at,
                           events=len(bundle["indexes"]), earlier=bundle.get("earlier", 0), error=error)


def save_verdict(session: Session, ref: str, verdict: Verdict, *, last_index: int, latest: int | None) -> None:
    """Store ``verdict`` unless one up to a later event is stored already (several workers may race). The caller
    commits."""
    values = {"ref": ref, "latest": latest or 0, "last_index": last_index, "tree_size": verdict.tree_size,
              "checkpoint_time": verdict.checkpoint_time, "events": verdict.events, "earlier": verdict.earlier,
              "error": verdict.error}
    insert = insert_on_conflict(session, BatchVerdict).values(values)
    update = {name: insert.excluded[name] for name in values if name not in ("ref", "latest")}
    newer = BatchVerdict.last_index < insert.excluded.last_index
    session.execute(insert.on_conflict_do_update(index_elements=[BatchVerdict.ref, BatchVerdict.latest],
                                                 set_=update, where=newer))


@dataclass(frozen=True)
class CatchUp:
    """What one round of :func:`catch_up` did: the batches it checked, and those whose bundle failed the check."""

    checked: int = 0
    failed: tuple[str, ...] = ()


def catch_up(sessions: sessionmaker[Session], operator_key: VerifierKey) -> CatchUp:
    """Store the verdict of every batch with an event since the watermark, up to the latest checkpoint, then move
    the watermark there. Safe to run in several processes at once: they repeat work, never store a stale verdict
    over a newer one."""
    with sessions() as session:
        open_for_reads(session)
        progress = session.get(VerdictProgress, 1)
        start = progress.tree_size if progress is not None else 0
        checkpoint = latest_checkpoint(session)
        if checkpoint is None or checkpoint.tree_size <= start:
            return CatchUp()
        end = checkpoint.tree_size
        refs = list(session.scalars(select(BatchEvent.ref).where(BatchEvent.entry_index >= start,
                                                                 BatchEvent.entry_index < end).distinct()))
    verdicts: list[tuple[str, Verdict]] = []
    for first in range(0, len(refs), CHUNK):
        with sessions() as session:
            for ref in refs[first:first + CHUNK]:
                verdict = _check_batch(session, ref, operator_key)
                if verdict is not None:
                    verdicts.append((ref, verdict))
            session.commit()
    with sessions() as session:
        progress = session.get(VerdictProgress, 1)
        if progress is None:
            session.add(VerdictProgress(id=1, tree_size=end))
        elif progress.tree_size < end:
            progress.tree_size = end
        session.commit()
    result = CatchUp(checked=len(verdicts), failed=tuple(ref for ref, verdict in verdicts if verdict.error))
    if verdicts:
        logger.info("checked batch proofs", extra={"batches": result.checked, "failed": len(result.failed),
                                                   "from_size": start, "to_size": end})
    return result


def _check_batch(session: Session, ref: str, operator_key: VerifierKey) -> Verdict | None:
    """Check and store the verdict of batch ``ref``; None when the stored one is current or no checkpoint covers
    its latest event yet."""
    indexes = batch_entries(session, ref)
    latest = proved_events(len(indexes))
    if stored_verdict(session, ref, last_index=indexes[-1], latest=latest) is not None:
        return None
    try:
        checkpoint = checkpoint_covering(session, indexes[-1])
    except LedgerError as exc:
        if exc.code == "proof.no_checkpoint":
            return None  # not covered by a checkpoint yet: a later run checks it
        raise
    _, verdict = check_bundle(session, ref, operator_key, checkpoint=checkpoint, indexes=indexes, latest=latest)
    if verdict.error is not None:
        logger.error("batch proof failed the server's check", extra={"batch": ref, "error": verdict.error})
    save_verdict(session, ref, verdict, last_index=indexes[-1], latest=latest)
    return verdict


def follow(sessions: sessionmaker[Session], operator_key: VerifierKey, *, interval: float,
           stop: threading.Event, on_error: Callable[[Exception], None] | None = None) -> None:
    """Run :func:`catch_up` every ``interval`` seconds until ``stop`` is set. An error is logged (and passed to
    ``on_error``) and the next round tries again."""
    while not stop.is_set():
        try:
            catch_up(sessions, operator_key)
        except (LedgerError, SQLAlchemyError) as exc:
            logger.exception("checking batch proofs failed")
            if on_error is not None:
                on_error(exc)
        stop.wait(interval)
