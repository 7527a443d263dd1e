"""The derived traceability state, as immutable records: one dataclass per table, fields named as columns.

Every value is a string, an integer or ``None`` (lists and objects are canonical JSON text), so a record is the
same whether it was built by the live sequencer, read back from the database, or produced by a replay of the
ledger; ``rebuild-state`` compares them field by field.
"""

from __future__ import annotations

import json
from dataclasses import Field, dataclass, fields
from typing import Any, ClassVar, TypeVar

Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """Base of the state records. ``TABLE`` names the table; ``KEY`` the primary-key fields, in order."""

    TABLE: ClassVar[str] = ""
    KEY: ClassVar[tuple[str, ...]] = ()
    #: Insert-only tables are history: never changed afterwards and never rolled back by a correction.
    HISTORY: ClassVar[bool] = False

    @property
    def key(self) -> Key:
        return tuple(getattr(self, name) for name in self.KEY)

    def to_dict(self) -> dict[str, Any]:
        """The fields by name. Every field holds a scalar (text, number, None; JSON is kept as text), so a
        shallow copy is exact; ``dataclasses.asdict`` would deep-copy and took a third of the rules' time."""
        return {field.name: getattr(self, field.name) for field in _FIELDS[type(self)]}


@dataclass(frozen=True, slots=True)
class EnterpriseRecord(Record):
    TABLE: ClassVar[str] = "trace_enterprises"
    KEY: ClassVar[tuple[str, ...]] = ("credit_code",)
    credit_code: str
    name: str
    name_en: str
    roles: str
    region: str
    status: str
    status_reason: str
    status_index: int
    registered_index: int
    check_override: str | None
    commitment_sha256: str
    locations: str
    #: The legal basis the registrar cited for the current status (abnormal list, blacklist); ``None`` when the
    #: status statement gave none (registration, and statements written before the field existed).
    legal_basis: str | None


@dataclass(frozen=True, slots=True)
class ProductRecord(Record):
    TABLE: ClassVar[str] = "trace_products"
    KEY: ClassVar[tuple[str, ...]] = ("gtin",)
    gtin: str
    owner: str
    name: str
    name_en: str
    category: str
    spec: str
    approval_number: str | None
    drug_prefix: str | None
    defined_index: int


@dataclass(frozen=True, slots=True)
class BatchRecord(Record):
    """A lot (GTIN + lot) or a logistic unit (SSCC). ``outstanding`` is what still exists anywhere: held, in
    transit or packed in a logistic unit."""

    TABLE: ClassVar[str] = "trace_batches"
    KEY: ClassVar[tuple[str, ...]] = ("ref",)
    ref: str
    kind: str
    gtin: str | None
    lot: str | None
    sscc: str | None
    unit: str
    quantity: str
    outstanding: str
    creator: str
    created_index: int
    last_index: int
    produced_on: str | None
    expires_on: str | None
    origin: str
    certificates: str
    status: str
    inspection: str | None
    inspection_index: int | None


@dataclass(frozen=True, slots=True)
class HoldingRecord(Record):
    TABLE: ClassVar[str] = "trace_holdings"
    KEY: ClassVar[tuple[str, ...]] = ("ref", "holder")
    ref: str
    holder: str
    quantity: str


@dataclass(frozen=True, slots=True)
class ShipmentRecord(Record):
    TABLE: ClassVar[str] = "trace_shipments"
    KEY: ClassVar[tuple[str, ...]] = ("shipper", "shipment_id")
    shipper: str
    shipment_id: str
    ref: str
    receiver: str
    quantity: str
    unit: str
    status: str
    ship_index: int
    receive_index: int | None
    received_quantity: str | None
    carrier: str | None
    units: str


@dataclass(frozen=True, slots=True)
class UnitRecord(Record):
    """A serialised unit (GTIN + serial, or a 20-digit drug traceability code) within a batch. ``holder`` is who
    has it while ``status`` is active; a packed unit travels inside a logistic unit."""

    TABLE: ClassVar[str] = "trace_units"
    KEY: ClassVar[tuple[str, ...]] = ("ref", "unit_id")
    ref: str
    unit_id: str
    holder: str
    status: str
    sold_count: int
    first_sold_index: int | None


