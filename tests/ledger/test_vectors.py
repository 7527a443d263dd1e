"""The ledger test vectors (tests/vectors/ledger_vectors.json, docs/ledger-format.md §12).

Every value is recomputed from the seeds and inputs, once with the library and, where the document gives a formula,
once more from the formula with hashlib alone; the export verifies and each negative export is refused with its
documented error code and entry; and the committed file is exactly what the generator writes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from ledger import (
    ProofError,
    VerificationError,
    open_checkpoint,
    parse_verifier_key,
    verify_batch_bundle,
    verify_entry_bundle,
    verify_export_lines,
)
from ledger.canonical import canonicalize, strict_loads
from ledger.checkpoint import checkpoint_body, note_key_id, sign_checkpoint, verifier_key
from ledger.errors import StatementError
from ledger.export import checkpoint_line, entry_line, header_line
from ledger.keys import Signer, encode_public_key, key_id, verify_signature
from ledger.merkle import (
    MerkleAccumulator,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from ledger.statements import build_statement, encode_leaf, entry_chain_hash, parse_leaf, sign_statement
from tests.vectors.make_ledger_vectors import VECTORS_FILE, build_vectors, render

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "ledger-format.md"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
ORIGIN: str = VECTORS["origin"]
ENTRIES: list[dict[str, Any]] = VECTORS["entries"]
LEAF_HASHES = [bytes.fromhex(entry["leaf_hash"]) for entry in ENTRIES]

# The constants as docs/ledger-format.md states them, independent of the library's own.
KEY_ID_TAG = b"trace-ledger/v1/key-id\x00"
STATEMENT_HASH_TAG = b"trace-ledger/v1/statement-hash\x00"
SIGNATURE_TAG = b"trace-ledger/v1/statement-signature\x00"
CHAIN_TAG = b"trace-ledger/v1/chain\x00"


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _lines(text: str) -> list[bytes]:
    return io.BytesIO(text.encode("utf-8")).readlines()


def _signer(name: str) -> Signer:
    item = VECTORS["keys"][name]
    return Signer.from_seed(item["author"], bytes.fromhex(item["seed_hex"]))


def _operator_key() -> Any:
    return parse_verifier_key(VECTORS["export"]["operator_verifier_key"])


def _mth(hashes: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, written out recursively from the RFC."""
    if not hashes:
        return _sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    split = 1 << ((len(hashes) - 1).bit_length() - 1)
    return _sha256(b"\x01" + _mth(hashes[:split]) + _mth(hashes[split:]))


def test_committed_vectors_are_what_the_generator_writes() -> None:
    assert VECTORS_FILE.read_text(encoding="utf-8") == render(build_vectors()), \
        "run .venv/bin/python -m tests.vectors.make_ledger_vectors and review the diff"


def test_values_quoted_in_the_document_are_vector_values() -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    hex_values = re.findall(r"(?<![0-9a-f])(?:[0-9a-f]{128}|[0-9a-f]{64}|[0-9a-f]{16})(?![0-9a-f])", document)
    base64_values = re.findall(r"(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]{91}=|[A-Za-z0-9+/]{86}==|[A-Za-z0-9+/]{43}=)",
                               document)
    assert len(hex_values) > 10 and len(base64_values) > 5
    vectors = VECTORS_FILE.read_text(encoding="utf-8")
    assert [value for value in hex_values + base64_values if value not in vectors] == []


def test_json_lines_quoted_in_the_document_are_vector_values() -> None:
    blocks = re.findall(r"^```\n(.*?)^```$", DOCUMENT.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    quoted = [line for block in blocks for line in block.splitlines()
              if line.startswith('{"') and "…" not in line and "<" not in line]
    assert len(quoted) >= 4
    strings = "\n".join(_strings(VECTORS))
    assert [line for line in quoted if line not in strings] == []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    members = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for member in members for text in _strings(member)]


@pytest.mark.parametrize("name", sorted(VECTORS["keys"]))
def test_key(name: str) -> None:
    item = VECTORS["keys"][name]
    public = _signer(name).public_key
    assert public.hex() == item["public_key_hex"]
    assert encode_public_key(public) == item["public_key_base64"] == base64.b64encode(public).decode()
    assert bytes.fromhex(item["key_id_input_hex"]) == KEY_ID_TAG + public
    assert key_id(public) == item["key_id"] == _sha256(KEY_ID_TAG + public)[:8].hex()


