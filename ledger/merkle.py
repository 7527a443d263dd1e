"""RFC 9162 Merkle tree hashing, proofs and their verification.

Leaves hash as SHA-256(0x00 || data) and nodes as SHA-256(0x01 || left || right) (RFC 9162 §2.1.1). The tree of
``n`` leaves splits at the largest power of two smaller than ``n``, so every proof element is the hash of a range
``[start, end)`` of leaves whose start is aligned to the largest power of two not above its length. Such a range
is a run of complete subtrees, which storage keeps once each: :func:`inclusion_ranges`,
:func:`consistency_ranges` and :func:`range_subtrees` let a store answer any proof from O(log n) stored nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

from .errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]
Node = tuple[int, int]  # (level, index): the complete subtree over leaves [index << level, (index + 1) << level)


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right); raises :class:`ProofError` unless both are 32 bytes."""
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise ProofError(f"node hashes must be {HASH_SIZE} bytes, found {len(left)} and {len(right)}",
                         code="proof.hash_size")
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1 over already-hashed leaves; the empty tree's root is SHA-256("")."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    for value in level:
        if len(value) != HASH_SIZE:
            raise ProofError(f"leaf hashes must be {HASH_SIZE} bytes, found {len(value)}", code="proof.hash_size")
    # Pairing left to right and promoting a lone last node unchanged gives exactly MTH's split-at-power-of-two.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose hashes form PATH(index, D[size]) (RFC 9162 §2.1.3.1), in proof order."""
    _check_index(index, size)
    ranges: list[Range] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The leaf ranges whose hashes form PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1), in proof order.

    Empty when ``old_size`` is 0 or equals ``new_size``.
    """
    _check_sizes(old_size, new_size)
    if old_size == 0 or old_size == new_size:
        return []
    ranges: list[Range] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def range_subtrees(start: int, end: int) -> list[Node]:
    """Decompose an aligned leaf range into its complete subtrees, largest (leftmost) first.

    Raises :class:`ProofError` for a range that no proof or root ever asks for (empty or misaligned).
    """
    size = end - start
    if size <= 0 or start < 0:
        raise ProofError(f"empty leaf range [{start}, {end})", code="proof.range")
    nodes: list[Node] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if position % (1 << level):
                raise ProofError(f"leaf range [{start}, {end}) is not aligned", code="proof.range")
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of :func:`range_subtrees` (largest first) into the range's MTH."""
    if not hashes:
        raise ProofError("no subtree hashes to combine", code="proof.range")
    result = hashes[-1]
    for value in reversed(hashes[:-1]):
        result = node_hash(value, result)
    return result


