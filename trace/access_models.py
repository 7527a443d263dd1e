"""Tables of who may read what: staff accounts and their login sessions, enterprise API tokens, pending key
requests, and the signatures of signed API requests already seen (replay protection).

None of these is derived from the ledger and none is public; secrets are stored only as SHA-256 digests (tokens)
or scrypt hashes (passwords).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, UTCDateTime


class Account(Base):
    __tablename__ = "access_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginSession(Base):
    __tablename__ = "access_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    __tablename__ = "access_tokens"

    token_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyRequest(Base):
    __tablename__ = "access_key_requests"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    public_key: Mapped[str] = mapped_column(String(44))
    key_id: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))  # a workspace device label is up to 179 characters
    status: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    entry_index: Mapped[int | None] = mapped_column(BigInteger)


class SeenSignature(Base):
    __tablename__ = "access_seen_signatures"

    signature_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
