"""Reading statement bodies: exact field sets, typed values, precise ``body.*`` errors naming the field."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .errors import BodyError
from .identifiers import is_valid_gs1_key

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Body:
    """A statement body (a JSON object) read field by field under a path prefix for error messages."""

    def __init__(self, data: Any, path: str, required: set[str],
                 optional: frozenset[str] | set[str] = frozenset()) -> None:
        if not isinstance(data, dict):
            raise BodyError(f"{path} must be an object", code="body.type")
        missing = required - data.keys()
        unknown = data.keys() - required - optional
        if missing:
            raise BodyError(f"{path} lacks {', '.join(sorted(missing))}", code="body.missing")
        if unknown:
            raise BodyError(f"{path} has unknown field(s) {', '.join(sorted(unknown))}", code="body.unknown_field")
        self.data, self.path = data, path

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, limit: int = 200, *, pattern: re.Pattern[str] | None = None,
             optional: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None and optional:
            return None
        where = f"{self.path}.{name}"
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise BodyError(f"{where} must be a non-empty string of at most {limit} characters",
                            code="body.text")
        if _CONTROL.search(value):
            raise BodyError(f"{where} must not contain control characters", code="body.text")
        if pattern is not None and not pattern.fullmatch(value):
            raise BodyError(f"{where} {value!r} does not have the required form", code="body.text")
        return value

    def required_text(self, name: str, limit: int = 200, *, pattern: re.Pattern[str] | None = None) -> str:
        value = self.text(name, limit, pattern=pattern)
        assert value is not None
        return value

    def choice(self, name: str, allowed: frozenset[str] | set[str]) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or value not in allowed:
            raise BodyError(f"{self.path}.{name} must be one of {', '.join(sorted(allowed))}, found {value!r}",
                            code="body.choice")
        return value

    def day(self, name: str, *, optional: bool = False) -> date | None:
        value = self.data.get(name)
        if value is None and optional:
            return None
        try:
            if not isinstance(value, str) or not _DATE.fullmatch(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise BodyError(f"{self.path}.{name} must be a date YYYY-MM-DD, found {value!r}",
                            code="body.date") from None

    def sha256(self, name: str, *, optional: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise BodyError(f"{self.path}.{name} must be a SHA-256 digest in 64 lowercase hex digits",
                            code="body.hash")
        return value

    def gs1_key(self, name: str, length: int, kind: str, code: str, *, optional: bool = False) -> str | None:
        """A GS1 key of exactly ``length`` digits with a valid check digit (a GLN-13, an SSCC-18); ``code``
        otherwise."""
        value = self.text(name, length, optional=optional)
        if value is not None and (len(value) != length or not is_valid_gs1_key(value)):
            raise BodyError(f"{self.path}.{name} {value} is not a valid {kind}", code=code)
        return value

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BodyError(f"{self.path}.{name} must be a non-negative integer", code="body.type")
        return value

    def items(self, name: str, limit: int, *, minimum: int = 1, optional: bool = False) -> list[Any]:
        value = self.data.get(name)
        if value is None and optional:
            return []
        if not isinstance(value, list) or not minimum <= len(value) <= limit:
            raise BodyError(f"{self.path}.{name} must be a list of {minimum}-{limit} items", code="body.type")
        return value

    def strings(self, name: str, limit: int, item_limit: int = 64, *, optional: bool = False) -> list[str]:
        values = self.items(name, limit, optional=optional)
        for position, value in enumerate(values):
            if not isinstance(value, str) or not value or len(value) > item_limit or _CONTROL.search(value):
                raise BodyError(f"{self.path}.{name}[{position}] must be a string of 1-{item_limit} characters",
                                code="body.type")
        if len(set(values)) != len(values):
            raise BodyError(f"{self.path}.{name} lists a value twice", code="body.duplicate")
        return values

    def child(self, name: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()) -> Body:
        return Body(self.data.get(name), f"{self.path}.{name}", required, optional)