def test_operator_note_key() -> None:
    item = VECTORS["operator_note_key"]
    public = _signer("operator").public_key
    signed_note_input = ORIGIN.encode() + b"\n\x01" + public
    assert bytes.fromhex(item["key_id_input_hex"]) == signed_note_input
    assert note_key_id(ORIGIN, public).hex() == item["key_id_hex"] == _sha256(signed_note_input)[:4].hex()
    encoded = base64.b64encode(b"\x01" + public).decode()
    text = f"{ORIGIN}+{item['key_id_hex']}+{encoded}"
    assert verifier_key(ORIGIN, public).text() == item["verifier_key"] == text
    assert parse_verifier_key(text) == verifier_key(ORIGIN, public)


@pytest.mark.parametrize("case", VECTORS["canonical_json"]["accepted"], ids=lambda case: case["name"])
def test_canonical_json(case: dict[str, Any]) -> None:
    canonical = canonicalize(strict_loads(case["input"].encode("utf-8")))
    assert canonical == case["canonical"].encode("utf-8") == bytes.fromhex(case["canonical_hex"])
    assert canonical == rfc8785.dumps(json.loads(case["input"]))


@pytest.mark.parametrize("case", VECTORS["canonical_json"]["refused"], ids=lambda case: case["name"])
def test_refused_json(case: dict[str, Any]) -> None:
    with pytest.raises(StatementError) as error:
        strict_loads(case["input"].encode("utf-8"))
    assert error.value.code == case["error_code"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: f"entry{entry['index']}")
def test_entry(entry: dict[str, Any]) -> None:
    fields = dict(entry["statement"])
    assert fields.pop("v") == 1
    statement = build_statement(**fields)
    canonical = statement.canonical
    assert canonical == entry["canonical"].encode("utf-8") == bytes.fromhex(entry["canonical_hex"])
    assert canonical == rfc8785.dumps(entry["statement"])
    assert statement.hash.hex() == entry["statement_hash"] == _sha256(STATEMENT_HASH_TAG + canonical).hex()
    message = statement.signing_message()
    assert message.hex() == entry["signing_message_hex"] and message == SIGNATURE_TAG + canonical

    signer = _signer(entry["signer"])
    signed = sign_statement(signer, statement)
    assert signed.signature_b64 == entry["signature_base64"]
    assert signed.signature.hex() == entry["signature_hex"]
    verify_signature(signer.public_key, signed.signature, message)

    leaf = encode_leaf(signed, entry["received"])
    assert leaf == entry["leaf"].encode("utf-8") == bytes.fromhex(entry["leaf_hex"])
    assert leaf == rfc8785.dumps({"received": entry["received"], "signature": entry["signature_base64"],
                                  "statement": entry["statement"]})
    assert parse_leaf(leaf).statement == statement
    assert leaf_hash(leaf).hex() == entry["leaf_hash"] == _sha256(b"\x00" + leaf).hex()

    previous, index = bytes.fromhex(entry["previous_chain_hash"]), entry["index"]
    chain = entry_chain_hash(previous, index, leaf_hash(leaf))
    assert chain.hex() == entry["chain_hash"]
    assert chain == _sha256(CHAIN_TAG + previous + index.to_bytes(8, "big") + leaf_hash(leaf))
    assert entry_line(index, chain, leaf).decode("utf-8") == entry["export_line"]


def test_entries_chain_from_32_zero_bytes() -> None:
    previous = [entry["previous_chain_hash"] for entry in ENTRIES]
    assert previous == ["00" * 32] + [entry["chain_hash"] for entry in ENTRIES[:-1]]
    assert [entry["index"] for entry in ENTRIES] == list(range(len(ENTRIES)))


def test_merkle_roots() -> None:
    accumulator = MerkleAccumulator()
    for item in VECTORS["merkle"]["roots"]:
        size, root = item["size"], item["root"]
        assert accumulator.size == size
        assert root_from_leaf_hashes(LEAF_HASHES[:size]).hex() == accumulator.root().hex() == root
        assert _mth(LEAF_HASHES[:size]).hex() == root
        if size < len(LEAF_HASHES):
            accumulator.add(LEAF_HASHES[size])


