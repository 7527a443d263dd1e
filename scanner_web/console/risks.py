"""Console area: Risk warnings (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_risks", __name__, url_prefix="/console/risks")


@blueprint.get("/")
@officer_required("inspector")
def index() -> Any:
    return page("console/risks/index.html")
