"""The demo data: loaded through the signed append path it verifies (signatures, links, checkpoints, custody
replay, derived tables), loads once, and tells the stories it claims through the read models."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ledger import verify_database
from ledger.models import Entry
from tests.conftest import LedgerHarness, utcnow
from trace.access_models import Account
from trace.complaint_models import Complaint, ComplaintRecipient
from trace.context import sscc_ref
from trace.demo import CHAINS, DEMO_ACCOUNTS, DEMO_COMPLAINTS, demo_enterprises, demo_pages, demo_products, load_demo
from trace.demo_fresh import PORK_EXCURSION, RICE_LOTS, RICE_MERGED, VEGETABLE_LOTS, VEGETABLE_RETAIL
from trace.demo_packaged import DRUG_LOT, FORMULA_LOTS, FORMULA_PALLETS, FORMULA_RECALLED
from trace.identifiers import is_valid_gs1_key, is_valid_uscc, parse_drug_code
from trace.models import Flag, Unit
from trace.provenance import trace_back, trace_forward
from trace.queries import batch, enterprise, list_enterprises, lot_ref_of, sscc_ref_of
from trace.replay import CustodyReplay
from trace.store import compare_live_state, ledger_registrar, replay_state


def _load(harness: LedgerHarness) -> int:
    return load_demo(harness.sessions, config=harness.config, registrar=harness.keys.registrar, clock=utcnow)


def _size(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def _ref(key_and_lot: tuple[str, str]) -> str:
    key, lot = key_and_lot
    return lot_ref_of(demo_products()[key].gtin, lot)


def test_loads_once_and_the_whole_ledger_verifies(harness: LedgerHarness) -> None:
    appended = _load(harness)
    assert 100 < appended < 400
    size = _size(harness)
    assert size == appended + 1
    assert _load(harness) == 0
    assert _size(harness) == size
    with harness.sessions() as session:
        custody = CustodyReplay(ledger_registrar(session))
        report = verify_database(session, harness.operator_key, domain=custody, threads=1)
        assert report.tree_size == size
        assert custody.events == appended - len(demo_enterprises())  # all but the ledger.key.add statements
        assert compare_live_state(session, custody.rows).empty
        with replay_state(session) as replay:  # rebuild-state --check
            assert compare_live_state(session, replay.rows).empty
        assert all(session.get(Account, name) is not None for name, _, _ in DEMO_ACCOUNTS)


def test_fixture_identifiers_are_valid() -> None:
    enterprises = demo_enterprises()
    assert all(is_valid_uscc(item.credit_code) for item in enterprises)
    assert len({item.handle for item in enterprises}) == len(enterprises)
    assert all(is_valid_gs1_key(location["gln"]) for item in enterprises for location in item.locations
               if "gln" in location)
    products = demo_products()
    assert all(is_valid_gs1_key(product.gtin) and len(product.gtin) == 14 for product in products.values())
    assert {product.owner for product in products.values()} <= {item.handle for item in enterprises}
    assert all(is_valid_gs1_key(sscc) for sscc in FORMULA_PALLETS)
    serial = next(page.serial for page in demo_pages() if page.serial is not None)
    assert parse_drug_code(serial).product_prefix == products[DRUG_LOT[0]].drug_code_prefix


def test_enterprises_span_roles_regions_and_standing(harness: LedgerHarness) -> None:
    _load(harness)
    with harness.sessions() as session:
        listed = list_enterprises(session, after=None, limit=100)
        assert len(listed) == len(demo_enterprises()) >= 12
        assert {role for item in listed for role in item["roles"]} == {
            "producer", "processor", "wholesaler", "retailer", "caterer", "logistics"}
        assert len({item["region"][:2] for item in listed}) >= 8  # provinces
        assert all(item["locations"] for item in listed)
        blacklisted = [item for item in listed if item["status"] != "active"]
        assert len(blacklisted) == 1 and blacklisted[0]["status"] == "blacklisted"
        assert "严重违法失信名单" in blacklisted[0]["status_reason"]
        assert len(enterprise(session, blacklisted[0]["credit_code"])["keys"]) == 1


def test_vegetables_trace_back_to_the_harvest_with_certificates(harness: LedgerHarness) -> None:
    _load(harness)
    retail, harvest = _ref(VEGETABLE_RETAIL), _ref(VEGETABLE_LOTS)
    with harness.sessions() as session:
        graph = trace_back(session, retail)
        assert graph.sources == [harvest]
        assert [(link.parent, link.kind) for link in graph.links] == [(harvest, "transform")]
        source = graph.nodes[harvest]
        assert json.loads(source.origin)["farm"] == "绿源蔬菜基地 3 号大棚"
        assert source.inspection == "conformant"
        for node in (source, graph.nodes[retail]):
            assert [item["kind"] for item in json.loads(node.certificates)] == ["compliance_promise"]
        types = [hop.type for hop in graph.events.values()]
        assert types.count("trace.sell") == 3 and "trace.receive" in types
        shown = batch(session, retail)
        assert shown["status"] == "active" and float(shown["outstanding"]) < float(shown["quantity"])
        flags = set(session.execute(select(Flag.code, Flag.subject)))
        assert ("custody.short_receipt", harvest) in flags


def test_rice_is_merged_from_two_farmers_and_passed_inspection(harness: LedgerHarness) -> None:
    _load(harness)
    merged = _ref(RICE_MERGED)
    with harness.sessions() as session:
        graph = trace_back(session, merged)
        assert len(graph.sources) == 2 and _ref(RICE_LOTS) in graph.sources
        creators = {graph.nodes[source].creator for source in graph.sources}
        assert len(creators) == 2
        assert {link.kind for link in graph.links} == {"transform"}
        registrar = ledger_registrar(session)
        inspections = [hop for hop in graph.events.values() if hop.type == "trace.inspect"]
        assert [(hop.actor, json.loads(hop.summary)["result"]) for hop in inspections] == [(registrar, "conformant")]
        assert json.loads(inspections[0].summary)["certificate_sha256"]


def test_pork_excursion_is_flagged(harness: LedgerHarness) -> None:
    _load(harness)
    belly = _ref(PORK_EXCURSION)
    with harness.sessions() as session:
        flags = session.scalars(select(Flag).where(Flag.code == "sensor.excursion")).all()
        assert [flag.subject for flag in flags] == [belly]
        assert json.loads(flags[0].detail)["count"] == 2
        graph = trace_back(session, belly)
        assert len(graph.sources) == 1 and graph.nodes[graph.sources[0]].produced_on == "2026-10-26"
        assert "trace.destroy" in {hop.type for hop in graph.events.values()}


def test_formula_recall_reaches_every_downstream_batch_and_is_in_progress(harness: LedgerHarness) -> None:
    _load(harness)
    base, recalled = _ref(FORMULA_LOTS), _ref(FORMULA_RECALLED)
    pallet = sscc_ref_of(FORMULA_PALLETS[0])
    with harness.sessions() as session:
        shown = batch(session, recalled)
        assert shown["inspection"] == "non_conformant"
        assert [recall["source_ref"] for recall in shown["recalls"]] == [base]
        forward = trace_forward(session, base)
        downstream = set(forward.nodes) - {base}
        assert pallet in downstream and recalled in downstream and len(downstream) == 3
        assert all(node.recalls for node in forward.nodes.values())
        assert {holder.state for holder in forward.holders} == {"held", "in_transit"}
        assert not batch(session, sscc_ref(FORMULA_PALLETS[1]))["recalls"]


def test_drug_box_sold_twice_is_flagged(harness: LedgerHarness) -> None:
    _load(harness)
    page = next(page for page in demo_pages() if page.serial is not None)
    with harness.sessions() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_id == page.serial)).one()
        assert unit.ref == _ref(DRUG_LOT) and unit.sold_count == 2 and unit.status == "sold"
        flag = session.scalars(select(Flag).where(Flag.code == "unit.sold_twice")).one()
        assert flag.subject == page.serial
        seller = json.loads(flag.detail)["seller"]
        assert enterprise(session, seller)["status"] == "blacklisted"
        assert session.scalar(select(func.count()).select_from(Unit).where(Unit.ref == unit.ref)) == 60


def test_demo_pages_name_existing_batches(harness: LedgerHarness) -> None:
    _load(harness)
    pages = demo_pages()
    assert len(pages) >= 5
    with harness.sessions() as session:
        for page in pages:
            ref = sscc_ref_of(page.sscc) if page.sscc else lot_ref_of(page.gtin or "", page.lot or "")
            assert batch(session, ref)["ref"] == ref
            assert page.uri("trace.example").startswith("https://trace.example/0")
    assert {chain.name for chain in CHAINS} == {"vegetables", "pork", "rice", "infant formula", "drug"}



def test_consumers_complaints_are_filed_once_and_routed(harness: LedgerHarness) -> None:
    _load(harness)
    _load(harness)
    with harness.sessions() as session:
        complaints = session.scalars(select(Complaint)).all()
        assert len(complaints) == len(DEMO_COMPLAINTS)
        formula = _ref(FORMULA_RECALLED)
        assert sum(complaint.ref == formula for complaint in complaints) == 2
        anchors = session.scalars(select(Entry.type).where(Entry.index.in_(
            [complaint.anchor_index for complaint in complaints]))).all()
        assert anchors == ["trace.complaint.anchor"] * len(DEMO_COMPLAINTS)
        routed = session.scalars(select(ComplaintRecipient.party).where(
            ComplaintRecipient.ticket == complaints[0].ticket)).all()
        assert "regulator" in routed and len(routed) > 1
