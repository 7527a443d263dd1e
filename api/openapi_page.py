"""The OpenAPI document turned into plain values for the human-readable page (``templates/openapi/docs.html``):
operations grouped by tag, each parameter and field with its type, whether it is required, and its constraints.
References to components become links to their anchors on the same page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from .openapi import METHODS

_CODE_SPAN = re.compile(r"``(.+?)``|`([^`]+)`")


@dataclass(frozen=True)
class TypePart:
    text: str
    anchor: str = ""


@dataclass
class FieldView:
    name: str
    type: list[TypePart]
    required: bool
    constraints: list[str]
    description: Markup


@dataclass
class BodyView:
    media_type: str
    type: list[TypePart]
    fields: list[FieldView]
    constraints: list[str] = field(default_factory=list)


@dataclass
class ResponseView:
    status: str
    description: Markup
    bodies: list[BodyView]
    headers: list[FieldView]


@dataclass
class OperationView:
    anchor: str
    method: str
    path: str
    summary: str
    description: list[Markup]
    security: list[list[str]]
    parameters: list[FieldView]
    request_body: list[BodyView]
    request_required: bool
    responses: list[ResponseView]
    deprecated: bool


def page_model(spec: dict[str, Any]) -> dict[str, Any]:
    """Everything the page shows, in the document's order (paths sorted, methods in a fixed order)."""
    resolver = _Resolver(spec)
    operations: dict[str, list[OperationView]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                view = _operation(resolver, path, method, item[method], item.get("parameters", []))
                for tag in item[method].get("tags") or ["other"]:
                    operations.setdefault(tag, []).append(view)
    described = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    tags = [{"name": name, "description": _inline(described.get(name, "")), "operations": operations[name]}
            for name in sorted(operations)]
    components = spec.get("components", {})
    schemas = [{"name": name, "anchor": _schema_anchor(name), "description": _inline(schema.get("description", "")),
                "type": resolver.type_parts(schema, top=True), "fields": resolver.fields(schema)}
               for name, schema in components.get("schemas", {}).items()]
    security = [{"name": name, "anchor": f"security-{name}", "kind": _scheme_kind(scheme),
                 "description": _inline(scheme.get("description", ""))}
                for name, scheme in components.get("securitySchemes", {}).items()]
    info = spec.get("info", {})
    return {"title": info.get("title", "API"), "version": info.get("version", ""),
            "openapi": spec.get("openapi", ""), "description": _paragraphs(info.get("description", "")),
            "servers": [server.get("url", "") for server in spec.get("servers", [])],
            "tags": tags, "schemas": schemas, "security_schemes": security}


class _Resolver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, value: Any) -> Any:
        """Follow local ``$ref``s (``#/components/...``) until a value that is not a reference."""
        seen = set()
        while isinstance(value, dict) and "$ref" in value and value["$ref"] not in seen:
            seen.add(value["$ref"])
            target: Any = self.spec
            for part in value["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            value = target
        return value

    def type_parts(self, schema: Any, *, top: bool = False) -> list[TypePart]:
        if not isinstance(schema, dict):
            return [TypePart("any")]
        if "$ref" in schema and not top:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return [TypePart(name, _schema_anchor(name))]
        for key, joiner in (("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")):
            if key in schema:
                parts: list[TypePart] = []
                for position, option in enumerate(schema[key]):
                    parts += ([TypePart(joiner)] if position else []) + self.type_parts(option)
                return parts
        kind = schema.get("type", "any")
        if kind == "array":
            parts = [TypePart("array of ")] + self.type_parts(schema.get("items", {}))
        elif kind == "object" and not schema.get("properties") and isinstance(schema.get("additionalProperties"),
                                                                             dict) and schema["additionalProperties"]:
            parts = [TypePart("map of string → ")] + self.type_parts(schema["additionalProperties"])
        else:
            parts = [TypePart(f"{kind} ({schema['format']})" if "format" in schema else kind)]
        if schema.get("nullable"):
            parts.append(TypePart(" or null"))
        return parts

    def fields(self, schema: Any, prefix: str = "", depth: int = 0) -> list[FieldView]:
        """The properties of an object schema; inline objects (not references) are flattened as ``a.b``."""
        schema = self.resolve(schema) if depth == 0 else schema
        if not isinstance(schema, dict) or depth > 4:
            return []
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict) and "$ref" not in schema["items"]:
            return self.fields(schema["items"], f"{prefix}[]" if prefix else "[]", depth + 1)
        required = set(schema.get("required", ()))
        rows = []
        for name, prop in schema.get("properties", {}).items():
            full = f"{prefix}.{name}" if prefix else name
            rows.append(FieldView(full, self.type_parts(prop), name in required, _constraints(prop),
                                  _inline(prop.get("description", "") if isinstance(prop, dict) else "")))
            if isinstance(prop, dict) and "$ref" not in prop:
                inner = prop.get("items", {}) if prop.get("type") == "array" else prop
                if isinstance(inner, dict) and "$ref" not in inner and inner.get("properties"):
                    rows += self.fields(inner, f"{full}[]" if inner is not prop else full, depth + 1)
        return rows

    def body(self, media_type: str, content: dict[str, Any], *, inline: bool = True) -> BodyView:
        """A request or response body; the fields of a referenced schema are shown only when ``inline``."""
        schema = content.get("schema", {})
        resolved = self.resolve(schema)
        fields = self.fields(schema) if inline or "$ref" not in schema else []
        return BodyView(media_type, self.type_parts(schema), fields,
                        _constraints(resolved) if isinstance(resolved, dict) else [])


