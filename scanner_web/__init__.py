"""Browser-facing pages: the public page each QR code resolves to, the complaint channel, the scanner, the
kiosk and SMS channels, and printable labels."""

from __future__ import annotations

from flask import Flask

from . import channels, complaints, credit_lists, label_views, resolver, sms, spot_checks_public, views
from .console import init_console
from .i18n import init_i18n
from .workspace import init_workspace


def init_web(app: Flask) -> None:
    """Register the pages, their languages and the GS1 resolver on ``app``."""
    init_i18n(app)
    for module in (views, resolver, label_views, channels, sms, complaints, credit_lists, spot_checks_public):
        app.register_blueprint(module.blueprint)
    init_console(app)
    init_workspace(app)


__all__ = ["init_web"]
