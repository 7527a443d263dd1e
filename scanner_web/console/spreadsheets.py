"""Console area: Traceability spreadsheet (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_spreadsheets", __name__, url_prefix="/console/spreadsheet")


@blueprint.get("/")
@officer_required("inspector", "registrar")
def index() -> Any:
    return page("console/spreadsheets/index.html")
