"""The API's OpenAPI 3 document, built from the application's own routes, and a page of it for people.

Every rule under ``/api/v1`` is added with apispec's Flask plugin, so its operations come from the view's
docstring: a summary paragraph, an optional description, then ``---`` and one YAML block per HTTP method. The
builder fills what is the same everywhere: the summary and description from the docstring's text, the tag from
the blueprint, the ``operationId`` from the endpoint, the path parameters from the URL rule's converters, and the
JSON ``Error`` body of every 4xx/5xx response that names no content of its own. Every marshmallow schema that
``api.schemas`` exports is a component named after its class less ``Schema``. The document is built once per
application and served byte-identical.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from dataclasses import dataclass
from typing import Any

import yaml
from apispec import APISpec, BasePlugin
from apispec.exceptions import APISpecError
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import MODIFIERS, make_schema_key, resolve_schema_cls
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app, render_template, request
from marshmallow import Schema
from werkzeug.routing import Rule
from werkzeug.routing.converters import (
    AnyConverter,
    BaseConverter,
    IntegerConverter,
    NumberConverter,
    PathConverter,
    UUIDConverter,
)

#: The version of the API document; kept equal to ``setup.cfg``'s version (a test checks).
API_VERSION = "0.1.0"
API_PREFIX = "/api/v1"
OPENAPI_VERSION = "3.0.3"
ERROR_REF = "#/components/schemas/Error"
METHODS = ("get", "put", "post", "patch", "delete")

blueprint = Blueprint("openapi", __name__, template_folder="templates")

_DESCRIPTION = """\
A JSON API over the signed, hash-chained traceability ledger. Enterprises submit signed statements; anyone can \
read checkpoints and proofs and verify them offline with the operator's public key.

Errors always answer `{"error": {"code": "...", "message": "...", "fields": {...}}}` with a stable `code` \
(for example `proof.size` or `custody.not_holder`); `fields` names the invalid request fields. Quantities are \
decimal strings, times RFC 3339 in UTC.

Non-public operations accept an enterprise API token (`Authorization: Bearer trk_…`), a staff login session \
(`Authorization: Bearer trs_…`), or a request signed with the enterprise's ledger key \
(`Authorization: Trace-Signature key="…", time="…", signature="…"`)."""

_SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "An enterprise API token `trk_…` or a staff login session `trs_…`, sent as "
                       "`Authorization: Bearer <token>`."},
    "traceSignature": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": 'A request signed with an enterprise\'s registered ledger key: `Authorization: '
                       'Trace-Signature key="<key id>", time="<RFC 3339 time>", signature="<base64 Ed25519>"` '
                       "over the method, path with query, time and body digest. Each signature is accepted "
                       "once, within five minutes of the server's clock."},
}

_ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of the API.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "fields"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "stable error code, e.g. `proof.size`", "example": "proof.size"},
            "message": {"type": "string", "description": "what was wrong, for people"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "invalid request fields (dotted paths) and what is wrong with each"},
        }}},
}


@dataclass(frozen=True)
class ApiDocument:
    spec: dict[str, Any]
    body: bytes
    etag: str


def api_document(app: Flask) -> ApiDocument:
    """The application's OpenAPI document, built on first use and cached in ``app.extensions``."""
    document: ApiDocument | None = app.extensions.get("openapi")
    if document is None:
        spec = build_spec(app)
        body = json.dumps(spec, ensure_ascii=False, indent=1).encode("utf-8")
        document = ApiDocument(spec=spec, body=body, etag=hashlib.sha256(body).hexdigest()[:32])
        app.extensions["openapi"] = document
    return document


def api_rules(app: Flask) -> list[Rule]:
    """The rules the document must describe: everything under ``/api/v1`` except the documentation itself."""
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith(API_PREFIX + "/") and not rule.endpoint.startswith(blueprint.name + ".")]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


def documented_methods(rule: Rule) -> list[str]:
    """The rule's methods that need an operation (Flask's automatic HEAD and OPTIONS need none)."""
    return sorted(method.lower() for method in rule.methods or () if method.lower() in METHODS)


