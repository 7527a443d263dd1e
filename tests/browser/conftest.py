"""Browser tests: the real pages served over HTTP by a live server, driven in Debian's headless Chromium through
Playwright (no browser download: Playwright launches the system's ``chromium``).

They run on SQLite only: the pages' queries are exercised on PostgreSQL by the Flask test-client tests. Screenshots
go to ``test-artifacts/`` at the repository root (kept by CI as artefacts, ignored by git).
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import LedgerHarness
from trace.settings import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: A cheap Android phone's screen.
PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Browser tests use a fresh SQLite file only (overrides the SQLite-and-PostgreSQL parametrisation)."""
    path = tmp_path / "trace.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def live_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def app(harness: LedgerHarness, live_port: int) -> Iterator[Any]:
    """The application as served, its QR codes pointing at the live server."""
    from api import create_app
    settings = harness.settings
    application = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                              "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase,
                              "testing": True, "rate_limits": False,
                              "public_base_url": f"http://127.0.0.1:{live_port}"})
    yield application
    application.extensions["trace"].engine.dispose()


@pytest.fixture
def live_server(app: Any, live_port: int) -> Iterator[str]:
    """The app served over HTTP on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("browser tests need Debian's chromium package (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _fresh_page(chromium: Any, screen: dict[str, Any]) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies, no storage) with ``screen``'s options, Chinese first,
    collecting its script errors in ``page.js_errors``."""
    context = chromium.new_context(**screen, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A page in a fresh phone-sized browser context (no cookies, no storage)."""
    yield from _fresh_page(chromium, PHONE)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots are kept."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


#: An inspector's office screen.
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def desk(chromium: Any) -> Iterator[Any]:
    """A page in a fresh desktop-sized browser context (no cookies), with ``page.js_errors``."""
    yield from _fresh_page(chromium, DESKTOP)


def console_browser_login(page: Any, live_server: str, harness: LedgerHarness, username: str, *roles: str,
                          lang: str = "en") -> None:
    """Create the account and log in through the console's form in ``page`` (then in ``lang``)."""
    from tests.api.support import PASSWORD, make_account
    make_account(harness, username, *roles)
    page.goto(f"{live_server}/console/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/console/")
