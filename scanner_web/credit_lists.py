"""The public credit lists (``/credit-lists``): every enterprise on the abnormal-operation list (经营异常名录) or
the blacklist (严重违法失信名单) now, with the reason, the legal basis, the date of the decision and its ledger
entry. Read from the state the registrar's statements maintain, so a decision shows here as soon as it is
appended (the rules ask for publication within 7 working days)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template

from api.context import read_session
from trace.credit import credit_lists, listed_counts

blueprint = Blueprint("credit_lists", __name__)

SHOWN = 500


@blueprint.get("/credit-lists")
def index() -> Any:
    session = read_session()
    response = Response(render_template("credit_lists.html", lists=credit_lists(session, limit=SHOWN),
                                        counts=listed_counts(session), shown=SHOWN), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"  # a decision must show at once
    return response
