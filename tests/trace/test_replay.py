"""The verifier's custody replay and rebuild-state: a ledger whose signatures and links are all valid but whose
events break a custody rule is reported at the first bad entry; the derived tables equal the replay."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger import VerificationError, verify_database, verify_export_lines, write_export
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.models import Holding
from trace.replay import CustodyReplay, genesis_registrar
from trace.store import compare_state, dump_book, dump_tables, ledger_registrar, rebuild_state


class AcceptEverything:
    """A policy that lets any trace.* statement through unchecked: how a dishonest operator would append."""

    def handles(self, statement_type: str) -> bool:
        return statement_type.startswith("trace.")

    def check(self, session: Session, statement: Any, index: int, received: Any) -> None:
        pass

    def record(self, session: Session, statement: Any, index: int) -> None:
        pass


def _export(harness: LedgerHarness) -> list[bytes]:
    buffer = io.BytesIO()
    with harness.sessions() as session:
        write_export(session, buffer, origin=harness.config.origin)
    return buffer.getvalue().splitlines(keepends=True)


def _farm(world: World) -> tuple[Any, Any, str]:
    farm = world.enterprise(credit_code("350121", 51, "93"), ["producer"], "农场")
    shop = world.enterprise(credit_code("350103", 52), ["retailer"], "商店")
    greens = gtin("695006", 1)
    world.product(farm, greens, "菠菜", "farm")
    batch = lot(greens, "S1")
    world.act(farm.signer, "trace.commission", {"gtin": greens, "lot": "S1", "quantity": "10", "unit": "KGM",
                                                "produced_on": "2026-11-01",
                                                "certificates": [{"kind": "compliance_promise", "sha256": CERT}]},
              [batch])
    return farm, shop, batch


def test_an_honest_ledger_replays_and_equals_the_live_state(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, shop, batch = _farm(world)
    world.act(farm.signer, "trace.ship", {"batch": batch, "quantity": "4", "to": shop.code, "shipment_id": "1"},
              [batch])
    lines = _export(harness)
    replay = CustodyReplay(genesis_registrar(lines))
    assert replay.registrar == harness.keys.registrar.author
    report = verify_export_lines(lines, harness.operator_key, domain=replay)
    assert replay.events == 5 and report.tree_size == world.ledger_size()
    with harness.sessions() as session:
        assert compare_state(dump_tables(session), dump_book(replay.book)).empty


def test_a_custody_violation_slipped_in_by_the_operator_is_named(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, shop, batch = _farm(world)
    forged = world.sign(shop.signer, "trace.ship", {"batch": batch, "quantity": "4", "to": farm.code,
                                                    "shipment_id": "X"}, [batch])
    [result] = harness.append([forged], policy=AcceptEverything())
    lines = _export(harness)
    with pytest.raises(VerificationError) as failure:
        verify_export_lines(lines, harness.operator_key, domain=CustodyReplay(genesis_registrar(lines)))
    assert failure.value.code == "verify.domain"
    assert failure.value.index == result.index
    assert "custody.not_holder" in str(failure.value)
    verify_export_lines(lines, harness.operator_key)  # the ledger itself is intact: only the rules catch it
    with harness.sessions() as session, pytest.raises(VerificationError):
        verify_database(session, harness.operator_key, domain=CustodyReplay(ledger_registrar(session)))


def test_rebuild_state_restores_tampered_tables(harness: LedgerHarness) -> None:
    world = World(harness)
    _farm(world)
    live = world.state()
    with harness.sessions() as session:
        session.execute(delete(Holding))
        session.commit()
    with harness.sessions() as session:
        difference, written = rebuild_state(session)
        session.commit()
    assert set(difference.missing) == {"trace_holdings"} and not difference.extra
    assert written == sum(len(rows) for rows in live.values())
    assert world.state() == live