@pytest.mark.parametrize("case", VECTORS["merkle"]["inclusion"],
                         ids=lambda case: f"{case['index']}-{case['tree_size']}")
def test_inclusion_proof(case: dict[str, Any]) -> None:
    index, size = case["index"], case["tree_size"]
    proof = inclusion_proof(index, LEAF_HASHES[:size])
    assert [value.hex() for value in proof] == case["proof"]
    assert [list(pair) for pair in inclusion_ranges(index, size)] == case["ranges"]
    assert [_mth(LEAF_HASHES[a:b]) for a, b in case["ranges"]] == proof
    assert LEAF_HASHES[index].hex() == case["leaf_hash"] and _mth(LEAF_HASHES[:size]).hex() == case["root"]
    verify_inclusion(LEAF_HASHES[index], index, size, proof, bytes.fromhex(case["root"]))


@pytest.mark.parametrize("case", VECTORS["merkle"]["consistency"],
                         ids=lambda case: f"{case['old_size']}-{case['new_size']}")
def test_consistency_proof(case: dict[str, Any]) -> None:
    old, new = case["old_size"], case["new_size"]
    proof = consistency_proof(old, LEAF_HASHES[:new])
    assert [value.hex() for value in proof] == case["proof"]
    assert [list(pair) for pair in consistency_ranges(old, new)] == case["ranges"]
    assert [_mth(LEAF_HASHES[a:b]) for a, b in case["ranges"]] == proof
    assert _mth(LEAF_HASHES[:old]).hex() == case["old_root"] and _mth(LEAF_HASHES[:new]).hex() == case["new_root"]
    verify_consistency(old, new, proof, bytes.fromhex(case["old_root"]), bytes.fromhex(case["new_root"]))


@pytest.mark.parametrize("case", VECTORS["checkpoints"], ids=lambda case: f"size{case['size']}")
def test_checkpoint(case: dict[str, Any]) -> None:
    size, root = case["size"], bytes.fromhex(case["root_hex"])
    assert root == _mth(LEAF_HASHES[:size]) and base64.b64encode(root).decode() == case["root_base64"]
    text = checkpoint_body(ORIGIN, size, root)
    assert text == case["signed_text"] == f"{ORIGIN}\n{size}\n{case['root_base64']}\n"
    signer = Signer.from_seed(ORIGIN, bytes.fromhex(VECTORS["keys"]["operator"]["seed_hex"]))
    signature = bytes.fromhex(case["signature_hex"])
    assert signer.sign(text.encode("utf-8")) == signature
    key_id_bytes = bytes.fromhex(case["key_id_hex"])
    note = f"{text}\n\u2014 {ORIGIN} {base64.b64encode(key_id_bytes + signature).decode()}\n"
    assert sign_checkpoint(signer, ORIGIN, size, root) == case["note"] == note
    opened = open_checkpoint(note, _operator_key())
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, size, root)


def test_export_lines_are_the_documented_lines() -> None:
    lines = [line.rstrip(b"\n") for line in _lines(VECTORS["export"]["text"])]
    notes = {case["size"]: case["note"] for case in VECTORS["checkpoints"]}
    expected = [header_line(ORIGIN, len(ENTRIES))]
    for entry in ENTRIES:
        expected.append(entry["export_line"].encode("utf-8"))
        if entry["index"] + 1 in notes:
            expected.append(checkpoint_line(notes[entry["index"] + 1]))
    assert lines == expected
    assert lines[0] == f'{{"format":"trace-ledger-export/1","origin":"{ORIGIN}","tree_size":{len(ENTRIES)}}}'.encode()


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_export_verifies(trusted: bool) -> None:
    vector = VECTORS["export"]
    key = _operator_key()
    checkpoint = open_checkpoint(vector["trusted_checkpoint"], key) if trusted else None
    report = verify_export_lines(_lines(vector["text"]), key, trusted=checkpoint)
    expected = vector["expected_report"]
    assert (report.tree_size, report.root.hex(), report.checkpoints_checked) == \
        (expected["tree_size"], expected["root"], expected["checkpoints_checked"])
    assert (report.authors, report.keys, report.revoked_keys) == \
        (expected["authors"], expected["keys"], expected["revoked_keys"])
    assert report.trusted_size == (checkpoint.size if checkpoint else None)


