"""Proofs served to anyone: inclusion, consistency, and the self-contained proof bundle of one entry.

An entry's bundle holds its leaf, its inclusion proof against a signed checkpoint, and the same for the entries
that make its signing key trustworthy (the genesis entry, and the key statement that registered the key), so a
holder of only the operator's public key can check who signed it and that the log contains it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from .canonical import MAX_DEPTH, canonicalize, strict_loads
from .checkpoint import Checkpoint, VerifierKey, open_checkpoint
from .errors import LedgerError, ProofError, SignatureError
from .keys import decode_public_key, key_id, verify_signature
from .merkle import Node, consistency_ranges, hash_ranges, inclusion_ranges, leaf_hash, verify_inclusion
from .models import CheckpointRecord, Entry, LedgerKey
from .rules import GENESIS, KEY_ADD, KEY_ROTATE, OPERATOR
from .statements import HASH_HEX, Leaf, parse_leaf
from .tree import fetch_nodes, fetch_nodes_and_size

BUNDLE_FORMAT = "trace-ledger-proof/1"
BATCH_BUNDLE_FORMAT = "trace-ledger-batch-proof/1"


def latest_checkpoint(session: Session) -> CheckpointRecord | None:
    return session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc()).limit(1)).first()


def checkpoint_covering(session: Session, index: int) -> CheckpointRecord:
    """The earliest checkpoint whose tree contains entry ``index``: a proof against it never changes, so it can
    be cached for good. Raises :class:`ProofError` (``proof.no_checkpoint``) when no checkpoint covers it yet."""
    row = session.scalar(select(CheckpointRecord).where(CheckpointRecord.tree_size > index)
                         .order_by(CheckpointRecord.tree_size).limit(1))
    if row is None:
        raise ProofError(f"no checkpoint covers entry {index} yet", code="proof.no_checkpoint")
    return row


def checkpoint_at(session: Session, tree_size: int | None) -> CheckpointRecord:
    """The stored checkpoint of ``tree_size`` (the latest when None); raises :class:`ProofError` if none."""
    record = latest_checkpoint(session) if tree_size is None else session.get(CheckpointRecord, tree_size)
    if record is None:
        raise ProofError(f"no checkpoint of size {tree_size if tree_size is not None else '(latest)'}",
                         code="proof.no_checkpoint")
    return record


def inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    """Inclusion proof of entry ``index`` in the tree of ``tree_size``, at most the latest checkpoint's; raises
    :class:`ProofError`. One statement (:func:`ledger.tree.fetch_nodes_and_size`)."""
    return _stored_proof(session, tree_size, lambda: inclusion_ranges(index, tree_size))


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof between two tree sizes, the newer at most the latest checkpoint's; raises
    :class:`ProofError`. One statement, as :func:`inclusion`."""
    return _stored_proof(session, new_size, lambda: consistency_ranges(old_size, new_size))


def _stored_proof(session: Session, tree_size: int, ranges_of: Callable[[], list[tuple[int, int]]]) -> list[bytes]:
    """The hashes of the ranges ``ranges_of()`` in the tree of ``tree_size`` (``proof.size`` past the latest
    checkpoint, reported before any other error), fetched with the latest size in one statement."""
    try:
        ranges = ranges_of()
    except ProofError:
        _check_size(session, tree_size)
        raise

    def lookup(nodes: Sequence[Node]) -> dict[Node, bytes]:
        latest, found = fetch_nodes_and_size(session, nodes)
        if tree_size > latest:
            raise ProofError(f"tree size {tree_size} exceeds the latest checkpoint ({latest})", code="proof.size")
        return found
    return hash_ranges(ranges, lookup)


def entry_bundle(session: Session, index: int, *, tree_size: int | None = None) -> dict[str, Any]:
    """The proof bundle of entry ``index`` against the checkpoint of ``tree_size`` (default: the latest).

    Raises :class:`ProofError` when the entry or checkpoint does not exist.
    """
    checkpoint = checkpoint_at(session, tree_size)
    items = _proved_entries(session, [index], checkpoint.tree_size)
    return {"format": BUNDLE_FORMAT, "checkpoint": checkpoint.note, "entries": items, "index": index}


