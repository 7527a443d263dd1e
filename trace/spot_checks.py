"""Double-random spot checks (双随机): targets drawn at random from the registered enterprises and inspectors
drawn at random for each target, with randomness anyone can recompute from a published checkpoint.

Algorithm ``trace-draw-v1`` (docs/console-spot-checks.md has the byte-exact form and a test vector):

1. ``seed = SHA-256(SEED_DOMAIN || uint64_be(checkpoint size) || checkpoint root (32 bytes) ||
   RFC 8785 canonical JSON of the criteria)``.
2. The candidates are the registered enterprises that are not deregistered and match the criteria
   (:func:`eligible_enterprises`).
3. Each candidate ranks by ``SHA-256(seed || credit code in ASCII)``; the ``targets`` smallest are drawn
   (all candidates when there are fewer), in rank order.
4. For each target every pool member ranks by ``SHA-256(seed || credit code || username in UTF-8)``; the
   ``inspectors_per_target`` smallest are assigned, in rank order (so never one inspector twice per target).

``trace.spot_check.draw`` (registrar only) records a draw; its handler re-runs steps 1-4 against the book at that
entry and refuses the statement unless the targets and assignments are exactly the ones drawn, so a hand-picked
draw cannot enter the ledger. Whether the root is the ledger's real root at that size the handler cannot see (the
book holds no tree): the console checks it before appending (:func:`confirm_checkpoint`), and
``python -m trace redraw ENTRY`` (:func:`redraw`) and the public page check it afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.canonical import canonicalize
from ledger.checkpoint import VerifierKey, open_checkpoint
from ledger.merkle import MerkleAccumulator, leaf_hash
from ledger.models import CheckpointRecord, Entry
from ledger.statements import parse_leaf, parse_time
from ledger.tree import root_at

from .body import Body
from .book import Book
from .context import ROLES, Context
from .errors import BodyError, DomainError, EnterpriseError
from .inspections import DRAW as DRAW  # the statement type is defined with the orders it creates
from .inspections import USERNAME, draw_ref, orders_for
from .models import Event
from .records import EnterpriseRecord, HoldingRecord, ProductRecord
from .registry import CATEGORIES

ALGORITHM = "trace-draw-v1"
SEED_DOMAIN = b"trace-ledger/v1/spot-check-draw\x00"
MAX_TARGETS = 100
MAX_PER_TARGET = 5
MAX_POOL = 200
CRITERIA_FIELDS = frozenset({"category", "region", "role", "targets", "inspectors_per_target"})
_REGION = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
_REPLAY_PAGE = 2000


class SpotCheckError(DomainError):
    """A draw is refused or does not check out (``spot_check.*``)."""

    code = "spot_check.invalid"


@dataclass(frozen=True)
class Criteria:
    """What the candidates must match (``None``: anything) and how many to draw."""

    category: str | None
    region: str | None
    role: str | None
    targets: int
    inspectors_per_target: int

    def as_json(self) -> dict[str, Any]:
        return {"category": self.category, "region": self.region, "role": self.role, "targets": self.targets,
                "inspectors_per_target": self.inspectors_per_target}


@dataclass(frozen=True)
class Draw:
    """The outcome of steps 1-4: the seed, how many enterprises were candidates, the targets in rank order and
    each target's inspectors (``[{"enterprise": code, "inspectors": [username, ...]}, ...]``)."""

    seed: bytes
    candidates: int
    targets: list[str]
    assignments: list[dict[str, Any]]


def parse_criteria(data: Any, path: str = "body.criteria") -> Criteria:
    """Criteria from JSON with exactly the five fields; raises :class:`trace.errors.BodyError` (``body.*``)."""
    body = Body(data, path, set(CRITERIA_FIELDS))
    category = body.choice("category", CATEGORIES) if body.has("category") else None
    region = body.text("region", 6, pattern=_REGION, optional=True)
    role = body.choice("role", ROLES) if body.has("role") else None
    targets, per_target = body.integer("targets"), body.integer("inspectors_per_target")
    if not 1 <= targets <= MAX_TARGETS:
        raise BodyError(f"{path}.targets must be 1-{MAX_TARGETS}, found {targets}", code="body.type")
    if not 1 <= per_target <= MAX_PER_TARGET:
        raise BodyError(f"{path}.inspectors_per_target must be 1-{MAX_PER_TARGET}, found {per_target}",
                        code="body.type")
    return Criteria(category, region, role, targets, per_target)


