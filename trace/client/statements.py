"""Statement specs from the command line, a JSON file or a CSV file, and signing them in one author's chain.

A spec is ``{"type", "body", "links"?, "time"?}``. Signing chains ``seq``/``prev`` locally
(:class:`trace.ledger_service.StatementWriter`) and fills ``links`` when the spec omits them: the types whose
touched batches follow from the body (docs/domain.md §1.4) link the batch's latest statement signed in this run,
or ``null`` for the new lot of a ``trace.commission``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ledger import LedgerError, StatementError
from ledger.canonical import strict_loads

from ..context import lot_ref
from ..identifiers import IdentifierError, normalise_gtin
from ..ledger_service import StatementWriter
from .errors import InputError

CHINA = timezone(timedelta(hours=8))
SPEC_MEMBERS = frozenset({"type", "body", "links", "time"})
LINKS_COLUMN, TIME_COLUMN = "@links", "@time"
#: Types touching exactly the batch named in their ``batch`` member.
_BATCH_MEMBER_TYPES = frozenset({"trace.ship", "trace.sell", "trace.inspect", "trace.recall", "trace.destroy",
                                 "trace.sensor"})
#: Types whose touched batches the client cannot tell from the body alone (docs/domain.md §1.4).
_EXPLICIT_LINKS_TYPES = frozenset({"trace.receive", "trace.transform", "trace.aggregate", "trace.disaggregate",
                                   "trace.correct"})


@dataclass(frozen=True)
class StatementSpec:
    """What to sign: ``links`` None means "derive them"; ``time`` None means "now"; ``source`` names the input
    place (``file.csv row 3``) for error messages."""

    type: str
    body: dict[str, Any]
    links: dict[str, str | None] | None = None
    time: str | None = None
    source: str = "argument"


def parse_value(text: str) -> Any:
    """A ``--field`` value: the JSON value when ``text`` parses under the ledger's JSON rules, else the text."""
    try:
        return strict_loads(text)
    except StatementError:
        return text


def set_member(body: dict[str, Any], name: str, value: Any, where: str) -> None:
    """Set ``body[name] = value``, a dotted ``name`` (``origin.region``) building nested objects; raises
    :class:`InputError` when a name is empty, repeated or both a value and an object."""
    parts = name.split(".")
    if any(not part for part in parts):
        raise InputError(f"{where}: field name {name!r} has an empty part")
    target = body
    for depth, part in enumerate(parts[:-1]):
        inner = target.setdefault(part, {})
        if not isinstance(inner, dict):
            raise InputError(f"{where}: {'.'.join(parts[:depth + 1])} is a value and also has members ({name})")
        target = inner
    if parts[-1] in target:
        raise InputError(f"{where}: field {name} is given twice")
    target[parts[-1]] = value


def spec_from_fields(type_: str, body_text: str | None, fields: Sequence[str], *,
                     links_text: str | None = None, time: str | None = None) -> StatementSpec:
    """One spec from ``--body JSON`` and/or ``--field NAME=VALUE`` arguments (fields added to the body)."""
    body: dict[str, Any] = {}
    if body_text is not None:
        body = _object(_loads(body_text, "--body"), "--body")
    for item in fields:
        name, equals, value = item.partition("=")
        if not equals:
            raise InputError(f"--field {item!r}: expected NAME=VALUE")
        set_member(body, name.strip(), parse_value(value), "--field")
    links = None if links_text is None else _links(_loads(links_text, "--links"), "--links")
    return StatementSpec(type_, body, links, time)


def specs_from_json(path: Path) -> list[StatementSpec]:
    """Specs from a JSON file holding one spec object or a list of them."""
    value = _loads(_read(path), str(path))
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InputError(f"{path}: the list of statements is empty")
    specs = []
    for number, item in enumerate(items, start=1):
        where = f"{path} statement {number}" if isinstance(value, list) else str(path)
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object with type and body")
        unknown, missing = sorted(item.keys() - SPEC_MEMBERS), sorted({"type", "body"} - item.keys())
        if unknown or missing:
            raise InputError(f"{where}: " + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else []) +
                ([f"unknown member(s) {', '.join(unknown)} (allowed: body, links, time, type)"] if unknown else [])))
        if not isinstance(item["type"], str) or (item.get("time") is not None and not isinstance(item["time"], str)):
            raise InputError(f"{where}: type and time must be strings")
        links = None if item.get("links") is None else _links(item["links"], where)
        specs.append(StatementSpec(item["type"], _object(item["body"], f"{where} body"), links, item.get("time"),
                                   where))
    return specs


