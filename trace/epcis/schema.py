"""Validation against the official EPCIS 2.0 JSON Schema.

``EPCIS-JSON-Schema.json`` beside this module is GS1's EPCIS 2.0 JSON Schema (draft-07, ``$id``
``https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json``), vendored unchanged from the EPCIS 2.0 standard's
artefacts. Formats are checked where a checker is installed (``date-time``); ``uri`` is not format-checked.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]

from .errors import EpcisError

SCHEMA_FILE = "EPCIS-JSON-Schema.json"


@cache
def _validator() -> Draft7Validator:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return Draft7Validator(json.loads(text), format_checker=FormatChecker())


def validate_document(document: Any) -> None:
    """Return if ``document`` (parsed JSON) is valid under the official EPCIS 2.0 JSON Schema.

    Raises :class:`EpcisError` with code ``epcis.schema`` and a message naming the JSON path of the offending
    value and the schema rule it breaks (e.g. ``$.epcisBody.eventList[0].action: 'MOVE' is not valid under
    any of the given schemas (rule anyOf)``). The most specific failure is reported.
    """
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise EpcisError(describe_error(_deepest(error)), code="epcis.schema")


def _deepest(error: ValidationError) -> ValidationError:
    """Follow anyOf/oneOf/allOf down to the failure with the longest path: the value actually at fault."""
    while error.context:
        error = max(error.context, key=lambda child: (len(child.absolute_path), -len(child.absolute_schema_path)))
    return error


def describe_error(error: ValidationError) -> str:
    path = "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{path}: {error.message} (rule {error.validator})"
