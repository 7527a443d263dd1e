"""The synthetic scale-data generator: what it appends verifies (signatures, links, custody replay, derived
tables), holds every statement type it claims, is deterministic for a seed, and appends after existing data."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ledger import Signer, verify_database
from tests.conftest import TEST_ORIGIN, LedgerHarness, utcnow
from tests.trace.world import World
from trace.replay import CustodyReplay
from trace.store import compare_live_state, ledger_registrar, replay_state
from trace.synth import Producer, SynthError, SynthReport, _producer, _Spec, generate
from trace.synth_cast import build_cast, clusters_for, run_tag

ROOT = Path(__file__).resolve().parents[2]
TRACE_TYPES = {"trace.enterprise.register", "trace.enterprise.update", "trace.enterprise.status",
               "trace.product.define", "trace.commission", "trace.ship", "trace.receive", "trace.transform",
               "trace.aggregate", "trace.disaggregate", "trace.sell", "trace.inspect", "trace.recall",
               "trace.destroy", "trace.sensor", "trace.correct"}


def _generate(harness: LedgerHarness, entries: int, seed: int = 7) -> SynthReport:
    return generate(harness.sessions, config=harness.config, registrar=harness.keys.registrar, clock=utcnow,
                    entries=entries, seed=seed, workers=0)


def _assert_verifies(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        # A small cache: the replay spills its state to its store and starts afresh many times over.
        with CustodyReplay(ledger_registrar(session), records_in_memory=300) as custody:
            report = verify_database(session, harness.operator_key, domain=custody, threads=1)
            assert custody.spills > 3
            assert compare_live_state(session, custody.rows).empty
        with replay_state(session) as replay:  # rebuild-state --check
            assert compare_live_state(session, replay.rows).empty
    return report.tree_size


def test_generated_ledger_verifies_and_has_the_whole_mix(harness: LedgerHarness) -> None:
    report = _generate(harness, 4000)
    assert report.refused == 0 and report.appended == 4000
    assert report.start_size == 1 and report.end_size == 4001
    assert set(report.mix) == TRACE_TYPES | {"ledger.key.add"}
    assert sum(report.mix.values()) == 4000
    assert report.mix["ledger.key.add"] == report.mix["trace.enterprise.register"] == report.enterprises
    assert set(report.flags) == {"custody.short_receipt", "sensor.excursion", "unit.sold_twice"}
    assert _assert_verifies(harness) == 4001


def _spec(seed: int) -> _Spec:
    registrar = Signer.from_seed("registrar", bytes(range(32)))
    raw = registrar.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
    return _Spec(TEST_ORIGIN, seed, run_tag(seed, 1), 1, 1, "registrar", raw, 1, None)


def test_same_seed_same_statements_with_or_without_the_worker_process() -> None:
    moment = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    first = Producer(_spec(3)).produce(1500, moment)
    assert Producer(_spec(3)).produce(1500, moment) == first
    with _producer(_spec(3), 1) as produce:
        in_worker = produce(1000, moment).result() + produce(500, moment).result()
    assert in_worker == first
    assert Producer(_spec(4)).produce(1500, moment) != first


def test_appends_after_existing_data_and_refuses_clashing_identifiers(harness: LedgerHarness) -> None:
    World(harness).enterprise(_code_of_next_run(harness, seed=5), ["producer"], "已登记的企业")
    with pytest.raises(SynthError, match="choose another --seed"):
        _generate(harness, 300, seed=5)
    first = _generate(harness, 300, seed=5 + 1)
    second = _generate(harness, 300, seed=5 + 1)  # same seed, larger ledger: another run tag
    assert first.tag != second.tag and second.start_size == first.end_size
    assert _assert_verifies(harness) == second.end_size


def _code_of_next_run(harness: LedgerHarness, *, seed: int) -> str:
    """The first credit code a run with ``seed`` will use once the enterprise below is registered (two entries)."""
    size = World(harness).ledger_size()
    return build_cast(seed, run_tag(seed, size + 2), clusters_for(300)).enterprises[0].code


def test_command_line_synth_then_verify_and_rebuild_check(database_url: str, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    env.update(TRACE_DATABASE_URL=database_url, TRACE_KEY_DIR=str(tmp_path / "keys"), TRACE_KEY_PASSPHRASE="x",
               TRACE_LEDGER_ORIGIN=TEST_ORIGIN, TRACE_LOG_FORMAT="text")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trace", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    synth = run("synth", "--entries", "600", "--seed", "2", "--quiet")
    assert synth.returncode == 0, synth.stderr
    assert "appended 600 synthetic entries" in synth.stdout and "0 refused" in synth.stdout
    key = tmp_path / "operator.key"
    assert run("operator-key", "--out", str(key)).returncode == 0
    verify = run("verify", "--database", database_url, "--operator-key", str(key), "--quiet")
    assert verify.returncode == 0, verify.stderr
    assert "INTACT" in verify.stdout and "601 entries" in verify.stdout and "none broken" in verify.stdout
    check = run("rebuild-state", "--check")
    assert check.returncode == 0 and "equal the state replayed" in check.stdout, check.stderr
