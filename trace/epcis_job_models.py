"""The table of EPCIS capture jobs: a captured document's events drafted as statements the enterprise signs
locally, and what became of each.

Not derived from the ledger: a job is a working record between the capture request and the signatures. The
statements it holds become ledger entries only when the enterprise's signatures over them are appended.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, UTCDateTime


class CaptureJob(Base):
    """One capture. ``state`` is ``awaiting_signatures``, ``succeeded`` or ``failed`` (an unsigned job past
    ``expires_at`` is reported ``expired``); ``statements``, ``errors`` and ``results`` are canonical JSON lists."""

    __tablename__ = "epcis_capture_jobs"

    capture_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    author: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    error_behaviour: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20))
    success: Mapped[bool] = mapped_column(Boolean)
    event_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    statements: Mapped[str] = mapped_column(Text)
    errors: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text)