def draw_seed(size: int, root: bytes, criteria: Criteria) -> bytes:
    """Step 1. Raises :class:`SpotCheckError` (``spot_check.checkpoint``) for a root that is not 32 bytes."""
    if len(root) != 32 or not 0 <= size < 2**64:
        raise SpotCheckError(f"a checkpoint has a size of 0 to 2^64-1 and a 32-byte root, found size {size} and "
                             f"a {len(root)}-byte root", code="spot_check.checkpoint")
    return hashlib.sha256(SEED_DOMAIN + size.to_bytes(8, "big") + root + canonicalize(criteria.as_json())).digest()


def target_rank(seed: bytes, credit_code: str) -> bytes:
    """Step 3's rank of a candidate."""
    return hashlib.sha256(seed + credit_code.encode("ascii")).digest()


def inspector_rank(seed: bytes, credit_code: str, username: str) -> bytes:
    """Step 4's rank of an inspector for a target (credit codes have 18 characters, so the bytes are
    unambiguous)."""
    return hashlib.sha256(seed + credit_code.encode("ascii") + username.encode("utf-8")).digest()


def run_draw(size: int, root: bytes, criteria: Criteria, candidates: Iterable[str], pool: Sequence[str]) -> Draw:
    """Steps 1, 3 and 4 over the given candidates and pool.

    Raises :class:`SpotCheckError`: ``spot_check.no_candidates``, ``spot_check.pool_too_small``,
    ``spot_check.pool`` (a name twice).
    """
    seed = draw_seed(size, root, criteria)
    unique = sorted(set(candidates))
    if not unique:
        raise SpotCheckError("no registered enterprise matches the criteria", code="spot_check.no_candidates")
    if len(set(pool)) != len(pool):
        raise SpotCheckError("the pool of inspectors names someone twice", code="spot_check.pool")
    if len(pool) < criteria.inspectors_per_target:
        raise SpotCheckError(f"{criteria.inspectors_per_target} inspectors per target need a pool of at least "
                             f"that many, found {len(pool)}", code="spot_check.pool_too_small")
    targets = sorted(unique, key=lambda code: (target_rank(seed, code), code))[:criteria.targets]
    assignments = [{"enterprise": code,
                    "inspectors": sorted(pool, key=lambda name: (inspector_rank(seed, code, name), name))
                    [:criteria.inspectors_per_target]} for code in targets]
    return Draw(seed, len(unique), targets, assignments)


def eligible_enterprises(book: Book, criteria: Criteria) -> list[str]:
    """Step 2: the credit codes of the registered, not deregistered enterprises whose region (positions 3-8 of the
    credit code) starts with ``criteria.region``, that hold ``criteria.role``, and that define a product of
    ``criteria.category`` or currently hold a lot of one. Reads every enterprise (and for a category every
    product and holding) of the book."""
    chosen = []
    for enterprise in book.every(EnterpriseRecord):
        if enterprise.status == "deregistered":
            continue
        if criteria.region is not None and not enterprise.region.startswith(criteria.region):
            continue
        if criteria.role is not None and criteria.role not in enterprise.roles.split(","):
            continue
        chosen.append(enterprise.credit_code)
    if criteria.category is None:
        return chosen
    products = [product for product in book.every(ProductRecord) if product.category == criteria.category]
    gtins = {product.gtin for product in products}
    dealing = {product.owner for product in products}
    dealing.update(holding.holder for holding in book.every(HoldingRecord)
                   if holding.ref.startswith("01/") and holding.ref[3:17] in gtins)
    return [code for code in chosen if code in dealing]


def draw_body(size: int, root: bytes, criteria: Criteria, pool: Sequence[str], draw: Draw) -> dict[str, Any]:
    """The body of the ``trace.spot_check.draw`` statement recording ``draw``."""
    return {"checkpoint": {"size": size, "root": root.hex()}, "criteria": criteria.as_json(), "pool": list(pool),
            "targets": draw.targets, "assignments": draw.assignments, "algorithm": ALGORITHM}


