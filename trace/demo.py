"""Demo data: enterprises from ``fixtures/`` that the registrar registers, with their keys, through ordinary
ledger statements. Idempotent: running it twice appends nothing new."""

from __future__ import annotations

import hashlib
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

from .access import create_account
from .access_models import Account
from .ledger_service import StatementWriter, append
from .models import Enterprise
from .policy import TracePolicy
from .settings import ROOT

DEMO_ENTERPRISES = ROOT / "fixtures" / "demo_enterprises.json"
#: The text every enterprise accepts at registration (信用承诺); the ledger records its SHA-256.
CREDIT_COMMITMENT = ("本企业承诺：依法诚信经营，如实记录并上传产品追溯信息，对所提供信息的真实性、准确性负责，"
                     "接受政府部门和社会监督。").encode()


@dataclass(frozen=True)
class DemoEnterprise:
    credit_code: str
    name_zh: str
    name_en: str
    roles: tuple[str, ...]
    locations: tuple[dict[str, str], ...]
    signer: Signer


#: Staff accounts for trying the API and console locally; the password is public, so never in production.
DEMO_ACCOUNTS = (("inspector", "inspector", "示范检查员 Demo inspector"),
                 ("registrar", "registrar", "示范登记员 Demo registrar"),
                 ("admin", "administrator", "示范管理员 Demo administrator"))
DEMO_PASSWORD = "demo-only-password"


def demo_enterprises(path: Path = DEMO_ENTERPRISES) -> list[DemoEnterprise]:
    """The fixture enterprises with their TEST-ONLY signing keys."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [DemoEnterprise(item["credit_code"], item["name_zh"], item["name_en"], tuple(item["roles"]),
                           tuple(item["locations"]),
                           Signer.from_seed(item["credit_code"], bytes.fromhex(item["test_only_key_seed"])))
            for item in data["enterprises"]]


def load_demo(sessions: sessionmaker[Session], *, config: LedgerConfig, registrar: Signer,
              clock: Callable[[], datetime]) -> int:
    """Register the demo enterprises and their keys and create the demo staff accounts; returns how many
    statements were appended (0 when already loaded)."""
    enterprises = demo_enterprises()
    with sessions() as session, sessions() as read_session:
        known_keys = set(session.scalars(select(LedgerKey.key_id)))
        registered = set(session.scalars(select(Enterprise.credit_code)))
        writer = StatementWriter.resume(session, registrar, config.origin)
        envelopes: list[dict[str, Any]] = []
        for enterprise in enterprises:
            if enterprise.credit_code not in registered:
                envelopes.append(writer.sign("trace.enterprise.register", {
                    "credit_code": enterprise.credit_code, "name": enterprise.name_zh, "name_en": enterprise.name_en,
                    "roles": list(enterprise.roles), "locations": list(enterprise.locations),
                    "commitment_sha256": hashlib.sha256(CREDIT_COMMITMENT).hexdigest()}, clock()))
            if enterprise.signer.key_id not in known_keys:
                envelopes.append(writer.sign("ledger.key.add", {
                    "subject": enterprise.credit_code, "public_key": encode_public_key(enterprise.signer.public_key),
                    "label": f"{enterprise.name_en} (demo, test-only key)"}, clock()))
        if envelopes:
            session.rollback()
            append(session, read_session, envelopes, config=config, clock=clock, policy=TracePolicy())
            session.commit()
    with sessions() as session:
        for username, role, name in DEMO_ACCOUNTS:
            if session.get(Account, username) is None:
                create_account(session, username, DEMO_PASSWORD, [role], display_name=name, now=clock())
        session.commit()
    return len(envelopes)
