"""The command line end to end, as an operator and an inspector use it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_ORIGIN

ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trace", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    env.update(TRACE_DATABASE_URL=database_url, TRACE_KEY_DIR=str(tmp_path / "keys"),
               TRACE_KEY_PASSPHRASE="cli-test", TRACE_LEDGER_ORIGIN=TEST_ORIGIN, TRACE_LOG_FORMAT="text")
    return env


def test_operator_and_inspector_workflow(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    first = _run(env, "init-db")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    assert "already initialised" in _run(env, "init-db").stdout

    key_file, state = tmp_path / "operator.key", tmp_path / "state"
    assert _run(env, "operator-key", "--out", str(key_file)).returncode == 0
    assert key_file.read_text().startswith(TEST_ORIGIN + "+")
    early = tmp_path / "early.export"
    assert _run(env, "export", "--out", str(early)).returncode == 0

    demo = _run(env, "load-demo")
    loaded = re.search(r"demo data: (\d+) statements appended \((\d+) demo enterprises\)", demo.stdout)
    assert demo.returncode == 0 and loaded is not None, demo.stderr
    entries = int(loaded[1]) + 1  # and the genesis entry
    events = int(loaded[1]) - int(loaded[2])  # all but one ledger.key.add per demo enterprise
    assert "0 statements appended" in _run(env, "load-demo").stdout
    export = tmp_path / "ledger.export"
    assert f"exported {entries} entries" in _run(env, "export", "--out", str(export)).stdout

    intact = _run(env, "verify", str(export), "--operator-key", str(key_file), "--state", str(state), "--quiet")
    assert intact.returncode == 0, intact.stderr
    assert "INTACT" in intact.stdout and f"{entries} entries" in intact.stdout
    assert f"custody rules replayed over {events} traceability events: none broken" in intact.stdout
    database = _run(env, "verify", "--database", database_url, "--operator-key", str(key_file), "--state",
                    str(state), "--quiet")
    assert database.returncode == 0, database.stderr
    assert f"consistent with the trusted checkpoint of size {entries}" in database.stdout

    rollback = _run(env, "verify", str(early), "--operator-key", str(key_file), "--state", str(state), "--quiet")
    assert rollback.returncode == 1 and "verify.rollback" in rollback.stderr

    lines = export.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"label":"', b'"label":"X', 1)
    tampered = tmp_path / "tampered.export"
    tampered.write_bytes(b"\n".join(lines))
    bad = _run(env, "verify", str(tampered), "--operator-key", str(key_file), "--quiet")
    assert bad.returncode == 1 and "NOT INTACT: entry 2: signature.invalid" in bad.stderr

    check = _run(env, "rebuild-state", "--check")
    assert check.returncode == 0 and "equal the state replayed" in check.stdout, check.stderr
    rebuilt = _run(env, "rebuild-state")
    assert rebuilt.returncode == 0 and "were equal to the replay" in rebuilt.stdout, rebuilt.stderr


def test_missing_settings_fail_fast_with_what_to_set(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    del env["TRACE_KEY_PASSPHRASE"]
    result = _run(env, "init-db")
    assert result.returncode == 2 and "TRACE_KEY_PASSPHRASE" in result.stderr
    env["TRACE_KEY_PASSPHRASE"] = "x"
    env["TRACE_LEDGER_ORIGIN"] = "bad origin"
    result = _run(env, "init-db")
    assert result.returncode == 2 and "TRACE_LEDGER_ORIGIN" in result.stderr
    result = _run(_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path), "verify", "--operator-key", "nope")
    assert result.returncode == 2
