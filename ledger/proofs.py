"""Proofs served to anyone: inclusion, consistency, and the self-contained proof bundle of one entry.

An entry's bundle holds its leaf, its inclusion proof against a signed checkpoint, and the same for the entries
that make its signing key trustworthy (the genesis entry, and the key statement that registered the key), so a
holder of only the operator's public key can check who signed it and that the log contains it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .canonical import MAX_DEPTH, canonicalize, strict_loads
from .checkpoint import Checkpoint, VerifierKey, open_checkpoint
from .errors import LedgerError, ProofError, SignatureError
from .keys import decode_public_key, key_id, verify_signature
from .merkle import leaf_hash, verify_inclusion
from .models import CheckpointRecord, Entry, LedgerKey
from .rules import GENESIS, KEY_ADD, KEY_ROTATE, OPERATOR
from .statements import Leaf, parse_leaf
from .tree import stored_consistency_proof, stored_inclusion_proof

BUNDLE_FORMAT = "trace-ledger-proof/1"


def latest_checkpoint(session: Session) -> CheckpointRecord | None:
    return session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc()).limit(1)).first()


def checkpoint_at(session: Session, tree_size: int | None) -> CheckpointRecord:
    """The stored checkpoint of ``tree_size`` (the latest when None); raises :class:`ProofError` if none."""
    record = latest_checkpoint(session) if tree_size is None else session.get(CheckpointRecord, tree_size)
    if record is None:
        raise ProofError(f"no checkpoint of size {tree_size if tree_size is not None else '(latest)'}",
                         code="proof.no_checkpoint")
    return record


def inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    """Inclusion proof of entry ``index`` in the tree of ``tree_size``; raises :class:`ProofError`."""
    _check_size(session, tree_size)
    return stored_inclusion_proof(session, index, tree_size)


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof between two tree sizes; raises :class:`ProofError`."""
    _check_size(session, new_size)
    return stored_consistency_proof(session, old_size, new_size)


def entry_bundle(session: Session, index: int, *, tree_size: int | None = None) -> dict[str, Any]:
    """The proof bundle of entry ``index`` against the checkpoint of ``tree_size`` (default: the latest).

    Raises :class:`ProofError` when the entry or checkpoint does not exist.
    """
    checkpoint = checkpoint_at(session, tree_size)
    if not 0 <= index < checkpoint.tree_size:
        raise ProofError(f"entry {index} is not in the tree of {checkpoint.tree_size} entries", code="proof.size")
    entry = session.get(Entry, index)
    if entry is None:
        raise ProofError(f"entry {index} is missing", code="proof.store")
    wanted = {0, index}
    signer_of = entry.key_id
    while True:  # the entry that registered the signing key, then the one that registered that entry's key, ...
        key = session.get(LedgerKey, signer_of)
        if key is None or key.added_index == 0 or key.added_index in wanted:
            break
        wanted.add(key.added_index)
        registration = session.get(Entry, key.added_index)
        if registration is None:
            raise ProofError(f"entry {key.added_index} is missing", code="proof.store")
        signer_of = registration.key_id
    items = [_proved_entry(session, at, checkpoint.tree_size) for at in sorted(wanted)]
    return {"format": BUNDLE_FORMAT, "checkpoint": checkpoint.note, "entries": items, "index": index}


def _proved_entry(session: Session, index: int, tree_size: int) -> dict[str, Any]:
    entry = session.get(Entry, index)
    if entry is None:
        raise ProofError(f"entry {index} is missing", code="proof.store")
    return {"index": index, "leaf": strict_loads(entry.leaf),
            "inclusion": [_b64(value) for value in stored_inclusion_proof(session, index, tree_size)]}


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
        return _verify_entry_bundle(bundle, operator_key)
    except ProofError:
        raise
    except LedgerError as exc:
        raise ProofError(exc.message, code=exc.code) from None


def _verify_entry_bundle(bundle: Any, operator_key: VerifierKey) -> VerifiedEntry:
    if not isinstance(bundle, dict) or bundle.keys() != {"format", "checkpoint", "entries", "index"} or \
            bundle["format"] != BUNDLE_FORMAT or not isinstance(bundle["entries"], list) or \
            not isinstance(bundle["checkpoint"], str):
        raise ProofError(f"not a {BUNDLE_FORMAT} bundle", code="proof.malformed")
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
    index = bundle["index"]
    if index not in leaves or 0 not in leaves:
        raise ProofError("bundle lacks the entry or the genesis entry", code="proof.malformed")
    genesis = leaves[0].statement
    if genesis.type != GENESIS or genesis.author != OPERATOR or genesis.key != key_id(operator_key.public_key):
        raise ProofError("entry 0 is not the operator's genesis statement", code="proof.genesis")
    verify_signature(operator_key.public_key, leaves[0].signed.signature, genesis.signing_message())
    registrar = genesis.body["registrar"]
    registered = {key_id(operator_key.public_key): (OPERATOR, operator_key.public_key)}
    registrar_key = decode_public_key(genesis.body["registrar_public_key"])
    registered[key_id(registrar_key)] = (registrar, registrar_key)
    for at in sorted(leaves):
        statement = leaves[at].statement
        if at in (0, index) or statement.type not in (KEY_ADD, KEY_ROTATE):
            continue
        subject = statement.body["subject"]
        authority = OPERATOR if subject == registrar else registrar
        if statement.author != authority or registered.get(statement.key, (None,))[0] != authority:
            raise ProofError(f"key entry {at} for {subject} is not signed by the {authority}", code="proof.key")
        verify_signature(registered[statement.key][1], leaves[at].signed.signature, statement.signing_message())
        public = decode_public_key(statement.body["public_key"])
        registered[key_id(public)] = (subject, public)
    target = leaves[index]
    author, public = registered.get(target.statement.key, (None, b""))
    if author != target.statement.author:
        raise ProofError(f"bundle does not show key {target.statement.key} registered for "
                         f"{target.statement.author}", code="proof.key")
    try:
        verify_signature(public, target.signed.signature, target.statement.signing_message())
    except SignatureError as exc:
        raise ProofError(exc.message, code="signature.invalid") from None
    return VerifiedEntry(index, target, checkpoint)


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
