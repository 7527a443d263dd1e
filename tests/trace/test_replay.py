"""The verifier's custody replay and rebuild-state: a ledger whose signatures and links are all valid but whose
events break a custody rule is reported at the first bad entry; the derived tables equal the replay, compared
table by table in key order."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from ledger import VerificationError, verify_database, verify_export_lines, write_export
from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot
from trace.models import BatchEvent, Holding
from trace.records import BatchEventRecord, HoldingRecord
from trace.replay import CustodyReplay, genesis_registrar
from trace.store import SAMPLE_ROWS, compare_live_state, ledger_registrar, rebuild_state


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
        assert compare_live_state(session, replay.rows).empty


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


def test_a_replay_spilling_after_every_statement_names_the_same_entry(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, shop, batch = _farm(world)
    world.act(farm.signer, "trace.ship", {"batch": batch, "quantity": "4", "to": shop.code, "shipment_id": "1"},
              [batch])
    forged = world.sign(shop.signer, "trace.ship", {"batch": batch, "quantity": "5", "to": farm.code,
                                                    "shipment_id": "X"}, [batch])  # the shop has 4 in transit
    [result] = harness.append([forged], policy=AcceptEverything())
    lines = _export(harness)
    with CustodyReplay(genesis_registrar(lines), records_in_memory=0) as replay, \
            pytest.raises(VerificationError) as failure:
        verify_export_lines(lines, harness.operator_key, domain=replay)
    assert (failure.value.code, failure.value.index) == ("verify.domain", result.index)
    assert "custody.not_holder" in str(failure.value)
    assert replay.spills == replay.events == 5  # every record the forged entry needs came back from the store


def test_the_state_comparison_counts_the_differing_rows_and_names_the_first(harness: LedgerHarness) -> None:
    world = World(harness)
    farm, shop, batch = _farm(world)
    world.act(farm.signer, "trace.ship", {"batch": batch, "quantity": "4", "to": shop.code, "shipment_id": "1"},
              [batch])
    with harness.sessions() as session:
        batch_events = sorted(tuple(row) for row in session.execute(select(BatchEvent.ref, BatchEvent.entry_index)))
        session.execute(update(Holding).where(Holding.holder == farm.code).values(quantity="7"))
        session.execute(delete(BatchEvent))
        session.commit()
    with harness.sessions() as session, CustodyReplay(ledger_registrar(session), records_in_memory=3) as replay:
        verify_database(session, harness.operator_key, domain=replay)
        assert session.scalar(select(func.count()).select_from(BatchEvent)) == 0
        difference = compare_live_state(session, replay.rows)
    assert set(difference.extra) == {HoldingRecord.TABLE}
    assert set(difference.missing) == {HoldingRecord.TABLE, BatchEventRecord.TABLE}
    assert (difference.extra[HoldingRecord.TABLE].count, difference.extra[HoldingRecord.TABLE].first) == (
        1, [(batch, farm.code, "7")])
    assert (difference.missing[HoldingRecord.TABLE].count, difference.missing[HoldingRecord.TABLE].first) == (
        1, [(batch, farm.code, "6")])
    events = difference.missing[BatchEventRecord.TABLE]
    assert events.count == len(batch_events) and events.first == batch_events[:SAMPLE_ROWS]
    assert difference.describe() == (
        f"trace_holdings: 1 row(s) only in the live tables, first {(batch, farm.code, '7')!r}; "
        f"trace_batch_events: {len(batch_events)} row(s) missing from the live tables, first {batch_events[0]!r}; "
        f"trace_holdings: 1 row(s) missing from the live tables, first {(batch, farm.code, '6')!r}")


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


def test_the_comparison_sorts_text_by_code_point_whatever_the_column_collation(harness: LedgerHarness) -> None:
    """Under a linguistic collation "a" sorts before "B"; the replay's store sorts by code point ("B" first). The
    live side is read with COLLATE "C", so the two stay in step."""
    if harness.engine.dialect.name != "postgresql":
        pytest.skip("column collations are PostgreSQL's")
    world = World(harness)
    farm, _, _ = _farm(world)
    greens = gtin("695006", 1)
    for lot_number in ("B", "a", "Z", "b"):
        world.act(farm.signer, "trace.commission", {"gtin": greens, "lot": lot_number, "quantity": "1", "unit": "KGM",
                                                    "produced_on": "2026-11-01",
                                                    "certificates": [{"kind": "compliance_promise", "sha256": CERT}]},
                  [lot(greens, lot_number)])
    alter = "ALTER TABLE trace_batch_events ALTER COLUMN ref TYPE VARCHAR(256) COLLATE {}"
    with harness.engine.begin() as connection:
        connection.execute(text(alter.format('"und-x-icu"')))
        linguistic = list(connection.execute(text("SELECT ref FROM trace_batch_events ORDER BY ref")).scalars())
    try:
        assert linguistic != sorted(linguistic)  # the column's own order is not Python's
        with harness.sessions() as session, CustodyReplay(ledger_registrar(session)) as replay:
            verify_database(session, harness.operator_key, domain=replay)
            assert compare_live_state(session, replay.rows).empty
    finally:
        with harness.engine.begin() as connection:
            connection.execute(text(alter.format('"default"')))