def record_draw(ctx: Context) -> None:
    """``trace.spot_check.draw``: re-run the draw against the book and accept the statement only if it equals it.

    Raises ``enterprise.not_registrar``, ``body.*``, ``spot_check.checkpoint_size`` (a checkpoint the ledger did
    not have yet), ``spot_check.no_candidates``, ``spot_check.pool``, ``spot_check.pool_too_small``,
    ``spot_check.targets_differ``, ``spot_check.assignments_differ``.
    """
    if not ctx.is_registrar:
        raise EnterpriseError(f"{DRAW} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")
    body = Body(ctx.statement.body, "body", {"checkpoint", "criteria", "pool", "targets", "assignments",
                                             "algorithm"})
    body.choice("algorithm", {ALGORITHM})
    checkpoint = body.child("checkpoint", {"size", "root"})
    size = checkpoint.integer("size")
    if not 1 <= size <= ctx.index:
        raise SpotCheckError(f"the checkpoint of size {size} is not one of this ledger before entry {ctx.index} "
                             f"(sizes 1-{ctx.index})", code="spot_check.checkpoint_size")
    root = bytes.fromhex(checkpoint.sha256("root") or "")
    criteria = parse_criteria(body.raw("criteria"))
    pool = body.strings("pool", MAX_POOL, 64)
    for position, name in enumerate(pool):
        if not USERNAME.fullmatch(name):
            raise SpotCheckError(f"body.pool[{position}] {name!r} is not a username", code="body.text")
    draw = run_draw(size, root, criteria, eligible_enterprises(ctx.book, criteria), pool)
    if body.raw("targets") != draw.targets:
        raise SpotCheckError(f"the draw gives the targets {_short(draw.targets)}; the statement names "
                             f"{_short(body.raw('targets'))}", code="spot_check.targets_differ")
    if body.raw("assignments") != draw.assignments:
        raise SpotCheckError(f"the draw assigns {_short(draw.assignments)}; the statement assigns "
                             f"{_short(body.raw('assignments'))}", code="spot_check.assignments_differ")
    ctx.summary = {**draw_body(size, root, criteria, pool, draw), "seed": draw.seed.hex(),
                   "candidates": draw.candidates}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 300 else text[:300] + "…"


def plan_draw(session: Session, criteria: Criteria, pool: Sequence[str], size: int | None = None) -> dict[str, Any]:
    """The body of a draw from the current state, over the published checkpoint of ``size`` (the latest when
    ``None``), after checking that checkpoint against the ledger's tree (:func:`confirm_checkpoint`). Appending it
    may still be refused (``spot_check.targets_differ``) if an enterprise was registered in between: plan again.

    Raises :class:`SpotCheckError` (``spot_check.checkpoint_unknown`` and those of :func:`run_draw`)."""
    from .store import SessionSource  # here, not at the top: the store imports the rules, which import this module

    query = select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc()).limit(1)
    checkpoint = session.scalar(query) if size is None else session.get(CheckpointRecord, size)
    if checkpoint is None:
        raise SpotCheckError(f"the ledger published no checkpoint of size {size}" if size is not None else
                             "the ledger has published no checkpoint yet", code="spot_check.checkpoint_unknown")
    confirm_checkpoint(session, checkpoint.tree_size, checkpoint.root_hash)
    candidates = eligible_enterprises(Book(SessionSource(session)), criteria)
    draw = run_draw(checkpoint.tree_size, checkpoint.root_hash, criteria, candidates, pool)
    return draw_body(checkpoint.tree_size, checkpoint.root_hash, criteria, pool, draw)


def recent_checkpoints(session: Session, limit: int = 20) -> list[CheckpointRecord]:
    """The latest published checkpoints, newest first: those a draw may use."""
    return list(session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc()).limit(limit)))


def missing_orders(session: Session, draw: PublishedDraw, reason: str) -> list[dict[str, Any]]:
    """The ``trace.inspection.order`` bodies of the draw's target/inspector pairs that have no order yet, in draw
    order: what to append after the draw (or to finish an interrupted series)."""
    made = {(order.enterprise, order.inspector) for order in orders_for(session, draw_ref(draw.index), "spot_check")}
    return [{"enterprise": item["enterprise"], "reason": reason, "inspector": inspector, "source": "spot_check",
             "source_ref": draw_ref(draw.index)}
            for item in draw.assignments for inspector in item["inspectors"]
            if (item["enterprise"], inspector) not in made]


# -- checking a draw against the ledger ----------------------------------------------------------------------------


