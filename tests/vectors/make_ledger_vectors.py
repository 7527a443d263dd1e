"""Deterministic test vectors for the ledger format (docs/ledger-format.md §12).

Builds a seven-entry ledger in memory from fixed Ed25519 seeds and fixed times and writes every intermediate value
to ``tests/vectors/ledger_vectors.json``. Ed25519 signatures are deterministic, so every run writes the same bytes.
Run from the repository root (the root must come first on ``sys.path``)::

    .venv/bin/python -m tests.vectors.make_ledger_vectors

``tests/ledger/test_vectors.py`` recomputes every value with the library and fails when the committed JSON is not
exactly what this script writes. The seeds are public: TEST-ONLY keys, never use them for real records.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from ledger.canonical import canonicalize, strict_loads
from ledger.checkpoint import checkpoint_body, note_key_id, sign_checkpoint, verifier_key
from ledger.export import checkpoint_line, entry_line, header_line
from ledger.keys import KEY_ID_TAG, Signer, encode_public_key
from ledger.merkle import (
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    root_from_leaf_hashes,
)
from ledger.proofs import BATCH_BUNDLE_FORMAT, BUNDLE_FORMAT
from ledger.rules import OPERATOR
from ledger.statements import (
    GENESIS_CHAIN,
    SIGNATURE_TAG,
    SignedStatement,
    build_statement,
    encode_leaf,
    entry_chain_hash,
    sign_statement,
)

VECTORS_FILE = Path(__file__).with_name("ledger_vectors.json")
ORIGIN = "vectors.example/ledger"
REGISTRAR = "registrar"
ENTERPRISE = "91350100MAVECTORS3"
BATCH = "BATCH-2025-0001"
SHIPMENT = "SHIP-2025-0001"

SEEDS = {"operator": bytes([1]) * 32, "registrar": bytes([2]) * 32, "enterprise": bytes([3]) * 32,
         "enterprise_rotated": bytes([4]) * 32}
AUTHORS = {"operator": OPERATOR, "registrar": REGISTRAR, "enterprise": ENTERPRISE, "enterprise_rotated": ENTERPRISE}
CHECKPOINT_SIZES = (4, 7)
INCLUSION_CASES = ((2, 7), (6, 7), (0, 1))
CONSISTENCY_CASES = ((3, 7), (4, 7), (6, 7))
BUNDLE_ENTRIES = (0, 4, 5)  # the genesis, the rotation that registered entry 5's key, and entry 5 itself
#: The key entries that registered the signing keys of :data:`BATCH`'s entries: 1 for 2 and 3, 4 (the rotation)
#: for 5.
BATCH_KEY_ENTRIES = (1, 4)
#: The suffix bundle of :data:`BATCH` proves its latest events only (§11.2).
BATCH_SUFFIX_LATEST = 2

HARVEST_BODY: dict[str, Any] = {
    "batch": BATCH,
    "product": "安溪铁观音 (Anxi Tieguanyin tea)",
    "quantity": "120.50",
    "unit": "kg",
    "boxes": 40,
    "organic": True,
    "grade": None,
    "tags": ["春茶", "特级"],
    "产地": "福建省泉州市安溪县",
    "\U0001f4e6": {"count": 40, "label": "礼盒装"},
    "（备注）": "首批春茶\n\"特级\"",
}

CANONICAL_CASES = (
    ("utf16_member_order", '{"（备注）":1,"\U0001f4e6":2,"产地":3,"a":4}'),
    ("string_escapes", '{"s":"\\u00e9\\u4e2d\\t\\n\\u0001\\"\\\\\\/\\u007f\\u2028\\ud83d\\udce6"}'),
    ("integers_and_literals",
     '{ "n" : [ 0, -0, -1, 9007199254740991, -9007199254740991, true, false, null ], "e" : {}, "a" : [] }'),
)
REFUSED_JSON = (
    ("fraction", '{"a":1.0}', "statement.float"),
    ("exponent", '{"a":1e2}', "statement.float"),
    ("nan", '{"a":NaN}', "statement.float"),
    ("integer_too_large", '{"a":9007199254740992}', "statement.integer_range"),
    ("duplicate_member", '{"a":1,"a":2}', "statement.duplicate_key"),
    ("lone_surrogate", '{"a":"\\ud800"}', "statement.encoding"),
    ("trailing_data", '{"a":1}{}', "statement.json"),
)


@dataclass(frozen=True)
class Step:
    """One planned entry: the key that signs it, the statement's type, time and body, the batches it links (their
    hashes are filled in from the ledger so far) and the log's receive time."""

    signer: str
    type: str
    time: str
    received: str
    body: dict[str, Any]
    batches: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuiltEntry:
    """One entry of the vector ledger with the values derived from it."""

    index: int
    signer: str
    signed: SignedStatement
    received: str
    leaf: bytes
    leaf_hash: bytes
    previous_chain: bytes
    chain: bytes


