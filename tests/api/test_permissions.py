"""The permission matrix of docs/api.md, cell by cell: every endpoint that is not plainly public, called by each
kind of caller, including the calls that must be refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.api.support import as_json, login, signed, small_chain, token_for
from tests.conftest import LedgerHarness
from tests.trace.world import credit_code

CALLERS = ("anonymous", "own_token", "own_signed", "other_token", "inspector", "registrar", "administrator")

# (method, path template, body, expected status per caller in CALLERS order). "own" is the farm: the maker of the
# batch and the enterprise whose records are read; "other" is the market.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("GET", "/api/v1/enterprises", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/enterprises/{own}", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/products", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/batches/01/{gtin}/10/QG-1", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/batches/01/{gtin}/10/QG-1/history", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/batches/01/{gtin}/10/QG-1/provenance", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/batches/01/{gtin}/10/QG-1/bundle", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/ledger/checkpoint", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/batches/01/{gtin}/10/QG-1/downstream", None, (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/enterprises/{own}/holdings", None, (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/enterprises/{own}/shipments", None, (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/enterprises/{own}/tokens", None, (401, 200, 200, 403, 403, 200, 403)),
    ("POST", "/api/v1/enterprises/{own}/tokens", {"label": "x"}, (401, 201, 201, 403, 403, 201, 403)),
    ("GET", "/api/v1/ledger/entries?start=0", None, (401, 403, 403, 403, 200, 200, 200)),
    ("GET", "/api/v1/ledger/export", None, (401, 403, 403, 403, 200, 200, 200)),
    ("GET", "/api/v1/key-requests", None, (401, 403, 403, 403, 403, 200, 403)),
    ("POST", "/api/v1/enterprises", "register", (401, 403, 403, 403, 403, 201, 403)),
    ("POST", "/api/v1/enterprises/{other}/status", {"status": "abnormal", "reason": "未按规定公示",
                                                     "legal_basis": "《企业信息公示暂行条例》第十七条"},
     (401, 403, 403, 403, 403, 200, 403)),
]


def _callers(client: Any, harness: LedgerHarness, own: Any, other: str) -> dict[str, Callable[..., dict[str, str]]]:
    own_token, other_token = token_for(harness, own.code), token_for(harness, other)
    accounts = {role: login(client, harness, f"{role[:5]}.one", role)
                for role in ("inspector", "registrar", "administrator")}
    return {"anonymous": lambda method, path, body: {},
            "own_token": lambda method, path, body: own_token,
            "own_signed": lambda method, path, body: signed(own.signer, method, path, body),
            "other_token": lambda method, path, body: other_token,
            **{role: (lambda method, path, body, headers=headers: headers) for role, headers in accounts.items()}}


def test_every_cell_of_the_permission_matrix(client: Any, harness: LedgerHarness) -> None:
    chain = small_chain(harness)
    callers = _callers(client, harness, chain.farm, chain.market.code)
    failures = []
    for method, template, body, expected in MATRIX:
        path = template.format(own=chain.farm.code, other=chain.market.code, gtin=chain.gtin)
        for caller, status in zip(CALLERS, expected, strict=True):
            payload = body
            if body == "register":
                payload = {"credit_code": credit_code("350104", len(failures) + 50), "name": "新店",
                           "roles": ["retailer"], "commitment_sha256": hashlib.sha256(b"c").hexdigest(),
                           "locations": [{"id": "a", "name": "门店", "address": "福州"}]}
            data = as_json(payload) if payload is not None else b""
            headers = callers[caller](method, path, data)
            if payload is not None:
                headers = {**headers, "Content-Type": "application/json"}
            response = client.open(path, method=method, data=data or None, headers=headers)
            if response.status_code != status:
                failures.append(f"{method} {template} as {caller}: {response.status_code}, expected {status} "
                                f"({response.get_json() if response.is_json else ''})")
            elif status in (401, 403):
                code = response.get_json()["error"]["code"]
                assert code == ("auth.required" if status == 401 else "auth.forbidden"), (template, caller, code)
    assert failures == []