def hash_ranges(ranges: Sequence[Range], lookup: Callable[[Sequence[Node]], dict[Node, bytes]]) -> list[bytes]:
    """Hash each range from stored subtrees; ``lookup`` receives every node needed at once and returns them."""
    plans = [range_subtrees(start, end) for start, end in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    found = lookup(wanted)
    missing = [node for node in wanted if node not in found]
    if missing:
        raise ProofError(f"tree store lacks subtrees {missing[:4]}", code="proof.store")
    return [fold_subtrees([found[node] for node in plan]) for plan in plans]


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) computed from all leaf hashes in memory (reference implementation and tests)."""
    return [root_from_leaf_hashes(hashes[a:b]) for a, b in inclusion_ranges(index, len(hashes))]


def consistency_proof(old_size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) computed from all leaf hashes in memory (reference implementation and tests)."""
    return [root_from_leaf_hashes(hashes[a:b]) for a, b in consistency_ranges(old_size, len(hashes))]


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Verify an inclusion proof as RFC 9162 §2.1.3.2 specifies.

    Returns nothing when ``proof`` proves ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` leaves
    with ``root``; raises :class:`ProofError` for any invalid input, and never another exception type.
    """
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    if not _is_size(index) or not _is_size(tree_size):
        raise ProofError(f"index and tree size must be non-negative integers, found {index!r} and {tree_size!r}",
                         code="proof.size")
    # Step 1: the index must lie inside the tree.
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is not below tree size {tree_size}", code="proof.size")
    path = _checked_path(proof, len(inclusion_ranges(index, tree_size)))
    # Steps 2-3.
    fn, sn, r = index, tree_size - 1, leaf_hash
    # Step 4.
    for p in path:
        if sn == 0:  # 4a (unreachable after the length check, kept as the RFC states it)
            raise ProofError("inclusion proof has more elements than the tree needs", code="proof.length")
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise ProofError("inclusion proof has fewer elements than the tree needs", code="proof.length")
    if r != root:
        raise ProofError(f"inclusion proof leads to root {r.hex()}, expected {root.hex()}", code="proof.root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Verify a consistency proof as RFC 9162 §2.1.4.2 specifies.

    Returns nothing when the tree of ``size2`` leaves with ``root2`` extends the tree of ``size1`` leaves with
    ``root1``; raises :class:`ProofError` for any invalid input, and never another exception type.
    """
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    if not _is_size(size1) or not _is_size(size2):
        raise ProofError(f"tree sizes must be non-negative integers, found {size1!r} and {size2!r}",
                         code="proof.size")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than second tree size {size2}", code="proof.size")
    path = _checked_path(proof, len(consistency_ranges(size1, size2)))
    if size1 == size2:
        if root1 != root2:
            raise ProofError(f"trees of equal size {size1} have different roots {root1.hex()} and {root2.hex()}",
                             code="proof.root")
        return
    if size1 == 0:
        return  # every tree extends the empty tree; the proof is empty
    # Step 1 is the length check above. Step 2.
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:  # 6a
            raise ProofError("consistency proof has more elements than the trees need", code="proof.length")
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError("consistency proof has fewer elements than the trees need", code="proof.length")
    if fr != root1:
        raise ProofError(f"consistency proof leads to first root {fr.hex()}, expected {root1.hex()}",
                         code="proof.root")
    if sr != root2:
        raise ProofError(f"consistency proof leads to second root {sr.hex()}, expected {root2.hex()}",
                         code="proof.root")


class MerkleAccumulator:
    """Streams leaf hashes and keeps only the O(log n) roots of the complete subtrees on the right edge."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []  # (level, hash), largest first

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[tuple[Node, bytes]]) -> MerkleAccumulator:
        """Resume from the stored right-edge subtrees of a tree of ``size`` leaves (largest first)."""
        if sum(1 << level for (level, _), _ in peaks) != size:
            raise ProofError(f"right-edge subtrees do not add up to {size} leaves", code="proof.store")
        accumulator = cls()
        accumulator.size = size
        accumulator._peaks = [(level, value) for (level, _), value in peaks]
        return accumulator

    def append(self, leaf: bytes) -> Iterator[tuple[Node, bytes]]:
        """Add one leaf hash and yield each complete subtree of level >= 1 it closes, as ((level, index), hash).

        The generator must be consumed for the accumulator to advance past the closed subtrees.
        """
        index = self.size
        self.size += 1
        level, value = 0, leaf
        while self._peaks and self._peaks[-1][0] == level:
            _, left = self._peaks.pop()
            value = node_hash(left, value)
            level += 1
            yield (level, index >> level), value
        self._peaks.append((level, value))

    def add(self, leaf: bytes) -> None:
        """:meth:`append` without the closed subtrees."""
        for _ in self.append(leaf):
            pass

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        return fold_subtrees([value for _, value in self._peaks])


def _checked_path(proof: Sequence[bytes], expected: int) -> list[bytes]:
    try:
        path = list(proof)
    except TypeError:
        raise ProofError("proof must be a sequence of hashes", code="proof.malformed") from None
    if len(path) != expected:
        raise ProofError(f"proof has {len(path)} elements, the tree sizes need exactly {expected}",
                         code="proof.length")
    for position, value in enumerate(path):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ProofError(f"proof element {position} is not a {HASH_SIZE}-byte hash", code="proof.hash_size")
    return path


def _check_hash(value: object, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be a {HASH_SIZE}-byte hash", code="proof.hash_size")


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_index(index: int, size: int) -> None:
    if not _is_size(index) or not _is_size(size) or index >= size:
        raise ProofError(f"leaf index {index!r} is not inside a tree of {size!r} leaves", code="proof.size")


def _check_sizes(old_size: int, new_size: int) -> None:
    if not _is_size(old_size) or not _is_size(new_size) or old_size > new_size:
        raise ProofError(f"tree sizes {old_size!r} and {new_size!r} are not 0 <= old <= new", code="proof.size")
