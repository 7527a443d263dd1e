"""Ledger tables. Entries, tree nodes and checkpoints are append-only; the head, author, batch and key tables are
derived state that the verifier recomputes from the entries and compares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime


class LedgerHead(Base):
    """The single row locked (``FOR UPDATE``) while a batch is sequenced."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_received: Mapped[str] = mapped_column(String(32))
    registrar: Mapped[str | None] = mapped_column(String(64))


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("author", "seq"),)

    index: Mapped[int] = mapped_column("entry_index", BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    statement_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    author: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(160), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TreeNode(Base):
    """A complete subtree of level >= 1 over leaves [position << level, (position + 1) << level). Level 0 is
    ``Entry.leaf_hash``. Written once, when its last leaf is sequenced."""

    __tablename__ = "ledger_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuthorHead(Base):
    __tablename__ = "ledger_authors"

    author: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    statement_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"))


class BatchHead(Base):
    __tablename__ = "ledger_batch_heads"

    ref: Mapped[str] = mapped_column(String(256), primary_key=True)
    statement_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"))


class LedgerKey(Base):
    __tablename__ = "ledger_keys"
    __table_args__ = (Index("ix_ledger_keys_author", "author"),)

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    author: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    label: Mapped[str] = mapped_column(String(200))
    added_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"))
    revoked_index: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_entries.entry_index"))


class CheckpointRecord(Base):
    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
