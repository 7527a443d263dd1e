"""A small world for traceability tests: enterprises registered by the registrar with their own keys, and
helpers that sign statements with correct links, expect acceptance, or expect a refusal with a given code and
prove that the refusal changed nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger import BatchRefused, Signer
from ledger.keys import encode_public_key
from ledger.models import BatchHead, Entry
from tests.conftest import LedgerHarness
from trace.identifiers import gs1_check_digit, uscc_check_character
from trace.policy import TracePolicy
from trace.store import compare_live_state, dump_tables, replay_state

COMMITMENT = hashlib.sha256("信用承诺书 v1".encode()).hexdigest()
CHINA = timezone(timedelta(hours=8))
CERT = hashlib.sha256(b"certificate scan").hexdigest()


def credit_code(region: str, serial: int, kind: str = "91") -> str:
    """A valid unified social credit code in ``region`` (6 digits)."""
    body = f"{kind}{region}{serial:09d}"
    return body + uscc_check_character(body)


def gtin(company: str, item: int) -> str:
    body = f"{company}{item:0{12 - len(company)}d}"
    return "0" + body + gs1_check_digit("0" + body)


def sscc(serial: int) -> str:
    body = f"0695000{serial:010d}"
    return body + gs1_check_digit(body)


def lot(gtin14: str, lot_number: str) -> str:
    return f"01/{gtin14}/10/{lot_number}"


@dataclass
class Actor:
    code: str
    signer: Signer


class World:
    def __init__(self, harness: LedgerHarness, start: datetime | None = None) -> None:
        self.harness = harness
        self.now = start or datetime.now(UTC)

    def time(self) -> datetime:
        return self.now.astimezone(CHINA).replace(microsecond=0)

    # -- building statements ---------------------------------------------------------------------------------

    def links(self, refs: list[str]) -> dict[str, str | None]:
        with self.harness.sessions() as session:
            heads = {row.ref: row.statement_hash.hex()
                     for row in session.scalars(select(BatchHead).where(BatchHead.ref.in_(refs)))}
        return {ref: heads.get(ref) for ref in refs}

    def sign(self, signer: Signer, type_: str, body: dict[str, Any], touches: list[str] = ()) -> dict[str, Any]:
        writer = self.harness.writer(signer)
        return writer.sign(type_, body, self.time(), links=self.links(list(touches)))

    def act(self, signer: Signer, type_: str, body: dict[str, Any], touches: list[str] = ()) -> int:
        """Submit one statement that must be accepted; returns its entry index."""
        results = self.harness.append([self.sign(signer, type_, body, touches)], policy=TracePolicy())
        assert results[0].error is None, results[0].error
        assert results[0].index is not None
        return results[0].index

    def refuse(self, signer: Signer, type_: str, body: dict[str, Any], touches: list[str], code: str) -> str:
        """Submit one statement that must be refused with ``code``; prove the ledger and state are unchanged."""
        before_size, before_state = self.ledger_size(), self.state()
        with pytest.raises(BatchRefused) as refused:
            self.harness.append([self.sign(signer, type_, body, touches)], policy=TracePolicy())
        error = refused.value.results[0].error
        assert error is not None and error.code == code, error
        assert self.ledger_size() == before_size
        assert self.state() == before_state
        return error.message

    # -- registry --------------------------------------------------------------------------------------------

    def enterprise(self, code: str, roles: list[str], name: str, *, seed: int = 0, **extra: Any) -> Actor:
        signer = Signer.from_seed(code, hashlib.sha256(f"{code}/{seed}".encode()).digest())
        registrar = self.harness.keys.registrar
        body = {"credit_code": code, "name": name, "roles": roles, "commitment_sha256": COMMITMENT,
                "locations": [{"id": "main", "name": f"{name} site", "address": "Fuzhou"}], **extra}
        writer = self.harness.writer(registrar)
        envelopes = [writer.sign("trace.enterprise.register", body, self.time()),
                     writer.sign("ledger.key.add", {"subject": code, "public_key": encode_public_key(signer.public_key),
                                                    "label": "test"}, self.time())]
        results = self.harness.append(envelopes, policy=TracePolicy())
        assert all(result.error is None for result in results), results
        return Actor(code, signer)

    def registrar_act(self, type_: str, body: dict[str, Any], touches: list[str] = ()) -> int:
        return self.act(self.harness.keys.registrar, type_, body, touches)

    def product(self, owner: Actor, gtin14: str, name: str, category: str, **extra: Any) -> None:
        self.act(owner.signer, "trace.product.define",
                 {"gtin": gtin14, "name": name, "category": category, "spec": "standard", **extra})

    # -- observing -------------------------------------------------------------------------------------------

    def ledger_size(self) -> int:
        with self.harness.sessions() as session:
            return session.scalar(select(func.count()).select_from(Entry)) or 0

    def state(self) -> dict[str, set[tuple[Any, ...]]]:
        with self.harness.sessions() as session:
            return dump_tables(session)

    def assert_rebuild_matches(self) -> None:
        with self.harness.sessions() as session, replay_state(session) as replay:  # as rebuild-state --check
            difference = compare_live_state(session, replay.rows)
        assert difference.empty, difference

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def greens_lot(harness: LedgerHarness, *, farm_serial: int = 1) -> tuple[World, Actor, Actor, str]:
    """A vegetable farm (credit-code serial ``farm_serial``) that made 500 kg of lot QG-1 of its 上海青, and a
    wholesale market to ship it to: ``(world, farm, market, gtin)``. The CSV import tests' common start."""
    world = World(harness)
    farm = world.enterprise(credit_code("350121", farm_serial, "93"), ["producer"], "闽侯绿源蔬菜专业合作社")
    market = world.enterprise(credit_code("350102", 2), ["wholesaler"], "福州海峡蔬菜批发市场")
    greens = gtin("695000", 1)
    world.product(farm, greens, "上海青", "farm")
    world.act(farm.signer, "trace.commission",
              {"gtin": greens, "lot": "QG-1", "quantity": "500", "unit": "KGM", "produced_on": "2026-11-20",
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [lot(greens, "QG-1")])
    return world, farm, market, greens


@dataclass
class TeaBlend:
    """Two farm lots merged into a blend (:func:`tea_blend`): the packer that merged them, the shop registered to
    buy the blend, the GTIN of the raw tea, the two source lots, the blend's lot, and each lot's entry indexes so
    far, the merge included."""

    packer: Actor
    shop: Actor
    tea: str
    sources: list[str]
    output: str
    entries: dict[str, list[int]]


def tea_blend(world: World, *, packer_name: str = "茶叶拼配厂") -> TeaBlend:
    """Two farms (甲合作社, 乙合作社) each make 100 kg of raw oolong (lots A1 and B1, from 安溪 A1 and 安溪 B1) and ship
    it to a packer (``packer_name``), which merges 50 kg of each into 400 boxes of blend lot BL-1; a shop (社区超市)
    is registered to buy them."""
    farm_a = world.enterprise(credit_code("350121", 41, "93"), ["producer"], "甲合作社")
    farm_b = world.enterprise(credit_code("350122", 42, "93"), ["producer"], "乙合作社")
    packer = world.enterprise(credit_code("350102", 43), ["processor", "wholesaler"], packer_name)
    shop = world.enterprise(credit_code("350103", 44), ["retailer"], "社区超市")
    tea, blend = gtin("695005", 1), gtin("695005", 2)
    world.product(farm_a, tea, "乌龙茶毛茶", "farm")
    world.product(packer, blend, "拼配乌龙茶 250g", "farm")
    certificate = [{"kind": "compliance_promise", "sha256": CERT}]
    sources, entries = [], {}
    for farm, lot_number in ((farm_a, "A1"), (farm_b, "B1")):
        ref = lot(tea, lot_number)
        entries[ref] = [
            world.act(farm.signer, "trace.commission", {"gtin": tea, "lot": lot_number, "quantity": "100",
                                                        "unit": "KGM", "produced_on": "2026-10-01",
                                                        "certificates": certificate,
                                                        "origin": {"place": f"安溪 {lot_number}"}}, [ref]),
            world.act(farm.signer, "trace.ship", {"batch": ref, "quantity": "100", "to": packer.code,
                                                  "shipment_id": lot_number}, [ref]),
            world.act(packer.signer, "trace.receive", {"shipment": {"from": farm.code, "id": lot_number},
                                                       "quantity": "100"}, [ref])]
        sources.append(ref)
    output = lot(blend, "BL-1")
    merge = world.act(packer.signer, "trace.transform",
                      {"kind": "merge", "inputs": [{"batch": ref, "quantity": "50"} for ref in sources],
                       "outputs": [{"gtin": blend, "lot": "BL-1", "quantity": "400", "unit": "EA",
                                    "certificates": certificate}]},
                      [*sources, output])
    for ref in sources:
        entries[ref].append(merge)
    entries[output] = [merge]
    return TeaBlend(packer, shop, tea, sources, output, entries)