def signers() -> dict[str, Signer]:
    """The statement signers, by vector key name."""
    return {name: Signer.from_seed(AUTHORS[name], seed) for name, seed in SEEDS.items()}


def checkpoint_signer() -> Signer:
    """The operator key under its signed-note key name, which is the ledger origin."""
    return Signer.from_seed(ORIGIN, SEEDS["operator"])


def plan(keys: dict[str, Signer]) -> list[Step]:
    """The seven statements of the vector ledger, in log order."""
    b64 = {name: encode_public_key(signer.public_key) for name, signer in keys.items()}
    return [
        Step("operator", "ledger.genesis", "2025-03-01T08:00:00+08:00", "2025-03-01T00:00:00.250000Z",
             {"operator_public_key": b64["operator"], "registrar": REGISTRAR,
              "registrar_public_key": b64["registrar"]}),
        Step("registrar", "ledger.key.add", "2025-03-01T09:30:00+08:00", "2025-03-01T01:30:00.500000Z",
             {"subject": ENTERPRISE, "public_key": b64["enterprise"], "label": "闽侯示例合作社 signing key 1"}),
        Step("enterprise", "example.harvest", "2025-03-02T07:15:00+08:00", "2025-03-01T23:16:02.000001Z",
             HARVEST_BODY, (BATCH,)),
        Step("enterprise", "example.ship", "2025-03-02T07:16:00+08:00", "2025-03-01T23:16:02.000001Z",
             {"batch": BATCH, "boxes": 40, "carrier": "顺丰冷链", "shipment": SHIPMENT}, (BATCH, SHIPMENT)),
        Step("registrar", "ledger.key.rotate", "2025-03-05T10:00:00Z", "2025-03-05T10:00:00.000000Z",
             {"subject": ENTERPRISE, "old_key": keys["enterprise"].key_id, "public_key": b64["enterprise_rotated"],
              "label": "闽侯示例合作社 signing key 2", "reason": "scheduled rotation"}),
        Step("enterprise_rotated", "example.receive", "2025-03-05T18:05:09.5+08:00", "2025-03-05T10:05:09.000000Z",
             {"batch": BATCH, "boxes": 40, "note": "到货完好 ✓"}, (BATCH,)),
        Step("enterprise_rotated", "ledger.key.revoke", "2025-03-06T12:00:00-05:00", "2025-03-06T17:00:00.000100Z",
             {"subject": ENTERPRISE, "key": keys["enterprise_rotated"].key_id, "reason": "设备遗失 (device lost)"}),
    ]


def build_ledger(keys: dict[str, Signer]) -> list[BuiltEntry]:
    """Sign and chain the planned statements, tracking each author's seq/prev and each batch's latest hash."""
    authors: dict[str, tuple[int, str | None]] = {}
    batches: dict[str, str] = {}
    chain = GENESIS_CHAIN
    built: list[BuiltEntry] = []
    for index, step in enumerate(plan(keys)):
        signer = keys[step.signer]
        seq, prev = authors.get(signer.author, (0, None))
        statement = build_statement(ledger=ORIGIN, type=step.type, author=signer.author, key=signer.key_id,
                                    seq=seq + 1, prev=prev, time=step.time, body=step.body,
                                    links={ref: batches.get(ref) for ref in step.batches})
        signed = sign_statement(signer, statement)
        leaf = encode_leaf(signed, step.received)
        hashed = leaf_hash(leaf)
        previous, chain = chain, entry_chain_hash(chain, index, hashed)
        authors[signer.author] = (seq + 1, statement.hash_hex)
        batches.update(dict.fromkeys(step.batches, statement.hash_hex))
        built.append(BuiltEntry(index, step.signer, signed, step.received, leaf, hashed, previous, chain))
    return built


def key_vectors(keys: dict[str, Signer]) -> dict[str, Any]:
    """Seed, public key and ledger key id of every signer."""
    return {name: {"author": signer.author, "seed_hex": SEEDS[name].hex(), "public_key_hex": signer.public_key.hex(),
                   "public_key_base64": encode_public_key(signer.public_key),
                   "key_id_input_hex": (KEY_ID_TAG + signer.public_key).hex(), "key_id": signer.key_id}
            for name, signer in keys.items()}


