"""The OpenAPI document: every /api/v1 route documented, a valid OpenAPI 3.0 document, served deterministically,
and the page for people that is rendered from it."""

from __future__ import annotations

import configparser
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from apispec_webframeworks.flask import FlaskPlugin
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

import api.schemas
from api.openapi import API_VERSION, api_document, api_rules, build_spec, documented_methods

ROOT = Path(__file__).resolve().parents[2]


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(path, method): operation for path, item in spec["paths"].items()
            for method, operation in item.items() if method in ("get", "put", "post", "patch", "delete")}


def test_every_api_route_has_a_documented_operation(app: Any) -> None:
    """An undocumented route, method or path parameter fails the build; so does documentation of a route that
    no longer exists."""
    spec = api_document(app).spec
    operations = _operations(spec)
    routed: set[tuple[str, str]] = set()
    problems: list[str] = []
    for rule in api_rules(app):
        path = FlaskPlugin.flaskpath2openapi(rule.rule)
        for method in documented_methods(rule):
            routed.add((path, method))
            label = f"{method.upper()} {path} ({rule.endpoint})"
            operation = operations.get((path, method))
            if operation is None:
                problems.append(f"{label}: no operation; add YAML after --- in the view's docstring")
                continue
            statuses = [str(status) for status in operation.get("responses", {})]
            if not any(status.startswith("2") for status in statuses):
                problems.append(f"{label}: no 2xx response documented")
            if not any(status[0] in "45" for status in statuses):
                problems.append(f"{label}: no error response documented")
            if not operation.get("summary"):
                problems.append(f"{label}: no summary (the docstring's first paragraph)")
            declared = {parameter["name"] for parameter in [*spec["paths"][path].get("parameters", []),
                                                            *operation.get("parameters", [])]
                        if parameter.get("in") == "path"}
            if declared != set(rule.arguments):
                problems.append(f"{label}: path parameters {sorted(declared)} != {sorted(rule.arguments)}")
    problems += [f"{method.upper()} {path}: documented but not routed" for path, method in operations
                 if (path, method) not in routed]
    assert not problems, "\n".join(problems)
    assert routed, "no /api/v1 routes found"
    operation_ids = [operation["operationId"] for operation in operations.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_error_responses_have_the_error_shape(app: Any) -> None:
    spec = api_document(app).spec
    for (path, method), operation in _operations(spec).items():
        for status, response in operation["responses"].items():
            if status[0] in "45" and "$ref" not in response:
                assert "application/json" in response.get("content", {}), f"{method} {path} {status}"
    ledger = _operations(spec)[("/api/v1/ledger/proofs/inclusion", "get")]["responses"]
    assert ledger["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_document_is_valid_openapi(app: Any) -> None:
    spec = api_document(app).spec
    assert spec["openapi"] == "3.0.3"
    validate(spec, cls=OpenAPIV30SpecValidator)


def test_components_security_and_info(app: Any) -> None:
    spec = api_document(app).spec
    components = spec["components"]
    for name in getattr(api.schemas, "__all__", ()):
        assert name.removesuffix("Schema") in components["schemas"], name
    assert components["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message", "fields"]
    assert components["responses"]["Error"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/Error"
    assert components["securitySchemes"]["bearerAuth"] == {**components["securitySchemes"]["bearerAuth"],
                                                           "type": "http", "scheme": "bearer"}
    assert components["securitySchemes"]["traceSignature"]["in"] == "header"
    assert components["securitySchemes"]["traceSignature"]["name"] == "Authorization"
    assert spec["servers"] == [{"url": "/"}]
    assert spec["info"]["version"] == API_VERSION
    assert {tag["name"] for tag in spec["tags"]} >= {"ledger"}


def test_api_version_matches_setup_cfg() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    assert API_VERSION == config["metadata"]["version"]


def test_ledger_views_document_their_parameters(app: Any) -> None:
    operations = _operations(api_document(app).spec)
    inclusion = {parameter["name"]: parameter for parameter in
                 operations[("/api/v1/ledger/proofs/inclusion", "get")]["parameters"]}
    assert inclusion["index"]["required"] and inclusion["index"]["schema"]["minimum"] == 0
    assert inclusion["tree_size"]["schema"]["maximum"] == 10 ** 18 - 1
    checkpoint = operations[("/api/v1/ledger/checkpoint", "get")]["responses"]["200"]
    assert list(checkpoint["content"]) == ["text/plain"]
    assert operations[("/api/v1/ledger/checkpoint", "get")]["summary"].startswith("The latest checkpoint")


def test_the_document_is_served_once_built_and_deterministic(client: Any, app: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["ETag"] and response.headers["Cache-Control"] == "no-cache"
    assert json.loads(response.get_data()) == json.loads(json.dumps(build_spec(app)))
    assert json.dumps(build_spec(app)) == json.dumps(build_spec(app))
    assert api_document(app) is api_document(app)
    again = client.get("/api/v1/openapi.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name] or "")


def test_the_docs_page_shows_every_operation_and_schema(client: Any, app: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    parser = _Page()
    parser.feed(page)
    spec = api_document(app).spec
    for (path, method), operation in _operations(spec).items():
        assert path in page and f"op-{operation['operationId']}" in parser.ids, (method, path)
    for name in spec["components"]["schemas"]:
        assert f"schema-{name}" in parser.ids, name
    anchors = [link[1:] for link in parser.links if link.startswith("#")]
    assert anchors and not [anchor for anchor in anchors if anchor not in parser.ids]
    assert "openapi.json" in parser.links
    # Served by the app alone: no scripts, no stylesheets or fonts from elsewhere.
    assert "script" not in parser.tags
    assert not [link for link in parser.links if "//" in link]
    assert "tree_size" in page and "≤ 999999999999999999" in page and "text/plain" in page