def specs_from_csv(path: Path, type_: str) -> list[StatementSpec]:
    """One spec of ``type_`` per CSV row. A header names body members (dotted names nest); a cell holding a
    JSON array or object is used as such, any other cell as text; an empty cell leaves its member out.
    Columns ``@links`` (a JSON object) and ``@time`` set the statement's links and time."""
    text = _read(path).removeprefix("\ufeff")  # spreadsheet programs write a byte-order mark
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if not header or not any(name.strip() for name in header):
        raise InputError(f"{path}: the first line must name the columns")
    names = [name.strip() for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated or "" in names:
        raise InputError(f"{path}: column names must be non-empty and distinct; "
                         f"{'repeated: ' + ', '.join(repeated) if repeated else 'an empty column name'}")
    specs = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path} line {line}"
        if len(row) != len(names):
            raise InputError(f"{where}: {len(row)} cells, the header has {len(names)} columns")
        body: dict[str, Any] = {}
        links, time = None, None
        for name, cell in zip(names, row, strict=True):
            if not cell.strip():
                continue
            if name == LINKS_COLUMN:
                links = _links(_loads(cell, f"{where} column {name}"), f"{where} column {name}")
            elif name == TIME_COLUMN:
                time = cell.strip()
            else:
                set_member(body, name, _cell_value(cell, f"{where} column {name}"), where)
        specs.append(StatementSpec(type_, body, links, time, where))
    if not specs:
        raise InputError(f"{path}: no data rows below the header")
    return specs


def sign_specs(writer: StatementWriter, specs: Iterable[StatementSpec], *,
               clock: Callable[[], datetime] | None = None,
               batch_head: Callable[[str], str | None] | None = None) -> Iterator[dict[str, Any]]:
    """Sign ``specs`` in order as successive statements of ``writer``'s author; yields the envelopes.
    ``batch_head`` looks up the latest statement hash of a batch this run has not signed for yet (the server's
    batch state), so links can be derived for existing batches too.

    Raises :class:`InputError` naming the spec's source when a statement cannot be built (a bad time, a
    statement-format error, links that cannot be derived).
    """
    heads: dict[str, str] = {}
    for spec in specs:
        try:
            links = spec.links if spec.links is not None else _derive_links(spec, heads, batch_head)
            moment = _time(spec.time) if spec.time is not None else (clock() if clock else now_in_china())
            envelope = writer.sign(spec.type, spec.body, moment, links=links)
        except InputError as exc:
            raise InputError(f"{spec.source}: {exc.message}") from None
        except LedgerError as exc:
            raise InputError(f"{spec.source}: {exc}") from None
        assert writer.prev is not None  # set by sign
        heads.update(dict.fromkeys(links, writer.prev))
        yield envelope


def now_in_china() -> datetime:
    """The current time in UTC+8, whole seconds."""
    return datetime.now(CHINA).replace(microsecond=0)


def _derive_links(spec: StatementSpec, heads: dict[str, str],
                  batch_head: Callable[[str], str | None] | None) -> dict[str, str | None]:
    if spec.type == "trace.commission":
        gtin, lot = spec.body.get("gtin"), spec.body.get("lot")
        if not isinstance(gtin, str) or not isinstance(lot, str):
            raise InputError("trace.commission needs gtin and lot as text to link its lot")
        try:
            ref = lot_ref(normalise_gtin(gtin), lot)
        except IdentifierError as exc:
            raise InputError(f"gtin {gtin!r}: {exc}") from None
        return {ref: heads.get(ref)}
    if spec.type not in _BATCH_MEMBER_TYPES | _EXPLICIT_LINKS_TYPES:
        return {}  # registry, ledger and unknown types link nothing
    batch = spec.body.get("batch") if spec.type in _BATCH_MEMBER_TYPES else None
    if isinstance(batch, str) and batch in heads:
        return {batch: heads[batch]}
    if isinstance(batch, str) and batch_head is not None:
        head = batch_head(batch)
        if head is not None:
            return {batch: head}
    what = f"batch {batch}" if isinstance(batch, str) else "its batches"
    raise InputError(f"the client cannot derive the links of a {spec.type} ({what} not signed in "
                     f"this run): give links ({{reference: latest statement hash or null}}) in the spec or the "
                     f"{LINKS_COLUMN} column")


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"time {text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise InputError(f"time {text!r} has no UTC offset (write it as 2026-11-21T06:30:00+08:00)")
    return moment


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 (byte {exc.start})") from None


def _loads(text: str, where: str) -> Any:
    try:
        return strict_loads(text)
    except StatementError as exc:
        hint = " (write quantities as text: \"2.5\")" if exc.code == "statement.float" else ""
        raise InputError(f"{where}: {exc.message}{hint}") from None


def _cell_value(cell: str, where: str) -> Any:
    if cell.lstrip().startswith(("[", "{")):
        try:
            return strict_loads(cell)
        except StatementError as exc:
            raise InputError(f"{where}: looks like JSON but is not: {exc.message}") from None
    return cell


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: must be a JSON object, found {json.dumps(value, ensure_ascii=False)[:60]}")
    return value


def _links(value: Any, where: str) -> dict[str, str | None]:
    links = _object(value, f"{where} links")
    for ref, head in links.items():
        if head is not None and not isinstance(head, str):
            raise InputError(f"{where}: links[{ref!r}] must be a statement hash or null")
    return links