def note_key_vector() -> dict[str, Any]:
    """The operator's signed-note verifier key."""
    public = checkpoint_signer().public_key
    key = verifier_key(ORIGIN, public)
    return {"name": ORIGIN, "key_id_input_hex": (ORIGIN.encode("utf-8") + b"\n\x01" + public).hex(),
            "key_id_hex": note_key_id(ORIGIN, public).hex(), "verifier_key": key.text()}


def canonical_vectors() -> dict[str, Any]:
    """Stand-alone canonicalisation cases: JSON text in, canonical text out, or the refusal code."""
    accepted = [{"name": name, "input": text, "canonical": canonicalize(strict_loads(text)).decode("utf-8"),
                 "canonical_hex": canonicalize(strict_loads(text)).hex()} for name, text in CANONICAL_CASES]
    refused = [{"name": name, "input": text, "error_code": code} for name, text, code in REFUSED_JSON]
    return {"accepted": accepted, "refused": refused}


def entry_vectors(built: Sequence[BuiltEntry]) -> list[dict[str, Any]]:
    """Every value from statement to export line, per entry."""
    return [_entry_vector(entry) for entry in built]


def _entry_vector(entry: BuiltEntry) -> dict[str, Any]:
    statement = entry.signed.statement
    return {
        "index": entry.index,
        "signer": entry.signer,
        "statement": strict_loads(statement.canonical),
        "canonical": statement.canonical.decode("utf-8"),
        "canonical_hex": statement.canonical.hex(),
        "statement_hash": statement.hash_hex,
        "signing_message_hex": statement.signing_message().hex(),
        "signature_base64": entry.signed.signature_b64,
        "signature_hex": entry.signed.signature.hex(),
        "received": entry.received,
        "leaf": entry.leaf.decode("utf-8"),
        "leaf_hex": entry.leaf.hex(),
        "leaf_hash": entry.leaf_hash.hex(),
        "previous_chain_hash": entry.previous_chain.hex(),
        "chain_hash": entry.chain.hex(),
        "export_line": entry_line(entry.index, entry.chain, entry.leaf).decode("utf-8"),
    }


def merkle_vectors(built: Sequence[BuiltEntry]) -> dict[str, Any]:
    """Roots of every prefix of the log, and inclusion and consistency proofs with the leaf ranges they cover."""
    hashes = [entry.leaf_hash for entry in built]
    inclusion = [{"index": index, "tree_size": size, "leaf_hash": hashes[index].hex(),
                  "ranges": [list(pair) for pair in inclusion_ranges(index, size)],
                  "proof": [value.hex() for value in inclusion_proof(index, hashes[:size])],
                  "root": root_from_leaf_hashes(hashes[:size]).hex()} for index, size in INCLUSION_CASES]
    consistency = [{"old_size": old, "new_size": new, "old_root": root_from_leaf_hashes(hashes[:old]).hex(),
                    "new_root": root_from_leaf_hashes(hashes[:new]).hex(),
                    "ranges": [list(pair) for pair in consistency_ranges(old, new)],
                    "proof": [value.hex() for value in consistency_proof(old, hashes[:new])]}
                   for old, new in CONSISTENCY_CASES]
    return {"roots": [{"size": size, "root": root_from_leaf_hashes(hashes[:size]).hex()}
                      for size in range(len(hashes) + 1)],
            "inclusion": inclusion, "consistency": consistency}


def checkpoint_vectors(built: Sequence[BuiltEntry]) -> list[dict[str, Any]]:
    """The operator's checkpoints at :data:`CHECKPOINT_SIZES`: signed text, signature and the whole note."""
    signer = checkpoint_signer()
    result = []
    for size in CHECKPOINT_SIZES:
        root = root_from_leaf_hashes([entry.leaf_hash for entry in built[:size]])
        text = checkpoint_body(ORIGIN, size, root)
        result.append({"size": size, "root_hex": root.hex(), "root_base64": base64.b64encode(root).decode("ascii"),
                       "signed_text": text, "key_id_hex": note_key_id(ORIGIN, signer.public_key).hex(),
                       "signature_hex": signer.sign(text.encode("utf-8")).hex(),
                       "note": sign_checkpoint(signer, ORIGIN, size, root)})
    return result


