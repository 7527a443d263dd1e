"""Helpers for the tamper tests.

* :func:`build_sample_ledger` builds a ledger through the real sequencer: the genesis entry, enterprise keys
  added by the registrar, ``test.event`` statements from three enterprises chained per batch through ``links``,
  a key rotation and a key revocation, with an export taken part way and one at the end.
* The forging helpers play a dishonest operator: they take a list of leaves (changed at will), recompute every
  chain hash and the Merkle root, and sign a fresh checkpoint with the operator's key, so that an export is
  refused only for the one rule the test breaks.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ledger import (
    Checkpoint,
    Signer,
    VerifierKey,
    VerifyReport,
    open_checkpoint,
    sign_checkpoint,
    verify_export_lines,
    write_export,
)
from ledger.export import ExportCheckpoint, ExportEntry, checkpoint_line, entry_line, header_line, read_export
from ledger.keys import encode_public_key
from ledger.merkle import MerkleAccumulator, leaf_hash
from ledger.statements import (
    GENESIS_CHAIN,
    SignedStatement,
    build_statement,
    encode_leaf,
    entry_chain_hash,
    parse_leaf,
    parse_time,
)
from tests.conftest import AcceptTestEvents, LedgerHarness, utcnow
from trace.ledger_service import StatementWriter


def seeded(author: str, number: int) -> Signer:
    """A deterministic test key."""
    return Signer.from_seed(author, bytes([number]) * 32)


# --- reading and writing export bytes -------------------------------------------------------------------------


def split_lines(data: bytes) -> list[bytes]:
    """The lines of an export file as :func:`ledger.read_lines` yields them (each with its LF, the last one
    possibly without)."""
    return io.BytesIO(data).readlines()


def verify_bytes(data: bytes, key: VerifierKey, *, trusted: Checkpoint | None = None) -> VerifyReport:
    return verify_export_lines(split_lines(data), key, trusted=trusted)


def export_bytes(harness: LedgerHarness) -> bytes:
    out = io.BytesIO()
    with harness.sessions() as session:
        write_export(session, out, origin=harness.config.origin)
    return out.getvalue()


def export_leaves(data: bytes) -> list[bytes]:
    """The leaves of an (intact) export, in index order."""
    _, items = read_export(split_lines(data))
    return [item.leaf for item in items if isinstance(item, ExportEntry)]


def export_checkpoints(data: bytes) -> list[str]:
    _, items = read_export(split_lines(data))
    return [item.note for item in items if isinstance(item, ExportCheckpoint)]


def final_checkpoint(data: bytes, key: VerifierKey) -> Checkpoint:
    return open_checkpoint(export_checkpoints(data)[-1], key)


def line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of each line."""
    starts = [0]
    for line in split_lines(data)[:-1]:
        starts.append(starts[-1] + len(line))
    return starts


# --- forging --------------------------------------------------------------------------------------------------


def tree_root(leaves: Sequence[bytes]) -> bytes:
    accumulator = MerkleAccumulator()
    for leaf in leaves:
        accumulator.add(leaf_hash(leaf))
    return accumulator.root()


def forge_checkpoint(checkpoint_signer: Signer, leaves: Sequence[bytes]) -> str:
    """A checkpoint note over ``leaves`` signed with the operator's key (``checkpoint_signer`` is
    :attr:`ledger.LedgerConfig.checkpoint_signer`)."""
    return sign_checkpoint(checkpoint_signer, checkpoint_signer.author, len(leaves), tree_root(leaves))


def forge_export(leaves: Sequence[bytes], checkpoint_signer: Signer, *, checkpoints: Iterable[int] = (),
                 header_size: int | None = None) -> bytes:
    """An export of ``leaves`` with recomputed chain hashes and operator checkpoints after each size in
    ``checkpoints`` and after the last entry, exactly as :func:`ledger.write_export` lays it out."""
    origin = checkpoint_signer.author
    sizes = sorted(set(checkpoints) | {len(leaves)})
    lines = [header_line(origin, len(leaves) if header_size is None else header_size)]
    accumulator = MerkleAccumulator()
    chain = GENESIS_CHAIN
    if 0 in sizes:
        lines.append(checkpoint_line(sign_checkpoint(checkpoint_signer, origin, 0, accumulator.root())))
    for index, leaf in enumerate(leaves):
        hashed = leaf_hash(leaf)
        chain = entry_chain_hash(chain, index, hashed)
        accumulator.add(hashed)
        lines.append(entry_line(index, chain, leaf))
        if index + 1 in sizes:
            lines.append(checkpoint_line(sign_checkpoint(checkpoint_signer, origin, index + 1, accumulator.root())))
    return b"".join(line + b"\n" for line in lines)


@dataclass(frozen=True)
class Heads:
    """Author and batch heads after a prefix of the log, as the rules see them."""

    authors: dict[str, tuple[int, str]]
    batches: dict[str, str]

    def position(self, author: str) -> tuple[int, str | None]:
        """The ``(seq, prev)`` the author's next statement must carry."""
        head = self.authors.get(author)
        return (1, None) if head is None else (head[0] + 1, head[1])


def heads_after(leaves: Sequence[bytes]) -> Heads:
    authors: dict[str, tuple[int, str]] = {}
    batches: dict[str, str] = {}
    for data in leaves:
        statement = parse_leaf(data).statement
        authors[statement.author] = (statement.seq, statement.hash_hex)
        for ref in statement.links:
            batches[ref] = statement.hash_hex
    return Heads(authors, batches)


