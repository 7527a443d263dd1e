"""The production path, driven as an operator runs it: a fresh PostgreSQL database set up by the command line,
gunicorn with several workers serving it (keys from the environment, the passphrase from a file), concurrent
officers' actions over HTTP, then a pg_dump backup restored into another database and verified there.

Needs PostgreSQL (TRACE_TEST_DATABASE_URL names the server; the test makes and drops databases of its own) and
pg_dump/pg_restore.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import parse_verifier_key
from ledger.proofs import verify_batch_bundle
from tests.conftest import POSTGRES_URL, TEST_ORIGIN
from tests.trace.world import credit_code
from trace.demo import DEMO_PASSWORD, demo_pages

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
CONCURRENT = 6

pytestmark = pytest.mark.postgres


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two scratch databases on the test server: the deployment's and the restore target."""
    if not POSTGRES_URL:
        pytest.skip("the deployment smoke test needs PostgreSQL: set TRACE_TEST_DATABASE_URL (.ci/run does)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("the deployment smoke test needs pg_dump and pg_restore (Debian: postgresql-client)")
    base = make_url(POSTGRES_URL)
    names = (f"trace_smoke_{os.getpid()}", f"trace_restored_{os.getpid()}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=name).render_as_string(hide_password=False) for name in names)  # type: ignore[misc]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACE_")}
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("smoke-test-passphrase\n")
    env.update({"TRACE_DATABASE_URL": database_url, "TRACE_KEY_DIR": str(tmp_path / "keys"),
                "TRACE_KEY_PASSPHRASE_FILE": str(passphrase), "TRACE_LEDGER_ORIGIN": TEST_ORIGIN,
                "TRACE_LOG_FORMAT": "json", "TRACE_RATE_LIMITS": "false", **extra})
    return env


def _trace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "trace", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
             "--graceful-timeout", "5", "api:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            status, _ = _http("GET", f"http://127.0.0.1:{port}/api/v1/health")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.kill()
    raise AssertionError(f"gunicorn did not answer in 60 s: {log.read_text()[-3000:]}")


def test_gunicorn_on_postgresql_then_backup_restore_and_verify(databases: tuple[str, str], tmp_path: Path) -> None:
    live, restored = databases
    setup = _env(live, tmp_path)
    assert "created" in _trace(setup, "init-db").stdout
    _trace(setup, "load-demo")
    key_file = tmp_path / "operator.key"
    _trace(setup, "operator-key", "--out", str(key_file))
    operator_key = parse_verifier_key(key_file.read_text())

    # Serve with the keys from the environment (a secret store), not from the key directory.
    keys = tmp_path / "keys"
    serving = _env(live, tmp_path, TRACE_KEY_DIR=str(tmp_path / "no-keys-here"),
                   TRACE_OPERATOR_KEY_PEM=(keys / "operator.pem").read_text(),
                   TRACE_REGISTRAR_KEY_PEM=(keys / "registrar.pem").read_text())
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(serving, port, tmp_path / "gunicorn.log")
    try:
        status, health = _http("GET", f"{base}/api/v1/health")
        assert status == 200 and health["ledger"]["size"] > 150

        page = demo_pages()[1]
        path = page.uri("h").removeprefix("https://h")
        status, html = _http("GET", f"{base}{path}")
        assert status == 200 and "婴儿配方" in html
        status, bundle = _http("GET", f"{base}{path}?linkType=gs1:traceability")
        assert status == 200
        proved = verify_batch_bundle(bundle, operator_key)
        assert proved[0].leaf.statement.type == "trace.transform" or len(proved) >= 2

        status, login = _http("POST", f"{base}/api/v1/auth/login",
                              {"username": "registrar", "password": DEMO_PASSWORD})
        assert status == 200
        headers = {"Authorization": f"Bearer {login['token']}"}

        def register(serial: int) -> tuple[int, Any]:
            return _http("POST", f"{base}/api/v1/enterprises", {
                "credit_code": credit_code("350102", 700 + serial), "name": f"部署冒烟测试企业{serial}",
                "roles": ["retailer"], "locations": [{"id": "shop", "name": "门店", "address": "福州市鼓楼区"}],
                "commitment_sha256": "cd" * 32}, headers)
        with ThreadPoolExecutor(CONCURRENT) as pool:
            answers = list(pool.map(register, range(CONCURRENT)))
        assert [status for status, _ in answers] == [201] * CONCURRENT, answers
        status, after = _http("GET", f"{base}/api/v1/health")
        # every registration, plus the one key the operator registered for the officer (whichever worker won)
        assert after["ledger"]["size"] == health["ledger"]["size"] + CONCURRENT + 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    state = tmp_path / "audit-state"
    intact = _trace(setup, "verify", "--database", live, "--operator-key", str(key_file), "--state", str(state),
                    "--quiet")
    assert "INTACT" in intact.stdout
    assert "equal the state replayed" in _trace(setup, "rebuild-state", "--check").stdout

    dump = tmp_path / "trace.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", _libpq(live)], check=True, timeout=120)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={_libpq(restored)}", str(dump)], check=True,
                   timeout=120)
    after_restore = _env(restored, tmp_path)
    checked = _trace(after_restore, "verify", "--database", restored, "--operator-key", str(key_file), "--state",
                     str(state), "--quiet")
    assert "INTACT" in checked.stdout and "consistent with the trusted checkpoint" in checked.stdout
    assert "equal the state replayed" in _trace(after_restore, "rebuild-state", "--check").stdout