def build_spec(app: Flask) -> dict[str, Any]:
    """Build the OpenAPI document of ``app`` from its URL rules and view docstrings (deterministic output)."""
    spec = APISpec(title="产品追溯 API · Product traceability API", version=API_VERSION,
                   openapi_version=OPENAPI_VERSION, info={"description": _DESCRIPTION}, servers=[{"url": "/"}],
                   plugins=[FlaskPlugin(), marshmallow := MarshmallowPlugin(schema_name_resolver=_schema_name),
                            _DefaultsPlugin()])
    for name, scheme in _SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Error", _ERROR_SCHEMA)
    spec.components.response("Error", {"description": "the request was refused; see the error code",
                                       "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}})
    for schema_cls in _exported_schemas():
        if make_schema_key(schema_cls()) not in marshmallow.converter.refs:  # not already added as a nested one
            spec.components.schema(_component_name(schema_cls), schema=schema_cls)
    seen: set[str] = set()
    for rule in api_rules(app):
        if rule.endpoint not in seen:
            seen.add(rule.endpoint)
            view = app.view_functions[rule.endpoint]
            try:
                spec.path(view=view, app=app, parameters=_path_parameters(rule), rule=rule)
            except (APISpecError, yaml.YAMLError) as exc:
                raise APISpecError(f"the docstring of {view.__module__}.{view.__qualname__} ({rule.rule}) does "
                                   f"not give valid operations: {exc}") from exc
    document = spec.to_dict()
    document["paths"] = dict(sorted(document["paths"].items()))
    components = document["components"]
    components["schemas"] = dict(sorted(components["schemas"].items()))
    document["tags"] = _tags(app, document)
    return document


def _exported_schemas() -> list[type[Schema]]:
    """The marshmallow schema classes in ``api.schemas.__all__``, by component name."""
    from . import schemas
    exported = (getattr(schemas, name) for name in getattr(schemas, "__all__", ()))
    classes = [value for value in exported if isinstance(value, type) and issubclass(value, Schema)]
    return sorted(classes, key=_component_name)


def _component_name(schema_cls: type[Schema]) -> str:
    name = schema_cls.__name__
    return name.removesuffix("Schema") or name


def _schema_name(schema: type[Schema] | Schema) -> str | None:
    """The component name of a nested schema; ``None`` (shown inline) for an instance narrowed with ``only``,
    ``exclude``, ``partial``, ``load_only`` or ``dump_only``, which is not the component of its class."""
    if isinstance(schema, Schema) and any(getattr(schema, modifier) for modifier in MODIFIERS):
        return None
    return _component_name(resolve_schema_cls(schema))  # type: ignore[arg-type]


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    """Path parameters from the rule's converters: ``<int:index>`` is a non-negative integer, and so on."""
    return [{"name": name, "in": "path", "required": True, "schema": _converter_schema(converter)}
            for name, converter in sorted(rule._converters.items())]


def _converter_schema(converter: BaseConverter) -> dict[str, Any]:
    if isinstance(converter, NumberConverter):
        schema: dict[str, Any] = {"type": "integer" if isinstance(converter, IntegerConverter) else "number"}
        if converter.min is not None or not converter.signed:
            schema["minimum"] = converter.min if converter.min is not None else 0
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    if isinstance(converter, PathConverter):
        return {"type": "string", "minLength": 1}
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


#: What every operation with a JSON body can answer (see ``api.bodies.json_body``), unless it says otherwise.
_BODY_ERRORS = {
    "400": "the body is not JSON, has duplicate keys or floats, or is not sent as application/json "
           "(`request.json`, `request.content_type`)",
    "413": "the body is larger than the operation allows (`request.too_large`)",
    "422": "the body fails validation (`request.invalid`); `fields` names each invalid field",
}
#: What every operation that takes credentials can answer, unless it says otherwise.
_UNAUTHENTICATED = ("credentials are missing, malformed, unknown, expired or replayed (`auth.required`, "
                    "`auth.invalid`, `auth.expired`, `auth.replayed`, `auth.clock`)")


class _DefaultsPlugin(BasePlugin):
    """Fills each operation's summary, description, tags and operationId from the view, the errors that every
    operation with a JSON body or with credentials can answer, and the body of every error response."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        view, rule = kwargs["view"], kwargs["rule"]
        summary, description = _docstring_text(view.__doc__ or "")
        methods = [method for method in (operations or {}) if method in METHODS]
        for method in methods:
            operation = operations[method]  # type: ignore[index]
            if summary:
                operation.setdefault("summary", summary)
            if description:
                operation.setdefault("description", description)
            operation.setdefault("tags", [rule.endpoint.split(".")[0]])
            operation.setdefault("operationId", rule.endpoint if len(methods) == 1 else f"{rule.endpoint}.{method}")
            responses = {str(status): response for status, response in operation.get("responses", {}).items()}
            if "requestBody" in operation:
                for status, meaning in _BODY_ERRORS.items():
                    responses.setdefault(status, {"description": meaning})
            if operation.get("security"):
                responses.setdefault("401", {"description": _UNAUTHENTICATED})
            for status, response in responses.items():
                if isinstance(response, dict) and "content" not in response and "$ref" not in response \
                        and status[0] in "45":
                    response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
            operation["responses"] = dict(sorted(responses.items()))


def _docstring_text(docstring: str) -> tuple[str, str]:
    """The docstring's first paragraph (the summary) and the rest of its text before ``---``."""
    text = inspect.cleandoc(docstring).split("\n---", 1)[0].strip()
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    return (paragraphs[0] if paragraphs else ""), "\n\n".join(paragraphs[1:])


def _tags(app: Flask, document: dict[str, Any]) -> list[dict[str, str]]:
    """One tag per name the operations use, described by the first paragraph of its views' module docstring."""
    modules: dict[str, str] = {}
    for rule in api_rules(app):
        modules.setdefault(rule.endpoint.split(".")[0], app.view_functions[rule.endpoint].__module__)
    names = sorted({tag for item in document["paths"].values() for method, operation in item.items()
                    if method in METHODS for tag in operation.get("tags", ())})
    tags = []
    for name in names:
        module = sys.modules.get(modules.get(name, ""))
        summary = _docstring_text(module.__doc__ or "")[0] if module is not None else ""
        tags.append({"name": name, "description": summary} if summary else {"name": name})
    return tags


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    document = api_document(current_app)
    response = Response(document.body, mimetype="application/json")
    response.set_etag(document.etag)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@blueprint.get("/docs")
def docs_page() -> Response:
    from .openapi_page import page_model
    document = api_document(current_app)
    response = Response(render_template("openapi/docs.html", page=page_model(document.spec)),
                        mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response
