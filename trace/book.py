"""The working copy of the traceability state that the custody rules read and change.

A :class:`Book` caches records by table and key. It starts empty (a replay of the whole ledger) or backed by a
:class:`Source` that loads missing records from the database on first use (the live sequencer). Changes are
made per statement between :meth:`Book.begin` and :meth:`Book.commit` / :meth:`Book.rollback`: a refused
statement leaves the book exactly as it was. :meth:`Book.drain` hands the changed records to a writer; once the
source holds them, :meth:`Book.forget` drops the cache (the verifier's replay does, to keep its memory bounded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from .records import Key, Record

R = TypeVar("R", bound=Record)


class Source(Protocol):
    """Loads stored records: one by key, or every record whose key starts with ``first``."""

    def load(self, cls: type[R], key: Key) -> R | None: ...

    def load_prefix(self, cls: type[R], first: Any) -> list[R]: ...

    def load_all(self, cls: type[R]) -> list[R]: ...


class Book:
    def __init__(self, source: Source | None = None) -> None:
        self._source = source
        self._cache: dict[type[Record], dict[Key, Record | None]] = {}
        self._index: dict[type[Record], dict[Any, set[Key]]] = {}
        self._loaded_prefixes: set[tuple[type[Record], Any]] = set()
        self._stored: set[tuple[type[Record], Key]] = set()
        self._dirty: dict[tuple[type[Record], Key], None] = {}
        self._undo: list[tuple[type[Record], Key, Record | None, bool]] | None = None
        self._held = 0

    # -- reading ---------------------------------------------------------------------------------------------

    def get(self, cls: type[R], *key: Any) -> R | None:
        """The record of ``cls`` with primary key ``key``, or ``None``."""
        table = self._cache.setdefault(cls, {})
        if key not in table:
            loaded = self._source.load(cls, key) if self._source is not None else None
            self._remember(cls, key, loaded)
        return table[key]  # type: ignore[return-value]

    def prefix(self, cls: type[R], first: Any) -> list[R]:
        """Every record of ``cls`` whose first key field equals ``first``, in key order."""
        if self._source is not None and (cls, first) not in self._loaded_prefixes:
            table = self._cache.setdefault(cls, {})
            for record in self._source.load_prefix(cls, first):
                if record.key not in table:
                    self._remember(cls, record.key, record)
            self._loaded_prefixes.add((cls, first))
        table = self._cache.get(cls, {})
        found = [table[key] for key in sorted(self._index.get(cls, {}).get(first, ()))]
        return [record for record in found if record is not None]  # type: ignore[misc]

    def every(self, cls: type[R]) -> list[R]:
        """Every record of ``cls`` as this book sees it, in key order: the source's rows with the book's own
        changes over them (a book without a source replayed the whole ledger and holds them all). Reads the whole
        table, so only for rare statements (a spot-check draw enumerating the enterprises)."""
        found: dict[Key, R] = {}
        if self._source is not None:
            found.update((record.key, record) for record in self._source.load_all(cls))
        for key, value in self._cache.get(cls, {}).items():
            if value is None:
                found.pop(key, None)
            else:
                found[key] = value  # type: ignore[assignment]
        return [found[key] for key in sorted(found)]

    def records(self, cls: type[R]) -> Iterable[R]:
        """Every cached record of ``cls`` (for a book that replayed the whole ledger: all of them)."""
        for record in self._cache.get(cls, {}).values():
            if record is not None:
                yield record  # type: ignore[misc]

    # -- changing --------------------------------------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Insert or replace ``record``. Only between :meth:`begin` and :meth:`commit`."""
        self._change(type(record), record.key, record)

    def delete(self, cls: type[Record], *key: Any) -> None:
        self._change(cls, key, None)

    def begin(self) -> None:
        if self._undo is not None:
            raise RuntimeError("a statement is already being applied")
        self._undo = []

    def priors(self) -> list[tuple[type[Record], Key, Record | None]]:
        """The value each record changed so far by the current statement had before it (first change wins)."""
        seen: set[tuple[type[Record], Key]] = set()
        out = []
        for cls, key, prior, _ in self._require_open():
            if (cls, key) not in seen:
                seen.add((cls, key))
                out.append((cls, key, prior))
        return out

    def commit(self) -> None:
        """End the statement, keeping its changes."""
        self._require_open()
        self._undo = None

    def rollback(self) -> None:
        """Undo every change since :meth:`begin`."""
        changes = self._require_open()
        for cls, key, prior, was_dirty in reversed(changes):
            self._cache[cls][key] = prior
            if not was_dirty:
                self._dirty.pop((cls, key), None)
        self._undo = None

    def drain(self) -> list[tuple[type[Record], Key, Record | None, bool]]:
        """The records changed since the last drain: ``(cls, key, value or None, already stored)``. Afterwards
        they count as stored."""
        out = []
        for cls, key in self._dirty:
            value = self._cache[cls][key]
            out.append((cls, key, value, (cls, key) in self._stored))
            if value is None:
                self._stored.discard((cls, key))
            else:
                self._stored.add((cls, key))
        self._dirty.clear()
        return out

    def held(self) -> int:
        """How many keys the cache holds (records, and keys known to be absent): what :meth:`forget` frees."""
        return self._held

    def forget(self) -> None:
        """Drop the whole cache; later reads load from the source again. Only between statements and once every
        change was drained: the source must already hold them (raises ``RuntimeError`` otherwise)."""
        if self._undo is not None or self._dirty:
            raise RuntimeError("forget() needs a drained book between statements")
        if self._source is None:
            raise RuntimeError("a book without a source cannot forget: it holds the only copy of its records")
        self._cache.clear()
        self._index.clear()
        self._loaded_prefixes.clear()
        self._stored.clear()
        self._held = 0

    # -- internals -------------------------------------------------------------------------------------------

    def _require_open(self) -> list[tuple[type[Record], Key, Record | None, bool]]:
        if self._undo is None:
            raise RuntimeError("no statement is being applied")
        return self._undo

    def _change(self, cls: type[Record], key: Key, value: Record | None) -> None:
        changes = self._require_open()
        prior = self.get(cls, *key)
        changes.append((cls, key, prior, (cls, key) in self._dirty))
        self._cache[cls][key] = value
        self._index.setdefault(cls, {}).setdefault(key[0], set()).add(key)
        self._dirty[(cls, key)] = None

    def _remember(self, cls: type[Record], key: Key, value: Record | None) -> None:
        self._cache.setdefault(cls, {})[key] = value
        self._held += 1
        if value is not None:
            self._stored.add((cls, key))
            self._index.setdefault(cls, {}).setdefault(key[0], set()).add(key)
