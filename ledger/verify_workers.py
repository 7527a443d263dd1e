"""The verifier's order-free work, done a chunk of entries at a time in worker processes.

Parsing a leaf (step 1) and checking its signature (step 3) depend only on the entry's bytes and on a public key,
so they run in parallel; everything that depends on order (which key is valid at an index, the ledger rules, the
chain, the Merkle tree, checkpoints) stays in the verifier's own process. Processes rather than threads: the
parsing is Python code, and threads running it wait on one another for the GIL.

A worker checks each signature under the key that the statement names, looked up in its copy of the key table
(the keys the main process had registered when it sent the chunk; a key id always names the same key). The main
process accepts that result only when the key it finds valid at the entry's index is byte for byte the key the
worker used, and checks the signature itself otherwise, so a worker can never make a signature pass that the
in-order rules would refuse.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from .errors import LedgerError, SignatureError
from .keys import verify_signature
from .merkle import leaf_hash
from .statements import Leaf, SignedStatement, Statement, parse_leaf

# One checked leaf: the parsed leaf, its leaf hash, the public key its signature was checked with (None when the
# key was not in the table) and whether the signature verified under it.
Checked = tuple[Leaf, bytes, bytes | None, bool]
# The same as it crosses the process boundary: the statement's canonical bytes and hash, the signature, the
# receive time, then the last three members of Checked. Bytes and strings only: pickling the statement's parsed
# fields (its body above all) cost about 8 us per entry, re-reading them from the canonical bytes about 3 us.
Wire = tuple[bytes, bytes, bytes, str, bytes, bytes | None, bool]
# A chunk's outcome: the checked leaves in order, and the (code, message) of the leaf after them that does not
# parse, if one does not (the worker stops there: nothing after it can be reported).
ChunkResult = tuple[list[Wire], tuple[str, str] | None]
SignatureJob = tuple[int, bytes, bytes, bytes]  # (index, public key, signature, message)

_POLL_SECONDS = 1.0


def check_leaves(keys: Mapping[str, bytes], leaves: Iterable[bytes]) -> Iterator[Checked | tuple[str, str]]:
    """Parse each leaf and check its signature under ``keys[statement.key]`` when that key is known.

    Yields one :data:`Checked` tuple per leaf; for a leaf that does not parse, yields ``(code, message)`` and
    stops. ``keys`` is read at each leaf, so a live table gives in-order lookups.
    """
    for data in leaves:
        try:
            leaf = parse_leaf(data)
        except LedgerError as exc:
            yield exc.code, exc.message
            return
        statement = leaf.signed.statement
        public = keys.get(statement.key)
        verified = False
        if public is not None:
            try:
                verify_signature(public, leaf.signed.signature, statement.signing_message())
                verified = True
            except SignatureError:
                pass
        yield leaf, leaf_hash(data), public, verified


def to_wire(checked: Checked) -> Wire:
    """The compact form of ``checked`` that a worker sends back."""
    leaf, hashed, public, verified = checked
    statement = leaf.signed.statement
    return statement.canonical, statement.hash, leaf.signed.signature, leaf.received, hashed, public, verified


def from_wire(wire: Wire, data: bytes) -> Checked:
    """The :data:`Checked` that a worker made from the leaf bytes ``data`` and sent as ``wire``.

    The statement's fields are read back from its canonical bytes without the checks again: the worker's
    :func:`parse_leaf` has passed these very bytes, so any JSON parser gives the values it validated.
    """
    canonical, statement_hash, signature, received, hashed, public, verified = wire
    fields = orjson.loads(canonical)
    statement = Statement(fields["ledger"], fields["type"], fields["author"], fields["key"], fields["seq"],
                          fields["prev"], fields["links"], fields["time"], fields["body"], canonical, statement_hash)
    return Leaf(SignedStatement(statement, signature), received, data), hashed, public, verified


def bad_signatures(jobs: list[SignatureJob]) -> list[int]:
    """The indexes of the jobs whose signature does not verify, in job order."""
    bad: list[int] = []
    for index, public, signature, message in jobs:
        try:
            verify_signature(public, signature, message)
        except SignatureError:
            bad.append(index)
    return bad


def _check_chunk(keys: Mapping[str, bytes], leaves: list[bytes]) -> ChunkResult:
    checked: list[Wire] = []
    for item in check_leaves(keys, leaves):
        if len(item) == 2:
            return checked, (item[0], item[1])
        checked.append(to_wire(item))
    return checked, None


def _work(tasks: Any, results: Any) -> None:
    """A worker's loop: ``(kind, new keys, payload)`` tasks in, their results out, in order, until ``None``."""
    keys: dict[str, bytes] = {}
    while True:
        task = tasks.get()
        if task is None:
            return
        kind, new_keys, payload = task
        keys.update(new_keys)
        try:
            results.put(("ok", _check_chunk(keys, payload) if kind == "leaves" else bad_signatures(payload)))
        except Exception as exc:  # noqa: BLE001 - reported to the main process, which raises it
            results.put(("crash", f"{type(exc).__name__}: {exc}"))


class WorkerPool:
    """``count`` worker processes fed round-robin; results are taken back strictly in submission order.

    Each worker has its own task and result queue (queues, not pipes: a full pipe in both directions would
    deadlock), and receives with each task only the keys registered since its previous task.
    """

    def __init__(self, count: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork starts a worker in milliseconds; the workers touch nothing they inherit but this module's code.
        context = multiprocessing.get_context("fork") if "fork" in methods else multiprocessing.get_context("spawn")
        self._tasks = [context.Queue() for _ in range(count)]
        self._results = [context.Queue() for _ in range(count)]
        self._processes = [context.Process(target=_work, args=(self._tasks[number], self._results[number]),
                                           name=f"trace-verify-{number}", daemon=True) for number in range(count)]
        for process in self._processes:
            process.start()
        self._keys_sent = [0] * count
        self._next = 0
        self._order: deque[int] = deque()

    def __len__(self) -> int:
        """Tasks submitted whose results have not been taken yet."""
        return len(self._order)

    def submit(self, kind: str, payload: list[Any], key_log: list[tuple[str, bytes]]) -> None:
        """Queue ``payload`` (``"leaves"``: leaf bytes; ``"signatures"``: :data:`SignatureJob`) for a worker."""
        number = self._next
        self._next = (number + 1) % len(self._processes)
        new_keys = key_log[self._keys_sent[number]:]
        self._keys_sent[number] = len(key_log)
        self._tasks[number].put((kind, new_keys, payload))
        self._order.append(number)

    def take(self) -> Any:
        """The result of the oldest task not yet taken (waits for it)."""
        number = self._order.popleft()
        while True:
            try:
                status, value = self._results[number].get(timeout=_POLL_SECONDS)
                break
            except queue.Empty:
                process = self._processes[number]
                if not process.is_alive():
                    raise RuntimeError(f"verification worker {process.pid} exited with code {process.exitcode}") \
                        from None
        if status != "ok":
            raise RuntimeError(f"verification worker failed: {value}")
        return value

    def close(self) -> None:
        """Stop the workers: at once when tasks are outstanding (after an error), else after their last task."""
        outstanding = bool(self._order)
        for number, process in enumerate(self._processes):
            if outstanding:
                process.terminate()
            else:
                self._tasks[number].put(None)
        for number, process in enumerate(self._processes):
            process.join()
            for channel in (self._tasks[number], self._results[number]):
                channel.cancel_join_thread()
                channel.close()
        self._order.clear()
