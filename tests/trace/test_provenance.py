"""Provenance reads: each batch's latest events only (``latest_events``) with the count of all of them, and the
graph's records read from plain rows."""

from __future__ import annotations

import pytest

from tests.conftest import LedgerHarness
from tests.trace.world import World, tea_blend
from trace.provenance import BatchNode, Link, trace_back, trace_forward


def _merged_and_sold(world: World) -> tuple[list[str], str, dict[str, list[int]]]:
    """Two farm lots merged into a blend that a shop sells three times; every batch's entry indexes in order."""
    made = tea_blend(world)
    packer, shop, output, entries = made.packer, made.shop, made.output, made.entries
    entries[output] += [world.act(packer.signer, "trace.ship", {"batch": output, "quantity": "40", "to": shop.code,
                                                                "shipment_id": "S-1"}, [output]),
                        world.act(shop.signer, "trace.receive", {"shipment": {"from": packer.code, "id": "S-1"},
                                                                 "quantity": "40"}, [output])]
    entries[output] += [world.act(shop.signer, "trace.sell", {"batch": output, "quantity": "1"}, [output])
                        for _ in range(3)]
    return made.sources, output, entries


def test_latest_events_keeps_each_batchs_latest_and_counts_them_all(harness: LedgerHarness) -> None:
    world = World(harness)
    sources, output, entries = _merged_and_sold(world)
    with harness.sessions() as session:
        full = trace_back(session, output)
        bounded = trace_back(session, output, latest_events=2)
        roomy = trace_back(session, output, latest_events=6)  # no batch has more than 6 events
        counted = trace_back(session, output, latest_events=0)
        bare = trace_back(session, output, with_events=False)
        forward = trace_forward(session, sources[0], with_events=True, latest_events=1)
    assert set(full.nodes) == set(bounded.nodes) == {output, *sources}
    for ref, indexes in entries.items():
        assert full.nodes[ref].events == tuple(indexes)
        assert full.nodes[ref].event_count == len(indexes)
        assert bounded.nodes[ref].events == tuple(indexes[-2:])
        assert bounded.nodes[ref].event_count == len(indexes)
        assert counted.nodes[ref].events == ()
        assert counted.nodes[ref].event_count == len(indexes)
        assert bare.nodes[ref].events == () and bare.nodes[ref].event_count is None
    assert set(full.events) == {index for indexes in entries.values() for index in indexes}
    assert set(bounded.events) == {index for indexes in entries.values() for index in indexes[-2:]}
    assert [hop.type for _, hop in sorted(bounded.events.items())][-2:] == ["trace.sell", "trace.sell"]
    assert counted.events == {} and bare.events == {}
    assert roomy.nodes == full.nodes and roomy.events == full.events
    assert bounded.links == full.links and bounded.sources == full.sources == sorted(sources)
    assert forward.nodes[sources[0]].events == (entries[sources[0]][-1],)
    assert forward.nodes[output].events == (entries[output][-1],)
    assert forward.nodes[output].event_count == len(entries[output])


def test_a_negative_bound_is_refused(harness: LedgerHarness) -> None:
    world = World(harness)
    _, output, _ = _merged_and_sold(world)
    with harness.sessions() as session, pytest.raises(ValueError, match="latest_events must be 0 or more"):
        trace_back(session, output, latest_events=-1)


def test_records_read_from_rows_behave_as_sequences_and_mappings(harness: LedgerHarness) -> None:
    world = World(harness)
    sources, output, _ = _merged_and_sold(world)
    with harness.sessions() as session:
        graph = trace_back(session, output)
    assert len(graph.links) == 2 and isinstance(graph.links[0], Link)
    assert graph.links[-1:] == [graph.links[1]] and list(graph.links) == [graph.links[0], graph.links[1]]
    assert [(link.parent, link.child) for link in graph.links] == [(sources[0], output), (sources[1], output)]
    node = graph.nodes[output]
    assert isinstance(node, BatchNode) and node == graph.nodes[output] and node.ref == output
    assert output in graph.nodes and "01/00000000000000/10/nope" not in graph.nodes
    assert graph.nodes.get("01/00000000000000/10/nope") is None
    assert dict(graph.nodes.items()) == {ref: graph.nodes[ref] for ref in graph.nodes}
    assert graph.links[0]._asdict()["child"] == output
