"""Stored verdicts on the batches' proof bundles (trace.verdicts): the worker's catch-up, and the public page that
reads them instead of checking the bundle on a view."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select, update

from ledger.models import Entry
from ledger.proofs import latest_checkpoint
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from trace.models import BatchEvent
from trace.settings import ROOT
from trace.verdicts import BatchVerdict, CatchUp, Verdict, VerdictProgress, catch_up, save_verdict, stored_verdict


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


def page_verdict(client: Any, chain: Chain) -> tuple[str, str]:
    """The server's verdict block of the batch's page: whether it says the proof is valid, and its text."""
    html = client.get(f"/01/{chain.gtin}/10/QG-1?lang=en").get_data(as_text=True)
    match = re.search(r'<div id="verify-server" class="small" data-ok="(true|false)">(.*?)</div>', html, re.S)
    assert match, "the page has no server verdict"
    return match.group(1), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2)))


def last_index(harness: LedgerHarness, ref: str) -> int:
    with harness.sessions() as session:
        return max(session.scalars(select(BatchEvent.entry_index).where(BatchEvent.ref == ref)))


def test_catch_up_checks_each_touched_batch_once_and_the_page_reads_its_verdict(
        client: Any, chain: Chain, harness: LedgerHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    assert catch_up(harness.sessions, harness.operator_key) == CatchUp(checked=1)
    assert catch_up(harness.sessions, harness.operator_key) == CatchUp(), "nothing new since the watermark"
    with harness.sessions() as session:
        verdict = stored_verdict(session, chain.ref, last_index=last_index(harness, chain.ref), latest=None)
        progress = session.get(VerdictProgress, 1)
    assert verdict is not None and verdict.error is None and verdict.events == 3 and verdict.earlier == 0
    assert progress is not None and progress.tree_size == harness_size(harness)

    def no_bundle(*_: Any, **__: Any) -> Any:
        raise AssertionError("the page built a bundle although the verdict was stored")
    monkeypatch.setattr("scanner_web.public_page.batch_proof", no_bundle)
    ok, text = page_verdict(client, chain)
    assert ok == "true" and f"operator checkpoint of {verdict.tree_size} entries" in text


def harness_size(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        checkpoint = latest_checkpoint(session)
        assert checkpoint is not None
        return checkpoint.tree_size


def test_a_new_event_makes_the_verdict_stale_and_the_next_round_checks_only_that_batch(
        chain: Chain, harness: LedgerHarness) -> None:
    catch_up(harness.sessions, harness.operator_key)
    before = last_index(harness, chain.ref)
    chain.world.act(chain.market.signer, "trace.ship", {"batch": chain.ref, "quantity": "100", "to": chain.shop.code,
                                                         "shipment_id": "M-1"}, [chain.ref])
    after = last_index(harness, chain.ref)
    with harness.sessions() as session:
        assert stored_verdict(session, chain.ref, last_index=after, latest=None) is None
        assert stored_verdict(session, chain.ref, last_index=before, latest=None) is not None
    assert catch_up(harness.sessions, harness.operator_key) == CatchUp(checked=1)
    with harness.sessions() as session:
        verdict = stored_verdict(session, chain.ref, last_index=after, latest=None)
        assert stored_verdict(session, chain.ref, last_index=before, latest=None) is None, "replaced, not kept"
    assert verdict is not None and verdict.error is None and verdict.events == 4 and verdict.tree_size > after


def test_an_older_verdict_never_replaces_a_newer_one(chain: Chain, harness: LedgerHarness) -> None:
    catch_up(harness.sessions, harness.operator_key)
    newest = last_index(harness, chain.ref)
    with harness.sessions() as session:
        stored = stored_verdict(session, chain.ref, last_index=newest, latest=None)
        assert stored is not None
        stale = Verdict(tree_size=2, checkpoint_time=stored.checkpoint_time, events=1, earlier=0, error=None)
        save_verdict(session, chain.ref, stale, last_index=newest - 1, latest=None)  # a slower worker's
        session.commit()
        assert stored_verdict(session, chain.ref, last_index=newest, latest=None) == stored


def test_a_page_view_stores_the_verdict_it_checked(client: Any, chain: Chain, harness: LedgerHarness) -> None:
    with harness.sessions() as session:
        assert session.scalar(select(BatchVerdict).where(BatchVerdict.ref == chain.ref)) is None
    ok, _ = page_verdict(client, chain)
    assert ok == "true"
    with harness.sessions() as session:
        verdict = stored_verdict(session, chain.ref, last_index=last_index(harness, chain.ref), latest=None)
    assert verdict is not None and verdict.error is None


def test_a_tampered_entry_is_stored_as_a_failed_verdict_and_the_page_says_what_failed(
        client: Any, chain: Chain, harness: LedgerHarness) -> None:
    tamper_shipment(harness, chain)
    assert catch_up(harness.sessions, harness.operator_key) == CatchUp(checked=1, failed=(chain.ref,))
    with harness.sessions() as session:
        verdict = stored_verdict(session, chain.ref, last_index=last_index(harness, chain.ref), latest=None)
    assert verdict is not None and verdict.error is not None
    ok, text = page_verdict(client, chain)
    assert ok == "false" and verdict.error.split(":")[0] in text


def tamper_shipment(harness: LedgerHarness, chain: Chain) -> None:
    """Change the quantity in the stored leaf of the farm's shipment, as an attacker with the database would."""
    shipped = last_index(harness, chain.ref) - 1
    with harness.sessions() as session:
        leaf = session.get(Entry, shipped).leaf
        assert b'"quantity":"300"' in leaf
        session.execute(update(Entry).where(Entry.index == shipped)
                        .values(leaf=leaf.replace(b'"quantity":"300"', b'"quantity":"30"')))
        session.commit()


def cli_environment(harness: LedgerHarness) -> dict[str, str]:
    settings = harness.settings
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    environment.update(TRACE_DATABASE_URL=settings.database_url, TRACE_KEY_DIR=settings.key_dir,
                       TRACE_KEY_PASSPHRASE=settings.key_passphrase, TRACE_LEDGER_ORIGIN=settings.ledger_origin)
    return environment


def test_the_verdicts_command_catches_up(chain: Chain, harness: LedgerHarness) -> None:
    environment = cli_environment(harness)
    first, again = (subprocess.run([sys.executable, "-m", "trace", "verdicts"], cwd=ROOT, env=environment,
                                   capture_output=True, text=True, timeout=120, check=False) for _ in range(2))
    assert first.returncode == 0, first.stderr
    assert "checked the proofs of 1 batches; 0 failed" in first.stdout
    assert "checked the proofs of 0 batches" in again.stdout


def test_the_verdicts_command_fails_on_a_tampered_batch(chain: Chain, harness: LedgerHarness) -> None:
    tamper_shipment(harness, chain)
    result = subprocess.run([sys.executable, "-m", "trace", "verdicts"], cwd=ROOT, env=cli_environment(harness),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and f"FAILED: {chain.ref}" in result.stdout