@pytest.mark.parametrize("case", VECTORS["negative_exports"], ids=lambda case: case["name"])
def test_negative_export(case: dict[str, Any]) -> None:
    key = _operator_key()
    trusted = open_checkpoint(case["trusted_checkpoint"], key) if case["trusted_checkpoint"] else None
    with pytest.raises(VerificationError) as error:
        verify_export_lines(_lines(case["export"]), key, trusted=trusted)
    assert (error.value.code, error.value.index) == (case["error_code"], case["error_index"])


def test_proof_bundle() -> None:
    bundle = VECTORS["proof_bundle"]
    checkpoint = open_checkpoint(bundle["checkpoint"], _operator_key())
    assert checkpoint.size == len(ENTRIES)
    for item in bundle["entries"]:
        index = item["index"]
        assert canonicalize(item["leaf"]) == ENTRIES[index]["leaf"].encode("utf-8")
        proof = [base64.b64decode(value) for value in item["inclusion"]]
        assert proof == inclusion_proof(index, LEAF_HASHES)
    verified = verify_entry_bundle(bundle, _operator_key())
    target = ENTRIES[bundle["index"]]
    assert (verified.index, verified.leaf.statement.hash_hex) == (target["index"], target["statement_hash"])


@pytest.mark.parametrize("case", VECTORS["batch_bundles"], ids=lambda case: case["name"])
def test_batch_bundle(case: dict[str, Any]) -> None:
    bundle = case["bundle"]
    for item in bundle["entries"]:
        assert canonicalize(item["leaf"]) == ENTRIES[item["index"]]["leaf"].encode("utf-8")
        assert [base64.b64decode(value) for value in item["inclusion"]] == inclusion_proof(item["index"], LEAF_HASHES)
    if case["error_code"] is not None:
        with pytest.raises(ProofError) as error:
            verify_batch_bundle(bundle, _operator_key())
        assert error.value.code == case["error_code"]
        if case["error_index"] is not None:
            assert error.value.message.startswith(f"entry {case['error_index']} ")
        return
    verified = verify_batch_bundle(bundle, _operator_key())
    expected = case["expected"]
    assert (verified.ref, verified.previous, verified.earlier, verified.complete) == \
        (expected["ref"], expected["previous"], expected["earlier"], expected["complete"])
    assert [entry.index for entry in verified] == expected["indexes"]
    assert [entry.leaf.statement.hash_hex for entry in verified] == expected["statement_hashes"]
    assert [ENTRIES[index]["statement_hash"] for index in expected["indexes"]] == expected["statement_hashes"]
    assert {(entry.checkpoint.size, entry.checkpoint.root.hex()) for entry in verified} == \
        {(expected["tree_size"], expected["root"])}
    if not verified.complete:  # previous is the hash of the batch's event just before the listed ones
        history = [entry["index"] for entry in ENTRIES if expected["ref"] in entry["statement"]["links"]]
        before = history[history.index(expected["indexes"][0]) - 1]
        assert expected["previous"] == ENTRIES[before]["statement_hash"]
        assert expected["earlier"] == history.index(expected["indexes"][0])


@pytest.mark.parametrize("case", VECTORS["leaf_cases"], ids=lambda case: case["name"])
def test_leaf_case(case: dict[str, Any]) -> None:
    leaf = case["leaf"].encode("utf-8")
    if case["error_code"] is None:
        parsed = parse_leaf(leaf)
        fields = strict_loads(parsed.statement.canonical)
        fields.pop("v")
        assert build_statement(**fields).canonical == parsed.statement.canonical
        return
    with pytest.raises(StatementError) as error:
        parse_leaf(leaf)
    assert error.value.code == case["error_code"]


def test_command_line_verifier_accepts_the_export(tmp_path: Path) -> None:
    export, key_file = tmp_path / "vectors.export", tmp_path / "operator.key"
    export.write_text(VECTORS["export"]["text"], encoding="utf-8")
    key_file.write_text(VECTORS["export"]["operator_verifier_key"] + "\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACE_")}
    result = subprocess.run([sys.executable, "-m", "trace", "verify", str(export), "--operator-key", str(key_file),
                             "--quiet", "--no-custody"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert f"INTACT: ledger {ORIGIN}, {len(ENTRIES)} entries" in result.stdout
