"""Demo data: enterprises from ``fixtures/`` whose keys the registrar registers through ordinary ledger
statements. Idempotent: running it twice registers nothing new."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerConfig, Signer
from ledger.keys import encode_public_key
from ledger.models import LedgerKey

from .ledger_service import StatementWriter, append
from .settings import ROOT

DEMO_ENTERPRISES = ROOT / "fixtures" / "demo_enterprises.json"


@dataclass(frozen=True)
class DemoEnterprise:
    credit_code: str
    name_zh: str
    name_en: str
    roles: tuple[str, ...]
    signer: Signer


def demo_enterprises(path: Path = DEMO_ENTERPRISES) -> list[DemoEnterprise]:
    """The fixture enterprises with their TEST-ONLY signing keys."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [DemoEnterprise(item["credit_code"], item["name_zh"], item["name_en"], tuple(item["roles"]),
                           Signer.from_seed(item["credit_code"], bytes.fromhex(item["test_only_key_seed"])))
            for item in data["enterprises"]]


def load_demo(sessions: sessionmaker[Session], *, config: LedgerConfig, registrar: Signer,
              clock: Callable[[], datetime]) -> int:
    """Register the demo enterprises' keys; returns how many statements were appended (0 when already loaded)."""
    enterprises = demo_enterprises()
    with sessions() as session, sessions() as read_session:
        known = set(session.scalars(select(LedgerKey.key_id)))
        writer = StatementWriter.resume(session, registrar, config.origin)
        envelopes: list[dict[str, Any]] = [
            writer.sign("ledger.key.add", {"subject": enterprise.credit_code,
                                           "public_key": encode_public_key(enterprise.signer.public_key),
                                           "label": f"{enterprise.name_en} (demo, test-only key)"}, clock())
            for enterprise in enterprises if enterprise.signer.key_id not in known]
        if not envelopes:
            return 0
        session.rollback()
        append(session, read_session, envelopes, config=config, clock=clock)
        session.commit()
    return len(envelopes)