def _operation(resolver: _Resolver, path: str, method: str, operation: dict[str, Any],
               path_parameters: list[dict[str, Any]]) -> OperationView:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*path_parameters, *operation.get("parameters", [])]:
        parameter = resolver.resolve(parameter)
        merged[(parameter.get("in", ""), parameter.get("name", ""))] = parameter
    parameters = [FieldView(f"{parameter['name']}", resolver.type_parts(parameter.get("schema", {})),
                            bool(parameter.get("required")), [f"in {parameter['in']}",
                                                              *_constraints(parameter.get("schema", {}))],
                            _inline(parameter.get("description", "")))
                  for parameter in merged.values()]
    body = resolver.resolve(operation.get("requestBody", {}))
    request_bodies = [resolver.body(media_type, content) for media_type, content in body.get("content", {}).items()]
    responses = []
    for status, response in sorted(operation.get("responses", {}).items(), key=lambda item: str(item[0])):
        resolved = resolver.resolve(response)
        headers = [FieldView(name, resolver.type_parts(resolver.resolve(header).get("schema", {})),
                             bool(resolver.resolve(header).get("required")), [],
                             _inline(resolver.resolve(header).get("description", "")))
                   for name, header in resolved.get("headers", {}).items()]
        bodies = [resolver.body(media_type, content, inline=str(status)[:1] not in "45")
                  for media_type, content in resolved.get("content", {}).items()]
        responses.append(ResponseView(str(status), _inline(resolved.get("description", "")), bodies, headers))
    security = [sorted(requirement) for requirement in operation.get("security", resolver.spec.get("security", []))]
    anchor = "op-" + re.sub(r"[^A-Za-z0-9_.-]", "-", operation.get("operationId") or f"{method}-{path}")
    return OperationView(anchor, method.upper(), path, operation.get("summary", ""),
                         _paragraphs(operation.get("description", "")), [item for item in security if item],
                         parameters, request_bodies, bool(body.get("required")), responses,
                         bool(operation.get("deprecated")))


def _constraints(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    out = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤"),
                       ("minItems", "items ≥"), ("maxItems", "items ≤"), ("minProperties", "keys ≥"),
                       ("maxProperties", "keys ≤")):
        if key in schema:
            strict = schema.get(f"exclusive{key[:1].upper()}{key[1:]}") is True
            out.append(f"{label.replace('≥', '>').replace('≤', '<') if strict else label} {schema[key]}")
    if "pattern" in schema:
        out.append(f"matches {schema['pattern']}")
    if "enum" in schema:
        out.append("one of " + ", ".join(_show(value) for value in schema["enum"]))
    if "default" in schema:
        out.append(f"default {_show(schema['default'])}")
    if schema.get("uniqueItems"):
        out.append("unique items")
    for key in ("readOnly", "writeOnly"):
        if schema.get(key):
            out.append("response only" if key == "readOnly" else "request only")
    return out


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _inline(text: str) -> Markup:
    """Escape ``text`` and show `backticked` (or ``double-backticked``) spans as code, as CommonMark does."""
    return Markup(_CODE_SPAN.sub(lambda match: f"<code>{match.group(1) or match.group(2)}</code>", str(escape(text))))


def _paragraphs(text: str) -> list[Markup]:
    return [_inline(" ".join(part.split())) for part in text.split("\n\n") if part.strip()]


def _schema_anchor(name: str) -> str:
    return f"schema-{name}"


def _scheme_kind(scheme: dict[str, Any]) -> str:
    if scheme.get("type") == "http":
        return f"HTTP {scheme.get('scheme', '')}".strip()
    if scheme.get("type") == "apiKey":
        return f"API key in {scheme.get('in', '')} {scheme.get('name', '')}".strip()
    return str(scheme.get("type", ""))