def forge_leaf(signer: Signer, *, origin: str, heads: Heads, received: str, type: str = "test.event",
               body: dict[str, Any] | None = None, links: Sequence[str] = (), author: str | None = None,
               seq: int | None = None, prev: str | None = None) -> bytes:
    """A leaf holding a statement signed by ``signer`` that follows ``heads`` correctly (seq, prev and the
    batch links), received at ``received``. ``author`` overrides the signer's author name (the key stays the
    signer's)."""
    name = author or signer.author
    next_seq, next_prev = heads.position(name)
    statement = build_statement(
        ledger=origin, type=type, author=name, key=signer.key_id, seq=next_seq if seq is None else seq,
        prev=next_prev if seq is None else prev,
        time=(parse_time(received) - timedelta(seconds=1)).isoformat(timespec="seconds"),
        body=body if body is not None else {"forged": True}, links={ref: heads.batches.get(ref) for ref in links})
    return encode_leaf(SignedStatement(statement, signer.sign(statement.signing_message())), received)


def received_of(leaf: bytes) -> str:
    return parse_leaf(leaf).received


# --- the sample ledger ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleLedger:
    """What :func:`build_sample_ledger` made, with the indexes of the entries the tamper tests aim at."""

    export: bytes
    early_export: bytes
    size: int
    early_size: int
    enterprise_a: Signer
    enterprise_a2: Signer
    enterprise_b: Signer
    enterprise_c: Signer
    idle: Signer
    rotate_index: int
    revoke_index: int
    first_event_index: int


def build_sample_ledger(harness: LedgerHarness, policy: AcceptTestEvents) -> SampleLedger:
    """Build the sample ledger through the real sequencer in several batches (each batch one checkpoint)."""
    a, a2 = seeded("ENT-A", 1), seeded("ENT-A", 2)
    b, c, idle = seeded("ENT-B", 3), seeded("ENT-C", 4), seeded("ENT-D", 5)
    registrar = harness.writer(harness.keys.registrar)

    def ok(envelopes: list[dict[str, Any]]) -> list[int]:
        results = harness.append(envelopes, policy=policy)
        assert all(result.error is None and not result.duplicate for result in results), results
        return [result.index for result in results if result.index is not None]

    ok([registrar.sign("ledger.key.add", {"subject": signer.author, "public_key": encode_public_key(
        signer.public_key), "label": f"key of {signer.author}"}, utcnow()) for signer in (a, b, c, idle)])

    heads: dict[str, str | None] = {}

    def event(writer: StatementWriter, number: int, *refs: str) -> dict[str, Any]:
        envelope = writer.sign("test.event", {"n": number, "refs": list(refs)}, utcnow(),
                               links={ref: heads.get(ref) for ref in refs})
        for ref in refs:
            heads[ref] = writer.prev
        return envelope

    wa, wb, wc = harness.writer(a), harness.writer(b), harness.writer(c)
    first = ok([event(wa, 1, "LOT-A1"), event(wb, 2, "LOT-B1"), event(wc, 3, "LOT-C1"), event(wa, 4, "LOT-A1"),
                event(wb, 5, "LOT-B1"), event(wc, 6, "LOT-C1", "LOT-A1")])[0]
    ok([event(wa, 7, "LOT-A1", "LOT-A2"), event(wb, 8, "LOT-B1"), event(wc, 9, "LOT-C1"),
        event(wa, 10, "LOT-A2"), event(wb, 11, "LOT-B1", "LOT-B2"), event(wc, 12, "LOT-C1")])
    early_export = export_bytes(harness)

    rotate = ok([registrar.sign("ledger.key.rotate", {
        "subject": a.author, "old_key": a.key_id, "public_key": encode_public_key(a2.public_key),
        "label": "rotated key of ENT-A", "reason": "scheduled rotation"}, utcnow())])[0]
    wa = harness.writer(a2)
    ok([event(wa, 13, "LOT-A2"), event(wb, 14, "LOT-B2"), event(wc, 15, "LOT-C2"), event(wa, 16, "LOT-A2"),
        event(wb, 17, "LOT-B2", "LOT-A2")])
    ok([event(wc, 18, "LOT-C2"), event(wa, 19, "LOT-A3"), event(wb, 20, "LOT-B2"), event(wc, 21, "LOT-C2"),
        event(wa, 22, "LOT-A3", "LOT-C2"), event(wb, 23, "LOT-B1"), event(wc, 24, "LOT-C1")])
    revoke = ok([registrar.sign("ledger.key.revoke", {"subject": b.author, "key": b.key_id,
                                                      "reason": "device lost"}, utcnow())])[0]
    ok([event(wa, 25 + n, "LOT-A3", *(("LOT-B2",) if n % 4 == 0 else ())) for n in range(0, 16, 2)]
       + [event(wc, 26 + n, "LOT-C2", *(("LOT-B1",) if n % 3 == 0 else ())) for n in range(0, 16, 2)])
    export = export_bytes(harness)
    return SampleLedger(export=export, early_export=early_export, size=len(export_leaves(export)),
                        early_size=len(export_leaves(early_export)), enterprise_a=a, enterprise_a2=a2,
                        enterprise_b=b, enterprise_c=c, idle=idle, rotate_index=rotate, revoke_index=revoke,
                        first_event_index=first)