def confirm_checkpoint(session: Session, size: int, root: bytes) -> None:
    """The ledger published a signed checkpoint of ``size`` with ``root``, and its stored Merkle tree has that root
    at that size. Raises :class:`SpotCheckError` (``spot_check.checkpoint_unknown``, ``spot_check.checkpoint_root``)
    or the tree's :class:`ledger.ProofError`."""
    stored = session.get(CheckpointRecord, size)
    if stored is None:
        raise SpotCheckError(f"the ledger published no checkpoint of size {size}", code="spot_check.checkpoint_unknown")
    tree = root_at(session, size)
    if stored.root_hash != root or tree != root:
        raise SpotCheckError(f"the draw uses root {root.hex()} for size {size}; the ledger's checkpoint has "
                             f"{stored.root_hash.hex()} and its tree {tree.hex()}", code="spot_check.checkpoint_root")


@dataclass(frozen=True)
class Redraw:
    """A draw recomputed from the ledger alone by :func:`redraw`: everything matched."""

    index: int
    size: int
    root: bytes
    criteria: Criteria
    pool: list[str]
    candidates: list[str]
    draw: Draw
    #: Whether the stored checkpoint's signature was verified (:func:`redraw` with the operator's key).
    note_verified: bool


def redraw(session: Session, index: int, operator_key: VerifierKey | None = None) -> Redraw:
    """:func:`redraw_entries` over the database's entries, then the stored signed checkpoint of the draw's size
    must exist with the same root (and its signature verify when ``operator_key`` is given).

    Raises :class:`SpotCheckError` (``spot_check.not_a_draw``, ``spot_check.checkpoint_unknown``,
    ``spot_check.checkpoint_root`` and those of :func:`redraw_entries`) or :class:`ledger.LedgerError`.
    """
    entry = session.get(Entry, index)
    if entry is None:
        raise SpotCheckError(f"entry {index} is not a spot-check draw", code="spot_check.not_a_draw")
    done = redraw_entries(_entries(session, index), index, entry.leaf)
    stored = session.get(CheckpointRecord, done.size)
    if stored is None:
        raise SpotCheckError(f"the ledger published no checkpoint of size {done.size}",
                             code="spot_check.checkpoint_unknown")
    found = open_checkpoint(stored.note, operator_key).root if operator_key is not None else stored.root_hash
    if found != done.root:
        raise SpotCheckError(f"the stored checkpoint of size {done.size} has root {found.hex()}; the draw uses "
                             f"{done.root.hex()}", code="spot_check.checkpoint_root")
    return replace(done, note_verified=operator_key is not None)


def redraw_entries(entries: Iterable[tuple[int, bytes]], index: int, draw_leaf: bytes) -> Redraw:
    """Re-run the draw in ``draw_leaf`` (entry ``index``) from the ledger's leaves alone: replay every entry before
    it (``entries``: ``(index, leaf)`` from 0 in order; later ones are ignored) into a fresh book, recompute the
    Merkle root of the checkpoint's size from the leaves, and re-run steps 1-4.

    Raises :class:`SpotCheckError` naming the first mismatch (``spot_check.not_a_draw``, ``spot_check.ledger``,
    ``spot_check.checkpoint_size``, ``spot_check.checkpoint_root``, ``spot_check.targets_differ``,
    ``spot_check.assignments_differ``) or the :class:`ledger.LedgerError` of a broken entry.
    """
    from .rules import apply_event, handles  # here, not at the top: the rules import this module's handler

    statement = parse_leaf(draw_leaf).signed.statement
    if statement.type != DRAW:
        raise SpotCheckError(f"entry {index} is not a spot-check draw", code="spot_check.not_a_draw")
    body = statement.body
    size, root = int(body["checkpoint"]["size"]), bytes.fromhex(body["checkpoint"]["root"])
    if not 1 <= size <= index:
        raise SpotCheckError(f"entry {index} uses a checkpoint of size {size}", code="spot_check.checkpoint_size")
    criteria = parse_criteria(body["criteria"])
    book, registrar, tree = Book(), "", MerkleAccumulator()
    expected = 0
    for number, leaf in entries:
        if number >= index:
            break
        if number != expected:
            raise SpotCheckError(f"expected entry {expected}, found {number}", code="spot_check.ledger")
        expected += 1
        if number < size:
            tree.add(leaf_hash(leaf))
        parsed = parse_leaf(leaf)
        if number == 0:
            registrar = parsed.signed.statement.body["registrar"]
        elif handles(parsed.signed.statement.type):
            apply_event(book, parsed.signed.statement, number, parse_time(parsed.received), registrar=registrar)
    if expected != index:
        raise SpotCheckError(f"the ledger ends at entry {expected - 1}, before the draw", code="spot_check.ledger")
    if tree.root() != root:
        raise SpotCheckError(f"the Merkle root of the ledger's first {size} entries is {tree.root().hex()}; the draw "
                             f"uses {root.hex()}", code="spot_check.checkpoint_root")
    candidates = eligible_enterprises(book, criteria)
    draw = run_draw(size, root, criteria, candidates, body["pool"])
    if body["targets"] != draw.targets:
        raise SpotCheckError(f"re-run targets {_short(draw.targets)}; entry {index} names {_short(body['targets'])}",
                             code="spot_check.targets_differ")
    if body["assignments"] != draw.assignments:
        raise SpotCheckError(f"re-run assignments {_short(draw.assignments)}; entry {index} has "
                             f"{_short(body['assignments'])}", code="spot_check.assignments_differ")
    return Redraw(index, size, root, criteria, list(body["pool"]), candidates, draw, False)


