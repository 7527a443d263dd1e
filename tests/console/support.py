"""Helpers for console tests: log in through the form, and read the CSRF token a page carries."""

from __future__ import annotations

import re
from typing import Any

from tests.api.support import make_account
from tests.conftest import LedgerHarness

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/console/login") -> str:
    """The CSRF token of the page at ``path`` (the session's token: every console form accepts it)."""
    response = client.get(path)
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def console_login(client: Any, harness: LedgerHarness, username: str, *roles: str) -> str:
    """Create the account, log in through the console's form; returns a CSRF token for later posts."""
    from tests.api.support import PASSWORD
    make_account(harness, username, *roles)
    response = client.post("/console/login", data={"username": username, "password": PASSWORD,
                                                  "csrf_token": csrf_token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_token(client, "/console/")


def post(client: Any, path: str, token: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **fields})
