"""Console area: Enterprises and credit lists (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_credit", __name__, url_prefix="/console/enterprises")


@blueprint.get("/")
@officer_required("inspector", "registrar")
def index() -> Any:
    return page("console/credit/index.html")