def batch_bundle(session: Session, ref: str, indexes: list[int], *, tree_size: int | None = None,
                 latest: int | None = None) -> dict[str, Any]:
    """The proof bundle of every entry on batch ``ref`` (``indexes``, ascending, as the domain recorded them)
    against one checkpoint: what a public page or an offline verifier needs to check the batch's whole history
    with only the operator's key. Entries after the checkpoint are left out.

    With ``latest=K`` and more than K entries in the checkpoint's tree, only the latest K are proved: the bundle
    then also states ``previous``, the statement hash of the entry before them (to which the first of them links
    the batch), and ``earlier``, how many entries it leaves out (docs/ledger-format.md §11.2). Raises
    :class:`ProofError` (``proof.size`` also for a ``latest`` below 1)."""
    if latest is not None and latest < 1:
        raise ProofError(f"a suffix bundle proves at least 1 entry, not {latest}", code="proof.size")
    checkpoint = checkpoint_at(session, tree_size)
    included = [index for index in indexes if index < checkpoint.tree_size]
    if not included:
        raise ProofError(f"batch {ref} has no entry in the tree of {checkpoint.tree_size} entries",
                         code="proof.size")
    suffix = latest is not None and latest < len(included)
    proved = included[-latest:] if suffix and latest is not None else included
    items = _proved_entries(session, proved, checkpoint.tree_size)
    bundle: dict[str, Any] = {"format": BATCH_BUNDLE_FORMAT, "checkpoint": checkpoint.note, "ref": ref,
                              "indexes": proved, "entries": items}
    if suffix:
        before = included[-len(proved) - 1]
        statement_hash = session.scalar(select(Entry.statement_hash).where(Entry.index == before))
        if statement_hash is None:
            raise ProofError(f"entry {before} is missing", code="proof.store")
        bundle.update(previous=statement_hash.hex(), earlier=len(included) - len(proved))
    return bundle


def _proved_entries(session: Session, indexes: list[int], tree_size: int) -> list[dict[str, Any]]:
    """``indexes``, the genesis entry and the key entries that make each signer's key trustworthy (the entry
    that registered it, then the one that registered that entry's key, ...), each with its inclusion proof.

    A handful of queries whatever the number of entries: the entries by index, the keys by id, then every
    subtree hash of every inclusion proof at once."""
    for index in indexes:
        if not 0 <= index < tree_size:
            raise ProofError(f"entry {index} is not in the tree of {tree_size} entries", code="proof.size")
    entries = _entries(session, sorted(set(indexes) | {0}))
    keys: dict[str, LedgerKey | None] = {}
    pending = sorted(entries)
    while pending:
        wanted_keys = {entries[index].key_id for index in pending} - keys.keys()
        if wanted_keys:
            keys.update({key_id: None for key_id in wanted_keys})
            keys.update({row.key_id: row for row in session.scalars(
                select(LedgerKey).where(LedgerKey.key_id.in_(sorted(wanted_keys))))})
        registrations = set()
        for index in pending:
            key = keys[entries[index].key_id]
            if key is not None and key.added_index != 0 and key.added_index not in entries:
                registrations.add(key.added_index)
        entries.update(_entries(session, sorted(registrations)))
        pending = sorted(registrations)
    ordered = sorted(entries)
    proofs = hash_ranges([part for index in ordered for part in inclusion_ranges(index, tree_size)],
                         lambda nodes: fetch_nodes(session, nodes))
    out, position = [], 0
    for index in ordered:
        length = len(inclusion_ranges(index, tree_size))
        out.append({"index": index, "leaf": strict_loads(entries[index].leaf),
                    "inclusion": [_b64(value) for value in proofs[position:position + length]]})
        position += length
    return out


def _entries(session: Session, indexes: list[int]) -> dict[int, Entry]:
    found: dict[int, Entry] = {}
    for start in range(0, len(indexes), 500):
        found.update({row.index: row for row in session.scalars(
            select(Entry).where(Entry.index.in_(indexes[start:start + 500])))})
    missing = [index for index in indexes if index not in found]
    if missing:
        raise ProofError(f"entry {missing[0]} is missing", code="proof.store")
    return found


@dataclass(frozen=True)
class VerifiedEntry:
    index: int
    leaf: Leaf
    checkpoint: Checkpoint


def verify_entry_bundle(bundle: Any, operator_key: VerifierKey) -> VerifiedEntry:
    """Verify a bundle from :func:`entry_bundle` with only the operator's verifier key.

    Checks: the checkpoint's operator signature; each entry's inclusion in that checkpoint; the genesis entry is
    signed by the operator key and names the registrar's key; each key entry is signed by its authority (the
    operator for the registrar's keys, the registrar for the others) and the last registers the key that
    signed the entry. Does not prove that the key was not revoked before the entry
    (that needs the whole log: see the verifier). Raises :class:`ProofError` for every failure.
    """
    try:
        if not isinstance(bundle, dict) or bundle.keys() != {"format", "checkpoint", "entries", "index"} or \
                bundle["format"] != BUNDLE_FORMAT:
            raise ProofError(f"not a {BUNDLE_FORMAT} bundle", code="proof.malformed")
        checkpoint, leaves = _open_entries(bundle, operator_key)
        index = bundle["index"]
        targets = _verify_signers(leaves, [index] if isinstance(index, int) else [], operator_key)
        return VerifiedEntry(index, targets[0], checkpoint)
    except ProofError:
        raise
    except LedgerError as exc:
        raise ProofError(exc.message, code=exc.code) from None