def notes(built: Sequence[BuiltEntry]) -> dict[int, str]:
    """Checkpoint notes by tree size."""
    return {item["size"]: item["note"] for item in checkpoint_vectors(built)}


def chained(leaves: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """``(chain hash, leaf)`` of each leaf, the chain recomputed from the start."""
    chain, result = GENESIS_CHAIN, []
    for index, leaf in enumerate(leaves):
        chain = entry_chain_hash(chain, index, leaf_hash(leaf))
        result.append((chain, leaf))
    return result


def export_lines(entries: Sequence[tuple[bytes, bytes]], checkpoints: dict[int, str], tree_size: int) -> list[bytes]:
    """Header, entry lines and each checkpoint line after the entry that completes its size (no LFs)."""
    lines = [header_line(ORIGIN, tree_size)]
    for index, (chain, leaf) in enumerate(entries):
        lines.append(entry_line(index, chain, leaf))
        if index + 1 in checkpoints:
            lines.append(checkpoint_line(checkpoints[index + 1]))
    return lines


def export_text(lines: Sequence[bytes]) -> str:
    """The export file: each line followed by one LF."""
    return b"".join(line + b"\n" for line in lines).decode("utf-8")


def export_vector(built: Sequence[BuiltEntry]) -> dict[str, Any]:
    """The complete export, how to verify it, and what the verifier reports."""
    checkpoints = notes(built)
    lines = export_lines([(entry.chain, entry.leaf) for entry in built], checkpoints, len(built))
    return {"text": export_text(lines), "operator_verifier_key": note_key_vector()["verifier_key"],
            "trusted_checkpoint": checkpoints[CHECKPOINT_SIZES[0]],
            "expected_report": {"tree_size": len(built), "root": root_from_leaf_hashes(
                [entry.leaf_hash for entry in built]).hex(), "checkpoints_checked": len(checkpoints),
                "authors": 3, "keys": 4, "revoked_keys": 2}}


def bundle_vector(built: Sequence[BuiltEntry]) -> dict[str, Any]:
    """The proof bundle of the last entry of :data:`BUNDLE_ENTRIES` against the final checkpoint."""
    hashes = [entry.leaf_hash for entry in built]
    return {"format": BUNDLE_FORMAT, "checkpoint": notes(built)[len(built)],
            "entries": [{"index": index, "leaf": strict_loads(built[index].leaf),
                         "inclusion": [base64.b64encode(value).decode("ascii")
                                       for value in inclusion_proof(index, hashes)]} for index in BUNDLE_ENTRIES],
            "index": BUNDLE_ENTRIES[-1]}


def batch_bundle_vectors(built: Sequence[BuiltEntry]) -> list[dict[str, Any]]:
    """Batch proof bundles of :data:`BATCH` against the final checkpoint (§11.1, §11.2): the whole history and its
    latest :data:`BATCH_SUFFIX_LATEST` events, each with what a verifier must report; then altered copies, each
    with the error code and the entry the verifier must name (``null`` when none)."""
    history = [entry.index for entry in built if BATCH in entry.signed.statement.links]
    whole = _batch_bundle(built, history)
    latest = history[-BATCH_SUFFIX_LATEST:]
    before = built[history[-BATCH_SUFFIX_LATEST - 1]].signed.statement.hash_hex
    suffix = {**_batch_bundle(built, latest), "previous": before, "earlier": len(history) - len(latest)}
    gap = _batch_bundle(built, history[:1] + history[2:])  # the server leaves out the batch's second event
    passed_off = {name: value for name, value in suffix.items() if name not in ("previous", "earlier")}
    wrong_previous = {**suffix, "previous": built[latest[0]].signed.statement.hash_hex}
    no_earlier = {**suffix, "earlier": 0}
    return [
        _batch_case("whole_history", f"every event of {BATCH}", whole, built, None),
        _batch_case(f"latest_{BATCH_SUFFIX_LATEST}", f"the latest {BATCH_SUFFIX_LATEST} events of {BATCH}: previous "
                    "is the statement hash of the event before them", suffix, built, None),
        _batch_case("event_left_out", "the whole history without its second event (index and entry)", gap, built,
                    ("proof.batch_chain", history[2])),
        _batch_case("suffix_as_whole_history", "the suffix bundle without previous and earlier",
                    passed_off, built, ("proof.batch_chain", latest[0])),
        _batch_case("wrong_previous", "the suffix bundle whose previous is its own first event's hash",
                    wrong_previous, built, ("proof.batch_chain", latest[0])),
        _batch_case("earlier_zero", "the suffix bundle with earlier 0", no_earlier, built, ("proof.malformed", None)),
    ]


def _batch_bundle(built: Sequence[BuiltEntry], indexes: Sequence[int]) -> dict[str, Any]:
    """The batch bundle of ``indexes`` of :data:`BATCH`: those entries, the genesis and the key entries."""
    hashes = [entry.leaf_hash for entry in built]
    shown = sorted({0, *BATCH_KEY_ENTRIES, *indexes})
    return {"format": BATCH_BUNDLE_FORMAT, "checkpoint": notes(built)[len(built)], "ref": BATCH,
            "indexes": list(indexes),
            "entries": [{"index": index, "leaf": strict_loads(built[index].leaf),
                         "inclusion": [base64.b64encode(value).decode("ascii")
                                       for value in inclusion_proof(index, hashes)]} for index in shown]}


def _batch_case(name: str, description: str, bundle: dict[str, Any], built: Sequence[BuiltEntry],
                error: tuple[str, int | None] | None) -> dict[str, Any]:
    if error is not None:
        return {"name": name, "description": description, "bundle": bundle, "expected": None,
                "error_code": error[0], "error_index": error[1]}
    indexes = bundle["indexes"]
    expected = {"ref": bundle["ref"], "tree_size": len(built),
                "root": root_from_leaf_hashes([entry.leaf_hash for entry in built]).hex(), "indexes": indexes,
                "statement_hashes": [built[index].signed.statement.hash_hex for index in indexes],
                "previous": bundle.get("previous"), "earlier": bundle.get("earlier", 0),
                "complete": "previous" not in bundle}
    return {"name": name, "description": description, "bundle": bundle, "expected": expected, "error_code": None,
            "error_index": None}


def negative_vectors(built: Sequence[BuiltEntry], keys: dict[str, Signer]) -> list[dict[str, Any]]:
    """Exports with one defect each, the error code the verifier must report and the entry it must name."""
    leaves = [entry.leaf for entry in built]
    checkpoints = notes(built)
    size = len(built)

    def with_leaf(index: int, leaf: bytes) -> list[bytes]:
        changed = list(leaves)
        changed[index] = leaf
        return export_lines(chained(changed), checkpoints, size)

    intact = export_lines(chained(leaves), checkpoints, size)
    wrong_chain = chained(leaves)
    wrong_chain[3] = (wrong_chain[3][0][:-1] + bytes([wrong_chain[3][0][-1] ^ 1]), wrong_chain[3][1])
    harvest = leaves[2]
    operator = checkpoint_signer()
    return [
        _negative("leaf_member_order", "entry 2's leaf re-serialised with member names sorted by code point "
                  "(Python sort_keys) instead of by UTF-16 code unit: the emoji name moves after the fullwidth one",
                  with_leaf(2, _code_point_sorted(harvest)), "leaf.not_canonical", 2),
        _negative("float_in_statement", 'entry 2\'s "boxes":40 written as 40.0',
                  with_leaf(2, _replace_once(harvest, b'"boxes":40,', b'"boxes":40.0,')), "statement.float", 2),
        _negative("duplicate_member", 'entry 2\'s body holds the member "boxes" twice',
                  with_leaf(2, _replace_once(harvest, b'"boxes":40,', b'"boxes":40,"boxes":40,')),
                  "statement.duplicate_key", 2),
        _negative("wrong_chain_hash", "the last bit of entry 3's chain hash is flipped",
                  export_lines(wrong_chain, checkpoints, size), "verify.chain", 3),
        _negative("bad_signature", "one bit of entry 5's signature is flipped; later chain hashes are recomputed",
                  with_leaf(5, _corrupt_signature(built[5])), "signature.invalid", 5),
        _negative("revoked_key", "entry 5 signed with the enterprise's first key, revoked by the rotation at "
                  "entry 4; later chain hashes are recomputed",
                  with_leaf(5, _signed_with(built[5], keys["enterprise"])), "key.revoked", 5),
        _negative("truncated", "entries 4-6 and the last checkpoint removed; the header still announces 7 entries",
                  intact[:6], "verify.truncated", None),
        _negative("no_final_checkpoint", "the last checkpoint line removed", intact[:-1], "verify.no_checkpoint",
                  None),
        _negative("fork", "intact export, but the trusted checkpoint of size 4 has another root", intact,
                  "verify.fork", 3,
                  sign_checkpoint(operator, ORIGIN, 4, hashlib.sha256(b"another tree").digest())),
        _negative("rollback", "intact export, but the trusted checkpoint has 8 entries", intact, "verify.rollback",
                  None, sign_checkpoint(operator, ORIGIN, 8, hashlib.sha256(b"a longer tree").digest())),
    ]


def _negative(name: str, description: str, lines: Sequence[bytes], code: str, index: int | None,
              trusted: str | None = None) -> dict[str, Any]:
    return {"name": name, "description": description, "export": export_text(lines), "trusted_checkpoint": trusted,
            "error_code": code, "error_index": index}


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) != 1:
        raise ValueError(f"{old!r} occurs {data.count(old)} times")
    return data.replace(old, new)


