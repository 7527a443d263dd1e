"""A small JSON-over-HTTP client on :mod:`urllib.request`: timeouts, retries with exponential backoff that
honour ``Retry-After``, and every error answer turned into a :class:`ServerError` carrying the server's code.

Retrying a POST is safe for this API: a resubmitted statement is a duplicate answered with its original index,
and a repeated key request returns the pending one.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from .errors import ClientError, ServerError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 300.0
USER_AGENT = "trace-client/1"


@dataclass(frozen=True)
class JsonResponse:
    status: int
    body: Any


class JsonClient:
    """JSON requests to one server (``base_url`` such as ``https://trace.example.cn``; paths start with
    ``/api/v1``). ``retries`` is how many times a failed attempt is repeated; the pause doubles from
    ``backoff`` seconds, up to ``max_backoff``, unless the server sends ``Retry-After``."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, retries: int = 5, backoff: float = 1.0,
                 max_backoff: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ClientError(f"server URL must start with http:// or https://, found {base_url!r}",
                              code="client.input")
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff, self.max_backoff = timeout, retries, backoff, max_backoff
        self.sleep = sleep

    def get(self, path: str) -> Any:
        """GET ``path``; returns the parsed body of a 200 answer, raises :class:`ServerError` otherwise."""
        return self.request("GET", path).body

    def post(self, path: str, body: Any, *, accept: Collection[int] = (200, 201, 202)) -> JsonResponse:
        """POST ``body`` as JSON; returns the answer when its status is in ``accept``."""
        return self.request("POST", path, body, accept=accept)

    def request(self, method: str, path: str, body: Any = None, *, accept: Collection[int] = (200,),
                raw: tuple[bytes, str] | None = None,
                sign: Callable[[str, str, bytes], dict[str, str]] | None = None) -> JsonResponse:
        """Send one request, retrying network errors and 429/502/503/504. ``raw`` is a body that is not JSON
        as ``(bytes, content type)``; ``sign(method, path, body)`` gives headers that authenticate each attempt
        afresh (a signed request is accepted once). Raises :class:`ServerError` for an answer outside ``accept``
        and :class:`ClientError` (``client.network``) when every attempt failed."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        content_type = "application/json"
        if raw is not None:
            data, content_type = raw
        attempt = 0
        while True:
            try:
                extra = sign(method, path, data or b"") if sign is not None else {}
                return self._attempt(method, path, data, accept, {"Content-Type": content_type, **extra}
                                     if data is not None else extra)
            except _Retryable as failure:
                if attempt >= self.retries:
                    raise failure.error from None
                pause = failure.retry_after if failure.retry_after is not None else self._pause(attempt)
                logger.warning("retrying %s %s in %.1f s: %s", method, path, pause, failure.error)
                self.sleep(pause)
                attempt += 1

    def _pause(self, attempt: int) -> float:
        base: float = min(self.max_backoff, self.backoff * 2 ** attempt)
        return base * (0.5 + random.random() / 2)  # jitter, so many clients do not retry in step

    def _attempt(self, method: str, path: str, data: bytes | None, accept: Collection[int],
                 request_headers: dict[str, str]) -> JsonResponse:
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Accept": "application/json", "User-Agent": USER_AGENT, **request_headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, raw, headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as exc:
            status, raw, headers = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retryable(ClientError(f"{method} {self.base_url}{path}: {reason}", code="client.network"),
                             None) from None
        parsed = _parse(raw)
        if status in accept and parsed is not _NOT_JSON:
            return JsonResponse(status, parsed)
        error = _server_error(method, path, status, parsed, raw)
        if status in RETRY_STATUSES:
            raise _Retryable(error, _retry_after(headers.get("Retry-After")))
        raise error


def quote_segment(value: str) -> str:
    """``value`` as one URL path segment (``/`` and every other reserved character percent-encoded)."""
    return quote(value, safe="")


_NOT_JSON = object()


class _Retryable(Exception):
    def __init__(self, error: ClientError, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error, self.retry_after = error, retry_after


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _NOT_JSON


def _server_error(method: str, path: str, status: int, parsed: Any, raw: bytes) -> ServerError:
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
        return ServerError(str(error.get("message", "")), code=error["code"], status=status, fields=fields,
                           body=parsed)
    if parsed is _NOT_JSON:
        excerpt = raw[:200].decode("utf-8", "replace").strip()
        return ServerError(f"{method} {path} answered {status} with a non-JSON body: {excerpt!r}",
                           code=f"http.{status}", status=status)
    return ServerError(f"{method} {path} answered {status} without an error object", code=f"http.{status}",
                       status=status, body=parsed)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(moment.timestamp() - time.time(), MAX_RETRY_AFTER))