@dataclass(frozen=True)
class VerifiedBatch(Sequence[VerifiedEntry]):
    """What :func:`verify_batch_bundle` proved: the batch's ``entries`` in order, consecutive in its chain of
    events. With ``previous`` None they are its whole history up to the checkpoint; otherwise the first links to
    the statement whose hash is ``previous``, and the bundle says ``earlier`` entries come before it (a count this
    bundle cannot prove: only the whole history can)."""

    ref: str
    entries: tuple[VerifiedEntry, ...]
    previous: str | None = None
    earlier: int = 0

    @property
    def complete(self) -> bool:
        return self.previous is None

    @property
    def stated_total(self) -> int:
        """The number of the batch's events up to the checkpoint: proved when complete, else as the bundle says."""
        return self.earlier + len(self.entries)

    def describe(self) -> str:
        if self.complete:
            return f"all {len(self.entries)} events of batch {self.ref}"
        return f"the latest {len(self.entries)} of {self.stated_total} events of batch {self.ref}"

    @overload
    def __getitem__(self, position: int) -> VerifiedEntry: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[VerifiedEntry]: ...

    def __getitem__(self, position: int | slice) -> VerifiedEntry | Sequence[VerifiedEntry]:
        return self.entries[position]

    def __len__(self) -> int:
        return len(self.entries)


_BATCH_MEMBERS = {"format", "checkpoint", "ref", "indexes", "entries"}
_SUFFIX_MEMBERS = _BATCH_MEMBERS | {"previous", "earlier"}


def verify_batch_bundle(bundle: Any, operator_key: VerifierKey) -> VerifiedBatch:
    """Verify a bundle from :func:`batch_bundle` with only the operator's verifier key, and return what it proves:
    the batch's listed entries in order, and whether they are its whole history or its latest ones.

    Beyond :func:`verify_entry_bundle`'s checks for each entry: every listed statement links the batch, and
    the links chain: the first names no previous statement for it (the batch's first event), or in a suffix
    bundle the statement hash the bundle gives as ``previous``, and each later one names the statement hash of the
    one before, so no event between the first and the last listed was left out. Raises :class:`ProofError`
    (``proof.batch_chain`` for a broken chain).
    """
    try:
        if not isinstance(bundle, dict) or bundle.keys() not in (_BATCH_MEMBERS, _SUFFIX_MEMBERS) or \
                bundle["format"] != BATCH_BUNDLE_FORMAT or not isinstance(bundle["ref"], str) or \
                not isinstance(bundle["indexes"], list) or not bundle["indexes"] or \
                not all(isinstance(index, int) for index in bundle["indexes"]) or \
                bundle["indexes"] != sorted(set(bundle["indexes"])):
            raise ProofError(f"not a {BATCH_BUNDLE_FORMAT} bundle", code="proof.malformed")
        previous, earlier = _suffix_start(bundle)
        checkpoint, leaves = _open_entries(bundle, operator_key)
        ref, indexes = bundle["ref"], bundle["indexes"]
        targets = _verify_signers(leaves, indexes, operator_key)
        expected = previous
        for position, (index, leaf) in enumerate(zip(indexes, targets, strict=True)):
            links = leaf.statement.links
            if ref not in links:
                raise ProofError(f"entry {index} does not link batch {ref}", code="proof.batch_chain")
            if links[ref] != expected:
                before = "the bundle's previous" if position == 0 and previous is not None else \
                    "the batch's first event" if position == 0 else "the statement before it in the bundle"
                raise ProofError(f"entry {index} links batch {ref} to {links[ref]}, expected {expected} ({before}): "
                                 "an event is missing", code="proof.batch_chain")
            expected = leaf.statement.hash_hex
        return VerifiedBatch(ref, tuple(VerifiedEntry(index, leaf, checkpoint)
                                        for index, leaf in zip(indexes, targets, strict=True)), previous, earlier)
    except ProofError:
        raise
    except LedgerError as exc:
        raise ProofError(exc.message, code=exc.code) from None


