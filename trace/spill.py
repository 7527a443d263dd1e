"""A disk-backed store for the replayed traceability state, so a replay of a million entries runs in bounded memory.

The verifier's custody replay (:class:`trace.replay.CustodyReplay`) keeps a :class:`trace.book.Book` whose source
is a :class:`SpillStore`: the book caches what the rules touch, and whenever the cache grows past a threshold its
changes are written here in one transaction and the cache is dropped. The store is a private temporary SQLite
database (deleted when its connection closes), one table per record type with the record's fields as columns and
its key as primary key, so it reads back the rows in key order for the streaming comparison with the live tables
(:func:`trace.store.compare_live_state`).

SQLite's text ordering (BINARY: byte order of UTF-8) is Python's ``str`` ordering (code points), and integers
compare as integers, so :meth:`SpillStore.rows` is sorted the way Python sorts the record keys.

Most records the rules ask for do not exist yet (the event, batch-event and flag rows of the entry being applied,
the units and holdings a statement creates): about half of the lookups. A Bloom filter over every key (and every
first key field) ever written answers those without a query; a false positive only costs the query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from .records import RECORD_TYPES, Key, Record

R = TypeVar("R", bound=Record)
#: SQLite's page cache for the store, in KiB (a negative ``cache_size``): the part of it kept in memory.
CACHE_KIB = 32 * 1024
#: The Bloom filter's size in bits (16 MiB): under 1 % false positives up to about ten million keys.
FILTER_BITS = 1 << 27


class _Filter:
    """A Bloom filter with three probes taken from one ``hash()``: ``value in filter`` is false only for a value
    never added. ``bits`` is a power of two."""

    def __init__(self, bits: int) -> None:
        self._bits = bytearray(bits >> 3)
        self._mask = bits - 1

    def add(self, value: Any) -> None:
        bits, mask, code = self._bits, self._mask, hash(value)
        for probe in (code, code >> 21, code >> 42 ^ code):
            position = probe & mask
            bits[position >> 3] |= 1 << (position & 7)

    def __contains__(self, value: Any) -> bool:
        bits, mask, code = self._bits, self._mask, hash(value)
        for probe in (code, code >> 21, code >> 42 ^ code):
            position = probe & mask
            if not bits[position >> 3] & 1 << (position & 7):
                return False
        return True


class _Table:
    """The statements of one record type's table, prepared once."""

    def __init__(self, cls: type[Record]) -> None:
        names = [field.name for field in fields(cls)]
        name = cls.TABLE
        key = ", ".join(cls.KEY)
        self.create = (f"CREATE TABLE {name} ({', '.join(names)}, PRIMARY KEY ({key})) WITHOUT ROWID")
        self.select = f"SELECT {', '.join(names)} FROM {name}"
        self.by_key = f"{self.select} WHERE {' AND '.join(f'{field} = ?' for field in cls.KEY)}"
        self.by_first = f"{self.select} WHERE {cls.KEY[0]} = ? ORDER BY {key}"
        self.ordered = f"{self.select} ORDER BY {key}"
        self.upsert = f"INSERT OR REPLACE INTO {name} VALUES ({', '.join('?' * len(names))})"
        self.delete = f"DELETE FROM {name} WHERE {' AND '.join(f'{field} = ?' for field in cls.KEY)}"


class SpillStore:
    """A :class:`trace.book.Source` over a temporary SQLite database, written by :meth:`write`.

    Invariant: it holds exactly the records written to it (the last value per key; deleted keys absent). A key
    (or a first key field) that was never written is answered as absent from the filter, without a query.
    """

    def __init__(self, cache_kib: int = CACHE_KIB, filter_bits: int = FILTER_BITS) -> None:
        # "" is a private on-disk database that SQLite deletes itself when the connection closes.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size=-{cache_kib}")
        self._tables = {cls: _Table(cls) for cls in RECORD_TYPES}
        for table in self._tables.values():
            self._db.execute(table.create)
        self._written: set[type[Record]] = set()
        self._seen = _Filter(filter_bits)
        self.queries = 0

    def load(self, cls: type[R], key: Key) -> R | None:
        if (cls, key) not in self._seen:
            return None
        self.queries += 1
        row = self._db.execute(self._tables[cls].by_key, key).fetchone()
        return None if row is None else cls(*row)

    def load_prefix(self, cls: type[R], first: Any) -> list[R]:
        if (cls, _FIRST, first) not in self._seen:
            return []
        self.queries += 1
        return [cls(*row) for row in self._db.execute(self._tables[cls].by_first, (first,))]

    def load_all(self, cls: type[R]) -> list[R]:
        return list(self.records(cls))

    def records(self, cls: type[R]) -> Iterator[R]:
        """Every record of ``cls``, in key order, read as it is iterated."""
        return (cls(*row) for row in self.rows(cls))

    def rows(self, cls: type[Record]) -> Iterator[tuple[Any, ...]]:
        """Every record of ``cls`` as a tuple in field order, in key order, read as it is iterated."""
        if cls not in self._written:
            return iter(())
        return iter(self._db.execute(self._tables[cls].ordered))

    def write(self, changes: Iterable[tuple[type[Record], Key, Record | None, bool]]) -> int:
        """Store the changes a :meth:`trace.book.Book.drain` returned (a value, or ``None`` for a deletion), in
        one transaction; returns how many."""
        upserts: dict[type[Record], list[tuple[Any, ...]]] = {}
        deletes: dict[type[Record], list[Key]] = {}
        add = self._seen.add
        for cls, key, value, _ in changes:
            if value is None:
                deletes.setdefault(cls, []).append(key)
            else:
                upserts.setdefault(cls, []).append(_ROW_OF[cls](value))
                add((cls, key))
                add((cls, _FIRST, key[0]))
        self._db.execute("BEGIN")
        for cls, keys in deletes.items():
            if cls in self._written:
                self._db.executemany(self._tables[cls].delete, keys)
        for cls, rows in upserts.items():
            self._db.executemany(self._tables[cls].upsert, rows)
            self._written.add(cls)
        self._db.execute("COMMIT")
        return sum(map(len, deletes.values())) + sum(map(len, upserts.values()))

    def close(self) -> None:
        """Close the database, which deletes it."""
        self._db.close()


_FIRST = "first key field"  # tags the filter's entries for a first key field (prefix lookups)
#: A record's fields as a tuple, in order (every record has several fields, so ``attrgetter`` returns a tuple).
_ROW_OF: dict[type[Record], Callable[[Record], tuple[Any, ...]]] = {
    cls: attrgetter(*(field.name for field in fields(cls))) for cls in RECORD_TYPES}
