"""Application factory: settings, database, keys, blueprints and error handling, built per call."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from ledger import verifier_key
from trace.authority import AuthorityKeys, ledger_config, load_authority_keys
from trace.ledger_service import open_database
from trace.logs import configure_logging
from trace.officers import Officers
from trace.settings import Settings

from . import (
    access_views,
    batch_views,
    complaint_views,
    csv_import_views,
    document_views,
    draft_views,
    enterprise_views,
    entries_views,
    epcis_capture_views,
    epcis_views,
    errors,
    events_views,
    ledger_views,
    recall_views,
    workspace_views,
)
from .bodies import MAX_BATCH_BODY
from .context import AppContext, close_session
from .limits import init_limits

logger = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then ``TRACE_*`` environment variables, then ``config``.

    Fails fast (:class:`trace.settings.SettingsError`, :class:`ledger.KeyFileError`) when a required setting
    or the authority keys are missing, with a message naming what to set or run.
    """
    settings = Settings.load(config)
    if not settings.testing:
        configure_logging(settings.log_level, settings.log_format)
    keys = load_authority_keys(settings)
    engine, sessions = open_database(settings)
    # No application-level static route: it would shadow the pages' /static (scanner_web's "web.static").
    app = Flask(__name__, static_folder=None)
    app.config.update(TESTING=settings.testing, SECRET_KEY=settings.secret_key or _derived_secret(keys),
                      JSON_SORT_KEYS=False,
                      MAX_CONTENT_LENGTH=MAX_BATCH_BODY)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    ledger = ledger_config(settings, keys)
    app.extensions["trace"] = AppContext(
        settings=settings, engine=engine, sessions=sessions, keys=keys, ledger=ledger,
        operator_key=verifier_key(settings.ledger_origin, keys.operator.public_key),
        clock=lambda: datetime.now(UTC), officers=Officers(sessions, keys, ledger, settings.require_passphrase()))
    app.teardown_appcontext(close_session)
    errors.register(app)
    init_limits(app, settings)
    for module in (ledger_views, entries_views, events_views, enterprise_views, access_views, batch_views,
                   complaint_views, recall_views, draft_views, workspace_views, document_views, epcis_views,
                   epcis_capture_views, csv_import_views):
        app.register_blueprint(module.blueprint, url_prefix="/api/v1")
    from .openapi import blueprint as openapi_blueprint
    app.register_blueprint(openapi_blueprint, url_prefix="/api/v1")
    from scanner_web import init_web
    init_web(app)
    logger.info("application ready", extra={"origin": settings.ledger_origin,
                                            "database": engine.url.get_backend_name()})
    return app


def _derived_secret(keys: AuthorityKeys) -> str:
    """Without ``TRACE_SECRET_KEY``, the cookie-signing secret is derived from the operator key (an Ed25519
    signature is deterministic), so every worker and restart of one deployment shares it and nothing new needs
    to be kept secret."""
    return hashlib.sha256(keys.operator.sign(b"trace web cookie secret v1")).hexdigest()
