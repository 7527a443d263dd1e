"""Tables of the derived traceability state. Every row is a function of the ledger entries: ``python -m trace
rebuild-state`` recomputes them all and compares. Column names equal the fields of :mod:`trace.records`.

Quantities are canonical decimal strings (never floats); JSON columns hold canonical JSON text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

from .records import (
    BatchEventRecord,
    BatchRecord,
    ContentRecord,
    EdgeRecord,
    EnterpriseRecord,
    EventRecord,
    FlagRecord,
    HoldingRecord,
    InspectionOrderRecord,
    ProductRecord,
    RecallRecord,
    Record,
    ShipmentRecord,
    UnitRecord,
)

_CODE = String(18)
_REF = String(256)
_QTY = String(24)


class Enterprise(Base):
    __tablename__ = EnterpriseRecord.TABLE

    credit_code: Mapped[str] = mapped_column(_CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_reason: Mapped[str] = mapped_column(String(500))
    status_index: Mapped[int] = mapped_column(BigInteger)
    registered_index: Mapped[int] = mapped_column(BigInteger)
    check_override: Mapped[str | None] = mapped_column(String(500))
    commitment_sha256: Mapped[str] = mapped_column(String(64))
    locations: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(String(300))


class Product(Base):
    __tablename__ = ProductRecord.TABLE

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    owner: Mapped[str] = mapped_column(_CODE, index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    spec: Mapped[str] = mapped_column(String(200))
    approval_number: Mapped[str | None] = mapped_column(String(20))
    drug_prefix: Mapped[str | None] = mapped_column(String(7), index=True)
    defined_index: Mapped[int] = mapped_column(BigInteger)


class Batch(Base):
    __tablename__ = BatchRecord.TABLE
    __table_args__ = (Index("ix_trace_batches_gtin_lot", "gtin", "lot"),)

    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    gtin: Mapped[str | None] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(20))
    sscc: Mapped[str | None] = mapped_column(String(18))
    unit: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[str] = mapped_column(_QTY)
    outstanding: Mapped[str] = mapped_column(_QTY)
    creator: Mapped[str] = mapped_column(_CODE, index=True)
    created_index: Mapped[int] = mapped_column(BigInteger)
    last_index: Mapped[int] = mapped_column(BigInteger)
    produced_on: Mapped[str | None] = mapped_column(String(10))
    expires_on: Mapped[str | None] = mapped_column(String(10))
    origin: Mapped[str] = mapped_column(Text)
    certificates: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    inspection: Mapped[str | None] = mapped_column(String(16))
    inspection_index: Mapped[int | None] = mapped_column(BigInteger)


class Holding(Base):
    __tablename__ = HoldingRecord.TABLE
    __table_args__ = (Index("ix_trace_holdings_holder", "holder"),)

    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    holder: Mapped[str] = mapped_column(_CODE, primary_key=True)
    quantity: Mapped[str] = mapped_column(_QTY)


class Shipment(Base):
    __tablename__ = ShipmentRecord.TABLE
    __table_args__ = (Index("ix_trace_shipments_receiver_status", "receiver", "status"),
                      Index("ix_trace_shipments_ref", "ref"))

    shipper: Mapped[str] = mapped_column(_CODE, primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(_REF)
    receiver: Mapped[str] = mapped_column(_CODE)
    quantity: Mapped[str] = mapped_column(_QTY)
    unit: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    ship_index: Mapped[int] = mapped_column(BigInteger)
    receive_index: Mapped[int | None] = mapped_column(BigInteger)
    received_quantity: Mapped[str | None] = mapped_column(_QTY)
    carrier: Mapped[str | None] = mapped_column(_CODE)
    units: Mapped[str] = mapped_column(Text)


class Unit(Base):
    __tablename__ = UnitRecord.TABLE
    __table_args__ = (Index("ix_trace_units_unit_id", "unit_id"),)

    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(_CODE)
    status: Mapped[str] = mapped_column(String(12))
    sold_count: Mapped[int] = mapped_column(Integer)
    first_sold_index: Mapped[int | None] = mapped_column(BigInteger)


class Content(Base):
    __tablename__ = ContentRecord.TABLE

    container: Mapped[str] = mapped_column(_REF, primary_key=True)
    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    quantity: Mapped[str] = mapped_column(_QTY)
    units: Mapped[str] = mapped_column(Text)


class Recall(Base):
    __tablename__ = RecallRecord.TABLE

    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    recall_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source_ref: Mapped[str] = mapped_column(_REF)
    issuer: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))


class Event(Base):
    __tablename__ = EventRecord.TABLE

    entry_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"),
                                             primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40), index=True)  # the console reads authority statements by type
    actor: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[str] = mapped_column(String(40))
    location: Mapped[str | None] = mapped_column(String(32))
    refs: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    undo: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[int | None] = mapped_column(BigInteger)


class Edge(Base):
    __tablename__ = EdgeRecord.TABLE
    __table_args__ = (Index("ix_trace_edges_child", "child"),)

    parent: Mapped[str] = mapped_column(_REF, primary_key=True)
    child: Mapped[str] = mapped_column(_REF, primary_key=True)
    entry_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[str | None] = mapped_column(_QTY)


class BatchEvent(Base):
    __tablename__ = BatchEventRecord.TABLE
    __table_args__ = (Index("ix_trace_batch_events_entry_index", "entry_index"),)  # batches touched since an entry

    ref: Mapped[str] = mapped_column(_REF, primary_key=True)
    entry_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Flag(Base):
    __tablename__ = FlagRecord.TABLE
    __table_args__ = (Index("ix_trace_flags_subject", "subject"),)  # a page's warnings, by batch or unit

    entry_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(_REF, primary_key=True)
    detail: Mapped[str] = mapped_column(Text)


class InspectionOrder(Base):
    __tablename__ = InspectionOrderRecord.TABLE
    __table_args__ = (Index("ix_trace_inspection_orders_order_index", "order_index", unique=True),
                      Index("ix_trace_inspection_orders_inspector_result", "inspector", "result"))

    source_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))
    enterprise: Mapped[str] = mapped_column(_CODE, index=True)
    batch: Mapped[str | None] = mapped_column(_REF)
    inspector: Mapped[str] = mapped_column(String(64))
    result: Mapped[str | None] = mapped_column(String(16))
    result_index: Mapped[int | None] = mapped_column(BigInteger)


MODEL_OF: dict[type[Record], Any] = {
    EnterpriseRecord: Enterprise, ProductRecord: Product, BatchRecord: Batch, HoldingRecord: Holding,
    ShipmentRecord: Shipment, UnitRecord: Unit, ContentRecord: Content, RecallRecord: Recall, EventRecord: Event,
    EdgeRecord: Edge, BatchEventRecord: BatchEvent, FlagRecord: Flag,
    InspectionOrderRecord: InspectionOrder}
