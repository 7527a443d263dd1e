"""The replay's disk-backed store and the book's cache over it: what is written reads back, in Python's key order,
and a key never written is answered without a query."""

from __future__ import annotations

import pytest

from trace.book import Book
from trace.records import EventRecord, HoldingRecord, Key, Record
from trace.spill import SpillStore


def _holding(ref: str, holder: str, quantity: str = "1") -> HoldingRecord:
    return HoldingRecord(ref, holder, quantity)


def _event(index: int) -> EventRecord:
    return EventRecord(index, "trace.ship", "A", "2026-11-01T00:00:00Z", None, "[]", "{}", "[]", None)


def test_the_store_reads_back_what_was_written_in_key_order() -> None:
    store = SpillStore()
    refs = ["b", "B", "é", "a", "Z9", "z", "中"]
    changes: list[tuple[type[Record], Key, Record | None, bool]] = [
        (HoldingRecord, (ref, "H"), _holding(ref, "H"), False) for ref in refs]
    changes += [(HoldingRecord, ("a", "G"), _holding("a", "G", "2"), False), (EventRecord, (10,), _event(10), False),
                (EventRecord, (9,), _event(9), False)]
    assert store.write(changes) == 10
    assert [row[:2] for row in store.rows(HoldingRecord)] == sorted([(ref, "H") for ref in refs] + [("a", "G")])
    assert [row[0] for row in store.rows(EventRecord)] == [9, 10]
    assert store.load(HoldingRecord, ("a", "G")) == _holding("a", "G", "2")
    assert store.load_prefix(HoldingRecord, "a") == [_holding("a", "G", "2"), _holding("a", "H")]
    store.write([(HoldingRecord, ("a", "G"), None, True), (HoldingRecord, ("b", "H"), _holding("b", "H", "5"), True)])
    assert store.load(HoldingRecord, ("a", "G")) is None
    assert store.load(HoldingRecord, ("b", "H")) == _holding("b", "H", "5")
    assert store.load_all(HoldingRecord)[0] == _holding("B", "H")
    store.close()


def test_a_key_never_written_costs_no_query() -> None:
    store = SpillStore(filter_bits=1 << 16)
    store.write([(HoldingRecord, (f"r{n}", "H"), _holding(f"r{n}", "H"), False) for n in range(100)])
    before = store.queries
    assert all(store.load(EventRecord, (n,)) is None for n in range(200))  # a table never written
    assert all(store.load(HoldingRecord, (f"s{n}", "H")) is None for n in range(200))
    assert all(store.load_prefix(HoldingRecord, f"s{n}") == [] for n in range(200))
    assert store.queries - before < 12  # the false positives of a small filter, at most
    assert store.load(HoldingRecord, ("r7", "H")) == _holding("r7", "H")
    assert store.queries - before < 13


def test_a_book_forgets_its_cache_only_once_its_changes_are_stored() -> None:
    store = SpillStore()
    book = Book(store)
    book.begin()
    book.put(_holding("a", "H"))
    with pytest.raises(RuntimeError):
        book.forget()  # a statement is open
    book.commit()
    with pytest.raises(RuntimeError):
        book.forget()  # the change is not drained yet
    store.write(book.drain())
    assert book.held() == 1
    book.forget()
    assert book.held() == 0
    assert book.get(HoldingRecord, "a", "H") == _holding("a", "H")  # read back from the store
    assert book.prefix(HoldingRecord, "a") == [_holding("a", "H")]
    with pytest.raises(RuntimeError):
        Book().forget()  # nothing to read back from
