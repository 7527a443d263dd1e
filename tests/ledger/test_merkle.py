"""RFC 9162 Merkle tree: known roots, proofs against a naive reference, and every kind of bad proof."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# The certificate-transparency test leaves and roots (RFC 6962 / RFC 9162 hashing).
LEAVES = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def _mth(hashes: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it, recursively."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if m < k:
        return _path(m, hashes[:k]) + [_mth(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_mth(hashes[:k])]


def _subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    if m == len(hashes):
        return [] if complete else [_mth(hashes)]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if m <= k:
        return _subproof(m, hashes[:k], complete) + [_mth(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [_mth(hashes[:k])]


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_known_roots() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    for size, expected in enumerate(ROOTS, start=1):
        assert root_from_leaf_hashes(HASHES[:size]).hex() == expected


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(bytes(32), bytes(32)) == hashlib.sha256(b"\x01" + bytes(64)).digest()


@pytest.mark.parametrize("size", range(1, 40))
def test_proofs_match_the_rfc_recursion_and_verify(size: int) -> None:
    hashes = _leaves(size)
    root = root_from_leaf_hashes(hashes)
    assert root == _mth(hashes)
    for index in range(size):
        proof = inclusion_proof(index, hashes)
        assert proof == _path(index, hashes)
        verify_inclusion(hashes[index], index, size, proof, root)
    for old in range(1, size + 1):
        proof = consistency_proof(old, hashes)
        assert proof == _subproof(old, hashes, True)
        verify_consistency(old, size, proof, root_from_leaf_hashes(hashes[:old]), root)


def test_accumulator_matches_root_and_emits_every_complete_subtree() -> None:
    accumulator = MerkleAccumulator()
    emitted = []
    hashes = _leaves(37)
    for position, value in enumerate(hashes):
        emitted.extend(accumulator.append(value))
        assert accumulator.root() == root_from_leaf_hashes(hashes[: position + 1])
    assert len(emitted) == sum(37 >> level for level in range(1, 6))
    for (level, position), value in emitted:
        assert value == root_from_leaf_hashes(hashes[position << level:(position + 1) << level])


def test_inclusion_tampering_is_refused_with_the_precise_code() -> None:
    hashes = _leaves(13)
    root = root_from_leaf_hashes(hashes)
    proof = inclusion_proof(5, hashes)
    for position in range(len(proof)):
        for bit in (0, 7):
            bad = list(proof)
            bad[position] = bytes([bad[position][0] ^ (1 << bit)]) + bad[position][1:]
            with pytest.raises(ProofError) as error:
                verify_inclusion(hashes[5], 5, 13, bad, root)
            assert error.value.code == "proof.root"
    cases = [
        ((hashes[5], 5, 13, proof + [proof[0]], root), "proof.length"),
        ((hashes[5], 5, 13, proof[:-1], root), "proof.length"),
        ((hashes[5], 13, 13, proof, root), "proof.size"),
        ((hashes[5], -1, 13, proof, root), "proof.size"),
        ((hashes[5], 5, 6, proof, root), "proof.length"),
        ((hashes[6], 5, 13, proof, root), "proof.root"),
        ((hashes[5][:31], 5, 13, proof, root), "proof.hash_size"),
        ((hashes[5], 5, 13, proof, root + b"\x00"), "proof.hash_size"),
        ((hashes[5], 5, 13, [*proof[:-1], "not bytes"], root), "proof.hash_size"),
        ((hashes[5], 5, 13, None, root), "proof.malformed"),
        ((hashes[5], True, 13, proof, root), "proof.size"),
    ]
    for arguments, code in cases:
        with pytest.raises(ProofError) as error:
            verify_inclusion(*arguments)  # type: ignore[arg-type]
        assert error.value.code == code, arguments[1:3]


def test_consistency_tampering_is_refused_with_the_precise_code() -> None:
    hashes = _leaves(21)
    old_root, new_root = root_from_leaf_hashes(hashes[:6]), root_from_leaf_hashes(hashes)
    proof = consistency_proof(6, hashes)
    for position in range(len(proof)):
        bad = list(proof)
        bad[position] = bytes(32)
        with pytest.raises(ProofError) as error:
            verify_consistency(6, 21, bad, old_root, new_root)
        assert error.value.code == "proof.root"
    cases = [
        ((6, 21, proof + [bytes(32)], old_root, new_root), "proof.length"),
        ((6, 21, proof[1:], old_root, new_root), "proof.length"),
        ((21, 6, proof, old_root, new_root), "proof.size"),
        ((6, 21, proof, new_root, new_root), "proof.root"),
        ((6, 21, proof, old_root, old_root), "proof.root"),
        ((6, 6, [], old_root, new_root), "proof.root"),
        ((6, 6, [old_root], old_root, old_root), "proof.length"),
        ((0, 21, [bytes(32)], EMPTY_ROOT, new_root), "proof.length"),
        ((6, 21, proof, old_root[:5], new_root), "proof.hash_size"),
        ((-1, 21, proof, old_root, new_root), "proof.size"),
    ]
    for arguments, code in cases:
        with pytest.raises(ProofError) as error:
            verify_consistency(*arguments)  # type: ignore[arg-type]
        assert error.value.code == code, arguments[:2]
    verify_consistency(0, 21, [], EMPTY_ROOT, new_root)
    verify_consistency(21, 21, [], new_root, new_root)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_random_proofs_verify_and_never_raise_another_exception_type(size: int, data: st.DataObject) -> None:
    hashes = _leaves(size)
    root = root_from_leaf_hashes(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    old = data.draw(st.integers(min_value=1, max_value=size))
    verify_inclusion(hashes[index], index, size, inclusion_proof(index, hashes), root)
    verify_consistency(old, size, consistency_proof(old, hashes), root_from_leaf_hashes(hashes[:old]), root)
    junk = data.draw(st.lists(st.binary(min_size=0, max_size=33), max_size=12))
    claimed = data.draw(st.integers(min_value=-2, max_value=size + 2))
    try:
        verify_inclusion(hashes[index], claimed, size, junk, root)
    except ProofError:
        pass
    try:
        verify_consistency(claimed, size, junk, root, root)
    except ProofError:
        pass