@dataclass(frozen=True, slots=True)
class ContentRecord(Record):
    """A quantity of a batch packed in a logistic unit (SSCC)."""

    TABLE: ClassVar[str] = "trace_contents"
    KEY: ClassVar[tuple[str, ...]] = ("container", "ref")
    container: str
    ref: str
    quantity: str
    units: str


@dataclass(frozen=True, slots=True)
class RecallRecord(Record):
    """A batch under recall: directly (``source_ref == ref``) or inherited from an upstream batch."""

    TABLE: ClassVar[str] = "trace_recalls"
    KEY: ClassVar[tuple[str, ...]] = ("ref", "recall_index")
    ref: str
    recall_index: int
    source_ref: str
    issuer: str
    reason: str


@dataclass(frozen=True, slots=True)
class EventRecord(Record):
    """One accepted domain statement: what the public page and the provenance queries show. ``undo`` holds the
    prior values of the records it changed, so a correction can restore them exactly."""

    TABLE: ClassVar[str] = "trace_events"
    KEY: ClassVar[tuple[str, ...]] = ("entry_index",)
    entry_index: int
    type: str
    actor: str
    time: str
    location: str | None
    refs: str
    summary: str
    undo: str
    corrected_by: int | None


@dataclass(frozen=True, slots=True)
class EdgeRecord(Record):
    """Provenance: ``child`` was made from (transform) or packed with (aggregate) ``parent``. Not history: a
    correction of the event removes its edges, so provenance walks need not look at corrections."""

    TABLE: ClassVar[str] = "trace_edges"
    KEY: ClassVar[tuple[str, ...]] = ("parent", "child", "entry_index")
    parent: str
    child: str
    entry_index: int
    kind: str
    quantity: str | None


@dataclass(frozen=True, slots=True)
class BatchEventRecord(Record):
    TABLE: ClassVar[str] = "trace_batch_events"
    KEY: ClassVar[tuple[str, ...]] = ("ref", "entry_index")
    HISTORY: ClassVar[bool] = True
    ref: str
    entry_index: int


@dataclass(frozen=True, slots=True)
class FlagRecord(Record):
    """A risk signal raised by an accepted event: a drug box sold twice, a cold-chain excursion, a short receipt."""

    TABLE: ClassVar[str] = "trace_flags"
    KEY: ClassVar[tuple[str, ...]] = ("entry_index", "code", "subject")
    HISTORY: ClassVar[bool] = True
    entry_index: int
    code: str
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class InspectionOrderRecord(Record):
    """An inspection ordered by the registrar (``trace.inspection.order``) and, once recorded, its result.
    Keyed by ``source_ref`` first, so every order of one spot-check draw (``draw {index}``) is one prefix."""

    TABLE: ClassVar[str] = "trace_inspection_orders"
    KEY: ClassVar[tuple[str, ...]] = ("source_ref", "order_index")
    source_ref: str
    order_index: int
    source: str
    enterprise: str
    batch: str | None
    inspector: str
    result: str | None
    result_index: int | None


RECORD_TYPES: tuple[type[Record], ...] = (
    EnterpriseRecord, ProductRecord, BatchRecord, HoldingRecord, ShipmentRecord, UnitRecord, ContentRecord,
    RecallRecord, EventRecord, EdgeRecord, BatchEventRecord, FlagRecord,
    InspectionOrderRecord)
BY_TABLE: dict[str, type[Record]] = {cls.TABLE: cls for cls in RECORD_TYPES}
_FIELDS: dict[type[Record], tuple[Field[Any], ...]] = {cls: fields(cls) for cls in RECORD_TYPES}

R = TypeVar("R", bound=Record)


def record_from_dict(cls: type[R], data: dict[str, Any]) -> R:
    """Build a record from a row or a JSON object with exactly the record's fields."""
    return cls(**{field.name: data[field.name] for field in _FIELDS[cls]})


def to_json(value: Any) -> str:
    """Canonical JSON text for record fields that hold lists or objects (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
