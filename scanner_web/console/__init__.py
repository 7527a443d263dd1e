"""The inspectors' console (监管端): server-rendered pages behind a login, in Chinese and English.

Each area of work is a blueprint of its own under ``/console``; every action an officer takes is a registrar
statement signed with that officer's key (:func:`scanner_web.console.guard.act`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from . import accounts, audits, complaints, credit, home, keys, recalls, risks, spot_checks, spreadsheets
from .guard import check_csrf, current_officer, template_context
from .nav import visible_areas

AREAS = (home, audits, recalls, spreadsheets, credit, keys, complaints, spot_checks, risks, accounts)


BLUEPRINTS = frozenset(module.blueprint.name for module in AREAS)


def init_console(app: Flask) -> None:
    for module in AREAS:
        app.register_blueprint(module.blueprint)
    app.before_request(_before_request)
    app.context_processor(_console_context)


def _before_request() -> None:
    if request.blueprint in BLUEPRINTS:
        check_csrf()


def _console_context() -> dict[str, Any]:
    if request.blueprint not in BLUEPRINTS:
        return {}

    def areas() -> list[Any]:
        officer = current_officer()
        return [] if officer is None else visible_areas(officer)
    return {**template_context(), "console_areas": areas}


__all__ = ["init_console"]