def _suffix_start(bundle: dict[str, Any]) -> tuple[str | None, int]:
    """A suffix bundle's ``previous`` (64 lowercase hex digits) and ``earlier`` (at least 1); None and 0 for a
    whole history."""
    if "previous" not in bundle:
        return None, 0
    previous, earlier = bundle["previous"], bundle["earlier"]
    if not isinstance(previous, str) or not HASH_HEX.fullmatch(previous):
        raise ProofError(f"previous must be a statement hash in 64 lowercase hex digits, found {previous!r:.80}",
                         code="proof.malformed")
    if not isinstance(earlier, int) or isinstance(earlier, bool) or earlier < 1:
        raise ProofError(f"earlier must be an integer of at least 1, found {earlier!r:.40}", code="proof.malformed")
    return previous, earlier


def _open_entries(bundle: dict[str, Any], operator_key: VerifierKey) -> tuple[Checkpoint, dict[int, Leaf]]:
    """The bundle's checkpoint (signature checked) and its entries, each proved included in it."""
    if not isinstance(bundle["entries"], list) or not isinstance(bundle["checkpoint"], str):
        raise ProofError("bundle entries must be a list and checkpoint a note", code="proof.malformed")
    checkpoint = open_checkpoint(bundle["checkpoint"], operator_key)
    leaves: dict[int, Leaf] = {}
    for item in bundle["entries"]:
        if not isinstance(item, dict) or item.keys() != {"index", "leaf", "inclusion"} or \
                not isinstance(item["inclusion"], list) or not isinstance(item["index"], int):
            raise ProofError("bundle entry must hold index, leaf and inclusion", code="proof.malformed")
        data = canonicalize(item["leaf"], max_depth=MAX_DEPTH + 1)  # parse_leaf checks the statement's depth
        leaf = parse_leaf(data)
        proof = [_unb64(value) for value in item["inclusion"]]
        verify_inclusion(leaf_hash(data), item["index"], checkpoint.size, proof, checkpoint.root)
        leaves[item["index"]] = leaf
    if 0 not in leaves:
        raise ProofError("bundle lacks the genesis entry", code="proof.malformed")
    return checkpoint, leaves


def _verify_signers(leaves: dict[int, Leaf], targets: list[int], operator_key: VerifierKey) -> list[Leaf]:
    """Build the registered keys from the genesis and key entries in the bundle, then check that each target
    entry is signed by a key registered for its author; returns the target leaves in order."""
    if not targets or any(index not in leaves for index in targets):
        raise ProofError("bundle lacks an entry it names", code="proof.malformed")
    genesis = leaves[0].statement
    if genesis.type != GENESIS or genesis.author != OPERATOR or genesis.key != key_id(operator_key.public_key):
        raise ProofError("entry 0 is not the operator's genesis statement", code="proof.genesis")
    verify_signature(operator_key.public_key, leaves[0].signed.signature, genesis.signing_message())
    registrar = genesis.body["registrar"]
    registered = {key_id(operator_key.public_key): (OPERATOR, operator_key.public_key)}
    registrar_key = decode_public_key(genesis.body["registrar_public_key"])
    registered[key_id(registrar_key)] = (registrar, registrar_key)
    target_set = set(targets)
    for at in sorted(leaves):
        statement = leaves[at].statement
        if at == 0 or at in target_set or statement.type not in (KEY_ADD, KEY_ROTATE):
            continue
        subject = statement.body["subject"]
        authority = OPERATOR if subject == registrar else registrar
        if statement.author != authority or registered.get(statement.key, (None,))[0] != authority:
            raise ProofError(f"key entry {at} for {subject} is not signed by the {authority}", code="proof.key")
        verify_signature(registered[statement.key][1], leaves[at].signed.signature, statement.signing_message())
        public = decode_public_key(statement.body["public_key"])
        registered[key_id(public)] = (subject, public)
    out = []
    for index in targets:
        target = leaves[index]
        author, public = registered.get(target.statement.key, (None, b""))
        if author != target.statement.author:
            raise ProofError(f"bundle does not show key {target.statement.key} registered for "
                             f"{target.statement.author}", code="proof.key")
        try:
            verify_signature(public, target.signed.signature, target.statement.signing_message())
        except SignatureError as exc:
            raise ProofError(f"entry {index}: {exc.message}", code="signature.invalid") from None
        out.append(target)
    return out


def _check_size(session: Session, tree_size: int) -> None:
    latest = latest_checkpoint(session)
    if latest is None or tree_size > latest.tree_size:
        raise ProofError(f"tree size {tree_size} exceeds the latest checkpoint "
                         f"({latest.tree_size if latest else 0})", code="proof.size")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ProofError("proof elements are base64 strings", code="proof.malformed")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ProofError("proof element is not base64", code="proof.malformed") from None