def _entries(session: Session, stop: int) -> Iterator[tuple[int, bytes]]:
    next_index = 0
    while next_index < stop:
        rows = session.execute(select(Entry.index, Entry.leaf).where(Entry.index >= next_index, Entry.index < stop)
                               .order_by(Entry.index).limit(_REPLAY_PAGE)).all()
        if not rows:
            return
        yield from ((number, leaf) for number, leaf in rows)
        next_index = rows[-1][0] + 1


# -- reading draws ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedDraw:
    """A draw as recorded (the summary of its event row)."""

    index: int
    time: str
    size: int
    root: str
    criteria: Criteria
    pool: list[str]
    targets: list[str]
    assignments: list[dict[str, Any]]
    seed: str
    candidates: int

    def inspectors_of(self, credit_code: str) -> list[str]:
        return next((item["inspectors"] for item in self.assignments if item["enterprise"] == credit_code), [])


def list_draws(session: Session, *, limit: int = 50, before: int | None = None) -> list[PublishedDraw]:
    """The latest draws, newest first (those before entry ``before`` when given)."""
    query = select(Event).where(Event.type == DRAW)
    if before is not None:
        query = query.where(Event.entry_index < before)
    return [_published(row) for row in session.scalars(query.order_by(Event.entry_index.desc()).limit(limit))]


def get_draw(session: Session, index: int) -> PublishedDraw | None:
    row = session.get(Event, index)
    return None if row is None or row.type != DRAW else _published(row)


def check_published(session: Session, draw: PublishedDraw) -> None:
    """What can be checked cheaply on every view: the checkpoint is the ledger's (:func:`confirm_checkpoint`),
    the seed is step 1 of the criteria, the targets are in rank order and each target's inspectors are steps 4's.
    That no candidate was left out is what the ledger's rules checked when the draw was appended (and what
    :func:`redraw` re-checks from the entries). Raises :class:`SpotCheckError` or :class:`ledger.LedgerError`."""
    root = bytes.fromhex(draw.root)
    confirm_checkpoint(session, draw.size, root)
    seed = draw_seed(draw.size, root, draw.criteria)
    if seed.hex() != draw.seed:
        raise SpotCheckError(f"the seed is {seed.hex()}, the record says {draw.seed}", code="spot_check.seed")
    ranks = [target_rank(seed, code) for code in draw.targets]
    if ranks != sorted(ranks):
        raise SpotCheckError("the targets are not in rank order", code="spot_check.targets_differ")
    again = run_draw(draw.size, root, draw.criteria, draw.targets, draw.pool)
    if again.assignments != draw.assignments:
        raise SpotCheckError(f"re-run assignments {_short(again.assignments)}", code="spot_check.assignments_differ")


def _published(row: Event) -> PublishedDraw:
    summary = json.loads(row.summary)
    return PublishedDraw(index=row.entry_index, time=row.time, size=summary["checkpoint"]["size"],
                         root=summary["checkpoint"]["root"], criteria=parse_criteria(summary["criteria"]),
                         pool=summary["pool"], targets=summary["targets"], assignments=summary["assignments"],
                         seed=summary["seed"], candidates=summary["candidates"])

