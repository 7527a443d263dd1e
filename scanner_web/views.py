"""Pages for people that are not about one code: the home page and the ledger's state."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func, select

from api.context import app_context, read_session
from ledger import latest_checkpoint
from ledger.models import Entry, LedgerKey

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static")


@blueprint.get("/")
def index() -> Any:
    return render_template("home.html")


@blueprint.get("/ledger")
def ledger() -> Any:
    session = read_session()
    checkpoint = latest_checkpoint(session)
    types = session.execute(select(Entry.type, func.count()).group_by(Entry.type).order_by(Entry.type)).all()
    keys = session.scalar(select(func.count()).select_from(LedgerKey)) or 0
    context = app_context()
    return render_template("ledger.html", checkpoint=checkpoint, types=types, keys=keys,
                           origin=context.settings.ledger_origin, operator_key=context.operator_key.text())
