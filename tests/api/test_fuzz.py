"""Fuzzing the API from its own OpenAPI document with schemathesis, in process, against a real ledger.

Every operation in ``/api/v1/openapi.json`` gets generated requests, valid and invalid by its documentation
(bounded and derandomised, so a run is reproducible and takes well under a minute on SQLite). Each answer must
not be a server error (under testing the app re-raises unexpected exceptions, so one fails loudly with its
traceback), must have a documented status code and content type, and must match the documented body schema and
headers; data the document declares invalid must be refused with a 4xx.

``positive_data_acceptance`` is left out: a request can be valid by the document and still be refused by the
ledger's rules (a statement whose signature does not verify is 422), which is the API working as designed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
)

from tests.conftest import LedgerHarness
from tests.trace.world import CERT, World, credit_code, gtin, lot, sscc

MAX_EXAMPLES = 25


def _seed(harness: LedgerHarness) -> dict[str, str]:
    """Two registered enterprises, a product, and a batch commissioned, shipped and received, so reads find
    real entries, batches and holdings. Returns identifiers by path parameter name (all exist but the SSCC)."""
    world = World(harness)
    farm = world.enterprise(credit_code("350100", 41), ["producer"], "闽侯蔬菜合作社")
    market = world.enterprise(credit_code("350102", 42), ["wholesaler"], "福州海峡农批")
    cabbage = gtin("695041", 1)
    world.product(farm, cabbage, "大白菜", "farm")
    batch = lot(cabbage, "C-1120")
    yesterday = (world.time() - timedelta(days=1)).date().isoformat()
    world.act(farm.signer, "trace.commission",
              {"gtin": cabbage, "lot": "C-1120", "quantity": "500", "unit": "KGM", "produced_on": yesterday,
               "certificates": [{"kind": "compliance_promise", "sha256": CERT}]}, [batch])
    world.act(farm.signer, "trace.ship", {"batch": batch, "quantity": "200", "to": market.code,
                                          "shipment_id": "S-1"}, [batch])
    world.act(market.signer, "trace.receive", {"shipment": {"from": farm.code, "id": "S-1"}, "quantity": "200"},
              [batch])
    return {"credit_code": market.code, "author": farm.code, "gtin": cabbage, "lot": "C-1120", "index": "3",
            "sscc": sscc(41)}


def test_api_keeps_to_its_document(app: Any, harness: LedgerHarness, subtests: Any) -> None:
    """Each operation of the served document, fuzzed with valid and with invalid requests, and with valid ones
    about the seeded enterprises, batches and entries (so real answers are checked against their schemas)."""
    known = _seed(harness)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        takes_input = any(len(part) for part in (operation.path_parameters, operation.query, operation.headers,
                                                 operation.cookies, operation.body))
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [(GenerationMode.POSITIVE, None)]
        if takes_input:  # without parameters or a body there is nothing to make invalid (Unsatisfiable)
            runs.append((GenerationMode.NEGATIVE, None))
        names = [parameter.name for parameter in operation.path_parameters]
        if names and all(name in known for name in names):
            runs.append((GenerationMode.POSITIVE, {name: known[name] for name in names}))
        for mode, path in runs:
            with subtests.test(msg=f"{operation.label} ({mode.value}{', seeded' if path else ''})"):
                _fuzz(operation, mode, path)


def _fuzz(operation: APIOperation, mode: GenerationMode, path_parameters: dict[str, str] | None) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def call(case: Case) -> None:
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    call()


#: Integers as a client might mangle them, which random generation rarely reaches: other scripts' digits (which
#: ``str.isdigit`` accepts and ``int`` may not), signs, spaces, exponents, and values past 64 bits.
AWKWARD_INTEGERS = ["²", "١٢", "１", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1", "", "9" * 19, "9" * 40, "0" * 30]


def test_integer_parameters_refuse_awkward_values(app: Any, harness: LedgerHarness) -> None:
    """Every integer path or query parameter, given each awkward value (other integer parameters 1, other path
    parameters an identifier that exists): never a server error, always a documented status and content type."""
    known = _seed(harness)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    tried, failures = 0, []
    for operation in (result.ok() for result in schema.get_all_operations()):
        integers = {location: [parameter.name for parameter in parameters
                               if parameter.definition.get("schema", {}).get("type") == "integer"]
                    for location, parameters in (("path", operation.path_parameters), ("query", operation.query))}
        for location, names in integers.items():
            for name in names:
                for value in AWKWARD_INTEGERS:
                    if location == "path" and not value.strip():
                        continue  # an empty or blank path segment is another URL
                    path = {parameter.name: "1" if parameter.name in integers["path"] else
                            known.get(parameter.name, "x") for parameter in operation.path_parameters}
                    query = {other: "1" for other in integers["query"]}
                    (path if location == "path" else query)[name] = value
                    case = operation.Case(path_parameters=path, query=query)
                    try:
                        case.call_and_validate(checks=checks)
                    except Exception as exc:  # noqa: BLE001  (collected, so one run names every failure)
                        failures.append(f"{operation.label} {location} {name}={value!r}: "
                                        f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                    tried += 1
    assert tried
    assert not failures, "\n".join(failures)
