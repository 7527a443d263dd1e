"""The export file: everything an inspector needs, with the operator's public key, to verify the ledger offline.

UTF-8 text, one canonical JSON object per line, each line ending in a single LF::

    {"format":"trace-ledger-export/1","origin":"<origin>","tree_size":<n>}
    {"chain":"<64 hex>","index":<i>,"leaf":<leaf>}          one line per entry, i = 0 .. n-1 in order
    {"checkpoint":"<signed note>"}                           after the entry that completes its tree size

The last line is a checkpoint of size n. Entries are immutable, so an export taken while appends continue is
consistent: it covers exactly the tree of the latest checkpoint at the time it started.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from .canonical import canonicalize, strict_loads
from .errors import ExportFormatError, StatementError
from .models import CheckpointRecord, Entry

FORMAT = "trace-ledger-export/1"
MAX_LINE_BYTES = 1024 * 1024
_ENTRY_PREFIX = re.compile(rb'\{"chain":"([0-9a-f]{64})","index":(0|[1-9][0-9]{0,15}),"leaf":')


@dataclass(frozen=True, slots=True)
class ExportHeader:
    origin: str
    tree_size: int


@dataclass(frozen=True, slots=True)
class ExportEntry:
    index: int
    chain_hash: bytes
    leaf: bytes


@dataclass(frozen=True, slots=True)
class ExportCheckpoint:
    note: str


ExportItem = ExportEntry | ExportCheckpoint


def entry_line(index: int, chain_hash: bytes, leaf: bytes) -> bytes:
    """The export line of one entry, without its LF."""
    return b'{"chain":"%s","index":%d,"leaf":%s}' % (chain_hash.hex().encode("ascii"), index, leaf)


def header_line(origin: str, tree_size: int) -> bytes:
    return canonicalize({"format": FORMAT, "origin": origin, "tree_size": tree_size})


def checkpoint_line(note: str) -> bytes:
    return canonicalize({"checkpoint": note})


def write_export(session: Session, out: BinaryIO, *, origin: str, chunk: int = 2000) -> int:
    """Stream the ledger up to its latest checkpoint into ``out``; returns the tree size written.

    Memory stays bounded: entries are read ``chunk`` at a time in index order.
    """
    size, lines = export_lines(session, origin=origin, chunk=chunk)
    for line in lines:
        out.write(line)
    return size


def export_lines(session: Session, *, origin: str, chunk: int = 2000) -> tuple[int, Iterator[bytes]]:
    """The tree size of the latest checkpoint and the export's lines up to it (each ending in LF): what
    :func:`write_export` writes, for streaming over HTTP. The lines are read as they are consumed."""
    latest = session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.tree_size.desc()).limit(1)).first()
    size = latest.tree_size if latest is not None else 0

    def lines() -> Iterator[bytes]:
        yield header_line(origin, size) + b"\n"
        for start in range(0, size, chunk):
            for index, chain_hash, leaf in entries_range(session, start, min(size, start + chunk)):
                yield entry_line(index, chain_hash, leaf) + b"\n"
        if latest is not None:
            yield checkpoint_line(latest.note) + b"\n"
    return size, lines()


def entries_range(session: Session, start: int, stop: int) -> list[tuple[int, bytes, bytes]]:
    """``(index, chain hash, leaf)`` of the entries ``start`` ≤ index < ``stop``, in order."""
    return [(index, chain, leaf) for index, chain, leaf in session.execute(
        select(Entry.index, Entry.chain_hash, Entry.leaf)
        .where(Entry.index >= start, Entry.index < stop).order_by(Entry.index))]


def read_export(lines: Iterable[bytes]) -> tuple[ExportHeader, Iterator[ExportItem]]:
    """Parse the header line and return it with a lazy iterator over the remaining items.

    Raises :class:`ExportFormatError` naming the line number for anything outside the format.
    """
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise ExportFormatError("export is empty: the first line must be the header", code="export.header")
    header = _parse_header(first)
    return header, _items(iterator)


def _parse_header(line: bytes) -> ExportHeader:
    raw = _strip(line, 1)
    try:
        fields = strict_loads(raw)
    except StatementError as exc:
        raise ExportFormatError(f"line 1: header is not JSON ({exc.message})", code="export.header") from None
    if not isinstance(fields, dict) or fields.keys() != {"format", "origin", "tree_size"}:
        raise ExportFormatError("line 1: header must hold exactly format, origin and tree_size",
                                code="export.header")
    if fields["format"] != FORMAT:
        raise ExportFormatError(f"line 1: format is {fields['format']!r}, expected {FORMAT!r}", code="export.header")
    size, origin = fields["tree_size"], fields["origin"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(origin, str):
        raise ExportFormatError("line 1: tree_size must be a non-negative integer and origin a string",
                                code="export.header")
    if canonicalize(fields) != raw:
        raise ExportFormatError("line 1: header is not canonical JSON", code="export.header")
    return ExportHeader(origin, size)


def _items(lines: Iterator[bytes]) -> Iterator[ExportItem]:
    for number, line in enumerate(lines, start=2):
        raw = _strip(line, number)
        match = _ENTRY_PREFIX.match(raw)
        if match:
            if not raw.endswith(b"}"):
                raise ExportFormatError(f"line {number}: entry line does not end with '}}'", code="export.line")
            yield ExportEntry(int(match.group(2)), bytes.fromhex(match.group(1).decode("ascii")),
                              raw[match.end():-1])
        elif raw.startswith(b'{"checkpoint":'):
            try:
                fields = strict_loads(raw)
            except StatementError as exc:
                raise ExportFormatError(f"line {number}: checkpoint line is not JSON ({exc.message})",
                                        code="export.line") from None
            if not isinstance(fields, dict) or fields.keys() != {"checkpoint"} or \
                    not isinstance(fields["checkpoint"], str) or canonicalize(fields) != raw:
                raise ExportFormatError(f"line {number}: checkpoint line must be canonical "
                                        '{"checkpoint":"<note>"}', code="export.line")
            yield ExportCheckpoint(fields["checkpoint"])
        else:
            raise ExportFormatError(f"line {number}: neither an entry nor a checkpoint line", code="export.line")


def _strip(line: bytes, number: int) -> bytes:
    if len(line) > MAX_LINE_BYTES:
        raise ExportFormatError(f"line {number} is longer than {MAX_LINE_BYTES} bytes", code="export.line")
    if not line.endswith(b"\n") or line.endswith(b"\r\n"):
        raise ExportFormatError(f"line {number} must end with a single LF", code="export.line")
    return line[:-1]
