"""Rate limits (Flask-Limiter): anonymous requests per client address, and a tighter limit on logins and key
requests. Storage is in memory per process by default; several workers share limits through
``TRACE_RATE_LIMIT_STORAGE`` (for example ``redis://host:6379``). Limits count over a moving window: "5 per
minute" means any 60 seconds, where a fixed window would let 10 through across the turn of a minute.

One :data:`limiter` serves every application the factory makes, so each limit is read from the current
application's settings when a request is checked: Flask-Limiter keeps the default limits of the first application
it was given, and a second one (a test's, say) would otherwise run under the first one's."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from trace.settings import Settings

from .context import app_context


def _public_limit() -> str:
    return app_context().settings.rate_limit_public


limiter = Limiter(key_func=get_remote_address, default_limits=[_public_limit],
                  default_limits_exempt_when=lambda: "Authorization" in request.headers)


def init_limits(app: Flask, settings: Settings) -> None:
    app.config.update(RATELIMIT_ENABLED=settings.rate_limits, RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
                      RATELIMIT_HEADERS_ENABLED=True, RATELIMIT_STRATEGY="moving-window")
    limiter.init_app(app)