def _code_point_sorted(leaf: bytes) -> bytes:
    text = json.dumps(json.loads(leaf), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if text.encode("utf-8") == leaf:
        raise ValueError("leaf has no member names whose order differs")
    return text.encode("utf-8")


def _corrupt_signature(entry: BuiltEntry) -> bytes:
    signature = bytes([entry.signed.signature[0] ^ 1]) + entry.signed.signature[1:]
    return encode_leaf(SignedStatement(entry.signed.statement, signature), entry.received)


def _signed_with(entry: BuiltEntry, signer: Signer) -> bytes:
    old = entry.signed.statement
    statement = build_statement(ledger=old.ledger, type=old.type, author=old.author, key=signer.key_id, seq=old.seq,
                                prev=old.prev, time=old.time, body=old.body, links=old.links)
    return encode_leaf(sign_statement(signer, statement), entry.received)


def leaf_cases(keys: dict[str, Signer]) -> list[dict[str, Any]]:
    """Single leaves at the limits of the statement rules, with the code :func:`parse_leaf` must report."""
    signer = keys["enterprise"]
    return [
        _leaf_case(signer, "depth_32_with_escape", "innermost value at nesting level 32 (the statement object is "
                   "level 0); the string holds an escaped control character", _nested(31, "\u0001"),
                   "2025-03-01T00:00:00.000000Z", None),
        _leaf_case(signer, "depth_33", "innermost value at nesting level 33", _nested(32, "x"),
                   "2025-03-01T00:00:00.000000Z", "statement.depth"),
        _leaf_case(signer, "received_without_microseconds", "receive time with no fractional seconds", {},
                   "2025-03-01T00:00:00Z", "leaf.received"),
    ]


def _nested(levels: int, innermost: str) -> dict[str, Any]:
    value: Any = innermost
    for _ in range(levels):
        value = {"d": value}
    return dict(value)


def _leaf_case(signer: Signer, name: str, description: str, body: dict[str, Any], received: str,
               code: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"v": 1, "ledger": ORIGIN, "type": "example.note", "author": signer.author,
                              "key": signer.key_id, "seq": 1, "prev": None, "links": {},
                              "time": "2025-03-01T08:00:00+08:00", "body": body}
    statement = rfc8785.dumps(fields)  # the reference implementation: it does not apply the ledger's limits
    signature = base64.b64encode(signer.sign(SIGNATURE_TAG + statement))
    leaf = b'{"received":"%s","signature":"%s","statement":%s}' % (received.encode("ascii"), signature, statement)
    return {"name": name, "description": description, "leaf": leaf.decode("utf-8"), "error_code": code}


def build_vectors() -> dict[str, Any]:
    """Every vector, in the order of the JSON file."""
    keys = signers()
    built = build_ledger(keys)
    return {
        "about": "Test vectors for docs/ledger-format.md, written by tests/vectors/make_ledger_vectors.py; do not "
                 "edit by hand. The seeds are public: TEST-ONLY keys.",
        "origin": ORIGIN,
        "keys": key_vectors(keys),
        "operator_note_key": note_key_vector(),
        "canonical_json": canonical_vectors(),
        "entries": entry_vectors(built),
        "merkle": merkle_vectors(built),
        "checkpoints": checkpoint_vectors(built),
        "export": export_vector(built),
        "proof_bundle": bundle_vector(built),
        "batch_bundles": batch_bundle_vectors(built),
        "negative_exports": negative_vectors(built, keys),
        "leaf_cases": leaf_cases(keys),
    }


def render(vectors: dict[str, Any]) -> str:
    """The JSON file's text: UTF-8, two-space indent, non-ASCII characters unescaped, final LF."""
    return json.dumps(vectors, ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    VECTORS_FILE.write_text(render(build_vectors()), encoding="utf-8")
    print(f"wrote {VECTORS_FILE}")


if __name__ == "__main__":
    main()
